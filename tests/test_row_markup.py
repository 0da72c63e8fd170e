"""
Rows and items that public pages repeat (issue 9): written in Python by the row builders of
ordinances/templatetags/portal.py, not by a template included once per row, deadline or
segment, whose lookups cost more than the rest of the page. Each test pins a saving and
checks that the page still says the same.
"""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from model_bakery import baker

from ordinances import oversight, workflow
from ordinances.models import AnnualReport, Deadline

pytestmark = pytest.mark.django_db


def rendered(response) -> list[str]:
    return [template.name for template in response.templates]


def test_the_emergency_use_list_renders_no_template_per_row(client, liaison_a, agency_a, drone, ordinance):
    for days in (20, 30):
        oversight.record_emergency_use(
            liaison_a,
            agency_a,
            drone,
            ordinance,
            timezone.localdate() - datetime.timedelta(days=days),
            "Night.",
        )

    response = client.get(reverse("ordinances:emergency_use_list"))

    assert "partials/emergency_use_table.html" in rendered(response)
    assert "partials/badges.html" not in rendered(response)
    assert response.content.decode().count('<span class="usa-tag status status--bad">Overdue</span>') == 2


def test_the_annual_report_list_renders_no_template_per_row(client, agency_a, drone, ordinance):
    for year in (2023, 2024):
        baker.make(
            AnnualReport,
            agency=agency_a,
            technology=drone,
            ordinance=ordinance,
            year=year,
            due_on=datetime.date(year + 1, 3, 15),
            status=AnnualReport.Status.SUBMITTED,
            submitted_at=timezone.make_aware(datetime.datetime(year + 1, 1, 10)),
        )

    response = client.get(reverse("ordinances:annual_report_list"))

    assert "partials/annual_report_table.html" in rendered(response)
    assert "partials/annual_report_state.html" not in rendered(response)
    assert "partials/badges.html" not in rendered(response)
    assert "Report for 2024</a>" in response.content.decode()


def test_how_it_works_renders_no_template_per_deadline(client, ordinance):
    Deadline.objects.filter(ordinance=ordinance, kind=Deadline.Kind.COMMENT_PERIOD).update(
        extension_amount=15
    )

    response = client.get(reverse("ordinances:how_it_works"))

    assert "partials/process.html" not in rendered(response)
    assert "partials/deadline_sentence.html" not in rendered(response)
    assert (
        "The public has at least 30 days to comment after the comment period opens. "
        "It may be extended by 15 days."
    ) in response.content.decode()


def test_the_home_page_lists_hearings_without_a_template_per_hearing(client, make_request, staff):
    request = make_request("public_comment", title="Drone with a hearing ahead")
    workflow.perform(
        "schedule_hearing",
        request,
        by=staff,
        hearing_at=timezone.now() + datetime.timedelta(days=12),
        hearing_address="350 South 5th Street",
        hearing_remote_url="https://example.org/join",
    )

    response = client.get(reverse("ordinances:home"))

    assert "partials/hearing_place.html" not in rendered(response)
    assert ", <span>350 South 5th Street</span> (also online)\n" in response.content.decode()
