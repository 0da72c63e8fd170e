"""
Keyset pages for the list that grows with the city's history: the requests.

A numbered page deep in a long list costs what it skips (`OFFSET 50000` reads 50,000 rows
to throw them away) and its "N results" counts the whole selection. A keyset page starts
from the last row the reader saw instead: `?after=<cursor>` is the next, older rows,
`?before=<cursor>` the newer ones, each a WHERE on the list's own index
(`request_public_created` and its siblings), so the thousandth page costs what the first
does, and a request submitted meanwhile never pushes a row onto the next page twice.
The count stops at `COUNT_LIMIT` ("more than 1,000 results").

The cursor is the boundary row's `created_at` and primary key, readable in the address
(`2026-03-01T09:30:00.123456+00:00_4812`). One that cannot be read shows the first page,
as a page number that cannot be read does.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import QueryDict

CURSOR_PARAMETERS = ("after", "before")
COUNT_LIMIT = 1000
# The order of a keyset list: newest first, the primary key breaking ties.
ORDERING = ("-created_at", "-id")


def cursor_of(row: Any) -> str:
    return f"{row.created_at.isoformat()}_{row.pk}"


def read_cursor(value: str | None) -> tuple[datetime.datetime, int] | None:
    """The (moment, primary key) a cursor names, or None when it names none."""
    if not value or "\x00" in value:
        return None
    moment, _, pk = value.rpartition("_")
    try:
        parsed = datetime.datetime.fromisoformat(moment)
        number = int(pk)
    except ValueError:
        return None
    if parsed.tzinfo is None or not 0 < number < 2**63:
        return None
    return parsed, number


@dataclass
class KeysetPage:
    """One page of a keyset list, for `partials/keyset_pagination.html` and the result count."""

    object_list: list[Any]
    count: int  # of the whole selection, up to COUNT_LIMIT
    count_is_limited: bool  # True when the selection holds more than COUNT_LIMIT rows
    next_cursor: str | None  # older rows
    previous_cursor: str | None  # newer rows
    is_keyset = True

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.previous_cursor)


def _older_than(moment: datetime.datetime, pk: int) -> Q:
    # The first term alone bounds the index scan; the second breaks ties at the boundary.
    return Q(created_at__lte=moment) & (Q(created_at__lt=moment) | Q(id__lt=pk))


def _newer_than(moment: datetime.datetime, pk: int) -> Q:
    return Q(created_at__gte=moment) & (Q(created_at__gt=moment) | Q(id__gt=pk))


def count_up_to_limit(queryset: QuerySet) -> int:
    """The selection's rows up to `COUNT_LIMIT + 1`: enough to say "more than 1,000"."""
    # Unordered, so the count stops at its limit by whichever index finds rows fastest.
    return queryset.order_by()[: COUNT_LIMIT + 1].count()


def keyset_page(
    rows: list[Any], size: int, counted: int, cursor: Callable[[Any], str], *, before: bool, after: bool
) -> KeysetPage:
    """
    The page of up to `size + 1` rows read from a boundary away from it: newest first from
    the start or past an `after` cursor (`after`), or, past a `before` cursor (`before`),
    towards newer rows, the nearest first. `counted` is `count_up_to_limit`'s answer and
    `cursor` names a row in an address.
    """
    more = len(rows) > size
    rows = rows[:size]
    if before:
        rows.reverse()
        previous_cursor = cursor(rows[0]) if more and rows else None
        next_cursor = cursor(rows[-1]) if rows else None
    else:
        next_cursor = cursor(rows[-1]) if more else None
        previous_cursor = cursor(rows[0]) if after and rows else None
    return KeysetPage(
        object_list=rows,
        count=min(counted, COUNT_LIMIT),
        count_is_limited=counted > COUNT_LIMIT,
        next_cursor=next_cursor,
        previous_cursor=previous_cursor,
    )


def paginate(queryset: QuerySet, query: QueryDict, size: int) -> KeysetPage:
    """The page of `queryset` (newest first) that the address's `after` or `before` names."""
    after, before = read_cursor(query.get("after")), read_cursor(query.get("before"))
    counted = count_up_to_limit(queryset)
    if before is not None:
        rows = list(queryset.filter(_newer_than(*before)).order_by("created_at", "id")[: size + 1])
    else:
        selection = queryset.filter(_older_than(*after)) if after is not None else queryset
        rows = list(selection.order_by(*ORDERING)[: size + 1])
    return keyset_page(rows, size, counted, cursor_of, before=before is not None, after=after is not None)
