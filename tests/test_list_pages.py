"""
The lists of ordinances and agencies: the public requests each row counts are kept by the
workflow as requests become public (`PublicRequestCount`), and show what a count of the
record would.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from ordinances import workflow
from ordinances.models import Agency, Ordinance, PublicRequestCount, Request

pytestmark = pytest.mark.django_db


def listed_counts(client, url_name: str) -> dict[str, int]:
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    return {row.slug: row.request_count for row in response.context["page"].object_list}


def counted_from_the_record() -> dict[str, dict[str, int]]:
    public = Request.objects.public()
    return {
        "agencies": {a.slug: public.filter(agency=a).count() for a in Agency.objects.all()},
        "ordinances": {o.slug: public.filter(ordinance=o).count() for o in Ordinance.objects.all()},
    }


def test_a_draft_is_counted_on_no_list(client, make_request, agency_a, ordinance):
    make_request("draft")
    assert listed_counts(client, "ordinances:agency_list")[agency_a.slug] == 0
    assert listed_counts(client, "ordinances:ordinance_list")[ordinance.slug] == 0


def test_submitting_a_request_counts_it_on_its_agency_and_its_ordinance(
    client, make_request, agency_a, ordinance
):
    make_request("submitted")
    make_request("approved")
    assert listed_counts(client, "ordinances:agency_list")[agency_a.slug] == 2
    assert listed_counts(client, "ordinances:ordinance_list")[ordinance.slug] == 2


def test_a_request_returned_and_resubmitted_is_counted_once(client, make_request, agency_a, liaison_a):
    request = make_request("returned")
    workflow.perform("submit", request, by=liaison_a)
    assert listed_counts(client, "ordinances:agency_list")[agency_a.slug] == 1


def test_a_returned_request_moved_to_another_agency_is_counted_there_alone(
    client, make_request, agency_a, agency_b, liaison_a
):
    agency_b.liaisons.add(liaison_a)
    request = make_request("returned")
    workflow.update_draft(request, by=liaison_a, fields={"agency": agency_b})
    counts = listed_counts(client, "ordinances:agency_list")
    assert (counts[agency_a.slug], counts[agency_b.slug]) == (0, 1)


def test_a_draft_moved_to_another_agency_stays_uncounted(client, make_request, agency_b, liaison_a):
    agency_b.liaisons.add(liaison_a)
    request = make_request("draft")
    workflow.update_draft(request, by=liaison_a, fields={"agency": agency_b})
    assert listed_counts(client, "ordinances:agency_list")[agency_b.slug] == 0


def test_the_lists_show_the_counts_of_the_record(client, make_request, agency_b, liaison_b):
    for status in ("draft", "submitted", "in_review", "approved", "denied"):
        make_request(status)
    make_request("submitted", agency=agency_b, liaison=liaison_b)
    expected = counted_from_the_record()
    assert listed_counts(client, "ordinances:agency_list") == expected["agencies"]
    assert listed_counts(client, "ordinances:ordinance_list") == expected["ordinances"]


def test_a_recount_gives_what_the_workflow_kept(make_request, agency_b, liaison_b):
    for status in ("draft", "submitted", "approved"):
        make_request(status)
    make_request("submitted", agency=agency_b, liaison=liaison_b)
    kept = set(PublicRequestCount.objects.values_list("agency_id", "ordinance_id", "count"))
    workflow.recount_public_requests()
    assert set(PublicRequestCount.objects.values_list("agency_id", "ordinance_id", "count")) == kept


def test_a_deep_page_of_agencies_counts_its_own_rows(client, make_request, agency_a, settings):
    settings.PORTAL_PAGE_SIZE = 1
    make_request("submitted")
    Agency.objects.create(name="Zoo Board", slug="zoo-board", kind=Agency.Kind.OTHER)
    response = client.get(reverse("ordinances:agency_list"), {"page": 1})
    assert [(a.slug, a.request_count) for a in response.context["page"].object_list] == [(agency_a.slug, 1)]
    response = client.get(reverse("ordinances:agency_list"), {"page": 2})
    assert [(a.slug, a.request_count) for a in response.context["page"].object_list] == [("zoo-board", 0)]


def test_an_agency_filtered_by_technology_is_listed_once_with_its_counts(
    client, make_request, agency_a, drone
):
    from ordinances.models import Technology, TechnologyUse

    other = Technology.objects.create(name="Other drone", slug="other-drone", category=drone.category)
    TechnologyUse.objects.create(agency=agency_a, technology=drone)
    TechnologyUse.objects.create(agency=agency_a, technology=other)
    make_request("submitted")
    response = client.get(reverse("ordinances:agency_list"), {"technology": drone.slug})
    rows = [(a.slug, a.use_count, a.request_count) for a in response.context["page"].object_list]
    assert rows == [(agency_a.slug, 2, 1)]
