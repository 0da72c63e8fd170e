"""
Keyset pages of the annual reports list: the latest year first, then by agency and
technology name, the same order at every size of the record.

The order names columns of other tables (the agency's and the technology's names), which
no index of the reports table can hold, so one query over every year would join and sort
every public report to find the first 25. Within one year the database can do better: it
walks the agencies by name (their unique index), takes each one's reports of that year from
`annual_report_year_agency`, and stops once it has a page. So a page is read a year at a
time: one query for the rows of the year it starts in (that year found in the same query,
`MAX(year)` from the same index), and, only when the year runs out before the page is
full, one more for each earlier year it reaches.

The cursor is the primary key of the boundary report (`?after=4812`, `?before=4790`); its
year and names are read back in one query. One that names no public report shows the first
page. As on the requests list (`ordinances.pagination`), the count stops at `COUNT_LIMIT`.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet, Subquery
from django.http import QueryDict

from ordinances.models import AnnualReport
from ordinances.pagination import KeysetPage, count_up_to_limit, keyset_page

# Within a year, agency then technology by name, the primary key breaking ties.
_NAMES = ("agency__name", "technology__name", "pk")
_NAMES_REVERSED = ("-agency__name", "-technology__name", "-pk")


def _cursor_row(queryset: QuerySet[AnnualReport], value: str | None) -> tuple[int, str, str, int] | None:
    """The (year, agency name, technology name, pk) of the report a cursor names, if public and listed."""
    if not value or not value.isdigit() or not 0 < int(value) < 2**63:
        return None
    found = queryset.filter(pk=int(value)).values_list("year", "agency__name", "technology__name", "pk")
    return found.first()


def _beyond(boundary: tuple[int, str, str, int], *, after: bool) -> Q:
    """The reports of the boundary's year past it in name order (the first term bounds the agency index scan)."""
    _, agency, technology, pk = boundary
    if after:
        return Q(agency__name__gte=agency) & (
            Q(agency__name__gt=agency)
            | Q(technology__name__gt=technology)
            | (Q(technology__name=technology) & Q(pk__gt=pk))
        )
    return Q(agency__name__lte=agency) & (
        Q(agency__name__lt=agency)
        | Q(technology__name__lt=technology)
        | (Q(technology__name=technology) & Q(pk__lt=pk))
    )


def _next_year(listed: QuerySet[AnnualReport], year: int | None, *, older: bool) -> Subquery:
    """
    The next year with a listed report, older or newer than `year` (the latest when None),
    as a subquery read from `annual_report_year_agency`: NULL, so no rows, when there is none.
    """
    if year is not None:
        listed = listed.filter(year__lt=year) if older else listed.filter(year__gt=year)
    return Subquery(listed.order_by("-year" if older else "year").values("year")[:1])


def _walk(
    listed: QuerySet[AnnualReport], boundary: tuple[int, str, str, int] | None, want: int, *, older: bool
) -> list[AnnualReport]:
    """
    Up to `want` reports past the boundary towards older years (`older`) or newer ones (from
    the latest year when there is no boundary), in the walk's order (towards newer years,
    names reversed): one query for each year reached.
    """
    rows: list[AnnualReport] = []
    year: int | None = boundary[0] if boundary is not None else None
    in_year: int | Subquery = year if year is not None else _next_year(listed, None, older=True)
    first = True
    while len(rows) < want:
        selection = listed.filter(Q(year=in_year))
        if first and boundary is not None:
            selection = selection.filter(_beyond(boundary, after=older))
        found = list(selection.order_by(*(_NAMES if older else _NAMES_REVERSED))[: want - len(rows)])
        rows += found
        if found:
            year = found[-1].year
        elif not first or year is None:
            break  # no year left to reach (or no report at all)
        first = False
        in_year = _next_year(listed, year, older=older)
    return rows


def _cursor_of(report: AnnualReport) -> str:
    return str(report.pk)


def paginate(listed: QuerySet[AnnualReport], query: QueryDict, size: int) -> KeysetPage:
    """The page of `listed` (the public reports, filtered) that the address's `after` or `before` names."""
    counted = count_up_to_limit(listed)
    after = _cursor_row(listed, query.get("after"))
    before = None if after is not None else _cursor_row(listed, query.get("before"))
    if before is not None:
        rows = _walk(listed, before, size + 1, older=False)
    else:
        rows = _walk(listed, after, size + 1, older=True)
    return keyset_page(rows, size, counted, _cursor_of, before=before is not None, after=after is not None)
