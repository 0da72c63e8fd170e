"""
The authorization matrix: every role against every workspace address, admin action,
workflow function, oversight action (`ordinances.oversight`) and API method, each cell the
answer the design gives, never a 500.

Roles (tests/conftest.py): anonymous, liaison of agency A, liaison of agency B, council
staff, clerk. The expectations are written out here by hand, not read from
`ordinances.roles` or the workflow's table, so a change to either that widens or narrows
someone's access fails a cell instead of passing silently. The world each test works on
belongs to agency A.

Answers: "ok" 200; "login" a redirect to the sign-in page; "denied" 403; "missing" 404;
"not allowed" 405; "back" a redirect elsewhere (the workspace's way of refusing with a
message, or of confirming a save). A cell that changes something says ", changed".
"""

from __future__ import annotations

import datetime
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from model_bakery import baker

from ordinances import oversight, participation, workflow
from ordinances.models import (
    Agency,
    AnnualReport,
    Attachment,
    Category,
    Comment,
    Condition,
    Deadline,
    EmergencyUse,
    Event,
    OversightEvent,
    Request,
    Source,
    Technology,
    TechnologyUse,
    Violation,
)

from .test_admin_review import agency_form_data
from .test_workflow import inputs_for, ready_for, request_in  # noqa: F401  (fixtures)

ROLES = ("anonymous", "liaison_a", "liaison_b", "staff", "clerk")
ANON, A, B, STAFF, CLERK = ROLES
SIGNED_IN = (A, B, STAFF, CLERK)

OK, LOGIN, DENIED, MISSING, NOT_ALLOWED, BACK = "ok", "login", "denied", "missing", "not allowed", "back"
CHANGED = ", changed"


@pytest.fixture
def people(liaison_a, liaison_b, staff, clerk) -> dict[str, Any]:
    return {ANON: AnonymousUser(), A: liaison_a, B: liaison_b, STAFF: staff, CLERK: clerk}


def workspace(*allowed: str, yes: str = OK, no: str = DENIED, **exceptions: str) -> dict[str, str]:
    """A workspace cell: anonymous readers are sent to sign in; `allowed` get `yes`, others `no`."""
    row = {who: (yes if who in allowed else no) for who in SIGNED_IN}
    return {ANON: LOGIN, **row, **exceptions}


def everyone(answer: str) -> dict[str, str]:
    return dict.fromkeys(ROLES, answer)


def outcome(response: Any) -> str:
    if response.status_code == 302:
        return LOGIN if response["Location"].startswith(reverse("admin:login")) else BACK
    codes = {200: OK, 403: DENIED, 404: MISSING, 405: NOT_ALLOWED}
    return codes.get(response.status_code, str(response.status_code))


# ---------------------------------------------------------------------------
# The world: agency A's records in every state the cells need
# ---------------------------------------------------------------------------


@dataclass
class World:
    ordinance: Any
    agency: Any
    technology: Any
    use: TechnologyUse
    source: Source
    draft: Request
    submitted: Request
    decided: Request
    condition: Condition
    comment: Comment
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def world(ordinance, agency_a, agency_b, drone, make_request) -> World:
    decided = make_request("approved_with_conditions")
    return World(
        ordinance=ordinance,
        agency=agency_a,
        technology=drone,
        use=TechnologyUse.objects.create(agency=agency_a, technology=drone),
        source=baker.make(Source, title="Council file", url="https://example.org/file"),
        draft=make_request("draft", title="A draft of agency A"),
        submitted=make_request("submitted", title="Submitted by agency A"),
        decided=decided,
        condition=decided.decision.conditions.get(),
        comment=baker.make(
            Comment, request=decided, name="A resident", body="Please say no.", position="oppose"
        ),
    )


def _days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


def _annual_reports_due(w: World) -> None:
    """The ordinance asks for a report on each calendar year an approval is in effect, due 15 March after."""
    Deadline.objects.get_or_create(
        ordinance=w.ordinance,
        kind=Deadline.Kind.ANNUAL_REPORT,
        defaults={"counted_from": Deadline.Anchor.FIXED_DAY, "month": 3, "day": 15},
    )


def _report_year(w: World, technology: Technology) -> int:
    """A year the law expects agency A's report on `technology` for (its approval is in effect)."""
    _annual_reports_due(w)
    return oversight.expected_reports(timezone.localdate(), agency=w.agency, technology=technology)[0].year


def _start_report(w: World, liaison: Any, technology: Technology | None = None) -> AnnualReport:
    technology = technology or w.technology
    year = _report_year(w, technology)
    return oversight.start_report(liaison, w.agency, technology, w.ordinance, year)


REPORT_CONTENTS = {
    "use_summary": "Flown twice to search for missing people.",
    "non_suspects_captured": "Hikers in view.",
    "sharing": "No outside body.",
    "complaints_count": 0,
}


def _completed_report(w: World, liaison: Any, technology: Technology | None = None) -> AnnualReport:
    report = _start_report(w, liaison, technology)
    return oversight.update_report(report, liaison, REPORT_CONTENTS)


def _submitted_report(w: World, liaison: Any, technology: Technology | None = None) -> AnnualReport:
    return oversight.submit_report(_completed_report(w, liaison, technology), liaison)


def _record_violation(w: World, by: Any) -> Violation:
    return oversight.record_violation(
        by,
        agency=w.agency,
        technology=w.technology,
        ordinance=w.ordinance,
        description="Footage was kept past the 30 days the policy allows.",
        found_on=_days_ago(3),
        how_found=Violation.HowFound.AUDIT,
    )


@pytest.fixture
def oversight_records(world, people, make_request) -> World:
    """
    Agency A's oversight records, made through `ordinances.oversight`: an emergency use, a
    violation under investigation, a report in draft (complete, ready to submit) and a
    submitted one. One report per approved use and year: the second is on a second drone.
    """
    liaison = people[A]
    world.extra["emergency_use"] = oversight.record_emergency_use(
        liaison, world.agency, world.technology, world.ordinance, _days_ago(20), "A search at night."
    )
    world.extra["violation"] = _record_violation(world, people[STAFF])
    world.extra["draft_report"] = _completed_report(world, liaison)
    second = baker.make(Technology, name="Second drone", slug="second-drone", category=Category.DRONES)
    make_request("approved", technology=second, title="A second drone")
    world.extra["submitted_report"] = _submitted_report(world, liaison, second)
    return world


# ---------------------------------------------------------------------------
# Admin: every registered model's pages
# ---------------------------------------------------------------------------

# Who opens each model's list (view or change permission), and who its "add" page.
LISTS: dict[str, tuple[str, ...]] = {
    "auth.group": (),
    "auth.user": (),
    "axes.accessattempt": (),
    "axes.accesslog": (),
    "axes.accessfailurelog": (),
    "ordinances.ordinance": (A, B, STAFF, CLERK),
    "ordinances.agency": (A, B, STAFF, CLERK),
    "ordinances.technology": (A, B, STAFF, CLERK),
    "ordinances.technologyuse": (STAFF, CLERK),
    "ordinances.source": (CLERK,),
    "ordinances.request": (A, B, STAFF, CLERK),
    "ordinances.event": (STAFF, CLERK),
    "ordinances.decision": (STAFF, CLERK),
    "ordinances.condition": (STAFF, CLERK),
    "ordinances.emergencyuse": (A, B, STAFF, CLERK),
    "ordinances.violation": (STAFF, CLERK),
    "ordinances.annualreport": (A, B, STAFF, CLERK),
    "ordinances.oversightevent": (STAFF, CLERK),
    "ordinances.comment": (STAFF,),
}
ADDS: dict[str, tuple[str, ...]] = {
    "ordinances.ordinance": (CLERK,),
    "ordinances.agency": (CLERK,),
    "ordinances.technology": (CLERK,),
    "ordinances.technologyuse": (CLERK,),
    "ordinances.source": (CLERK,),
    "ordinances.request": (A, B),
    "ordinances.emergencyuse": (A, B, STAFF),
    "ordinances.violation": (STAFF,),
    "ordinances.annualreport": (A, B),
}

# One record of each kind agency A's world has: who opens its page (and history), who its
# "delete" page. Staff and clerks never see a draft; liaison B never sees agency A's requests.
# The oversight records (`oversight_records`) are never deleted, by anyone; a comment is
# read by staff alone.
RECORDS: dict[str, tuple[Callable[[World], Any], tuple[str, ...], tuple[str, ...]]] = {
    "ordinance": (lambda w: w.ordinance, (A, B, STAFF, CLERK), (CLERK,)),
    "agency": (lambda w: w.agency, (A, B, STAFF, CLERK), (CLERK,)),
    "technology": (lambda w: w.technology, (A, B, STAFF, CLERK), (CLERK,)),
    "technologyuse": (lambda w: w.use, (STAFF, CLERK), (CLERK,)),
    "source": (lambda w: w.source, (CLERK,), (CLERK,)),
    "request-draft": (lambda w: w.draft, (A,), ()),
    "request-decided": (lambda w: w.decided, (A, STAFF, CLERK), ()),
    "event": (lambda w: w.decided.events.order_by("pk").last(), (STAFF, CLERK), ()),
    "decision": (lambda w: w.decided.decision, (STAFF, CLERK), ()),
    "condition": (lambda w: w.condition, (STAFF, CLERK), ()),
    "comment": (lambda w: w.comment, (STAFF,), ()),
    "emergencyuse": (lambda w: w.extra["emergency_use"], (A, STAFF, CLERK), ()),
    # Under investigation, not yet published: liaisons see only published violations.
    "violation": (lambda w: w.extra["violation"], (STAFF, CLERK), ()),
    "annualreport-draft": (lambda w: w.extra["draft_report"], (A,), ()),
    "annualreport-submitted": (lambda w: w.extra["submitted_report"], (A, STAFF, CLERK), ()),
}

# Who does not find each record in their queryset (a liaison finds only their own
# agencies'; reviewers never find a report still in draft). Django looks the record up
# before it checks permission on the history page, and on the change page too for anyone
# who may read the model at all (LISTS): either is "not found", a redirect to the index.
HIDDEN_FROM: dict[str, set[str]] = {
    "event": {B},
    "decision": {B},
    "condition": {B},
    "emergencyuse": {B},
    "violation": {A, B},
    "annualreport-draft": {B, STAFF, CLERK},
    "annualreport-submitted": {B},
}


@dataclass(frozen=True)
class Cell:
    """One address (and method) of the workspace, and its expected answer for each role."""

    label: str
    url: Callable[[World], str]
    expected: dict[str, str]
    method: str = "get"
    data: Callable[[World], dict[str, Any]] | None = None
    # Reads what the cell may change; the answer says ", changed" when it differs after.
    state: Callable[[World], Any] | None = None


def _admin_url(name: str, *args: Any) -> str:
    return reverse(f"admin:{name}", args=args)


def _page_url(name: str, record: Callable[[World], Any] | None = None) -> Callable[[World], str]:
    def url(w: World) -> str:
        return _admin_url(name, record(w).pk) if record else _admin_url(name)

    return url


def _model_cells() -> list[Cell]:
    cells = [Cell("admin index", lambda w: _admin_url("index"), workspace(*SIGNED_IN))]
    for label, viewers in LISTS.items():
        app, model = label.split(".")
        cells.append(
            Cell(
                f"{label} list",
                _page_url(f"{app}_{model}_changelist"),
                workspace(*viewers),
            )
        )
        cells.append(
            Cell(
                f"{label} add",
                _page_url(f"{app}_{model}_add"),
                workspace(*ADDS.get(label, ())),
            )
        )
    for name, (record, viewers, deleters) in RECORDS.items():
        model = name.split("-")[0]
        readers = LISTS[f"ordinances.{model}"]
        for page, allowed in (("change", viewers), ("history", viewers), ("delete", deleters)):
            hidden = {
                who: BACK
                for who in HIDDEN_FROM.get(name, ())
                if page == "history" or (page == "change" and who in readers)
            }
            cells.append(
                Cell(
                    f"{name} {page}",
                    _page_url(f"ordinances_{model}_{page}", record),
                    workspace(*allowed) | hidden,
                )
            )
    return cells


def _status(request: Request) -> str:
    return Request.objects.get(pk=request.pk).status


def _transition_url(request: Request, name: str) -> str:
    return _admin_url("ordinances_request_transition", request.pk, name)


def _request_form(w: World, **overrides: Any) -> dict[str, Any]:
    values = {
        "agency": w.agency.pk,
        "technology": w.technology.pk,
        "ordinance": w.ordinance.pk,
        "title": "Cameras for the river path",
        "purpose": "See who uses the path.",
    }
    return agency_form_data(None, **(values | overrides))


def _draft_form(draft: Request, **overrides: Any) -> dict[str, Any]:
    """The draft's change form as posted, its text kept (so it can still be submitted)."""
    kept = {name: getattr(draft, name) or "" for name in ("justification", "alternatives_considered")}
    kept |= {name: getattr(draft, name) or "" for name in ("data_collected", "retention", "sharing")}
    return agency_form_data(draft, **(kept | overrides))


def _oversight_action_url(model: str, record: Any, name: str) -> str:
    return _admin_url(f"ordinances_{model}_action", record.pk, name)


def _action(name: str, pk: int, **extra: str) -> dict[str, Any]:
    return {"action": name, ACTION_CHECKBOX_NAME: [str(pk)], "index": "0", **extra}


# The workspace's own pages and forms. Read-only cells first; each changing cell acts on a
# record no later cell reads.
WORKSPACE_CELLS = [
    Cell(
        "request transition page, begin review",
        lambda w: _transition_url(w.submitted, "begin_review"),
        workspace(STAFF, no=BACK, liaison_b=DENIED),
    ),
    Cell(
        "request transition page, submit a draft",
        lambda w: _transition_url(w.draft, "submit"),
        workspace(A),
    ),
    Cell(
        "request transition page, no such transition",
        lambda w: _transition_url(w.submitted, "delete_everything"),
        workspace(no=MISSING),
    ),
    Cell(
        "request note, by GET",
        lambda w: _admin_url("ordinances_request_note", w.decided.pk),
        workspace(no=NOT_ALLOWED),
    ),
    Cell(
        "request condition, by GET",
        lambda w: _admin_url("ordinances_request_condition", w.decided.pk, w.condition.pk),
        workspace(no=NOT_ALLOWED),
    ),
    Cell(
        "request add, for agency A",
        lambda w: _admin_url("ordinances_request_add"),
        # Liaison B's form offers only agency B: the choice is refused on the form.
        workspace(A, yes=BACK + CHANGED, liaison_b=OK),
        method="post",
        data=_request_form,
        state=lambda w: Request.objects.filter(agency=w.agency).count(),
    ),
    Cell(
        "request change, a draft's title",
        lambda w: _admin_url("ordinances_request_change", w.draft.pk),
        workspace(A, yes=BACK + CHANGED),
        method="post",
        data=lambda w: _draft_form(w.draft, title="Retitled"),
        state=lambda w: Request.objects.get(pk=w.draft.pk).title,
    ),
    Cell(
        "request transition, begin review",
        lambda w: _transition_url(w.submitted, "begin_review"),
        workspace(STAFF, yes=BACK + CHANGED, no=BACK, liaison_b=DENIED),
        method="post",
        data=lambda w: {"note": ""},
        state=lambda w: _status(w.submitted),
    ),
    Cell(
        "request transition, submit a draft",
        lambda w: _transition_url(w.draft, "submit"),
        workspace(A, yes=BACK + CHANGED),
        method="post",
        data=lambda w: {"note": ""},
        state=lambda w: _status(w.draft),
    ),
    Cell(
        "request note",
        lambda w: _admin_url("ordinances_request_note", w.decided.pk),
        workspace(STAFF, yes=BACK + CHANGED, no=BACK, liaison_b=DENIED),
        method="post",
        data=lambda w: {"note": "Called the vendor.", "public": ""},
        state=lambda w: w.decided.events.filter(action=Event.Action.NOTE).count(),
    ),
    Cell(
        "request condition status",
        lambda w: _admin_url("ordinances_request_condition", w.decided.pk, w.condition.pk),
        workspace(STAFF, yes=BACK + CHANGED, no=BACK, liaison_b=DENIED),
        method="post",
        data=lambda w: {"status": Condition.Status.WAIVED, "note": "The council waived it."},
        state=lambda w: Condition.objects.get(pk=w.condition.pk).status,
    ),
    Cell(
        "condition action, mark met",
        lambda w: _admin_url("ordinances_condition_changelist"),
        # A clerk reads the list but is offered no action: the list comes back, nothing changed.
        workspace(STAFF, yes=BACK + CHANGED, clerk=OK),
        method="post",
        data=lambda w: _action("mark_met", w.condition.pk, apply="1", note="Report published."),
        state=lambda w: Condition.objects.get(pk=w.condition.pk).status,
    ),
    Cell(
        "violation action page, publish",
        lambda w: _oversight_action_url("violation", w.extra["violation"], "publish"),
        # A clerk reads the violation but is not offered the button: back to its page.
        workspace(STAFF, clerk=BACK),
    ),
    Cell(
        "annual report action page, submit a draft",
        lambda w: _oversight_action_url("annualreport", w.extra["draft_report"], "submit"),
        # Nobody but the agency finds a draft; liaison B finds no report of agency A.
        workspace(A, no=MISSING),
    ),
    Cell(
        "annual report action page, accept",
        lambda w: _oversight_action_url("annualreport", w.extra["submitted_report"], "accept"),
        workspace(STAFF, no=BACK, liaison_b=MISSING),
    ),
    Cell(
        "emergency use action page, no such action",
        lambda w: _oversight_action_url("emergencyuse", w.extra["emergency_use"], "delete"),
        workspace(no=MISSING),
    ),
    Cell(
        "violation action, publish",
        lambda w: _oversight_action_url("violation", w.extra["violation"], "publish"),
        workspace(STAFF, yes=BACK + CHANGED, clerk=BACK),
        method="post",
        data=lambda w: {"note": "Investigation under way."},
        state=lambda w: Violation.objects.get(pk=w.extra["violation"].pk).published_at,
    ),
    Cell(
        "annual report action, submit a draft",
        lambda w: _oversight_action_url("annualreport", w.extra["draft_report"], "submit"),
        workspace(A, yes=BACK + CHANGED, no=MISSING),
        method="post",
        data=lambda w: {"note": ""},
        state=lambda w: AnnualReport.objects.get(pk=w.extra["draft_report"].pk).status,
    ),
    Cell(
        "annual report action, accept",
        lambda w: _oversight_action_url("annualreport", w.extra["submitted_report"], "accept"),
        workspace(STAFF, yes=BACK + CHANGED, no=BACK, liaison_b=MISSING),
        method="post",
        data=lambda w: {"note": "Complete."},
        state=lambda w: AnnualReport.objects.get(pk=w.extra["submitted_report"].pk).status,
    ),
    Cell(
        "comment action, publish",
        lambda w: _admin_url("ordinances_comment_changelist"),
        workspace(STAFF, yes=BACK + CHANGED),
        method="post",
        data=lambda w: _action("publish_selected", w.comment.pk),
        state=lambda w: Comment.objects.get(pk=w.comment.pk).status,
    ),
]


def admin_cells() -> list[Cell]:
    return _model_cells() + WORKSPACE_CELLS


def test_every_registered_model_is_in_the_matrix():
    assert set(LISTS) == {model._meta.label_lower for model in admin.site._registry}


def _answer(client: Any, w: World, cell: Cell) -> str:
    before = cell.state(w) if cell.state else None
    data = cell.data(w) if cell.data else None
    response = (
        getattr(client, cell.method)(cell.url(w), data)
        if data is not None
        else getattr(client, cell.method)(cell.url(w))
    )
    answer = outcome(response)
    if cell.state is not None and cell.state(w) != before:
        answer += CHANGED
    return answer


@pytest.mark.parametrize("who", ROLES)
def test_the_workspace_answers_each_role_as_designed(who, client, people, world, oversight_records):
    if who != ANON:
        client.force_login(people[who])

    answers = {cell.label: _answer(client, world, cell) for cell in admin_cells()}

    assert answers == {cell.label: cell.expected[who] for cell in admin_cells()}


# ---------------------------------------------------------------------------
# The workflow's functions, called directly with each role as `by`
# ---------------------------------------------------------------------------

LIAISON_TRANSITIONS = {"submit", "withdraw"}
# Everyone the design lets make each transition on agency A's request. The portal itself
# (`by=None`) runs the scheduled ones; it is not a role of this matrix.
MAY_MAKE = {name: ({A} if name in LIAISON_TRANSITIONS else {STAFF}) for name in workflow.TRANSITIONS}


def test_every_transition_of_the_workflow_is_in_the_matrix():
    assert set(MAY_MAKE) == set(workflow.TRANSITIONS)


@pytest.mark.parametrize("name", list(workflow.TRANSITIONS))
def test_each_transition_is_made_only_by_its_role(name, people, request):
    ready = request.getfixturevalue("ready_for")(name)
    answers = {}
    # The refused first: a refusal must change nothing for the one allowed after them.
    for who in sorted(ROLES, key=lambda who: who in MAY_MAKE[name]):
        before = (_status(ready), ready.events.count())
        try:
            workflow.perform(name, ready, by=people[who], **inputs_for(name))
        except workflow.TransitionRefused as refused:
            assert (_status(ready), ready.events.count()) == before
            answers[who] = f"refused ({refused.code})"
        else:
            answers[who] = "made"

    assert answers == {who: "made" if who in MAY_MAKE[name] else "refused (permission)" for who in ROLES}


def _create_draft(w: World, by: Any) -> Any:
    return workflow.create_draft(
        by=by,
        kind=Request.Kind.APPROVAL,
        agency=w.agency,
        technology=w.technology,
        ordinance=w.ordinance,
        title="Another",
        purpose="Another purpose.",
    )


def _save_document(w: World, by: Any) -> Any:
    return workflow.save_document(
        Attachment(request=w.draft, title="Use policy", url="https://example.org/policy.pdf"), by=by
    )


def _remove_document(w: World, by: Any) -> Any:
    attachment = w.extra.get("attachment")
    if attachment is None:
        attachment = Attachment.objects.create(
            request=w.draft, title="Old", url="https://example.org/old.pdf"
        )
        w.extra["attachment"] = attachment
    return workflow.remove_document(attachment, by=by)


# The workflow's other writers: (function, who may call it on agency A's records).
FUNCTIONS: dict[str, tuple[Callable[[World, Any], Any], set[str]]] = {
    "create_draft": (_create_draft, {A}),
    "update_draft": (lambda w, by: workflow.update_draft(w.draft, by=by, fields={"title": "Retitled"}), {A}),
    "save_document": (_save_document, {A}),
    "remove_document": (_remove_document, {A}),
    "add_note": (lambda w, by: workflow.add_note(w.submitted, by=by, note="Called the vendor."), {STAFF}),
    # A draft is the agency's alone until it is submitted: not even staff write on it.
    "add_note_to_a_draft": (lambda w, by: workflow.add_note(w.draft, by=by, note="Peeking."), set()),
    "set_condition_status": (
        lambda w, by: workflow.set_condition_status(w.condition, by=by, status="met", note="Published."),
        {STAFF},
    ),
    "publish_comment": (lambda w, by: participation.publish_comment(w.comment, by=by), {STAFF}),
    "reject_comment": (
        lambda w, by: participation.reject_comment(w.comment, by=by, reason="Off topic."),
        {STAFF},
    ),
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_each_workflow_writer_refuses_everyone_but_its_role(name, people, world):
    function, allowed = FUNCTIONS[name]
    answers = {}
    for who in sorted(ROLES, key=lambda who: who in allowed):
        events = Event.objects.count()
        try:
            function(world, people[who])
        except workflow.TransitionRefused as refused:
            assert Event.objects.count() == events
            answers[who] = f"refused ({refused.code})"
        except ValidationError as invalid:  # pragma: no cover - a bad cell: say which
            answers[who] = f"invalid {invalid.messages}"
        else:
            answers[who] = "made"

    assert answers == {who: "made" if who in allowed else "refused (permission)" for who in ROLES}


# ---------------------------------------------------------------------------
# Oversight (ordinances.oversight): each business action called directly with each role as `by`
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Oversight:
    """One oversight action: the function, the record it needs, the call, who may make it."""

    function: Callable[..., Any]
    call: Callable[[World, Any, Any], Any]  # (world, the prepared record, by)
    allowed: set[str]
    prepare: Callable[[World, dict[str, Any]], Any] = lambda w, people: None


def _record_use(w: World, agency: Agency, by: Any) -> EmergencyUse:
    # A day of its own for each use recorded, so a second allowed role records a second use.
    used_on = _days_ago(2 + EmergencyUse.objects.count())
    return oversight.record_emergency_use(
        by, agency, w.technology, w.ordinance, used_on, "A child was lost in the river gorge."
    )


OVERSIGHT: dict[str, Oversight] = {
    # The agency's liaison, or staff who learned of it another way.
    "record_emergency_use": Oversight(
        oversight.record_emergency_use, lambda w, _, by: _record_use(w, w.agency, by), {A, STAFF}
    ),
    "record_emergency_use for agency B": Oversight(
        oversight.record_emergency_use,
        lambda w, _, by: _record_use(w, Agency.objects.get(slug="agency-b"), by),
        {B, STAFF},
    ),
    "record_violation": Oversight(
        oversight.record_violation, lambda w, _, by: _record_violation(w, by), {STAFF}
    ),
    "update_violation": Oversight(
        oversight.update_violation,
        lambda w, violation, by: oversight.update_violation(
            violation, by, investigation="The footage was found on a laptop.", note="Interviewed the pilot."
        ),
        {STAFF},
        prepare=lambda w, people: _record_violation(w, people[STAFF]),
    ),
    "publish_violation": Oversight(
        oversight.publish_violation,
        lambda w, violation, by: oversight.publish_violation(violation, by, "Under investigation."),
        {STAFF},
        prepare=lambda w, people: _record_violation(w, people[STAFF]),
    ),
    # The agency's own liaison alone starts, writes and submits its report.
    "start_report": Oversight(
        oversight.start_report,
        lambda w, year, by: oversight.start_report(by, w.agency, w.technology, w.ordinance, year),
        {A},
        prepare=lambda w, people: _report_year(w, w.technology),
    ),
    "update_report": Oversight(
        oversight.update_report,
        lambda w, report, by: oversight.update_report(report, by, {"use_summary": "Flown once."}),
        {A},
        prepare=lambda w, people: _start_report(w, people[A]),
    ),
    "submit_report": Oversight(
        oversight.submit_report,
        lambda w, report, by: oversight.submit_report(report, by),
        {A},
        prepare=lambda w, people: _completed_report(w, people[A]),
    ),
    # Council staff review it.
    "return_report": Oversight(
        oversight.return_report,
        lambda w, report, by: oversight.return_report(report, by, "Say how long footage is kept."),
        {STAFF},
        prepare=lambda w, people: _submitted_report(w, people[A]),
    ),
    "accept_report": Oversight(
        oversight.accept_report,
        lambda w, report, by: oversight.accept_report(report, by),
        {STAFF},
        prepare=lambda w, people: _submitted_report(w, people[A]),
    ),
}


def oversight_actions() -> set[str]:
    """The public functions of `ordinances.oversight` that act for someone: those taking `by`."""
    return {
        name
        for name, function in inspect.getmembers(oversight, inspect.isfunction)
        if function.__module__ == oversight.__name__
        and not name.startswith("_")
        and "by" in inspect.signature(function).parameters
    }


def test_every_oversight_action_is_in_the_matrix():
    # `attach_emergency_report` and the `mark_*_overdue` functions take no actor: the
    # workflow's submit and the portal's schedule call them, not a person.
    assert {cell.function.__name__ for cell in OVERSIGHT.values()} == oversight_actions()


def _oversight_written(record: Any) -> tuple[Any, ...]:
    """Every oversight row count, and the prepared record as stored: a refusal changes neither."""
    stored = (
        type(record).objects.filter(pk=record.pk).values().get()
        if isinstance(record, AnnualReport | Violation)
        else record
    )
    return (
        EmergencyUse.objects.count(),
        Violation.objects.count(),
        AnnualReport.objects.count(),
        OversightEvent.objects.count(),
        stored,
    )


@pytest.mark.parametrize("name", list(OVERSIGHT))
def test_each_oversight_action_refuses_everyone_but_its_role(name, people, world):
    cell = OVERSIGHT[name]
    record = cell.prepare(world, people)
    answers = {}
    # The refused first: a refusal must change nothing for the one allowed after them.
    for who in sorted(ROLES, key=lambda who: who in cell.allowed):
        before = _oversight_written(record)
        try:
            cell.call(world, record, people[who])
        except workflow.TransitionRefused as refused:
            assert _oversight_written(record) == before
            answers[who] = f"refused ({refused.code})"
        except ValidationError as invalid:  # pragma: no cover - a bad cell: say which
            answers[who] = f"invalid {invalid.messages}"
        else:
            answers[who] = "made"

    assert answers == {who: "made" if who in cell.allowed else "refused (permission)" for who in ROLES}


# ---------------------------------------------------------------------------
# The public API: read by everyone alike, written by no one
# ---------------------------------------------------------------------------

API_READS: dict[str, tuple[Callable[[World], str], str]] = {
    "index": (lambda w: reverse("api:index"), OK),
    "ordinance-list": (lambda w: reverse("api:ordinance-list"), OK),
    "ordinance-detail": (lambda w: reverse("api:ordinance-detail", args=[w.ordinance.slug]), OK),
    "ordinance-changes": (lambda w: reverse("api:ordinance-changes", args=[w.ordinance.slug]), OK),
    "agency-list": (lambda w: reverse("api:agency-list"), OK),
    "agency-detail": (lambda w: reverse("api:agency-detail", args=[w.agency.slug]), OK),
    "agency-board": (lambda w: reverse("api:agency-board", args=[w.agency.slug]), OK),
    "technology-list": (lambda w: reverse("api:technology-list"), OK),
    "technology-detail": (lambda w: reverse("api:technology-detail", args=[w.technology.slug]), OK),
    "technology-board": (lambda w: reverse("api:technology-board", args=[w.technology.slug]), OK),
    "request-list": (lambda w: reverse("api:request-list"), OK),
    "request-detail": (lambda w: reverse("api:request-detail", args=[w.decided.reference]), OK),
    "request-timeline": (lambda w: reverse("api:request-timeline", args=[w.decided.reference]), OK),
    # A draft is not public, whoever asks: the API has no accounts.
    "request-detail of a draft": (lambda w: reverse("api:request-detail", args=[w.draft.reference]), MISSING),
    "request-timeline of a draft": (
        lambda w: reverse("api:request-timeline", args=[w.draft.reference]),
        MISSING,
    ),
    "decision-list": (lambda w: reverse("api:decision-list"), OK),
    "decision-detail": (lambda w: reverse("api:decision-detail", args=[w.decided.reference]), OK),
}
API_WRITES = ("post", "put", "patch", "delete")


def test_every_api_address_is_in_the_matrix():
    from ordinances.api import router

    assert {url.name for url in router.urls} <= set(API_READS)


def api_cells() -> list[tuple[str, str, Callable[[World], str], str]]:
    cells = []
    for label, (url, answer) in API_READS.items():
        cells.append((f"GET {label}", "get", url, answer))
        for method in API_WRITES:
            cells.append((f"{method.upper()} {label}", method, url, NOT_ALLOWED))
    return cells


@pytest.mark.parametrize("who", ROLES)
def test_the_api_answers_each_role_alike_and_writes_nothing(who, client, people, world):
    if who != ANON:
        client.force_login(people[who])
    counts = (Request.objects.count(), Event.objects.count())

    answers = {label: outcome(getattr(client, method)(url(world))) for label, method, url, _ in api_cells()}

    assert answers == {label: answer for label, _, _, answer in api_cells()}
    assert (Request.objects.count(), Event.objects.count()) == counts


# ---------------------------------------------------------------------------
# The size of the table
# ---------------------------------------------------------------------------

# The cells checked when this was written; raise it when the table grows, never lower it
# without saying which cells went and why.
CELLS_AT_LEAST = 1135


def cell_count() -> int:
    return (
        len(admin_cells()) * len(ROLES)
        + len(workflow.TRANSITIONS) * len(ROLES)
        + len(FUNCTIONS) * len(ROLES)
        + len(OVERSIGHT) * len(ROLES)
        + len(api_cells()) * len(ROLES)
    )


def test_the_matrix_has_not_shrunk(capsys):
    count = cell_count()
    with capsys.disabled():
        print(f"\nauthorization matrix: {count} cells")
    assert count >= CELLS_AT_LEAST
