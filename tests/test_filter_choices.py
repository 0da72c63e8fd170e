"""
The agency and technology filters of every list: a select while the table is short, a text
box that suggests names past `PORTAL_SELECT_LIMIT` rows, so a city with 300 agencies and
2,000 technologies does not print 2,300 options on every list page; a value is a slug or
an exact name in any case; and the choices endpoints the text box asks.
"""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from model_bakery import baker

from ordinances import choice_views, filters
from ordinances.models import Agency, Category, Technology

pytestmark = pytest.mark.django_db

LISTS = [
    "ordinances:request_list",
    "ordinances:agency_list",
    "ordinances:technology_list",
    "ordinances:emergency_use_list",
    "ordinances:violation_list",
    "ordinances:annual_report_list",
]
# The lists with a filter of each kind, by parameter.
AGENCY_LISTS = [name for name in LISTS if name not in ("ordinances:agency_list",)]
# A list page with 300 agencies and 2,000 technologies stays below this (it was 153 KB).
PAGE_BYTES = 40_000


def add_agencies(n: int, start: int = 0) -> None:
    Agency.objects.bulk_create(
        Agency(name=f"Bulk agency {i:04d}", slug=f"bulk-agency-{i:04d}", kind=Agency.Kind.OTHER)
        for i in range(start, start + n)
    )


def add_technologies(n: int, start: int = 0) -> None:
    Technology.objects.bulk_create(
        Technology(
            name=f"Bulk technology {i:04d}",
            slug=f"bulk-technology-{i:04d}",
            category=Category.DRONES,
            description="Made in bulk.",
        )
        for i in range(start, start + n)
    )


@pytest.fixture
def big_city(db) -> None:
    """300 agencies and 2,000 technologies, as a national deployment holds."""
    add_agencies(300)
    add_technologies(2000)


def get(client, name: str, **params):
    return client.get(reverse(name), params)


def control(html: str, name: str) -> str:
    """The form control named `name` (a select with its options, or an input)."""
    match = re.search(
        rf'<select name="{name}".*?</select>|<input type="text" name="{name}"[^>]*>', html, re.S
    )
    assert match, name
    return match.group(0)


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.captured_queries)


# ---------------------------------------------------------------------------
# Which control the page shows
# ---------------------------------------------------------------------------


def test_a_short_table_of_agencies_is_offered_as_a_select(client, agency_a, agency_b):
    agency = control(get(client, "ordinances:request_list").content.decode(), "agency")

    assert agency.startswith('<select name="agency" class="usa-select"')
    assert '<option value="" selected>Any agency</option>' in agency
    assert '<option value="agency-a">Agency A Police</option>' in agency


def test_a_table_past_the_limit_is_offered_as_a_text_box_with_a_hint(client, settings, agency_a, agency_b):
    settings.PORTAL_SELECT_LIMIT = 1
    html = get(client, "ordinances:request_list").content.decode()
    agency = control(html, "agency")

    assert 'class="usa-input portal-combobox__input"' in agency
    assert 'aria-describedby="id_agency-hint"' in agency
    assert (
        '<span class="usa-hint text-base-dark portal-combobox__hint" id="id_agency-hint">Type the full name.</span>'
        in html
    )
    assert f'data-source="{reverse("ordinances:agency_choices")}"' in html
    assert '<select name="agency"' not in html


def test_a_table_at_the_limit_is_still_a_select(client, settings, agency_a, agency_b):
    settings.PORTAL_SELECT_LIMIT = 2

    assert control(get(client, "ordinances:request_list").content.decode(), "agency").startswith("<select")


def test_the_text_box_loads_its_script_deferred_and_a_select_loads_none(client, settings, agency_a, drone):
    script = '<script src="/static/js/combobox.js" defer></script>'
    assert script not in get(client, "ordinances:request_list").content.decode()

    settings.PORTAL_SELECT_LIMIT = 0
    assert get(client, "ordinances:request_list").content.decode().count(script) == 1


def test_the_text_box_carries_each_announcement_translated_for_up_to_20_results(client, settings, agency_a):
    settings.PORTAL_SELECT_LIMIT = 0
    html = get(client, "ordinances:request_list").content.decode()

    assert 'data-results-0="0 results"' in html
    assert 'data-results-1="1 result"' in html
    assert 'data-results-20="20 results"' in html
    assert 'data-results-21="' not in html


def test_the_text_box_shows_the_name_of_the_record_the_address_names_by_slug(client, settings, agency_a):
    settings.PORTAL_SELECT_LIMIT = 0
    agency = control(get(client, "ordinances:request_list", agency="agency-a").content.decode(), "agency")

    assert 'value="Agency A Police"' in agency


def test_a_select_marks_the_record_the_address_names_by_name(client, agency_a, agency_b):
    agency = control(
        get(client, "ordinances:request_list", agency="agency a police").content.decode(), "agency"
    )

    assert '<option value="agency-a" selected>Agency A Police</option>' in agency


# ---------------------------------------------------------------------------
# A city with 300 agencies and 2,000 technologies
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", LISTS)
def test_no_list_prints_more_options_than_the_limit_in_a_big_city(client, settings, big_city, name):
    html = get(client, name).content.decode()

    assert html.count("<option") <= settings.PORTAL_SELECT_LIMIT


@pytest.mark.parametrize("name", LISTS)
def test_no_list_page_grows_past_its_bound_in_a_big_city(client, big_city, name):
    assert len(get(client, name).content) < PAGE_BYTES


def test_the_lists_run_the_same_queries_for_5_and_for_thousands_of_agencies_and_technologies(
    client, agency_a
):
    add_agencies(4)
    add_technologies(5)
    urls = [reverse(name) for name in LISTS]
    urls += [
        reverse("ordinances:request_list") + "?agency=agency-a",
        reverse("ordinances:technology_list") + "?agency=agency-a",
    ]
    small = {url: queries_for(client, url) for url in urls}
    add_agencies(295, start=4)
    add_technologies(1995, start=5)

    assert {url: queries_for(client, url) for url in urls} == small


# ---------------------------------------------------------------------------
# What a value means: a slug, or an exact name in any case
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["Agency A Police", "agency a police", "AGENCY A POLICE", "  Agency A Police "]
)
def test_filtering_by_exact_name_in_any_case_keeps_the_rows_the_slug_keeps(
    client, make_request, agency_b, liaison_b, value
):
    make_request("submitted")
    make_request("submitted", agency=agency_b, liaison=liaison_b)
    by_slug = get(client, "ordinances:request_list", agency="agency-a").context["page"].object_list
    by_name = get(client, "ordinances:request_list", agency=value).context["page"].object_list

    assert [r.reference for r in by_name] == [r.reference for r in by_slug]
    assert len(by_slug) == 1


@pytest.mark.parametrize(
    "name", ["ordinances:emergency_use_list", "ordinances:violation_list", "ordinances:annual_report_list"]
)
def test_the_oversight_lists_take_a_technology_by_name(client, drone, name):
    assert get(client, name, technology="TEST DRONE").status_code == 200


def test_a_technology_by_name_filters_the_agencies_that_use_it(client, agency_a, agency_b, drone):
    baker.make("ordinances.TechnologyUse", agency=agency_a, technology=drone)
    page = get(client, "ordinances:agency_list", technology="test drone").context["page"]

    assert [agency.slug for agency in page.object_list] == ["agency-a"]


def test_a_slug_wins_over_another_records_name(agency_a):
    baker.make(Agency, name="agency-a", slug="named-like-a-slug")
    form = filters.RequestFilter({"agency": "agency-a"}).form

    assert form.is_valid()
    assert form.cleaned_data["agency"] == agency_a


def test_finding_a_record_by_name_takes_one_query(agency_a, django_assert_num_queries):
    form = filters.RequestFilter({"agency": "Agency A Police"}).form

    with django_assert_num_queries(1):
        assert form.is_valid()


@pytest.mark.parametrize("name", AGENCY_LISTS)
def test_an_unknown_agency_answers_400_with_the_field_error_naming_it(client, agency_a, name):
    response = get(client, name, agency="Nowhere Police")
    html = response.content.decode()

    assert response.status_code == 400
    assert "These filters could not be applied" in html
    assert "No agency has the name or address “Nowhere Police”." in html


def test_an_unknown_technology_in_the_text_box_is_marked_and_described(client, settings, drone):
    settings.PORTAL_SELECT_LIMIT = 0
    response = get(client, "ordinances:request_list", technology="<b>Laser</b>")
    technology = control(response.content.decode(), "technology")

    assert response.status_code == 400
    assert 'value="&lt;b&gt;Laser&lt;/b&gt;"' in technology
    assert 'aria-describedby="id_technology-hint id_technology-error"' in technology
    assert "usa-input--error" in technology


def test_an_unknown_agency_in_a_select_keeps_the_select_class_marked_in_error(client, agency_a):
    agency = control(get(client, "ordinances:request_list", agency="nowhere").content.decode(), "agency")

    assert 'class="usa-select usa-select--error"' in agency


def test_the_api_answers_an_unknown_agency_with_400_naming_what_was_sent(client, agency_a):
    response = client.get("/api/v1/requests/", {"agency": "nowhere"})

    assert response.status_code == 400
    assert response.json() == {"agency": ["No agency has the name or address “nowhere”."]}


def test_the_api_still_filters_by_slug(client, make_request):
    make_request("submitted")

    assert len(client.get("/api/v1/requests/", {"agency": "agency-a"}).json()["results"]) == 1


@pytest.mark.parametrize("value", ["agency-a\x00", "x" * 500])
def test_a_null_character_or_an_overlong_value_is_refused_without_a_query(
    agency_a, value, django_assert_num_queries
):
    form = filters.RequestFilter({"agency": value}).form

    with django_assert_num_queries(0):
        assert not form.is_valid()


def test_the_api_schema_still_documents_agency_and_technology_as_strings(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/requests/"]["get"]["parameters"]}

    assert parameters["agency"]["schema"] == {"type": "string"}
    assert parameters["technology"]["schema"] == {"type": "string"}


# ---------------------------------------------------------------------------
# The choices endpoints
# ---------------------------------------------------------------------------


def suggestions(client, name: str, q: str) -> list[dict[str, str]]:
    response = client.get(reverse(name), {"q": q})
    assert response.status_code == 200
    return response.json()["results"]


def test_the_endpoint_answers_slugs_and_names(client, agency_a):
    assert suggestions(client, "ordinances:agency_choices", "agency a") == [
        {"value": "agency-a", "label": "Agency A Police"}
    ]


def test_names_starting_with_the_text_come_before_names_holding_it(client):
    for name in ["Park Police", "Police Department", "Fire", "policy office"]:
        baker.make(Agency, name=name, slug=name.lower().replace(" ", "-"))

    labels = [row["label"] for row in suggestions(client, "ordinances:agency_choices", "POL")]

    assert labels == ["Police Department", "policy office", "Park Police"]


def test_the_endpoint_answers_at_most_20_names(client, big_city):
    assert len(suggestions(client, "ordinances:technology_choices", "bulk")) == 20


def test_the_endpoint_runs_one_query(big_city, django_assert_num_queries):
    request = RequestFactory().get("/choices/technologies/", {"q": "0042"})

    with django_assert_num_queries(1):
        response = choice_views.technology_choices(request)

    assert json.loads(response.content)["results"][0]["value"] == "bulk-technology-0042"


def test_the_endpoint_suggests_demo_records_as_the_lists_show_them(client):
    baker.make(Agency, name="Demo Police Department", slug="demo-police", is_demo=True)

    assert "Demo Police Department" in get(client, "ordinances:agency_list").content.decode()
    assert suggestions(client, "ordinances:agency_choices", "police") == [
        {"value": "demo-police", "label": "Demo Police Department"}
    ]


def test_the_endpoint_takes_100_characters(client, db):
    assert suggestions(client, "ordinances:agency_choices", "x" * 100) == []


def test_the_endpoint_refuses_more_than_100_characters_with_400(client, db):
    response = client.get(reverse("ordinances:agency_choices"), {"q": "x" * 101})

    assert response.status_code == 400
    assert response.json() == {"errors": {"q": ["Type at most 100 characters."]}}


def test_the_endpoint_answers_a_null_character_with_no_names(client, agency_a):
    assert suggestions(client, "ordinances:agency_choices", "agency\x00") == []


def test_the_endpoint_is_a_cacheable_public_read(client, agency_a):
    response = client.get(reverse("ordinances:technology_choices"), {"q": "a"})

    assert "public" in response["Cache-Control"]
    assert "max-age=60" in response["Cache-Control"]
    assert response.has_header("Last-Modified")


def test_the_endpoint_refuses_a_post(client, db):
    assert client.post(reverse("ordinances:agency_choices")).status_code == 405
