"""
The list filters: every select says what its empty choice shows, and a filtered list has one
clean address (empty parameters are dropped by a redirect), whatever the language prefix.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from model_bakery import baker

from ordinances import filters, workflow
from ordinances.models import Agency, Request

pytestmark = pytest.mark.django_db

LISTS = ["ordinance_list", "agency_list", "technology_list", "request_list"]
FILTERSETS = [filters.OrdinanceFilter, filters.AgencyFilter, filters.TechnologyFilter, filters.RequestFilter]


def first_choices(filterset_class) -> dict[str, str]:
    """Each select of a filter form, by name, with the label of its first (empty) choice."""
    form = filterset_class().form
    return {
        name: str(next(iter(field.widget.choices))[1])
        for name, field in form.fields.items()
        if hasattr(field.widget, "choices")
    }


@pytest.mark.parametrize("filterset_class", FILTERSETS)
def test_no_filter_select_starts_with_dashes(filterset_class):
    labels = first_choices(filterset_class)
    assert labels
    assert not [name for name, label in labels.items() if label.startswith("---")]


@pytest.mark.parametrize("filterset_class", FILTERSETS)
def test_every_filter_select_starts_with_an_empty_value(filterset_class):
    form = filterset_class().form
    for field in form.fields.values():
        if hasattr(field.widget, "choices"):
            assert next(iter(field.widget.choices))[0] == ""


def test_the_request_filters_name_what_their_empty_choice_shows():
    assert first_choices(filters.RequestFilter) == {
        "status": "Any status",
        "kind": "Any kind",
        "agency": "Any agency",
        "technology": "Any technology",
        "category": "Any category",
        "ordinance": "Any ordinance",
    }


def test_the_covered_filter_reads_any_yes_or_no_never_unknown(client):
    content = client.get(reverse("ordinances:agency_list")).content.decode()
    covered = content.split('id="id_covered"', 1)[1].split("</select>", 1)[0]
    assert '<option value="" selected>Any</option>' in covered
    assert '<option value="true">Yes</option>' in covered
    assert '<option value="false">No</option>' in covered
    assert "Unknown" not in covered


@pytest.mark.parametrize(("value", "names"), [("true", ["City police"]), ("false", ["County sheriff"])])
def test_the_covered_filter_keeps_only_agencies_bound_or_not_bound(client, value, names):
    baker.make(Agency, slug="police", name="City police", covered=True)
    baker.make(Agency, slug="sheriff", name="County sheriff", covered=False)
    response = client.get(reverse("ordinances:agency_list"), {"covered": value})
    assert [agency.name for agency in response.context["page"].object_list] == names
    assert f'<option value="{value}" selected>' in response.content.decode()


@pytest.mark.parametrize("url_name", LISTS)
def test_an_empty_filter_is_dropped_from_the_address_by_a_redirect(client, url_name):
    url = reverse(f"ordinances:{url_name}")
    response = client.get(f"{url}?q=&year=2021&page=")
    assert response.status_code == 302
    assert response["Location"] == f"{url}?year=2021"


def test_a_list_with_only_empty_filters_redirects_to_the_bare_list(client):
    response = client.get("/requests/?q=&status=&agency=+")
    assert response.status_code == 302
    assert response["Location"] == "/requests/"


def test_the_redirect_keeps_the_language_prefix_and_the_order_of_filters(client):
    response = client.get("/es/requests/?status=approved&q=&kind=approval")
    assert response["Location"] == "/es/requests/?status=approved&kind=approval"


def test_a_list_without_empty_filters_is_served_at_once(client):
    response = client.get(reverse("ordinances:request_list"), {"status": "approved"})
    assert response.status_code == 200


def test_a_bad_filter_beside_an_empty_one_is_still_explained_with_a_400(client):
    response = client.get("/requests/?q=&year=20x1", follow=True)
    assert response.redirect_chain == [("/requests/?year=20x1", 302)]
    assert response.status_code == 400
    assert b"These filters could not be applied" in response.content


def test_a_field_with_an_error_is_marked_and_described_by_its_message(client):
    content = client.get("/requests/?year=20x1").content.decode()
    year = re.search(r'<input[^>]*id="id_year"[^>]*>', content).group(0)
    assert "usa-input--error" in year
    assert 'aria-describedby="id_year-error"' in year
    assert 'id="id_year-error"' in content


@pytest.mark.parametrize("path", ["/requests/", "/api/v1/requests/", "/requests/feed/"])
def test_a_request_created_in_one_year_and_submitted_in_the_next_is_listed_under_the_second(
    client, make_request, path
):
    """The year filter bounds where a request's row may lie (see `SubmittedYearFilter`), never what it keeps."""
    req = make_request("submitted")
    created = timezone.make_aware(datetime.datetime(2020, 12, 20, 12))
    Request.objects.filter(pk=req.pk).update(
        created_at=created,
        submitted_at=created + datetime.timedelta(days=20),
        reference=workflow.reference(2020, 1),
    )
    assert "REQ-2020-0001" in client.get(path, {"year": 2021}).content.decode()
    assert "REQ-2020-0001" not in client.get(path, {"year": 2020}).content.decode()


def test_a_filter_set_makes_its_form_class_once():
    assert filters.RequestFilter().get_form_class() is filters.RequestFilter().get_form_class()


def test_a_filter_set_copies_its_filters_without_copying_their_querysets():
    declared = filters.RequestFilter.base_filters["ordinance"]
    copied = filters.RequestFilter().filters["ordinance"]
    assert copied is not declared
    assert copied.queryset is declared.queryset


def test_each_filter_set_has_its_own_filters_pointing_at_it():
    first, second = filters.RequestFilter(), filters.RequestFilter()
    assert first.filters["agency"] is not second.filters["agency"]
    assert first.filters["agency"].parent is first
    assert second.filters["agency"].parent is second
    assert not hasattr(filters.RequestFilter.base_filters["agency"], "parent")
