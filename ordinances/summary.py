"""
The annual oversight summary: what was requested, decided, withdrawn, expired, revoked,
reported and violated in one year, and what is overdue today, counted from the public
record. Numbers and codes only; `templates/ordinances/summary_body.html` makes the words
and `ordinances.charts` the chart geometry.

Only what the public may see is counted (`Request.objects.public()`, `Event.objects.public()`,
`Comment.objects.published()`, `Violation.objects.public()`, `AnnualReport.objects.public()`,
`EmergencyUse.objects.public()`, `Condition.objects.public()`).

Real and demo records are counted apart, as the agency and technology pages list them apart:
a record is a demo record when it, its agency or its technology is (for a decision, an
event, a comment or a condition: its request). `YearSummary.real` never includes a fictional
record; `YearSummary.demo` is shown in its own, labelled section.

Which year a record belongs to: a request the year it was first submitted; a decision the
year of its `decided_on`; a withdrawal, expiry or revocation the year of its Event (the
record of it), in the city's time zone; an emergency use the year it was used; a violation
the year it was found; an annual report the year it covers; a comment the year its request
was submitted.

`for_year` runs the same eight queries whatever the number of records: each table is
counted once with conditional aggregates (`Count(..., filter=...)`), grouped where a
breakdown is shown.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db.models import Count, F, Min, Q, QuerySet
from django.db.models.functions import ExtractMonth
from django.utils import timezone

from ordinances.models import (
    AnnualReport,
    Comment,
    Condition,
    Decision,
    EmergencyUse,
    Event,
    Ordinance,
    Request,
    Violation,
)

# What became of requests in a year, in the order the charts and tables show them: the
# four decisions, then the ways a request or an approval ends without one.
DECISION_OUTCOMES: tuple[str, ...] = tuple(Decision.Outcome.values)
ENDINGS: dict[str, str] = {
    Event.Action.WITHDRAW.value: Request.Status.WITHDRAWN.value,
    Event.Action.EXPIRE.value: Request.Status.EXPIRED.value,
    Event.Action.REVOKE.value: Request.Status.REVOKED.value,
}
OUTCOMES: tuple[str, ...] = (*DECISION_OUTCOMES, *ENDINGS.values())
MONTHS = range(1, 13)


def _zeros(keys: Iterable[str]) -> dict[str, int]:
    return dict.fromkeys(keys, 0)


@dataclass(frozen=True)
class Figures:
    """One year's counts of one kind of record (real or demo)."""

    # Request.Kind code -> requests first submitted in the year.
    submitted_by_kind: dict[str, int] = field(default_factory=lambda: _zeros(Request.Kind.values))
    # OUTCOMES code -> decisions of that outcome, or requests withdrawn, expired or revoked.
    outcomes: dict[str, int] = field(default_factory=lambda: _zeros(OUTCOMES))
    # One dict like `outcomes` per month, January first.
    outcomes_by_month: tuple[dict[str, int], ...] = field(
        default_factory=lambda: tuple(_zeros(OUTCOMES) for _month in MONTHS)
    )
    emergency_uses: int = 0
    # Of those uses, the ones whose report came in late or is still missing past its due date.
    emergency_reports_late: int = 0
    # Violation.Status code -> published violations found in the year.
    violations_by_status: dict[str, int] = field(default_factory=lambda: _zeros(Violation.Status.values))
    annual_reports_submitted: int = 0
    annual_reports_accepted: int = 0
    # Reports on the year that came in after their due date, or are missing past it.
    annual_reports_late: int = 0
    comments_published: int = 0
    # Overdue today, whatever the year: conditions, emergency-use reports, annual reports.
    overdue_conditions: int = 0
    overdue_emergency_reports: int = 0
    overdue_annual_reports: int = 0

    @property
    def submitted(self) -> int:
        return sum(self.submitted_by_kind.values())

    @property
    def decided(self) -> int:
        return sum(self.outcomes[code] for code in DECISION_OUTCOMES)

    @property
    def approved(self) -> int:
        return (
            self.outcomes[Decision.Outcome.APPROVED]
            + self.outcomes[Decision.Outcome.APPROVED_WITH_CONDITIONS]
        )

    @property
    def denied(self) -> int:
        return self.outcomes[Decision.Outcome.DENIED]

    @property
    def violations(self) -> int:
        return sum(self.violations_by_status.values())

    @property
    def overdue_now(self) -> int:
        return self.overdue_conditions + self.overdue_emergency_reports + self.overdue_annual_reports

    @property
    def has_year_records(self) -> bool:
        """Whether anything at all happened in the year (what is overdue today aside)."""
        return bool(
            self.submitted
            or sum(self.outcomes.values())
            or self.emergency_uses
            or self.violations
            or self.annual_reports_submitted
            or self.annual_reports_late
            or self.comments_published
        )

    @property
    def has_records(self) -> bool:
        return self.has_year_records or bool(self.overdue_now)


@dataclass(frozen=True)
class YearSummary:
    year: int
    # The day "overdue" is counted on: today, in the city's time zone.
    as_of: datetime.date
    real: Figures
    demo: Figures

    @property
    def is_current_year(self) -> bool:
        return self.year == self.as_of.year


def _demo(prefix: str = "") -> Q:
    """A demo record: it, its agency or its technology is one (see `views._split_demo`)."""
    return (
        Q(**{f"{prefix}is_demo": True})
        | Q(**{f"{prefix}agency__is_demo": True})
        | Q(**{f"{prefix}technology__is_demo": True})
    )


def _real_and_demo(name: str, where: Q, demo: Q) -> dict[str, Count]:
    """Two conditional counts of `where`: `real_<name>` without demo records, `demo_<name>` of them alone."""
    return {
        f"real_{name}": Count("pk", filter=where & ~demo),
        f"demo_{name}": Count("pk", filter=where & demo),
    }


def _grouped(rows: Iterable[Mapping[str, object]], key: str) -> dict[str, dict[str, int]]:
    """Rows of `values(key).annotate(real=..., demo=...)` as {"real": {key: n}, "demo": {key: n}}."""
    counts: dict[str, dict[str, int]] = {"real": {}, "demo": {}}
    for row in rows:
        for which in counts:
            value = int(row[which])  # type: ignore[call-overload]
            counts[which][str(row[key])] = counts[which].get(str(row[key]), 0) + value
    return counts


def _public_requests_of(queryset: QuerySet, prefix: str = "request__") -> QuerySet:
    """Rows that belong to a public request (never a draft)."""
    return queryset.exclude(**{f"{prefix}status": Request.Status.DRAFT})


def for_year(year: int, *, today: datetime.date | None = None) -> YearSummary:
    """The summary of `year`, as of `today` (the city's today by default). Eight queries."""
    today = today or timezone.localdate()
    real: dict[str, object] = {}
    demo: dict[str, object] = {}

    # 1. Requests first submitted in the year, by kind.
    rows = (
        Request.objects.public()
        .filter(submitted_at__year=year)
        .values("kind")
        .annotate(real=Count("pk", filter=~_demo()), demo=Count("pk", filter=_demo()))
        .order_by()
    )
    by_kind = _grouped(rows, "kind")
    for which, target in (("real", real), ("demo", demo)):
        target["submitted_by_kind"] = {**_zeros(Request.Kind.values), **by_kind[which]}

    # 2 and 3. Decisions of the year by month and outcome; withdrawals, expiries and
    # revocations (their public Events) by month and action.
    by_month: dict[str, list[dict[str, int]]] = {
        "real": [_zeros(OUTCOMES) for _month in MONTHS],
        "demo": [_zeros(OUTCOMES) for _month in MONTHS],
    }
    decisions = (
        _public_requests_of(Decision.objects.filter(decided_on__year=year))
        .annotate(month=ExtractMonth("decided_on"))
        .values("month", "outcome")
        .annotate(real=Count("pk", filter=~_demo("request__")), demo=Count("pk", filter=_demo("request__")))
        .order_by()
    )
    endings = (
        _public_requests_of(Event.objects.public().filter(action__in=list(ENDINGS), created_at__year=year))
        .annotate(month=ExtractMonth("created_at"))
        .values("month", "action")
        .annotate(real=Count("pk", filter=~_demo("request__")), demo=Count("pk", filter=_demo("request__")))
        .order_by()
    )
    for row in decisions:
        for which in by_month:
            by_month[which][int(row["month"]) - 1][str(row["outcome"])] += int(row[which])
    for row in endings:
        for which in by_month:
            by_month[which][int(row["month"]) - 1][ENDINGS[str(row["action"])]] += int(row[which])
    for which, target in (("real", real), ("demo", demo)):
        months = by_month[which]
        target["outcomes_by_month"] = tuple(months)
        target["outcomes"] = {code: sum(month[code] for month in months) for code in OUTCOMES}

    # 4. Emergency uses of the year, their late reports, and reports overdue today.
    report_in = Q(report__submitted_at__isnull=False)
    overdue_unreported = ~report_in & (Q(overdue_since__isnull=False) | Q(report_due_on__lt=today))
    late = Q(report_due_on__isnull=False) & (
        (report_in & Q(report__submitted_at__date__gt=F("report_due_on"))) | overdue_unreported
    )
    used = Q(used_on__year=year)
    counts = EmergencyUse.objects.public().aggregate(
        **_real_and_demo("emergency_uses", used, _demo()),
        **_real_and_demo("emergency_reports_late", used & late, _demo()),
        **_real_and_demo(
            "overdue_emergency_reports", Q(report_due_on__isnull=False) & overdue_unreported, _demo()
        ),
    )

    # 5. Annual reports on the year: submitted, accepted, late; and reports overdue today.
    submitted = Q(submitted_at__isnull=False)
    on_year = Q(year=year)
    counts |= AnnualReport.objects.public().aggregate(
        **_real_and_demo("annual_reports_submitted", on_year & submitted, _demo()),
        **_real_and_demo(
            "annual_reports_accepted", on_year & Q(status=AnnualReport.Status.ACCEPTED), _demo()
        ),
        **_real_and_demo(
            "annual_reports_late",
            on_year
            & ((submitted & Q(submitted_at__date__gt=F("due_on"))) | (~submitted & Q(due_on__lt=today))),
            _demo(),
        ),
        **_real_and_demo("overdue_annual_reports", ~submitted & Q(due_on__lt=today), _demo()),
    )

    # 6. Conditions overdue today: marked overdue, or still open past their due date.
    overdue = Q(status=Condition.Status.OVERDUE) | Q(status=Condition.Status.OPEN, due_on__lt=today)
    counts |= Condition.objects.public().aggregate(
        **_real_and_demo("overdue_conditions", overdue, _demo("decision__request__"))
    )

    # 7. Published comments on the requests submitted in the year.
    counts |= _public_requests_of(Comment.objects.published()).aggregate(
        **_real_and_demo("comments_published", Q(request__submitted_at__year=year), _demo("request__"))
    )

    # 8. Published violations found in the year, by where their investigation stands.
    violation_rows = (
        Violation.objects.public()
        .filter(found_on__year=year)
        .values("status")
        .annotate(real=Count("pk", filter=~_demo()), demo=Count("pk", filter=_demo()))
        .order_by()
    )
    by_status = _grouped(violation_rows, "status")
    for which, target in (("real", real), ("demo", demo)):
        target["violations_by_status"] = {**_zeros(Violation.Status.values), **by_status[which]}

    for name, value in counts.items():
        which, _sep, key = name.partition("_")
        (real if which == "real" else demo)[key] = int(value or 0)
    return YearSummary(year=year, as_of=today, real=Figures(**real), demo=Figures(**demo))  # type: ignore[arg-type]


def first_year() -> int:
    """The year of the earliest date any ordinance carries (introduced, adopted, in effect); this year if none."""
    dates = Ordinance.objects.aggregate(
        introduced=Min("introduced_on"), adopted=Min("adopted_on"), effective=Min("effective_on")
    )
    known = [day for day in dates.values() if day is not None]
    return min(known).year if known else timezone.localdate().year


def years_available() -> list[int]:
    """Every year a summary exists for, newest first: from the first ordinance's year to this one."""
    this_year = timezone.localdate().year
    return list(range(this_year, min(first_year(), this_year) - 1, -1))
