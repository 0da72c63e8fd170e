"""
The request workflow, driven only through `ordinances.workflow.perform` and its siblings.

The permission, state, kind and record tests are generated from `workflow.TRANSITIONS`, so
a new row in the table is covered as soon as it is added (and fails loudly here until
`READY` below says where a request stands when the row comes, and `EXPECTED_DATA` what its
Event records).

Decisions come only after the law's steps have happened (comment closed, hearing held),
so requests are built with `make_request(to=...)`, which walks them through the workflow
with backdated `now=` values; where a test needs time to pass it passes `now=` itself.
"""

from __future__ import annotations

import datetime
import json
import threading
import time
from collections import deque
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone
from model_bakery import baker

from ordinances import roles, workflow
from ordinances.models import (
    Attachment,
    Category,
    CategoryRule,
    Condition,
    Deadline,
    Decision,
    Event,
    Ordinance,
    ProcessStep,
    Request,
    StatutoryException,
    Technology,
)
from ordinances.roles import Role
from ordinances.workflow import TRANSITIONS, TransitionRefused
from tests.conftest import PATHS, STEP_DAY, hearing_for, make_user

S = Request.Status
K = Request.Kind
Step = ProcessStep.Kind
DK = Deadline.Kind
Anchor = Deadline.Anchor

REASON = "Recorded for the test."
COUNCIL = "Test City Council"
ADVISORY_BODY = "Privacy Advisory Commission"
CONDITION = workflow.ConditionInput("Publish an annual report", datetime.date(2030, 1, 1))
# Where a hearing is held: the workflow requires a place (an address or a remote link).
PLACE = {"hearing_address": "350 South 5th Street"}

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


def today() -> datetime.date:
    return timezone.localdate()


def days_from_today(days: int) -> datetime.date:
    return today() + datetime.timedelta(days=days)


def ago(days: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def evening_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(18, 0)))


def stored(value: Any) -> Any:
    """`value` as an Event's JSON `data` holds it once read back."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def last_event(request: Request) -> Event:
    return Event.objects.filter(request=request).order_by("-pk").first()


def snapshot(request: Request) -> dict:
    """Everything a transition could write about `request`."""
    fresh = Request.objects.get(pk=request.pk)
    return {
        "status": fresh.status,
        "updated_at": fresh.updated_at,
        "submitted_at": fresh.submitted_at,
        "advisory_referred_on": fresh.advisory_referred_on,
        "comment_period_opened_on": fresh.comment_period_opened_on,
        "comment_period_ends_on": fresh.comment_period_ends_on,
        "hearing_noticed_on": fresh.hearing_noticed_on,
        "hearing_at": fresh.hearing_at,
        "events": list(Event.objects.filter(request=fresh).values_list("pk", flat=True)),
        "decisions": list(Decision.objects.filter(request=fresh).values_list("pk", flat=True)),
        "conditions": list(
            Condition.objects.filter(decision__request=fresh).values_list("pk", "status").order_by("pk")
        ),
        "attachments": list(
            Attachment.objects.filter(request=fresh).values_list("pk", "title", "url").order_by("pk")
        ),
    }


def assert_unchanged(request: Request, before: dict) -> None:
    after = snapshot(request)
    assert after == before
    # Spelled out too, since these are what a refusal must never leave behind.
    assert after["status"] == before["status"]
    assert after["decisions"] == before["decisions"]
    assert after["events"] == before["events"]


# ---------------------------------------------------------------------------
# Ordinances of other shapes, and requests under them
# ---------------------------------------------------------------------------

VOTE_OF_COUNCIL = {"body": COUNCIL, "seats": 13, "majority": ProcessStep.Majority.MORE_YES_THAN_NO}
YEAR_TERM = {DK.APPROVAL_TERM: (365, Anchor.APPROVAL_EFFECTIVE)}
ADVISORY = {"body": ADVISORY_BODY}


def make_ordinance(
    file_number: str,
    *,
    steps: dict[str, dict],
    deadlines: dict[str, tuple[int, str]] | None = None,
    rules: dict[str, str] | None = None,
    **fields: Any,
) -> Ordinance:
    """An ordinance in effect with these steps and deadlines; it governs drones by default."""
    ordinance = baker.make(
        Ordinance,
        file_number=file_number,
        slug=file_number.lower(),
        title=f"Ordinance {file_number}",
        status=Ordinance.Status.IN_EFFECT,
        summary="A test ordinance.",
        **fields,
    )
    for kind, extra in steps.items():
        ProcessStep.objects.create(ordinance=ordinance, kind=kind, **extra)
    for kind, (amount, anchor) in (deadlines or {}).items():
        Deadline.objects.create(ordinance=ordinance, kind=kind, amount=amount, counted_from=anchor)
    for category, rule in (rules or {Category.DRONES: CategoryRule.Rule.APPROVAL_REQUIRED}).items():
        CategoryRule.objects.create(ordinance=ordinance, category=category, rule=rule)
    return ordinance


AGENCY_TEXT = {
    "justification": "Why it is needed.",
    "alternatives_considered": "Foot searches.",
    "data_collected": "Video.",
    "retention": "30 days.",
    "sharing": "No one.",
}


@pytest.fixture
def draft_under(agency_a, drone, liaison_a):
    """A draft of agency A under `ordinance`, started at `at` (200 days ago by default)."""

    def make(ordinance: Ordinance, *, at: datetime.datetime | None = None, **fields: Any) -> Request:
        fields.setdefault("kind", K.APPROVAL)
        if fields["kind"] != K.EMERGENCY_REPORT:
            for name, text in AGENCY_TEXT.items():
                fields.setdefault(name, text)
        return workflow.create_draft(
            by=liaison_a,
            now=at or ago(200),
            agency=fields.pop("agency", agency_a),
            technology=fields.pop("technology", drone),
            ordinance=ordinance,
            title=fields.pop("title", "Drone for search and rescue"),
            purpose=fields.pop("purpose", "Find missing people in the river gorge."),
            **fields,
        )

    return make


@pytest.fixture
def in_review_under(draft_under, liaison_a, staff):
    """A request under `ordinance` submitted and taken into review `days` days ago."""

    def make(ordinance: Ordinance, *, days: float = 200, **fields: Any) -> Request:
        request = draft_under(ordinance, at=ago(days + 0.01), **fields)
        workflow.perform("submit", request, by=liaison_a, now=ago(days))
        workflow.perform("begin_review", request, by=staff, now=ago(days))
        return request

    return make


# Reshaping the `ordinance` fixture (public comment, hearing, vote) for the table's rows
# that need another step. Done before `make_request`, which always uses that ordinance.


def add_advisory_review(ordinance: Ordinance, silence_days: int = 30) -> None:
    ProcessStep.objects.create(ordinance=ordinance, kind=Step.ADVISORY_REVIEW, **ADVISORY)
    Deadline.objects.create(
        ordinance=ordinance,
        kind=DK.ADVISORY_SILENCE,
        amount=silence_days,
        counted_from=Anchor.ADVISORY_REFERRAL,
    )


def add_community_meeting(ordinance: Ordinance) -> None:
    ProcessStep.objects.create(ordinance=ordinance, kind=Step.COMMUNITY_MEETING)


def make_disclosure_only(ordinance: Ordinance) -> None:
    ordinance.steps.filter(kind__in=[Step.HEARING, Step.VOTE]).delete()
    ProcessStep.objects.create(ordinance=ordinance, kind=Step.PUBLICATION)


# ---------------------------------------------------------------------------
# The table, read as a graph
# ---------------------------------------------------------------------------


def reachable_states(kind: str) -> set[str]:
    """Every status a request of `kind` can reach from draft, read from the table."""
    seen, queue = {S.DRAFT.value}, deque([S.DRAFT.value])
    while queue:
        state = queue.popleft()
        for t in TRANSITIONS.values():
            if t.target is not None and kind in t.kinds and state in t.sources and t.target not in seen:
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


# Where a request stands when each row comes, and the shape of ordinance the row needs.
READY: dict[str, tuple[str, str]] = {
    "submit": (S.DRAFT, "standard"),
    "begin_review": (S.SUBMITTED, "standard"),
    "return_to_agency": (S.IN_REVIEW, "standard"),
    "refer_to_advisory": (S.IN_REVIEW, "advisory"),
    "record_advisory_opinion": (S.ADVISORY_REVIEW, "advisory"),
    "proceed_after_silence": (S.ADVISORY_REVIEW, "advisory"),
    "record_community_meeting": (S.IN_REVIEW, "community"),
    "open_comment_period": (S.IN_REVIEW, "standard"),
    "close_comment_period": (S.PUBLIC_COMMENT, "standard"),
    "schedule_hearing": (S.PUBLIC_COMMENT, "standard"),
    "approve": (S.HEARING_SCHEDULED, "standard"),
    "approve_with_conditions": (S.HEARING_SCHEDULED, "standard"),
    "deny": (S.HEARING_SCHEDULED, "standard"),
    "publish_policy": (S.PUBLIC_COMMENT, "disclosure"),
    "withdraw": (S.SUBMITTED, "standard"),
    "expire": (S.APPROVED, "term_over"),
    "revoke": (S.APPROVED, "standard"),
    "accept_report": (S.IN_REVIEW, "standard"),
    "refer_to_full_review": (S.IN_REVIEW, "standard"),
}


def inputs_for(name: str) -> dict[str, Any]:
    """Valid input for row `name`, made on a request in its READY state."""
    return {
        "return_to_agency": {"reason": REASON},
        "record_advisory_opinion": {"opinion": workflow.Opinion.SUPPORTS},
        "record_community_meeting": {"held_on": days_from_today(-1), "place": "Central Library"},
        "schedule_hearing": {
            "hearing_at": evening_of(days_from_today(20)),
            "hearing_room": "Room 317",
            "hearing_address": "350 South 5th Street",
            "hearing_remote_url": "https://meetings.example.org/council",
        },
        "approve": {"votes_yes": 9, "votes_no": 3},
        "approve_with_conditions": {"votes_yes": 9, "votes_no": 3, "conditions": [CONDITION]},
        "deny": {"votes_yes": 2, "votes_no": 10, "summary": "Benefits do not outweigh costs."},
        "withdraw": {"reason": REASON},
        "revoke": {"reason": REASON},
        "refer_to_full_review": {"reason": REASON},
    }.get(name, {})


def run(name: str, request: Request, by, **overrides: Any) -> Request:
    return workflow.perform(name, request, by=by, **(inputs_for(name) | overrides))


@pytest.fixture
def request_in(make_request, ordinance, staff, face_recognition):
    """A request of agency A in `state`, under the `ordinance` fixture reshaped for `shape`."""

    def build(state: str, *, kind: str | None = None, shape: str | None = None) -> Request:
        kind = kind or any_kind_reaching(state)
        fields: dict[str, Any] = {"kind": kind}
        if kind == K.EXCEPTION:
            fields["technology"] = face_recognition
        if kind == K.RENEWAL:
            # Built before any reshaping: its walk needs the ordinance's standard path.
            fields["renews"] = make_request(S.APPROVED)
        if shape is None:
            shape = {
                S.ADVISORY_REVIEW: "advisory",
                S.ADVISED: "advisory",
                S.PUBLISHED: "disclosure",
                S.EXPIRED: "term_over",
            }.get(state, "standard")
        if shape == "advisory":
            add_advisory_review(ordinance)
            request = make_request(S.IN_REVIEW, **fields)
            if state != S.IN_REVIEW:
                workflow.perform("refer_to_advisory", request, by=staff, now=ago(47))
            if state == S.ADVISED:
                workflow.perform("record_advisory_opinion", request, by=staff, now=ago(46), opinion="objects")
        elif shape == "community":
            add_community_meeting(ordinance)
            request = make_request(state, **fields)
        elif shape == "disclosure":
            make_disclosure_only(ordinance)
            request = make_request(state if state != S.PUBLISHED else S.PUBLIC_COMMENT, **fields)
            if state == S.PUBLISHED:
                workflow.perform("publish_policy", request, by=staff)
        elif shape == "term_over":
            # Decided five days ago for the one day asked for: the term ended four days ago.
            approved = state if state in Request.APPROVED_STATES else S.APPROVED
            request = make_request(approved, requested_term_days=1, **fields)
            if state == S.EXPIRED:
                workflow.perform("expire", request, by=None)
        else:
            request = make_request(state, **fields)
        request.refresh_from_db()
        assert request.status == state
        return request

    return build


@pytest.fixture
def ready_for(request_in):
    """A request where row `name` comes next: in its READY state, under the shape it needs."""

    def build(name: str) -> Request:
        state, shape = READY[name]
        return request_in(state, kind=kind_reaching(TRANSITIONS[name], state), shape=shape)

    return build


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


def actor_for(transition: workflow.Transition, people: dict):
    """Someone the table allows to make `transition` on a request of agency A."""
    who = next(who for who, role in ROLE_OF.items() if role in transition.actors)
    return people[who]


def test_every_row_of_the_table_says_where_it_comes():
    assert set(READY) == set(TRANSITIONS)


def test_every_row_of_the_table_is_an_event_action():
    assert set(TRANSITIONS) <= set(Event.Action.values)


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
    before = request.status

    run(name, request, people[who])

    request.refresh_from_db()
    assert request.status == (TRANSITIONS[name].target or before)


@pytest.mark.parametrize(("name", "who"), REFUSED)
def test_roles_not_named_in_the_table_are_refused_permission(name, who, ready_for, people):
    request = ready_for(name)
    before = snapshot(request)

    with pytest.raises(TransitionRefused) as refused:
        run(name, request, people[who])

    assert refused.value.code == "permission"
    assert refused.value.message == workflow.NOT_PERMITTED.format(action=TRANSITIONS[name].label.lower())
    assert_unchanged(request, before)


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
        workflow.perform("submit", draft, by=staff)

    assert refused.value.code == "permission"
    assert refused.value.message == workflow.NOT_PERMITTED.format(action="submit to the council")


def test_a_liaison_of_another_agency_cannot_submit_agency_a_s_draft(make_request, liaison_b):
    draft = make_request(S.DRAFT)
    before = snapshot(draft)

    with pytest.raises(TransitionRefused) as refused:
        workflow.perform("submit", draft, by=liaison_b)

    assert refused.value.code == "permission"
    assert_unchanged(draft, before)


def test_a_liaison_can_submit_their_own_agency_s_draft(make_request, liaison_a):
    draft = make_request(S.DRAFT)

    workflow.perform("submit", draft, by=liaison_a)

    assert draft.status == S.SUBMITTED


def test_an_anonymous_user_cannot_begin_review(make_request):
    submitted = make_request(S.SUBMITTED)

    with pytest.raises(TransitionRefused) as refused:
        workflow.perform("begin_review", submitted, by=AnonymousUser())

    assert refused.value.code == "permission"


def test_a_clerk_cannot_record_a_decision(make_request, clerk):
    hearing = make_request(S.HEARING_SCHEDULED)

    with pytest.raises(TransitionRefused) as refused:
        run("approve", hearing, clerk)

    assert refused.value.code == "permission"


def test_a_liaison_cannot_approve_their_own_agency_s_request(make_request, liaison_a):
    hearing = make_request(S.HEARING_SCHEDULED)

    with pytest.raises(TransitionRefused) as refused:
        run("approve", hearing, liaison_a)

    assert refused.value.code == "permission"


def test_staff_cannot_withdraw_an_agency_s_request(make_request, staff):
    submitted = make_request(S.SUBMITTED)

    with pytest.raises(TransitionRefused) as refused:
        run("withdraw", submitted, staff)

    assert refused.value.code == "permission"


def test_the_system_can_expire_an_approval_but_cannot_revoke_it(request_in):
    approval = request_in(S.APPROVED, shape="term_over")

    with pytest.raises(TransitionRefused) as refused:
        run("revoke", approval, None)
    workflow.perform("expire", approval, by=None)

    assert refused.value.code == "permission"
    assert approval.status == S.EXPIRED


def test_a_superuser_counts_as_council_staff(make_request):
    superuser = make_user("root", is_superuser=True)
    submitted = make_request(S.SUBMITTED)

    workflow.perform("begin_review", submitted, by=superuser)

    assert submitted.status == S.IN_REVIEW


def test_an_inactive_staff_account_is_refused(make_request, staff):
    staff.is_active = False
    staff.save()
    submitted = make_request(S.SUBMITTED)

    with pytest.raises(TransitionRefused) as refused:
        workflow.perform("begin_review", submitted, by=staff)

    assert refused.value.code == "permission"


# ---------------------------------------------------------------------------
# From which states, for which kinds, along which path
# ---------------------------------------------------------------------------

WRONG_STATES = [
    pytest.param(name, state, id=f"{name}-from-{state}")
    for name, t in TRANSITIONS.items()
    for state in S.values
    if state not in t.sources and kind_reaching(t, state)
]


@pytest.mark.parametrize("state", S.values)
def test_every_status_is_reachable_through_the_workflow(state, request_in):
    request = request_in(state)

    assert request.status == state


@pytest.mark.parametrize(("name", "state"), WRONG_STATES)
def test_a_transition_is_refused_from_a_state_not_among_its_sources(name, state, request_in, people):
    transition = TRANSITIONS[name]
    request = request_in(state, kind=kind_reaching(transition, state))
    before = snapshot(request)

    with pytest.raises(TransitionRefused) as refused:
        run(name, request, actor_for(transition, people))

    assert refused.value.code == "state"
    assert refused.value.message == workflow.WRONG_STATE.format(
        reference=request.reference,
        state=S(state).label.lower(),
        action=transition.label,
        allowed=" or ".join(S(s).label.lower() for s in transition.sources),
    )
    assert_unchanged(request, before)


def test_the_wrong_state_message_names_the_current_state(make_request, staff):
    draft = make_request(S.DRAFT)

    with pytest.raises(TransitionRefused) as refused:
        workflow.perform("begin_review", draft, by=staff)

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
    request = request_in(state, kind=kind, shape="standard")
    before = snapshot(request)

    with pytest.raises(TransitionRefused) as refused:
        run(name, request, actor_for(transition, people))

    assert refused.value.code == "state"
    assert refused.value.message == workflow.WRONG_KIND.format(
        action=transition.label, kind=K(kind).label.lower()
    )
    assert_unchanged(request, before)


def test_an_emergency_report_cannot_go_to_public_comment(make_request, staff):
    report = make_request(S.IN_REVIEW, kind=K.EMERGENCY_REPORT)
    before = snapshot(report)

    with pytest.raises(TransitionRefused) as refused:
        workflow.perform("open_comment_period", report, by=staff)

    assert refused.value.message == workflow.WRONG_KIND.format(
        action="Open public comment", kind="emergency-use report"
    )
    assert_unchanged(report, before)


def test_an_approval_straight_from_review_is_refused_where_the_law_requires_comment_and_a_hearing(
    make_request, staff
):
    in_review = make_request(S.IN_REVIEW)
    before = snapshot(in_review)

    with pytest.raises(TransitionRefused) as refused:
        run("approve", in_review, staff)

    assert refused.value.code == "state"
    assert refused.value.message == (
        f"{in_review.reference} is in review; under TEST-0001, “Record approval” comes when it is "
        "hearing scheduled."
    )
    assert_unchanged(in_review, before)


def test_a_hearing_cannot_be_scheduled_before_public_comment_where_the_law_has_comment(make_request, staff):
    in_review = make_request(S.IN_REVIEW)
    before = snapshot(in_review)

    with pytest.raises(TransitionRefused) as refused:
        run("schedule_hearing", in_review, staff)

    assert refused.value.message == (
        f"{in_review.reference} is in review; under TEST-0001, “Schedule the hearing” comes when it is "
        "public comment."
    )
    assert_unchanged(in_review, before)


@pytest.fixture
def without_comment(db) -> Ordinance:
    return make_ordinance(
        "NOCOM-1",
        steps={Step.HEARING: {}, Step.VOTE: VOTE_OF_COUNCIL},
        deadlines={DK.HEARING_NOTICE: (10, Anchor.HEARING_NOTICE), **YEAR_TERM},
    )


def test_under_a_law_without_public_comment_review_goes_straight_to_the_hearing(
    without_comment, in_review_under, staff
):
    request = in_review_under(without_comment)

    run("schedule_hearing", request, staff)

    assert request.status == S.HEARING_SCHEDULED


def test_under_a_law_without_public_comment_opening_comment_is_refused_naming_the_missing_step(
    without_comment, in_review_under, staff
):
    request = in_review_under(without_comment)
    before = snapshot(request)

    with pytest.raises(TransitionRefused) as refused:
        workflow.perform("open_comment_period", request, by=staff)

    assert refused.value.code == "state"
    assert refused.value.message == workflow.NO_SUCH_STEP.format(
        ordinance="NOCOM-1", step="public comment", action="Open public comment"
    )
    assert refused.value.message == (
        "NOCOM-1 has no public comment step, so “Open public comment” does not apply to its requests."
    )
    assert_unchanged(request, before)


@pytest.fixture
def vote_only(db) -> Ordinance:
    return make_ordinance("VOTE-1", steps={Step.VOTE: VOTE_OF_COUNCIL}, deadlines=YEAR_TERM)


def test_under_a_law_whose_only_step_is_a_vote_a_request_is_approved_straight_from_review(
    vote_only, in_review_under, staff
):
    request = in_review_under(vote_only)

    run("approve", request, staff)

    assert request.status == S.APPROVED
    assert request.decision.body == COUNCIL


def test_the_transitions_offered_under_a_vote_only_law_skip_comment_and_hearing(
    vote_only, in_review_under, staff
):
    request = in_review_under(vote_only)

    offered = {t.name for t in workflow.available_transitions(request, staff)}

    assert offered == {"return_to_agency", "approve", "approve_with_conditions", "deny"}


# ---------------------------------------------------------------------------
# The record each transition writes
# ---------------------------------------------------------------------------


def _decision_data(votes: tuple[int, int], *, term: bool = True, conditions: bool = False) -> dict:
    data: dict[str, Any] = {
        "decided_on": today(),
        "body": COUNCIL,
        "seats": 13,
        "votes": {"yes": votes[0], "no": votes[1], "abstain": 0, "absent": 0},
    }
    if term:
        data |= {"effective_on": today(), "expires_on": days_from_today(365)}
    if conditions:
        data["conditions"] = [{"text": CONDITION.text, "due_on": CONDITION.due_on}]
    return data


# What each row's Event holds as data: facts, never sentences. Given the request after the
# row ran and the inputs it was given.
EXPECTED_DATA = {
    "submit": lambda r, i: {},
    "begin_review": lambda r, i: {},
    "return_to_agency": lambda r, i: {},
    "refer_to_advisory": lambda r, i: {"body": ADVISORY_BODY, "respond_by": days_from_today(30)},
    "record_advisory_opinion": lambda r, i: {"body": ADVISORY_BODY, "opinion": "supports"},
    "proceed_after_silence": lambda r, i: {
        "body": ADVISORY_BODY,
        "respond_by": r.advisory_referred_on + datetime.timedelta(days=30),
    },
    "record_community_meeting": lambda r, i: {"held_on": i["held_on"], "place": "Central Library"},
    "open_comment_period": lambda r, i: {"opened_on": today(), "ends_on": days_from_today(30)},
    "close_comment_period": lambda r, i: {"ends_on": r.comment_period_ends_on, "closed_on": today()},
    "schedule_hearing": lambda r, i: {
        "hearing_at": i["hearing_at"],
        "noticed_on": today(),
        "room": "Room 317",
        "address": "350 South 5th Street",
        "remote_url": "https://meetings.example.org/council",
    },
    "approve": lambda r, i: _decision_data((9, 3)),
    "approve_with_conditions": lambda r, i: _decision_data((9, 3), conditions=True),
    "deny": lambda r, i: _decision_data((2, 10), term=False),
    "publish_policy": lambda r, i: {"decided_on": today(), "effective_on": today()},
    "withdraw": lambda r, i: {},
    "expire": lambda r, i: {"expires_on": r.decision.expires_on},
    "revoke": lambda r, i: {},
    "accept_report": lambda r, i: {},
    "refer_to_full_review": lambda r, i: {},
}


def test_every_row_of_the_table_has_its_expected_event_data():
    assert set(EXPECTED_DATA) == set(TRANSITIONS)


@pytest.mark.parametrize(("name", "who"), ALLOWED)
def test_each_allowed_transition_writes_one_event_describing_it(name, who, ready_for, people):
    transition = TRANSITIONS[name]
    request = ready_for(name)
    from_status = request.status
    events_before = request.events.count()
    actor = people[who]

    run(name, request, actor)

    assert request.events.count() == events_before + 1
    event = last_event(request)
    assert event.action == name
    assert (event.from_status, event.to_status) == (from_status, transition.target or from_status)
    assert event.actor == actor
    assert event.actor_name == (actor.get_full_name() if actor else "")
    assert event.actor_role == ROLE_OF[who]
    assert event.is_public == transition.public


@pytest.mark.parametrize("name", TRANSITIONS)
def test_each_transition_records_its_facts_as_data(name, ready_for, people):
    request = ready_for(name)
    inputs = inputs_for(name)

    workflow.perform(name, request, by=actor_for(TRANSITIONS[name], people), **inputs)

    request.refresh_from_db()
    assert last_event(request).data == stored(EXPECTED_DATA[name](request, inputs))


@pytest.mark.parametrize("name", TRANSITIONS)
def test_each_transition_s_note_is_only_what_the_actor_typed(name, ready_for, people):
    request = ready_for(name)
    inputs = inputs_for(name)
    typed = "Typed by a person."
    if "note" in TRANSITIONS[name].input_names:
        inputs["note"] = typed
    elif "reason" in TRANSITIONS[name].input_names:
        inputs["reason"] = typed
    elif "summary" in TRANSITIONS[name].input_names:
        inputs["summary"] = typed

    workflow.perform(name, request, by=actor_for(TRANSITIONS[name], people), **inputs)

    assert last_event(request).note == (typed if TRANSITIONS[name].inputs else "")


def test_a_draft_starts_with_an_internal_create_event(make_request, liaison_a):
    draft = make_request(S.DRAFT)

    (event,) = draft.events.all()

    assert (event.action, event.from_status, event.to_status) == ("create", "", S.DRAFT)
    assert event.actor == liaison_a
    assert event.actor_role == Role.LIAISON
    assert (event.is_public, event.note, event.data) == (False, "", {})


@pytest.fixture
def staff_and_liaison(agency_a):
    """One person who is both council staff and a liaison of agency A."""
    user = make_user("both", roles.STAFF, roles.LIAISONS)
    agency_a.liaisons.add(user)
    return user


def test_a_submission_by_someone_both_staff_and_liaison_is_stamped_liaison(make_request, staff_and_liaison):
    draft = make_request(S.DRAFT)

    workflow.perform("submit", draft, by=staff_and_liaison)

    assert last_event(draft).actor_role == Role.LIAISON


def test_a_review_begun_by_someone_both_staff_and_liaison_is_stamped_staff(make_request, staff_and_liaison):
    draft = make_request(S.DRAFT)
    workflow.perform("submit", draft, by=staff_and_liaison)

    workflow.perform("begin_review", draft, by=staff_and_liaison)

    assert last_event(draft).actor_role == Role.STAFF


def _walk_with_typed_notes(request: Request, staff, liaison) -> dict[str, str]:
    """Walk `request` (a fresh draft) to approval with conditions, typing a note at each step."""
    typed = {
        "submit": "Use policy attached.",
        "begin_review": "Assigned to the public safety committee.",
        "open_comment_period": "Comments by mail too.",
        "schedule_hearing": "Room 317, City Hall.",
        "approve_with_conditions": "Narrow use only.",
    }
    start = request.created_at
    for step, inputs in PATHS[S.APPROVED_WITH_CONDITIONS]:
        inputs = dict(inputs)
        at = start + datetime.timedelta(days=STEP_DAY.get(step, 1))
        if step == "schedule_hearing":
            inputs["hearing_at"] = hearing_for(at)
        key = "summary" if step == "approve_with_conditions" else "note"
        inputs[key] = typed[step]
        workflow.perform(step, request, by=liaison if step == "submit" else staff, now=at, **inputs)
    return typed


def test_no_event_of_a_full_walk_holds_generated_english(make_request, staff, liaison_a):
    request = make_request(S.DRAFT)
    start = request.created_at
    typed = _walk_with_typed_notes(request, staff, liaison_a)

    events = list(request.events.order_by("pk"))

    assert [e.action for e in events] == ["create", *(step for step, _ in PATHS[S.APPROVED_WITH_CONDITIONS])]
    assert {e.action: e.note for e in events} == {"create": "", **typed}

    def day(step: str) -> datetime.date:
        return timezone.localdate(start + datetime.timedelta(days=STEP_DAY.get(step, 1)))

    decided = day("approve_with_conditions")
    expected = {
        "create": {},
        "submit": {},
        "begin_review": {},
        "open_comment_period": {
            "opened_on": day("open_comment_period"),
            "ends_on": day("open_comment_period") + datetime.timedelta(days=30),
        },
        "schedule_hearing": {
            "hearing_at": hearing_for(start + datetime.timedelta(days=STEP_DAY["schedule_hearing"])),
            "noticed_on": day("schedule_hearing"),
            "room": "Room 317",
            "address": "350 South 5th Street",
        },
        "approve_with_conditions": {
            "decided_on": decided,
            "body": COUNCIL,
            "seats": 13,
            "votes": {"yes": 9, "no": 3, "abstain": 0, "absent": 0},
            "effective_on": decided,
            "expires_on": decided + datetime.timedelta(days=365),
            "conditions": [{"text": "Publish an annual report", "due_on": "2030-01-01"}],
        },
    }
    assert {e.action: e.data for e in events} == stored(expected)


def _strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings_in(v)]
    return []


def _is_iso(text: str) -> bool:
    for parse in (datetime.date.fromisoformat, datetime.datetime.fromisoformat):
        try:
            parse(text)
        except ValueError:
            continue
        return True
    return False


def test_every_string_an_event_holds_is_a_date_a_code_or_typed_text(make_request, staff, liaison_a):
    request = make_request(S.DRAFT)
    _walk_with_typed_notes(request, staff, liaison_a)
    typed_text = {COUNCIL, CONDITION.text, "Room 317", "350 South 5th Street"}

    strings = [s for e in request.events.all() for s in _strings_in(e.data)]

    assert strings
    assert [s for s in strings if not (_is_iso(s) or " " not in s or s in typed_text)] == []
    assert {e.action for e in request.events.all()} <= set(Event.Action.values)


def test_every_event_action_of_a_request_s_life_is_an_event_action_code(make_request, staff, liaison_a):
    request = make_request(S.APPROVED_WITH_CONDITIONS)
    workflow.add_note(request, by=staff, note="Called the vendor.")
    workflow.set_condition_status(
        request.decision.conditions.get(), by=staff, status=Condition.Status.MET, note="Report published."
    )
    run("revoke", request, staff)

    actions = set(request.events.values_list("action", flat=True))

    assert actions <= set(Event.Action.values)
    assert {"create", "note", "condition", "revoke"} <= actions


def test_a_decision_summary_is_kept_on_the_decision_and_as_the_event_note(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)

    run("approve", hearing, staff, summary="  Narrow use only.  ")

    assert hearing.decision.summary == "Narrow use only."
    assert last_event(hearing).note == "Narrow use only."


def test_a_refused_decision_writes_no_decision_condition_or_event(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    before = snapshot(hearing)

    with pytest.raises(ValidationError):
        run("approve_with_conditions", hearing, staff, votes_yes=3, votes_no=9)

    assert_unchanged(hearing, before)
    assert not Condition.objects.exists()


def test_a_failure_while_writing_the_event_rolls_back_the_decision(make_request, staff, monkeypatch):
    hearing = make_request(S.HEARING_SCHEDULED)
    before = snapshot(hearing)

    def broken_record(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(workflow, "_record", broken_record)
    with pytest.raises(RuntimeError):
        run("approve_with_conditions", hearing, staff)

    assert_unchanged(hearing, before)
    assert not Condition.objects.exists()
    assert hearing.status == S.HEARING_SCHEDULED


def test_a_failure_while_writing_the_event_rolls_back_the_hearing_date(make_request, staff, monkeypatch):
    comment = make_request(S.PUBLIC_COMMENT)
    before = snapshot(comment)

    def broken_record(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(workflow, "_record", broken_record)
    with pytest.raises(RuntimeError):
        run("schedule_hearing", comment, staff)

    assert_unchanged(comment, before)
    assert comment.hearing_at is None


# ---------------------------------------------------------------------------
# What the actor supplies
# ---------------------------------------------------------------------------


def test_perform_refuses_an_input_the_row_does_not_take_naming_it(make_request, staff):
    submitted = make_request(S.SUBMITTED)
    before = snapshot(submitted)

    with pytest.raises(ValidationError) as invalid:
        workflow.perform("begin_review", submitted, by=staff, votes_yes=9)

    assert invalid.value.message_dict == {"votes_yes": ["“Begin review” takes no votes_yes."]}
    assert_unchanged(submitted, before)


def test_perform_refuses_a_transition_that_is_not_in_the_table(make_request, staff):
    submitted = make_request(S.SUBMITTED)
    before = snapshot(submitted)

    with pytest.raises(TransitionRefused) as refused:
        workflow.perform("fast_track", submitted, by=staff)

    assert refused.value.message == "There is no step called “fast_track”."
    assert_unchanged(submitted, before)


NEEDS_REASON = [name for name, t in TRANSITIONS.items() if "reason" in t.input_names]


def test_return_withdraw_revoke_and_refer_need_a_reason():
    assert set(NEEDS_REASON) == {"return_to_agency", "withdraw", "revoke", "refer_to_full_review"}


@pytest.mark.parametrize("name", NEEDS_REASON)
@pytest.mark.parametrize("reason", ["", "   \n"], ids=["empty", "blank"])
def test_a_transition_that_needs_a_reason_is_refused_without_one(name, reason, ready_for, people):
    request = ready_for(name)
    before = snapshot(request)

    with pytest.raises(ValidationError) as invalid:
        run(name, request, actor_for(TRANSITIONS[name], people), reason=reason)

    assert invalid.value.message_dict == {"reason": [workflow.REASON_REQUIRED]}
    assert_unchanged(request, before)


REQUIRED_INPUTS = [
    pytest.param(name, spec.name, id=f"{name}-{spec.name}")
    for name, t in TRANSITIONS.items()
    for spec in t.inputs
    if spec.required and spec.name != "reason"
]


@pytest.mark.parametrize(("name", "input_name"), REQUIRED_INPUTS)
def test_a_transition_is_refused_without_a_required_input(name, input_name, ready_for, people):
    request = ready_for(name)
    before = snapshot(request)
    inputs = inputs_for(name)
    inputs.pop(input_name, None)

    with pytest.raises(ValidationError) as invalid:
        workflow.perform(name, request, by=actor_for(TRANSITIONS[name], people), **inputs)

    assert set(invalid.value.message_dict) == {input_name}
    assert_unchanged(request, before)


# ---------------------------------------------------------------------------
# Submitting: the request must be coherent with the law and the record
# ---------------------------------------------------------------------------


def test_submit_records_when_the_request_was_submitted(make_request, liaison_a):
    draft = make_request(S.DRAFT)
    moment = timezone.now() - datetime.timedelta(hours=3)

    workflow.perform("submit", draft, by=liaison_a, now=moment)

    draft.refresh_from_db()
    assert draft.submitted_at == moment


def test_resubmission_after_return_keeps_the_first_submission_time(make_request, liaison_a):
    returned = make_request(S.RETURNED)
    first = returned.submitted_at

    workflow.perform("submit", returned, by=liaison_a)

    returned.refresh_from_db()
    assert returned.status == S.SUBMITTED
    assert returned.submitted_at == first


def test_a_resubmission_is_marked_as_such_in_the_event_data(make_request, liaison_a):
    returned = make_request(S.RETURNED)

    workflow.perform("submit", returned, by=liaison_a, note="Use policy attached.")

    event = last_event(returned)
    assert (event.data, event.note) == ({"resubmission": True}, "Use policy attached.")


def test_submitting_an_emergency_report_records_when_the_report_was_due(make_request, liaison_a):
    draft = make_request(S.DRAFT, kind=K.EMERGENCY_REPORT, emergency_used_on=days_from_today(-3))

    workflow.perform("submit", draft, by=liaison_a)

    assert last_event(draft).data == {"report_due_on": days_from_today(11).isoformat()}


def test_submission_requires_every_field_an_approval_request_must_fill_in(
    ordinance, agency_a, drone, liaison_a
):
    draft = workflow.create_draft(
        by=liaison_a,
        kind=K.APPROVAL,
        agency=agency_a,
        technology=drone,
        ordinance=ordinance,
        title="Drone",
        purpose="Survey.",
    )
    before = snapshot(draft)

    with pytest.raises(ValidationError) as invalid:
        workflow.perform("submit", draft, by=liaison_a)

    message = "An approval request must fill this in before it is submitted."
    assert invalid.value.message_dict == {
        name: [message]
        for name in ("justification", "alternatives_considered", "data_collected", "retention", "sharing")
    }
    assert_unchanged(draft, before)
    assert Request.objects.get(pk=draft.pk).submitted_at is None


def test_submission_under_a_repealed_ordinance_is_refused(make_request, ordinance, liaison_a):
    draft = make_request(S.DRAFT)
    ordinance.status = Ordinance.Status.REPEALED
    ordinance.save()
    before = snapshot(draft)

    with pytest.raises(ValidationError) as invalid:
        workflow.perform("submit", draft, by=liaison_a)

    assert invalid.value.message_dict == {"ordinance": ["TEST-0001 is repealed, not in force."]}
    assert_unchanged(draft, before)


def test_a_renewal_whose_approval_was_revoked_after_drafting_is_refused_at_submission(
    make_request, liaison_a, staff
):
    approval = make_request(S.APPROVED)
    renewal = make_request(S.DRAFT, kind=K.RENEWAL, renews=approval)
    run("revoke", approval, staff)
    before = snapshot(renewal)

    with pytest.raises(ValidationError) as invalid:
        workflow.perform("submit", renewal, by=liaison_a)

    assert invalid.value.message_dict == {
        "renews": [f"{approval.reference} is revoked; only an approval, current or expired, can be renewed."]
    }
    assert_unchanged(renewal, before)


@pytest.fixture
def start_draft(ordinance, agency_a, drone, liaison_a):
    """`workflow.create_draft` by liaison A with the agency's text filled in; fields override."""

    def start(**fields: Any) -> Request:
        fields.setdefault("kind", K.APPROVAL)
        if fields["kind"] != K.EMERGENCY_REPORT:
            for name, text in AGENCY_TEXT.items():
                fields.setdefault(name, text)
        return workflow.create_draft(
            by=liaison_a,
            agency=agency_a,
            technology=fields.pop("technology", drone),
            ordinance=fields.pop("ordinance", ordinance),
            title="Drone",
            purpose="Survey.",
            **fields,
        )

    return start


def refused_draft(start_draft, **fields: Any) -> dict[str, list[str]]:
    """The errors `create_draft` raises for `fields`, having checked it wrote nothing."""
    requests, events = Request.objects.count(), Event.objects.count()
    with pytest.raises(ValidationError) as invalid:
        start_draft(**fields)
    assert (Request.objects.count(), Event.objects.count()) == (requests, events)
    return invalid.value.message_dict


@pytest.fixture
def face_id_exception(ordinance) -> StatutoryException:
    return baker.make(
        StatutoryException,
        ordinance=ordinance,
        slug="missing-persons",
        title="Face ID for missing persons",
        category=Category.FACIAL_RECOGNITION,
    )


def test_a_drone_exception_request_citing_a_facial_recognition_exception_is_refused_on_exception(
    start_draft, ordinance, face_id_exception
):
    CategoryRule.objects.filter(ordinance=ordinance, category=Category.DRONES).update(
        rule=CategoryRule.Rule.PROHIBITED
    )

    errors = refused_draft(start_draft, kind=K.EXCEPTION, exception=face_id_exception)

    assert errors == {
        "exception": ["“Face ID for missing persons” is an exception for facial recognition, not for drones."]
    }


def test_an_exception_request_citing_another_ordinance_s_exception_is_refused(start_draft, face_recognition):
    other = make_ordinance("OTHER-1", steps={}, rules={Category.FACIAL_RECOGNITION: "prohibited"})
    theirs = baker.make(StatutoryException, ordinance=other, slug="theirs", title="Theirs")

    errors = refused_draft(start_draft, kind=K.EXCEPTION, technology=face_recognition, exception=theirs)

    assert errors == {"exception": ["This exception belongs to another ordinance."]}


def test_an_exception_request_may_cite_its_own_ordinance_s_exception_for_its_category(
    start_draft, face_recognition, face_id_exception
):
    draft = start_draft(kind=K.EXCEPTION, technology=face_recognition, exception=face_id_exception)

    assert draft.exception == face_id_exception


def test_a_request_for_a_technology_the_ordinance_does_not_govern_is_refused_on_ordinance(start_draft):
    gunshot = baker.make(
        Technology, name="Gunshot sensor", slug="gunshot", category=Category.GUNSHOT_DETECTION
    )

    errors = refused_draft(start_draft, technology=gunshot)

    assert errors == {
        "ordinance": [
            "TEST-0001 has no rule for gunshot detection; choose the ordinance that governs this technology."
        ]
    }


def test_an_exception_request_for_a_category_that_only_needs_approval_is_refused_on_kind(start_draft):
    errors = refused_draft(start_draft, kind=K.EXCEPTION)

    assert errors == {
        "kind": [
            "TEST-0001 does not prohibit drones, so there is nothing to make an exception to; "
            "ask for approval instead."
        ]
    }


def test_an_approval_request_for_a_prohibited_category_is_refused_on_kind(start_draft, face_recognition):
    errors = refused_draft(start_draft, technology=face_recognition)

    assert errors == {
        "kind": ["TEST-0001 prohibits facial recognition; only an exception request can ask to use it."]
    }


def test_a_renewal_of_a_denied_request_is_refused_on_renews(start_draft, make_request):
    denied = make_request(S.DENIED)

    errors = refused_draft(start_draft, kind=K.RENEWAL, renews=denied)

    assert errors == {
        "renews": [f"{denied.reference} is denied; only an approval, current or expired, can be renewed."]
    }


def test_a_renewal_of_an_emergency_report_is_refused_on_renews(start_draft, make_request):
    report = make_request(S.ACCEPTED)

    errors = refused_draft(start_draft, kind=K.RENEWAL, renews=report)

    assert errors == {
        "renews": [f"{report.reference} is accepted; only an approval, current or expired, can be renewed."]
    }


def test_a_renewal_of_an_expired_approval_is_allowed(start_draft, request_in):
    expired = request_in(S.EXPIRED)

    renewal = start_draft(kind=K.RENEWAL, renews=expired)

    assert renewal.renews == expired


def test_an_emergency_report_that_renews_a_request_is_refused_on_renews(start_draft, make_request):
    approval = make_request(S.APPROVED)

    errors = refused_draft(
        start_draft,
        kind=K.EMERGENCY_REPORT,
        emergency_used_on=days_from_today(-1),
        justification="A child was missing.",
        data_collected="Video.",
        renews=approval,
    )

    assert errors == {"renews": ["Only a renewal renews an earlier request."]}


def test_an_emergency_report_of_a_use_in_the_future_is_refused_on_emergency_used_on(start_draft):
    errors = refused_draft(start_draft, kind=K.EMERGENCY_REPORT, emergency_used_on=days_from_today(1))

    assert errors == {"emergency_used_on": ["The date of emergency use cannot be in the future."]}


def test_a_requested_term_of_zero_days_is_refused(start_draft):
    errors = refused_draft(start_draft, requested_term_days=0)

    assert errors == {"requested_term_days": ["A term is at least one day; leave it blank to ask for none."]}


def test_a_real_request_under_a_demo_ordinance_is_refused(start_draft, ordinance):
    ordinance.is_demo = True
    ordinance.save()

    errors = refused_draft(start_draft)

    assert errors == {"ordinance": ["A fictional demo ordinance cannot govern a real request."]}


# ---------------------------------------------------------------------------
# Drafting and editing
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("state", sorted(Request.EDITABLE_STATES))
def test_the_liaison_can_edit_a_draft_or_returned_request(state, make_request, liaison_a):
    request = make_request(state)

    workflow.update_draft(request, by=liaison_a, fields={"title": "Drone for flood response"})

    request.refresh_from_db()
    assert request.title == "Drone for flood response"
    assert last_event(request).action == "edit"


@pytest.mark.parametrize("state", sorted(set(S.values) - set(Request.EDITABLE_STATES)))
def test_the_liaison_cannot_edit_a_request_once_it_is_with_the_council(state, request_in, liaison_a):
    request = request_in(state)
    title = request.title
    before = snapshot(request)

    with pytest.raises(TransitionRefused) as refused:
        workflow.update_draft(request, by=liaison_a, fields={"title": "Drone for flood response"})

    assert refused.value.code == "state"
    assert refused.value.message == workflow.NOT_EDITABLE.format(
        reference=request.reference, state=S(state).label.lower()
    )
    assert Request.objects.get(pk=request.pk).title == title
    assert_unchanged(request, before)


@pytest.mark.parametrize("who", ["anonymous", "liaison_b", "staff", "clerk", "system"])
def test_only_the_own_agency_s_liaison_can_edit_a_draft(who, make_request, people):
    draft = make_request(S.DRAFT)
    before = snapshot(draft)

    with pytest.raises(TransitionRefused) as refused:
        workflow.update_draft(draft, by=people[who], fields={"title": "Something else"})

    assert refused.value.code == "permission"
    assert refused.value.message == workflow.NOT_PERMITTED.format(action="change")
    assert_unchanged(draft, before)


def test_the_liaison_cannot_set_fields_that_are_not_the_agency_s(make_request, liaison_a):
    draft = make_request(S.DRAFT)
    before = snapshot(draft)

    with pytest.raises(ValidationError) as invalid:
        workflow.update_draft(draft, by=liaison_a, fields={"status": S.APPROVED})

    assert set(invalid.value.message_dict) == {"status"}
    assert_unchanged(draft, before)


def test_the_liaison_cannot_move_a_draft_to_another_agency(make_request, liaison_a, agency_b):
    draft = make_request(S.DRAFT)
    before = snapshot(draft)

    with pytest.raises(TransitionRefused) as refused:
        workflow.update_draft(draft, by=liaison_a, fields={"agency": agency_b})

    assert refused.value.code == "permission"
    assert Request.objects.get(pk=draft.pk).agency_id == draft.agency_id
    assert_unchanged(draft, before)


def test_an_edit_that_breaks_coherence_with_the_law_is_refused(make_request, liaison_a):
    draft = make_request(S.DRAFT)
    before = snapshot(draft)

    with pytest.raises(ValidationError) as invalid:
        workflow.update_draft(draft, by=liaison_a, fields={"kind": K.EXCEPTION})

    assert set(invalid.value.message_dict) == {"kind"}
    assert_unchanged(draft, before)


def test_editing_a_draft_is_recorded_internally_as_the_fields_changed(make_request, liaison_a):
    draft = make_request(S.DRAFT)

    workflow.update_draft(draft, by=liaison_a, fields={"title": "Drone for flood response"})

    event = last_event(draft)
    assert (event.is_public, event.data, event.note) == (False, {"fields": ["title"]}, "")


def test_editing_a_returned_request_is_on_the_public_timeline(make_request, liaison_a):
    returned = make_request(S.RETURNED)

    workflow.update_draft(returned, by=liaison_a, fields={"retention": "30 days"}, note="As asked.")

    event = last_event(returned)
    assert event.is_public is True
    assert (event.from_status, event.to_status) == (S.RETURNED, S.RETURNED)
    assert (event.data, event.note) == ({"fields": ["retention"]}, "As asked.")


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
    year = timezone.localdate(timezone.now() - datetime.timedelta(days=50)).year

    first, second = make_request(S.DRAFT), make_request(S.SUBMITTED)

    assert (first.reference, second.reference) == (f"REQ-{year}-0001", f"REQ-{year}-0002")


def test_reference_numbers_start_again_each_year(make_request, liaison_a, ordinance, agency_a, drone):
    make_request(S.DRAFT)

    later = workflow.create_draft(
        by=liaison_a,
        kind=K.APPROVAL,
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
        kind=K.APPROVAL,
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
# Documents
# ---------------------------------------------------------------------------

POLICY_URL = "https://example.org/use-policy.pdf"


def document(request: Request, title: str = "Use policy", url: str = POLICY_URL) -> Attachment:
    return Attachment(request=request, title=title, url=url)


def test_adding_a_document_to_a_draft_writes_an_internal_document_added_event(make_request, liaison_a):
    draft = make_request(S.DRAFT)

    saved = workflow.save_document(document(draft), by=liaison_a)

    event = last_event(draft)
    assert (event.action, event.is_public, event.note) == ("document_added", False, "")
    assert event.data == {"document": saved.pk, "title": "Use policy", "file": "", "url": POLICY_URL}


def test_replacing_a_document_of_a_returned_request_writes_a_public_document_replaced_event(
    make_request, liaison_a
):
    returned = make_request(S.RETURNED)
    saved = workflow.save_document(document(returned), by=liaison_a)

    saved.title = "Use policy, revised"
    saved.url = "https://example.org/use-policy-2.pdf"
    workflow.save_document(saved, by=liaison_a)

    event = last_event(returned)
    assert (event.action, event.is_public) == ("document_replaced", True)
    assert event.data == {
        "document": saved.pk,
        "title": "Use policy, revised",
        "file": "",
        "url": "https://example.org/use-policy-2.pdf",
        "replaces": {"title": "Use policy", "file": "", "url": POLICY_URL},
    }


def test_a_document_needs_a_file_or_a_link(make_request, liaison_a):
    draft = make_request(S.DRAFT)
    before = snapshot(draft)

    with pytest.raises(ValidationError) as invalid:
        workflow.save_document(document(draft, url=""), by=liaison_a)

    assert set(invalid.value.message_dict) == {"file"}
    assert_unchanged(draft, before)


def test_a_liaison_of_another_agency_cannot_add_a_document(make_request, liaison_b):
    draft = make_request(S.DRAFT)
    before = snapshot(draft)

    with pytest.raises(TransitionRefused) as refused:
        workflow.save_document(document(draft), by=liaison_b)

    assert refused.value.code == "permission"
    assert_unchanged(draft, before)


def test_no_document_can_be_added_once_the_request_is_with_the_council(make_request, liaison_a):
    submitted = make_request(S.SUBMITTED)
    before = snapshot(submitted)

    with pytest.raises(TransitionRefused) as refused:
        workflow.save_document(document(submitted), by=liaison_a)

    assert refused.value.code == "state"
    assert_unchanged(submitted, before)


def test_removing_a_document_from_a_draft_writes_an_internal_document_removed_event(make_request, liaison_a):
    draft = make_request(S.DRAFT)
    saved = workflow.save_document(document(draft), by=liaison_a)
    pk = saved.pk

    workflow.remove_document(saved, by=liaison_a)

    assert not Attachment.objects.filter(pk=pk).exists()
    event = last_event(draft)
    assert (event.action, event.is_public) == ("document_removed", False)
    assert event.data == {"document": pk, "title": "Use policy", "file": "", "url": POLICY_URL}


def test_a_document_of_a_returned_request_cannot_be_removed(make_request, liaison_a):
    returned = make_request(S.RETURNED)
    saved = workflow.save_document(document(returned), by=liaison_a)
    before = snapshot(returned)

    with pytest.raises(TransitionRefused) as refused:
        workflow.remove_document(saved, by=liaison_a)

    assert refused.value.message == (
        f"{returned.reference} has been submitted; its documents stay on the record. Add a new one instead."
    )
    assert_unchanged(returned, before)


def test_a_liaison_of_another_agency_cannot_remove_a_document(make_request, liaison_a, liaison_b):
    draft = make_request(S.DRAFT)
    saved = workflow.save_document(document(draft), by=liaison_a)
    before = snapshot(draft)

    with pytest.raises(TransitionRefused) as refused:
        workflow.remove_document(saved, by=liaison_b)

    assert refused.value.code == "permission"
    assert_unchanged(draft, before)


# ---------------------------------------------------------------------------
# Public comment and the hearing
# ---------------------------------------------------------------------------


def test_the_comment_period_defaults_to_the_ordinance_minimum(make_request, staff):
    in_review = make_request(S.IN_REVIEW)

    workflow.perform("open_comment_period", in_review, by=staff)

    assert in_review.comment_period_opened_on == today()
    assert in_review.comment_period_ends_on == days_from_today(30)


def test_the_comment_period_may_be_longer_than_the_ordinance_minimum(make_request, staff):
    in_review = make_request(S.IN_REVIEW)

    workflow.perform("open_comment_period", in_review, by=staff, comment_period_ends_on=days_from_today(60))

    assert in_review.comment_period_ends_on == days_from_today(60)


def test_a_comment_period_shorter_than_the_law_s_minimum_is_refused_naming_comment_period_ends_on(
    make_request, staff
):
    in_review = make_request(S.IN_REVIEW)
    before = snapshot(in_review)

    with pytest.raises(ValidationError) as invalid:
        workflow.perform(
            "open_comment_period", in_review, by=staff, comment_period_ends_on=days_from_today(29)
        )

    assert invalid.value.message_dict == {
        "comment_period_ends_on": [
            f"Public comment must stay open until at least {days_from_today(30).isoformat()} under the ordinance."
        ]
    }
    assert_unchanged(in_review, before)


def test_the_comment_period_end_is_required_when_the_ordinance_sets_none(make_request, ordinance, staff):
    ordinance.deadlines.filter(kind=DK.COMMENT_PERIOD).delete()
    in_review = make_request(S.IN_REVIEW)
    before = snapshot(in_review)

    with pytest.raises(ValidationError) as invalid:
        workflow.perform("open_comment_period", in_review, by=staff)

    assert invalid.value.message_dict == {
        "comment_period_ends_on": ["TEST-0001 sets no comment period; enter the date public comment closes."]
    }
    assert_unchanged(in_review, before)


def test_without_an_ordinance_period_comment_must_stay_open_at_least_a_day(make_request, ordinance, staff):
    ordinance.deadlines.filter(kind=DK.COMMENT_PERIOD).delete()
    in_review = make_request(S.IN_REVIEW)

    with pytest.raises(ValidationError) as invalid:
        workflow.perform("open_comment_period", in_review, by=staff, comment_period_ends_on=today())
    workflow.perform("open_comment_period", in_review, by=staff, comment_period_ends_on=days_from_today(1))

    assert invalid.value.message_dict == {
        "comment_period_ends_on": [f"Public comment must stay open until at least {days_from_today(1)}."]
    }
    assert in_review.comment_period_ends_on == days_from_today(1)


@pytest.fixture
def comment_open(make_request, staff) -> Request:
    """A request whose 30 days of public comment opened today."""
    in_review = make_request(S.IN_REVIEW)
    workflow.perform("open_comment_period", in_review, by=staff)
    return in_review


@pytest.mark.parametrize("days_after_close", [0, -1], ids=["on-the-close", "before-the-close"])
def test_a_hearing_on_or_before_the_comment_close_is_refused(days_after_close, comment_open, staff):
    closes = comment_open.comment_period_ends_on
    before = snapshot(comment_open)

    with pytest.raises(ValidationError) as invalid:
        workflow.perform(
            "schedule_hearing",
            comment_open,
            by=staff,
            **PLACE,
            hearing_at=evening_of(closes + datetime.timedelta(days=days_after_close)),
        )

    assert invalid.value.message_dict == {
        "hearing_at": [f"The hearing must come after public comment closes on {closes.isoformat()}."]
    }
    assert_unchanged(comment_open, before)


def test_the_hearing_may_be_the_day_after_public_comment_closes(comment_open, staff):
    hearing_at = evening_of(comment_open.comment_period_ends_on + datetime.timedelta(days=1))

    workflow.perform("schedule_hearing", comment_open, by=staff, **PLACE, hearing_at=hearing_at)

    assert comment_open.hearing_at == hearing_at
    assert comment_open.hearing_noticed_on == today()


def test_a_hearing_with_less_than_the_law_s_notice_is_refused_naming_hearing_at(make_request, staff):
    comment = make_request(S.PUBLIC_COMMENT)
    before = snapshot(comment)

    with pytest.raises(ValidationError) as invalid:
        workflow.perform(
            "schedule_hearing", comment, by=staff, **PLACE, hearing_at=evening_of(days_from_today(9))
        )

    assert invalid.value.message_dict == {
        "hearing_at": [
            "The ordinance requires notice before a hearing; "
            f"the earliest date is {days_from_today(10).isoformat()}."
        ]
    }
    assert_unchanged(comment, before)


def test_a_hearing_with_exactly_the_law_s_notice_is_scheduled(make_request, staff):
    comment = make_request(S.PUBLIC_COMMENT)

    workflow.perform(
        "schedule_hearing", comment, by=staff, **PLACE, hearing_at=evening_of(days_from_today(10))
    )

    assert comment.status == S.HEARING_SCHEDULED


def test_a_hearing_in_the_past_is_refused(make_request, staff):
    comment = make_request(S.PUBLIC_COMMENT)
    before = snapshot(comment)

    with pytest.raises(ValidationError) as invalid:
        workflow.perform("schedule_hearing", comment, by=staff, **PLACE, hearing_at=ago(1))

    assert invalid.value.message_dict == {"hearing_at": ["The hearing must be in the future."]}
    assert_unchanged(comment, before)


# ---------------------------------------------------------------------------
# Decisions: when
# ---------------------------------------------------------------------------


def test_an_approval_before_the_hearing_has_taken_place_is_refused(make_request, staff):
    comment = make_request(S.PUBLIC_COMMENT)
    hearing_at = evening_of(days_from_today(11))
    workflow.perform("schedule_hearing", comment, by=staff, **PLACE, hearing_at=hearing_at)
    before = snapshot(comment)

    with pytest.raises(TransitionRefused) as refused:
        run("approve", comment, staff)

    assert refused.value.code == "state"
    assert refused.value.message == (
        f"The hearing on {days_from_today(11).isoformat()} has not taken place yet; the decision comes after it."
    )
    assert_unchanged(comment, before)


def test_an_approval_dated_before_the_hearing_is_refused_naming_decided_on(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    hearing_day = timezone.localdate(hearing.hearing_at)
    before = snapshot(hearing)

    with pytest.raises(ValidationError) as invalid:
        run("approve", hearing, staff, decided_on=hearing_day - datetime.timedelta(days=1))

    assert invalid.value.message_dict == {
        "decided_on": [f"The decision cannot be dated before the hearing on {hearing_day.isoformat()}."]
    }
    assert_unchanged(hearing, before)


def test_an_approval_dated_the_day_of_the_hearing_is_recorded(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    hearing_day = timezone.localdate(hearing.hearing_at)

    run("approve", hearing, staff, decided_on=hearing_day)

    assert hearing.decision.decided_on == hearing_day


def test_a_decision_dated_in_the_future_is_refused_naming_decided_on(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    before = snapshot(hearing)

    with pytest.raises(ValidationError) as invalid:
        run("deny", hearing, staff, decided_on=days_from_today(1))

    assert invalid.value.message_dict == {"decided_on": ["A decision cannot be dated in the future."]}
    assert_unchanged(hearing, before)


@pytest.fixture
def comment_then_vote(db) -> Ordinance:
    return make_ordinance(
        "CV-1",
        steps={Step.PUBLIC_COMMENT: {}, Step.VOTE: VOTE_OF_COUNCIL},
        deadlines={DK.COMMENT_PERIOD: (30, Anchor.COMMENT_OPENING), **YEAR_TERM},
    )


def test_a_decision_while_public_comment_is_still_open_is_refused(comment_then_vote, in_review_under, staff):
    request = in_review_under(comment_then_vote)
    workflow.perform("open_comment_period", request, by=staff)
    before = snapshot(request)

    with pytest.raises(TransitionRefused) as refused:
        run("approve", request, staff)

    assert refused.value.message == (
        f"Public comment is open until {days_from_today(30).isoformat()}; the decision comes after it closes."
    )
    assert_unchanged(request, before)


def test_a_decision_dated_on_the_day_comment_closed_is_refused_naming_decided_on(
    comment_then_vote, in_review_under, staff
):
    request = in_review_under(comment_then_vote)
    workflow.perform("open_comment_period", request, by=staff, now=ago(60))
    closed = request.comment_period_ends_on
    before = snapshot(request)

    with pytest.raises(ValidationError) as invalid:
        run("approve", request, staff, decided_on=closed)

    assert invalid.value.message_dict == {
        "decided_on": [
            f"Public comment was open until {closed.isoformat()}; the decision must be dated after it."
        ]
    }
    assert_unchanged(request, before)


def test_a_decision_dated_before_the_request_was_submitted_is_refused(vote_only, in_review_under, staff):
    request = in_review_under(vote_only, days=10)
    submitted = timezone.localdate(request.submitted_at)
    before = snapshot(request)

    with pytest.raises(ValidationError) as invalid:
        run("approve", request, staff, decided_on=submitted - datetime.timedelta(days=1))

    assert invalid.value.message_dict == {
        "decided_on": [f"The request was submitted on {submitted.isoformat()}; it cannot be decided before."]
    }
    assert_unchanged(request, before)


# ---------------------------------------------------------------------------
# Decisions: the vote
# ---------------------------------------------------------------------------

APPROVALS = ["approve", "approve_with_conditions"]
DECISIONS = [*APPROVALS, "deny"]


@pytest.mark.parametrize("name", DECISIONS)
@pytest.mark.parametrize("field", ["votes_yes", "votes_no", "votes_abstain", "votes_absent"])
def test_a_decision_needs_vote_counts_of_zero_or_more(name, field, make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    before = snapshot(hearing)

    with pytest.raises(ValidationError) as invalid:
        run(name, hearing, staff, **{field: -1})

    assert invalid.value.message_dict == {field: ["Enter a vote count of zero or more."]}
    assert_unchanged(hearing, before)


@pytest.mark.parametrize(
    "votes",
    [
        {"votes_yes": 55, "votes_no": 3},
        {"votes_yes": 9, "votes_no": 3, "votes_abstain": 1, "votes_absent": 1},
    ],
    ids=["55-yes", "14-in-all"],
)
def test_more_votes_than_the_body_has_seats_is_refused_naming_votes_yes(votes, make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    before = snapshot(hearing)

    with pytest.raises(ValidationError) as invalid:
        run("approve", hearing, staff, **votes)

    total = sum(votes.values())
    assert invalid.value.message_dict == {
        "votes_yes": [f"The Test City Council has 13 seats; these counts add up to {total}."]
    }
    assert_unchanged(hearing, before)


@pytest.mark.parametrize("name", APPROVALS)
@pytest.mark.parametrize(("yes", "no"), [(6, 6), (3, 9), (0, 0)])
def test_an_approval_without_the_law_s_majority_is_refused(name, yes, no, make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    before = snapshot(hearing)

    with pytest.raises(ValidationError) as invalid:
        run(name, hearing, staff, votes_yes=yes, votes_no=no)

    assert invalid.value.message_dict == {
        "votes_yes": [
            f"An approval by the Test City Council needs more yes than no votes; {yes} yes and {no} no do not meet it."
        ]
    }
    assert_unchanged(hearing, before)


@pytest.fixture
def two_thirds(db) -> Ordinance:
    return make_ordinance(
        "TWO-3",
        steps={Step.VOTE: VOTE_OF_COUNCIL | {"majority": ProcessStep.Majority.TWO_THIRDS_OF_SEATS}},
        deadlines=YEAR_TERM,
    )


def test_under_a_two_thirds_law_eight_yes_of_thirteen_seats_is_refused(two_thirds, in_review_under, staff):
    request = in_review_under(two_thirds)
    before = snapshot(request)

    with pytest.raises(ValidationError) as invalid:
        run("approve", request, staff, votes_yes=8, votes_no=0)

    assert invalid.value.message_dict == {
        "votes_yes": [
            "An approval by the Test City Council needs two thirds of all seats; 8 yes and 0 no do not meet it."
        ]
    }
    assert_unchanged(request, before)


def test_under_a_two_thirds_law_nine_yes_of_thirteen_seats_approves(two_thirds, in_review_under, staff):
    request = in_review_under(two_thirds)

    run("approve", request, staff, votes_yes=9, votes_no=4)

    assert request.status == S.APPROVED
    assert (request.decision.votes_yes, request.decision.seats) == (9, 13)


def test_a_denial_whose_votes_meet_the_majority_is_refused(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    before = snapshot(hearing)

    with pytest.raises(ValidationError) as invalid:
        run("deny", hearing, staff, votes_yes=9, votes_no=3)

    assert invalid.value.message_dict == {
        "votes_yes": ["9 yes and 3 no meet the majority an approval needs; record an approval instead."]
    }
    assert_unchanged(hearing, before)


def test_a_decision_records_the_votes_and_the_body(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)

    run("approve", hearing, staff, votes_abstain=1, votes_absent=0)

    decision = Decision.objects.get(request=hearing)
    assert (decision.votes_yes, decision.votes_no, decision.votes_abstain, decision.votes_absent) == (
        9,
        3,
        1,
        0,
    )
    assert (decision.body, decision.seats) == (COUNCIL, 13)
    assert decision.outcome == Decision.Outcome.APPROVED
    assert decision.decided_on == today()


# ---------------------------------------------------------------------------
# Decisions: the term and the conditions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", APPROVALS)
def test_an_approval_expires_after_the_law_s_term_by_default(name, make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)

    run(name, hearing, staff)

    decision = Decision.objects.get(request=hearing)
    assert (decision.effective_on, decision.expires_on) == (today(), days_from_today(365))


@pytest.mark.parametrize(("requested", "term"), [(30, 30), (500, 365), (None, 365)])
def test_the_default_expiry_is_the_shorter_of_the_law_s_term_and_the_term_requested(
    requested, term, make_request, staff
):
    hearing = make_request(S.HEARING_SCHEDULED, requested_term_days=requested)

    run("approve", hearing, staff)

    assert hearing.decision.expires_on == days_from_today(term)


def test_the_term_runs_from_the_effective_date(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)

    run("approve", hearing, staff, effective_on=days_from_today(10))

    assert hearing.decision.expires_on == days_from_today(375)


def test_the_requested_term_applies_when_the_ordinance_sets_none(make_request, ordinance, staff):
    ordinance.deadlines.filter(kind=DK.APPROVAL_TERM).delete()
    hearing = make_request(S.HEARING_SCHEDULED, requested_term_days=90)

    run("approve", hearing, staff)

    assert hearing.decision.expires_on == days_from_today(90)


def test_the_expiry_date_is_required_when_no_term_is_set(make_request, ordinance, staff):
    ordinance.deadlines.filter(kind=DK.APPROVAL_TERM).delete()
    hearing = make_request(S.HEARING_SCHEDULED)
    before = snapshot(hearing)

    with pytest.raises(ValidationError) as invalid:
        run("approve", hearing, staff)

    assert invalid.value.message_dict == {
        "expires_on": ["Neither the ordinance nor the request sets a term; enter the expiry date."]
    }
    assert_unchanged(hearing, before)


def test_an_approval_backdated_to_take_effect_before_its_decision_is_refused(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    before = snapshot(hearing)

    with pytest.raises(ValidationError) as invalid:
        run("approve", hearing, staff, effective_on=datetime.date(2020, 1, 1))

    assert invalid.value.message_dict == {
        "effective_on": [f"An approval cannot take effect before its decision on {today().isoformat()}."]
    }
    assert_unchanged(hearing, before)


@pytest.mark.parametrize("expires_in", [0, -1])
def test_an_approval_must_expire_after_it_takes_effect(expires_in, make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    before = snapshot(hearing)

    with pytest.raises(ValidationError) as invalid:
        run("approve", hearing, staff, effective_on=today(), expires_on=days_from_today(expires_in))

    assert invalid.value.message_dict == {"expires_on": ["The approval must expire after it takes effect."]}
    assert_unchanged(hearing, before)


@pytest.mark.parametrize(
    ("requested", "latest"), [(None, 365), (30, 30), (500, 365)], ids=["law", "request", "law-shorter"]
)
def test_an_expiry_beyond_the_shorter_of_the_law_s_and_the_requested_term_is_refused(
    requested, latest, make_request, staff
):
    hearing = make_request(S.HEARING_SCHEDULED, requested_term_days=requested)
    before = snapshot(hearing)

    with pytest.raises(ValidationError) as invalid:
        run("approve", hearing, staff, expires_on=days_from_today(latest + 1))

    assert invalid.value.message_dict == {
        "expires_on": [
            "The term is the shorter of the law's longest term and the term requested; "
            f"the latest expiry is {days_from_today(latest).isoformat()}."
        ]
    }
    assert_unchanged(hearing, before)


def test_an_expiry_before_the_latest_allowed_is_recorded(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)

    run("approve", hearing, staff, expires_on=days_from_today(100))

    assert hearing.decision.expires_on == days_from_today(100)


def test_a_denial_records_no_term(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)

    run("deny", hearing, staff)

    decision = Decision.objects.get(request=hearing)
    assert (decision.outcome, decision.effective_on, decision.expires_on) == (
        Decision.Outcome.DENIED,
        None,
        None,
    )
    assert decision.summary == "Benefits do not outweigh costs."


def test_a_denial_takes_no_expiry_date(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    before = snapshot(hearing)

    with pytest.raises(ValidationError) as invalid:
        run("deny", hearing, staff, expires_on=days_from_today(30))

    assert invalid.value.message_dict == {"expires_on": ["“Record denial” takes no expires_on."]}
    assert_unchanged(hearing, before)


@pytest.mark.parametrize("summary", ["", "  "], ids=["empty", "blank"])
def test_a_denial_needs_its_reasons(summary, make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    before = snapshot(hearing)

    with pytest.raises(ValidationError) as invalid:
        run("deny", hearing, staff, summary=summary)

    assert invalid.value.message_dict == {"summary": [workflow.REASON_REQUIRED]}
    assert_unchanged(hearing, before)


def test_an_approval_with_conditions_records_each_condition(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    conditions = [
        workflow.ConditionInput("  Publish an annual report  ", datetime.date(2030, 1, 1)),
        workflow.ConditionInput("Delete footage after 30 days"),
    ]

    run("approve_with_conditions", hearing, staff, conditions=conditions)

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
    before = snapshot(hearing)

    with pytest.raises(ValidationError) as invalid:
        run("approve_with_conditions", hearing, staff, conditions=conditions)

    assert invalid.value.message_dict == {
        "conditions": ["An approval with conditions needs at least one condition."]
    }
    assert_unchanged(hearing, before)


@pytest.mark.parametrize("days_after_decision", [0, -1], ids=["on-the-decision", "before-it"])
def test_a_condition_due_on_or_before_the_decision_is_refused(days_after_decision, make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    due = days_from_today(days_after_decision)
    before = snapshot(hearing)

    with pytest.raises(ValidationError) as invalid:
        run("approve_with_conditions", hearing, staff, conditions=[workflow.ConditionInput("Report", due)])

    assert invalid.value.message_dict == {
        "conditions": [
            f"Condition 1 falls due on {due.isoformat()}; a condition falls due after the decision on "
            f"{today().isoformat()}."
        ]
    }
    assert_unchanged(hearing, before)
    assert not Condition.objects.exists()


@pytest.mark.parametrize("name", ["approve", "deny"])
def test_only_an_approval_with_conditions_takes_conditions(name, make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    before = snapshot(hearing)

    with pytest.raises(ValidationError) as invalid:
        run(name, hearing, staff, conditions=[workflow.ConditionInput("Report yearly")])

    assert invalid.value.message_dict == {"conditions": [f"“{TRANSITIONS[name].label}” takes no conditions."]}
    assert_unchanged(hearing, before)


# ---------------------------------------------------------------------------
# Laws of other shapes: disclosure, advisory bodies, community meetings
# ---------------------------------------------------------------------------


@pytest.fixture
def disclosure_only(db) -> Ordinance:
    return make_ordinance(
        "DIS-1",
        steps={Step.PUBLIC_COMMENT: {}, Step.PUBLICATION: {}},
        deadlines={
            DK.COMMENT_PERIOD: (45, Anchor.COMMENT_OPENING),
            DK.POLICY_BEFORE_USE: (90, Anchor.COMMENT_OPENING),
        },
        rules={Category.DRONES: CategoryRule.Rule.DISCLOSURE_ONLY},
    )


@pytest.fixture
def comment_closed_under_disclosure(disclosure_only, in_review_under, staff) -> Request:
    """Under DIS-1: comment opened 60 days ago and closed 15 days ago; use may begin in 30 days."""
    request = in_review_under(disclosure_only, days=100)
    workflow.perform("open_comment_period", request, by=staff, now=ago(60))
    return request


def test_a_disclosure_only_law_ends_with_the_policy_published(comment_closed_under_disclosure, staff):
    request = comment_closed_under_disclosure

    workflow.perform("publish_policy", request, by=staff)

    assert request.status == S.PUBLISHED
    decision = Decision.objects.get(request=request)
    assert (decision.outcome, decision.decided_on) == (Decision.Outcome.PUBLISHED, today())
    assert (decision.votes_yes, decision.body, decision.expires_on) == (None, "", None)


def test_under_a_disclosure_law_use_may_begin_by_default_when_the_law_allows(
    comment_closed_under_disclosure, staff
):
    request = comment_closed_under_disclosure
    earliest = request.comment_period_opened_on + datetime.timedelta(days=90)

    workflow.perform("publish_policy", request, by=staff)

    assert request.decision.effective_on == earliest
    assert last_event(request).data == stored({"decided_on": today(), "effective_on": earliest})


def test_under_a_disclosure_law_use_before_the_law_allows_is_refused(comment_closed_under_disclosure, staff):
    request = comment_closed_under_disclosure
    opened = request.comment_period_opened_on
    before = snapshot(request)

    with pytest.raises(ValidationError) as invalid:
        workflow.perform("publish_policy", request, by=staff, effective_on=today())

    assert invalid.value.message_dict == {
        "effective_on": [
            f"The draft policy was posted on {opened}; under the ordinance use may begin on "
            f"{(opened + datetime.timedelta(days=90)).isoformat()} at the earliest."
        ]
    }
    assert_unchanged(request, before)


def test_under_a_disclosure_law_an_approval_is_refused(comment_closed_under_disclosure, staff):
    request = comment_closed_under_disclosure
    before = snapshot(request)

    with pytest.raises(TransitionRefused) as refused:
        run("approve", request, staff)

    assert refused.value.message == (
        "DIS-1 has no vote of the deciding body step, so “Record approval” does not apply to its requests."
    )
    assert_unchanged(request, before)


def test_a_law_with_a_vote_refuses_to_publish_a_policy_without_one(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    before = snapshot(hearing)

    with pytest.raises(TransitionRefused) as refused:
        workflow.perform("publish_policy", hearing, by=staff)

    assert "TEST-0001 has no publication of the final policy, no vote step" in refused.value.message
    assert_unchanged(hearing, before)


@pytest.fixture
def with_advisory_body(db) -> Ordinance:
    return make_ordinance(
        "ADV-1",
        steps={
            Step.ADVISORY_REVIEW: ADVISORY,
            Step.PUBLIC_COMMENT: {},
            Step.HEARING: {},
            Step.VOTE: VOTE_OF_COUNCIL,
        },
        deadlines={
            DK.ADVISORY_SILENCE: (90, Anchor.ADVISORY_REFERRAL),
            DK.COMMENT_PERIOD: (30, Anchor.COMMENT_OPENING),
            DK.HEARING_NOTICE: (10, Anchor.HEARING_NOTICE),
            **YEAR_TERM,
        },
    )


@pytest.fixture
def referred(with_advisory_body, in_review_under, staff) -> Request:
    """Under ADV-1: referred to the advisory body 199 days ago."""
    request = in_review_under(with_advisory_body)
    workflow.perform("refer_to_advisory", request, by=staff, now=ago(199))
    return request


def test_a_referral_sends_the_request_to_the_advisory_body(with_advisory_body, in_review_under, staff):
    request = in_review_under(with_advisory_body)

    workflow.perform("refer_to_advisory", request, by=staff)

    assert request.status == S.ADVISORY_REVIEW
    assert request.advisory_referred_on == today()
    assert last_event(request).data == stored({"body": ADVISORY_BODY, "respond_by": days_from_today(90)})


def test_public_comment_waits_for_the_advisory_body_where_the_law_has_one(
    with_advisory_body, in_review_under, staff
):
    request = in_review_under(with_advisory_body)
    before = snapshot(request)

    with pytest.raises(TransitionRefused) as refused:
        workflow.perform("open_comment_period", request, by=staff)

    assert refused.value.message == (
        f"{request.reference} is in review; under ADV-1, “Open public comment” comes when it is "
        "advisory review done."
    )
    assert_unchanged(request, before)


def test_staff_cannot_go_on_without_the_advisory_body_before_its_time_is_up(referred, staff):
    referral = Event.objects.get(request=referred, action="refer_to_advisory").created_at
    respond_by = referred.advisory_referred_on + datetime.timedelta(days=90)
    before = snapshot(referred)

    with pytest.raises(TransitionRefused) as refused:
        workflow.perform(
            "proceed_after_silence", referred, by=staff, now=referral + datetime.timedelta(days=90)
        )

    assert refused.value.message == (
        f"The Privacy Advisory Commission has until {respond_by.isoformat()} to respond; "
        "staff may go on without it only after that day."
    )
    assert_unchanged(referred, before)


def test_staff_can_go_on_without_the_advisory_body_once_its_time_is_up(referred, staff):
    referral = Event.objects.get(request=referred, action="refer_to_advisory").created_at

    workflow.perform("proceed_after_silence", referred, by=staff, now=referral + datetime.timedelta(days=91))

    assert referred.status == S.ADVISED
    assert last_event(referred).data == stored(
        {"body": ADVISORY_BODY, "respond_by": referred.advisory_referred_on + datetime.timedelta(days=90)}
    )


def test_an_advisory_opinion_that_is_not_one_of_the_choices_is_refused_naming_opinion(referred, staff):
    before = snapshot(referred)

    with pytest.raises(ValidationError) as invalid:
        workflow.perform("record_advisory_opinion", referred, by=staff, opinion="loves it")

    assert invalid.value.message_dict == {
        "opinion": ["Choose one of: supports it, objects to it, recommends changes, takes no action."]
    }
    assert_unchanged(referred, before)


def test_after_the_advisory_opinion_public_comment_opens(referred, staff):
    workflow.perform("record_advisory_opinion", referred, by=staff, opinion=workflow.Opinion.OBJECTS)

    workflow.perform("open_comment_period", referred, by=staff)

    assert referred.status == S.PUBLIC_COMMENT


def test_a_decision_dated_before_the_advisory_review_ended_is_refused_naming_decided_on(
    in_review_under, staff
):
    advisory_then_vote = make_ordinance(
        "ADV-2",
        steps={Step.ADVISORY_REVIEW: ADVISORY, Step.VOTE: VOTE_OF_COUNCIL},
        deadlines={DK.ADVISORY_SILENCE: (90, Anchor.ADVISORY_REFERRAL), **YEAR_TERM},
    )
    request = in_review_under(advisory_then_vote)
    workflow.perform("refer_to_advisory", request, by=staff, now=ago(100))
    workflow.perform("record_advisory_opinion", request, by=staff, now=ago(20), opinion="supports")
    advised = timezone.localdate(ago(20))
    before = snapshot(request)

    with pytest.raises(ValidationError) as invalid:
        run("approve", request, staff, decided_on=advised - datetime.timedelta(days=1))

    assert invalid.value.message_dict == {
        "decided_on": [
            f"The advisory review ended on {advised.isoformat()}; the decision cannot be dated before it."
        ]
    }
    assert_unchanged(request, before)


@pytest.fixture
def with_community_meeting(db) -> Ordinance:
    return make_ordinance(
        "COM-1", steps={Step.COMMUNITY_MEETING: {}, Step.VOTE: VOTE_OF_COUNCIL}, deadlines=YEAR_TERM
    )


def test_a_decision_is_refused_until_the_community_meeting_is_recorded(
    with_community_meeting, in_review_under, staff
):
    request = in_review_under(with_community_meeting)
    before = snapshot(request)

    with pytest.raises(TransitionRefused) as refused:
        run("approve", request, staff)

    assert refused.value.message == (
        "COM-1 requires a community meeting before the decision; record it first."
    )
    assert_unchanged(request, before)


def test_a_decision_is_recorded_once_the_community_meeting_is(with_community_meeting, in_review_under, staff):
    request = in_review_under(with_community_meeting)
    workflow.perform(
        "record_community_meeting", request, by=staff, held_on=days_from_today(-10), place="Central Library"
    )

    run("approve", request, staff)

    assert request.status == S.APPROVED


def test_a_decision_dated_before_the_community_meeting_is_refused_naming_decided_on(
    with_community_meeting, in_review_under, staff
):
    request = in_review_under(with_community_meeting)
    held = days_from_today(-10)
    workflow.perform("record_community_meeting", request, by=staff, held_on=held, place="Central Library")
    before = snapshot(request)

    with pytest.raises(ValidationError) as invalid:
        run("approve", request, staff, decided_on=held - datetime.timedelta(days=1))

    assert invalid.value.message_dict == {
        "decided_on": [
            f"The community meeting was held on {held.isoformat()}; the decision cannot be dated before it."
        ]
    }
    assert_unchanged(request, before)


def test_recording_a_community_meeting_leaves_the_request_where_it_stands(
    with_community_meeting, in_review_under, staff
):
    request = in_review_under(with_community_meeting)

    workflow.perform(
        "record_community_meeting", request, by=staff, held_on=days_from_today(-10), place="Central Library"
    )

    event = last_event(request)
    assert request.status == S.IN_REVIEW
    assert (event.from_status, event.to_status) == (S.IN_REVIEW, S.IN_REVIEW)
    assert event.data == stored({"held_on": days_from_today(-10), "place": "Central Library"})


@pytest.mark.parametrize(
    ("held", "message"),
    [
        (1, "This date is in the future."),
        (-250, "The request was submitted on {submitted}; a meeting about it comes after."),
    ],
    ids=["in-the-future", "before-submission"],
)
def test_a_community_meeting_is_held_between_submission_and_today(
    held, message, with_community_meeting, in_review_under, staff
):
    request = in_review_under(with_community_meeting)
    submitted = timezone.localdate(request.submitted_at).isoformat()
    before = snapshot(request)

    with pytest.raises(ValidationError) as invalid:
        workflow.perform(
            "record_community_meeting", request, by=staff, held_on=days_from_today(held), place="Library"
        )

    assert invalid.value.message_dict == {"held_on": [message.format(submitted=submitted)]}
    assert_unchanged(request, before)


def test_a_community_meeting_is_refused_under_a_law_without_one(make_request, staff):
    in_review = make_request(S.IN_REVIEW)
    before = snapshot(in_review)

    with pytest.raises(TransitionRefused) as refused:
        workflow.perform(
            "record_community_meeting", in_review, by=staff, held_on=days_from_today(-1), place="Library"
        )

    assert refused.value.message == (
        "TEST-0001 has no community meeting step, so “Record a community meeting” does not apply to its requests."
    )
    assert_unchanged(in_review, before)


# ---------------------------------------------------------------------------
# Expiry
# ---------------------------------------------------------------------------


def test_an_approval_cannot_be_expired_before_its_expiry_date(make_request, staff):
    approval = make_request(S.APPROVED)
    expires = approval.decision.expires_on
    before = snapshot(approval)

    with pytest.raises(TransitionRefused) as refused:
        workflow.perform("expire", approval, by=staff)

    assert refused.value.code == "state"
    assert refused.value.message == (
        f"{approval.reference} is approved until {expires.isoformat()}; "
        "it can be marked expired only after that date."
    )
    assert_unchanged(approval, before)


def test_an_approval_cannot_be_expired_on_its_last_day(make_request, staff):
    hearing = make_request(S.HEARING_SCHEDULED)
    run("approve", hearing, staff, now=ago(2), expires_on=today())
    before = snapshot(hearing)

    with pytest.raises(TransitionRefused):
        workflow.perform("expire", hearing, by=None)

    assert_unchanged(hearing, before)


def test_expire_due_expires_only_approvals_past_their_term(request_in, make_request):
    past_term = request_in(S.APPROVED, shape="term_over")
    past_term_with_conditions = request_in(S.APPROVED_WITH_CONDITIONS, shape="term_over")
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


def test_expire_due_records_the_portal_itself_as_the_actor(request_in):
    past_term = request_in(S.APPROVED, shape="term_over")

    workflow.expire_due()

    event = last_event(past_term)
    assert (event.action, event.actor, event.actor_name, event.actor_role) == (
        "expire",
        None,
        "",
        Role.SYSTEM,
    )
    assert event.data == {"expires_on": past_term.decision.expires_on.isoformat()}


# ---------------------------------------------------------------------------
# Conditions and notes
# ---------------------------------------------------------------------------


@pytest.fixture
def condition(make_request) -> Condition:
    return Condition.objects.get(decision__request=make_request(S.APPROVED_WITH_CONDITIONS))


def test_marking_a_condition_met_writes_a_public_event_of_facts(condition, staff):
    request = condition.decision.request

    workflow.set_condition_status(condition, by=staff, status=Condition.Status.MET, note="Report published.")

    assert Condition.objects.get(pk=condition.pk).status == Condition.Status.MET
    event = last_event(request)
    assert (event.action, event.is_public, event.actor) == ("condition", True, staff)
    assert (event.from_status, event.to_status) == (S.APPROVED_WITH_CONDITIONS, S.APPROVED_WITH_CONDITIONS)
    assert event.data == {
        "condition": condition.pk,
        "text": "Publish an annual report",
        "old": "open",
        "new": "met",
    }
    assert event.note == "Report published."


def test_marking_a_condition_with_its_current_status_writes_nothing(condition, staff):
    before = snapshot(condition.decision.request)

    workflow.set_condition_status(condition, by=staff, status=Condition.Status.OPEN, note="Still open.")

    assert snapshot(condition.decision.request) == before


@pytest.mark.parametrize("who", ["anonymous", "liaison_a", "liaison_b", "clerk", "system"])
def test_only_staff_can_mark_a_condition(who, condition, people):
    before = snapshot(condition.decision.request)

    with pytest.raises(TransitionRefused) as refused:
        workflow.set_condition_status(condition, by=people[who], status=Condition.Status.MET, note="Met.")

    assert refused.value.code == "permission"
    assert snapshot(condition.decision.request) == before


def test_a_condition_status_must_be_known(condition, staff):
    before = snapshot(condition.decision.request)

    with pytest.raises(ValidationError) as invalid:
        workflow.set_condition_status(condition, by=staff, status="not_met", note="Not met.")

    assert set(invalid.value.message_dict) == {"status"}
    assert snapshot(condition.decision.request) == before


def test_a_staff_note_is_internal_by_default(make_request, staff):
    request = make_request(S.IN_REVIEW)

    event = workflow.add_note(request, by=staff, note="Called the vendor.")

    assert (event.action, event.is_public, event.note, event.data) == (
        "note",
        False,
        "Called the vendor.",
        {},
    )
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
    assert_unchanged(request, before)


def test_a_note_cannot_be_blank(make_request, staff):
    request = make_request(S.IN_REVIEW)
    before = snapshot(request)

    with pytest.raises(ValidationError) as invalid:
        workflow.add_note(request, by=staff, note="  ")

    assert set(invalid.value.message_dict) == {"note"}
    assert_unchanged(request, before)


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
            run("approve", mine, user)
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


def test_an_approval_with_conditions_given_none_is_refused_naming_conditions(make_request, staff):
    request = make_request("hearing_scheduled")
    decided_at = timezone.now() - datetime.timedelta(days=4)

    with pytest.raises(ValidationError) as refused:
        workflow.perform(
            "approve_with_conditions",
            request,
            by=staff,
            now=decided_at,
            votes_yes=9,
            votes_no=3,
            conditions=None,
        )

    assert "conditions" in refused.value.message_dict
    request.refresh_from_db()
    assert request.status == "hearing_scheduled"


def test_an_emergency_report_submitted_before_the_use_it_reports_is_refused(make_request, liaison_a):
    report = make_request("draft", kind="emergency_report", emergency_used_on=timezone.localdate())
    earlier = timezone.now() - datetime.timedelta(days=3)

    with pytest.raises(ValidationError) as refused:
        workflow.perform("submit", report, by=liaison_a, now=earlier)

    assert refused.value.message_dict["emergency_used_on"] == [
        "A report cannot come before the use it reports."
    ]
    report.refresh_from_db()
    assert report.status == "draft"


def test_the_record_names_a_person_by_display_name_never_by_login(make_request, staff):
    staff.first_name, staff.last_name = "Ada", "Clerkson"
    staff.save()
    request = make_request(to="submitted")

    workflow.perform("begin_review", request, by=staff)

    event = last_event(request)
    assert event.actor_name == "Ada Clerkson"
    assert staff.get_username() not in event.actor_name


def test_an_actor_without_a_display_name_is_recorded_by_role_alone(make_request, staff):
    request = make_request(to="submitted")

    workflow.perform("begin_review", request, by=staff)

    event = last_event(request)
    assert (event.actor_name, event.actor_role) == ("", Role.STAFF)
