"""
The oversight workspace in the admin (`ordinances/admin_oversight.py`): who sees and
changes which emergency uses, violations and annual reports; every save and button goes
through `ordinances.oversight`; bad input comes back as a form error, never a 500.
"""

from __future__ import annotations

import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from ordinances import oversight, workflow
from ordinances.models import (
    AnnualReport,
    Deadline,
    EmergencyUse,
    OversightEvent,
    Request,
    Violation,
)
from tests.conftest import walk

pytestmark = pytest.mark.django_db

A = OversightEvent.Action
SUBMISSION_FIELDS = {
    name: f"The agency's {name.replace('_', ' ')}."
    for name in ("justification", "alternatives_considered", "data_collected", "retention", "sharing")
}
START = timezone.now() - datetime.timedelta(days=700)


def days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


def url(model: str, view: str, *args) -> str:
    return reverse(f"admin:ordinances_{model}_{view}", args=args)


def action_url(model: str, obj, name: str) -> str:
    return reverse(f"admin:ordinances_{model}_action", args=[obj.pk, name])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def use_a(liaison_a, agency_a, drone, ordinance) -> EmergencyUse:
    return oversight.record_emergency_use(
        liaison_a, agency_a, drone, ordinance, days_ago(20), "A search at night."
    )


@pytest.fixture
def violation(staff, agency_a, drone, ordinance) -> Violation:
    return oversight.record_violation(
        staff,
        agency=agency_a,
        technology=drone,
        ordinance=ordinance,
        description="Footage kept too long.",
        found_on=days_ago(5),
        how_found=Violation.HowFound.AUDIT,
    )


@pytest.fixture
def reports_due(ordinance, agency_a, drone, liaison_a, staff) -> Request:
    """An approval of agency A's drone under a law with annual reports due 15 March; decided about 655 days ago."""
    Deadline.objects.create(
        ordinance=ordinance,
        kind=Deadline.Kind.ANNUAL_REPORT,
        counted_from=Deadline.Anchor.FIXED_DAY,
        month=3,
        day=15,
    )
    request = workflow.create_draft(
        by=liaison_a,
        now=START,
        kind=Request.Kind.APPROVAL,
        agency=agency_a,
        technology=drone,
        ordinance=ordinance,
        title="Drone for search and rescue",
        purpose="Find missing people.",
        **SUBMISSION_FIELDS,
    )
    return walk(request, "approved", liaison=liaison_a, staff=staff, start=START)


@pytest.fixture
def first_year(reports_due) -> int:
    return reports_due.decision.decided_on.year


@pytest.fixture
def draft_report(reports_due, liaison_a, first_year) -> AnnualReport:
    return oversight.start_report(
        liaison_a, reports_due.agency, reports_due.technology, reports_due.ordinance, first_year
    )


@pytest.fixture
def submitted(draft_report, liaison_a) -> AnnualReport:
    oversight.update_report(
        draft_report,
        liaison_a,
        {
            "use_summary": "Flown 12 times.",
            "non_suspects_captured": "Hikers in view.",
            "sharing": "None.",
            "complaints_count": 0,
        },
    )
    return oversight.submit_report(draft_report, liaison_a)


# ---------------------------------------------------------------------------
# Liaison B never sees or changes agency A's records
# ---------------------------------------------------------------------------


def test_liaison_b_does_not_see_agency_as_emergency_uses_or_reports(client, liaison_b, use_a, draft_report):
    client.force_login(liaison_b)

    uses = client.get(url("emergencyuse", "changelist"))
    reports = client.get(url("annualreport", "changelist"))

    assert uses.status_code == reports.status_code == 200
    assert list(uses.context["cl"].queryset) == []
    assert list(reports.context["cl"].queryset) == []


@pytest.mark.parametrize("record", ["use_a", "draft_report"])
def test_liaison_b_cannot_open_agency_as_record(record, request, client, liaison_b):
    obj = request.getfixturevalue(record)
    model = obj._meta.model_name
    client.force_login(liaison_b)

    response = client.get(url(model, "change", obj.pk))

    assert response.status_code == 302
    assert "Footage" not in response.content.decode()


def test_liaison_b_cannot_submit_agency_as_report(client, liaison_b, draft_report):
    client.force_login(liaison_b)

    response = client.post(action_url("annualreport", draft_report, "submit"), {"note": ""})

    assert response.status_code == 404
    draft_report.refresh_from_db()
    assert draft_report.status == "draft"


def test_liaison_b_cannot_change_agency_as_report_contents(client, liaison_b, draft_report):
    client.force_login(liaison_b)

    client.post(url("annualreport", "change", draft_report.pk), {"use_summary": "Rewritten by B."})

    draft_report.refresh_from_db()
    assert draft_report.use_summary == ""


def test_a_liaison_never_sees_violations(client, liaison_a, violation):
    client.force_login(liaison_a)

    assert client.get(url("violation", "changelist")).status_code == 403
    assert client.get(url("violation", "change", violation.pk)).status_code in (302, 403)


# ---------------------------------------------------------------------------
# Emergency uses
# ---------------------------------------------------------------------------


def use_form(agency, technology, ordinance, **overrides) -> dict[str, str]:
    data = {
        "agency": str(agency.pk),
        "technology": str(technology.pk),
        "ordinance": str(ordinance.pk),
        "used_on": days_ago(3).isoformat(),
        "ended_on": "",
        "circumstances": "Searched for a lost child.",
        "language": "en",
    }
    data.update({key: str(value) for key, value in overrides.items()})
    return data


def test_a_liaison_records_an_emergency_use_through_the_admin(client, liaison_a, agency_a, drone, ordinance):
    client.force_login(liaison_a)

    response = client.post(url("emergencyuse", "add"), use_form(agency_a, drone, ordinance))

    assert response.status_code == 302
    use = EmergencyUse.objects.get()
    assert use.report_due_on == days_ago(3) + datetime.timedelta(days=14)
    assert use.events.get().action == A.RECORD_EMERGENCY_USE


def test_a_future_date_is_a_form_error_and_nothing_is_written(client, liaison_a, agency_a, drone, ordinance):
    client.force_login(liaison_a)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    response = client.post(url("emergencyuse", "add"), use_form(agency_a, drone, ordinance, used_on=tomorrow))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["used_on"] == [oversight.FUTURE_DATE]
    assert not EmergencyUse.objects.exists()
    assert not OversightEvent.objects.exists()


def test_a_liaison_cannot_record_a_use_for_another_agency(client, liaison_a, agency_b, drone, ordinance):
    client.force_login(liaison_a)

    response = client.post(url("emergencyuse", "add"), use_form(agency_b, drone, ordinance))

    assert response.status_code == 200
    assert "agency" in response.context["adminform"].form.errors
    assert not EmergencyUse.objects.exists()


def test_the_use_page_shows_its_timeline_in_words_and_offers_to_file_the_report(client, liaison_a, use_a):
    client.force_login(liaison_a)

    html = client.get(url("emergencyuse", "change", use_a.pk)).content.decode()

    assert "Emergency use recorded" in html
    assert "record_emergency_use" not in html
    assert "Agency liaison" in html
    assert "File the report" in html
    assert "kind=emergency_report" in html


def test_staff_see_every_emergency_use(client, staff, use_a):
    client.force_login(staff)

    response = client.get(url("emergencyuse", "changelist"))

    assert list(response.context["cl"].queryset) == [use_a]


# ---------------------------------------------------------------------------
# Violations
# ---------------------------------------------------------------------------


def violation_form(agency, technology, ordinance, **overrides) -> dict[str, str]:
    data = {
        "agency": str(agency.pk),
        "technology": str(technology.pk),
        "ordinance": str(ordinance.pk),
        "request": "",
        "description": "Footage kept too long.",
        "occurred_on": days_ago(30).isoformat(),
        "found_on": days_ago(5).isoformat(),
        "how_found": "audit",
        "investigation": "",
        "language": "en",
    }
    data.update({key: str(value) for key, value in overrides.items()})
    return data


def test_staff_record_a_violation_through_the_admin(client, staff, agency_a, drone, ordinance):
    client.force_login(staff)

    response = client.post(url("violation", "add"), violation_form(agency_a, drone, ordinance))

    assert response.status_code == 302
    violation = Violation.objects.get()
    assert (violation.status, violation.published_at) == ("investigating", None)


def test_a_violation_found_before_it_happened_is_a_form_error(client, staff, agency_a, drone, ordinance):
    client.force_login(staff)

    response = client.post(
        url("violation", "add"),
        violation_form(agency_a, drone, ordinance, occurred_on=days_ago(2), found_on=days_ago(3)),
    )

    assert response.status_code == 200
    assert "found_on" in response.context["adminform"].form.errors
    assert not Violation.objects.exists()


def test_staff_update_the_investigation_with_a_form_error_for_a_remedy_without_a_date(
    client, staff, violation
):
    client.force_login(staff)
    update = action_url("violation", violation, "update")

    refused = client.post(update, {"status": "remedied", "remedy": "Deleted.", "remedied_on": ""})
    done = client.post(
        update,
        {"status": "remedied", "remedy": "Deleted.", "remedied_on": days_ago(1).isoformat(), "note": ""},
    )

    assert refused.status_code == 200
    assert refused.context["form"].errors["remedied_on"] == [oversight.REMEDIED_ON_NEEDED]
    assert done.status_code == 302
    violation.refresh_from_db()
    assert (violation.status, violation.remedied_on) == ("remedied", days_ago(1))


def test_a_garbled_date_is_a_form_error_not_a_500(client, staff, violation):
    client.force_login(staff)

    response = client.post(
        action_url("violation", violation, "update"), {"status": "remedied", "remedied_on": "soon"}
    )

    assert response.status_code == 200
    assert "remedied_on" in response.context["form"].errors


def test_staff_publish_a_violation_once(client, staff, violation):
    client.force_login(staff)
    publish = action_url("violation", violation, "publish")

    first = client.post(publish, {"note": "Reviewed."})
    second = client.post(publish, {"note": ""})

    assert first.status_code == second.status_code == 302
    violation.refresh_from_db()
    assert violation.published_at is not None
    assert OversightEvent.objects.filter(action=A.PUBLISH_VIOLATION).count() == 1
    assert any("cannot publish" in m for m in messages_of(second))


def test_an_unknown_action_is_a_404(client, staff, violation):
    client.force_login(staff)

    assert client.get(action_url("violation", violation, "delete")).status_code == 404


# ---------------------------------------------------------------------------
# Annual reports
# ---------------------------------------------------------------------------


def start_form(approval, year) -> dict[str, str]:
    return {
        "agency": str(approval.agency_id),
        "technology": str(approval.technology_id),
        "ordinance": str(approval.ordinance_id),
        "year": str(year),
        "language": "en",
    }


def test_a_liaison_starts_an_expected_report_through_the_admin(client, liaison_a, reports_due, first_year):
    client.force_login(liaison_a)

    page = client.get(url("annualreport", "add"))
    response = client.post(url("annualreport", "add"), start_form(reports_due, first_year))

    expected = page.context["expected_reports"]
    assert (expected[0].year, expected[0].agency) == (first_year, reports_due.agency)
    assert "Reports the law expects of your agencies" in page.content.decode()
    assert response.status_code == 302
    report = AnnualReport.objects.get()
    assert (report.year, report.due_on) == (first_year, datetime.date(first_year + 1, 3, 15))


def test_a_report_the_law_does_not_expect_is_a_form_error(client, liaison_a, reports_due, first_year):
    client.force_login(liaison_a)

    response = client.post(url("annualreport", "add"), start_form(reports_due, first_year - 3))

    assert response.status_code == 200
    assert "year" in response.context["adminform"].form.errors
    assert not AnnualReport.objects.exists()


def test_the_liaison_writes_the_contents_and_submits_with_field_errors_for_what_is_missing(
    client, liaison_a, draft_report
):
    client.force_login(liaison_a)
    contents = {name: "" for name in AnnualReport.CONTENT_FIELDS}

    saved = client.post(url("annualreport", "change", draft_report.pk), {**contents, "use_summary": "Flown."})
    refused = client.post(action_url("annualreport", draft_report, "submit"), {"note": ""})

    assert saved.status_code == 302
    draft_report.refresh_from_db()
    assert draft_report.use_summary == "Flown."
    assert refused.status_code == 200
    errors = refused.context["form"].non_field_errors()
    assert len(errors) == 3
    assert draft_report.status == "draft"


def test_a_bad_cost_is_a_form_error(client, liaison_a, draft_report):
    client.force_login(liaison_a)
    contents = {name: "" for name in AnnualReport.CONTENT_FIELDS}

    response = client.post(
        url("annualreport", "change", draft_report.pk), {**contents, "annual_cost": "lots"}
    )

    assert response.status_code == 200
    assert "annual_cost" in response.context["adminform"].form.errors


def test_staff_do_not_see_drafts(client, staff, draft_report):
    client.force_login(staff)

    response = client.get(url("annualreport", "changelist"))

    assert list(response.context["cl"].queryset) == []


def test_staff_return_a_report_only_with_a_reason(client, staff, submitted):
    client.force_login(staff)
    back = action_url("annualreport", submitted, "return")

    refused = client.post(back, {"reason": ""})
    done = client.post(back, {"reason": "Say where it flew."})

    assert refused.status_code == 200
    assert refused.context["form"].errors["reason"] == [oversight.REASON_REQUIRED]
    assert done.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == "returned"


def test_staff_accept_a_submitted_report_from_its_page(client, staff, submitted):
    client.force_login(staff)

    page = client.get(url("annualreport", "change", submitted.pk)).content.decode()
    response = client.post(action_url("annualreport", submitted, "accept"), {"note": "Complete."})

    assert "Accept the report" in page
    assert "Report submitted" in page  # the timeline, in words
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == "accepted"


def test_staff_cannot_edit_a_reports_contents(client, staff, submitted):
    client.force_login(staff)
    contents = {name: "" for name in AnnualReport.CONTENT_FIELDS}

    response = client.post(
        url("annualreport", "change", submitted.pk), {**contents, "use_summary": "Rewritten."}
    )

    assert response.status_code == 403
    submitted.refresh_from_db()
    assert submitted.use_summary == "Flown 12 times."


def test_a_liaison_is_not_offered_staff_actions(client, liaison_a, submitted):
    client.force_login(liaison_a)

    response = client.post(action_url("annualreport", submitted, "accept"), {"note": ""})

    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == "submitted"


def test_the_oversight_timeline_is_read_only_in_the_admin(client, staff, violation):
    client.force_login(staff)
    event = violation.events.get()

    assert client.get(url("oversightevent", "changelist")).status_code == 200
    assert client.post(url("oversightevent", "change", event.pk), {"note": "Rewritten."}).status_code == 403
    assert client.post(url("oversightevent", "delete", event.pk), {"post": "yes"}).status_code == 403
    assert OversightEvent.objects.get(pk=event.pk).note == ""
