"""
What the list pages (requests, agencies, technologies) no longer pay for (issue 9): the
request list reads only the columns its rows show, a record filter finds a slug through its
index, the ordinances are read without a server-side cursor, the selects of the code's own
choices are made once per value and language, and the agency and technology rows are built
in Python. Each test pins a saving and checks that the page still says the same.
"""

from __future__ import annotations

from unittest import mock

import pytest
from django import forms
from django.db import connection
from django.db.models import QuerySet, Value
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from ordinances import filters
from ordinances.models import Agency, Technology, rule_in_force_subquery
from ordinances.templatetags.portal import agency_rows, technology_rows

pytestmark = pytest.mark.django_db


def test_the_request_list_reads_only_what_its_rows_show(client, make_request):
    req = make_request("submitted", title="Night & day")

    with CaptureQueriesContext(connection) as queries:
        content = client.get(reverse("ordinances:request_list")).content.decode()

    sql = "\n".join(query["sql"] for query in queries.captured_queries)
    assert "full_text" not in sql
    assert "justification" not in sql
    assert f'<a href="{req.get_absolute_url()}">{req.reference}</a>' in content
    assert "Night &amp; day" in content
    assert f'<a href="{req.agency.get_absolute_url()}">{req.agency.name}</a>' in content


def test_a_record_given_by_its_slug_is_found_through_its_slug_alone(agency_a):
    form = filters.RequestFilter({"agency": agency_a.slug}).form

    with CaptureQueriesContext(connection) as queries:
        assert form.is_valid()

    (query,) = queries.captured_queries
    where = query["sql"].split("WHERE", 1)[1].split("ORDER BY", 1)[0]
    assert '"slug"' in where
    assert '"name"' not in where
    assert form.cleaned_data["agency"] == agency_a
    # A name that could be a slug is still found by its name, once no slug matches.
    technology = Technology.objects.create(
        name="Shotspotter", slug="shotspotter-flex", category="gunshot_detection"
    )
    by_name = filters.RequestFilter({"technology": "shotspotter"}).form
    assert by_name.is_valid()
    assert by_name.cleaned_data["technology"] == technology


def test_the_ordinances_are_offered_without_a_server_side_cursor(client, ordinance):
    with mock.patch.object(QuerySet, "iterator", side_effect=AssertionError("a server-side cursor")):
        response = client.get(reverse("ordinances:request_list"))

    assert response.status_code == 200
    assert f'<option value="{ordinance.slug}">{ordinance}</option>' in response.content.decode()


def test_a_select_of_the_codes_choices_is_made_once_per_value_and_language(client):
    url = reverse("ordinances:request_list")
    client.get(url, {"status": "approved"})
    made = mock.patch.object(forms.Select, "get_context", autospec=True, side_effect=forms.Select.get_context)

    with made as contexts:
        again = client.get(url, {"status": "approved"}).content.decode()
    # The agency, technology and ordinance selects list rows of tables: made on every view.
    assert {call.args[1] for call in contexts.call_args_list}.isdisjoint({"status", "kind", "category"})
    assert '<option value="approved" selected>Approved</option>' in again

    other = client.get(url, {"status": "denied"}).content.decode()
    assert '<option value="denied" selected>Denied</option>' in other
    assert '<option value="approved">Approved</option>' in other

    with translation.override("es"):
        spanish = client.get(reverse("ordinances:request_list"), {"status": "approved"}).content.decode()
    assert '<option value="approved" selected>Aprobada</option>' in spanish


def test_an_agency_row_says_what_the_list_showed(agency_a):
    agency_a.name, agency_a.covered = "Parks & Recreation", True
    agency_a.save()
    row = Agency.objects.filter(pk=agency_a.pk).annotate(use_count=Value(1200), request_count=Value(3))

    with translation.override("es"):
        html = agency_rows(row)
        covered = f'<td data-label="{translation.gettext("Covered by city ordinances")}">Sí</td>'

    assert f'<a href="/es{agency_a.get_absolute_url()}" lang="en">Parks &amp; Recreation</a> </th>' in html
    assert covered in html
    assert ">1200</td>" in html and ">3</td>" in html


def test_a_technology_row_says_its_rule_in_force(drone, ordinance):
    rows = Technology.objects.filter(pk=drone.pk).annotate(
        governing_rule=rule_in_force_subquery("category", "is_demo"), agency_count=Value(0)
    )

    html = technology_rows(rows)

    (technology,) = rows
    assert f'<td data-label="Rule in force">{technology.governing_rule_label}</td>' in html
    assert f'<td data-label="Category">{drone.get_category_display()}</td>' in html
