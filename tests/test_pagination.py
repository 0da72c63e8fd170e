"""Keyset pages of the request list (ordinances/pagination.py)."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ordinances import pagination
from ordinances.models import Request

pytestmark = pytest.mark.django_db

LIST = reverse("ordinances:request_list")


@pytest.fixture
def seven(make_request, settings):
    """Seven public requests, three of them created at the very same moment, three a page."""
    settings.PORTAL_PAGE_SIZE = 3
    made = [make_request("submitted", title=f"Request {n}") for n in range(7)]
    same = timezone.now() - datetime.timedelta(days=3)
    Request.objects.filter(pk__in=[r.pk for r in made[2:5]]).update(created_at=same)
    return made


def newest_first() -> list[str]:
    return list(Request.objects.public().order_by("-created_at", "-id").values_list("reference", flat=True))


def shown(response) -> list[str]:
    return [req.reference for req in response.context["page"].object_list]


def link(response, rel: str) -> str | None:
    found = re.search(rf'href="([^"]+)"[^>]*rel="{rel}"', response.content.decode())
    return found.group(1).replace("&amp;", "&") if found else None


def test_following_next_shows_every_request_once_in_order(client, seven):
    seen: list[str] = []
    url: str | None = LIST
    while url:
        response = client.get(url if url.startswith("/") else LIST + url)
        seen += shown(response)
        url = link(response, "next")
    assert seen == newest_first()


def test_previous_goes_back_to_the_same_rows(client, seven):
    first = client.get(LIST)
    second = client.get(LIST + link(first, "next"))
    third = client.get(LIST + link(second, "next"))
    back = client.get(LIST + link(third, "prev"))
    assert shown(back) == shown(second)


def test_the_first_page_offers_no_previous_page(client, seven):
    response = client.get(LIST)
    assert link(response, "prev") is None
    assert response.context["page"].previous_cursor is None


def test_the_last_page_offers_no_next_page(client, seven):
    response = client.get(
        LIST, {"after": pagination.cursor_of(Request.objects.public().order_by("created_at", "id")[1])}
    )
    assert shown(response) == newest_first()[-1:]
    assert link(response, "next") is None


def test_a_request_submitted_meanwhile_does_not_push_a_row_onto_the_next_page_twice(
    client, seven, make_request
):
    first = client.get(LIST)
    make_request("submitted", title="Arrived later")
    second = client.get(LIST + link(first, "next"))
    assert not set(shown(first)) & set(shown(second))


def test_the_count_covers_the_whole_selection(client, seven):
    page = client.get(LIST).context["page"]
    assert page.count == 7
    assert not page.count_is_limited


def test_the_count_stops_at_its_limit(client, seven, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 5)
    response = client.get(LIST)
    assert response.context["page"].count_is_limited
    assert b"More than 5 results" in response.content


def test_filters_are_kept_in_the_page_links(client, seven):
    response = client.get(LIST, {"status": "submitted"})
    assert link(response, "next").startswith("?status=submitted&after=")


def test_a_deep_page_costs_the_same_queries_as_the_first(client, seven):
    with CaptureQueriesContext(connection) as first:
        client.get(LIST)
    last = pagination.cursor_of(Request.objects.public().order_by("created_at", "id")[1])
    with CaptureQueriesContext(connection) as deep:
        client.get(LIST, {"after": last})
    assert len(deep) == len(first)


def test_a_cursor_names_a_moment_and_a_row():
    moment = datetime.datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=datetime.UTC)
    assert pagination.read_cursor(f"{moment.isoformat()}_4812") == (moment, 4812)


@pytest.mark.parametrize(
    "value", ["", "4812", "2026-03-01_4812", "2026-03-01T09:30:00+00:00_-1", "2026-03-01T09:30:00+00:00_x"]
)
def test_a_cursor_that_names_nothing_reads_as_none(value):
    assert pagination.read_cursor(value) is None
