"""
"Needs action", the review workspace's first page (ordinances/dashboard.py, shown on the
admin's index): council staff see the council's work with its deadlines, soonest first;
a liaison sees their own agency's work and nothing of another agency's.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ordinances import dashboard, oversight, participation, workflow
from ordinances.dashboard import What
from ordinances.models import Deadline, Request, Violation

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
PLACE = {"hearing_room": "Room 317", "hearing_address": "350 S 5th St"}


@pytest.fixture
def now() -> datetime.datetime:
    return timezone.now()


@pytest.fixture
def today(now) -> datetime.date:
    return timezone.localdate(now)


@pytest.fixture
def reports_due(ordinance) -> Deadline:
    """The test ordinance asks for a report three days after each decision."""
    return Deadline.objects.create(
        ordinance=ordinance, kind=Deadline.Kind.ANNUAL_REPORT, amount=3, counted_from=Deadline.Anchor.DECISION
    )


def comment_closing(make_request, staff, now, *, days_left: int = 10, **fields) -> Request:
    """In public comment, its 30 days ending `days_left` days from today."""
    request = make_request("in_review", **fields)
    workflow.perform("open_comment_period", request, by=staff, now=now - (30 - days_left) * DAY)
    return request


def hearing_ahead(make_request, staff, now, *, in_days: int = 20, **fields) -> Request:
    request = make_request("public_comment", **fields)  # its comment closed 18 days ago
    workflow.perform("schedule_hearing", request, by=staff, now=now, hearing_at=now + in_days * DAY, **PLACE)
    return request


def hearing_held(make_request, staff, now, **fields) -> Request:
    request = make_request("public_comment", **fields)
    workflow.perform(
        "schedule_hearing", request, by=staff, now=now - 17 * DAY, hearing_at=now - 6 * DAY, **PLACE
    )
    return request


def approved(make_request, staff, now, *, conditions=None, expires_on=None, **fields) -> Request:
    """Decided five days ago, after a hearing held six days ago."""
    request = hearing_held(make_request, staff, now, **fields)
    inputs = {"votes_yes": 9, "votes_no": 3}
    if expires_on is not None:
        inputs["expires_on"] = expires_on
    if conditions:
        workflow.perform(
            "approve_with_conditions", request, by=staff, now=now - 5 * DAY, conditions=conditions, **inputs
        )
    else:
        workflow.perform("approve", request, by=staff, now=now - 5 * DAY, **inputs)
    request.refresh_from_db()
    return request


def held_comment(request: Request, now) -> None:
    participation.submit_comment(
        request,
        name="",
        email="",
        position="",
        body="Please do not.",
        address="192.0.2.1",
        language="en",
        now=now,
    )


def whats(items) -> set[str]:
    return {item.what for item in items}


# ---------------------------------------------------------------------------
# Council staff
# ---------------------------------------------------------------------------


@pytest.fixture
def council_work(
    make_request, staff, liaison_a, liaison_b, agency_a, agency_b, drone, ordinance, reports_due, now, today
):
    """One of each kind of item staff act on."""
    work = {}
    work["review"] = make_request("submitted", title="Waiting for review")
    work["comment"] = comment_closing(make_request, staff, now, title="Comment closing")
    held_comment(work["comment"], now)
    work["hearing"] = hearing_ahead(make_request, staff, now, title="Hearing ahead")
    work["schedule"] = make_request("public_comment", title="Comment closed")
    work["decide"] = hearing_held(make_request, staff, now, title="Hearing held")
    work["expiring"] = approved(make_request, staff, now, expires_on=today + 30 * DAY, title="Expiring")
    work["conditions"] = approved(
        make_request,
        staff,
        now,
        conditions=[
            workflow.ConditionInput("Publish the audit", today - 2 * DAY),
            workflow.ConditionInput("Train the operators", today + 20 * DAY),
            workflow.ConditionInput("Far off", today + 300 * DAY),
        ],
        expires_on=today + 300 * DAY,
        agency=agency_b,
        liaison=liaison_b,
        title="With conditions",
    )
    work["use"] = oversight.record_emergency_use(
        liaison_a, agency_a, drone, ordinance, today - 20 * DAY, "A search for a missing child."
    )
    work["violation"] = oversight.record_violation(
        staff,
        agency=agency_a,
        technology=drone,
        ordinance=ordinance,
        description="Flew over a protest.",
        found_on=today - 3 * DAY,
        how_found=Violation.HowFound.AUDIT,
    )
    # B's report for its approval is in; A's for its approval was due two days ago.
    report = oversight.start_report(
        liaison_b,
        agency_b,
        drone,
        ordinance,
        work["conditions"].decision.decided_on.year,
    )
    oversight.update_report(
        report,
        liaison_b,
        {"use_summary": "Twice.", "non_suspects_captured": "No.", "sharing": "None.", "complaints_count": 0},
    )
    work["report"] = oversight.submit_report(report, liaison_b)
    return work


def test_staff_see_each_kind_of_item_they_act_on(staff, council_work, today, now):
    items = dashboard.needs_action(staff, today, now)

    assert whats(items) == {
        What.REVIEW,
        What.COMMENT_CLOSING,
        What.COMMENTS_TO_MODERATE,
        What.HEARING,
        What.SCHEDULE_HEARING,
        What.DECIDE,
        What.APPROVAL_EXPIRING,
        What.CONDITION_DUE,
        What.EMERGENCY_REPORT_DUE,
        What.VIOLATION_UNPUBLISHED,
        What.REPORT_AWAITING_ACCEPTANCE,
        What.ANNUAL_REPORT_MISSING,
    }


def test_each_staff_item_carries_its_deadline(staff, council_work, today, now):
    items = dashboard.needs_action(staff, today, now)
    by_what = {item.what: item for item in items if item.what != What.CONDITION_DUE}
    work = council_work

    assert by_what[What.REVIEW].deadline == timezone.localdate(work["review"].submitted_at)
    assert by_what[What.COMMENT_CLOSING].deadline == today + 10 * DAY
    assert by_what[What.HEARING].deadline == timezone.localdate(now + 20 * DAY)
    assert by_what[What.SCHEDULE_HEARING].deadline == work["schedule"].comment_period_ends_on
    assert by_what[What.DECIDE].deadline == timezone.localdate(now - 6 * DAY)
    assert by_what[What.APPROVAL_EXPIRING].deadline == today + 30 * DAY
    assert by_what[What.EMERGENCY_REPORT_DUE].deadline == today - 6 * DAY  # 14 days after the use
    assert by_what[What.EMERGENCY_REPORT_DUE].overdue
    assert by_what[What.VIOLATION_UNPUBLISHED].deadline == today - 3 * DAY
    assert by_what[What.ANNUAL_REPORT_MISSING].overdue


def test_conditions_due_within_30_days_or_overdue_are_listed_and_no_others(staff, council_work, today, now):
    conditions = [
        item for item in dashboard.needs_action(staff, today, now) if item.what == What.CONDITION_DUE
    ]

    assert [(c.record.text, c.deadline, c.overdue) for c in conditions] == [
        ("Publish the audit", today - 2 * DAY, True),
        ("Train the operators", today + 20 * DAY, False),
    ]


def test_items_come_soonest_deadline_first_and_undated_last(staff, council_work, make_request, today, now):
    make_request("submitted", kind=Request.Kind.EMERGENCY_REPORT, title="A report")

    items = dashboard.needs_action(staff, today, now)

    dated = [item.deadline for item in items if item.deadline is not None]
    assert dated == sorted(dated)
    undated = [i for i, item in enumerate(items) if item.deadline is None]
    assert undated == list(range(len(dated), len(items)))


def test_a_hearing_item_links_to_its_request_and_the_page_shows_its_place(client, staff, council_work):
    client.force_login(staff)

    page = client.get(reverse("admin:index")).content.decode()

    hearing = council_work["hearing"]
    assert reverse("admin:ordinances_request_change", args=[hearing.pk]) in page
    assert "Room 317, 350 S 5th St" in page


def test_the_admin_index_shows_needs_action_with_dates_and_overdue_tags(client, staff, council_work):
    client.force_login(staff)

    response = client.get(reverse("admin:index"))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="needs-action"' in page
    for words in (
        "Waiting for review",
        "Public comment closes",
        "1 public comment to moderate",
        "Public hearing",
        "Public comment has closed: schedule the hearing",
        "Ready for the decision",
        "Approval expires",
        "Condition overdue",
        "Emergency-use report overdue",
        "Violation not yet published",
        "Annual report to accept or return",
        "Annual report missing",
    ):
        assert words in page, words
    assert '<time datetime="' in page
    assert 'class="overdue-flag">Overdue</span>' in page
    assert "css/admin.css" in page
    assert "style=" not in page.split('id="needs-action"')[1].split("</table>")[0]


def test_nothing_to_do_says_so(client, staff):
    client.force_login(staff)

    page = client.get(reverse("admin:index")).content.decode()

    assert "Nothing needs your action now." in page


def test_a_clerk_gets_no_needs_action_list(client, clerk):
    client.force_login(clerk)

    page = client.get(reverse("admin:index")).content.decode()

    assert 'id="needs-action"' not in page


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# ---------------------------------------------------------------------------
# Liaisons: their own agency only
# ---------------------------------------------------------------------------


@pytest.fixture
def agency_work(make_request, staff, liaison_a, liaison_b, agency_a, agency_b, drone, ordinance, today, now):
    """Drafts, returns, conditions and emergency uses of both agencies."""
    work = {}
    for key, agency, liaison in (("a", agency_a, liaison_a), ("b", agency_b, liaison_b)):
        mine = {"agency": agency, "liaison": liaison}
        work[f"{key}_draft"] = make_request("draft", title=f"{key} draft", **mine)
        work[f"{key}_returned"] = make_request("returned", title=f"{key} returned", **mine)
        work[f"{key}_approval"] = approved(
            make_request,
            staff,
            now,
            conditions=[workflow.ConditionInput(f"{key} condition", today + 5 * DAY)],
            title=f"{key} approval",
            **mine,
        )
        work[f"{key}_use"] = oversight.record_emergency_use(
            liaison, agency, drone, ordinance, today - 3 * DAY, "A flood."
        )
        work[f"{key}_submitted"] = make_request("submitted", title=f"{key} submitted", **mine)
    return work


def agency_of(item) -> int:
    record = item.request or item.record
    return record.agency_id if hasattr(record, "agency_id") else record.agency.pk


def test_liaison_a_sees_their_drafts_returns_conditions_and_emergency_reports(
    liaison_a, agency_a, agency_work, today, now
):
    items = dashboard.needs_action(liaison_a, today, now)

    assert whats(items) == {What.DRAFT, What.RETURNED, What.CONDITION_DUE, What.EMERGENCY_REPORT_DUE}
    assert {agency_of(item) for item in items} == {agency_a.pk}
    use = next(item for item in items if item.what == What.EMERGENCY_REPORT_DUE)
    assert use.deadline == today + 11 * DAY
    assert not use.overdue


def test_liaison_b_sees_nothing_of_agency_a(liaison_b, agency_b, agency_work, today, now):
    items = dashboard.needs_action(liaison_b, today, now)

    assert {agency_of(item) for item in items} == {agency_b.pk}
    titles = {item.request.title for item in items if item.request}
    assert not any(title.startswith("a ") for title in titles)


def test_a_liaison_is_not_asked_to_review_or_decide(liaison_a, agency_work, today, now):
    items = dashboard.needs_action(liaison_a, today, now)

    assert not whats(items) & {
        What.REVIEW,
        What.DECIDE,
        What.VIOLATION_UNPUBLISHED,
        What.COMMENTS_TO_MODERATE,
    }


def test_a_liaison_sees_their_missing_annual_report_and_not_another_agencys(
    liaison_a, liaison_b, staff, make_request, agency_b, reports_due, today, now
):
    approved(make_request, staff, now, title="A's approval")
    approved(make_request, staff, now, agency=agency_b, liaison=liaison_b, title="B's approval")

    items = dashboard.needs_action(liaison_a, today, now)

    missing = [item for item in items if item.what == What.ANNUAL_REPORT_MISSING]
    assert [(item.record.agency.name, item.overdue) for item in missing] == [("Agency A Police", True)]
    assert missing[0].url == reverse("admin:ordinances_annualreport_add")


def test_a_liaison_sees_their_returned_annual_report(
    liaison_a, staff, make_request, agency_a, drone, ordinance, reports_due, today, now
):
    approval = approved(make_request, staff, now, title="Approved")
    report = oversight.start_report(liaison_a, agency_a, drone, ordinance, approval.decision.decided_on.year)
    oversight.update_report(
        report,
        liaison_a,
        {"use_summary": "Twice.", "non_suspects_captured": "No.", "sharing": "None.", "complaints_count": 0},
    )
    oversight.submit_report(report, liaison_a)
    oversight.return_report(report, staff, "Say where it flew.")

    items = dashboard.needs_action(liaison_a, today, now)

    returned = [item for item in items if item.what == What.ANNUAL_REPORT_RETURNED]
    assert [item.record.pk for item in returned] == [report.pk]


def test_the_liaisons_index_links_each_item_to_its_page(client, liaison_a, agency_work):
    client.force_login(liaison_a)

    page = client.get(reverse("admin:index")).content.decode()

    for key in ("a_draft", "a_returned"):
        assert reverse("admin:ordinances_request_change", args=[agency_work[key].pk]) in page
    assert "b draft" not in page
    assert "Returned to your agency for changes" in page


# ---------------------------------------------------------------------------
# Speed
# ---------------------------------------------------------------------------


def test_needs_action_runs_the_same_queries_however_many_items(
    staff, make_request, liaison_a, agency_a, drone, ordinance, today, now
):
    def add_work(round_: int) -> None:
        make_request("submitted")
        request = comment_closing(make_request, staff, now)
        held_comment(request, now)
        hearing_ahead(make_request, staff, now)
        hearing_held(make_request, staff, now)
        approved(
            make_request,
            staff,
            now,
            conditions=[workflow.ConditionInput("Audit", today + 3 * DAY)],
            expires_on=today + 10 * DAY,
        )
        oversight.record_emergency_use(liaison_a, agency_a, drone, ordinance, today - round_ * DAY, "Fire.")

    def count(user) -> int:
        user = type(user).objects.get(pk=user.pk)  # no cached roles
        with CaptureQueriesContext(connection) as captured:
            dashboard.needs_action(user, today, now)
        return len(captured.captured_queries)

    add_work(1)
    small = (count(staff), count(liaison_a))
    for round_ in range(2, 5):
        add_work(round_)

    assert (count(staff), count(liaison_a)) == small
    assert len(dashboard.needs_action(staff, today, now)) >= 4 * 7


def test_the_index_runs_the_same_queries_however_many_items(client, staff, make_request, now):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("admin:index")).status_code == 200
        return len(captured.captured_queries)

    client.force_login(staff)
    make_request("submitted")
    hearing_ahead(make_request, staff, now)
    small = queries()
    for _ in range(4):
        make_request("submitted")
        hearing_ahead(make_request, staff, now)

    assert queries() == small
