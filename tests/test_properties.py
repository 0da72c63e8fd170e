"""
Property-based tests (hypothesis, issue 10): whatever a person types, every form either
validates or names the fields that are wrong, and never raises; whatever values reach the
workflow, a call either succeeds and leaves a consistent record, or is refused
(`TransitionRefused` or `ValidationError`) with nothing half-written.

pytest-django's database is per test, hypothesis runs many examples in one: each example
runs in a savepoint rolled back at its end, so each starts from the same rows.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ordinances import workflow
from ordinances.admin_forms import (
    ConditionForm,
    ConditionStatusForm,
    NoteForm,
    RequestAdminForm,
    TransitionForm,
)
from ordinances.alert_forms import AlertForm
from ordinances.comment_forms import CommentForm, issue_token
from ordinances.models import Comment, Condition, Decision, Event, Request, Subscription
from tests.hostile import TEXT_PAYLOADS

EXAMPLES = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Rollback(Exception):
    """Raised at the end of an example to roll its savepoint back."""


@contextlib.contextmanager
def rolled_back() -> Iterator[None]:
    with contextlib.suppress(Rollback), transaction.atomic():
        yield
        raise Rollback


# What a browser can post: any text (hostile payloads among it), numbers and dates as text.
hostile = st.sampled_from([payload.text for payload in TEXT_PAYLOADS if payload.text is not None])
typed = st.one_of(
    st.text(max_size=300),
    hostile,
    st.integers().map(str),
    st.dates().map(str),
    st.just(""),
)


def counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (Request, Event, Decision, Condition, Comment))


def assert_validates_or_names_errors(form) -> None:
    if not form.is_valid():
        assert form.errors, "an invalid form must say what is wrong"


# ---------------------------------------------------------------------------
# The public forms
# ---------------------------------------------------------------------------


@EXAMPLES
@given(name=typed, email=typed, position=typed, body=typed, website=typed, issued=typed)
def test_the_comment_form_validates_or_names_its_errors_whatever_is_typed(
    db, name, email, position, body, website, issued
):
    data = {"name": name, "email": email, "position": position, "body": body, "website": website}
    data["issued"] = issued or issue_token(
        "REQ-2026-0001", datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    )
    form = CommentForm(data, reference="REQ-2026-0001")
    assert_validates_or_names_errors(form)


@EXAMPLES
@given(email=typed, topic=st.one_of(typed, st.sampled_from(Subscription.Topic.values)), target=typed)
def test_the_alert_form_validates_or_names_its_errors_whatever_is_typed(agency_a, email, topic, target):
    with rolled_back():
        form = AlertForm({"email": email, "topic": topic, "target": target})
        assert_validates_or_names_errors(form)


# ---------------------------------------------------------------------------
# The workspace's forms
# ---------------------------------------------------------------------------

AGENCY_TEXT = ("title", "purpose", "justification", "alternatives_considered", "data_collected", "retention")


@EXAMPLES
@given(values=st.fixed_dictionaries({name: typed for name in (*Request.AGENCY_FIELDS,)}))
def test_the_request_form_validates_or_names_its_errors_whatever_is_typed(ordinance, agency_a, drone, values):
    with rolled_back():
        form = RequestAdminForm(values)
        assert_validates_or_names_errors(form)


@pytest.fixture
def heard(make_request):
    """A request whose hearing has taken place: every decision form applies to it."""
    return make_request("hearing_scheduled")


@EXAMPLES
@given(
    outcome=st.sampled_from(["approve", "approve_with_conditions", "deny"]),
    values=st.fixed_dictionaries(
        {
            "votes_yes": st.one_of(typed, st.integers(-5, 20).map(str)),
            "votes_no": st.one_of(typed, st.integers(-5, 20).map(str)),
            "votes_abstain": typed,
            "votes_absent": typed,
            "decided_on": st.one_of(typed, st.dates().map(str)),
            "effective_on": typed,
            "expires_on": typed,
            "summary": typed,
            "conditions-TOTAL_FORMS": st.one_of(st.just("1"), typed),
            "conditions-INITIAL_FORMS": st.one_of(st.just("0"), typed),
            "conditions-0-text": typed,
            "conditions-0-due_on": typed,
        }
    ),
)
def test_the_decision_form_validates_or_names_its_errors_and_a_refusal_writes_nothing(
    heard, staff, outcome, values
):
    with rolled_back():
        before = counts()
        form = TransitionForm(workflow.TRANSITIONS[outcome], heard, values)
        if not form.is_valid():
            assert form.has_errors
            return
        try:
            form.run(by=staff)
        except (ValidationError, workflow.TransitionRefused):
            assert counts() == before
        else:
            decision = Decision.objects.get(request=heard)
            assert decision.outcome == {"approve": "approved", "deny": "denied"}.get(
                outcome, decision.outcome
            )
            assert Event.objects.filter(request=heard, action=outcome).count() == 1


@EXAMPLES
@given(note=typed, public=typed, status=typed, text=typed, due_on=typed)
def test_the_note_condition_and_status_forms_validate_or_name_their_errors(
    db, note, public, status, text, due_on
):
    assert_validates_or_names_errors(NoteForm({"note": note, "public": public}))
    assert_validates_or_names_errors(ConditionStatusForm({"status": status, "note": note}))
    assert_validates_or_names_errors(ConditionForm({"text": text, "due_on": due_on}))


# ---------------------------------------------------------------------------
# The workflow's inputs
# ---------------------------------------------------------------------------

text = st.one_of(st.text(max_size=400), hostile, st.just(""))


@EXAMPLES
@example(fields={**dict.fromkeys(AGENCY_TEXT, "Fine."), "title": "A drone\x00"})
@given(
    fields=st.fixed_dictionaries(
        {name: text for name in AGENCY_TEXT},
        optional={
            "kind": st.one_of(st.sampled_from(Request.Kind.values), text),
            "requested_term_days": st.integers(min_value=-(2**40), max_value=2**40),
            "emergency_used_on": st.dates(),
        },
    )
)
def test_creating_a_draft_succeeds_whole_or_is_refused_with_nothing_written(
    ordinance, agency_a, drone, liaison_a, fields
):
    fields = {"kind": Request.Kind.APPROVAL, **fields}
    with rolled_back():
        before = counts()
        try:
            draft = workflow.create_draft(
                by=liaison_a, agency=agency_a, technology=drone, ordinance=ordinance, **fields
            )
        except (ValidationError, workflow.TransitionRefused):
            assert counts() == before
        else:
            draft.refresh_from_db()
            assert draft.status == Request.Status.DRAFT
            assert draft.title == fields["title"]
            assert counts()[:2] == (before[0] + 1, before[1] + 1)


@EXAMPLES
@given(fields=st.fixed_dictionaries({}, optional={name: text for name in AGENCY_TEXT}), note=text)
def test_changing_a_draft_succeeds_whole_or_is_refused_with_nothing_written(
    make_request, liaison_a, fields, note
):
    draft = make_request("draft")
    with rolled_back():
        before = counts()
        stored = {name: getattr(draft, name) for name in AGENCY_TEXT}
        try:
            workflow.update_draft(draft, by=liaison_a, fields=fields, note=note)
        except (ValidationError, workflow.TransitionRefused):
            assert counts() == before
            fresh = Request.objects.get(pk=draft.pk)
            assert {name: getattr(fresh, name) for name in AGENCY_TEXT} == stored
        else:
            fresh = Request.objects.get(pk=draft.pk)
            for name, value in fields.items():
                assert getattr(fresh, name) == value


@EXAMPLES
@given(
    outcome=st.sampled_from(["approve", "approve_with_conditions", "deny"]),
    votes=st.lists(
        st.one_of(st.none(), st.integers(min_value=-(2**31), max_value=2**31)), min_size=4, max_size=4
    ),
    decided_on=st.one_of(st.none(), st.dates()),
    effective_on=st.one_of(st.none(), st.dates()),
    expires_on=st.one_of(st.none(), st.dates()),
    summary=text,
    conditions=st.lists(
        st.builds(workflow.ConditionInput, text, st.one_of(st.none(), st.dates())), max_size=3
    ),
)
def test_a_decision_is_recorded_whole_or_refused_with_nothing_written(
    heard, staff, outcome, votes, decided_on, effective_on, expires_on, summary, conditions
):
    inputs = dict(zip(("votes_yes", "votes_no", "votes_abstain", "votes_absent"), votes, strict=True))
    inputs.update(decided_on=decided_on, effective_on=effective_on, expires_on=expires_on, summary=summary)
    if outcome == "approve_with_conditions":
        inputs["conditions"] = conditions
    inputs = {name: value for name, value in inputs.items() if value is not None}
    with rolled_back():
        before = counts()
        try:
            workflow.perform(outcome, heard, by=staff, **inputs)
        except (ValidationError, workflow.TransitionRefused):
            assert counts() == before
            assert Request.objects.get(pk=heard.pk).status == Request.Status.HEARING_SCHEDULED
        else:
            decision = Decision.objects.get(request=heard)
            assert decision.votes_yes == inputs["votes_yes"]
            assert Request.objects.get(pk=heard.pk).status != Request.Status.HEARING_SCHEDULED
            assert Event.objects.filter(request=heard, action=outcome).count() == 1
            assert Condition.objects.filter(decision=decision).count() == len(
                [c for c in inputs.get("conditions", []) if c.text.strip()]
            )


@EXAMPLES
@given(
    step=st.sampled_from(["submit", "withdraw", "return_to_agency", "begin_review"]),
    reason=text,
    note=text,
)
def test_any_transition_with_any_reason_succeeds_whole_or_is_refused_with_nothing_written(
    make_request, liaison_a, staff, step, reason, note
):
    submitted = make_request("submitted")
    transition = workflow.TRANSITIONS[step]
    inputs = {
        name: value for name, value in (("reason", reason), ("note", note)) if name in transition.input_names
    }
    actor = liaison_a if step in ("submit", "withdraw") else staff
    with rolled_back():
        before = counts()
        try:
            workflow.perform(step, submitted, by=actor, **inputs)
        except (ValidationError, workflow.TransitionRefused):
            assert counts() == before
            assert Request.objects.get(pk=submitted.pk).status == Request.Status.SUBMITTED
        else:
            assert counts()[1] == before[1] + 1
            assert Request.objects.get(pk=submitted.pk).status == transition.target


@pytest.mark.parametrize("field", ["title", "purpose", "data_collected"])
def test_a_nul_character_in_a_drafts_text_is_refused_on_its_field_with_nothing_written(
    ordinance, agency_a, drone, liaison_a, field
):
    # PostgreSQL refuses a NUL with a DataError (a 500 to whoever called); SQLite stores it.
    fields: dict[str, Any] = {"title": "Drone", "purpose": "Search.", "data_collected": "Video."}
    fields[field] = "in\x00valid"
    with pytest.raises(ValidationError) as refused:
        workflow.create_draft(
            by=liaison_a, agency=agency_a, technology=drone, ordinance=ordinance, kind="approval", **fields
        )

    assert field in refused.value.message_dict
    assert not Request.objects.exists()


def test_a_nul_character_in_a_transitions_reason_is_refused_on_its_field(make_request, liaison_a):
    submitted = make_request("submitted")

    with pytest.raises(ValidationError) as refused:
        workflow.perform("withdraw", submitted, by=liaison_a, reason="No longer\x00 needed.")

    assert "reason" in refused.value.message_dict
    assert Request.objects.get(pk=submitted.pk).status == Request.Status.SUBMITTED
