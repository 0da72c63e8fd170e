"""
The request workflow: every change of a Request's status happens here, and only here.

`TRANSITIONS` is the whole state machine in one table. Each public function below
(`submit`, `begin_review`, `decide`, ...) runs one transition: it locks the request row,
checks the actor's role and the current state against the table, validates what the
actor supplied, changes the request and writes the Event, all in one transaction. A
refusal raises `TransitionRefused` (wrong state or wrong person) or Django's
`ValidationError` (bad input, with field names) and leaves nothing half-written.

The admin, the public views, the API and management commands call these functions;
none of them sets `Request.status` itself.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Length
from django.utils import timezone

from ordinances import roles
from ordinances.models import Condition, Decision, Event, Request
from ordinances.roles import Role

if TYPE_CHECKING:
    from ordinances.roles import AnyUser

    Actor = AnyUser | None

S = Request.Status
K = Request.Kind

REVIEWED_KINDS = (K.EXCEPTION, K.APPROVAL, K.RENEWAL)
EMERGENCY_KINDS = (K.EMERGENCY_REPORT,)
ALL_KINDS = REVIEWED_KINDS + EMERGENCY_KINDS


@dataclass(frozen=True)
class Transition:
    """One row of the state machine."""

    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    actors: tuple[Role, ...]
    kinds: tuple[str, ...]
    description: str
    # What the actor must supply; the admin asks for these fields.
    needs: tuple[str, ...] = field(default=())
    public: bool = True

    @property
    def actor_labels(self) -> list[str]:
        return [role.label for role in self.actors]

    @property
    def source_labels(self) -> list[str]:
        return [S(s).label for s in self.sources]

    @property
    def target_label(self) -> str:
        return S(self.target).label

    @property
    def kind_labels(self) -> list[str]:
        if self.kinds == ALL_KINDS:
            return ["All requests"]
        return [K(k).label for k in self.kinds]


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
        ),
        Transition(
            "begin_review",
            "Begin review",
            (S.SUBMITTED,),
            S.IN_REVIEW,
            (Role.STAFF,),
            ALL_KINDS,
            "Council staff take the request up and check that it is complete.",
        ),
        Transition(
            "return_to_agency",
            "Return to the agency",
            (S.IN_REVIEW,),
            S.RETURNED,
            (Role.STAFF,),
            ALL_KINDS,
            "Staff send the request back for more information; the agency edits and resubmits it.",
            needs=("reason",),
        ),
        Transition(
            "open_comment_period",
            "Open public comment",
            (S.IN_REVIEW,),
            S.PUBLIC_COMMENT,
            (Role.STAFF,),
            REVIEWED_KINDS,
            "Staff open the public comment period; anyone may comment until it closes.",
            needs=("comment_period_ends_on",),
        ),
        Transition(
            "schedule_hearing",
            "Schedule the hearing",
            (S.PUBLIC_COMMENT,),
            S.HEARING_SCHEDULED,
            (Role.STAFF,),
            REVIEWED_KINDS,
            "Staff schedule the public hearing at which the council decides.",
            needs=("hearing_at",),
        ),
        Transition(
            "approve",
            "Record approval",
            (S.HEARING_SCHEDULED,),
            S.APPROVED,
            (Role.STAFF,),
            REVIEWED_KINDS,
            "The council approves the request for a set term.",
            needs=("votes", "dates"),
        ),
        Transition(
            "approve_with_conditions",
            "Record approval with conditions",
            (S.HEARING_SCHEDULED,),
            S.APPROVED_WITH_CONDITIONS,
            (Role.STAFF,),
            REVIEWED_KINDS,
            "The council approves the request with conditions, each with a due date.",
            needs=("votes", "dates", "conditions"),
        ),
        Transition(
            "deny",
            "Record denial",
            (S.HEARING_SCHEDULED,),
            S.DENIED,
            (Role.STAFF,),
            REVIEWED_KINDS,
            "The council denies the request.",
            needs=("votes",),
        ),
        Transition(
            "withdraw",
            "Withdraw",
            (S.SUBMITTED, S.IN_REVIEW, S.RETURNED, S.PUBLIC_COMMENT, S.HEARING_SCHEDULED),
            S.WITHDRAWN,
            (Role.LIAISON,),
            REVIEWED_KINDS,
            "The agency withdraws its request before the council decides.",
            needs=("reason",),
        ),
        Transition(
            "expire",
            "Mark expired",
            (S.APPROVED, S.APPROVED_WITH_CONDITIONS),
            S.EXPIRED,
            (Role.STAFF, Role.SYSTEM),
            REVIEWED_KINDS,
            "An approval ends at the end of its term unless it is renewed.",
        ),
        Transition(
            "revoke",
            "Revoke approval",
            (S.APPROVED, S.APPROVED_WITH_CONDITIONS),
            S.REVOKED,
            (Role.STAFF,),
            REVIEWED_KINDS,
            "The council revokes an approval before its term ends.",
            needs=("reason",),
        ),
        Transition(
            "accept_report",
            "Accept the report",
            (S.IN_REVIEW,),
            S.ACCEPTED,
            (Role.STAFF,),
            EMERGENCY_KINDS,
            "Staff accept an after-the-fact report of emergency use.",
        ),
        Transition(
            "refer_to_full_review",
            "Refer to full review",
            (S.IN_REVIEW,),
            S.REFERRED,
            (Role.STAFF,),
            EMERGENCY_KINDS,
            "Staff find the emergency use needs the council's full review; "
            "the agency must file an approval request.",
            needs=("reason",),
        ),
    ]
}

DECISION_TRANSITIONS = {
    Decision.Outcome.APPROVED: "approve",
    Decision.Outcome.APPROVED_WITH_CONDITIONS: "approve_with_conditions",
    Decision.Outcome.DENIED: "deny",
}

# Messages, kept here so tests can assert on them.
NOT_PERMITTED = "You are not allowed to {action} this request."
WRONG_STATE = "{reference} is {state}; “{action}” is possible only when it is {allowed}."
WRONG_KIND = "“{action}” does not apply to requests of this kind ({kind})."
REASON_REQUIRED = "Give a reason; it becomes part of the public record."
NOT_EDITABLE = "{reference} is {state}; the agency can change it only as a draft or when returned."


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


def refusal(transition: Transition, request: Request, user: Actor) -> TransitionRefused | None:
    """Why `user` may not make `transition` on `request` now, or None if they may."""
    if not actor_roles(user, request) & set(transition.actors):
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
    return None


def available_transitions(request: Request, user: Actor) -> list[Transition]:
    """The transitions `user` could make on `request` as it stands."""
    return [t for t in TRANSITIONS.values() if refusal(t, request, user) is None]


# ---------------------------------------------------------------------------
# Running a transition
# ---------------------------------------------------------------------------


def _actor_fields(user: Actor) -> dict[str, Any]:
    if user is None:
        return {"actor": None, "actor_name": "system", "actor_role": Role.SYSTEM}
    return {
        "actor": user,
        "actor_name": user.get_username(),
        "actor_role": roles.role_label(user),
    }


def _record(
    request: Request,
    *,
    by: Actor,
    action: str,
    from_status: str,
    note: str,
    public: bool,
    now: datetime.datetime,
) -> Event:
    return Event.objects.create(
        request=request,
        created_at=now,
        action=action,
        from_status=from_status,
        to_status=request.status,
        note=note.strip(),
        is_public=public,
        **_actor_fields(by),
    )


def _locked(request: Request) -> Request:
    return (
        Request.objects.select_for_update(of=("self",))
        .select_related("agency", "ordinance")
        .get(pk=request.pk)
    )


def _run(
    name: str,
    request: Request,
    *,
    by: Actor,
    note: str = "",
    now: datetime.datetime | None = None,
    change: Callable[[Request, datetime.datetime], tuple[list[str], str]] | None = None,
) -> Request:
    """
    Lock, check, change, record. `change` sets the transition's own fields on the locked
    request and returns (changed field names, text for the timeline); it may raise
    ValidationError, which rolls everything back.
    """
    transition = TRANSITIONS[name]
    now = now or timezone.now()
    if "reason" in transition.needs and not note.strip():
        raise ValidationError({"reason": REASON_REQUIRED})
    with transaction.atomic():
        locked = _locked(request)
        if (refused := refusal(transition, locked, by)) is not None:
            raise refused
        changed, summary = change(locked, now) if change else ([], "")
        from_status = locked.status
        locked.status = transition.target
        locked.save(update_fields=["status", "updated_at", *changed])
        text = "\n\n".join(part for part in (summary, note.strip()) if part)
        _record(
            locked,
            by=by,
            action=name,
            from_status=from_status,
            note=text,
            public=transition.public,
            now=now,
        )
    for attr in ["status", "updated_at", *changed]:
        setattr(request, attr, getattr(locked, attr))
    return locked


def submit(request: Request, *, by: Actor, note: str = "", now: datetime.datetime | None = None) -> Request:
    def change(r: Request, now: datetime.datetime) -> tuple[list[str], str]:
        r.full_clean(exclude=["created_by"])
        if r.submitted_at is None:
            r.submitted_at = now
            return ["submitted_at"], ""
        return [], "Resubmitted with the information requested."

    return _run("submit", request, by=by, note=note, now=now, change=change)


def begin_review(
    request: Request, *, by: Actor, note: str = "", now: datetime.datetime | None = None
) -> Request:
    return _run("begin_review", request, by=by, note=note, now=now)


def return_to_agency(
    request: Request, *, by: Actor, reason: str, now: datetime.datetime | None = None
) -> Request:
    return _run("return_to_agency", request, by=by, note=reason, now=now)


def open_comment_period(
    request: Request,
    *,
    by: Actor,
    ends_on: datetime.date | None = None,
    note: str = "",
    now: datetime.datetime | None = None,
) -> Request:
    """Open public comment until `ends_on` (default: the ordinance's comment period)."""

    def change(r: Request, now: datetime.datetime) -> tuple[list[str], str]:
        today = timezone.localdate(now)
        days = r.ordinance.comment_period_days
        earliest = today + datetime.timedelta(days=days or 1)
        end = ends_on
        if end is None:
            if days is None:
                raise ValidationError(
                    {
                        "comment_period_ends_on": "This ordinance sets no comment period; "
                        "enter the date public comment closes."
                    }
                )
            end = earliest
        if end < earliest:
            minimum = f"at least {days} days" if days else "at least one day"
            raise ValidationError(
                {
                    "comment_period_ends_on": f"Public comment must stay open {minimum}; "
                    f"the earliest closing date is {earliest.isoformat()}."
                }
            )
        r.comment_period_ends_on = end
        return ["comment_period_ends_on"], f"Public comment is open until {end.isoformat()}."

    return _run("open_comment_period", request, by=by, note=note, now=now, change=change)


def schedule_hearing(
    request: Request,
    *,
    by: Actor,
    hearing_at: datetime.datetime | None,
    note: str = "",
    now: datetime.datetime | None = None,
) -> Request:
    def change(r: Request, now: datetime.datetime) -> tuple[list[str], str]:
        if hearing_at is None:
            raise ValidationError({"hearing_at": "Enter the date and time of the hearing."})
        hearing_day = timezone.localdate(hearing_at)
        if r.comment_period_ends_on and hearing_day <= r.comment_period_ends_on:
            raise ValidationError(
                {
                    "hearing_at": "The hearing must come after public comment closes on "
                    f"{r.comment_period_ends_on.isoformat()}."
                }
            )
        notice = r.ordinance.hearing_notice_days
        if notice is not None:
            earliest = timezone.localdate(now) + datetime.timedelta(days=notice)
            if hearing_day < earliest:
                raise ValidationError(
                    {
                        "hearing_at": f"The ordinance requires {notice} days' notice of a "
                        f"hearing; the earliest date is {earliest.isoformat()}."
                    }
                )
        r.hearing_at = hearing_at
        local = timezone.localtime(hearing_at)
        return ["hearing_at"], f"Public hearing on {local:%Y-%m-%d at %H:%M}."

    return _run("schedule_hearing", request, by=by, note=note, now=now, change=change)


def decide(
    request: Request,
    *,
    by: Actor,
    outcome: str,
    votes_yes: int,
    votes_no: int,
    votes_abstain: int = 0,
    votes_absent: int = 0,
    effective_on: datetime.date | None = None,
    expires_on: datetime.date | None = None,
    conditions: Sequence[ConditionInput] = (),
    summary: str = "",
    now: datetime.datetime | None = None,
) -> Request:
    """Record the council's decision: approve, approve with conditions, or deny."""
    if outcome not in DECISION_TRANSITIONS:
        raise ValidationError({"outcome": f"Unknown outcome {outcome!r}."})
    name = DECISION_TRANSITIONS[Decision.Outcome(outcome)]
    conditions = [c for c in conditions if c.text.strip()]

    def change(r: Request, now: datetime.datetime) -> tuple[list[str], str]:
        errors: dict[str, str] = {}
        counts = {
            "votes_yes": votes_yes,
            "votes_no": votes_no,
            "votes_abstain": votes_abstain,
            "votes_absent": votes_absent,
        }
        for key, value in counts.items():
            if value is None or value < 0:
                errors[key] = "Enter a vote count of zero or more."
        today = timezone.localdate(now)
        effective, expires = effective_on, expires_on
        if outcome == Decision.Outcome.DENIED:
            effective = expires = None
            if not summary.strip():
                errors["summary"] = REASON_REQUIRED
        else:
            if not errors and votes_yes <= votes_no:
                errors["votes_yes"] = "An approval needs more yes votes than no votes."
            effective = effective or today
            if expires is None:
                term = r.ordinance.approval_term_days or r.requested_term_days
                if term is None:
                    errors["expires_on"] = (
                        "Neither the ordinance nor the request sets a term; enter the expiry date."
                    )
                else:
                    expires = effective + datetime.timedelta(days=term)
            if expires is not None and expires <= effective:
                errors["expires_on"] = "The approval must expire after it takes effect."
        if outcome == Decision.Outcome.APPROVED_WITH_CONDITIONS and not conditions:
            errors["conditions"] = "An approval with conditions needs at least one condition."
        if outcome != Decision.Outcome.APPROVED_WITH_CONDITIONS and conditions:
            errors["conditions"] = "Only an approval with conditions carries conditions."
        if errors:
            raise ValidationError(errors)
        decision = Decision.objects.create(
            request=r,
            outcome=outcome,
            decided_on=today,
            votes_yes=votes_yes,
            votes_no=votes_no,
            votes_abstain=votes_abstain,
            votes_absent=votes_absent,
            effective_on=effective,
            expires_on=expires,
            summary=summary.strip(),
        )
        Condition.objects.bulk_create(
            Condition(decision=decision, text=c.text.strip(), due_on=c.due_on) for c in conditions
        )
        text = f"Vote {decision.vote_summary}."
        if effective and expires:
            text += f" In effect {effective.isoformat()} to {expires.isoformat()}."
        if conditions:
            text += " Conditions: " + "; ".join(
                c.text.strip() + (f" (due {c.due_on.isoformat()})" if c.due_on else "") for c in conditions
            )
        return [], text

    return _run(
        name,
        request,
        by=by,
        note=summary,
        now=now,
        change=change,
    )


def withdraw(request: Request, *, by: Actor, reason: str, now: datetime.datetime | None = None) -> Request:
    return _run("withdraw", request, by=by, note=reason, now=now)


def revoke(request: Request, *, by: Actor, reason: str, now: datetime.datetime | None = None) -> Request:
    return _run("revoke", request, by=by, note=reason, now=now)


def expire(request: Request, *, by: Actor = None, now: datetime.datetime | None = None) -> Request:
    """End an approval whose term is over."""

    def change(r: Request, now: datetime.datetime) -> tuple[list[str], str]:
        expires_on = r.decision.expires_on
        if expires_on is None or expires_on >= timezone.localdate(now):
            raise TransitionRefused(
                f"{r.reference} is approved until "
                f"{expires_on.isoformat() if expires_on else 'further notice'}; "
                "it can be marked expired only after that date."
            )
        return [], f"The approval's term ended on {expires_on.isoformat()}."

    return _run("expire", request, by=by, now=now, change=change)


def expire_due(*, now: datetime.datetime | None = None) -> list[Request]:
    """Expire every approval whose term has ended. Run daily by `expire_approvals`."""
    today = timezone.localdate(now or timezone.now())
    due = Request.objects.filter(status__in=Request.APPROVED_STATES, decision__expires_on__lt=today)
    return [expire(r, by=None, now=now) for r in due]


def accept_report(
    request: Request, *, by: Actor, note: str = "", now: datetime.datetime | None = None
) -> Request:
    return _run("accept_report", request, by=by, note=note, now=now)


def refer_to_full_review(
    request: Request, *, by: Actor, reason: str, now: datetime.datetime | None = None
) -> Request:
    return _run("refer_to_full_review", request, by=by, note=reason, now=now)


# ---------------------------------------------------------------------------
# Actions that are not transitions but still belong on the record
# ---------------------------------------------------------------------------


def _next_reference(year: int) -> str:
    prefix = f"REQ-{year}-"
    last = (
        Request.objects.filter(reference__startswith=prefix)
        .annotate(length=Length("reference"))
        .order_by("-length", "-reference")
        .values_list("reference", flat=True)
        .first()
    )
    number = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{number:04d}"


def create_draft(*, by: Actor, now: datetime.datetime | None = None, **fields: Any) -> Request:
    """A liaison starts a request for their own agency. Drafts are not public."""
    now = now or timezone.now()
    request = Request(created_at=now, **fields)
    if by is None or not roles.is_liaison_for(by, request.agency) or not isinstance(by, User):
        raise TransitionRefused("Only a liaison of the agency can start a request for it.", code="permission")
    # Assigned only now: an AnonymousUser cannot be assigned to a foreign key.
    request.created_by = by
    request.full_clean(exclude=["reference", "created_by"])
    for attempt in range(5):
        request.reference = _next_reference(timezone.localdate(now).year)
        try:
            with transaction.atomic():
                request.save(force_insert=True)
                _record(
                    request,
                    by=by,
                    action="create",
                    from_status="",
                    note="Draft started.",
                    public=False,
                    now=now,
                )
            return request
        except IntegrityError:
            # Someone took this reference between our read and our insert; try the next.
            request.pk = None
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def agency_may_edit(request: Request, user: Actor) -> bool:
    """Whether `user` may change the agency's fields of `request` now (see `update_draft`)."""
    return request.is_editable and user is not None and roles.is_liaison_for(user, request.agency)


def update_draft(request: Request, *, by: Actor, fields: dict[str, Any], note: str = "") -> Request:
    """The agency changes its request while it is a draft or returned to it."""
    unknown = set(fields) - set(Request.AGENCY_FIELDS)
    if unknown:
        raise ValidationError({name: "This field is not the agency's to change." for name in unknown})
    with transaction.atomic():
        locked = _locked(request)
        if by is None or not roles.is_liaison_for(by, locked.agency):
            raise TransitionRefused(NOT_PERMITTED.format(action="change"), code="permission")
        if not locked.is_editable:
            raise TransitionRefused(
                NOT_EDITABLE.format(reference=locked.reference, state=locked.get_status_display().lower())
            )
        changed = [name for name, value in fields.items() if getattr(locked, name) != value]
        for name in changed:
            setattr(locked, name, fields[name])
        if "agency" in changed and not roles.is_liaison_for(by, locked.agency):
            raise TransitionRefused(
                "You can move a request only to an agency you are liaison for.", code="permission"
            )
        if not changed:
            return locked
        locked.full_clean(exclude=["created_by"])
        locked.save(update_fields=[*changed, "updated_at"])
        labels = ", ".join(Request.field_label(n).lower() for n in changed)
        _record(
            locked,
            by=by,
            action="edit",
            from_status=locked.status,
            note=f"Changed: {labels}. {note}".strip(),
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
        return _record(
            locked,
            by=by,
            action="note",
            from_status=locked.status,
            note=note,
            public=public,
            now=timezone.now(),
        )


def set_condition_status(condition: Condition, *, by: Actor, status: str, note: str = "") -> Condition:
    """Council staff record that a condition of approval was met or not met."""
    if status not in Condition.Status.values:
        raise ValidationError({"status": f"Unknown status {status!r}."})
    with transaction.atomic():
        locked_request = _locked(condition.decision.request)
        if by is None or not roles.is_staff_reviewer(by):
            raise TransitionRefused(NOT_PERMITTED.format(action="update conditions of"), code="permission")
        locked = Condition.objects.select_for_update().get(pk=condition.pk)
        if locked.status == status:
            return locked
        locked.status = status
        locked.save(update_fields=["status"])
        _record(
            locked_request,
            by=by,
            action="condition",
            from_status=locked_request.status,
            note=f"Condition “{locked.text}” marked {locked.get_status_display().lower()}. {note}".strip(),
            public=True,
            now=timezone.now(),
        )
    condition.status = status
    return locked
