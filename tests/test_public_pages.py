"""Every public page answers anonymous visitors, hides what is not public, and never 500s."""

from __future__ import annotations

import pytest
from django.urls import reverse
from model_bakery import baker

from ordinances import workflow
from ordinances.models import Agency, TechnologyUse

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(make_request, ordinance, agency_a, drone):
    baker.make(TechnologyUse, agency=agency_a, technology=drone, data_sharing_recipients="State patrol")
    return {
        "submitted": make_request("in_review", title="Submitted drone request"),
        "draft": make_request("draft", title="Secret draft plan"),
        "approved": make_request("approved", title="Approved drone request"),
    }


def public_urls(records, ordinance, agency_a, drone) -> list[str]:
    return [
        reverse("ordinances:home"),
        reverse("ordinances:how_it_works"),
        reverse("ordinances:ordinance_list"),
        ordinance.get_absolute_url(),
        reverse("ordinances:agency_list"),
        agency_a.get_absolute_url(),
        reverse("ordinances:technology_list"),
        drone.get_absolute_url(),
        reverse("ordinances:request_list"),
        records["submitted"].get_absolute_url(),
        records["approved"].get_absolute_url(),
        reverse("ordinances:healthz"),
    ]


def test_every_public_url_answers_200_to_anonymous_visitors(client, records, ordinance, agency_a, drone):
    for url in public_urls(records, ordinance, agency_a, drone):
        response = client.get(url)
        assert response.status_code == 200, url


@pytest.mark.parametrize(
    "url",
    ["/ordinances/no-such-law/", "/agencies/nobody/", "/technologies/nothing/", "/requests/REQ-1999-0001/"],
)
def test_unknown_slugs_answer_404_with_a_helpful_page(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert b"We could not find that page" in response.content


def test_a_draft_is_not_listed_for_the_public(client, records):
    response = client.get(reverse("ordinances:request_list"))
    assert b"Submitted drone request" in response.content
    assert b"Secret draft plan" not in response.content


def test_a_draft_detail_page_is_404_for_the_public(client, records):
    response = client.get(records["draft"].get_absolute_url())
    assert response.status_code == 404


def test_a_draft_detail_page_is_404_for_another_agencys_liaison(client, records, liaison_b):
    client.force_login(liaison_b)
    assert client.get(records["draft"].get_absolute_url()).status_code == 404


def test_the_agencys_own_liaison_can_preview_its_draft(client, records, liaison_a):
    client.force_login(liaison_a)
    assert client.get(records["draft"].get_absolute_url()).status_code == 200


def test_drafts_are_not_counted_on_agency_pages(client, records):
    response = client.get(reverse("ordinances:agency_list"))
    assert response.context["page"].object_list[0].request_count == 2


def test_internal_notes_stay_off_the_public_timeline(client, records, staff):
    workflow.add_note(records["submitted"], by=staff, note="Chief called about budget.")
    workflow.add_note(records["submitted"], by=staff, note="Hearing room booked.", public=True)
    response = client.get(records["submitted"].get_absolute_url())
    assert b"Hearing room booked." in response.content
    assert b"Chief called about budget." not in response.content


def test_the_request_list_filters_by_status(client, records):
    response = client.get(reverse("ordinances:request_list"), {"status": "approved"})
    titles = [r.title for r in response.context["page"].object_list]
    assert titles == ["Approved drone request"]


def test_the_request_list_filters_by_agency_slug_and_year(client, records, agency_a):
    year = records["approved"].submitted_at.year
    response = client.get(reverse("ordinances:request_list"), {"agency": agency_a.slug, "year": year})
    assert response.context["page"].count == 2


def test_the_request_list_searches_titles(client, records):
    response = client.get(reverse("ordinances:request_list"), {"q": "approved drone"})
    assert response.context["page"].count == 1


@pytest.mark.parametrize(
    ("url_name", "params", "message"),
    [
        ("request_list", {"status": "banana"}, "Select a valid choice"),
        ("request_list", {"year": "20x1"}, "Enter a whole number"),
        ("request_list", {"agency": "no-such-agency"}, "No agency has the name or address “no-such-agency”."),
        ("request_list", {"status": "draft"}, "Select a valid choice"),
        ("technology_list", {"category": "mind_reading"}, "Select a valid choice"),
        ("agency_list", {"covered": "perhaps"}, ""),
        ("ordinance_list", {"year": "99999"}, "less than or equal to 2100"),
    ],
)
def test_a_bad_filter_value_gets_a_clear_400_not_a_500(client, records, url_name, params, message):
    response = client.get(reverse(f"ordinances:{url_name}"), params)
    if url_name == "agency_list":
        # A boolean filter reads anything it does not recognise as "any".
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert b"These filters could not be applied" in response.content
    assert message.encode() in response.content
    assert len(response.context["page"].object_list) == 0


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999"])
def test_an_out_of_range_page_number_shows_a_valid_page(client, records, page):
    response = client.get(reverse("ordinances:technology_list"), {"page": page})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "cursor", ["0", "abc", "2026-13-01T00:00:00+00:00_5", "2026-01-01T00:00:00_5", "_", "\x00"]
)
@pytest.mark.parametrize("direction", ["after", "before"])
def test_an_unreadable_cursor_shows_the_first_page(client, records, direction, cursor):
    response = client.get(reverse("ordinances:request_list"), {direction: cursor})
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 2


def test_the_filter_form_keeps_filters_in_pagination_links(client, settings, make_request):
    settings.PORTAL_PAGE_SIZE = 1
    make_request("submitted", title="one")
    make_request("submitted", title="two")
    response = client.get(reverse("ordinances:request_list"), {"status": "submitted"})
    assert b"status=submitted&amp;after=" in response.content


def test_healthz_answers_503_when_the_database_does_not(client, monkeypatch):
    from django.db import DatabaseError
    from django.db.backends.base.base import BaseDatabaseWrapper

    def broken(self, *args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(BaseDatabaseWrapper, "cursor", broken)
    response = client.get(reverse("ordinances:healthz"))
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_markdown_in_an_ordinance_text_is_sanitized(client, ordinance):
    ordinance.full_text = "**Section 1.** <script>alert('x')</script> [link](javascript:alert(1))"
    ordinance.save()
    content = client.get(ordinance.get_absolute_url()).content.decode()
    assert "<strong>Section 1.</strong>" in content
    assert "<script>alert" not in content
    assert "javascript:" not in content


def test_an_uncovered_agency_says_the_ordinances_do_not_bind_it(client):
    agency = baker.make(Agency, slug="sheriff", name="County Sheriff", covered=False)
    content = client.get(agency.get_absolute_url()).content.decode()
    assert "do not bind this agency" in content


def test_a_demo_ordinance_never_governs_a_real_agencys_use(client, agency_a, drone, ordinance):
    # The fixture ordinance says drones need approval; as a demo it must not bind real records.
    ordinance.is_demo = True
    ordinance.save()
    baker.make(TechnologyUse, agency=agency_a, technology=drone, is_demo=False)
    content = client.get(agency_a.get_absolute_url()).content.decode()
    assert "No rule in force" in content
    assert "Not approved" not in content


def test_a_demo_ordinance_governs_demo_uses(client, agency_a, drone, ordinance):
    ordinance.is_demo = True
    ordinance.save()
    baker.make(TechnologyUse, agency=agency_a, technology=drone, is_demo=True)
    content = client.get(agency_a.get_absolute_url()).content.decode()
    # A demo row, governed by the demo ordinance, in the page's demo section only.
    assert "Not approved" in content.split('id="demo-heading"', 1)[1]
