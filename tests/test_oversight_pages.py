"""
The public oversight pages: emergency use (/emergency-use/), the violations register
(/violations/) and annual reports (/annual-reports/), and the oversight sections of the
agency and technology pages. Only `.public()` records show; drafts never do; people are
named by display name, never by login or email; query counts do not grow with the rows.
"""

from __future__ import annotations

import datetime
import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from model_bakery import baker

from ordinances import oversight, roles, workflow
from ordinances.models import (
    Agency,
    AnnualReport,
    Category,
    Deadline,
    EmergencyUse,
    Request,
    Technology,
    Violation,
)
from ordinances.views import ANNUAL_REPORT_LABELS
from tests.conftest import make_user, walk

pytestmark = pytest.mark.django_db

SUBMISSION_FIELDS = {
    name: f"The agency's {name.replace('_', ' ')}."
    for name in ("justification", "alternatives_considered", "data_collected", "retention", "sharing")
}
START_2024 = timezone.make_aware(datetime.datetime(2024, 4, 1, 9, 0))
AFTER_DUE_2025 = timezone.make_aware(datetime.datetime(2025, 3, 16, 6))
EMERGENCY_LIST = reverse("ordinances:emergency_use_list")
VIOLATION_LIST = reverse("ordinances:violation_list")
REPORT_LIST = reverse("ordinances:annual_report_list")


def days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


def row(html: str, row_id: str) -> str:
    """The HTML of one table row, by its id."""
    match = re.search(rf'<tr id="{row_id}">(.*?)</tr>', html, re.S)
    assert match, f"no row {row_id}"
    return match.group(1)


@pytest.fixture(autouse=True)
def people(liaison_a, staff):
    """Display names to show, and logins and emails that must never be shown."""
    liaison_a.first_name, liaison_a.last_name, liaison_a.email = "Lee", "Jones", "lee.jones@example.org"
    liaison_a.save()
    staff.first_name, staff.last_name, staff.email = "Sam", "Reviewer", "sam.reviewer@example.org"
    staff.save()


@pytest.fixture
def oakland(ordinance) -> None:
    """Annual reports due 15 March for the year before, as in Oakland."""
    Deadline.objects.create(
        ordinance=ordinance,
        kind=Deadline.Kind.ANNUAL_REPORT,
        counted_from=Deadline.Anchor.FIXED_DAY,
        month=3,
        day=15,
    )


@pytest.fixture
def approve_2024(ordinance, agency_a, liaison_a, staff):
    def approve(technology: Technology) -> Request:
        request = workflow.create_draft(
            by=liaison_a,
            now=START_2024,
            kind=Request.Kind.APPROVAL,
            agency=agency_a,
            technology=technology,
            ordinance=ordinance,
            title=f"{technology.name} for search and rescue",
            purpose="Find missing people.",
            **SUBMISSION_FIELDS,
        )
        return walk(request, "approved", liaison=liaison_a, staff=staff, start=START_2024)

    return approve


def record_use(liaison, agency, technology, ordinance, used_on: datetime.date) -> EmergencyUse:
    return oversight.record_emergency_use(
        liaison, agency, technology, ordinance, used_on, "Searched for a lost child at night."
    )


def published_violation(staff, agency, technology, ordinance, **fields) -> Violation:
    violation = oversight.record_violation(
        staff,
        agency=agency,
        technology=technology,
        ordinance=ordinance,
        description=fields.pop("description", "Footage kept past the 30 days the policy allows."),
        found_on=fields.pop("found_on", days_ago(10)),
        how_found=Violation.HowFound.AUDIT,
        **fields,
    )
    oversight.update_violation(
        violation,
        staff,
        status=Violation.Status.REMEDIED,
        investigation="The retention job had stopped.",
        remedy="The footage was deleted.",
        remedied_on=days_ago(2),
    )
    return oversight.publish_violation(violation, staff, note="Published after review.")


def submitted_report(liaison, approval, year: int = 2024, **contents) -> AnnualReport:
    now = timezone.make_aware(datetime.datetime(year + 1, 1, 10, 10))
    report = oversight.start_report(
        liaison, approval.agency, approval.technology, approval.ordinance, year, now=now
    )
    oversight.update_report(
        report,
        liaison,
        {
            "use_summary": "Flown 12 times to search for missing people.",
            "non_suspects_captured": "Yes: hikers in view.",
            "sharing": "No outside body.",
            "complaints_count": 2,
            "annual_cost": "1250.50",
            **contents,
        },
    )
    return oversight.submit_report(report, liaison, now=now)


# ---------------------------------------------------------------------------
# Emergency use
# ---------------------------------------------------------------------------


def test_an_unreported_emergency_use_past_its_due_date_shows_as_overdue(
    client, liaison_a, agency_a, drone, ordinance
):
    use = record_use(liaison_a, agency_a, drone, ordinance, days_ago(20))

    html = client.get(EMERGENCY_LIST).content.decode()

    assert "Overdue" in row(html, f"emergency-use-{use.pk}")


def test_an_emergency_use_marked_overdue_by_the_portal_shows_as_overdue(
    client, liaison_a, agency_a, drone, ordinance
):
    use = record_use(liaison_a, agency_a, drone, ordinance, days_ago(20))
    oversight.mark_emergency_reports_overdue()

    html = client.get(EMERGENCY_LIST).content.decode()

    assert "Overdue" in row(html, f"emergency-use-{use.pk}")


def test_a_use_reported_in_time_shows_as_filed_on_time_with_a_link_to_the_report(
    client, liaison_a, agency_a, drone, ordinance, make_request
):
    use = record_use(liaison_a, agency_a, drone, ordinance, days_ago(20))
    report = make_request("submitted", kind=Request.Kind.EMERGENCY_REPORT, emergency_used_on=days_ago(20))

    cells = row(client.get(EMERGENCY_LIST).content.decode(), f"emergency-use-{use.pk}")

    assert "Filed on time" in cells
    assert f'href="{report.get_absolute_url()}"' in cells


def test_a_use_still_within_its_report_window_shows_as_due(client, liaison_a, agency_a, drone, ordinance):
    use = record_use(liaison_a, agency_a, drone, ordinance, days_ago(2))

    cells = row(client.get(EMERGENCY_LIST).content.decode(), f"emergency-use-{use.pk}")

    assert ">Due<" in cells
    assert "Overdue" not in cells


def test_the_emergency_use_list_filters_by_agency(
    client, liaison_a, liaison_b, agency_a, agency_b, drone, ordinance
):
    mine = record_use(liaison_a, agency_a, drone, ordinance, days_ago(3))
    theirs = record_use(liaison_b, agency_b, drone, ordinance, days_ago(3))

    response = client.get(EMERGENCY_LIST, {"agency": "agency-b"})

    assert [use.pk for use in response.context["page"].object_list] == [theirs.pk]
    assert f"emergency-use-{mine.pk}" not in response.content.decode()


# ---------------------------------------------------------------------------
# Violations
# ---------------------------------------------------------------------------


def test_the_public_sees_published_violations_only(client, staff, agency_a, drone, ordinance):
    published = published_violation(staff, agency_a, drone, ordinance)
    hidden = oversight.record_violation(
        staff,
        agency=agency_a,
        technology=drone,
        ordinance=ordinance,
        description="Still under internal review.",
        found_on=days_ago(1),
        how_found=Violation.HowFound.COMPLAINT,
    )

    html = client.get(VIOLATION_LIST).content.decode()

    assert f"violation-{published.pk}" in html
    assert "Still under internal review." not in html
    detail = reverse("ordinances:violation_detail", args=[hidden.pk])
    assert client.get(detail).status_code == 404


def test_a_published_violation_says_what_happened_how_it_was_found_and_what_was_done(
    client, staff, agency_a, drone, ordinance
):
    violation = published_violation(staff, agency_a, drone, ordinance)

    response = client.get(reverse("ordinances:violation_detail", args=[violation.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    for text in (
        "Footage kept past the 30 days the policy allows.",
        "Audit",
        "The retention job had stopped.",
        "The footage was deleted.",
        "Remedied",
        "Violation published",
    ):
        assert text in html


def test_a_violation_names_the_approval_it_breached(client, staff, agency_a, drone, ordinance, make_request):
    approval = make_request("approved")
    violation = published_violation(staff, agency_a, drone, ordinance, request=approval)

    html = client.get(reverse("ordinances:violation_detail", args=[violation.pk])).content.decode()

    assert f'href="{approval.get_absolute_url()}"' in html


# ---------------------------------------------------------------------------
# Annual reports
# ---------------------------------------------------------------------------


def test_a_draft_report_is_never_public(client, oakland, approve_2024, drone, liaison_a):
    approval = approve_2024(drone)
    draft = oversight.start_report(
        liaison_a, approval.agency, drone, approval.ordinance, 2024, now=START_2024.replace(year=2025)
    )

    assert len(client.get(REPORT_LIST).context["page"].object_list) == 0
    assert client.get(reverse("ordinances:annual_report_detail", args=[draft.pk])).status_code == 404


def test_a_submitted_report_shows_every_content_field_by_its_label(
    client, oakland, approve_2024, drone, liaison_a
):
    report = submitted_report(liaison_a, approve_2024(drone))

    html = client.get(reverse("ordinances:annual_report_detail", args=[report.pk])).content.decode()

    for label in ANNUAL_REPORT_LABELS.values():
        assert str(label).replace("'", "&#x27;") in html
    assert "Flown 12 times to search for missing people." in html
    assert "1250.50" in html
    assert "Not stated" in html  # what the agency left blank


def test_an_overdue_report_is_public_as_overdue_but_its_draft_is_not(
    client, oakland, approve_2024, drone, liaison_a
):
    approve_2024(drone)
    oversight.mark_annual_reports_overdue(now=AFTER_DUE_2025)
    report = AnnualReport.objects.get()
    oversight.update_report(report, liaison_a, {"use_summary": "Half-written draft text."})

    listed = row(client.get(REPORT_LIST).content.decode(), f"annual-report-{report.pk}")
    detail = client.get(reverse("ordinances:annual_report_detail", args=[report.pk])).content.decode()

    assert "Overdue, not submitted" in listed
    assert "has not submitted it" in detail
    assert "Half-written draft text." not in detail


def test_the_report_list_filters_by_year_and_agency(client, oakland, approve_2024, drone, liaison_a):
    approval = approve_2024(drone)
    oversight.mark_annual_reports_overdue(now=timezone.make_aware(datetime.datetime(2026, 3, 16)))

    response = client.get(REPORT_LIST, {"year": 2025, "agency": "agency-a"})

    assert [(r.year, r.agency_id) for r in response.context["page"].object_list] == [
        (2025, approval.agency_id)
    ]


def test_a_bad_year_filter_is_a_400_not_a_500(client):
    response = client.get(REPORT_LIST, {"year": "last year"})

    assert response.status_code == 400


# ---------------------------------------------------------------------------
# Who is named: display names, never logins or emails
# ---------------------------------------------------------------------------


def test_the_oversight_pages_name_people_by_display_name_never_by_login_or_email(
    client, oakland, approve_2024, drone, liaison_a, staff, agency_a, ordinance
):
    report = submitted_report(liaison_a, approve_2024(drone))
    oversight.accept_report(report, staff, note="Complete.")
    violation = published_violation(staff, agency_a, drone, ordinance)
    record_use(liaison_a, agency_a, drone, ordinance, days_ago(3))

    pages = [
        client.get(url).content.decode()
        for url in (
            EMERGENCY_LIST,
            VIOLATION_LIST,
            REPORT_LIST,
            reverse("ordinances:violation_detail", args=[violation.pk]),
            reverse("ordinances:annual_report_detail", args=[report.pk]),
            agency_a.get_absolute_url(),
            drone.get_absolute_url(),
        )
    ]

    everything = "\n".join(pages)
    assert "Lee Jones" in pages[4] and "Sam Reviewer" in pages[4]
    for secret in ("liaison_a", "lee.jones@example.org", "sam.reviewer@example.org", ">staff<"):
        assert secret not in everything


# ---------------------------------------------------------------------------
# The agency and technology pages
# ---------------------------------------------------------------------------


def test_the_agency_page_lists_its_emergency_uses_violations_and_reports(
    client, oakland, approve_2024, drone, liaison_a, staff, agency_a, ordinance
):
    use = record_use(liaison_a, agency_a, drone, ordinance, days_ago(20))
    violation = published_violation(staff, agency_a, drone, ordinance)
    report = submitted_report(liaison_a, approve_2024(drone))

    for url in (agency_a.get_absolute_url(), drone.get_absolute_url()):
        html = client.get(url).content.decode()
        assert "Overdue" in row(html, f"emergency-use-{use.pk}")
        assert f"violation-{violation.pk}" in html
        assert f"annual-report-{report.pk}" in html


def test_a_real_agencys_page_shows_demo_oversight_records_apart(client, liaison_a, agency_a, ordinance):
    demo_drone = baker.make(
        Technology, name="Demo drone", slug="demo-drone", category=Category.DRONES, is_demo=True
    )
    use = record_use(liaison_a, agency_a, demo_drone, ordinance, days_ago(2))

    html = client.get(agency_a.get_absolute_url()).content.decode()

    assert html.index("Demo oversight records") < html.index(f"emergency-use-{use.pk}")


# ---------------------------------------------------------------------------
# Query counts stay the same as the rows grow
# ---------------------------------------------------------------------------


@pytest.fixture
def grow(oakland, approve_2024, liaison_a, staff, agency_a, ordinance, make_request):
    """Add `n` of everything: an emergency use, a published violation, an approval with its reports."""
    added = itertools.count()

    def add(n: int) -> None:
        for _ in range(n):
            i = next(added)
            technology = baker.make(
                Technology, slug=f"drone-{i}", name=f"Drone {i}", category=Category.DRONES
            )
            record_use(liaison_a, agency_a, technology, ordinance, days_ago(20 + i))
            published_violation(staff, agency_a, technology, ordinance)
            approval = approve_2024(technology)
            if i % 2:
                submitted_report(liaison_a, approval)
        oversight.mark_annual_reports_overdue(now=timezone.make_aware(datetime.datetime(2026, 3, 16)))

    return add


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.captured_queries)


def test_the_oversight_pages_run_the_same_queries_for_few_and_many_rows(client, grow, agency_a, drone):
    urls = [
        EMERGENCY_LIST,
        VIOLATION_LIST,
        VIOLATION_LIST + "?agency=agency-a&status=remedied",
        REPORT_LIST,
        REPORT_LIST + "?year=2024",
        agency_a.get_absolute_url(),
        drone.get_absolute_url(),
    ]
    grow(2)
    few = {url: queries_for(client, url) for url in urls}

    grow(4)
    many = {url: queries_for(client, url) for url in urls}

    assert many == few


def test_a_staff_user_is_not_shown_more_than_the_public(client, staff, agency_a, drone, ordinance):
    oversight.record_violation(
        staff,
        agency=agency_a,
        technology=drone,
        ordinance=ordinance,
        description="Internal only.",
        found_on=days_ago(1),
        how_found=Violation.HowFound.AUDIT,
    )
    client.force_login(make_user("reader", roles.STAFF))

    assert "Internal only." not in client.get(VIOLATION_LIST).content.decode()


HOSTILE = '<script>alert(1)</script> & "quoted"'


@pytest.mark.parametrize(
    "page",
    [
        "ordinances:emergency_use_list",
        "ordinances:violation_list",
        "ordinances:agency_list",
        "ordinances:technology_list",
    ],
)
def test_names_typed_into_records_are_escaped_in_every_table_row_built_in_python(
    client, page, staff, liaison_a, agency_a, drone, ordinance
):
    # The rows are format strings filled with values escaped once a table (`_Cells`), not
    # format_html: a value put in unescaped would run here.
    Agency.objects.filter(pk=agency_a.pk).update(name=f"Agency {HOSTILE}")
    Technology.objects.filter(pk=drone.pk).update(name=f"Drone {HOSTILE}")
    agency_a.refresh_from_db()
    drone.refresh_from_db()
    record_use(liaison_a, agency_a, drone, ordinance, days_ago(3))
    published_violation(staff, agency_a, drone, ordinance, description=f"Kept {HOSTILE}")

    html = client.get(reverse(page)).content.decode()

    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;" in html
