"""
The home page puts the city first: its laws, what they prohibit and for whom, what awaits a
decision (with its next date), what was decided, and how residents can take part now.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from model_bakery import baker

from ordinances import workflow
from ordinances.models import Agency, CategoryRule, Ordinance, Request, StatutoryException

pytestmark = pytest.mark.django_db


def home(client) -> str:
    return client.get(reverse("ordinances:home")).content.decode()


def section(page: str, heading_id: str) -> str:
    """The part of the page from one heading to the end of its section."""
    return page.split(f'id="{heading_id}"', 1)[1].split("</section>", 1)[0]


def in_days(days: int) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(days=days)


@pytest.fixture
def commenting(make_request, staff):
    """A request whose public comment period opens today (the test ordinance keeps it open 30 days)."""
    request = make_request("in_review", title="Drone with comment open")
    workflow.perform("open_comment_period", request, by=staff)
    request.refresh_from_db()
    return request


@pytest.fixture
def hearing_ahead(make_request, staff):
    """A request whose comment period has closed and whose hearing is 12 days away."""
    request = make_request("public_comment", title="Drone with a hearing ahead")
    workflow.perform(
        "schedule_hearing", request, by=staff, hearing_at=in_days(12), hearing_address="350 South 5th Street"
    )
    request.refresh_from_db()
    return request


def test_the_home_page_names_the_city_from_the_setting(client, settings, ordinance):
    settings.PORTAL_CITY = "Duluth"

    assert "Surveillance technology in Duluth" in home(client)


def test_the_home_page_links_each_ordinance_in_force_and_no_other(client, ordinance):
    repealed = baker.make(Ordinance, file_number="OLD-1", slug="old", status=Ordinance.Status.REPEALED)
    demo = baker.make(
        Ordinance, file_number="DEMO-1", slug="demo", status=Ordinance.Status.IN_EFFECT, is_demo=True
    )

    laws = section(home(client), "laws-heading")

    assert f'href="{ordinance.get_absolute_url()}"' in laws
    assert repealed.file_number not in laws
    assert demo.file_number not in laws


def test_the_summary_says_in_one_sentence_what_is_prohibited_and_for_whom(client, ordinance, agency_a):
    StatutoryException.objects.create(
        ordinance=ordinance, slug="phones", title="Unlocking a phone", category="facial_recognition"
    )

    sentence = re.search(r'<p class="portal-summary-sentence">(.*?)</p>', home(client), re.S)

    assert sentence is not None
    assert sentence.group(1).startswith(
        "Minneapolis prohibits every agency its ordinances bind, the Agency A Police included, "
        "from acquiring or using facial recognition, with one exception the law names."
    )
    assert "Unverified" in sentence.group(1)


def test_the_summary_names_no_police_agency_when_none_is_bound(client, ordinance):
    baker.make(Agency, name="County Sheriff", slug="sheriff", kind=Agency.Kind.POLICE, covered=False)

    assert (
        "Minneapolis prohibits every agency its ordinances bind from acquiring or using facial recognition."
        in home(client)
    )


def test_the_summary_lists_every_prohibited_category_once(client, ordinance):
    second = baker.make(Ordinance, file_number="TEST-0002", slug="second", status=Ordinance.Status.IN_EFFECT)
    CategoryRule.objects.create(ordinance=second, category="facial_recognition", rule="prohibited")
    CategoryRule.objects.create(ordinance=second, category="predictive_policing", rule="prohibited")

    assert "from acquiring or using facial recognition and predictive policing." in home(client)


def test_a_demo_ordinance_never_speaks_for_the_city_in_the_summary(client, ordinance):
    ordinance.is_demo = True
    ordinance.save()

    page = home(client)

    assert "prohibits every agency" not in page
    assert "No ordinance of Minneapolis in force prohibits a kind of surveillance technology." in page


def test_requests_awaiting_a_decision_are_listed_but_returned_ones_are_not(client, make_request):
    make_request("in_review", title="Drone under review")
    make_request("returned", title="Drone sent back to the agency")

    awaiting = section(home(client), "pending-heading")

    assert "Drone under review" in awaiting
    assert "Drone sent back to the agency" not in awaiting


def test_decided_requests_are_not_awaiting_a_decision(client, make_request):
    make_request("approved", title="Approved drone")

    assert "Approved drone" not in section(home(client), "pending-heading")


def test_awaiting_a_decision_means_pending_except_returned_to_the_agency():
    assert set(Request.AWAITING_DECISION) == set(Request.PENDING) - {Request.Status.RETURNED}


def test_a_request_in_public_comment_shows_the_day_comment_closes_as_its_next_date(client, commenting):
    awaiting = section(home(client), "pending-heading")

    closes = commenting.comment_period_ends_on.isoformat()
    assert f'Public comment closes: <time datetime="{closes}">' in awaiting


def test_a_request_with_a_hearing_ahead_shows_the_hearing_as_its_next_date(client, hearing_ahead):
    awaiting = section(home(client), "pending-heading")

    moment = timezone.localtime(hearing_ahead.hearing_at).isoformat()
    assert f'Public hearing: <time datetime="{moment}">' in awaiting


def test_a_request_with_no_date_ahead_says_so(client, make_request):
    make_request("in_review", title="Drone under review")

    assert "No date set yet" in section(home(client), "pending-heading")


def test_decided_requests_show_their_outcome_and_decision_date(client, make_request):
    approved = make_request("approved_with_conditions", title="Drone approved with conditions")

    decided = section(home(client), "decided-heading")

    assert "Drone approved with conditions" in decided
    assert ">Approved with conditions</span>" in decided
    assert f'<time datetime="{approved.decision.decided_on.isoformat()}">' in decided


def test_open_comment_periods_are_listed_with_their_end_date(client, commenting, make_request):
    make_request("public_comment", title="Drone whose comment closed")

    take_part = section(home(client), "take-part-heading")

    assert "Drone with comment open" in take_part
    assert f'open until <time datetime="{commenting.comment_period_ends_on.isoformat()}">' in take_part
    assert "Drone whose comment closed" not in take_part


def test_hearings_ahead_are_listed_with_their_time_and_past_ones_are_not(client, hearing_ahead, make_request):
    make_request("hearing_scheduled", title="Drone whose hearing was held")

    take_part = section(home(client), "take-part-heading")

    assert f'<time datetime="{timezone.localtime(hearing_ahead.hearing_at).isoformat()}">' in take_part
    assert "Drone whose hearing was held" not in take_part


def test_every_link_to_follow_the_record_opens_a_page(client, ordinance):
    follow = section(home(client), "follow-heading")

    links = re.findall(r'href="([^"]+)"', follow)

    assert links
    for link in links:
        assert client.get(link).status_code == 200, link
