"""
Hostile parameters in the review workspace (/admin/) answered 400, never 500.

Django's admin passes a list filter's value (`?status__exact=...`) and a search (`?q=...`)
straight to the database, and builds a date from the date hierarchy's `?created_at__year=...`.
Two kinds of value no page of the admin ever sends broke it:

- a NUL byte: PostgreSQL refuses it in any text (psycopg raises ValueError before the query is
  sent), so the changelist answered 500 there, while SQLite happily compared it;
- a date part too large for a C int (`?created_at__year=2147483648`): `datetime()` raises
  OverflowError, which the changelist does not catch (it turns ValueError alone into its
  "?e=1" redirect), so every database answered 500;
- a search of a megabyte: SQLite refuses a LIKE pattern past 50,000 bytes. No one types a
  search longer than the public lists accept (`ordinances.filters.SEARCH_MAX`).

One middleware for the whole admin rather than a mixin on each ModelAdmin: it also covers the
admins Django registers itself (users, groups) and any registered later, and every admin view
(changelist, change form, actions, autocomplete), not only the ones a mixin would remember.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponseBase, QueryDict
from django.urls import reverse

from ordinances.filters import SEARCH_MAX

# Lookups that take part of a date or time: their value must be a small whole number. The
# largest any calendar part needs is a year (datetime.MAXYEAR is 9999).
DATE_PART = re.compile(r"__(year|iso_year|quarter|month|week|week_day|iso_week_day|day|hour|minute|second)$")
DATE_PART_VALUE = re.compile(r"-?[0-9]{1,4}")


def _has_nul(params: QueryDict) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in params.lists())


def _bad_date_parts(params: QueryDict) -> Iterable[str]:
    for key, values in params.lists():
        if DATE_PART.search(key) and not all(DATE_PART_VALUE.fullmatch(value) for value in values):
            yield key


class AdminHostileInputMiddleware:
    """Answer 400 to an admin request holding a NUL byte or a date part no calendar has."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.prefix: str | None = None

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if self.prefix is None:
            # Resolved on first use: the URLconf may import models, not ready at start.
            self.prefix = reverse("admin:index")
        if request.path_info.startswith(self.prefix):
            self.check(request)
        return self.get_response(request)

    def check(self, request: HttpRequest) -> None:
        if "\x00" in request.path_info or _has_nul(request.GET):
            raise BadRequest("NUL byte in an admin address.")
        if any(_bad_date_parts(request.GET)):
            raise BadRequest("Date part out of range in an admin address.")
        if any(len(value) > SEARCH_MAX for value in request.GET.getlist("q")):
            raise BadRequest("Admin search longer than any search a person types.")
        # Form fields only: an uploaded file may hold any bytes.
        if request.method == "POST" and _has_nul(request.POST):
            raise BadRequest("NUL byte in an admin form.")
