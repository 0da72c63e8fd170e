"""
The request workflow: every change of a Request's status happens here, and only here.

`TRANSITIONS` is the whole state machine in one table. Each row says from which states it
runs, to which state, who may run it, for which kinds of request, what the actor supplies
(`inputs`), and, for the rows that carry out a step of a law's process (`step`), which
`ProcessStep` the request's ordinance must have. An ordinance's steps thereby decide
which rows are open for its requests and in what order: a law without public comment goes
from review straight to its hearing, a disclosure-only law ends by publishing its policy.

`perform(name, request, by=..., **inputs)` is the one way to run a row: it locks the
request, checks role, kind, state and the ordinance's path against the table, validates
the inputs against the law and the record (deadlines from `ordinances.deadlines`), changes
the request and writes the Event with what the step produced as data, all in one
transaction. A refusal raises `TransitionRefused` (wrong state or wrong person) or Django's
`ValidationError` (bad input, keyed by input name) and leaves nothing half-written.

The admin, the management commands, `seed_demo` and the tests call `perform`; none of them
sets `Request.status` itself.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Count, F
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ordinances import deadlines, roles
from ordinances.models import (
    Attachment,
    Condition,
    Deadline,
    Decision,
    Event,
    Ordinance,
    ProcessStep,
    PublicRequestCount,
    Request,
)
from ordinances.roles import Role

# A label: plain text, or a translation made in the reader's language when it is shown.
StrOrPromise = str | Promise

if TYPE_CHECKING:
    from ordinances.roles import AnyUser

    Actor = AnyUser | None

S = Request.Status
K = Request.Kind
Step = ProcessStep.Kind
A = Event.Action

REVIEWED_KINDS = (K.EXCEPTION, K.APPROVAL, K.RENEWAL)
EMERGENCY_KINDS = (K.EMERGENCY_REPORT,)
ALL_KINDS = REVIEWED_KINDS + EMERGENCY_KINDS

# Where a request stands once a step of its ordinance's path has been taken. Steps not
# listed (a community meeting) are recorded without moving the request.
STEP_STATE: dict[str, str] = {
    Step.ADVISORY_REVIEW: S.ADVISED,
    Step.PUBLIC_COMMENT: S.PUBLIC_COMMENT,
    Step.HEARING: S.HEARING_SCHEDULED,
}
UNDER_REVIEW = (S.IN_REVIEW, S.ADVISORY_REVIEW, S.ADVISED, S.PUBLIC_COMMENT, S.HEARING_SCHEDULED)
# The states a decision may be recorded from; the ordinance's path narrows it to one.
BEFORE_DECISION = (S.IN_REVIEW, S.ADVISED, S.PUBLIC_COMMENT, S.HEARING_SCHEDULED)


class Opinion:
    """What an advisory body may say of a request (Oakland's commission, for example)."""

    SUPPORTS = "supports"
    OBJECTS = "objects"
    RECOMMENDS_CHANGES = "recommends_changes"
    TAKES_NO_ACTION = "takes_no_action"
    choices = (
        (SUPPORTS, _("Supports it")),
        (OBJECTS, _("Objects to it")),
        (RECOMMENDS_CHANGES, _("Recommends changes")),
        (TAKES_NO_ACTION, _("Takes no action")),
    )


@dataclass(frozen=True)
class Input:
    """Something the actor supplies to a transition; the admin builds its form from these."""

    name: str
    # "text" (a paragraph), "line" (one line of text), "url", "date", "datetime", "count",
    # "choice" or "conditions"
    kind: str
    label: str
    required: bool = False
    help_text: str = ""
    choices: tuple[tuple[str, StrOrPromise], ...] = ()


REASON = Input("reason", "text", "Reason", required=True, help_text="Part of the public record.")
NOTE = Input("note", "text", "Note", help_text="Optional; shown on the public timeline.")
DECIDED_ON = Input("decided_on", "date", "Decided on", help_text="Blank means today.")
VOTES = (
    Input("votes_yes", "count", "Votes yes", required=True),
    Input("votes_no", "count", "Votes no", required=True),
    Input("votes_abstain", "count", "Abstaining"),
    Input("votes_absent", "count", "Absent"),
)
TERM = (
    Input("effective_on", "date", "Effective on", help_text="Blank means the day of the decision."),
    Input("expires_on", "date", "Expires on"),
)
SUMMARY = Input("summary", "text", "Summary", help_text="Optional. Part of the public record.")
DENIAL_REASONS = Input(
    "summary", "text", "Reasons for the decision", required=True, help_text="Part of the public record."
)
CONDITIONS = Input("conditions", "conditions", "Conditions", required=True)


@dataclass(frozen=True)
class Transition:
    """One row of the state machine."""

    name: str
    label: str
    sources: tuple[str, ...]
    # None: the request stays where it is (a step recorded on the way, such as a meeting).
    target: str | None
    actors: tuple[Role, ...]
    kinds: tuple[str, ...]
    description: str
    inputs: tuple[Input, ...] = ()
    # The step of the ordinance's process this row carries out, if any.
    step: str | None = None
    # A row that finishes a step another row began (the advisory opinion): shown only for
    # ordinances with that step; the state it runs from is reachable only through it.
    part_of: str | None = None
    # A deadline row the ordinance must set for this row to apply (going on after silence).
    needs_deadline: str | None = None
    public: bool = True

    @property
    def input_names(self) -> set[str]:
        return {i.name for i in self.inputs}

    @property
    def inputs_required(self) -> bool:
        return any(i.required for i in self.inputs)

    @property
    def actor_labels(self) -> list[str]:
        return [role.label for role in self.actors]

    @property
    def source_labels(self) -> list[str]:
        return [str(S(s).label) for s in self.sources]

    @property
    def target_label(self) -> str:
        return str(S(self.target).label) if self.target else gettext("No change")

    @property
    def kind_labels(self) -> list[str]:
        if self.kinds == ALL_KINDS:
            return [gettext("All requests")]
        return [str(K(k).label) for k in self.kinds]

    @property
    def step_label(self) -> str:
        return str(Step(self.step).label) if self.step else ""


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        Transition(
            "submit",
            "Submit to the council",
            (S.DRAFT, S.RETURNED),
            S.SUBMITTED,
            (Role.LIAISON,),
            ALL_KINDS,
            "The agency's liaison submits the request. From now on it is public.",
            inputs=(NOTE,),
        ),
        Transition(
            "begin_review",
            "Begin review",
            (S.SUBMITTED,),
            S.IN_REVIEW,
            (Role.STAFF,),
            ALL_KINDS,
            "Council staff take the request up and check that it is complete.",
            inputs=(NOTE,),
        ),
        Transition(
            "return_to_agency",
            "Return to the agency",
            (S.IN_REVIEW,),
            S.RETURNED,
            (Role.STAFF,),
            ALL_KINDS,
            "Staff send the request back for more information; the agency edits and resubmits it.",
            inputs=(REASON,),
        ),
        Transition(
            "refer_to_advisory",
            "Refer to the advisory body",
            (S.IN_REVIEW,),
            S.ADVISORY_REVIEW,
            (Role.STAFF,),
            REVIEWED_KINDS,
            "Staff send the request to the advisory body the ordinance names for its opinion.",
            inputs=(NOTE,),
            step=Step.ADVISORY_REVIEW,
        ),
        Transition(
            "record_advisory_opinion",
            "Record the advisory opinion",
            (S.ADVISORY_REVIEW,),
            S.ADVISED,
            (Role.STAFF,),
            REVIEWED_KINDS,
            "Staff record what the advisory body said: it supports, objects, recommends changes or takes no action.",
            inputs=(
                Input("opinion", "choice", "The advisory body", required=True, choices=Opinion.choices),
                NOTE,
            ),
            part_of=Step.ADVISORY_REVIEW,
        ),
        Transition(
            "proceed_after_silence",
            "Go on without the advisory opinion",
            (S.ADVISORY_REVIEW,),
            S.ADVISED,
            (Role.STAFF, Role.SYSTEM),
            REVIEWED_KINDS,
            "Where the ordinance allows it, staff go on once the advisory body has let its time to respond pass.",
            inputs=(NOTE,),
            part_of=Step.ADVISORY_REVIEW,
            needs_deadline=Deadline.Kind.ADVISORY_SILENCE,
        ),
        Transition(
            "record_community_meeting",
            "Record a community meeting",
            UNDER_REVIEW,
            None,
            (Role.STAFF,),
            REVIEWED_KINDS,
            "Staff record a community meeting held about the request, with its date and place.",
            inputs=(
                Input("held_on", "date", "Held on", required=True),
                Input("place", "text", "Place", required=True),
                NOTE,
            ),
            step=Step.COMMUNITY_MEETING,
        ),
        Transition(
            "open_comment_period",
            "Open public comment",
            (S.IN_REVIEW, S.ADVISED),
            S.PUBLIC_COMMENT,
            (Role.STAFF,),
            REVIEWED_KINDS,
            "Staff open the public comment period; anyone may comment until it closes.",
            inputs=(Input("comment_period_ends_on", "date", "Public comment closes on"), NOTE),
            step=Step.PUBLIC_COMMENT,
        ),
        Transition(
            "close_comment_period",
            "Close public comment",
            # A hearing may be noticed while comment is still open; comment closes all the same.
            (S.PUBLIC_COMMENT, S.HEARING_SCHEDULED),
            None,
            (Role.STAFF, Role.SYSTEM),
            REVIEWED_KINDS,
            "Public comment closes once its last day has passed; the portal closes it on schedule.",
            part_of=Step.PUBLIC_COMMENT,
        ),
        Transition(
            "schedule_hearing",
            "Schedule the hearing",
            (S.IN_REVIEW, S.ADVISED, S.PUBLIC_COMMENT),
            S.HEARING_SCHEDULED,
            (Role.STAFF,),
            REVIEWED_KINDS,
            "Staff give notice of the public hearing, after public comment has closed where there is one.",
            inputs=(
                Input("hearing_at", "datetime", "Hearing at", required=True),
                Input("hearing_room", "line", "Room", help_text="Optional, with the street address."),
                Input(
                    "hearing_address",
                    "line",
                    "Street address",
                    help_text="Where to attend in person. Give this, a remote link, or both.",
                ),
                Input(
                    "hearing_remote_url",
                    "url",
                    "Remote link",
                    help_text="Where to join online (an http or https address).",
                ),
                Input("hearing_agenda_url", "url", "Agenda link", help_text="Optional."),
                NOTE,
            ),
            step=Step.HEARING,
        ),
        Transition(
            "approve",
            "Record approval",
            BEFORE_DECISION,
            S.APPROVED,
            (Role.STAFF,),
            REVIEWED_KINDS,
            "The deciding body approves the request for a set term.",
            inputs=(DECIDED_ON, *VOTES, *TERM, SUMMARY),
            step=Step.VOTE,
        ),
        Transition(
            "approve_with_conditions",
            "Record approval with conditions",
            BEFORE_DECISION,
            S.APPROVED_WITH_CONDITIONS,
            (Role.STAFF,),
            REVIEWED_KINDS,
            "The deciding body approves the request with conditions, each with a due date.",
            inputs=(DECIDED_ON, *VOTES, *TERM, CONDITIONS, SUMMARY),
            step=Step.VOTE,
        ),
        Transition(
            "deny",
            "Record denial",
            BEFORE_DECISION,
            S.DENIED,
            (Role.STAFF,),
            REVIEWED_KINDS,
            "The deciding body denies the request.",
            inputs=(DECIDED_ON, *VOTES, DENIAL_REASONS),
            step=Step.VOTE,
        ),
        Transition(
            "publish_policy",
            "Publish the final policy",
            BEFORE_DECISION,
            S.PUBLISHED,
            (Role.STAFF,),
            REVIEWED_KINDS,
            "Under a disclosure law there is no vote: staff publish the final use policy and the date use may begin.",
            inputs=(
                Input("decided_on", "date", "Published on", help_text="Blank means today."),
                Input(
                    "effective_on",
                    "date",
                    "Use may begin on",
                    help_text="Blank means the earliest the law allows.",
                ),
                SUMMARY,
            ),
            step=Step.PUBLICATION,
        ),
        Transition(
            "withdraw",
            "Withdraw",
            (S.SUBMITTED, S.RETURNED, *UNDER_REVIEW),
            S.WITHDRAWN,
            (Role.LIAISON,),
            REVIEWED_KINDS,
            "The agency withdraws its request before it is decided.",
            inputs=(REASON,),
        ),
        Transition(
            "expire",
            "Mark expired",
            Request.APPROVED_STATES,
            S.EXPIRED,
            (Role.STAFF, Role.SYSTEM),
            REVIEWED_KINDS,
            "An approval ends at the end of its term unless it is renewed.",
        ),
        Transition(
            "revoke",
            "Revoke approval",
            Request.APPROVED_STATES,
            S.REVOKED,
            (Role.STAFF,),
            REVIEWED_KINDS,
            "The council revokes an approval before its term ends.",
            inputs=(REASON,),
        ),
        Transition(
            "accept_report",
            "Accept the report",
            (S.IN_REVIEW,),
            S.ACCEPTED,
            (Role.STAFF,),
            EMERGENCY_KINDS,
            "Staff accept an after-the-fact report of emergency use.",
            inputs=(NOTE,),
        ),
        Transition(
            "refer_to_full_review",
            "Refer to full review",
            (S.IN_REVIEW,),
            S.REFERRED,
            (Role.STAFF,),
            EMERGENCY_KINDS,
            "Staff find the emergency use needs full review; the agency must file a request.",
            inputs=(REASON,),
        ),
    ]
}

# Messages, kept here so tests can assert on them.
NOT_PERMITTED = "You are not allowed to {action} this request."
WRONG_STATE = "{reference} is {state}; “{action}” is possible only when it is {allowed}."
WRONG_KIND = "“{action}” does not apply to requests of this kind ({kind})."
NO_SUCH_STEP = "{ordinance} has no {step} step, so “{action}” does not apply to its requests."
NO_SUCH_DEADLINE = "{ordinance} sets no {deadline}, so “{action}” does not apply to its requests."
OUT_OF_ORDER = "{reference} is {state}; under {ordinance}, “{action}” comes when it is {expected}."
REASON_REQUIRED = "Give a reason; it becomes part of the public record."
REQUIRED = "This is required."
NOT_EDITABLE = "{reference} is {state}; the agency can change it only as a draft or when returned."
FUTURE_DATE = "This date is in the future."
NUL_CHARACTER = "This text holds a character that cannot be stored (NUL)."


def refuse_nul(values: dict[str, Any]) -> None:
    """
    Refuse text holding a NUL character with a ValidationError on its field: PostgreSQL
    refuses one with a DataError (a 500), SQLite would store it. The forms refuse it first;
    this keeps every other caller of the workflow to the same rule.
    """
    errors = {
        name: NUL_CHARACTER
        for name, value in values.items()
        if (isinstance(value, str) and "\x00" in value)
        or (isinstance(value, list | tuple) and any("\x00" in getattr(item, "text", "") for item in value))
    }
    if errors:
        raise ValidationError(errors)


class TransitionRefused(Exception):
    """The actor may not make this transition now. The message says why."""

    def __init__(self, message: str, *, code: str = "state") -> None:
        super().__init__(message)
        self.message = message
        self.code = code  # "state" or "permission"


@dataclass(frozen=True)
class ConditionInput:
    text: str
    due_on: datetime.date | None = None


# ---------------------------------------------------------------------------
# Reading the table
# ---------------------------------------------------------------------------


def actor_roles(user: Actor, request: Request) -> set[Role]:
    """The roles `user` holds with respect to this request."""
    if user is None:
        return {Role.SYSTEM}
    held: set[Role] = set()
    if roles.is_staff_reviewer(user):
        held.add(Role.STAFF)
    if roles.is_liaison_for(user, request.agency):
        held.add(Role.LIAISON)
    return held


def permitting_role(transition: Transition, request: Request, user: Actor) -> Role | None:
    """The role under which `user` may make `transition`: the first of its actors they hold."""
    held = actor_roles(user, request)
    return next((role for role in transition.actors if role in held), None)


def expected_state(ordinance: Ordinance, step: str) -> str:
    """Where a request under `ordinance` stands when `step` comes next on its path."""
    state: str = S.IN_REVIEW
    for each in ordinance.path():
        if each.kind == step:
            return state
        state = STEP_STATE.get(each.kind, state)
    return state


def refusal(transition: Transition, request: Request, user: Actor) -> TransitionRefused | None:
    """Why `user` may not make `transition` on `request` now, or None if they may."""
    if permitting_role(transition, request, user) is None:
        return TransitionRefused(NOT_PERMITTED.format(action=transition.label.lower()), code="permission")
    if request.kind not in transition.kinds:
        return TransitionRefused(
            WRONG_KIND.format(action=transition.label, kind=request.get_kind_display().lower())
        )
    if request.status not in transition.sources:
        return TransitionRefused(
            WRONG_STATE.format(
                reference=request.reference,
                state=request.get_status_display().lower(),
                action=transition.label,
                allowed=" or ".join(S(s).label.lower() for s in transition.sources),
            )
        )
    if transition.needs_deadline and request.ordinance.deadline(transition.needs_deadline) is None:
        return TransitionRefused(
            NO_SUCH_DEADLINE.format(
                ordinance=request.ordinance.file_number,
                deadline=Deadline.Kind(transition.needs_deadline).label.lower(),
                action=transition.label,
            )
        )
    if transition.step:
        ordinance = request.ordinance
        if ordinance.step(transition.step) is None:
            return TransitionRefused(
                NO_SUCH_STEP.format(
                    ordinance=ordinance.file_number,
                    step=transition.step_label.lower(),
                    action=transition.label,
                )
            )
        expected = expected_state(ordinance, transition.step)
        if transition.target is not None and request.status != expected:
            return TransitionRefused(
                OUT_OF_ORDER.format(
                    reference=request.reference,
                    state=request.get_status_display().lower(),
                    ordinance=ordinance.file_number,
                    action=transition.label,
                    expected=S(expected).label.lower(),
                )
            )
    return None


def available_transitions(
    request: Request, user: Actor, now: datetime.datetime | None = None
) -> list[Transition]:
    """
    The transitions `user` could make on `request` as it stands: not those the table
    refuses, nor the scheduled rows whose day has not come (see `not_yet`).
    """
    now = now or timezone.now()
    return [
        t
        for t in TRANSITIONS.values()
        if refusal(t, request, user) is None and not_yet(t.name, request, now) is None
    ]


def not_yet(name: str, request: Request, now: datetime.datetime) -> str | None:
    """
    Why a row that waits for a day (an approval's end, public comment's last day, the
    advisory body's time to respond) cannot run on `request` yet, or None when it can.
    Its handler refuses with this reason; `run_deadlines` runs it once the day has passed.
    """
    today = _today(now)
    if name == "expire":
        try:
            expires_on = request.decision.expires_on
        except Decision.DoesNotExist:
            expires_on = None
        if expires_on is None or expires_on >= today:
            return (
                f"{request.reference} is approved until "
                f"{expires_on.isoformat() if expires_on else 'further notice'}; "
                "it can be marked expired only after that date."
            )
    elif name == "close_comment_period":
        if request.comment_period_opened_on is None:
            return f"{request.reference} has had no public comment period to close."
        if request.comment_period_closed_on is not None:
            return (
                f"Public comment on {request.reference} closed on "
                f"{request.comment_period_closed_on.isoformat()}."
            )
        ends = request.comment_period_ends_on
        if ends is not None and today <= ends:
            return f"Public comment is open until {ends.isoformat()}; it closes after that day."
    elif name == "proceed_after_silence":
        ends = advisory_silence_ends_on(request, today)
        if ends is not None and today <= ends:
            step = request.ordinance.step(Step.ADVISORY_REVIEW)
            return (
                f"The {step.body if step else 'advisory body'} has until {ends.isoformat()} to respond; "
                "staff may go on without it only after that day."
            )
    return None


def advisory_silence_ends_on(request: Request, today: datetime.date) -> datetime.date | None:
    """The last day the advisory body has to respond to `request`, if its ordinance sets one."""
    referred = request.advisory_referred_on or today
    return deadlines.due_on(request.ordinance, Deadline.Kind.ADVISORY_SILENCE, referred)


def path_transitions(ordinance: Ordinance) -> list[Transition]:
    """The rows a request under `ordinance` can go through; the table lists them in path order."""
    steps = {step.kind for step in ordinance.steps.all()}
    return [
        t
        for t in TRANSITIONS.values()
        if (t.step or t.part_of) in (None, *steps)
        and (t.needs_deadline is None or ordinance.deadline(t.needs_deadline) is not None)
    ]


# ---------------------------------------------------------------------------
# Running a transition
# ---------------------------------------------------------------------------

# What a row's handler gets: the locked request, now, and the actor's inputs. It sets the
# row's own fields on the request and returns (changed field names, facts for the Event).
Handler = Callable[..., tuple[list[str], dict[str, Any]]]
HANDLERS: dict[str, Handler] = {}


def handles(*names: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        for name in names:
            HANDLERS[name] = function
        return function

    return register


def _actor_fields(user: Actor, role: str) -> dict[str, Any]:
    if user is None:
        return {"actor": None, "actor_name": "", "actor_role": Role.SYSTEM}
    # The public record names a person by their display name, never by their login (a login
    # name is half a credential); without a display name the role alone is shown.
    full_name = user.get_full_name() if isinstance(user, User) else ""
    return {"actor": user, "actor_name": full_name, "actor_role": role}


def _record(
    request: Request,
    *,
    by: Actor,
    role: str,
    action: str,
    from_status: str,
    note: str = "",
    data: dict[str, Any] | None = None,
    public: bool,
    now: datetime.datetime,
) -> Event:
    event = Event.objects.create(
        request=request,
        created_at=now,
        action=action,
        from_status=from_status,
        to_status=request.status,
        data=data or {},
        note=note.strip(),
        is_public=public,
        **_actor_fields(by, role),
    )
    if public:
        # The latest public change (the feeds' order and an entry's <updated>): a step staff
        # keep internal, or a draft's, leaves it as it was.
        Request.objects.filter(pk=request.pk, public_updated_at__lt=now).update(public_updated_at=now)
        request.public_updated_at = max(request.public_updated_at, now)
    if from_status == S.DRAFT and request.status != S.DRAFT:
        # Submitted for the first time: from now on it is public, and counted as such.
        _count_public(agency_id=request.agency_id, ordinance_id=request.ordinance_id, by=1)
    # The emails it calls for, in this same transaction. Imported here: the outbox imports
    # this module (through ordinances.alerts).
    from ordinances import outbox

    outbox.enqueue_for_event(event)
    return event


def _count_public(*, agency_id: int, ordinance_id: int, by: int) -> None:
    """
    Add `by` to the public requests counted for an agency under an ordinance
    (`PublicRequestCount`): the row made if missing, then added to in the database, so that
    concurrent changes add up.
    """
    row = {"agency_id": agency_id, "ordinance_id": ordinance_id}
    PublicRequestCount.objects.bulk_create([PublicRequestCount(**row)], ignore_conflicts=True)
    PublicRequestCount.objects.filter(**row).update(count=F("count") + by)


def recount_public_requests() -> None:
    """
    Count the public requests of every agency under every ordinance again, from the
    requests: for `seed_bulk`, which fabricates a history in bulk rather than through `perform`.
    """
    counted = (
        Request.objects.public().order_by().values_list("agency_id", "ordinance_id").annotate(n=Count("*"))
    )
    PublicRequestCount.objects.all().delete()
    PublicRequestCount.objects.bulk_create(
        PublicRequestCount(agency_id=agency_id, ordinance_id=ordinance_id, count=n)
        for agency_id, ordinance_id, n in counted
    )


def _locked(request: Request) -> Request:
    return (
        Request.objects.select_for_update(of=("self",))
        .select_related("agency", "ordinance", "technology")
        .prefetch_related("ordinance__steps", "ordinance__deadlines", "ordinance__rules")
        .get(pk=request.pk)
    )


def perform(
    name: str, request: Request, *, by: Actor, now: datetime.datetime | None = None, **inputs: Any
) -> Request:
    """
    Run the transition `name` on `request` as `by` (None: the portal itself, on schedule).

    `inputs` are the row's declared inputs; anything else is refused. Returns the updated
    request and refreshes the fields it changed on the object passed in.
    """
    transition = TRANSITIONS.get(name)
    if transition is None:
        raise TransitionRefused(f"There is no step called “{name}”.")
    unknown = set(inputs) - transition.input_names
    if unknown:
        raise ValidationError({key: f"“{transition.label}” takes no {key}." for key in sorted(unknown)})
    refuse_nul(inputs)
    for spec in transition.inputs:
        value = inputs.get(spec.name)
        if spec.required and (value is None or (isinstance(value, str) and not value.strip())):
            message = REASON_REQUIRED if spec.name in ("reason", "summary") else REQUIRED
            if spec.kind != "conditions":
                raise ValidationError({spec.name: message})
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(request)
        if (refused := refusal(transition, locked, by)) is not None:
            raise refused
        role = permitting_role(transition, locked, by)
        handler = HANDLERS.get(name)
        typed = {k: v for k, v in inputs.items() if k not in ("note", "reason")}
        changed, data = handler(locked, now, **typed) if handler else ([], {})
        from_status = locked.status
        if transition.target is not None:
            locked.status = transition.target
        locked.save(update_fields=["status", "updated_at", *changed])
        note = str(inputs.get("reason") or inputs.get("note") or inputs.get("summary") or "")
        _record(
            locked,
            by=by,
            role=role or "",
            action=name,
            from_status=from_status,
            note=note,
            data=data,
            public=transition.public,
            now=now,
        )
    for attr in ["status", "updated_at", *changed]:
        setattr(request, attr, getattr(locked, attr))
    return locked


def _today(now: datetime.datetime) -> datetime.date:
    return timezone.localdate(now)


def _not_future(value: datetime.date | None, today: datetime.date, name: str, errors: dict[str, str]) -> None:
    if value is not None and value > today:
        errors[name] = FUTURE_DATE


@handles("submit")
def _submit(r: Request, now: datetime.datetime) -> tuple[list[str], dict[str, Any]]:
    errors: dict[str, list[str]] = {}
    try:
        r.full_clean(exclude=["created_by"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    for name, message in r.missing_fields().items():
        errors.setdefault(name, []).append(message)
    if r.emergency_used_on and r.emergency_used_on > _today(now):
        errors.setdefault("emergency_used_on", []).append("A report cannot come before the use it reports.")
    if r.ordinance.status not in Ordinance.IN_FORCE:
        errors.setdefault("ordinance", []).append(
            f"{r.ordinance.file_number} is {r.ordinance.get_status_display().lower()}, not in force."
        )
    if errors:
        raise ValidationError(errors)
    from ordinances import oversight  # here, not at the top: oversight imports this module

    oversight.attach_emergency_report(r, now)
    data: dict[str, Any] = {}
    if r.emergency_report_due_on is not None:
        data["report_due_on"] = r.emergency_report_due_on
    if r.submitted_at is None:
        r.submitted_at = now
        return ["submitted_at"], data
    return [], {**data, "resubmission": True}


@handles("refer_to_advisory")
def _refer_to_advisory(r: Request, now: datetime.datetime) -> tuple[list[str], dict[str, Any]]:
    step = r.ordinance.step(Step.ADVISORY_REVIEW)
    today = _today(now)
    r.advisory_referred_on = today
    silence = deadlines.due_on(r.ordinance, Deadline.Kind.ADVISORY_SILENCE, today)
    return ["advisory_referred_on"], {"body": step.body if step else "", "respond_by": silence}


@handles("record_advisory_opinion")
def _record_advisory_opinion(
    r: Request, now: datetime.datetime, *, opinion: str
) -> tuple[list[str], dict[str, Any]]:
    if opinion not in dict(Opinion.choices):
        raise ValidationError(
            {"opinion": f"Choose one of: {', '.join(label.lower() for _, label in Opinion.choices)}."}
        )
    step = r.ordinance.step(Step.ADVISORY_REVIEW)
    return [], {"body": step.body if step else "", "opinion": opinion}


@handles("proceed_after_silence")
def _proceed_after_silence(r: Request, now: datetime.datetime) -> tuple[list[str], dict[str, Any]]:
    if (reason := not_yet("proceed_after_silence", r, now)) is not None:
        raise TransitionRefused(reason)
    step = r.ordinance.step(Step.ADVISORY_REVIEW)
    ends = advisory_silence_ends_on(r, _today(now))
    assert ends is not None  # refusal() checked the ordinance sets the silence period
    return [], {"body": step.body if step else "", "respond_by": ends}


@handles("record_community_meeting")
def _record_community_meeting(
    r: Request, now: datetime.datetime, *, held_on: datetime.date, place: str
) -> tuple[list[str], dict[str, Any]]:
    errors: dict[str, str] = {}
    today = _today(now)
    _not_future(held_on, today, "held_on", errors)
    submitted = timezone.localdate(r.submitted_at) if r.submitted_at else today
    if held_on < submitted:
        errors["held_on"] = (
            f"The request was submitted on {submitted.isoformat()}; a meeting about it comes after."
        )
    if errors:
        raise ValidationError(errors)
    return [], {"held_on": held_on, "place": place.strip()}


@handles("open_comment_period")
def _open_comment_period(
    r: Request, now: datetime.datetime, *, comment_period_ends_on: datetime.date | None = None
) -> tuple[list[str], dict[str, Any]]:
    today = _today(now)
    minimum = deadlines.due_on(r.ordinance, Deadline.Kind.COMMENT_PERIOD, today)
    earliest = minimum or today + datetime.timedelta(days=1)
    end = comment_period_ends_on or minimum
    if end is None:
        raise ValidationError(
            {
                "comment_period_ends_on": f"{r.ordinance.file_number} sets no comment period; enter the date public comment closes."
            }
        )
    if end < earliest:
        raise ValidationError(
            {
                "comment_period_ends_on": f"Public comment must stay open until at least {earliest.isoformat()}"
                + (" under the ordinance." if minimum else ".")
            }
        )
    r.comment_period_opened_on = today
    r.comment_period_ends_on = end
    return ["comment_period_opened_on", "comment_period_ends_on"], {"opened_on": today, "ends_on": end}


@handles("close_comment_period")
def _close_comment_period(r: Request, now: datetime.datetime) -> tuple[list[str], dict[str, Any]]:
    if (reason := not_yet("close_comment_period", r, now)) is not None:
        raise TransitionRefused(reason)
    today = _today(now)
    r.comment_period_closed_on = today
    data = {"ends_on": r.comment_period_ends_on, "closed_on": today}
    return ["comment_period_closed_on"], {k: v for k, v in data.items() if v is not None}


# Where a hearing is held; the lengths are those of the Request fields that keep them.
HEARING_PLACE_LENGTHS = {
    "hearing_room": 200,
    "hearing_address": 300,
    "hearing_remote_url": 500,
    "hearing_agenda_url": 500,
}
NO_HEARING_PLACE = "Give the street address where the hearing is held, a link to join it remotely, or both."
ROOM_WITHOUT_ADDRESS = "A room needs the street address of its building."
NOT_A_WEB_ADDRESS = "Enter a web address starting with http:// or https://."
_web_address = URLValidator(schemes=["http", "https"])


def _hearing_place(
    errors: dict[str, str], *, room: str, address: str, remote_url: str, agenda_url: str
) -> dict[str, str]:
    """The hearing's place, stripped and checked; problems go into `errors` by input name."""
    place = {
        "hearing_room": room.strip(),
        "hearing_address": address.strip(),
        "hearing_remote_url": remote_url.strip(),
        "hearing_agenda_url": agenda_url.strip(),
    }
    for name, longest in HEARING_PLACE_LENGTHS.items():
        if len(place[name]) > longest:
            errors[name] = f"Keep this to {longest} characters."
    for name in ("hearing_remote_url", "hearing_agenda_url"):
        if place[name] and name not in errors:
            try:
                _web_address(place[name])
            except ValidationError:
                errors[name] = NOT_A_WEB_ADDRESS
    if not place["hearing_address"] and not place["hearing_remote_url"]:
        errors.setdefault(
            "hearing_address", ROOM_WITHOUT_ADDRESS if place["hearing_room"] else NO_HEARING_PLACE
        )
    elif place["hearing_room"] and not place["hearing_address"]:
        errors.setdefault("hearing_address", ROOM_WITHOUT_ADDRESS)
    return place


@handles("schedule_hearing")
def _schedule_hearing(
    r: Request,
    now: datetime.datetime,
    *,
    hearing_at: datetime.datetime,
    hearing_room: str = "",
    hearing_address: str = "",
    hearing_remote_url: str = "",
    hearing_agenda_url: str = "",
) -> tuple[list[str], dict[str, Any]]:
    today = _today(now)
    errors: dict[str, str] = {}
    hearing_day = timezone.localdate(hearing_at)
    earliest = deadlines.due_on(r.ordinance, Deadline.Kind.HEARING_NOTICE, today)
    if hearing_at <= now:
        errors["hearing_at"] = "The hearing must be in the future."
    elif r.comment_period_ends_on and hearing_day <= r.comment_period_ends_on:
        errors["hearing_at"] = (
            f"The hearing must come after public comment closes on {r.comment_period_ends_on.isoformat()}."
        )
    elif earliest is not None and hearing_day < earliest:
        errors["hearing_at"] = (
            f"The ordinance requires notice before a hearing; the earliest date is {earliest.isoformat()}."
        )
    place = _hearing_place(
        errors,
        room=hearing_room,
        address=hearing_address,
        remote_url=hearing_remote_url,
        agenda_url=hearing_agenda_url,
    )
    if errors:
        raise ValidationError(errors)
    r.hearing_at = hearing_at
    r.hearing_noticed_on = today
    for name, value in place.items():
        setattr(r, name, value)
    data: dict[str, Any] = {"hearing_at": hearing_at, "noticed_on": today}
    # The place as the facts the Event keeps: "room", "address", "remote_url", "agenda_url".
    data.update({name.removeprefix("hearing_"): value for name, value in place.items() if value})
    return ["hearing_at", "hearing_noticed_on", *place], data


def _decision_date(
    r: Request, now: datetime.datetime, decided_on: datetime.date | None, errors: dict[str, str]
) -> datetime.date:
    """The decision's date, checked against the steps the law requires before it."""
    today = _today(now)
    decided = decided_on or today
    if decided > today:
        errors["decided_on"] = "A decision cannot be dated in the future."
    if r.hearing_at is not None:
        hearing_day = timezone.localdate(r.hearing_at)
        if now < r.hearing_at:
            raise TransitionRefused(
                f"The hearing on {hearing_day.isoformat()} has not taken place yet; the decision comes after it."
            )
        if decided < hearing_day:
            errors["decided_on"] = (
                f"The decision cannot be dated before the hearing on {hearing_day.isoformat()}."
            )
    if r.comment_period_ends_on is not None and decided <= r.comment_period_ends_on:
        if today <= r.comment_period_ends_on:
            raise TransitionRefused(
                f"Public comment is open until {r.comment_period_ends_on.isoformat()}; the decision comes after it closes."
            )
        errors["decided_on"] = (
            f"Public comment was open until {r.comment_period_ends_on.isoformat()}; the decision must be dated after it."
        )
    submitted = timezone.localdate(r.submitted_at) if r.submitted_at else today
    if decided < submitted:
        errors["decided_on"] = (
            f"The request was submitted on {submitted.isoformat()}; it cannot be decided before."
        )
    if r.ordinance.step(Step.COMMUNITY_MEETING):
        meetings = r.events.filter(action=A.RECORD_COMMUNITY_MEETING)
        if not meetings.exists():
            raise TransitionRefused(
                f"{r.ordinance.file_number} requires a community meeting before the decision; record it first."
            )
        held = min(datetime.date.fromisoformat(m.data["held_on"]) for m in meetings)
        if decided < held:
            errors["decided_on"] = (
                f"The community meeting was held on {held.isoformat()}; the decision cannot be dated before it."
            )
    advised = (
        r.events.filter(action__in=(A.RECORD_ADVISORY_OPINION, A.PROCEED_AFTER_SILENCE))
        .order_by("-created_at")
        .first()
    )
    if advised is not None and decided < timezone.localdate(advised.created_at):
        errors["decided_on"] = (
            f"The advisory review ended on {timezone.localdate(advised.created_at).isoformat()}; "
            "the decision cannot be dated before it."
        )
    return decided


def _vote_handler(outcome: str) -> Handler:
    def handler(
        r: Request,
        now: datetime.datetime,
        *,
        votes_yes: int | None = None,
        votes_no: int | None = None,
        votes_abstain: int | None = None,
        votes_absent: int | None = None,
        decided_on: datetime.date | None = None,
        effective_on: datetime.date | None = None,
        expires_on: datetime.date | None = None,
        conditions: Sequence[ConditionInput] | None = (),
        summary: str = "",
    ) -> tuple[list[str], dict[str, Any]]:
        step = r.ordinance.step(Step.VOTE)
        assert step is not None  # refusal() checked the ordinance has a vote
        errors: dict[str, str] = {}
        decided = _decision_date(r, now, decided_on, errors)
        counts = {
            "votes_yes": votes_yes,
            "votes_no": votes_no,
            "votes_abstain": votes_abstain or 0,
            "votes_absent": votes_absent or 0,
        }
        for key, value in counts.items():
            if value is None or value < 0:
                errors[key] = "Enter a vote count of zero or more."
        yes, no = votes_yes or 0, votes_no or 0
        if not errors:
            total = sum(v or 0 for v in counts.values())
            if step.seats is not None and total > step.seats:
                errors["votes_yes"] = (
                    f"The {step.body} has {step.seats} seats; these counts add up to {total}."
                )
            elif outcome != Decision.Outcome.DENIED and not step.votes_needed(yes=yes, no=no):
                errors["votes_yes"] = (
                    f"An approval by the {step.body} needs {step.get_majority_display().lower()}; "
                    f"{yes} yes and {no} no do not meet it."
                )
            elif outcome == Decision.Outcome.DENIED and step.votes_needed(yes=yes, no=no):
                errors["votes_yes"] = (
                    f"{yes} yes and {no} no meet the majority an approval needs; record an approval instead."
                )
        conditions = [c for c in conditions or () if c.text.strip()]
        effective = expires = None
        if outcome == Decision.Outcome.DENIED:
            if not summary.strip():
                errors["summary"] = REASON_REQUIRED
        else:
            effective = effective_on or decided
            if effective < decided:
                errors["effective_on"] = (
                    f"An approval cannot take effect before its decision on {decided.isoformat()}."
                )
            latest = deadlines.approval_expires_on(r.ordinance, effective, r.requested_term_days)
            expires = expires_on or latest
            if expires is None:
                errors["expires_on"] = (
                    "Neither the ordinance nor the request sets a term; enter the expiry date."
                )
            elif expires <= effective:
                errors["expires_on"] = "The approval must expire after it takes effect."
            elif latest is not None and expires > latest:
                errors["expires_on"] = (
                    f"The term is the shorter of the law's longest term and the term requested; "
                    f"the latest expiry is {latest.isoformat()}."
                )
        if outcome == Decision.Outcome.APPROVED_WITH_CONDITIONS and not conditions:
            errors["conditions"] = "An approval with conditions needs at least one condition."
        if outcome != Decision.Outcome.APPROVED_WITH_CONDITIONS and conditions:
            errors["conditions"] = "Only an approval with conditions carries conditions."
        for number, condition in enumerate(conditions, start=1):
            if condition.due_on is not None and condition.due_on <= decided:
                errors["conditions"] = (
                    f"Condition {number} falls due on {condition.due_on.isoformat()}; "
                    f"a condition falls due after the decision on {decided.isoformat()}."
                )
        if errors:
            raise ValidationError(errors)
        decision = Decision.objects.create(
            request=r,
            outcome=outcome,
            decided_on=decided,
            body=step.body,
            seats=step.seats,
            effective_on=effective,
            expires_on=expires,
            summary=summary.strip(),
            # Council staff write the summary and conditions about the request, in its language.
            language=r.language,
            **counts,
        )
        Condition.objects.bulk_create(
            Condition(decision=decision, text=c.text.strip(), due_on=c.due_on) for c in conditions
        )
        data = {
            "decided_on": decided,
            "body": step.body,
            "seats": step.seats,
            "votes": {key.removeprefix("votes_"): value for key, value in counts.items()},
            "effective_on": effective,
            "expires_on": expires,
            "conditions": [{"text": c.text.strip(), "due_on": c.due_on} for c in conditions],
        }
        return [], {k: v for k, v in data.items() if v not in (None, [])}

    return handler


HANDLERS["approve"] = _vote_handler(Decision.Outcome.APPROVED)
HANDLERS["approve_with_conditions"] = _vote_handler(Decision.Outcome.APPROVED_WITH_CONDITIONS)
HANDLERS["deny"] = _vote_handler(Decision.Outcome.DENIED)


@handles("publish_policy")
def _publish_policy(
    r: Request,
    now: datetime.datetime,
    *,
    decided_on: datetime.date | None = None,
    effective_on: datetime.date | None = None,
    summary: str = "",
) -> tuple[list[str], dict[str, Any]]:
    errors: dict[str, str] = {}
    published = _decision_date(r, now, decided_on, errors)
    earliest_use = None
    if r.comment_period_opened_on is not None:
        earliest_use = deadlines.due_on(
            r.ordinance, Deadline.Kind.POLICY_BEFORE_USE, r.comment_period_opened_on
        )
    effective = effective_on or max(published, earliest_use or published)
    if effective < published:
        errors["effective_on"] = (
            f"Use cannot begin before the policy is published on {published.isoformat()}."
        )
    elif earliest_use is not None and effective < earliest_use:
        errors["effective_on"] = (
            f"The draft policy was posted on {r.comment_period_opened_on}; under the ordinance use may "
            f"begin on {earliest_use.isoformat()} at the earliest."
        )
    if errors:
        raise ValidationError(errors)
    Decision.objects.create(
        request=r,
        outcome=Decision.Outcome.PUBLISHED,
        decided_on=published,
        effective_on=effective,
        summary=summary.strip(),
        language=r.language,
    )
    return [], {"decided_on": published, "effective_on": effective}


@handles("expire")
def _expire(r: Request, now: datetime.datetime) -> tuple[list[str], dict[str, Any]]:
    if (reason := not_yet("expire", r, now)) is not None:
        raise TransitionRefused(reason)
    return [], {"expires_on": r.decision.expires_on}


# ---------------------------------------------------------------------------
# Deadlines the portal keeps on schedule (`manage.py run_deadlines`)
# ---------------------------------------------------------------------------
#
# Each selects its candidates, then runs each through the workflow as the portal itself
# (by=None). The workflow locks the row and checks again, so a record someone else has
# just dealt with (staff, or another run at the same moment) is refused and skipped:
# running twice, or twice at once, changes each record once and writes one Event.


def _run_scheduled(name: str, candidates: Iterable[Request], now: datetime.datetime) -> list[Request]:
    done = []
    for candidate in candidates:
        try:
            done.append(perform(name, candidate, by=None, now=now))
        except TransitionRefused:
            continue
    return done


def expire_due(now: datetime.datetime | None = None) -> list[Request]:
    """Expire every approval whose term ended before today."""
    now = now or timezone.now()
    due = Request.objects.filter(
        status__in=Request.APPROVED_STATES, decision__expires_on__lt=_today(now)
    ).order_by("pk")
    return _run_scheduled("expire", due, now)


def close_comment_periods_due(now: datetime.datetime | None = None) -> list[Request]:
    """Close every public comment period whose last day was before today."""
    now = now or timezone.now()
    due = Request.objects.filter(
        status__in=TRANSITIONS["close_comment_period"].sources,
        comment_period_opened_on__isnull=False,
        comment_period_closed_on__isnull=True,
        comment_period_ends_on__lt=_today(now),
    ).order_by("pk")
    return _run_scheduled("close_comment_period", due, now)


def proceed_after_silence_due(now: datetime.datetime | None = None) -> list[Request]:
    """Go on with every request whose advisory body let the time its law gives it pass."""
    now = now or timezone.now()
    today = _today(now)
    waiting = (
        Request.objects.filter(
            status=S.ADVISORY_REVIEW,
            advisory_referred_on__isnull=False,
            ordinance__deadlines__kind=Deadline.Kind.ADVISORY_SILENCE,
        )
        .select_related("ordinance")
        .prefetch_related("ordinance__deadlines")
        .order_by("pk")
        .distinct()
    )
    due = [r for r in waiting if (ends := advisory_silence_ends_on(r, today)) is not None and ends < today]
    return _run_scheduled("proceed_after_silence", due, now)


def mark_conditions_overdue(now: datetime.datetime | None = None) -> list[Condition]:
    """
    Mark overdue every open condition whose due date was before today, one Event each.
    Only conditions of approvals still standing: those of an approval revoked or expired
    no longer bind the agency, so they stay as they were.
    """
    now = now or timezone.now()
    today = _today(now)
    due = Condition.objects.filter(
        status=Condition.Status.OPEN,
        due_on__lt=today,
        decision__request__status__in=Request.ACTIVE_STATES,
    ).select_related("decision__request")

    def still_due(condition: Condition, request: Request) -> bool:
        return (
            condition.status == Condition.Status.OPEN
            and condition.due_on is not None
            and condition.due_on < today
            and request.status in Request.ACTIVE_STATES
        )

    marked = []
    for condition in due.order_by("due_on", "pk"):
        changed = _change_condition(
            condition, by=None, role=Role.SYSTEM, status=Condition.Status.OVERDUE, now=now, only_if=still_due
        )
        if changed is not None:
            marked.append(condition)  # refreshed by _change_condition, its request still loaded
    return marked


# ---------------------------------------------------------------------------
# Actions that are not transitions but still belong on the record
# ---------------------------------------------------------------------------


def reference(year: int, number: int) -> str:
    """A request's reference: REQ-<year>-<number>, the number four digits at least."""
    return f"REQ-{year}-{number:04d}"


def last_reference_number(year: int) -> int:
    """The highest number given to a request of `year` so far (0 for none); longest first, as text sorts 10 before 9."""
    prefix = reference(year, 0)[: -len("0000")]
    last = (
        Request.objects.filter(reference__startswith=prefix)
        .annotate(length=Length("reference"))
        .order_by("-length", "-reference")
        .values_list("reference", flat=True)
        .first()
    )
    return int(last.removeprefix(prefix)) if last else 0


def _next_reference(year: int) -> str:
    return reference(year, last_reference_number(year) + 1)


# The first key of the advisory lock on a year's reference numbers (the year is the second):
# a fixed number no other lock of the portal uses ("REQ#" in ASCII).
REFERENCE_LOCK = 0x52455123


def _lock_references(year: int) -> None:
    """
    Hold the numbering of `year`'s requests until the transaction ends, so that reading the
    last number and inserting the next one cannot interleave with another writer's: the
    second waits here, then reads the number the first committed. PostgreSQL: a
    transaction-level advisory lock, released by the commit or rollback. SQLite: nothing to
    take, since every transaction there begins by taking the database's single write lock
    (settings: transaction_mode IMMEDIATE), which already puts writers in a queue.
    """
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [REFERENCE_LOCK, year])


def create_draft(*, by: Actor, now: datetime.datetime | None = None, **fields: Any) -> Request:
    """A liaison starts a request for their own agency. Drafts are not public."""
    now = now or timezone.now()
    request = Request(created_at=now, public_updated_at=now, **fields)
    if by is None or not roles.is_liaison_for(by, request.agency) or not isinstance(by, User):
        raise TransitionRefused("Only a liaison of the agency can start a request for it.", code="permission")
    refuse_nul(fields)
    # Assigned only now: an AnonymousUser cannot be assigned to a foreign key.
    request.created_by = by
    request.full_clean(exclude=["reference", "created_by"])
    year = timezone.localdate(now).year
    with transaction.atomic():
        _lock_references(year)
        request.reference = _next_reference(year)
        request.save(force_insert=True)
        _record(request, by=by, role=Role.LIAISON, action=A.CREATE, from_status="", public=False, now=now)
    return request


def agency_may_edit(request: Request, user: Actor) -> bool:
    """Whether `user` may change the agency's fields of `request` now (see `update_draft`)."""
    return request.is_editable and user is not None and roles.is_liaison_for(user, request.agency)


def _locked_for_agency(request: Request, by: Actor) -> Request:
    locked = _locked(request)
    if by is None or not roles.is_liaison_for(by, locked.agency):
        raise TransitionRefused(NOT_PERMITTED.format(action="change"), code="permission")
    if not locked.is_editable:
        raise TransitionRefused(
            NOT_EDITABLE.format(reference=locked.reference, state=locked.get_status_display().lower())
        )
    return locked


def update_draft(request: Request, *, by: Actor, fields: dict[str, Any], note: str = "") -> Request:
    """The agency changes its request while it is a draft or returned to it."""
    unknown = set(fields) - set(Request.AGENCY_FIELDS)
    if unknown:
        raise ValidationError({name: "This field is not the agency's to change." for name in unknown})
    refuse_nul({**fields, "note": note})
    with transaction.atomic():
        locked = _locked_for_agency(request, by)
        changed = [name for name, value in fields.items() if getattr(locked, name) != value]
        counted_under = {"agency_id": locked.agency_id, "ordinance_id": locked.ordinance_id}
        for name in changed:
            setattr(locked, name, fields[name])
        if "agency" in changed and not roles.is_liaison_for(by, locked.agency):  # type: ignore[arg-type]
            raise TransitionRefused(
                "You can move a request only to an agency you are liaison for.", code="permission"
            )
        if not changed:
            return locked
        locked.full_clean(exclude=["created_by"])
        locked.save(update_fields=[*changed, "updated_at"])
        if locked.status != S.DRAFT and {"agency", "ordinance"} & set(changed):
            # A returned request is public: it is counted on its new agency or law instead.
            _count_public(**counted_under, by=-1)
            _count_public(agency_id=locked.agency_id, ordinance_id=locked.ordinance_id, by=1)
        _record(
            locked,
            by=by,
            role=Role.LIAISON,
            action=A.EDIT,
            from_status=locked.status,
            note=note,
            data={"fields": changed},
            public=locked.status != S.DRAFT,
            now=timezone.now(),
        )
    for name in [*changed, "updated_at"]:
        setattr(request, name, getattr(locked, name))
    return locked


def add_note(request: Request, *, by: Actor, note: str, public: bool = False) -> Event:
    """Council staff add a note to the record; internal unless `public`."""
    if not note.strip():
        raise ValidationError({"note": "Write the note."})
    if by is None or not roles.is_staff_reviewer(by):
        raise TransitionRefused(NOT_PERMITTED.format(action="add a note to"), code="permission")
    with transaction.atomic():
        locked = _locked(request)
        # A draft is the agency's alone until it is submitted (Request.objects.in_workspace_of):
        # a note written on it now would surface on the record once it is.
        if locked.status == S.DRAFT:
            raise TransitionRefused(NOT_PERMITTED.format(action="add a note to"), code="permission")
        return _record(
            locked,
            by=by,
            role=Role.STAFF,
            action=A.NOTE,
            from_status=locked.status,
            note=note,
            public=public,
            now=timezone.now(),
        )


CONDITION_NOTE_REQUIRED = "Say why: the note goes on the public record with the change."


def set_condition_status(
    condition: Condition, *, by: Actor, status: str, note: str, now: datetime.datetime | None = None
) -> Condition:
    """
    Council staff record where a condition of approval stands (open, met, overdue or
    waived), with a note saying why; the change and the note go on the public timeline.
    Setting the status it already has writes nothing.
    """
    if by is None or not roles.is_staff_reviewer(by):
        raise TransitionRefused(NOT_PERMITTED.format(action="update conditions of"), code="permission")
    if status not in Condition.Status.values:
        raise ValidationError(
            {
                "status": f"Choose one of: {', '.join(str(label).lower() for label in Condition.Status.labels)}."
            }
        )
    if not (note or "").strip():
        raise ValidationError({"note": CONDITION_NOTE_REQUIRED})
    changed = _change_condition(condition, by=by, role=Role.STAFF, status=status, note=note, now=now)
    return changed or Condition.objects.get(pk=condition.pk)


def _change_condition(
    condition: Condition,
    *,
    by: Actor,
    role: str,
    status: str,
    note: str = "",
    now: datetime.datetime | None = None,
    only_if: Callable[[Condition, Request], bool] | None = None,
) -> Condition | None:
    """
    Set `condition`'s status and write its Event, under the locks of its request and then
    itself (always in that order, so two writers never deadlock). `only_if` re-checks the
    locked rows; returns None when it fails or the status is already `status`.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked_request = _locked(condition.decision.request)
        locked = Condition.objects.select_for_update().get(pk=condition.pk)
        if locked.status == status or (only_if is not None and not only_if(locked, locked_request)):
            return None
        previous = locked.status
        locked.status = status
        locked.status_changed_on = _today(now)
        locked.save(update_fields=["status", "status_changed_on"])
        _record(
            locked_request,
            by=by,
            role=role,
            action=A.CONDITION,
            from_status=locked_request.status,
            note=note,
            data={"condition": locked.pk, "text": locked.text, "old": previous, "new": status},
            public=True,
            now=now,
        )
    condition.status = locked.status
    condition.status_changed_on = locked.status_changed_on
    return locked


def _document_data(attachment: Attachment) -> dict[str, Any]:
    return {
        "document": attachment.pk,
        "title": attachment.title,
        "file": attachment.file.name or "",
        "url": attachment.url,
    }


def save_document(attachment: Attachment, *, by: Actor) -> Attachment:
    """
    The agency adds a document to its request, or replaces one, while it may edit the
    request. Written on the record (internal while the request is a draft).
    """
    with transaction.atomic():
        locked = _locked_for_agency(attachment.request, by)
        adding = attachment.pk is None
        before = None if adding else Attachment.objects.get(pk=attachment.pk)
        attachment.full_clean(exclude=["request"])
        if not attachment.file and not attachment.url:
            raise ValidationError({"file": "Attach a file or give a link."})
        if before is not None and _document_data(before) == {**_document_data(attachment)}:
            return attachment
        attachment.save()
        data = _document_data(attachment)
        if before is not None:
            data["replaces"] = {k: v for k, v in _document_data(before).items() if k != "document"}
        _record(
            locked,
            by=by,
            role=Role.LIAISON,
            action=A.DOCUMENT_ADDED if adding else A.DOCUMENT_REPLACED,
            from_status=locked.status,
            data=data,
            public=locked.status != S.DRAFT,
            now=timezone.now(),
        )
    return attachment


def remove_document(attachment: Attachment, *, by: Actor) -> None:
    """The agency removes a document from a draft; once the council has seen one, it stays."""
    with transaction.atomic():
        locked = _locked_for_agency(attachment.request, by)
        if locked.status != S.DRAFT:
            raise TransitionRefused(
                f"{locked.reference} has been submitted; its documents stay on the record. Add a new one instead."
            )
        data = _document_data(attachment)
        attachment.delete()
        _record(
            locked,
            by=by,
            role=Role.LIAISON,
            action=A.DOCUMENT_REMOVED,
            from_status=locked.status,
            data=data,
            public=False,
            now=timezone.now(),
        )
