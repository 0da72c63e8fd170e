"""
Oversight after the decision (`ordinances.oversight`): emergency uses and their reports,
the violations register, annual surveillance reports, and their append-only timeline.

Each action has its allowed role, its refused roles (nothing written), its bad input
(a field error, nothing written) and its OversightEvent checked. Approvals are built
through the workflow (`make_request`, `walk`), never by writing a status.
"""

from __future__ import annotations

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from model_bakery import baker

from ordinances import oversight, workflow
from ordinances.models import (
    AnnualReport,
    Category,
    CategoryRule,
    Deadline,
    EmergencyUse,
    Ordinance,
    OversightEvent,
    Request,
    Technology,
    Violation,
)
from ordinances.workflow import TransitionRefused
from tests.conftest import make_user, walk

pytestmark = pytest.mark.django_db

A = OversightEvent.Action
SUBMISSION_FIELDS = {
    name: f"The agency's {name.replace('_', ' ')}."
    for name in ("justification", "alternatives_considered", "data_collected", "retention", "sharing")
}
# An approval walked through the workflow from this moment is decided on 16 May 2024
# (conftest.STEP_DAY: 45 days on) and, under the test ordinance's one-year term, expires on
# 16 May 2025.
START_2024 = timezone.make_aware(datetime.datetime(2024, 4, 1, 9, 0))
DECIDED_2024 = datetime.date(2024, 5, 16)


def today() -> datetime.date:
    return timezone.localdate()


def days_ago(days: int) -> datetime.date:
    return today() - datetime.timedelta(days=days)


def when_run(overrides: dict) -> dict:
    """
    The overrides with each date worked out now, not when the tests were collected: a run that
    crosses midnight in the city's time zone would otherwise test "tomorrow" as today.
    """
    return {name: value() if callable(value) else value for name, value in overrides.items()}


def at(day: datetime.date, hour: int = 12) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def written() -> tuple[int, int, int, int]:
    """How many oversight rows exist: nothing may be written by a refusal."""
    return (
        EmergencyUse.objects.count(),
        Violation.objects.count(),
        AnnualReport.objects.count(),
        OversightEvent.objects.count(),
    )


@pytest.fixture(autouse=True)
def names(liaison_a, staff):
    """Display names, as the record shows them; logins are never shown."""
    liaison_a.first_name, liaison_a.last_name = "Lia", "Ison"
    liaison_a.save()
    staff.first_name, staff.last_name = "Stef", "Staff"
    staff.save()


# ---------------------------------------------------------------------------
# Emergency use
# ---------------------------------------------------------------------------


def record_use(by, agency, technology, ordinance, **overrides):
    values = {
        "used_on": days_ago(3),
        "circumstances": "A child was lost in the river gorge at night.",
    }
    values.update(overrides)
    return oversight.record_emergency_use(by, agency, technology, ordinance, **values)


def test_a_liaison_records_their_agencys_emergency_use_with_its_report_due_from_the_law(
    liaison_a, agency_a, drone, ordinance
):
    use = record_use(liaison_a, agency_a, drone, ordinance, used_on=days_ago(3))

    assert use.report_due_on == days_ago(3) + datetime.timedelta(days=14)
    assert use.recorded_by == liaison_a
    event = use.events.get()
    assert (event.action, event.actor_role, event.actor_name) == (
        A.RECORD_EMERGENCY_USE,
        "liaison",
        "Lia Ison",
    )
    assert event.data["report_due_on"] == use.report_due_on.isoformat()
    assert event.is_public


def test_staff_may_record_an_emergency_use_they_learn_of_another_way(staff, agency_a, drone, ordinance):
    use = record_use(staff, agency_a, drone, ordinance)

    assert use.events.get().actor_role == "staff"


@pytest.mark.parametrize("who", ["liaison_b", "clerk", "nobody"])
def test_an_emergency_use_is_refused_to_anyone_but_the_agencys_liaison_or_staff(
    who, request, agency_a, drone, ordinance
):
    user = None if who == "nobody" else request.getfixturevalue(who)
    before = written()

    with pytest.raises(TransitionRefused) as refused:
        record_use(user, agency_a, drone, ordinance)

    assert refused.value.code == "permission"
    assert written() == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"used_on": None}, "used_on"),
        ({"used_on": lambda: days_ago(-1)}, "used_on"),
        ({"used_on": lambda: days_ago(5), "ended_on": lambda: days_ago(6)}, "ended_on"),
        ({"ended_on": lambda: days_ago(-2)}, "ended_on"),
        ({"circumstances": "  "}, "circumstances"),
    ],
    ids=["no-date", "future-use", "ends-before-it-began", "future-end", "no-circumstances"],
)
def test_bad_emergency_use_dates_or_text_give_a_field_error_and_write_nothing(
    overrides, field, liaison_a, agency_a, drone, ordinance
):
    before = written()

    with pytest.raises(ValidationError) as invalid:
        record_use(liaison_a, agency_a, drone, ordinance, **when_run(overrides))

    assert field in invalid.value.message_dict
    assert written() == before


def test_an_emergency_use_under_an_ordinance_not_in_force_is_refused(liaison_a, agency_a, drone, ordinance):
    Ordinance.objects.filter(pk=ordinance.pk).update(status=Ordinance.Status.REPEALED)
    ordinance.refresh_from_db()

    with pytest.raises(ValidationError) as invalid:
        record_use(liaison_a, agency_a, drone, ordinance)

    assert invalid.value.message_dict["ordinance"] == [
        oversight.NOT_IN_FORCE.format(ordinance="TEST-0001", status="repealed")
    ]


def test_an_emergency_use_under_an_ordinance_silent_on_its_category_is_refused(
    liaison_a, agency_a, ordinance
):
    gunshot = baker.make(
        Technology, name="Gunshot sensor", slug="gunshot", category=Category.GUNSHOT_DETECTION
    )

    with pytest.raises(ValidationError) as invalid:
        record_use(liaison_a, agency_a, gunshot, ordinance)

    assert "has no rule for gunshot detection" in invalid.value.message_dict["ordinance"][0]
    assert not EmergencyUse.objects.exists()


def test_the_same_emergency_use_cannot_be_recorded_twice(liaison_a, staff, agency_a, drone, ordinance):
    record_use(liaison_a, agency_a, drone, ordinance, used_on=days_ago(4))

    with pytest.raises(ValidationError) as invalid:
        record_use(staff, agency_a, drone, ordinance, used_on=days_ago(4))

    assert "already recorded" in invalid.value.message_dict["used_on"][0]
    assert EmergencyUse.objects.count() == 1


def test_submitting_the_report_links_it_to_the_recorded_use(
    liaison_a, agency_a, drone, ordinance, make_request
):
    use = record_use(liaison_a, agency_a, drone, ordinance, used_on=days_ago(6))

    report = make_request("submitted", kind=Request.Kind.EMERGENCY_REPORT, emergency_used_on=days_ago(6))

    use.refresh_from_db()
    assert use.report == report
    filed = use.events.get(action=A.EMERGENCY_REPORT_FILED)
    assert filed.data["request"] == report.reference
    assert filed.data["late"] is False
    assert filed.actor_role == "liaison"
    assert oversight.emergency_report_state(use) == "filed_on_time"


def submit_late(make_request, liaison, used_on: datetime.date, **fields) -> Request:
    """An emergency-use report drafted the day after the use, submitted only today."""
    report = make_request("draft", kind=Request.Kind.EMERGENCY_REPORT, emergency_used_on=used_on, **fields)
    workflow.perform("submit", report, by=liaison)
    return report


def test_a_report_of_an_unrecorded_use_records_the_use_from_the_report(make_request, liaison_a):
    report = submit_late(make_request, liaison_a, days_ago(20), purpose="Searched for a missing hiker.")

    use = EmergencyUse.objects.get()
    assert (use.report, use.used_on, use.agency_id) == (report, days_ago(20), report.agency_id)
    assert use.report_due_on == days_ago(6)
    assert use.circumstances.startswith("Searched for a missing hiker.")
    filed = use.events.get()
    assert (filed.action, filed.data["late"], filed.data["recorded_from_report"]) == (
        A.EMERGENCY_REPORT_FILED,
        True,
        True,
    )
    assert oversight.emergency_report_state(use) == "filed_late"


def test_resubmitting_a_returned_report_files_it_only_once(make_request, liaison_a):
    report = make_request("returned", kind=Request.Kind.EMERGENCY_REPORT, emergency_used_on=days_ago(60))

    workflow.perform("submit", report, by=liaison_a)

    assert OversightEvent.objects.filter(action=A.EMERGENCY_REPORT_FILED).count() == 1


def test_other_kinds_of_request_record_no_emergency_use(make_request):
    make_request("submitted")

    assert not EmergencyUse.objects.exists()


def test_an_unreported_use_past_its_due_date_is_marked_overdue_once(liaison_a, agency_a, drone, ordinance):
    use = record_use(liaison_a, agency_a, drone, ordinance, used_on=days_ago(20))

    first = oversight.mark_emergency_reports_overdue()
    second = oversight.mark_emergency_reports_overdue()

    assert [u.pk for u in first] == [use.pk]
    assert second == []
    use.refresh_from_db()
    assert use.overdue_since == today()
    overdue = use.events.get(action=A.EMERGENCY_REPORT_OVERDUE)
    assert (overdue.actor, overdue.actor_name, overdue.actor_role) == (None, "", "system")
    assert overdue.data == {"report_due_on": days_ago(6).isoformat()}


def test_a_use_still_within_its_report_window_is_not_marked(liaison_a, agency_a, drone, ordinance):
    use = record_use(liaison_a, agency_a, drone, ordinance, used_on=days_ago(14))

    assert oversight.mark_emergency_reports_overdue() == []
    assert oversight.emergency_report_state(use) == "due"


def test_a_use_reported_in_time_is_never_marked_overdue(liaison_a, agency_a, drone, ordinance, make_request):
    use = record_use(liaison_a, agency_a, drone, ordinance, used_on=days_ago(20))
    make_request("submitted", kind=Request.Kind.EMERGENCY_REPORT, emergency_used_on=days_ago(20))

    later = timezone.now() + datetime.timedelta(days=30)

    assert oversight.mark_emergency_reports_overdue(now=later) == []
    use.refresh_from_db()
    assert use.overdue_since is None


def test_a_use_marked_overdue_then_reported_reads_as_filed_late(
    liaison_a, agency_a, drone, ordinance, make_request
):
    use = record_use(liaison_a, agency_a, drone, ordinance, used_on=days_ago(40))
    oversight.mark_emergency_reports_overdue()

    submit_late(make_request, liaison_a, days_ago(40))

    use = EmergencyUse.objects.select_related("report").get(pk=use.pk)
    assert use.overdue_since is not None
    assert oversight.emergency_report_state(use) == "filed_late"


def test_a_use_under_a_law_with_no_report_deadline_is_never_overdue(liaison_a, agency_a, drone, ordinance):
    ordinance.deadlines.filter(kind=Deadline.Kind.EMERGENCY_REPORT).delete()
    use = record_use(liaison_a, agency_a, drone, ordinance, used_on=days_ago(400))

    assert use.report_due_on is None
    assert oversight.mark_emergency_reports_overdue() == []
    assert oversight.emergency_report_state(use) == "no_deadline"


# ---------------------------------------------------------------------------
# Violations
# ---------------------------------------------------------------------------


def violation_fields(agency, technology, ordinance, **overrides):
    fields = {
        "agency": agency,
        "technology": technology,
        "ordinance": ordinance,
        "description": "Drone footage was kept past the 30 days the policy allows.",
        "occurred_on": days_ago(40),
        "found_on": days_ago(10),
        "how_found": Violation.HowFound.AUDIT,
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def violation(staff, agency_a, drone, ordinance) -> Violation:
    return oversight.record_violation(staff, **violation_fields(agency_a, drone, ordinance))


def test_staff_record_a_violation_under_investigation_and_out_of_public_view(violation):
    assert violation.status == Violation.Status.INVESTIGATING
    assert not Violation.objects.public().exists()
    event = violation.events.get()
    assert (event.action, event.actor_role, event.actor_name, event.is_public) == (
        A.RECORD_VIOLATION,
        "staff",
        "Stef Staff",
        False,
    )
    assert event.data["how_found"] == "audit"


@pytest.mark.parametrize("who", ["liaison_a", "clerk", "nobody"])
def test_recording_a_violation_is_refused_to_anyone_but_staff(who, request, agency_a, drone, ordinance):
    user = None if who == "nobody" else request.getfixturevalue(who)

    with pytest.raises(TransitionRefused) as refused:
        oversight.record_violation(user, **violation_fields(agency_a, drone, ordinance))

    assert refused.value.code == "permission"
    assert written() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"description": ""}, "description"),
        ({"found_on": None}, "found_on"),
        ({"found_on": lambda: days_ago(-1)}, "found_on"),
        ({"occurred_on": lambda: days_ago(2), "found_on": lambda: days_ago(3)}, "found_on"),
        ({"occurred_on": lambda: days_ago(-3)}, "occurred_on"),
        ({"how_found": "rumour"}, "how_found"),
        ({"colour": "red"}, "colour"),
    ],
    ids=[
        "no-description",
        "no-date",
        "found-in-future",
        "found-before-it-happened",
        "future",
        "how",
        "unknown",
    ],
)
def test_a_bad_violation_gives_a_field_error_and_writes_nothing(
    overrides, field, staff, agency_a, drone, ordinance
):
    with pytest.raises(ValidationError) as invalid:
        oversight.record_violation(
            staff, **violation_fields(agency_a, drone, ordinance, **when_run(overrides))
        )

    assert field in invalid.value.message_dict
    assert written() == (0, 0, 0, 0)


def test_a_violation_names_only_an_approval_of_the_same_agency_and_technology(
    staff, agency_a, agency_b, drone, ordinance, make_request
):
    approval = make_request("approved")

    with pytest.raises(ValidationError) as invalid:
        oversight.record_violation(staff, **violation_fields(agency_b, drone, ordinance, request=approval))

    assert invalid.value.message_dict["request"] == [
        "The approval must be of the same agency and technology."
    ]
    recorded = oversight.record_violation(
        staff, **violation_fields(agency_a, drone, ordinance, request=approval)
    )
    assert recorded.request == approval


def test_a_violation_cannot_name_a_request_that_was_never_approved(
    staff, agency_a, drone, ordinance, make_request
):
    pending = make_request("in_review")

    with pytest.raises(ValidationError) as invalid:
        oversight.record_violation(staff, **violation_fields(agency_a, drone, ordinance, request=pending))

    assert "name an approval" in invalid.value.message_dict["request"][0]


def test_staff_record_the_remedy_with_its_date(violation, staff):
    oversight.update_violation(
        violation,
        staff,
        status=Violation.Status.REMEDIED,
        remedy="The footage was deleted and the retention job fixed.",
        remedied_on=days_ago(2),
        note="Checked by the auditor.",
    )

    violation.refresh_from_db()
    assert (violation.status, violation.remedied_on) == (Violation.Status.REMEDIED, days_ago(2))
    event = violation.events.get(action=A.UPDATE_VIOLATION)
    assert (event.from_status, event.to_status, event.note) == (
        "investigating",
        "remedied",
        "Checked by the auditor.",
    )
    assert event.data["fields"] == ["status", "remedy", "remedied_on"]
    assert not event.is_public


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"status": "remedied", "remedied_on": "recent"}, "remedy"),
        ({"status": "remedied", "remedy": "Deleted."}, "remedied_on"),
        ({"status": "remedied", "remedy": "Deleted.", "remedied_on": "before-found"}, "remedied_on"),
        ({"status": "remedied", "remedy": "Deleted.", "remedied_on": "future"}, "remedied_on"),
        ({"status": "unfounded"}, "investigation"),
        ({"status": "confirmed", "remedied_on": "recent"}, "remedied_on"),
        ({"status": "resolved"}, "status"),
    ],
    ids=[
        "no-remedy",
        "no-date",
        "before-found",
        "future",
        "unfounded-unexplained",
        "date-not-remedied",
        "unknown",
    ],
)
def test_a_status_the_record_does_not_support_is_refused_on_its_field(changes, field, violation, staff):
    dates = {
        "recent": days_ago(1),
        "before-found": days_ago(11),
        "future": today() + datetime.timedelta(days=1),
    }
    changes = {key: dates.get(value, value) for key, value in changes.items()}
    before = written()

    with pytest.raises(ValidationError) as invalid:
        oversight.update_violation(violation, staff, **changes)

    assert field in invalid.value.message_dict
    assert written() == before
    violation.refresh_from_db()
    assert violation.status == Violation.Status.INVESTIGATING


def test_an_update_that_changes_nothing_writes_nothing(violation, staff):
    oversight.update_violation(violation, staff, status=Violation.Status.INVESTIGATING, investigation="")

    assert violation.events.count() == 1


@pytest.mark.parametrize("who", ["liaison_a", "clerk"])
def test_updating_or_publishing_a_violation_is_refused_to_anyone_but_staff(who, request, violation):
    user = request.getfixturevalue(who)

    with pytest.raises(TransitionRefused):
        oversight.update_violation(violation, user, status=Violation.Status.CONFIRMED)
    with pytest.raises(TransitionRefused):
        oversight.publish_violation(violation, user)

    violation.refresh_from_db()
    assert (violation.status, violation.published_at) == (Violation.Status.INVESTIGATING, None)
    assert violation.events.count() == 1


def test_a_published_violation_is_public_and_cannot_be_published_again(violation, staff):
    oversight.publish_violation(violation, staff, note="Published after review.")

    assert list(Violation.objects.public()) == [violation]
    with pytest.raises(TransitionRefused, match="already"):
        oversight.publish_violation(violation, staff)
    published = violation.events.get(action=A.PUBLISH_VIOLATION)
    assert published.is_public
    assert violation.events.filter(action=A.PUBLISH_VIOLATION).count() == 1


def test_updates_after_publication_are_on_the_public_record(violation, staff):
    oversight.publish_violation(violation, staff)

    oversight.update_violation(
        violation, staff, status=Violation.Status.CONFIRMED, investigation="It happened."
    )

    assert violation.events.get(action=A.UPDATE_VIOLATION).is_public


# ---------------------------------------------------------------------------
# Annual reports: which ones the law expects
# ---------------------------------------------------------------------------


def oakland_rule(ordinance) -> None:
    """Oakland's: due 15 March each year, for the year before."""
    Deadline.objects.create(
        ordinance=ordinance,
        kind=Deadline.Kind.ANNUAL_REPORT,
        counted_from=Deadline.Anchor.FIXED_DAY,
        month=3,
        day=15,
    )


def san_francisco_rule(ordinance) -> None:
    """San Francisco's: within 12 months of the approval (here, of each 12 months of it)."""
    Deadline.objects.create(
        ordinance=ordinance,
        kind=Deadline.Kind.ANNUAL_REPORT,
        amount=12,
        unit=Deadline.Unit.MONTHS,
        counted_from=Deadline.Anchor.DECISION,
    )


@pytest.fixture
def approve_2024(ordinance, agency_a, drone, liaison_a, staff):
    """An approval of agency A's drone walked through the workflow in spring 2024."""

    def approve(**fields) -> Request:
        request = workflow.create_draft(
            by=liaison_a,
            now=START_2024,
            kind=Request.Kind.APPROVAL,
            agency=agency_a,
            technology=drone,
            ordinance=ordinance,
            purpose="Find missing people.",
            **{"title": "Drone for search and rescue", **SUBMISSION_FIELDS, **fields},
        )
        return walk(request, "approved", liaison=liaison_a, staff=staff, start=START_2024)

    return approve


def test_oakland_expects_a_report_for_each_calendar_year_in_effect_due_15_march_after(
    ordinance, approve_2024
):
    oakland_rule(ordinance)
    approval = approve_2024()
    assert (approval.decision.decided_on, approval.decision.expires_on) == (
        DECIDED_2024,
        datetime.date(2025, 5, 16),
    )

    expected = oversight.expected_reports(datetime.date(2026, 6, 1))

    assert [(e.year, e.due_on) for e in expected] == [
        (2024, datetime.date(2025, 3, 15)),
        (2025, datetime.date(2026, 3, 15)),
    ]
    assert all(e.report is None and e.agency == approval.agency for e in expected)


def test_oakland_expects_no_report_for_a_year_that_has_not_begun(ordinance, approve_2024):
    oakland_rule(ordinance)
    approve_2024()

    expected = oversight.expected_reports(datetime.date(2024, 12, 1))

    assert [(e.year, e.due_on) for e in expected] == [(2024, datetime.date(2025, 3, 15))]


def test_san_francisco_expects_a_report_for_each_twelve_months_from_the_decision(ordinance, approve_2024):
    san_francisco_rule(ordinance)
    ordinance.deadlines.filter(kind=Deadline.Kind.APPROVAL_TERM).delete()
    approve_2024(requested_term_days=800)  # in effect until 25 July 2026

    expected = oversight.expected_reports(datetime.date(2027, 6, 1))

    assert [(e.year, e.due_on) for e in expected] == [
        (2024, datetime.date(2025, 5, 16)),
        (2025, datetime.date(2026, 5, 16)),
        (2026, datetime.date(2027, 5, 16)),
    ]


def test_san_francisco_expects_one_report_of_a_one_year_approval(ordinance, approve_2024):
    san_francisco_rule(ordinance)
    approve_2024()

    expected = oversight.expected_reports(datetime.date(2027, 6, 1))

    assert [(e.year, e.due_on) for e in expected] == [(2024, datetime.date(2025, 5, 16))]


def test_a_revoked_approval_is_reported_on_only_until_its_revocation(ordinance, approve_2024, staff):
    oakland_rule(ordinance)
    approval = approve_2024()
    workflow.perform(
        "revoke", approval, by=staff, now=at(datetime.date(2024, 9, 1)), reason="Used beyond its policy."
    )

    expected = oversight.expected_reports(datetime.date(2026, 6, 1))

    assert [e.year for e in expected] == [2024]


def test_no_report_is_expected_where_the_law_sets_no_annual_report(ordinance, approve_2024, make_request):
    approve_2024()
    make_request("denied")

    assert oversight.expected_reports(datetime.date(2026, 6, 1)) == []


def test_a_denied_request_calls_for_no_report(ordinance, make_request):
    oakland_rule(ordinance)
    make_request("denied")

    assert oversight.expected_reports(today() + datetime.timedelta(days=800)) == []


def test_expected_reports_runs_three_queries_however_many_approvals(
    ordinance, approve_2024, django_assert_num_queries
):
    oakland_rule(ordinance)
    for number in range(3):
        approve_2024(title=f"Drone {number}")

    with django_assert_num_queries(3):
        expected = oversight.expected_reports(datetime.date(2026, 6, 1))

    assert len(expected) == 2


# ---------------------------------------------------------------------------
# Annual reports: started, written, submitted, returned, accepted
# ---------------------------------------------------------------------------

IN_2025 = timezone.make_aware(datetime.datetime(2025, 1, 10, 10))


@pytest.fixture
def oakland_approval(ordinance, approve_2024) -> Request:
    oakland_rule(ordinance)
    return approve_2024()


def start(by, approval, year=2024, now=IN_2025):
    return oversight.start_report(by, approval.agency, approval.technology, approval.ordinance, year, now=now)


def complete(report, by):
    return oversight.update_report(
        report,
        by,
        {
            "use_summary": "Flown 12 times to search for missing people.",
            "non_suspects_captured": "Yes: hikers and bystanders in view.",
            "sharing": "No outside body.",
            "complaints_count": 0,
        },
    )


def test_a_liaison_starts_the_report_the_law_expects_with_its_due_date(oakland_approval, liaison_a):
    report = start(liaison_a, oakland_approval)

    assert (report.year, report.due_on, report.status) == (2024, datetime.date(2025, 3, 15), "draft")
    assert report.created_by == liaison_a
    event = report.events.get()
    assert (event.action, event.is_public, event.actor_role) == (A.REPORT_STARTED, False, "liaison")
    assert not AnnualReport.objects.public().exists()


@pytest.mark.parametrize("who", ["liaison_b", "staff", "clerk"])
def test_starting_a_report_is_refused_to_anyone_but_the_agencys_liaison(who, request, oakland_approval):
    user = request.getfixturevalue(who)

    with pytest.raises(TransitionRefused) as refused:
        start(user, oakland_approval)

    assert refused.value.code == "permission"
    assert written() == (0, 0, 0, 0)


def test_a_report_the_law_does_not_expect_is_refused_on_its_year(oakland_approval, liaison_a):
    with pytest.raises(ValidationError) as invalid:
        start(liaison_a, oakland_approval, year=2023)

    assert "expects no annual report" in invalid.value.message_dict["year"][0]
    assert not AnnualReport.objects.exists()


def test_a_report_for_a_year_not_yet_begun_is_refused(oakland_approval, liaison_a):
    with pytest.raises(ValidationError) as invalid:
        start(liaison_a, oakland_approval, year=2026)

    assert invalid.value.message_dict["year"] == [oversight.FUTURE_YEAR]


def test_a_report_cannot_be_started_twice(oakland_approval, liaison_a):
    start(liaison_a, oakland_approval)

    with pytest.raises(TransitionRefused, match="already started"):
        start(liaison_a, oakland_approval)

    assert AnnualReport.objects.count() == 1


def test_the_liaison_writes_only_the_reports_contents(oakland_approval, liaison_a):
    report = start(liaison_a, oakland_approval)

    with pytest.raises(ValidationError) as invalid:
        oversight.update_report(
            report, liaison_a, {"use_summary": "Flown.", "due_on": datetime.date(2030, 1, 1)}
        )

    assert invalid.value.message_dict == {"due_on": [oversight.NOT_CONTENT]}
    report.refresh_from_db()
    assert report.use_summary == ""


def test_changing_the_contents_is_on_the_record(oakland_approval, liaison_a):
    report = start(liaison_a, oakland_approval)

    complete(report, liaison_a)

    edited = report.events.get(action=A.REPORT_EDITED)
    assert edited.data["fields"] == ["use_summary", "non_suspects_captured", "sharing", "complaints_count"]
    assert not edited.is_public


def test_a_bad_count_is_refused_on_its_field(oakland_approval, liaison_a):
    report = start(liaison_a, oakland_approval)

    with pytest.raises(ValidationError) as invalid:
        oversight.update_report(report, liaison_a, {"annual_cost": "a lot"})

    assert "annual_cost" in invalid.value.message_dict
    assert report.events.count() == 1


@pytest.mark.parametrize("who", ["liaison_b", "staff"])
def test_only_the_agencys_liaison_changes_a_report(who, request, oakland_approval, liaison_a):
    report = start(liaison_a, oakland_approval)

    with pytest.raises(TransitionRefused):
        oversight.update_report(report, request.getfixturevalue(who), {"use_summary": "Rewritten."})
    with pytest.raises(TransitionRefused):
        oversight.submit_report(report, request.getfixturevalue(who))

    report.refresh_from_db()
    assert (report.use_summary, report.status) == ("", "draft")


def test_a_report_missing_what_the_law_asks_cannot_be_submitted(oakland_approval, liaison_a):
    report = start(liaison_a, oakland_approval)
    oversight.update_report(report, liaison_a, {"use_summary": "Flown 12 times."})

    with pytest.raises(ValidationError) as invalid:
        oversight.submit_report(report, liaison_a)

    assert set(invalid.value.message_dict) == {"non_suspects_captured", "sharing", "complaints_count"}
    report.refresh_from_db()
    assert (report.status, report.submitted_at) == ("draft", None)


def test_a_submitted_report_is_public_and_no_longer_the_agencys_to_change(oakland_approval, liaison_a):
    report = start(liaison_a, oakland_approval)
    complete(report, liaison_a)

    oversight.submit_report(report, liaison_a, now=timezone.make_aware(datetime.datetime(2025, 3, 1, 9)))

    assert list(AnnualReport.objects.public()) == [report]
    submitted = report.events.get(action=A.REPORT_SUBMITTED)
    assert (submitted.is_public, submitted.data["late"]) == (True, False)
    with pytest.raises(TransitionRefused):
        oversight.update_report(report, liaison_a, {"use_summary": "Rewritten."})


def test_staff_return_a_report_with_a_reason_and_the_agency_resubmits_it(oakland_approval, liaison_a, staff):
    report = start(liaison_a, oakland_approval)
    complete(report, liaison_a)
    oversight.submit_report(report, liaison_a)

    with pytest.raises(ValidationError) as invalid:
        oversight.return_report(report, staff, "  ")
    assert invalid.value.message_dict == {"reason": [oversight.REASON_REQUIRED]}

    oversight.return_report(report, staff, "Say where it was deployed.")
    oversight.update_report(report, liaison_a, {"deployments": "The river gorge."})
    oversight.submit_report(report, liaison_a)

    report.refresh_from_db()
    assert report.status == "submitted"
    returned = report.events.get(action=A.REPORT_RETURNED)
    assert (returned.note, returned.actor_role) == ("Say where it was deployed.", "staff")
    assert report.events.filter(action=A.REPORT_SUBMITTED).last().data["resubmission"] is True


def test_staff_accept_a_submitted_report(oakland_approval, liaison_a, staff):
    report = start(liaison_a, oakland_approval)
    complete(report, liaison_a)
    oversight.submit_report(report, liaison_a)

    oversight.accept_report(report, staff, note="Complete.")

    report.refresh_from_db()
    assert (report.status, report.accepted_on) == ("accepted", today())
    with pytest.raises(TransitionRefused, match="accepted"):
        oversight.return_report(report, staff, "Too late.")


def test_a_draft_cannot_be_accepted_or_returned(oakland_approval, liaison_a, staff):
    report = start(liaison_a, oakland_approval)

    with pytest.raises(TransitionRefused, match="not yet submitted"):
        oversight.accept_report(report, staff)
    with pytest.raises(TransitionRefused):
        oversight.return_report(report, staff, "No.")

    assert report.events.count() == 1


@pytest.mark.parametrize("who", ["liaison_a", "clerk"])
def test_only_staff_accept_or_return_a_report(who, request, oakland_approval, liaison_a):
    report = start(liaison_a, oakland_approval)
    complete(report, liaison_a)
    oversight.submit_report(report, liaison_a)
    user = request.getfixturevalue(who)

    with pytest.raises(TransitionRefused) as refused:
        oversight.accept_report(report, user)
    assert refused.value.code == "permission"
    with pytest.raises(TransitionRefused):
        oversight.return_report(report, user, "No.")

    report.refresh_from_db()
    assert report.status == "submitted"


# ---------------------------------------------------------------------------
# Annual reports: overdue, marked by the portal on schedule
# ---------------------------------------------------------------------------

AFTER_DUE_2025 = timezone.make_aware(datetime.datetime(2025, 3, 16, 6))


def test_a_report_nobody_started_is_created_and_marked_overdue_once(oakland_approval):
    first = oversight.mark_annual_reports_overdue(now=AFTER_DUE_2025)
    second = oversight.mark_annual_reports_overdue(now=AFTER_DUE_2025)

    assert second == []
    report = AnnualReport.objects.get()
    assert [r.pk for r in first] == [report.pk]
    assert (report.year, report.status, report.created_by, report.overdue_since) == (
        2024,
        "draft",
        None,
        datetime.date(2025, 3, 16),
    )
    overdue = report.events.get()
    assert (overdue.action, overdue.actor_role, overdue.is_public) == (A.REPORT_OVERDUE, "system", True)
    assert list(AnnualReport.objects.public()) == [report]


def test_a_draft_past_its_due_date_is_marked_overdue(oakland_approval, liaison_a):
    report = start(liaison_a, oakland_approval)

    oversight.mark_annual_reports_overdue(now=AFTER_DUE_2025)

    report.refresh_from_db()
    assert report.overdue_since == datetime.date(2025, 3, 16)
    assert report.events.filter(action=A.REPORT_OVERDUE).count() == 1


def test_a_report_submitted_in_time_is_never_marked_overdue(oakland_approval, liaison_a):
    report = start(liaison_a, oakland_approval)
    complete(report, liaison_a)
    oversight.submit_report(report, liaison_a, now=timezone.make_aware(datetime.datetime(2025, 3, 1, 9)))

    assert oversight.mark_annual_reports_overdue(now=AFTER_DUE_2025) == []


def test_a_report_not_yet_due_is_not_marked(oakland_approval):
    before_due = timezone.make_aware(datetime.datetime(2025, 3, 15, 12))

    assert oversight.mark_annual_reports_overdue(now=before_due) == []
    assert not AnnualReport.objects.exists()


def test_an_overdue_report_may_still_be_written_and_submitted(oakland_approval, liaison_a):
    oversight.mark_annual_reports_overdue(now=AFTER_DUE_2025)
    report = AnnualReport.objects.get()

    complete(report, liaison_a)
    oversight.submit_report(report, liaison_a)

    report.refresh_from_db()
    assert report.status == "submitted"
    assert report.is_overdue  # it came in after its due date
    assert report.events.get(action=A.REPORT_SUBMITTED).data["late"] is True


# ---------------------------------------------------------------------------
# Twice at once (PostgreSQL row locks)
# ---------------------------------------------------------------------------


def run_twice_at_once(function, now) -> list[object]:
    barrier = threading.Barrier(2, timeout=10)
    outcomes: list[object] = []

    def run() -> None:
        try:
            barrier.wait()
            outcomes.append(function(now=now))
        except Exception as error:  # pragma: no cover - reported by the assertion
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.postgresql
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_marking_reports_overdue_twice_at_once_marks_each_once(
    oakland_approval, liaison_a, agency_a, drone, ordinance
):
    record_use(liaison_a, agency_a, drone, ordinance, used_on=days_ago(30))
    later = timezone.now()

    emergency = run_twice_at_once(oversight.mark_emergency_reports_overdue, later)
    annual = run_twice_at_once(oversight.mark_annual_reports_overdue, later)

    assert sorted(len(outcome) for outcome in emergency) == [0, 1]  # type: ignore[arg-type]
    assert not any(isinstance(outcome, Exception) for outcome in annual), annual
    assert OversightEvent.objects.filter(action=A.EMERGENCY_REPORT_OVERDUE).count() == 1
    assert AnnualReport.objects.count() == OversightEvent.objects.filter(action=A.REPORT_OVERDUE).count() >= 1


# ---------------------------------------------------------------------------
# The oversight timeline is append-only
# ---------------------------------------------------------------------------


@pytest.fixture
def oversight_event(violation) -> OversightEvent:
    return violation.events.get()


def _rewrite(event):
    event.note = "Rewritten."
    event.save()


@pytest.mark.parametrize(
    "change",
    [
        _rewrite,
        lambda event: event.delete(),
        lambda event: OversightEvent.objects.filter(pk=event.pk).update(note="Rewritten."),
        lambda event: OversightEvent.objects.all().delete(),
    ],
    ids=["save", "delete", "queryset-update", "queryset-delete"],
)
def test_the_application_refuses_to_change_or_delete_an_oversight_event(change, oversight_event):
    with pytest.raises(TypeError, match="append-only"), transaction.atomic():
        change(oversight_event)

    assert OversightEvent.objects.get(pk=oversight_event.pk).note == ""


@pytest.mark.parametrize(
    "sql",
    ["UPDATE ordinances_oversightevent SET note = 'Rewritten.'", "DELETE FROM ordinances_oversightevent"],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_or_delete_an_oversight_event(sql, oversight_event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)

    assert OversightEvent.objects.count() == 1


def test_a_demo_ordinance_cannot_govern_a_real_emergency_use(liaison_a, agency_a, drone, ordinance):
    demo = baker.make(
        Ordinance, file_number="DEMO-1", slug="demo", status=Ordinance.Status.IN_EFFECT, is_demo=True
    )
    CategoryRule.objects.create(
        ordinance=demo, category=Category.DRONES, rule=CategoryRule.Rule.APPROVAL_REQUIRED
    )

    with pytest.raises(ValidationError) as invalid:
        record_use(liaison_a, agency_a, drone, demo)

    assert invalid.value.message_dict["ordinance"] == [oversight.DEMO_LAW]


def test_the_record_names_a_person_by_display_name_never_by_login(agency_a, drone, ordinance):
    nameless = make_user("nameless-login", "Agency liaisons")
    agency_a.liaisons.add(nameless)

    use = record_use(nameless, agency_a, drone, ordinance)

    event = use.events.get()
    assert (event.actor_name, event.actor_role) == ("", "liaison")
