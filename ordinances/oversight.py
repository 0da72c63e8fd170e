"""
Oversight after the decision: emergency (exigent) use, the violations register and annual
surveillance reports. Every change to an `EmergencyUse`, a `Violation` or an
`AnnualReport` happens here, and only here, as the request workflow's do in
`ordinances.workflow`.

Each function checks who is acting (`ordinances.roles`: the liaison of the record's agency,
or council staff; None is the portal itself, on schedule) and where the record stands,
validates the input against the law (the ordinance in force that governs the technology's
category, its deadline rows through `ordinances.deadlines`) and the record (dates in order
and not in the future), then, in one transaction with the record's row locked, saves only
what changed and writes one `OversightEvent` with the facts as data. A refusal raises
`workflow.TransitionRefused` (code "permission" or "state") or a `ValidationError` keyed
by field, and leaves nothing written.

The admin, the public pages, `run_deadlines` and `seed_demo` call these functions; none of
them sets a status, a due date or an overdue mark itself.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from ordinances import deadlines, roles, workflow
from ordinances.models import (
    Agency,
    AnnualReport,
    Deadline,
    Decision,
    EmergencyUse,
    Event,
    Ordinance,
    OversightEvent,
    Request,
    Technology,
    Violation,
    ordinance_rule,
)
from ordinances.roles import Role
from ordinances.workflow import TransitionRefused

if TYPE_CHECKING:
    from ordinances.workflow import Actor

A = OversightEvent.Action
RS = AnnualReport.Status
VS = Violation.Status

# Messages, kept here so tests can assert on them.
NOT_PERMITTED = "You are not allowed to {action}."
REQUIRED = "This is required."
FUTURE_DATE = "This date is in the future."
NOT_IN_FORCE = "{ordinance} is {status}, not in force."
DEMO_LAW = "A fictional demo ordinance cannot govern a real record."
NO_RULE = "{ordinance} has no rule for {category}; choose the ordinance that governs this technology."
ALREADY_RECORDED = "This emergency use of {technology} by {agency} on {day} is already recorded."
ENDED_BEFORE_USE = "The use cannot end before it began on {day}."
FOUND_BEFORE_OCCURRED = "The city cannot have learned of it before it happened on {day}."
REMEDY_NEEDED = "Say what was done about it before marking it remedied."
REMEDIED_ON_NEEDED = "Enter the day it was remedied."
REMEDIED_BEFORE_FOUND = "It cannot have been remedied before the city learned of it on {day}."
REMEDIED_ON_ONLY_IF_REMEDIED = "Only a remedied violation has a day it was remedied."
INVESTIGATION_NEEDED = "Say what the investigation found before marking it unfounded."
ALREADY_PUBLISHED = "This violation was published on {day}; it is public already."
NOT_EXPECTED = (
    "The law expects no annual report on {technology} by {agency} under {ordinance} for {year}: "
    "it expects one for each year an approval of that use is in effect."
)
FUTURE_YEAR = "A report cannot cover a year that has not begun."
REPORT_EXISTS = "The {year} report on {technology} by {agency} is already started; open it to go on."
REPORT_NOT_EDITABLE = (
    "This report is {status}; the agency can change it only before it is submitted or when returned."
)
REPORT_WRONG_STATE = "This report is {status}; “{action}” is possible only when it is {allowed}."
MUST_FILL = "A report must fill this in before it is submitted."
REASON_REQUIRED = "Give a reason; it becomes part of the public record."
NOT_CONTENT = "This field is not part of the report's contents."

# Requests that were approved at some point: their approval may have ended since.
EVER_APPROVED = (
    *Request.APPROVED_STATES,
    Request.Status.EXPIRED,
    Request.Status.REVOKED,
    Request.Status.PUBLISHED,
)
# What staff may record about a violation when they first record it.
VIOLATION_FIELDS = (
    "agency",
    "technology",
    "ordinance",
    "request",
    "description",
    "occurred_on",
    "found_on",
    "how_found",
    "investigation",
    "is_demo",
    "language",
)


# ---------------------------------------------------------------------------
# Shared checks
# ---------------------------------------------------------------------------


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


def _refuse(action: str) -> TransitionRefused:
    return TransitionRefused(NOT_PERMITTED.format(action=action), code="permission")


def _role(by: Actor, agency: Agency | None, action: str, *, liaison: bool, staff: bool) -> Role:
    """The role under which `by` may act on a record of `agency`: its liaison first, then staff."""
    if by is None:
        raise _refuse(action)
    if liaison and agency is not None and roles.is_liaison_for(by, agency):
        return Role.LIAISON
    if staff and roles.is_staff_reviewer(by):
        return Role.STAFF
    raise _refuse(action)


def _user(by: Actor) -> User | None:
    """`by` as a user a foreign key can point to (an AnonymousUser cannot)."""
    return by if isinstance(by, User) else None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _not_future(value: datetime.date | None, today: datetime.date, name: str, errors: dict[str, str]) -> None:
    if value is not None and value > today:
        errors.setdefault(name, FUTURE_DATE)


def _check_law(
    ordinance: Ordinance, technology: Technology, *, is_demo: bool, errors: dict[str, str]
) -> None:
    """The ordinance is in force, may govern this record, and speaks to the technology's category."""
    if ordinance.status not in Ordinance.IN_FORCE:
        errors["ordinance"] = NOT_IN_FORCE.format(
            ordinance=ordinance.file_number, status=ordinance.get_status_display().lower()
        )
    elif ordinance.is_demo and not is_demo:
        errors["ordinance"] = DEMO_LAW
    elif ordinance_rule(ordinance.rules.all(), technology.category) is None:
        errors["ordinance"] = NO_RULE.format(
            ordinance=ordinance.file_number, category=technology.get_category_display().lower()
        )


def _is_demo(given: bool | None, *records: Any) -> bool:
    """A record is a demo when the caller says so, or when its agency or technology is one."""
    if given is not None:
        return bool(given)
    return any(getattr(record, "is_demo", False) for record in records)


def _record(
    *,
    by: Actor,
    role: str,
    action: str,
    now: datetime.datetime,
    emergency_use: EmergencyUse | None = None,
    violation: Violation | None = None,
    annual_report: AnnualReport | None = None,
    from_status: str = "",
    to_status: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
    public: bool = True,
    unnamed: bool = False,
) -> OversightEvent:
    # The display name only, never the login (see workflow._actor_fields); `unnamed`: the
    # role acted, but the person is named elsewhere (the request's own timeline).
    actor = (
        {"actor": None, "actor_name": "", "actor_role": role} if unnamed else workflow._actor_fields(by, role)
    )
    return OversightEvent.objects.create(
        emergency_use=emergency_use,
        violation=violation,
        annual_report=annual_report,
        created_at=now,
        action=action,
        from_status=from_status,
        to_status=to_status,
        data={key: value for key, value in (data or {}).items() if value not in (None, "", [])},
        note=(note or "").strip(),
        is_public=public,
        **actor,
    )


# ---------------------------------------------------------------------------
# Emergency (exigent) use
# ---------------------------------------------------------------------------


def record_emergency_use(
    by: Actor,
    agency: Agency,
    technology: Technology,
    ordinance: Ordinance,
    used_on: datetime.date | None,
    circumstances: str,
    ended_on: datetime.date | None = None,
    now: datetime.datetime | None = None,
    *,
    is_demo: bool | None = None,
    language: str | None = None,
) -> EmergencyUse:
    """
    The agency's liaison (or council staff, who learned of it another way) records a use
    of `technology` without prior approval. Its report falls due by the ordinance's
    emergency-report deadline, counted from `used_on`; the report itself is an
    emergency-use Request, linked when it is submitted (`attach_emergency_report`).
    """
    now = _now(now)
    today = timezone.localdate(now)
    role = _role(by, agency, "record an emergency use for this agency", liaison=True, staff=True)
    demo = _is_demo(is_demo, agency, technology)
    errors: dict[str, str] = {}
    if used_on is None:
        errors["used_on"] = REQUIRED
    _not_future(used_on, today, "used_on", errors)
    _not_future(ended_on, today, "ended_on", errors)
    if used_on is not None and ended_on is not None and ended_on < used_on:
        errors.setdefault("ended_on", ENDED_BEFORE_USE.format(day=used_on.isoformat()))
    if _blank(circumstances):
        errors["circumstances"] = REQUIRED
    _check_law(ordinance, technology, is_demo=demo, errors=errors)
    if errors:
        raise ValidationError(errors)
    assert used_on is not None
    with transaction.atomic():
        # One agency's uses are recorded one at a time, so the same use is not recorded twice.
        Agency.objects.select_for_update().filter(pk=agency.pk).first()
        if EmergencyUse.objects.filter(agency=agency, technology=technology, used_on=used_on).exists():
            raise ValidationError(
                {
                    "used_on": ALREADY_RECORDED.format(
                        technology=technology, agency=agency, day=used_on.isoformat()
                    )
                }
            )
        use = EmergencyUse.objects.create(
            agency=agency,
            technology=technology,
            ordinance=ordinance,
            used_on=used_on,
            ended_on=ended_on,
            circumstances=circumstances.strip(),
            report_due_on=deadlines.due_on(ordinance, Deadline.Kind.EMERGENCY_REPORT, used_on),
            recorded_by=_user(by),
            recorded_at=now,
            is_demo=demo,
            language=language or agency.language,
        )
        _record(
            emergency_use=use,
            by=by,
            role=role,
            action=A.RECORD_EMERGENCY_USE,
            now=now,
            data={"used_on": used_on, "ended_on": ended_on, "report_due_on": use.report_due_on},
        )
    return use


def attach_emergency_report(request: Request, now: datetime.datetime) -> EmergencyUse | None:
    """
    An emergency-use report is being submitted (called from the workflow's submit, inside
    its transaction): link it to the use it reports (same agency and technology, used on
    the day the report names, no report yet), or record the use from the report when
    nobody had. Writes `emergency_report_filed`. Does nothing for other kinds of request
    or for a report already linked (a resubmission).
    """
    if request.kind != Request.Kind.EMERGENCY_REPORT or request.emergency_used_on is None:
        return None
    if EmergencyUse.objects.filter(report=request).exists():
        return None
    with transaction.atomic():
        use = (
            EmergencyUse.objects.select_for_update()
            .filter(
                agency_id=request.agency_id,
                technology_id=request.technology_id,
                used_on=request.emergency_used_on,
                report__isnull=True,
            )
            .order_by("pk")
            .first()
        )
        recorded_from_report = use is None
        if use is None:
            circumstances = "\n\n".join(
                part.strip() for part in (request.purpose, request.justification) if part.strip()
            )
            use = EmergencyUse.objects.create(
                agency_id=request.agency_id,
                technology_id=request.technology_id,
                ordinance_id=request.ordinance_id,
                used_on=request.emergency_used_on,
                circumstances=circumstances,
                report=request,
                report_due_on=request.emergency_report_due_on,
                recorded_at=now,
                is_demo=request.is_demo,
                language=request.language,
            )
        else:
            use.report = request
            use.save(update_fields=["report"])
        filed_on = timezone.localdate(now)
        # Only a liaison submits a report (workflow.TRANSITIONS["submit"]); the submitting
        # person is named on the request's own timeline.
        _record(
            emergency_use=use,
            by=None,
            role=Role.LIAISON,
            unnamed=True,
            action=A.EMERGENCY_REPORT_FILED,
            now=now,
            data={
                "request": request.reference,
                "filed_on": filed_on,
                "report_due_on": use.report_due_on,
                "late": use.report_due_on is not None and filed_on > use.report_due_on,
                "recorded_from_report": recorded_from_report or None,
            },
        )
    return use


def mark_emergency_reports_overdue(*, now: datetime.datetime | None = None) -> list[EmergencyUse]:
    """
    The portal, on schedule (`run_deadlines`): mark each emergency use whose report is past
    due and not submitted as overdue, once. Safe to run again and twice at once: each row
    is locked and checked again before it is marked.
    """
    now = _now(now)
    today = timezone.localdate(now)
    candidates = list(
        EmergencyUse.objects.report_outstanding()
        .filter(report_due_on__lt=today, overdue_since__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    marked: list[EmergencyUse] = []
    for pk in candidates:
        with transaction.atomic():
            use = EmergencyUse.objects.select_for_update(of=("self",)).select_related("report").get(pk=pk)
            if (
                use.overdue_since is not None
                or use.report_submitted
                or use.report_due_on is None
                or use.report_due_on >= today
            ):
                continue
            use.overdue_since = today
            use.save(update_fields=["overdue_since"])
            _record(
                emergency_use=use,
                by=None,
                role=Role.SYSTEM,
                action=A.EMERGENCY_REPORT_OVERDUE,
                now=now,
                data={"report_due_on": use.report_due_on},
            )
            marked.append(use)
    return marked


def emergency_report_state(use: EmergencyUse, today: datetime.date | None = None) -> str:
    """
    Where the report of an emergency use stands, as a code the pages put in words:
    "filed_on_time", "filed_late", "overdue", "due" (not yet, still in time) or
    "no_deadline" (not filed, and the law sets no deadline). Needs `report` loaded.
    """
    today = today or timezone.localdate()
    due = use.report_due_on
    if use.report_submitted:
        assert use.report is not None and use.report.submitted_at is not None
        filed = timezone.localdate(use.report.submitted_at)
        return "filed_late" if due is not None and filed > due else "filed_on_time"
    if due is None:
        return "no_deadline"
    if use.overdue_since is not None or due < today:
        return "overdue"
    return "due"


# ---------------------------------------------------------------------------
# Violations
# ---------------------------------------------------------------------------


def _locked_violation(violation: Violation) -> Violation:
    return (
        Violation.objects.select_for_update(of=("self",))
        .select_related("agency", "technology", "ordinance")
        .get(pk=violation.pk)
    )


def _refresh(target: Any, source: Any, names: Iterable[str]) -> None:
    for name in names:
        setattr(target, name, getattr(source, name))


def record_violation(by: Actor, *, now: datetime.datetime | None = None, **fields: Any) -> Violation:
    """
    Council staff record a breach of an ordinance or of an approval's terms. It stays under
    internal review, out of public view, until staff publish it (`publish_violation`).
    """
    now = _now(now)
    today = timezone.localdate(now)
    unknown = set(fields) - set(VIOLATION_FIELDS)
    if unknown:
        raise ValidationError({name: "This is not recorded with a violation." for name in sorted(unknown)})
    _role(by, None, "record violations", liaison=False, staff=True)
    errors: dict[str, str] = {}
    for name in ("agency", "technology", "ordinance", "description", "found_on", "how_found"):
        if _blank(fields.get(name)):
            errors[name] = REQUIRED
    if errors:
        raise ValidationError(errors)
    agency: Agency = fields["agency"]
    technology: Technology = fields["technology"]
    ordinance: Ordinance = fields["ordinance"]
    approval: Request | None = fields.get("request")
    occurred_on: datetime.date | None = fields.get("occurred_on")
    found_on: datetime.date = fields["found_on"]
    demo = _is_demo(fields.get("is_demo"), agency, technology)
    if fields["how_found"] not in Violation.HowFound.values:
        errors["how_found"] = "Choose how the city learned of it."
    _not_future(occurred_on, today, "occurred_on", errors)
    _not_future(found_on, today, "found_on", errors)
    if occurred_on is not None and found_on < occurred_on:
        errors.setdefault("found_on", FOUND_BEFORE_OCCURRED.format(day=occurred_on.isoformat()))
    _check_law(ordinance, technology, is_demo=demo, errors=errors)
    if approval is not None:
        if approval.agency_id != agency.pk or approval.technology_id != technology.pk:
            errors["request"] = "The approval must be of the same agency and technology."
        elif approval.ordinance_id != ordinance.pk:
            errors["request"] = "The approval must be under the same ordinance."
        elif approval.status not in EVER_APPROVED:
            errors["request"] = (
                f"{approval.reference} is {approval.get_status_display().lower()}; "
                "name an approval, current or ended."
            )
    if errors:
        raise ValidationError(errors)
    violation = Violation(
        agency=agency,
        technology=technology,
        ordinance=ordinance,
        request=approval,
        description=str(fields["description"]).strip(),
        occurred_on=occurred_on,
        found_on=found_on,
        how_found=fields["how_found"],
        investigation=str(fields.get("investigation") or "").strip(),
        recorded_by=_user(by),
        created_at=now,
        is_demo=demo,
        language=fields.get("language") or agency.language,
    )
    try:
        violation.full_clean(exclude=["recorded_by"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
    with transaction.atomic():
        violation.save(force_insert=True)
        _record(
            violation=violation,
            by=by,
            role=Role.STAFF,
            action=A.RECORD_VIOLATION,
            now=now,
            to_status=violation.status,
            data={
                "occurred_on": occurred_on,
                "found_on": found_on,
                "how_found": violation.how_found,
                "request": approval.reference if approval else None,
            },
            public=False,
        )
    return violation


def update_violation(
    violation: Violation,
    by: Actor,
    *,
    status: str | None = None,
    investigation: str | None = None,
    remedy: str | None = None,
    remedied_on: datetime.date | None = None,
    note: str = "",
    now: datetime.datetime | None = None,
) -> Violation:
    """
    Council staff record where the investigation stands: its status, what it found, what
    was done about it. None leaves a value as it is. A remedied violation says what the
    remedy was and when; an unfounded one says what the investigation found.
    """
    now = _now(now)
    today = timezone.localdate(now)
    _role(by, None, "update violations", liaison=False, staff=True)
    if status is not None and status not in VS.values:
        raise ValidationError({"status": f"Unknown status {status!r}."})
    with transaction.atomic():
        locked = _locked_violation(violation)
        new: dict[str, Any] = {
            "status": status if status is not None else locked.status,
            "investigation": investigation.strip() if investigation is not None else locked.investigation,
            "remedy": remedy.strip() if remedy is not None else locked.remedy,
        }
        if new["status"] == VS.REMEDIED:
            new["remedied_on"] = remedied_on if remedied_on is not None else locked.remedied_on
        else:
            new["remedied_on"] = None
        errors: dict[str, str] = {}
        if new["status"] == VS.REMEDIED:
            if not new["remedy"]:
                errors["remedy"] = REMEDY_NEEDED
            if new["remedied_on"] is None:
                errors["remedied_on"] = REMEDIED_ON_NEEDED
            elif new["remedied_on"] > today:
                errors["remedied_on"] = FUTURE_DATE
            elif new["remedied_on"] < locked.found_on:
                errors["remedied_on"] = REMEDIED_BEFORE_FOUND.format(day=locked.found_on.isoformat())
        elif remedied_on is not None:
            errors["remedied_on"] = REMEDIED_ON_ONLY_IF_REMEDIED
        if new["status"] == VS.UNFOUNDED and not new["investigation"]:
            errors["investigation"] = INVESTIGATION_NEEDED
        if errors:
            raise ValidationError(errors)
        changed = [name for name, value in new.items() if getattr(locked, name) != value]
        if not changed and not (note or "").strip():
            return locked
        previous = locked.status
        for name in changed:
            setattr(locked, name, new[name])
        locked.save(update_fields=[*changed, "updated_at"])
        _record(
            violation=locked,
            by=by,
            role=Role.STAFF,
            action=A.UPDATE_VIOLATION,
            now=now,
            from_status=previous,
            to_status=locked.status,
            note=note,
            data={"fields": changed, "remedied_on": locked.remedied_on if "remedied_on" in changed else None},
            public=locked.is_public,
        )
    _refresh(violation, locked, [*changed, "updated_at"])
    return locked


def publish_violation(
    violation: Violation, by: Actor, note: str = "", *, now: datetime.datetime | None = None
) -> Violation:
    """Council staff publish a violation: from now on anyone can read it. Once only."""
    now = _now(now)
    _role(by, None, "publish violations", liaison=False, staff=True)
    with transaction.atomic():
        locked = _locked_violation(violation)
        if locked.published_at is not None:
            raise TransitionRefused(
                ALREADY_PUBLISHED.format(day=timezone.localdate(locked.published_at).isoformat())
            )
        locked.published_at = now
        locked.save(update_fields=["published_at", "updated_at"])
        _record(
            violation=locked,
            by=by,
            role=Role.STAFF,
            action=A.PUBLISH_VIOLATION,
            now=now,
            from_status=locked.status,
            to_status=locked.status,
            note=note,
        )
    _refresh(violation, locked, ["published_at", "updated_at"])
    return locked


# ---------------------------------------------------------------------------
# Annual surveillance reports
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedReport:
    """One annual report the law expects: of an agency, on a technology, under an ordinance, for a year."""

    agency: Agency
    technology: Technology
    ordinance: Ordinance
    year: int
    due_on: datetime.date
    report: AnnualReport | None
    is_demo: bool

    @property
    def key(self) -> tuple[int, int, int, int]:
        return (self.agency.pk, self.technology.pk, self.ordinance.pk, self.year)

    @property
    def submitted(self) -> bool:
        return self.report is not None and self.report.submitted_at is not None

    def is_missing(self, today: datetime.date) -> bool:
        """Past its due date and not submitted."""
        return self.due_on < today and not self.submitted


def _in_effect(approval: Request, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first and last day an approval was in effect, up to `today`."""
    decision: Decision = approval.decision
    start = decision.effective_on or decision.decided_on
    end = today
    if decision.expires_on is not None:
        end = min(end, decision.expires_on)
    revoked_at = getattr(approval, "revoked_at", None)
    if revoked_at is not None:
        end = min(end, timezone.localdate(revoked_at))
    return start, end


def _periods(approval: Request, row: Deadline, today: datetime.date) -> list[tuple[int, datetime.date]]:
    """(year, due date) of each report one approval calls for under its ordinance's deadline row."""
    start, end = _in_effect(approval, today)
    if start > end:
        return []
    if row.counted_from == Deadline.Anchor.FIXED_DAY:
        # One report per calendar year the approval was in effect, due on the fixed day after it.
        return [
            (year, deadlines.row_due_on(row, datetime.date(year + 1, 1, 1)))
            for year in range(start.year, end.year + 1)
        ]
    decision = approval.decision
    anchors: dict[str, datetime.date | None] = {
        Deadline.Anchor.DECISION.value: decision.decided_on,
        Deadline.Anchor.APPROVAL_EFFECTIVE.value: start,
        Deadline.Anchor.SUBMISSION.value: (
            timezone.localdate(approval.submitted_at) if approval.submitted_at else None
        ),
    }
    anchor = anchors.get(str(row.counted_from))
    if anchor is None or not row.amount:
        return []
    # One report per period of the row's length from the anchor, labelled with the year it
    # starts and due at its end: the first, and each later one that began before the
    # approval ended (not one that begins on its last day).
    periods = []
    number = 0
    while (period_start := deadlines.add(anchor, number * row.amount, row.unit)) <= end and (
        number == 0 or period_start < end
    ):
        periods.append((period_start.year, deadlines.row_due_on(row, period_start)))
        number += 1
    return periods


def expected_reports(
    today: datetime.date,
    *,
    agency: Agency | None = None,
    technology: Technology | None = None,
    ordinance: Ordinance | None = None,
) -> list[ExpectedReport]:
    """
    Every annual report the law expects up to `today`, with the report if it exists: for
    each request ever approved under an ordinance with an annual-report deadline row, one
    report per year the approval was in effect (a fixed day each year: due that day of
    the next year) or per period counted from the decision or the approval (due at the
    period's end, labelled with the year it starts). The current year's report is among
    them, due in the future. Three queries, however many approvals.
    """
    approvals = (
        Request.objects.filter(
            status__in=EVER_APPROVED,
            decision__isnull=False,
            ordinance__deadlines__kind=Deadline.Kind.ANNUAL_REPORT,
        )
        .exclude(decision__outcome=Decision.Outcome.DENIED)
        .select_related("agency", "technology", "ordinance", "decision")
        .prefetch_related("ordinance__deadlines")
        .annotate(
            revoked_at=Subquery(
                Event.objects.filter(request=OuterRef("pk"), action=Event.Action.REVOKE)
                .order_by("created_at")
                .values("created_at")[:1]
            )
        )
        .order_by("pk")
    )
    if agency is not None:
        approvals = approvals.filter(agency=agency)
    if technology is not None:
        approvals = approvals.filter(technology=technology)
    if ordinance is not None:
        approvals = approvals.filter(ordinance=ordinance)
    found: dict[tuple[int, int, int, int], dict[str, Any]] = {}
    for approval in approvals:
        row = approval.ordinance.deadline(Deadline.Kind.ANNUAL_REPORT)
        if row is None:  # pragma: no cover - the filter above asks for the row
            continue
        demo = approval.is_demo or approval.agency.is_demo or approval.technology.is_demo
        for year, due in _periods(approval, row, today):
            key = (approval.agency_id, approval.technology_id, approval.ordinance_id, year)
            if key in found:
                # Two approvals of one use (a renewal): the earlier due date holds.
                found[key]["due_on"] = min(found[key]["due_on"], due)
                found[key]["is_demo"] = found[key]["is_demo"] and demo
                continue
            found[key] = {
                "agency": approval.agency,
                "technology": approval.technology,
                "ordinance": approval.ordinance,
                "year": year,
                "due_on": due,
                "is_demo": demo,
            }
    if not found:
        return []
    existing = {
        (r.agency_id, r.technology_id, r.ordinance_id, r.year): r
        for r in AnnualReport.objects.filter(
            agency_id__in={key[0] for key in found},
            ordinance_id__in={key[2] for key in found},
            year__in={key[3] for key in found},
        )
    }
    expected = [ExpectedReport(report=existing.get(key), **values) for key, values in found.items()]
    return sorted(expected, key=lambda e: (e.due_on, e.agency.name, e.technology.name, e.year))


def _expected(
    today: datetime.date, agency: Agency, technology: Technology, ordinance: Ordinance, year: int
) -> ExpectedReport | None:
    for expected in expected_reports(today, agency=agency, technology=technology, ordinance=ordinance):
        if expected.year == year:
            return expected
    return None


def start_report(
    by: Actor,
    agency: Agency,
    technology: Technology,
    ordinance: Ordinance,
    year: int | None,
    *,
    now: datetime.datetime | None = None,
    language: str | None = None,
) -> AnnualReport:
    """
    The agency's liaison starts the annual report the law expects (or expected) of its use
    of `technology` for `year`; its due date comes from `expected_reports`. A draft is not
    public until it is submitted (or marked overdue).
    """
    now = _now(now)
    today = timezone.localdate(now)
    role = _role(by, agency, "start an annual report for this agency", liaison=True, staff=False)
    errors: dict[str, str] = {}
    if year is None:
        errors["year"] = REQUIRED
    elif year > today.year:
        errors["year"] = FUTURE_YEAR
    _check_law(ordinance, technology, is_demo=_is_demo(None, agency, technology), errors=errors)
    if errors:
        raise ValidationError(errors)
    assert year is not None
    expected = _expected(today, agency, technology, ordinance, year)
    if expected is None:
        raise ValidationError(
            {
                "year": NOT_EXPECTED.format(
                    technology=technology, agency=agency, ordinance=ordinance.file_number, year=year
                )
            }
        )
    exists = REPORT_EXISTS.format(year=year, technology=technology, agency=agency)
    if expected.report is not None:
        raise TransitionRefused(exists)
    try:
        with transaction.atomic():
            report = AnnualReport.objects.create(
                agency=agency,
                technology=technology,
                ordinance=ordinance,
                year=year,
                due_on=expected.due_on,
                created_by=_user(by),
                created_at=now,
                is_demo=expected.is_demo,
                language=language or agency.language,
            )
            _record(
                annual_report=report,
                by=by,
                role=role,
                action=A.REPORT_STARTED,
                now=now,
                to_status=report.status,
                data={"year": year, "due_on": report.due_on},
                public=False,
            )
    except IntegrityError as exc:
        # Someone started it between our look and our insert.
        raise TransitionRefused(exists) from exc
    return report


def _locked_report(report: AnnualReport) -> AnnualReport:
    return (
        AnnualReport.objects.select_for_update(of=("self",))
        .select_related("agency", "technology", "ordinance")
        .get(pk=report.pk)
    )


def _wrong_state(report: AnnualReport, action: str, allowed: Iterable[str]) -> TransitionRefused:
    return TransitionRefused(
        REPORT_WRONG_STATE.format(
            status=report.get_status_display().lower(),
            action=action,
            allowed=" or ".join(str(RS(s).label).lower() for s in allowed),
        )
    )


def report_may_edit(report: AnnualReport, user: Actor) -> bool:
    """Whether `user` may change the contents of `report` now (see `update_report`)."""
    return (
        report.status in (RS.DRAFT, RS.RETURNED)
        and user is not None
        and roles.is_liaison_for(user, report.agency)
    )


def update_report(
    report: AnnualReport, by: Actor, fields: dict[str, Any], *, now: datetime.datetime | None = None
) -> AnnualReport:
    """The agency's liaison writes the report's contents, while it is a draft or returned."""
    now = _now(now)
    unknown = set(fields) - set(AnnualReport.CONTENT_FIELDS)
    if unknown:
        raise ValidationError({name: NOT_CONTENT for name in sorted(unknown)})
    with transaction.atomic():
        locked = _locked_report(report)
        _role(by, locked.agency, "change this agency's reports", liaison=True, staff=False)
        if locked.status not in (RS.DRAFT, RS.RETURNED):
            raise TransitionRefused(REPORT_NOT_EDITABLE.format(status=locked.get_status_display().lower()))
        values = {name: value.strip() if isinstance(value, str) else value for name, value in fields.items()}
        changed = [name for name, value in values.items() if getattr(locked, name) != value]
        if not changed:
            return locked
        for name in changed:
            setattr(locked, name, values[name])
        excluded = [f.name for f in AnnualReport._meta.fields if f.name not in changed]
        try:
            locked.clean_fields(exclude=excluded)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        locked.save(update_fields=[*changed, "updated_at"])
        _record(
            annual_report=locked,
            by=by,
            role=Role.LIAISON,
            action=A.REPORT_EDITED,
            now=now,
            from_status=locked.status,
            to_status=locked.status,
            data={"fields": changed},
            public=locked.submitted_at is not None,
        )
    _refresh(report, locked, [*changed, "updated_at"])
    return locked


def missing_report_fields(report: AnnualReport) -> dict[str, str]:
    """What the report must still say before it is submitted; a count of zero is an answer."""
    return {name: MUST_FILL for name in AnnualReport.REQUIRED_AT_SUBMISSION if _blank(getattr(report, name))}


def submit_report(
    report: AnnualReport, by: Actor, note: str = "", *, now: datetime.datetime | None = None
) -> AnnualReport:
    """The agency's liaison submits the report to the council; from now on it is public."""
    now = _now(now)
    allowed = (RS.DRAFT, RS.RETURNED)
    with transaction.atomic():
        locked = _locked_report(report)
        _role(by, locked.agency, "submit this agency's reports", liaison=True, staff=False)
        if locked.status not in allowed:
            raise _wrong_state(locked, "Submit", allowed)
        if missing := missing_report_fields(locked):
            raise ValidationError(missing)
        previous = locked.status
        resubmission = locked.submitted_at is not None
        locked.status = RS.SUBMITTED
        changed = ["status", "updated_at"]
        if not resubmission:
            locked.submitted_at = now
            changed.append("submitted_at")
        locked.save(update_fields=changed)
        filed_on = timezone.localdate(now)
        _record(
            annual_report=locked,
            by=by,
            role=Role.LIAISON,
            action=A.REPORT_SUBMITTED,
            now=now,
            from_status=previous,
            to_status=locked.status,
            note=note,
            data={
                "due_on": locked.due_on,
                "late": filed_on > locked.due_on and not resubmission,
                "resubmission": resubmission or None,
            },
        )
    _refresh(report, locked, changed)
    return locked


def return_report(
    report: AnnualReport, by: Actor, reason: str, *, now: datetime.datetime | None = None
) -> AnnualReport:
    """Council staff send a submitted report back to the agency, saying why."""
    now = _now(now)
    _role(by, None, "return annual reports", liaison=False, staff=True)
    if _blank(reason):
        raise ValidationError({"reason": REASON_REQUIRED})
    with transaction.atomic():
        locked = _locked_report(report)
        if locked.status != RS.SUBMITTED:
            raise _wrong_state(locked, "Return to the agency", (RS.SUBMITTED,))
        locked.status = RS.RETURNED
        locked.save(update_fields=["status", "updated_at"])
        _record(
            annual_report=locked,
            by=by,
            role=Role.STAFF,
            action=A.REPORT_RETURNED,
            now=now,
            from_status=RS.SUBMITTED,
            to_status=locked.status,
            note=reason,
        )
    _refresh(report, locked, ["status", "updated_at"])
    return locked


def accept_report(
    report: AnnualReport, by: Actor, note: str = "", *, now: datetime.datetime | None = None
) -> AnnualReport:
    """Council staff accept a submitted report."""
    now = _now(now)
    _role(by, None, "accept annual reports", liaison=False, staff=True)
    with transaction.atomic():
        locked = _locked_report(report)
        if locked.status != RS.SUBMITTED:
            raise _wrong_state(locked, "Accept", (RS.SUBMITTED,))
        locked.status = RS.ACCEPTED
        locked.accepted_on = timezone.localdate(now)
        locked.save(update_fields=["status", "accepted_on", "updated_at"])
        _record(
            annual_report=locked,
            by=by,
            role=Role.STAFF,
            action=A.REPORT_ACCEPTED,
            now=now,
            from_status=RS.SUBMITTED,
            to_status=locked.status,
            note=note,
            data={"accepted_on": locked.accepted_on},
        )
    _refresh(report, locked, ["status", "accepted_on", "updated_at"])
    return locked


def mark_annual_reports_overdue(*, now: datetime.datetime | None = None) -> list[AnnualReport]:
    """
    The portal, on schedule (`run_deadlines`): for each report the law expects that is
    past due and not submitted, create its row if the agency never started it and mark it
    overdue, once. Safe to run again and twice at once: a row created by the other run is
    found through the unique constraint, and each row is locked and checked again.
    """
    now = _now(now)
    today = timezone.localdate(now)
    marked: list[AnnualReport] = []
    for expected in expected_reports(today):
        if not expected.is_missing(today):
            continue
        if expected.report is not None and expected.report.overdue_since is not None:
            continue
        with transaction.atomic():
            report = expected.report
            if report is None:
                try:
                    with transaction.atomic():
                        report = AnnualReport.objects.create(
                            agency=expected.agency,
                            technology=expected.technology,
                            ordinance=expected.ordinance,
                            year=expected.year,
                            due_on=expected.due_on,
                            created_by=None,
                            created_at=now,
                            is_demo=expected.is_demo,
                            language=expected.agency.language,
                        )
                except IntegrityError:
                    report = AnnualReport.objects.get(
                        agency=expected.agency,
                        technology=expected.technology,
                        ordinance=expected.ordinance,
                        year=expected.year,
                    )
            locked = _locked_report(report)
            if locked.submitted_at is not None or locked.overdue_since is not None:
                continue
            locked.overdue_since = today
            locked.save(update_fields=["overdue_since", "updated_at"])
            _record(
                annual_report=locked,
                by=None,
                role=Role.SYSTEM,
                action=A.REPORT_OVERDUE,
                now=now,
                from_status=locked.status,
                to_status=locked.status,
                data={"year": locked.year, "due_on": locked.due_on},
            )
            marked.append(locked)
    return marked


def public_report_state(report: AnnualReport) -> str:
    """
    Where a public report stands, as a code the pages put in words: "overdue" (not in),
    "submitted", "returned" or "accepted".
    """
    if report.submitted_at is None:
        return "overdue"
    return str(report.status)


def visible_in_workspace(user: Actor) -> Q:
    """
    Which oversight records of an agency `user` works on in the admin, as a filter on
    `agency`: staff and clerks every agency's, a liaison their own agencies'.
    """
    if user is not None and (roles.is_staff_reviewer(user) or roles.in_group(user, roles.CLERKS)):
        return Q()
    agency_ids = roles.liaison_agency_ids(user) if user is not None else set()
    return Q(agency_id__in=agency_ids) if agency_ids else Q(pk__in=[])
