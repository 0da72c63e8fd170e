"""
The request workflow, driven only through `ordinances.workflow`.

The permission, state and kind tests are generated from `workflow.TRANSITIONS`, so a new
row in the table is covered as soon as it is added (and fails loudly here until the
workflow has a function for it and a note is expected for it below).
"""

from __future__ import annotations

import datetime
import threading
import time
from collections import deque

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from ordinances import roles, workflow
from ordinances.models import Condition, Decision, Event, Request
from ordinances.roles import Role
from ordinances.workflow import TRANSITIONS, TransitionRefused
from tests.conftest import make_user

S = Request.Status
K = Request.Kind

REASON = "Recorded for the test."

# The role each persona holds towards a request of agency A. liaison_b is a liaison, but
# not of agency A, so the table's LIAISON never means them.
ROLE_OF: dict[str, Role | None] = {
    "anonymous": Role.PUBLIC,
    "liaison_a": Role.LIAISON,
    "liaison_b": None,
    "staff": Role.STAFF,
    "clerk": Role.CLERK,
    "system": Role.SYSTEM,
}

DECISIONS: dict[str, dict] = {
    Decision.Outcome.APPROVED: {"votes_yes": 9, "votes_no": 3},
    Decision.Outcome.APPROVED_WITH_CONDITIONS: {
        "votes_yes": 9,
        "votes_no": 3,
        "conditions": [workflow.ConditionInput("Publish an annual report", datetime.date(2030, 1, 1))],
    },
    Decision.Outcome.DENIED: {"votes_yes": 2, "votes_no": 10, "summary": "Benefits do not outweigh costs."},
}
OUTCOME_OF = {name: outcome for outcome, name in workflow.DECISION_TRANSITIONS.items()}


def days_from_today(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


def evening_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(18, 0)))


def decide(request: Request, *, by, outcome: str, **overrides) -> Request:
    return workflow.decide(request, by=by, outcome=outcome, **(DECISIONS[outcome] | overrides))


def run_transition(name: str, request: Request, by, **overrides) -> Request:
    """Make transition `name` with valid input for everything it needs."""
    if name in OUTCOME_OF:
        return decide(request, by=by, outcome=OUTCOME_OF[name], **overrides)
    needs = TRANSITIONS[name].needs
    kwargs: dict = {}
    if "reason" in needs:
        kwargs["reason"] = REASON
    if "hearing_at" in needs:
        kwargs["hearing_at"] = evening_of(days_from_today(45))
    return getattr(workflow, name)(request, by=by, **(kwargs | overrides))


def reachable_states(kind: str) -> set[str]:
    """Every status a request of `kind` can reach from draft, read from the table."""
    seen, queue = {S.DRAFT.value}, deque([S.DRAFT.value])
    while queue:
        state = queue.popleft()
        for t in TRANSITIONS.values():
            if kind in t.kinds and state in t.sources and t.target not in seen:
                seen.add(str(t.target))
                queue.append(str(t.target))
    return seen


REACHABLE = {kind: reachable_states(kind) for kind in K.values}
KIND_PREFERENCE = (K.APPROVAL, K.EMERGENCY_REPORT, K.EXCEPTION, K.RENEWAL)


def kind_reaching(transition: workflow.Transition, state: str) -> str | None:
    """A kind the transition applies to that can be in `state`, or None."""
    return next((k for k in KIND_PREFERENCE if k in transition.kinds and state in REACHABLE[k]), None)


def any_kind_reaching(state: str) -> str:
    return next(k for k in KIND_PREFERENCE if state in REACHABLE[k])


def snapshot(request: Request) -> dict:
    """Everything a transition could write about `request`."""
    fresh = Request.objects.get(pk=request.pk)
    return {
        "status": fresh.status,
        "updated_at": fresh.updated_at,
        "submitted_at": fresh.submitted_at,
        "comment_period_ends_on": fresh.comment_period_ends_on,
        "hearing_at": fresh.hearing_at,
        "events": list(Event.objects.filter(request=fresh).values_list("pk", flat=True)),
        "decisions": list(Decision.objects.filter(request=fresh).values_list("pk", flat=True)),
        "conditions": list(
            Condition.objects.filter(decision__request=fresh).values_list("pk", "status").order_by("pk")
        ),
    }


def last_event(request: Request) -> Event:
    return Event.objects.filter(request=request).order_by("-pk").first()


@pytest.fixture
def people(liaison_a, liaison_b, staff, clerk) -> dict:
    return {
        "anonymous": AnonymousUser(),
        "liaison_a": liaison_a,
        "liaison_b": liaison_b,
        "staff": staff,
        "clerk": clerk,
        "system": None,
    }


@pytest.fixture
def request_in(make_request, staff):
    """A request of agency A in `state`; `term_over` makes an approval whose term ended yesterday."""

    def build(state: str, *, kind: str | None = None, term_over: bool = False) -> Request:
        if state == S.EXPIRED or (term_over and state in Request.APPROVED_STATES):
            request = make_request(S.HEARING_SCHEDULED, kind=kind)
            outcome = Decision.Outcome.APPROVED if state == S.EXPIRED else state
            decide(
                request,
                by=staff,
                outcome=outcome,
                effective_on=days_from_today(-400),
                expires_on=days_from_today(-1),
            )
            if state == S.EXPIRED:
                workflow.expire(request, by=None)
            request.refresh_from_db()
            return request
        return make_request(state, kind=kind)

    return build


@pytest.fixture
def ready_for(request_in):
    """A request in the first source state of transition `name`, ready for it."""

    def build(name: str) -> Request:
        transition = TRANSITIONS[name]
        state = transition.sources[0]
        return request_in(state, kind=kind_reaching(transition, state), term_over=name == "expire")

    return build


# ---------------------------------------------------------------------------
# Who may make each transition
# ---------------------------------------------------------------------------

ALLOWED = [
    pytest.param(name, who, id=f"{name}-by-{who}")
    for name, t in TRANSITIONS.items()
    for who, role in ROLE_OF.items()
    if role in t.actors
]
REFUSED = [
    pytest.param(name, who, id=f"{name}-by-{who}")
    for name, t in TRANSITIONS.items()
    for who, role in ROLE_OF.items()
    if role not in t.actors
]


@pytest.mark.parametrize(("name", "who"), ALLOWED)
def test_roles_named_in_the_table_may_make_the_transition(name, who, ready_for, people):
    request = ready_for(name)

    run_transition(name, request, people[who])

    request.refresh_from_db()
    assert request.status == TRANSITIONS[name].target


@pytest.mark.parametrize(("name", "who"), REFUSED)
def test_roles_not_named_in_the_table_are_refused_permission(name, who, ready_for, people):
    request = ready_for(name)
    before = snapshot(request)

    with pytest.raises(TransitionRefused) as refused:
        run_transition(name, request, people[who])

    assert refused.value.code == "permission"
    assert refused.value.message == workflow.NOT_PERMITTED.format(action=TRANSITIONS[name].label.lower())
    assert snapshot(request) == before


@pytest.mark.parametrize("name", TRANSITIONS)
def test_available_transitions_offers_a_transition_to_exactly_the_roles_in_the_table(name, ready_for, people):
    request = ready_for(name)

    offered_to = {
        who
        for who, user in people.items()
        if TRANSITIONS[name] in workflow.available_transitions(request, user)
    }

    assert offered_to == {who for who, role in ROLE_OF.items() if role in TRANSITIONS[name].actors}


def test_staff_cannot_submit_a_draft(make_request, staff):
    draft = make_request(S.DRAFT)

    with pytest.raises(TransitionRefused) as refused:
        workflow.submit(draft, by=staff)

    assert refused.value.code == "permission"
    assert refused.value.message == workflow.NOT_PERMITTED.format(action="submit to the council")


def test_liaison_of_another_agency_cannot_submit_agency_a_draft(make_request, liaison_b):
    draft = make_request(S.DRAFT)

    with pytest.raises(TransitionRefused) as refused:
        workflow.submit(draft, by=liaison_b)

    assert refused.value.code == "permission"


def test_liaison_can_submit_own_agency_draft(make_request, liaison_a):
    draft = make_request(S.DRAFT)

    workflow.submit(draft, by=liaison_a)

    assert draft.status == S.SUBMITTED


def test_anonymous_user_cannot_begin_review(make_request):
    submitted = make_request(S.SUBMITTED)

    with pytest.raises(TransitionRefused) as refused:
        workflow.begin_review(submitted, by=AnonymousUser())

    assert refused.value.code == "permission"


def test_clerk_cannot_record_a_decision(make_request, clerk):
    hearing = make_request(S.HEARING_SCHEDULED)

    with pytest.raises(TransitionRefused) as refused:
        decide(hearing, by=clerk, outcome=Decision.Outcome.APPROVED)

    assert refused.value.code == "permission"


def test_liaison_cannot_approve_own_agency_request(make_request, liaison_a):
    hearing = make_request(S.HEARING_SCHEDULED)

    with pytest.raises(TransitionRefused) as refused:
        decide(hearing, by=liaison_a, outcome=Decision.Outcome.APPROVED)

    assert refused.value.code == "permission"


def test_staff_cannot_withdraw_an_agency_request(make_request, staff):
    submitted = make_request(S.SUBMITTED)

    with pytest.raises(TransitionRefused) as refused:
        workflow.withdraw(submitted, by=staff, reason=REASON)

    assert refused.value.code == "permission"


def test_the_system_can_expire_an_approval_but_cannot_revoke_it(request_in):
    approval = request_in(S.APPROVED, term_over=True)

    with pytest.raises(TransitionRefused) as refused:
        workflow.revoke(approval, by=None, reason=REASON)
    workflow.expire(approval, by=None)

    assert refused.value.code == "permission"
    assert approval.status == S.EXPIRED


def test_a_superuser_counts_as_council_staff(make_request):
    superuser = make_user("root", is_superuser=True)
    submitted = make_request(S.SUBMITTED)

    workflow.begin_review(submitted, by=superuser)

    assert submitted.status == S.IN_REVIEW


def test_an_inactive_staff_account_is_refused(make_request, staff):
    staff.is_active = False
    staff.save()
    submitted = make_request(S.SUBMITTED)

    with pytest.raises(TransitionRefused) as refused:
        workflow.begin_review(submitted, by=staff)

    assert refused.value.code == "permission"


# ---------------------------------------------------------------------------
# From which states, for which kinds
# ---------------------------------------------------------------------------


def actor_for(transition: workflow.Transition, people: dict):
    """Someone the table allows to make `transition` on a request of agency A."""
    who = next(who for who, role in ROLE_OF.items() if role in transition.actors)
    return people[who]


WRONG_STATES = [
    pytest.param(name, state, id=f"{name}-from-{state}")
    for name, t in TRANSITIONS.items()
    for state in S.values
    if state not in t.sources and kind_reaching(t, state)
]


@pytest.mark.parametrize("state", S.values)
def test_every_status_is_reachable_through_the_workflow(state, request_in):
    request = request_in(state, kind=any_kind_reaching(state))

    assert request.status == state


@pytest.mark.parametrize(("name", "state"), WRONG_STATES)
def test_a_transition_is_refused_from_a_state_not_among_its_sources(name, state, request_in, people):
    transition = TRANSITIONS[name]
    request = request_in(state, kind=kind_reaching(transition, state))
    before = snapshot(request)

    with pytest.raises(TransitionRefused) as refused:
        run_transition(name, request, actor_for(transition, people))

    assert refused.value.code == "state"
    assert refused.value.message == workflow.WRONG_STATE.format(
        reference=request.reference,
        state=S(state).label.lower(),
        action=transition.label,
        allowed=" or ".join(S(s).label.lower() for s in transition.sources),
    )
    assert snapshot(request) == before


def test_the_wrong_state_message_names_the_current_state(make_request, staff):
    draft = make_request(S.DRAFT)

    with pytest.raises(TransitionRefused) as refused:
        workflow.begin_review(draft, by=staff)

    assert refused.value.message == (
        f"{draft.reference} is draft; “Begin review” is possible only when it is submitted."
    )


WRONG_KINDS = [
    pytest.param(name, kind, id=f"{name}-for-{kind}")
    for name, t in TRANSITIONS.items()
    for kind in K.values
    if kind not in t.kinds
]


@pytest.mark.parametrize(("name", "kind"), WRONG_KINDS)
def test_a_transition_is_refused_for_a_kind_it_does_not_apply_to(name, kind, request_in, people):
    transition = TRANSITIONS[name]
    # A source state if this kind can reach one, else the furthest it gets: the kind is
    # checked before the state.
    state = next((s for s in transition.sources if s in REACHABLE[kind]), S.IN_REVIEW)
    request = request_in(state, kind=kind)
    before = snapshot(request)

    with pytest.raises(TransitionRefused) as refused:
        run_transition(name, request, actor_for(transition, people))

    assert refused.value.code == "state"
    assert refused.value.message == workflow.WRONG_KIND.format(
        action=transition.label, kind=K(kind).label.lower()
    )
    assert snapshot(request) == before


def test_an_emergency_report_cannot_go_to_public_comment(make_request, staff):
    report = make_request(S.IN_REVIEW, kind=K.EMERGENCY_REPORT)

    with pytest.raises(TransitionRefused) as refused:
        workflow.open_comment_period(report, by=staff)

    assert refused.value.code == "state"
    assert refused.value.message == workflow.WRONG_KIND.format(
        action="Open public comment", kind="emergency-use report"
    )
    assert Request.objects.get(pk=report.pk).status == S.IN_REVIEW


# ---------------------------------------------------------------------------
# The record each transition writes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "who"), ALLOWED)
def test_each_allowed_transition_writes_one_event_describing_it(name, who, ready_for, people):
    transition = TRANSITIONS[name]
    request = ready_for(name)
    from_status = request.status
    events_before = request.events.count()
    actor = people[who]

    run_transition(name, request, actor)

    assert request.events.count() == events_before + 1
    event = last_event(request)
    assert event.action == name
    assert event.from_status == from_status
    assert event.to_status == transition.target
    assert event.actor == actor
    assert event.actor_name == (actor.get_username() if actor else "system")
    assert event.actor_role == ROLE_OF[who]
    assert event.is_public == transition.public


def _hearing_note(request: Request) -> str:
    return f"Public hearing on {timezone.localtime(request.hearing_at):%Y-%m-%d at %H:%M}."


def _term(days: int = 365) -> str:
    return f"In effect {days_from_today(0).isoformat()} to {days_from_today(days).isoformat()}."


EXPECTED_NOTE = {
    "submit": lambda r: "",
    "begin_review": lambda r: "",
    "return_to_agency": lambda r: REASON,
    "open_comment_period": lambda r: f"Public comment is open until {days_from_today(30).isoformat()}.",
    "schedule_hearing": _hearing_note,
    "approve": lambda r: f"Vote 9-3. {_term()}",
    "approve_with_conditions": lambda r: (
        f"Vote 9-3. {_term()} Conditions: Publish an annual report (due 2030-01-01)"
    ),
    "deny": lambda r: "Vote 2-10.\n\nBenefits do not outweigh costs.",
    "withdraw": lambda r: REASON,
    "expire": lambda r: f"The approval's term ended on {days_from_today(-1).isoformat()}.",
    "revoke": lambda r: REASON,
    "accept_report": lambda r: "",
    "refer_to_full_review": lambda r: REASON,
}


@pytest.mark.parametrize("name", TRANSITIONS)
def test_each_transition_writes_its_timeline_note(name, ready_for, people):
    request = ready_for(name)

    run_transition(name, request, actor_for(TRANSITIONS[name], people))

    request.refresh_from_db()
    assert last_event(request).note == EXPECTED_NOTE[name](request)


def test_a_draft_starts_with_an_internal_create_event(make_request, liaison_a):
    draft = make_request(S.DRAFT)

    (event,) = draft.events.all()

    assert (event.action, event.from_status, event.to_status) == ("create", "", S.DRAFT)
    assert event.actor == liaison_a
    assert event.actor_role == Role.LIAISON
    assert event.is_public is False


def test_a_decision_summary_is_kept_on_the_decision_and_the_timeline(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)

    decide(hearing, by=staff, outcome=Decision.Outcome.APPROVED, summary="  Narrow use only.  ")

    assert hearing.decision.summary == "Narrow use only."
    assert last_event(hearing).note == f"Vote 9-3. {_term()}\n\nNarrow use only."


def test_a_refused_decision_writes_no_decision_condition_or_event(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    before = snapshot(hearing)

    with pytest.raises(ValidationError):
        decide(hearing, by=staff, outcome=Decision.Outcome.APPROVED_WITH_CONDITIONS, votes_yes=3, votes_no=9)

    assert snapshot(hearing) == before


def test_a_failure_while_writing_the_event_rolls_back_the_decision(make_request, staff, monkeypatch):
    hearing = make_request(S.HEARING_SCHEDULED)
    before = snapshot(hearing)

    def broken_record(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(workflow, "_record", broken_record)
    with pytest.raises(RuntimeError):
        decide(hearing, by=staff, outcome=Decision.Outcome.APPROVED_WITH_CONDITIONS)

    assert snapshot(hearing) == before
    assert hearing.status == S.HEARING_SCHEDULED


# ---------------------------------------------------------------------------
# What the actor must supply
# ---------------------------------------------------------------------------

NEEDS_REASON = [name for name, t in TRANSITIONS.items() if "reason" in t.needs]


def test_return_withdraw_revoke_and_refer_need_a_reason():
    assert set(NEEDS_REASON) == {"return_to_agency", "withdraw", "revoke", "refer_to_full_review"}


@pytest.mark.parametrize("name", NEEDS_REASON)
@pytest.mark.parametrize("reason", ["", "   \n"])
def test_a_transition_that_needs_a_reason_is_refused_without_one(name, reason, ready_for, people):
    request = ready_for(name)
    before = snapshot(request)

    with pytest.raises(ValidationError) as invalid:
        run_transition(name, request, actor_for(TRANSITIONS[name], people), reason=reason)

    assert invalid.value.message_dict == {"reason": [workflow.REASON_REQUIRED]}
    assert snapshot(request) == before


def test_the_comment_period_defaults_to_the_ordinance_minimum(make_request, staff):
    in_review = make_request(S.IN_REVIEW)

    workflow.open_comment_period(in_review, by=staff)

    assert in_review.comment_period_ends_on == days_from_today(30)


def test_the_comment_period_may_be_longer_than_the_ordinance_minimum(make_request, staff):
    in_review = make_request(S.IN_REVIEW)

    workflow.open_comment_period(in_review, by=staff, ends_on=days_from_today(60))

    assert in_review.comment_period_ends_on == days_from_today(60)


def test_the_comment_period_cannot_be_shorter_than_the_ordinance_minimum(make_request, staff):
    in_review = make_request(S.IN_REVIEW)
    before = snapshot(in_review)

    with pytest.raises(ValidationError) as invalid:
        workflow.open_comment_period(in_review, by=staff, ends_on=days_from_today(29))

    assert invalid.value.message_dict == {
        "comment_period_ends_on": [
            "Public comment must stay open at least 30 days; "
            f"the earliest closing date is {days_from_today(30).isoformat()}."
        ]
    }
    assert snapshot(in_review) == before


def test_the_comment_period_end_is_required_when_the_ordinance_sets_none(make_request, ordinance, staff):
    ordinance.comment_period_days = None
    ordinance.save()
    in_review = make_request(S.IN_REVIEW)

    with pytest.raises(ValidationError) as invalid:
        workflow.open_comment_period(in_review, by=staff)

    assert set(invalid.value.message_dict) == {"comment_period_ends_on"}
    assert in_review.status == S.IN_REVIEW


def test_without_an_ordinance_period_comment_must_stay_open_at_least_a_day(make_request, ordinance, staff):
    ordinance.comment_period_days = None
    ordinance.save()
    in_review = make_request(S.IN_REVIEW)

    with pytest.raises(ValidationError) as invalid:
        workflow.open_comment_period(in_review, by=staff, ends_on=days_from_today(0))
    workflow.open_comment_period(in_review, by=staff, ends_on=days_from_today(1))

    assert "at least one day" in invalid.value.message_dict["comment_period_ends_on"][0]
    assert in_review.comment_period_ends_on == days_from_today(1)


def test_the_hearing_must_come_after_public_comment_closes(make_request, staff):
    comment = make_request(S.PUBLIC_COMMENT)
    closes = comment.comment_period_ends_on
    before = snapshot(comment)

    with pytest.raises(ValidationError) as invalid:
        workflow.schedule_hearing(comment, by=staff, hearing_at=evening_of(closes))

    assert invalid.value.message_dict == {
        "hearing_at": [f"The hearing must come after public comment closes on {closes.isoformat()}."]
    }
    assert snapshot(comment) == before


def test_the_hearing_may_be_the_day_after_public_comment_closes(make_request, staff):
    comment = make_request(S.PUBLIC_COMMENT)
    hearing_at = evening_of(comment.comment_period_ends_on + datetime.timedelta(days=1))

    workflow.schedule_hearing(comment, by=staff, hearing_at=hearing_at)

    assert comment.hearing_at == hearing_at


def test_the_hearing_respects_the_ordinance_notice_days(make_request, ordinance, staff):
    ordinance.hearing_notice_days = 60
    ordinance.save()
    comment = make_request(S.PUBLIC_COMMENT)

    with pytest.raises(ValidationError) as invalid:
        workflow.schedule_hearing(comment, by=staff, hearing_at=evening_of(days_from_today(59)))
    workflow.schedule_hearing(comment, by=staff, hearing_at=evening_of(days_from_today(60)))

    assert invalid.value.message_dict == {
        "hearing_at": [
            "The ordinance requires 60 days' notice of a hearing; "
            f"the earliest date is {days_from_today(60).isoformat()}."
        ]
    }
    assert comment.status == S.HEARING_SCHEDULED


def test_the_hearing_needs_a_date(make_request, staff):
    comment = make_request(S.PUBLIC_COMMENT)

    with pytest.raises(ValidationError) as invalid:
        workflow.schedule_hearing(comment, by=staff, hearing_at=None)

    assert set(invalid.value.message_dict) == {"hearing_at"}


APPROVALS = [Decision.Outcome.APPROVED, Decision.Outcome.APPROVED_WITH_CONDITIONS]


@pytest.mark.parametrize("outcome", Decision.Outcome.values)
@pytest.mark.parametrize("field", ["votes_yes", "votes_no", "votes_abstain", "votes_absent"])
def test_a_decision_needs_vote_counts_of_zero_or_more(outcome, field, make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)

    with pytest.raises(ValidationError) as invalid:
        decide(hearing, by=staff, outcome=outcome, **{field: -1})

    assert invalid.value.message_dict == {field: ["Enter a vote count of zero or more."]}
    assert not Decision.objects.exists()


@pytest.mark.parametrize("outcome", APPROVALS)
@pytest.mark.parametrize(("yes", "no"), [(6, 6), (3, 9), (0, 0)])
def test_an_approval_needs_more_yes_than_no_votes(outcome, yes, no, make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)

    with pytest.raises(ValidationError) as invalid:
        decide(hearing, by=staff, outcome=outcome, votes_yes=yes, votes_no=no)

    assert invalid.value.message_dict == {"votes_yes": ["An approval needs more yes votes than no votes."]}
    assert hearing.status == S.HEARING_SCHEDULED


def test_a_decision_records_the_votes(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)

    decide(hearing, by=staff, outcome=Decision.Outcome.APPROVED, votes_abstain=1, votes_absent=0)

    decision = Decision.objects.get(request=hearing)
    assert (decision.votes_yes, decision.votes_no, decision.votes_abstain) == (9, 3, 1)
    assert decision.outcome == Decision.Outcome.APPROVED
    assert decision.decided_on == days_from_today(0)


@pytest.mark.parametrize("outcome", APPROVALS)
def test_an_approval_expires_after_the_ordinance_term_by_default(outcome, make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)

    decide(hearing, by=staff, outcome=outcome)

    decision = Decision.objects.get(request=hearing)
    assert decision.effective_on == days_from_today(0)
    assert decision.expires_on == days_from_today(365)


def test_the_term_runs_from_the_effective_date(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)

    decide(hearing, by=staff, outcome=Decision.Outcome.APPROVED, effective_on=days_from_today(10))

    assert Decision.objects.get(request=hearing).expires_on == days_from_today(375)


def test_the_requested_term_applies_when_the_ordinance_sets_none(make_request, ordinance, staff):
    ordinance.approval_term_days = None
    ordinance.save()
    hearing = make_request(S.HEARING_SCHEDULED, requested_term_days=90)

    decide(hearing, by=staff, outcome=Decision.Outcome.APPROVED)

    assert Decision.objects.get(request=hearing).expires_on == days_from_today(90)


def test_the_expiry_date_is_required_when_no_term_is_set(make_request, ordinance, staff):
    ordinance.approval_term_days = None
    ordinance.save()
    hearing = make_request(S.HEARING_SCHEDULED)

    with pytest.raises(ValidationError) as invalid:
        decide(hearing, by=staff, outcome=Decision.Outcome.APPROVED)

    assert set(invalid.value.message_dict) == {"expires_on"}


@pytest.mark.parametrize("expires_in", [0, -1])
def test_an_approval_must_expire_after_it_takes_effect(expires_in, make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)

    with pytest.raises(ValidationError) as invalid:
        decide(
            hearing,
            by=staff,
            outcome=Decision.Outcome.APPROVED,
            effective_on=days_from_today(0),
            expires_on=days_from_today(expires_in),
        )

    assert invalid.value.message_dict == {"expires_on": ["The approval must expire after it takes effect."]}


def test_a_denial_needs_a_summary(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)

    with pytest.raises(ValidationError) as invalid:
        decide(hearing, by=staff, outcome=Decision.Outcome.DENIED, summary="  ")

    assert invalid.value.message_dict == {"summary": [workflow.REASON_REQUIRED]}
    assert not Decision.objects.exists()


def test_a_denial_carries_no_term(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)

    decide(hearing, by=staff, outcome=Decision.Outcome.DENIED, expires_on=days_from_today(30))

    decision = Decision.objects.get(request=hearing)
    assert (decision.effective_on, decision.expires_on) == (None, None)


def test_an_approval_with_conditions_records_each_condition(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    conditions = [
        workflow.ConditionInput("  Publish an annual report  ", datetime.date(2030, 1, 1)),
        workflow.ConditionInput("Delete footage after 30 days"),
    ]

    decide(hearing, by=staff, outcome=Decision.Outcome.APPROVED_WITH_CONDITIONS, conditions=conditions)

    recorded = Condition.objects.filter(decision__request=hearing).order_by("pk")
    assert [(c.text, c.due_on, c.status) for c in recorded] == [
        ("Publish an annual report", datetime.date(2030, 1, 1), Condition.Status.OPEN),
        ("Delete footage after 30 days", None, Condition.Status.OPEN),
    ]


@pytest.mark.parametrize(
    "conditions", [[], [workflow.ConditionInput("   ")]], ids=["no-conditions", "blank-condition"]
)
def test_an_approval_with_conditions_needs_at_least_one_condition(conditions, make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)

    with pytest.raises(ValidationError) as invalid:
        decide(hearing, by=staff, outcome=Decision.Outcome.APPROVED_WITH_CONDITIONS, conditions=conditions)

    assert invalid.value.message_dict == {
        "conditions": ["An approval with conditions needs at least one condition."]
    }


@pytest.mark.parametrize("outcome", [Decision.Outcome.APPROVED, Decision.Outcome.DENIED])
def test_only_an_approval_with_conditions_carries_conditions(outcome, make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)

    with pytest.raises(ValidationError) as invalid:
        decide(hearing, by=staff, outcome=outcome, conditions=[workflow.ConditionInput("Report yearly")])

    assert invalid.value.message_dict == {
        "conditions": ["Only an approval with conditions carries conditions."]
    }
    assert not Condition.objects.exists()


def test_an_unknown_outcome_is_refused(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)

    with pytest.raises(ValidationError) as invalid:
        workflow.decide(hearing, by=staff, outcome="tabled", votes_yes=9, votes_no=3)

    assert set(invalid.value.message_dict) == {"outcome"}


# ---------------------------------------------------------------------------
# Submitting, drafting and editing
# ---------------------------------------------------------------------------


def test_submit_records_when_the_request_was_submitted(make_request, liaison_a):
    draft = make_request(S.DRAFT)
    moment = timezone.now() - datetime.timedelta(hours=3)

    workflow.submit(draft, by=liaison_a, now=moment)

    draft.refresh_from_db()
    assert draft.submitted_at == moment


def test_resubmission_after_return_keeps_the_first_submission_time(make_request, liaison_a, staff):
    draft = make_request(S.DRAFT)
    first = timezone.now() - datetime.timedelta(days=3)
    workflow.submit(draft, by=liaison_a, now=first)
    workflow.begin_review(draft, by=staff)
    workflow.return_to_agency(draft, by=staff, reason="Add a use policy.")

    workflow.submit(draft, by=liaison_a)

    draft.refresh_from_db()
    assert draft.status == S.SUBMITTED
    assert draft.submitted_at == first


def test_resubmission_is_noted_on_the_timeline(make_request, liaison_a):
    returned = make_request(S.RETURNED)

    workflow.submit(returned, by=liaison_a, note="Use policy attached.")

    assert last_event(returned).note == "Resubmitted with the information requested.\n\nUse policy attached."


@pytest.mark.parametrize("state", sorted(Request.EDITABLE_STATES))
def test_the_liaison_can_edit_a_draft_or_returned_request(state, make_request, liaison_a):
    request = make_request(state)

    workflow.update_draft(request, by=liaison_a, fields={"title": "Drone for flood response"})

    request.refresh_from_db()
    assert request.title == "Drone for flood response"
    assert last_event(request).action == "edit"


@pytest.mark.parametrize("state", sorted(set(S.values) - set(Request.EDITABLE_STATES)))
def test_the_liaison_cannot_edit_a_request_once_it_is_with_the_council(state, request_in, liaison_a):
    request = request_in(state, kind=any_kind_reaching(state))
    before = snapshot(request)

    with pytest.raises(TransitionRefused) as refused:
        workflow.update_draft(request, by=liaison_a, fields={"title": "Drone for flood response"})

    assert refused.value.code == "state"
    assert refused.value.message == workflow.NOT_EDITABLE.format(
        reference=request.reference, state=S(state).label.lower()
    )
    assert Request.objects.get(pk=request.pk).title == "Drone for search and rescue"
    assert snapshot(request) == before


@pytest.mark.parametrize("who", ["anonymous", "liaison_b", "staff", "clerk", "system"])
def test_only_the_own_agency_liaison_can_edit_a_draft(who, make_request, people):
    draft = make_request(S.DRAFT)
    before = snapshot(draft)

    with pytest.raises(TransitionRefused) as refused:
        workflow.update_draft(draft, by=people[who], fields={"title": "Something else"})

    assert refused.value.code == "permission"
    assert refused.value.message == workflow.NOT_PERMITTED.format(action="change")
    assert snapshot(draft) == before


def test_the_liaison_cannot_set_fields_that_are_not_the_agency_s(make_request, liaison_a):
    draft = make_request(S.DRAFT)

    with pytest.raises(ValidationError) as invalid:
        workflow.update_draft(draft, by=liaison_a, fields={"status": S.APPROVED})

    assert set(invalid.value.message_dict) == {"status"}
    assert Request.objects.get(pk=draft.pk).status == S.DRAFT


def test_the_liaison_cannot_move_a_draft_to_another_agency(make_request, liaison_a, agency_b):
    draft = make_request(S.DRAFT)
    before = snapshot(draft)

    with pytest.raises(TransitionRefused) as refused:
        workflow.update_draft(draft, by=liaison_a, fields={"agency": agency_b})

    assert refused.value.code == "permission"
    assert Request.objects.get(pk=draft.pk).agency_id == draft.agency_id
    assert snapshot(draft) == before


def test_editing_a_draft_is_kept_off_the_public_timeline(make_request, liaison_a):
    draft = make_request(S.DRAFT)

    workflow.update_draft(draft, by=liaison_a, fields={"title": "Drone for flood response"})

    event = last_event(draft)
    assert event.is_public is False
    assert event.note == "Changed: title."


def test_editing_a_returned_request_is_on_the_public_timeline(make_request, liaison_a):
    returned = make_request(S.RETURNED)

    workflow.update_draft(returned, by=liaison_a, fields={"retention": "30 days"}, note="As asked.")

    event = last_event(returned)
    assert event.is_public is True
    assert (event.from_status, event.to_status) == (S.RETURNED, S.RETURNED)
    assert event.note == "Changed: retention. As asked."


def test_an_edit_that_changes_nothing_writes_no_event(make_request, liaison_a):
    draft = make_request(S.DRAFT)
    before = snapshot(draft)

    workflow.update_draft(draft, by=liaison_a, fields={"title": draft.title})

    assert snapshot(draft) == before


@pytest.mark.parametrize("who", ["anonymous", "liaison_b", "staff", "clerk", "system"])
def test_only_a_liaison_of_the_agency_can_start_a_request_for_it(who, people, ordinance, agency_a, drone):
    with pytest.raises(TransitionRefused) as refused:
        workflow.create_draft(
            by=people[who],
            agency=agency_a,
            technology=drone,
            ordinance=ordinance,
            title="Drone",
            purpose="Survey.",
        )

    assert refused.value.code == "permission"
    assert not Request.objects.exists()
    assert not Event.objects.exists()


def test_references_are_numbered_in_sequence_within_the_year(make_request):
    year = timezone.localdate().year

    first, second = make_request(S.DRAFT), make_request(S.SUBMITTED)

    assert (first.reference, second.reference) == (f"REQ-{year}-0001", f"REQ-{year}-0002")


def test_reference_numbers_start_again_each_year(make_request, liaison_a, ordinance, agency_a, drone):
    make_request(S.DRAFT)

    later = workflow.create_draft(
        by=liaison_a,
        now=evening_of(datetime.date(2031, 3, 1)),
        agency=agency_a,
        technology=drone,
        ordinance=ordinance,
        title="Drone",
        purpose="Survey.",
    )

    assert later.reference == "REQ-2031-0001"


def test_the_reference_year_is_the_city_s_year(liaison_a, ordinance, agency_a, drone):
    # 02:00 UTC on 1 January is still New Year's Eve in the city.
    new_years_eve = datetime.datetime(2031, 1, 1, 2, 0, tzinfo=datetime.UTC)

    request = workflow.create_draft(
        by=liaison_a,
        now=new_years_eve,
        agency=agency_a,
        technology=drone,
        ordinance=ordinance,
        title="Drone",
        purpose="Survey.",
    )

    assert timezone.localdate(new_years_eve) == datetime.date(2030, 12, 31)
    assert request.reference == "REQ-2030-0001"


# ---------------------------------------------------------------------------
# Expiry
# ---------------------------------------------------------------------------


def test_an_approval_cannot_be_expired_before_its_expiry_date(make_request, staff):
    approval = make_request(S.APPROVED)
    expires = approval.decision.expires_on
    before = snapshot(approval)

    with pytest.raises(TransitionRefused) as refused:
        workflow.expire(approval, by=staff)

    assert refused.value.code == "state"
    assert refused.value.message == (
        f"{approval.reference} is approved until {expires.isoformat()}; "
        "it can be marked expired only after that date."
    )
    assert snapshot(approval) == before


def test_an_approval_cannot_be_expired_on_its_last_day(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    decide(
        hearing,
        by=staff,
        outcome=Decision.Outcome.APPROVED,
        effective_on=days_from_today(-30),
        expires_on=days_from_today(0),
    )

    with pytest.raises(TransitionRefused):
        workflow.expire(hearing, by=None)

    assert Request.objects.get(pk=hearing.pk).status == S.APPROVED


def test_expire_due_expires_only_approvals_past_their_term(request_in, make_request):
    past_term = request_in(S.APPROVED, term_over=True)
    past_term_with_conditions = request_in(S.APPROVED_WITH_CONDITIONS, term_over=True)
    current = make_request(S.APPROVED)
    denied = make_request(S.DENIED)
    pending = make_request(S.HEARING_SCHEDULED)

    expired = workflow.expire_due()

    assert {r.pk for r in expired} == {past_term.pk, past_term_with_conditions.pk}
    statuses = dict(Request.objects.values_list("pk", "status"))
    assert statuses == {
        past_term.pk: S.EXPIRED,
        past_term_with_conditions.pk: S.EXPIRED,
        current.pk: S.APPROVED,
        denied.pk: S.DENIED,
        pending.pk: S.HEARING_SCHEDULED,
    }


def test_expire_due_records_the_system_as_the_actor(request_in):
    past_term = request_in(S.APPROVED, term_over=True)

    workflow.expire_due()

    event = last_event(past_term)
    assert (event.action, event.actor, event.actor_name, event.actor_role) == (
        "expire",
        None,
        "system",
        Role.SYSTEM,
    )


# ---------------------------------------------------------------------------
# Conditions and notes
# ---------------------------------------------------------------------------


@pytest.fixture
def condition(make_request) -> Condition:
    return Condition.objects.get(decision__request=make_request(S.APPROVED_WITH_CONDITIONS))


def test_marking_a_condition_met_writes_a_public_event(condition, staff):
    request = condition.decision.request

    workflow.set_condition_status(condition, by=staff, status=Condition.Status.MET, note="Report published.")

    assert Condition.objects.get(pk=condition.pk).status == Condition.Status.MET
    event = last_event(request)
    assert event.action == "condition"
    assert event.is_public is True
    assert (event.from_status, event.to_status) == (S.APPROVED_WITH_CONDITIONS, S.APPROVED_WITH_CONDITIONS)
    assert event.actor == staff
    assert event.note == "Condition “Publish an annual report” marked met. Report published."


def test_marking_a_condition_with_its_current_status_writes_nothing(condition, staff):
    before = snapshot(condition.decision.request)

    workflow.set_condition_status(condition, by=staff, status=Condition.Status.OPEN)

    assert snapshot(condition.decision.request) == before


@pytest.mark.parametrize("who", ["anonymous", "liaison_a", "liaison_b", "clerk", "system"])
def test_only_staff_can_mark_a_condition(who, condition, people):
    before = snapshot(condition.decision.request)

    with pytest.raises(TransitionRefused) as refused:
        workflow.set_condition_status(condition, by=people[who], status=Condition.Status.MET)

    assert refused.value.code == "permission"
    assert snapshot(condition.decision.request) == before


def test_a_condition_status_must_be_known(condition, staff):
    with pytest.raises(ValidationError) as invalid:
        workflow.set_condition_status(condition, by=staff, status="waived")

    assert set(invalid.value.message_dict) == {"status"}


def test_a_staff_note_is_internal_by_default(make_request, staff):
    request = make_request(S.IN_REVIEW)

    event = workflow.add_note(request, by=staff, note="Called the vendor.")

    assert (event.action, event.is_public, event.note) == ("note", False, "Called the vendor.")
    assert (event.from_status, event.to_status) == (S.IN_REVIEW, S.IN_REVIEW)
    assert Request.objects.get(pk=request.pk).status == S.IN_REVIEW


def test_a_staff_note_can_be_made_public(make_request, staff):
    request = make_request(S.IN_REVIEW)

    event = workflow.add_note(request, by=staff, note="Hearing moved to the larger room.", public=True)

    assert event.is_public is True


@pytest.mark.parametrize("who", ["anonymous", "liaison_a", "liaison_b", "clerk", "system"])
def test_only_staff_can_add_a_note(who, make_request, people):
    request = make_request(S.IN_REVIEW)
    before = snapshot(request)

    with pytest.raises(TransitionRefused) as refused:
        workflow.add_note(request, by=people[who], note="Let me in.")

    assert refused.value.code == "permission"
    assert refused.value.message == workflow.NOT_PERMITTED.format(action="add a note to")
    assert snapshot(request) == before


def test_a_note_cannot_be_blank(make_request, staff):
    request = make_request(S.IN_REVIEW)

    with pytest.raises(ValidationError) as invalid:
        workflow.add_note(request, by=staff, note="  ")

    assert set(invalid.value.message_dict) == {"note"}


# ---------------------------------------------------------------------------
# Two people at once (PostgreSQL row locks)
# ---------------------------------------------------------------------------


@pytest.mark.postgresql
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_two_staff_approving_at_once_record_exactly_one_decision(make_request, staff, monkeypatch):
    hearing = make_request(S.HEARING_SCHEDULED)
    other_staff = make_user("staff_2", roles.STAFF)
    barrier = threading.Barrier(2, timeout=10)
    outcomes: dict[str, object] = {}

    # Hold the row lock a moment after deciding, so the second approver must wait for it.
    record = workflow._record

    def slow_record(*args, **kwargs):
        event = record(*args, **kwargs)
        time.sleep(0.3)
        return event

    monkeypatch.setattr(workflow, "_record", slow_record)

    def approve(user) -> None:
        try:
            mine = Request.objects.get(pk=hearing.pk)
            barrier.wait()
            decide(mine, by=user, outcome=Decision.Outcome.APPROVED)
            outcomes[user.username] = "approved"
        except Exception as error:
            outcomes[user.username] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(user,)) for user in (staff, other_staff)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["staff", "staff_2"]
    winners = [name for name, outcome in outcomes.items() if outcome == "approved"]
    losers = [outcome for outcome in outcomes.values() if outcome != "approved"]
    assert len(winners) == 1
    assert len(losers) == 1
    assert isinstance(losers[0], TransitionRefused)
    assert losers[0].code == "state"
    assert f"{hearing.reference} is approved" in losers[0].message
    assert Decision.objects.filter(request=hearing).count() == 1
    assert Event.objects.filter(request=hearing, action="approve").count() == 1
    assert Request.objects.get(pk=hearing.pk).status == S.APPROVED
