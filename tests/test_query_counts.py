"""Each public page runs a fixed number of queries however many rows it shows."""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from model_bakery import baker

from ordinances import workflow
from ordinances.models import Agency, Category, CategoryRule, Ordinance, Technology, TechnologyUse

pytestmark = pytest.mark.django_db

# What an approval request must say before it is submitted.
SUBMISSION_FIELDS = {
    name: f"The agency's {name.replace('_', ' ')}."
    for name in ("justification", "alternatives_considered", "data_collected", "retention", "sharing")
}


@pytest.fixture
def grow(ordinance, agency_a, drone, liaison_a, staff):
    """Add `n` rows of everything the public pages list, through the real workflow."""

    added = itertools.count()

    def add(n: int) -> None:
        for _ in range(n):
            i = next(added)
            extra_ordinance = baker.make(
                Ordinance, slug=f"ord-{i}", file_number=f"F-{i}", status=Ordinance.Status.IN_EFFECT
            )
            CategoryRule.objects.create(
                ordinance=extra_ordinance, category=Category.GUNSHOT_DETECTION, rule="approval_required"
            )
            # Named to sort after agency A and the drone, so the first page of each status
            # board holds the rows with requests (a board loads requests for its page only).
            agency = baker.make(Agency, slug=f"agency-{i}", name=f"Borough {i}")
            technology = baker.make(Technology, slug=f"tech-{i}", name=f"Unit {i}", category=Category.DRONES)
            baker.make(TechnologyUse, agency=agency_a, technology=technology)
            baker.make(TechnologyUse, agency=agency, technology=drone)
            request = workflow.create_draft(
                by=liaison_a,
                kind="approval",
                agency=agency_a,
                technology=drone,
                ordinance=ordinance,
                title=f"Request {i}",
                purpose="Testing query counts.",
                **SUBMISSION_FIELDS,
            )
            workflow.perform("submit", request, by=liaison_a)
            if i % 2:
                workflow.perform("begin_review", request, by=staff)
                workflow.add_note(request, by=staff, note=f"Public note {i}", public=True)

    return add


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.captured_queries)


def page_urls(agency_a, drone, ordinance) -> list[str]:
    return [
        reverse("ordinances:home"),
        reverse("ordinances:ordinance_list"),
        reverse("ordinances:agency_list"),
        reverse("ordinances:technology_list"),
        reverse("ordinances:request_list"),
        reverse("ordinances:request_list") + "?status=submitted&agency=agency-a",
        reverse("ordinances:how_it_works"),
        ordinance.get_absolute_url(),
        agency_a.get_absolute_url(),
        drone.get_absolute_url(),
    ]


def test_list_and_detail_pages_run_the_same_queries_for_5_and_200_rows(
    client, grow, agency_a, drone, ordinance
):
    grow(5)
    small = {url: queries_for(client, url) for url in page_urls(agency_a, drone, ordinance)}
    grow(195)
    large = {url: queries_for(client, url) for url in page_urls(agency_a, drone, ordinance)}
    assert large == small


def test_a_request_timeline_runs_the_same_queries_for_5_and_200_events(client, make_request, staff):
    request = make_request("in_review")
    for i in range(3):
        workflow.add_note(request, by=staff, note=f"note {i}", public=True)
    small = queries_for(client, request.get_absolute_url())
    for i in range(195):
        workflow.add_note(request, by=staff, note=f"note {i}", public=True)
    assert queries_for(client, request.get_absolute_url()) == small


def test_request_visibility_query_is_a_single_query(make_request, django_assert_num_queries):
    make_request("submitted")
    from ordinances.models import Request

    with django_assert_num_queries(1):
        list(Request.objects.visible_to(AnonymousUser()))


def test_pages_showing_dates_ahead_run_the_same_queries_for_2_and_12_requests(
    client, make_request, staff, agency_a, drone
):
    """Open comment periods and hearings ahead: the home page, the boards and a request page."""

    def add(n: int):
        hearing = None
        for _ in range(n):
            commenting = make_request("in_review")
            workflow.perform("open_comment_period", commenting, by=staff)
            hearing = make_request("public_comment")
            workflow.perform(
                "schedule_hearing",
                hearing,
                by=staff,
                hearing_at=timezone.now() + datetime.timedelta(days=12),
                hearing_address="350 South 5th Street",
            )
        return hearing

    hearing = add(2)
    urls = [reverse("ordinances:home"), agency_a.get_absolute_url(), drone.get_absolute_url()]
    urls.append(hearing.get_absolute_url())
    small = {url: queries_for(client, url) for url in urls}
    add(10)
    assert {url: queries_for(client, url) for url in urls} == small


def test_every_public_page_runs_the_same_queries_with_200_agencies_and_2000_technologies(
    client, grow, reference_data, agency_a, drone, face_recognition, ordinance
):
    """
    The reference data's size no longer moves a page: 200 agencies, 2,000 technologies and
    the hub agency's 450 inventory rows cost no query more than a handful of each. The
    face matcher's category is prohibited, so its board reaches every covered agency.
    """
    grow(5)
    urls = [
        *page_urls(agency_a, drone, ordinance),
        face_recognition.get_absolute_url(),
        reverse("ordinances:emergency_use_list"),
        reverse("ordinances:violation_list"),
        reverse("ordinances:annual_report_list"),
        reverse("ordinances:search") + "?q=drone",
    ]
    small = {url: queries_for(client, url) for url in urls}
    reference_data(agencies=200, technologies=2000, hub_uses=450)
    large = {url: queries_for(client, url) for url in urls}
    assert large == small
