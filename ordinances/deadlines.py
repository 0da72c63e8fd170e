"""
Every due date the portal knows, computed from an ordinance's `Deadline` rows.

No deadline lives in code: a law's comment period, hearing notice, silence period,
emergency-report window, longest approval term and report dates are rows the clerk
enters (or `load_process` loads). The workflow's checks, the admin's default dates,
`/how-it-works/` and the ordinance pages all ask this module.

Functions take the ordinance with its `deadlines` (prefetched or not) and dates, and
return dates or None when the law sets no such deadline.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import timezone

if TYPE_CHECKING:
    from ordinances.models import Deadline, Ordinance, Request


def add(start: datetime.date, amount: int, unit: str) -> datetime.date:
    """`start` plus `amount` days or months; a month-end that does not exist clamps to the last day."""
    if unit == "months":
        months = start.month - 1 + amount
        year, month = start.year + months // 12, months % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return datetime.date(year, month, day)
    return start + datetime.timedelta(days=amount)


def _row(ordinance: Ordinance, kind: str) -> Deadline | None:
    return ordinance.deadline(kind)


def due_on(
    ordinance: Ordinance, kind: str, anchor: datetime.date, *, extended: bool = False
) -> datetime.date | None:
    """
    The date `kind` falls due when counted from `anchor` (the moment the row names:
    submission, comment opening, the hearing's notice, the decision, the emergency use...).

    For a fixed day each year it is the first such day on or after `anchor`; for the end
    of each quarter, the deadline after the quarter `anchor` falls in. `extended` adds the
    extension the law allows, if any.
    """
    row = _row(ordinance, kind)
    if row is None:
        return None
    return row_due_on(row, anchor, extended=extended)


def row_due_on(row: Deadline, anchor: datetime.date, *, extended: bool = False) -> datetime.date:
    if row.counted_from == "fixed_day":
        assert row.month is not None and row.day is not None
        due = _fixed_day(anchor.year, row.month, row.day)
        if due < anchor:
            due = _fixed_day(anchor.year + 1, row.month, row.day)
    elif row.counted_from == "quarter_end":
        quarter_end = _quarter_end(anchor)
        due = add(quarter_end, row.amount or 0, row.unit)
    else:
        due = add(anchor, row.amount or 0, row.unit)
    if extended and row.extension_amount:
        due = add(due, row.extension_amount, row.unit)
    return due


def _fixed_day(year: int, month: int, day: int) -> datetime.date:
    return datetime.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _quarter_end(day: datetime.date) -> datetime.date:
    last_month = ((day.month - 1) // 3 + 1) * 3
    return datetime.date(day.year, last_month, calendar.monthrange(day.year, last_month)[1])


def approval_expires_on(
    ordinance: Ordinance, effective_on: datetime.date, requested_term_days: int | None
) -> datetime.date | None:
    """
    When an approval taking effect on `effective_on` ends: the shorter of the law's longest
    term and the term the agency asked for. None when neither sets one.
    """
    candidates = []
    law = due_on(ordinance, "approval_term", effective_on)
    if law is not None:
        candidates.append(law)
    if requested_term_days is not None:
        candidates.append(effective_on + datetime.timedelta(days=requested_term_days))
    return min(candidates) if candidates else None


@dataclass(frozen=True)
class Due:
    """One deadline of one request: which row, counted from what date, due when."""

    kind: str
    anchor: datetime.date
    due_on: datetime.date

    @property
    def label(self) -> str:
        from ordinances.models import Deadline

        return Deadline.Kind(self.kind).label


def next_due(row: Deadline, today: datetime.date | None = None) -> datetime.date | None:
    """For a deadline that recurs (a fixed day each year, each quarter's end), the next one."""
    if row.counted_from not in ("fixed_day", "quarter_end"):
        return None
    today = today or timezone.localdate()
    if row.counted_from == "quarter_end":
        # The quarter just ended may still have its report to come; if not, the current one.
        quarter_start = datetime.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        due = row_due_on(row, quarter_start - datetime.timedelta(days=1))
        return due if due >= today else row_due_on(row, today)
    return row_due_on(row, today)


def for_request(request: Request) -> list[Due]:
    """The deadlines that have started to run for `request`, from the facts on its record."""
    ordinance = request.ordinance
    anchors: dict[str, datetime.date | None] = {
        "submission": timezone.localdate(request.submitted_at) if request.submitted_at else None,
        "advisory_referral": request.advisory_referred_on,
        "comment_opening": request.comment_period_opened_on,
        "hearing_notice": request.hearing_noticed_on,
        "emergency_use": request.emergency_used_on,
    }
    decision = getattr(request, "decision", None) if request.pk else None
    if decision is not None:
        anchors["decision"] = decision.decided_on
        anchors["approval_effective"] = decision.effective_on
    dues = []
    for row in ordinance.deadlines.all():
        anchor = anchors.get(row.counted_from)
        if anchor is not None:
            dues.append(Due(row.kind, anchor, row_due_on(row, anchor)))
    return sorted(dues, key=lambda due: due.due_on)


def running(request: Request) -> list[Due]:
    """
    The deadlines still running for a pending request: those of `for_request` that the
    record has not settled. The comment period's minimum gives way once staff set the day
    comment closes, the hearing notice once the hearing is set, the emergency report once
    it is filed, the advisory body's time once its review is over. A decided or ended
    request has none; its decision carries its dates.
    """
    from ordinances.models import Request

    if request.status not in Request.PENDING:
        return []
    settled = {
        "comment_period": request.comment_period_ends_on is not None,
        "hearing_notice": request.hearing_at is not None,
        "emergency_report": request.submitted_at is not None,
        "advisory_silence": request.status != Request.Status.ADVISORY_REVIEW,
    }
    return [due for due in for_request(request) if not settled.get(due.kind, False)]
