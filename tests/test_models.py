"""
Facts derived from the records: the public status of an agency's use of a technology,
who sees which requests, the append-only timeline, and what is overdue.

Requests are built through the workflow (`make_request`), never by writing a status.
"""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from model_bakery import baker

from ordinances import roles, workflow
from ordinances.models import (
    Agency,
    Category,
    CategoryRule,
    Condition,
    Decision,
    Event,
    Ordinance,
    Request,
    Technology,
    TechnologyUse,
)
from tests.conftest import make_user

S = Request.Status
K = Request.Kind
Rule = CategoryRule.Rule


def days_from_today(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


def evening_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(20, 0)))


@pytest.fixture
def body_cameras(db) -> Technology:
    return baker.make(
        Technology, name="Test body camera", slug="test-body-camera", category=Category.BODY_WORN_CAMERAS
    )


@pytest.fixture
def gunshot_sensors(db) -> Technology:
    return baker.make(
        Technology, name="Test gunshot sensor", slug="test-gunshot", category=Category.GUNSHOT_DETECTION
    )


@pytest.fixture
def use_of(agency_a, ordinance):
    """Agency A's (or `agency`'s) use of `technology`, under the test ordinance's rules."""

    def make(technology: Technology, agency: Agency | None = None) -> TechnologyUse:
        return baker.make(TechnologyUse, agency=agency or agency_a, technology=technology)

    return make


@pytest.fixture
def decided(make_request, staff):
    """A request taken to its hearing, then decided with the given dates."""

    def make(outcome: str = Decision.Outcome.APPROVED, **fields) -> Request:
        dates = {key: fields.pop(key) for key in ("effective_on", "expires_on") if key in fields}
        request = make_request(S.HEARING_SCHEDULED, **fields)
        conditions = (
            [workflow.ConditionInput("Publish an annual report")]
            if outcome == Decision.Outcome.APPROVED_WITH_CONDITIONS
            else []
        )
        workflow.decide(
            request, by=staff, outcome=outcome, votes_yes=9, votes_no=3, conditions=conditions, **dates
        )
        request.refresh_from_db()
        return request

    return make


def public_status(use: TechnologyUse) -> str:
    """The status residents see, checked to be the same with and without annotations."""
    plain = TechnologyUse.objects.get(pk=use.pk).public_status
    annotated = TechnologyUse.objects.with_public_status().get(pk=use.pk).public_status
    assert annotated == plain, "with_public_status() disagrees with the plain property"
    return plain


def in_force_ordinance(status: str = Ordinance.Status.IN_EFFECT, **rules: str) -> Ordinance:
    """A second ordinance, with `category=rule` rules."""
    ordinance = baker.make(Ordinance, file_number="TEST-0002", slug="second-ordinance", status=status)
    for category, rule in rules.items():
        CategoryRule.objects.create(ordinance=ordinance, category=category, rule=rule)
    return ordinance


# ---------------------------------------------------------------------------
# Public status of a use
# ---------------------------------------------------------------------------


def test_a_prohibited_technology_is_prohibited(use_of, face_recognition):
    assert public_status(use_of(face_recognition)) == "Prohibited"


def test_an_approved_exception_to_a_prohibition_is_shown_with_its_end_date(
    use_of, face_recognition, make_request
):
    exception = make_request(S.APPROVED, kind=K.EXCEPTION, technology=face_recognition)

    status = public_status(use_of(face_recognition))

    assert exception.decision.expires_on == days_from_today(365)
    assert status == f"Prohibited, 1 permitted exception until {days_from_today(365).isoformat()}"


def test_several_exceptions_to_a_prohibition_show_the_latest_end_date(use_of, face_recognition, decided):
    decided(kind=K.EXCEPTION, technology=face_recognition, expires_on=days_from_today(400))
    decided(kind=K.EXCEPTION, technology=face_recognition, expires_on=days_from_today(100))

    status = public_status(use_of(face_recognition))

    assert status == f"Prohibited, 2 permitted exceptions until {days_from_today(400).isoformat()}"


def test_an_approval_is_shown_with_its_end_date(use_of, drone, make_request):
    make_request(S.APPROVED)

    assert public_status(use_of(drone)) == f"Approved until {days_from_today(365).isoformat()}"


def test_an_approval_with_conditions_is_shown_with_its_end_date(use_of, drone, make_request):
    make_request(S.APPROVED_WITH_CONDITIONS)

    assert (
        public_status(use_of(drone)) == f"Approved with conditions until {days_from_today(365).isoformat()}"
    )


@pytest.mark.parametrize("state", Request.PENDING)
def test_a_request_with_the_council_is_pending_council_decision(state, use_of, drone, make_request):
    make_request(state)

    assert public_status(use_of(drone)) == "Pending council decision"


@pytest.mark.parametrize("state", [None, S.DRAFT, S.DENIED, S.WITHDRAWN, S.REVOKED])
def test_without_an_approval_in_effect_a_use_is_not_approved(state, use_of, drone, make_request):
    if state:
        make_request(state)

    assert public_status(use_of(drone)) == "Not approved"


def test_a_disclosure_only_technology_is_disclosed(use_of, body_cameras):
    assert public_status(use_of(body_cameras)) == "Disclosed"


def test_an_agency_the_ordinances_do_not_bind_is_not_covered(use_of, agency_a, face_recognition):
    agency_a.covered = False
    agency_a.save()

    assert public_status(use_of(face_recognition)) == "Not covered by city ordinances"


def test_a_technology_no_ordinance_speaks_about_has_no_rule_in_force(use_of, gunshot_sensors):
    assert public_status(use_of(gunshot_sensors)) == "No rule in force"


@pytest.mark.parametrize(
    ("technology", "other_rule", "expected"),
    [
        ("drone", Rule.PROHIBITED, "Prohibited"),
        ("drone", Rule.DISCLOSURE_ONLY, "Not approved"),
        ("face_recognition", Rule.DISCLOSURE_ONLY, "Prohibited"),
        ("face_recognition", Rule.APPROVAL_REQUIRED, "Prohibited"),
        ("body_cameras", Rule.APPROVAL_REQUIRED, "Not approved"),
        ("body_cameras", Rule.PROHIBITED, "Prohibited"),
    ],
)
def test_when_two_ordinances_in_force_disagree_the_stricter_rule_governs(
    technology, other_rule, expected, use_of, request
):
    technology = request.getfixturevalue(technology)
    in_force_ordinance(**{technology.category: other_rule})

    assert public_status(use_of(technology)) == expected


@pytest.mark.parametrize("status", Ordinance.IN_FORCE)
def test_an_ordinance_adopted_in_effect_or_amended_is_in_force(status, use_of, drone):
    in_force_ordinance(status, **{Category.DRONES: Rule.PROHIBITED})

    assert public_status(use_of(drone)) == "Prohibited"


@pytest.mark.parametrize("status", [Ordinance.Status.REPEALED, Ordinance.Status.INTRODUCED])
def test_the_rule_of_an_ordinance_not_in_force_is_ignored(status, use_of, drone):
    in_force_ordinance(status, **{Category.DRONES: Rule.PROHIBITED})

    assert public_status(use_of(drone)) == "Not approved"


def test_once_the_only_ordinance_is_repealed_no_rule_is_in_force(use_of, ordinance, face_recognition):
    ordinance.status = Ordinance.Status.REPEALED
    ordinance.save()

    assert public_status(use_of(face_recognition)) == "No rule in force"


def test_an_approval_past_its_term_no_longer_counts(use_of, drone, decided):
    decided(effective_on=days_from_today(-400), expires_on=days_from_today(-1))

    assert public_status(use_of(drone)) == "Not approved"


def test_an_expired_approval_no_longer_counts(use_of, drone, decided):
    approval = decided(effective_on=days_from_today(-400), expires_on=days_from_today(-1))
    workflow.expire(approval, by=None)

    assert public_status(use_of(drone)) == "Not approved"


def test_an_approval_still_counts_on_its_last_day(use_of, drone, decided):
    decided(effective_on=days_from_today(-30), expires_on=days_from_today(0))

    assert public_status(use_of(drone)) == f"Approved until {days_from_today(0).isoformat()}"


def test_an_approval_counts_only_once_it_takes_effect(use_of, drone, decided):
    decided(effective_on=days_from_today(10))

    assert public_status(use_of(drone)) == "Not approved"


def test_another_agency_s_approval_does_not_count(use_of, drone, make_request, agency_a, agency_b, liaison_b):
    make_request(S.APPROVED, agency=agency_b, liaison=liaison_b)

    assert public_status(use_of(drone, agency_a)) == "Not approved"
    assert public_status(use_of(drone, agency_b)) == f"Approved until {days_from_today(365).isoformat()}"


def test_with_public_status_agrees_with_the_property_for_every_use(
    use_of, make_request, drone, face_recognition, body_cameras, gunshot_sensors, agency_b, liaison_b
):
    make_request(S.APPROVED_WITH_CONDITIONS)
    make_request(S.SUBMITTED, agency=agency_b, liaison=liaison_b)
    make_request(S.APPROVED, kind=K.EXCEPTION, technology=face_recognition)
    for technology in (drone, face_recognition, body_cameras, gunshot_sensors):
        use_of(technology)
        use_of(technology, agency_b)

    annotated = {use.pk: use.public_status for use in TechnologyUse.objects.with_public_status()}
    plain = {use.pk: use.public_status for use in TechnologyUse.objects.all()}

    assert annotated == plain
    assert len(set(plain.values())) == 6


def test_with_public_status_needs_two_queries_however_many_uses(
    use_of, make_request, drone, face_recognition, body_cameras, agency_b, django_assert_num_queries
):
    make_request(S.APPROVED)
    make_request(S.APPROVED, kind=K.EXCEPTION, technology=face_recognition)
    for technology in (drone, face_recognition, body_cameras):
        use_of(technology)
        use_of(technology, agency_b)

    with django_assert_num_queries(2):
        statuses = [use.public_status for use in TechnologyUse.objects.with_public_status()]

    assert len(statuses) == 6


# ---------------------------------------------------------------------------
# Who sees which requests
# ---------------------------------------------------------------------------


@pytest.fixture
def drafts_and_submitted(make_request, agency_b, liaison_b) -> dict[str, Request]:
    return {
        "a_draft": make_request(S.DRAFT),
        "a_submitted": make_request(S.SUBMITTED),
        "b_draft": make_request(S.DRAFT, agency=agency_b, liaison=liaison_b),
        "b_submitted": make_request(S.SUBMITTED, agency=agency_b, liaison=liaison_b),
    }


def names(queryset, requests: dict[str, Request]) -> set[str]:
    by_pk = {request.pk: name for name, request in requests.items()}
    return {by_pk[pk] for pk in queryset.values_list("pk", flat=True)}


def test_public_requests_exclude_drafts(drafts_and_submitted):
    assert names(Request.objects.public(), drafts_and_submitted) == {"a_submitted", "b_submitted"}


def test_a_liaison_sees_own_agency_drafts_but_not_another_agency_s(drafts_and_submitted, liaison_a):
    visible = names(Request.objects.visible_to(liaison_a), drafts_and_submitted)

    assert visible == {"a_draft", "a_submitted", "b_submitted"}


def test_an_anonymous_visitor_sees_no_drafts(drafts_and_submitted):
    visible = names(Request.objects.visible_to(AnonymousUser()), drafts_and_submitted)

    assert visible == {"a_submitted", "b_submitted"}


def test_council_staff_see_no_drafts(drafts_and_submitted, staff):
    visible = names(Request.objects.visible_to(staff), drafts_and_submitted)

    assert visible == {"a_submitted", "b_submitted"}


def test_a_request_is_listed_once_when_its_agency_has_several_liaisons(make_request, agency_a, liaison_a):
    agency_a.liaisons.add(make_user("liaison_a2", roles.LIAISONS))
    submitted = make_request(S.SUBMITTED)

    visible = list(Request.objects.visible_to(liaison_a).values_list("pk", flat=True))

    assert visible == [submitted.pk]


# ---------------------------------------------------------------------------
# The timeline is append-only, in the application and in the database
# ---------------------------------------------------------------------------


@pytest.fixture
def event(make_request) -> Event:
    return make_request(S.SUBMITTED).events.order_by("pk").first()


def _save(event):
    event.note = "Rewritten."
    event.save()


APP_CHANGES = {
    "save-existing": _save,
    "delete-instance": lambda event: event.delete(),
    "manager-update": lambda event: Event.objects.update(note="Rewritten."),
    "queryset-update": lambda event: Event.objects.filter(pk=event.pk).update(note="Rewritten."),
    "manager-delete": lambda event: Event.objects.all().delete(),
    "related-delete": lambda event: event.request.events.all().delete(),
    "bulk-update": lambda event: Event.objects.bulk_update([event], ["note"]),
}


@pytest.mark.parametrize("change", APP_CHANGES.values(), ids=APP_CHANGES.keys())
def test_the_application_refuses_to_change_or_delete_an_event(change, event):
    # atomic(): bulk_update fails inside its own savepoint-less block, which would spoil
    # the test's transaction for the checks below.
    with pytest.raises(TypeError, match="append-only"), transaction.atomic():
        change(event)

    stored = Event.objects.get(pk=event.pk)
    assert stored.note == "Draft started."
    assert Event.objects.count() == 2


@pytest.mark.parametrize(
    "sql",
    ["UPDATE ordinances_event SET note = 'Rewritten.'", "DELETE FROM ordinances_event"],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_or_delete_an_event(sql, event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)

    assert Event.objects.get(pk=event.pk).note == "Draft started."
    assert Event.objects.count() == 2


def test_the_database_still_accepts_new_events(event, staff):
    workflow.add_note(event.request, by=staff, note="Still writable.")

    assert Event.objects.count() == 3


# ---------------------------------------------------------------------------
# What is overdue
# ---------------------------------------------------------------------------


def emergency_report(make_request, used_days_ago: int, state: str = S.DRAFT) -> Request:
    return make_request(state, kind=K.EMERGENCY_REPORT, emergency_used_on=days_from_today(-used_days_ago))


def test_an_emergency_report_filed_within_the_deadline_is_not_overdue(make_request):
    report = emergency_report(make_request, used_days_ago=2, state=S.SUBMITTED)

    assert report.emergency_report_due_on == days_from_today(12)
    assert report.is_overdue is False


def test_an_emergency_report_filed_after_the_deadline_is_overdue(make_request):
    report = emergency_report(make_request, used_days_ago=30, state=S.SUBMITTED)

    assert report.is_overdue is True


def test_an_unfiled_emergency_report_past_the_deadline_is_overdue(make_request):
    report = emergency_report(make_request, used_days_ago=30)

    assert report.is_overdue is True


def test_an_unfiled_emergency_report_within_the_deadline_is_not_overdue(make_request):
    report = emergency_report(make_request, used_days_ago=14)

    assert report.emergency_report_due_on == days_from_today(0)
    assert report.is_overdue is False


def test_an_emergency_report_filed_on_time_stays_on_time(make_request, liaison_a):
    report = emergency_report(make_request, used_days_ago=30)

    workflow.submit(report, by=liaison_a, now=evening_of(days_from_today(-20)))

    report.refresh_from_db()
    assert report.is_overdue is False


def test_a_report_filed_on_the_evening_of_its_due_date_is_on_time(make_request, liaison_a):
    # 20:00 in the city is already the next day in UTC; the city's date is what counts.
    report = emergency_report(make_request, used_days_ago=20)
    due = report.emergency_report_due_on

    workflow.submit(report, by=liaison_a, now=evening_of(due))

    report.refresh_from_db()
    assert report.is_overdue is False


def test_a_report_filed_the_day_after_its_due_date_is_overdue(make_request, liaison_a):
    report = emergency_report(make_request, used_days_ago=20)
    due = report.emergency_report_due_on

    workflow.submit(report, by=liaison_a, now=evening_of(due + datetime.timedelta(days=1)))

    report.refresh_from_db()
    assert report.is_overdue is True


def test_a_request_that_is_not_an_emergency_report_is_never_overdue(make_request):
    request = make_request(S.SUBMITTED)

    assert request.emergency_report_due_on is None
    assert request.is_overdue is False


def test_an_emergency_report_is_not_overdue_when_the_ordinance_sets_no_deadline(make_request, ordinance):
    ordinance.emergency_report_days = None
    ordinance.save()

    report = emergency_report(make_request, used_days_ago=300)

    assert report.is_overdue is False


@pytest.fixture
def conditions(make_request, staff) -> dict[str, Condition]:
    request = make_request(S.HEARING_SCHEDULED)
    workflow.decide(
        request,
        by=staff,
        outcome=Decision.Outcome.APPROVED_WITH_CONDITIONS,
        votes_yes=9,
        votes_no=3,
        conditions=[
            workflow.ConditionInput("due yesterday", days_from_today(-1)),
            workflow.ConditionInput("due today", days_from_today(0)),
            workflow.ConditionInput("no due date"),
            workflow.ConditionInput("met late", days_from_today(-10)),
            workflow.ConditionInput("not met", days_from_today(-10)),
        ],
    )
    by_text = {c.text: c for c in Condition.objects.filter(decision__request=request)}
    workflow.set_condition_status(by_text["met late"], by=staff, status=Condition.Status.MET)
    workflow.set_condition_status(by_text["not met"], by=staff, status=Condition.Status.NOT_MET)
    return {c.text: c for c in Condition.objects.filter(decision__request=request)}


@pytest.mark.parametrize(
    ("text", "overdue"),
    [
        ("due yesterday", True),
        ("due today", False),
        ("no due date", False),
        ("met late", False),
        ("not met", False),
    ],
)
def test_a_condition_is_overdue_only_while_open_past_its_due_date(text, overdue, conditions):
    assert conditions[text].is_overdue is overdue
