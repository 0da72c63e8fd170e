"""
What residents see of a hearing's place and of conditions of approval: the request page
(room, address, "Join remotely", "Agenda"), the home page's hearings, the calendar's
LOCATION; conditions with their due date and status on the request, agency and
technology pages, overdue ones marked as such, demo ones only among demo records.
"""

from __future__ import annotations

import datetime

import icalendar
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from model_bakery import baker

from ordinances import workflow
from ordinances.models import Condition, Request, Technology

pytestmark = pytest.mark.django_db

ADDRESS = "350 South 5th Street"
REMOTE = "https://meetings.example.org/council/join"
AGENDA = "https://agendas.example.org/council/42"


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def section(html: str, heading_id: str) -> str:
    return html.split(f'id="{heading_id}"', 1)[1].split("</section>", 1)[0]


def in_days(days: int) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(days=days)


@pytest.fixture
def hearing(make_request, staff) -> Request:
    """A request whose hearing, in Room 317 and online, is 12 days away."""
    request = make_request("public_comment", title="Drone with a hearing ahead")
    workflow.perform(
        "schedule_hearing",
        request,
        by=staff,
        hearing_at=in_days(12),
        hearing_room="Room 317",
        hearing_address=ADDRESS,
        hearing_remote_url=REMOTE,
        hearing_agenda_url=AGENDA,
    )
    request.refresh_from_db()
    return request


@pytest.fixture
def approve_with(make_request, staff):
    """An approval of agency A's drone decided 5 days ago, with conditions {text: days from today due}."""

    def make(due: dict[str, int], **fields) -> Request:
        request = make_request("hearing_scheduled", **fields)
        workflow.perform(
            "approve_with_conditions",
            request,
            by=staff,
            now=in_days(-5),
            votes_yes=9,
            votes_no=3,
            conditions=[
                workflow.ConditionInput(text, timezone.localdate() + datetime.timedelta(days=days))
                for text, days in due.items()
            ],
        )
        return request

    return make


# ---------------------------------------------------------------------------
# Where the hearing is
# ---------------------------------------------------------------------------


def test_the_request_page_says_where_the_hearing_is_and_links_to_join_and_the_agenda(client, hearing):
    next_step = section(page(client, hearing.get_absolute_url()), "next-heading")

    assert f"Room 317, {ADDRESS}" in next_step
    assert f'<a class="usa-link" href="{REMOTE}" rel="noopener noreferrer">Join remotely</a>' in next_step
    assert f'<a class="usa-link" href="{AGENDA}" rel="noopener noreferrer">Agenda</a>' in next_step


def test_the_timeline_keeps_the_place_of_the_hearing(client, hearing):
    timeline = section(page(client, hearing.get_absolute_url()), "timeline-heading")

    assert f"At Room 317, {ADDRESS}." in timeline
    assert f'href="{REMOTE}"' in timeline


def test_a_hearing_held_only_online_shows_no_address(client, make_request, staff):
    request = make_request("public_comment")
    workflow.perform("schedule_hearing", request, by=staff, hearing_at=in_days(12), hearing_remote_url=REMOTE)

    next_step = section(page(client, request.get_absolute_url()), "next-heading")

    assert "Where:" not in next_step
    assert "Join remotely" in next_step


def test_the_home_page_lists_each_hearing_with_its_place(client, hearing):
    home = page(client, reverse("ordinances:home"))

    hearings = home.split('id="hearings-heading"', 1)[1].split("</ul>", 1)[0]
    assert f"Room 317, {ADDRESS}</span> (also online)" in hearings


def test_the_calendar_gives_the_hearing_its_location_and_remote_link(client, hearing):
    cal = icalendar.Calendar.from_ical(client.get(reverse("ordinances:calendar")).content)

    (event,) = [e for e in cal.walk("VEVENT") if str(e["uid"]).startswith(f"{hearing.reference}-hearing@")]
    assert str(event["location"]) == f"Room 317, {ADDRESS}"
    assert str(event["conference"]) == REMOTE
    assert event["conference"].params["FEATURE"] == ["AUDIO", "VIDEO"]
    assert f"Join remotely: {REMOTE}" in str(event["description"])
    assert f"Agenda: {AGENDA}" in str(event["description"])


def test_the_calendar_location_of_an_online_hearing_is_its_link(client, make_request, staff):
    request = make_request("public_comment")
    workflow.perform("schedule_hearing", request, by=staff, hearing_at=in_days(12), hearing_remote_url=REMOTE)

    cal = icalendar.Calendar.from_ical(
        client.get(reverse("ordinances:request_calendar", args=[request.reference])).content
    )

    (event,) = [e for e in cal.walk("VEVENT") if "hearing@" in str(e["uid"])]
    assert str(event["location"]) == REMOTE


def test_the_timeline_says_when_public_comment_closed(client, make_request):
    request = make_request("public_comment")
    workflow.perform("close_comment_period", request, by=None)

    timeline = section(page(client, request.get_absolute_url()), "timeline-heading")

    assert "Public comment closed" in timeline
    ends = request.comment_period_ends_on.isoformat()
    assert f'Its last day was <time datetime="{ends}">' in timeline


# ---------------------------------------------------------------------------
# Conditions
# ---------------------------------------------------------------------------


def test_the_request_page_marks_an_overdue_condition_as_overdue(client, approve_with, staff):
    request = approve_with({"Train every operator": -1, "Publish the policy": 30, "Audit the logs": 20})
    audit = Condition.objects.get(text="Audit the logs")
    workflow.set_condition_status(audit, by=staff, status="met", note="Audit published.")

    decision = section(page(client, request.get_absolute_url()), "decision-heading")

    rows = decision.split("<tbody>", 1)[1].split("</tr>")
    overdue = next(row for row in rows if "Train every operator" in row)
    assert '<span class="usa-tag status status--bad">Overdue</span>' in overdue
    met = next(row for row in rows if "Audit the logs" in row)
    assert '<span class="usa-tag status status--ok">Met</span>' in met
    assert "since <time" in met


def test_the_agency_page_lists_the_conditions_of_its_approvals(client, approve_with, agency_a):
    request = approve_with({"Train every operator": -1, "Publish the policy": 30})

    conditions = section(page(client, agency_a.get_absolute_url()), "conditions-heading")

    assert "Train every operator" in conditions
    assert "Publish the policy" in conditions
    assert f'href="{request.get_absolute_url()}">{request.reference}</a>' in conditions
    assert '<span class="usa-tag status status--bad">Overdue</span>' in conditions


def test_the_technology_page_lists_the_conditions_of_its_approvals(client, approve_with, drone):
    approve_with({"Fly only by day": 10})

    conditions = section(page(client, drone.get_absolute_url()), "conditions-heading")

    assert "Fly only by day" in conditions
    assert "Agency A Police" in conditions


def test_conditions_of_another_technology_stay_off_the_technology_page(client, approve_with, drone):
    other = baker.make(Technology, name="Other drone", slug="other-drone", category=drone.category)
    approve_with({"Fly only by day": 10}, technology=other)

    conditions = section(page(client, drone.get_absolute_url()), "conditions-heading")

    assert "Fly only by day" not in conditions
    assert "No approval of this technology in force carries conditions." in conditions


def test_conditions_of_a_revoked_approval_leave_the_agency_page(client, approve_with, agency_a, staff):
    request = approve_with({"Fly only by day": 10})
    workflow.perform("revoke", request, by=staff, reason="Breached.")

    conditions = section(page(client, agency_a.get_absolute_url()), "conditions-heading")

    assert "Fly only by day" not in conditions


def test_a_real_agency_page_shows_demo_conditions_only_among_its_demo_records(client, approve_with, agency_a):
    approve_with({"A real condition": 10})
    approve_with({"A demo condition": 10}, is_demo=True)

    html = page(client, agency_a.get_absolute_url())

    conditions = section(html, "conditions-heading")
    assert "A real condition" in conditions
    assert "A demo condition" not in conditions
    assert "A demo condition" in section(html, "demo-heading")


def test_agency_and_technology_pages_run_the_same_queries_for_2_and_12_conditions(
    client, approve_with, agency_a, drone
):
    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured.captured_queries)

    urls = [agency_a.get_absolute_url(), drone.get_absolute_url()]
    approve_with({"First": 10, "Second": 20})
    small = {url: queries(url) for url in urls}
    for i in range(5):
        approve_with({f"Third {i}": 10, f"Fourth {i}": 20})
    assert {url: queries(url) for url in urls} == small
