"""
Facts derived from the records: who sees which requests, the append-only timeline, and
what is overdue. (Where an agency stands with a technology: tests/test_board.py.)

Requests are built through the workflow (`make_request`), never by writing a status.
"""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from ordinances import roles, workflow
from ordinances.models import (
    Condition,
    Constant,
    Deadline,
    Event,
    OrdinanceChange,
    Request,
)
from tests.conftest import make_user

S = Request.Status
K = Request.Kind


def days_from_today(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


def evening_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(20, 0)))


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
    assert (stored.action, stored.note) == (Event.Action.CREATE, "")
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

    assert Event.objects.get(pk=event.pk).action == Event.Action.CREATE
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


def test_an_emergency_report_filed_after_the_deadline_is_overdue(make_request, liaison_a):
    report = emergency_report(make_request, used_days_ago=30)
    workflow.perform("submit", report, by=liaison_a)

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

    workflow.perform("submit", report, by=liaison_a, now=evening_of(days_from_today(-20)))

    report.refresh_from_db()
    assert report.is_overdue is False


def test_a_report_filed_on_the_evening_of_its_due_date_is_on_time(make_request, liaison_a):
    # 20:00 in the city is already the next day in UTC; the city's date is what counts.
    report = emergency_report(make_request, used_days_ago=20)
    due = report.emergency_report_due_on

    workflow.perform("submit", report, by=liaison_a, now=evening_of(due))

    report.refresh_from_db()
    assert report.is_overdue is False


def test_a_report_filed_the_day_after_its_due_date_is_overdue(make_request, liaison_a):
    report = emergency_report(make_request, used_days_ago=20)
    due = report.emergency_report_due_on

    workflow.perform("submit", report, by=liaison_a, now=evening_of(due + datetime.timedelta(days=1)))

    report.refresh_from_db()
    assert report.is_overdue is True


def test_a_request_that_is_not_an_emergency_report_is_never_overdue(make_request):
    request = make_request(S.SUBMITTED)

    assert request.emergency_report_due_on is None
    assert request.is_overdue is False


def test_an_emergency_report_is_not_overdue_when_the_ordinance_sets_no_deadline(make_request, ordinance):
    ordinance.deadlines.filter(kind=Deadline.Kind.EMERGENCY_REPORT).delete()

    report = emergency_report(make_request, used_days_ago=300)

    assert report.is_overdue is False


@pytest.fixture
def conditions(make_request, staff) -> dict[str, Condition]:
    request = make_request(S.HEARING_SCHEDULED)
    decided_at = timezone.now() - datetime.timedelta(days=5)
    workflow.perform(
        "approve_with_conditions",
        request,
        by=staff,
        now=decided_at,
        votes_yes=9,
        votes_no=3,
        conditions=[
            workflow.ConditionInput("due yesterday", days_from_today(-1)),
            workflow.ConditionInput("due today", days_from_today(0)),
            workflow.ConditionInput("no due date"),
            workflow.ConditionInput("met late", days_from_today(-2)),
            workflow.ConditionInput("waived", days_from_today(-2)),
            workflow.ConditionInput("marked overdue", days_from_today(3)),
        ],
    )
    by_text = {c.text: c for c in Condition.objects.filter(decision__request=request)}
    workflow.set_condition_status(by_text["met late"], by=staff, status=Condition.Status.MET, note="Met.")
    workflow.set_condition_status(by_text["waived"], by=staff, status=Condition.Status.WAIVED, note="Moot.")
    workflow.set_condition_status(
        by_text["marked overdue"], by=staff, status=Condition.Status.OVERDUE, note="Will not be met in time."
    )
    return {c.text: c for c in Condition.objects.filter(decision__request=request)}


@pytest.mark.parametrize(
    ("text", "overdue"),
    [
        ("due yesterday", True),
        ("due today", False),
        ("no due date", False),
        ("met late", False),
        ("waived", False),
        ("marked overdue", True),
    ],
)
def test_a_condition_is_overdue_while_open_past_its_due_date_or_once_marked_overdue(
    text, overdue, conditions
):
    assert conditions[text].is_overdue is overdue


def test_the_application_refuses_to_change_or_delete_an_ordinances_change_history(ordinance):
    change = OrdinanceChange.objects.create(ordinance=ordinance, via="admin", changes=[])

    with pytest.raises(TypeError, match="append-only"):
        change.save()
    with pytest.raises(TypeError, match="append-only"):
        change.delete()
    with pytest.raises(TypeError, match="append-only"):
        OrdinanceChange.objects.update(via="file")
    with pytest.raises(TypeError, match="append-only"):
        OrdinanceChange.objects.all().delete()
    assert OrdinanceChange.objects.get().via == "admin"


@pytest.mark.parametrize(
    "sql",
    ["UPDATE ordinances_ordinancechange SET via = 'file'", "DELETE FROM ordinances_ordinancechange"],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_or_delete_an_ordinances_change_history(sql, ordinance):
    OrdinanceChange.objects.create(ordinance=ordinance, via="admin", changes=[])

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)

    assert OrdinanceChange.objects.get().via == "admin"


def test_an_ordinance_with_a_change_history_cannot_be_deleted(ordinance):
    OrdinanceChange.objects.create(ordinance=ordinance, via="admin", changes=[])

    with pytest.raises(ProtectedError), transaction.atomic():
        ordinance.delete()

    assert OrdinanceChange.objects.filter(ordinance=ordinance).exists()


def test_the_awaiting_index_covers_exactly_the_states_awaiting_a_decision():
    index = next(i for i in Request._meta.indexes if i.name == "request_awaiting")
    assert set(dict(index.condition.children)["status__in"]) == set(Request.AWAITING_DECISION)


def test_a_constant_is_written_into_the_sql_so_a_generic_plan_can_use_a_partial_index(db):
    sql, params = Request.objects.awaiting_decision().query.sql_with_params()
    assert "'submitted'" in sql
    assert "submitted" not in params


@pytest.mark.parametrize("value", ["x'); DROP TABLE ordinances_request; --", "two words", ""])
def test_a_constant_refuses_anything_but_a_code(value):
    with pytest.raises(ValueError):
        Constant(value)


@pytest.mark.parametrize("value", [True, 1.5, datetime.datetime(2026, 1, 1), None])
def test_a_constant_refuses_flags_fractions_naive_datetimes_and_nothing(value):
    with pytest.raises(ValueError):
        Constant(value)


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite keeps one plan per query")
def test_a_year_filter_writes_its_bounds_into_the_sql_on_postgresql(db):
    from ordinances.filters import RequestFilter

    queryset = RequestFilter({"year": "2024"}, queryset=Request.objects.public()).qs
    sql, params = queryset.query.sql_with_params()
    assert "2024-01-01" in sql
    assert "2025-01-01" in sql
    assert "REQ-2025-" in sql
    assert not [p for p in params if "2024" in str(p) or "2025" in str(p)]
