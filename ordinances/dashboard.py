"""
What needs action: the review workspace's first page (the admin's index).

`needs_action(user, today, now)` lists what a person should act on, soonest deadline
first, each an `Item` with the record, its date, whether it is overdue and the admin page
to act on it. Council staff see the whole council's work: requests waiting for review,
comment periods ending, hearings coming, decisions possible now, conditions and emergency
reports due or overdue, approvals expiring, annual reports missing or awaiting acceptance,
public comments to moderate and violations not yet published. A liaison sees their own
agencies' work only: drafts and returned requests, conditions of their approvals,
emergency reports and annual reports due, overdue or returned. Someone who is both sees
both.

Values only: the words for each kind of item are made in
`templates/admin/ordinances/needs_action.html`. Every due date comes from the records and
`ordinances.deadlines`; who sees which record from the querysets' own methods. The number
of queries does not grow with the number of items.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.admin.utils import quote
from django.db.models import Count, Exists, IntegerField, Min, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, TruncDate
from django.http import QueryDict
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from ordinances import deadlines, oversight, roles, workflow
from ordinances.models import (
    AnnualReport,
    Comment,
    Condition,
    EmergencyUse,
    ProcessStep,
    Request,
    Violation,
)

if TYPE_CHECKING:
    from ordinances.roles import AnyUser

S = Request.Status

# How far ahead each kind of date is worth a person's attention.
COMMENT_CLOSING_WITHIN = datetime.timedelta(days=14)
HEARING_WITHIN = datetime.timedelta(days=30)
CONDITION_DUE_WITHIN = datetime.timedelta(days=30)
APPROVAL_EXPIRING_WITHIN = datetime.timedelta(days=60)
ANNUAL_REPORT_DUE_WITHIN = datetime.timedelta(days=60)


class What:
    """The kinds of item; `templates/admin/ordinances/needs_action.html` gives each its words."""

    # Council staff
    REVIEW = "review"  # submitted, waiting for staff to take it up
    COMMENT_CLOSING = "comment_closing"
    HEARING = "hearing"
    SCHEDULE_HEARING = "schedule_hearing"  # comment has closed; the hearing comes next
    DECIDE = "decide"  # comment has closed or the hearing was held; the decision comes next
    APPROVAL_EXPIRING = "approval_expiring"
    REPORT_AWAITING_ACCEPTANCE = "report_awaiting_acceptance"
    COMMENTS_TO_MODERATE = "comments_to_moderate"
    VIOLATION_UNPUBLISHED = "violation_unpublished"
    # An agency's liaison
    DRAFT = "draft"
    RETURNED = "returned"
    ANNUAL_REPORT_DUE = "annual_report_due"
    ANNUAL_REPORT_RETURNED = "annual_report_returned"
    # Both: staff chase them, the agency files them
    CONDITION_DUE = "condition_due"
    EMERGENCY_REPORT_DUE = "emergency_report_due"
    ANNUAL_REPORT_MISSING = "annual_report_missing"


class Act:
    """What the item's link does; the template gives each its words."""

    OPEN = "open"
    REVIEW = "review"
    SCHEDULE = "schedule"
    DECIDE = "decide"
    MODERATE = "moderate"
    EDIT = "edit"
    START = "start"  # a report nobody has written yet
    SEE_AGENCY = "see_agency"  # staff: whom to ask for a report nobody has started


# Items whose date is when the wait began (submitted, found), not a deadline.
WAITING_SINCE = frozenset(
    {What.REVIEW, What.REPORT_AWAITING_ACCEPTANCE, What.COMMENTS_TO_MODERATE, What.VIOLATION_UNPUBLISHED}
)
# Items whose date is the moment from which the next step is possible.
POSSIBLE_SINCE = frozenset({What.SCHEDULE_HEARING, What.DECIDE})


@dataclass(frozen=True)
class Item:
    """One thing to act on: what, on which record, by when, and where to act."""

    what: str  # a `What` code
    record: Any  # a Request, Condition, EmergencyUse, AnnualReport, Violation, or an expected report
    deadline: datetime.date | None
    overdue: bool
    url: str  # the admin page to act on it; empty where the admin has none
    act: str = Act.OPEN  # what following `url` does
    count: int = 1  # how many (of the comments held on one request)

    @property
    def waiting_since(self) -> bool:
        return self.what in WAITING_SINCE

    @property
    def possible_since(self) -> bool:
        return self.what in POSSIBLE_SINCE

    @property
    def request(self) -> Request | None:
        """The request the item is about, where there is one."""
        record = self.record
        if isinstance(record, Request):
            return record
        if isinstance(record, Condition):
            return record.decision.request
        return None


def sort_key(item: Item) -> tuple[bool, datetime.date, bool, str]:
    """By deadline, undated last; on the same day the overdue first."""
    return (item.deadline is None, item.deadline or datetime.date.max, not item.overdue, item.what)


def needs_action(user: AnyUser, today: datetime.date, now: datetime.datetime) -> list[Item]:
    """What `user` should act on, ordered by deadline (undated last)."""
    is_staff = roles.is_staff_reviewer(user)
    agency_ids = roles.liaison_agency_ids(user)
    if not is_staff and not agency_ids:
        return []
    items = [
        *_request_items(user, today, now, agency_ids, is_staff=is_staff),
        *_condition_items(user, today),
        *_emergency_items(user, today, agency_ids, is_staff=is_staff),
        *_annual_report_items(user, today, agency_ids, is_staff=is_staff),
    ]
    if is_staff:
        items += _violation_items(user)
    return sorted(items, key=sort_key)


# ---------------------------------------------------------------------------
# Requests: review, comment, hearings, decisions, expiry; drafts and returns
# ---------------------------------------------------------------------------


def _request_items(
    user: AnyUser, today: datetime.date, now: datetime.datetime, agency_ids: set[int], *, is_staff: bool
) -> list[Item]:
    wanted = Q(pk__in=[])
    if is_staff:
        wanted |= (
            Q(status=S.SUBMITTED)
            | Q(status=S.PUBLIC_COMMENT, comment_period_ends_on__lte=today + COMMENT_CLOSING_WITHIN)
            | Q(status=S.PUBLIC_COMMENT, comment_period_closed_on__isnull=False)
            | Q(status=S.HEARING_SCHEDULED, hearing_at__lte=now + HEARING_WITHIN)
            | Q(status__in=Request.ACTIVE_STATES, decision__expires_on__lte=today + APPROVAL_EXPIRING_WITHIN)
            | Q(held_comments__gt=0)
        )
    if agency_ids:
        # A draft report of a recorded emergency use is listed as that use's report.
        wanted |= Q(status=S.DRAFT, emergency_use__isnull=True) | Q(status=S.RETURNED)
    held = (
        Comment.objects.held()
        .filter(request=OuterRef("pk"))
        .order_by()
        .values("request")
        .annotate(n=Count("pk"), first=Min("submitted_at"))
    )
    requests = (
        Request.objects.in_workspace_of(user)
        .annotate(
            held_comments=Coalesce(Subquery(held.values("n")), Value(0), output_field=IntegerField()),
            held_since=Subquery(held.values("first")),
        )
        .filter(wanted)
        .select_related("agency", "technology", "ordinance", "decision")
        .prefetch_related("ordinance__steps", "ordinance__deadlines")
    )
    items: list[Item] = []
    for request in requests:
        url = _request_url(request)
        if is_staff:
            items += _staff_request_items(request, url, today, now)
        if request.agency_id in agency_ids:
            items += _liaison_request_items(request, url, today)
    return items


def _staff_request_items(
    request: Request, url: str, today: datetime.date, now: datetime.datetime
) -> list[Item]:
    items: list[Item] = []
    status = request.status
    if status == S.SUBMITTED:
        dues = [due.due_on for due in deadlines.running(request)]
        submitted = timezone.localdate(request.submitted_at) if request.submitted_at else None
        deadline = min(dues) if dues else submitted
        overdue = bool(dues) and min(dues) < today
        items.append(Item(What.REVIEW, request, deadline, overdue, url, Act.REVIEW))
    elif status == S.PUBLIC_COMMENT:
        ends = request.comment_period_ends_on
        closed = request.comment_period_closed_on is not None or (ends is not None and ends < today)
        if not closed and ends is not None:
            items.append(Item(What.COMMENT_CLOSING, request, ends, False, url))
        elif closed:
            next_step = _next_step_after_facts(request)
            if next_step is not None:
                since = request.comment_period_closed_on or ends
                act = Act.DECIDE if next_step == What.DECIDE else Act.SCHEDULE
                items.append(Item(next_step, request, since, False, _act_url(request, next_step, url), act))
    elif status == S.HEARING_SCHEDULED and request.hearing_at is not None:
        hearing_day = timezone.localdate(request.hearing_at)
        if request.hearing_at > now:
            items.append(Item(What.HEARING, request, hearing_day, False, url))
        elif _next_step_after_facts(request) == What.DECIDE:
            items.append(
                Item(What.DECIDE, request, hearing_day, False, f"{url}#review-next-steps", Act.DECIDE)
            )
    elif status in Request.ACTIVE_STATES:
        decision = getattr(request, "decision", None)
        expires = decision.expires_on if decision is not None else None
        if expires is not None:
            items.append(Item(What.APPROVAL_EXPIRING, request, expires, expires < today, url))
    held = getattr(request, "held_comments", 0)
    if held:
        since = getattr(request, "held_since", None)
        items.append(
            Item(
                What.COMMENTS_TO_MODERATE,
                request,
                timezone.localdate(since) if since else None,
                False,
                _comments_url(request, url),
                Act.MODERATE,
                count=held,
            )
        )
    return items


def _next_step_after_facts(request: Request) -> str | None:
    """
    What the ordinance's path opens once comment has closed or the hearing was held: the
    decision, or the hearing to schedule (`workflow.expected_state` keeps the path's order).
    """
    ordinance = request.ordinance
    decision_step = ordinance.decision_step
    if decision_step is not None and workflow.expected_state(ordinance, decision_step.kind) == request.status:
        return What.DECIDE
    hearing = ProcessStep.Kind.HEARING
    if (
        request.status == S.PUBLIC_COMMENT
        and ordinance.step(hearing) is not None
        and workflow.expected_state(ordinance, hearing) == S.PUBLIC_COMMENT
    ):
        return What.SCHEDULE_HEARING
    return None


def _liaison_request_items(request: Request, url: str, today: datetime.date) -> list[Item]:
    if request.status == S.DRAFT:
        due = request.emergency_report_due_on
        return [Item(What.DRAFT, request, due, due is not None and due < today, url, Act.EDIT)]
    if request.status == S.RETURNED:
        dues = [due.due_on for due in deadlines.running(request)]
        deadline = min(dues) if dues else None
        overdue = deadline is not None and deadline < today
        return [Item(What.RETURNED, request, deadline, overdue, url, Act.EDIT)]
    return []


# ---------------------------------------------------------------------------
# After the decision: conditions, emergency reports, annual reports, violations
# ---------------------------------------------------------------------------


def _condition_items(user: AnyUser, today: datetime.date) -> list[Item]:
    conditions = (
        Condition.objects.due_by(today + CONDITION_DUE_WITHIN)
        .filter(
            decision__request__in=Request.objects.in_workspace_of(user),
            decision__request__status__in=Request.ACTIVE_STATES,
        )
        .select_related("decision__request__agency", "decision__request__technology")
    )
    items = []
    for condition in conditions:
        request = condition.decision.request
        url = f"{_request_url(request)}#condition-{condition.pk}"
        items.append(Item(What.CONDITION_DUE, condition, condition.due_on, condition.is_overdue, url))
    return items


def _emergency_items(
    user: AnyUser, today: datetime.date, agency_ids: set[int], *, is_staff: bool
) -> list[Item]:
    uses = (
        EmergencyUse.objects.report_outstanding()
        .filter(oversight.visible_in_workspace(user))
        .select_related("agency", "technology", "report")
    )
    items = []
    for use in uses:
        due = use.report_due_on
        overdue = use.overdue_since is not None or (due is not None and due < today)
        # The agency writes the report (a request, its form filled in from the use); staff
        # open the record of the use.
        if use.agency_id in agency_ids:
            if use.report is not None:
                url, act = _request_url(use.report), Act.EDIT
            else:
                url, act = _report_form_url(use), Act.START
        else:
            url, act = _admin_url("ordinances_emergencyuse_change", use.pk), Act.OPEN
        items.append(Item(What.EMERGENCY_REPORT_DUE, use, due, overdue, url, act))
    return items


def _annual_report_items(
    user: AnyUser, today: datetime.date, agency_ids: set[int], *, is_staff: bool
) -> list[Item]:
    R = AnnualReport.Status
    unsubmitted = Q(status__in=(R.DRAFT, R.RETURNED))
    wanted = Q(pk__in=[])
    if is_staff:
        wanted |= Q(status=R.SUBMITTED) | (unsubmitted & Q(overdue_since__isnull=False))
    if agency_ids:
        wanted |= Q(agency_id__in=agency_ids) & (
            Q(status=R.RETURNED)
            | (
                unsubmitted
                & (Q(due_on__lte=today + ANNUAL_REPORT_DUE_WITHIN) | Q(overdue_since__isnull=False))
            )
        )
    reports = (
        AnnualReport.objects.filter(wanted)
        .filter(oversight.visible_in_workspace(user))
        .select_related("agency", "technology", "ordinance")
    )
    items = []
    for report in reports:
        url = _admin_url("ordinances_annualreport_change", report.pk)
        overdue = report.overdue_since is not None or (report.status != R.SUBMITTED and report.due_on < today)
        if report.status == R.SUBMITTED:
            submitted = timezone.localdate(report.submitted_at) if report.submitted_at else None
            if is_staff:
                items.append(Item(What.REPORT_AWAITING_ACCEPTANCE, report, submitted, False, url, Act.REVIEW))
        elif report.status == R.RETURNED and report.agency_id in agency_ids:
            items.append(Item(What.ANNUAL_REPORT_RETURNED, report, report.due_on, overdue, url, Act.EDIT))
        elif overdue:
            act = Act.EDIT if report.agency_id in agency_ids else Act.OPEN
            items.append(Item(What.ANNUAL_REPORT_MISSING, report, report.due_on, True, url, act))
        else:
            items.append(Item(What.ANNUAL_REPORT_DUE, report, report.due_on, False, url, Act.EDIT))
    items += _expected_report_items(today, agency_ids, is_staff=is_staff)
    return items


def _expected_report_items(today: datetime.date, agency_ids: set[int], *, is_staff: bool) -> list[Item]:
    """
    Reports the law expects (`oversight.expected_reports`) that nobody has started: for
    staff once they are missing, for the agency's liaison from when they come due.
    """
    items = []
    for expected in oversight.expected_reports(today):
        if expected.report is not None:
            continue  # started: listed from its own row
        missing = expected.is_missing(today)
        own = expected.agency.pk in agency_ids
        if (is_staff and missing) or (own and expected.due_on <= today + ANNUAL_REPORT_DUE_WITHIN):
            what = What.ANNUAL_REPORT_MISSING if missing else What.ANNUAL_REPORT_DUE
            # The agency starts it; staff go to the agency, to see whom to ask.
            if own:
                url, act = _admin_url("ordinances_annualreport_add"), Act.START
            else:
                url, act = _admin_url("ordinances_agency_change", expected.agency.pk), Act.SEE_AGENCY
            items.append(Item(what, expected, expected.due_on, missing, url, act))
    return items


def _violation_items(user: AnyUser) -> list[Item]:
    violations = (
        Violation.objects.filter(published_at__isnull=True)
        .filter(oversight.visible_in_workspace(user))
        .select_related("agency", "technology")
    )
    return [
        Item(
            What.VIOLATION_UNPUBLISHED,
            violation,
            violation.found_on,
            False,
            _admin_url("ordinances_violation_change", violation.pk),
        )
        for violation in violations
    ]


# ---------------------------------------------------------------------------
# Where to act
# ---------------------------------------------------------------------------


def _admin_url(name: str, *args: int | str) -> str:
    """The admin page `name`, or "" while no admin is registered for it."""
    try:
        return reverse(f"admin:{name}", args=[quote(arg) for arg in args])
    except NoReverseMatch:
        return ""


def _request_url(request: Request) -> str:
    return _admin_url("ordinances_request_change", request.pk)


def _act_url(request: Request, what: str, change_url: str) -> str:
    if what == What.SCHEDULE_HEARING:
        return _admin_url("ordinances_request_transition", request.pk, "schedule_hearing") or change_url
    return f"{change_url}#review-next-steps"


def _report_form_url(use: EmergencyUse) -> str:
    """The request form, filled in as the report of `use` (the admin takes initial values from the query)."""
    add = _admin_url("ordinances_request_add")
    if not add:
        return ""
    query = QueryDict(mutable=True)
    query.update(
        {
            "kind": Request.Kind.EMERGENCY_REPORT,
            "agency": str(use.agency_id),
            "technology": str(use.technology_id),
            "ordinance": str(use.ordinance_id),
            "emergency_used_on": use.used_on.isoformat(),
        }
    )
    return f"{add}?{query.urlencode()}"


def _comments_url(request: Request, change_url: str) -> str:
    changelist = _admin_url("ordinances_comment_changelist")
    return f"{changelist}?q={request.reference}" if changelist else change_url


# ---------------------------------------------------------------------------
# The request queue's Deadline and Overdue columns
# ---------------------------------------------------------------------------


def next_deadline(request: Request, today: datetime.date, now: datetime.datetime) -> datetime.date | None:
    """
    The date a request in the queue is next due: for a pending request the earliest of the
    deadlines still running for it (`deadlines.running`, passed ones included), the end of
    its comment period and its hearing; for a draft report of emergency use, the report's
    due date; for an approval, its expiry. Needs the ordinance's `deadlines` prefetched and
    the `decision` selected.
    """
    if request.status in Request.PENDING:
        dates = [due.due_on for due in deadlines.running(request)]
        ends = request.comment_period_ends_on
        comment_open = request.status == S.PUBLIC_COMMENT and request.comment_period_closed_on is None
        if comment_open and ends is not None and ends >= today:
            dates.append(ends)
        hearing = request.hearing_at if request.status == S.HEARING_SCHEDULED else None
        if hearing is not None and hearing >= now:
            dates.append(timezone.localdate(hearing))
        return min(dates) if dates else None
    if request.status == S.DRAFT:
        return request.emergency_report_due_on
    if request.status in Request.ACTIVE_STATES:
        decision = getattr(request, "decision", None)
        return decision.expires_on if decision is not None else None
    return None


def overdue_annotations(today: datetime.date) -> dict[str, Exists]:
    """
    Whether a request has a condition overdue (marked, or open past its due date), or is
    the report of a recorded emergency use that was overdue (marked so before it came, or
    filed after the due date recorded with the use): for the queue, in its one query.
    """
    conditions = Condition.objects.filter(decision__request=OuterRef("pk")).filter(
        Q(status=Condition.Status.OVERDUE) | Q(status=Condition.Status.OPEN, due_on__lt=today)
    )
    uses = EmergencyUse.objects.filter(report=OuterRef("pk")).filter(
        Q(overdue_since__isnull=False)
        | Q(report__submitted_at__isnull=True, report_due_on__lt=today)
        | Q(report_due_on__lt=TruncDate("report__submitted_at"))
    )
    return {"has_overdue_condition": Exists(conditions), "has_overdue_emergency_use": Exists(uses)}


def is_overdue(request: Request) -> bool:
    """The queue's Overdue: the request's own report late, or a condition or emergency report overdue."""
    return (
        request.is_overdue
        or bool(getattr(request, "has_overdue_condition", False))
        or bool(getattr(request, "has_overdue_emergency_use", False))
    )
