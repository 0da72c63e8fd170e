"""
Three parts of the workflow that keep the record after notice is given: where a hearing
is held (a street address, a remote link, or both, with http and https links only), the
close of public comment (after its last day, once, by staff or the portal), and the
status of conditions (changed by staff only and always with a note, or marked overdue by
the portal once their due date has passed).
"""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from ordinances import workflow
from ordinances.models import Condition, Event, Request
from ordinances.roles import Role
from ordinances.workflow import TransitionRefused
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

S = Request.Status
ADDRESS = "350 South 5th Street"
REMOTE = "https://meetings.example.org/council/join"
AGENDA = "https://agendas.example.org/council/2026-05-01"


def today() -> datetime.date:
    return timezone.localdate()


def days_from_today(days: int) -> datetime.date:
    return today() + datetime.timedelta(days=days)


def evening_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(18, 0)))


def events_of(request: Request) -> list[int]:
    return list(Event.objects.filter(request=request).values_list("pk", flat=True))


@pytest.fixture
def comment_closed(make_request) -> Request:
    """A request in public comment whose 30 days ended 18 days ago (the walk opened it 48 days ago)."""
    request = make_request(S.PUBLIC_COMMENT)
    assert request.comment_period_ends_on < today()
    return request


def schedule(request: Request, by, **place) -> Request:
    return workflow.perform(
        "schedule_hearing", request, by=by, hearing_at=evening_of(days_from_today(20)), **place
    )


# ---------------------------------------------------------------------------
# Where the hearing is held
# ---------------------------------------------------------------------------


def test_a_hearing_is_scheduled_with_its_room_address_remote_link_and_agenda(comment_closed, staff):
    schedule(
        comment_closed,
        staff,
        hearing_room="  Room 317 ",
        hearing_address=ADDRESS,
        hearing_remote_url=REMOTE,
        hearing_agenda_url=AGENDA,
    )

    stored = Request.objects.get(pk=comment_closed.pk)
    assert (
        stored.hearing_room,
        stored.hearing_address,
        stored.hearing_remote_url,
        stored.hearing_agenda_url,
    ) == ("Room 317", ADDRESS, REMOTE, AGENDA)
    data = comment_closed.events.get(action="schedule_hearing").data
    assert {key: data[key] for key in ("room", "address", "remote_url", "agenda_url")} == {
        "room": "Room 317",
        "address": ADDRESS,
        "remote_url": REMOTE,
        "agenda_url": AGENDA,
    }


def test_a_hearing_held_only_online_needs_no_address(comment_closed, staff):
    schedule(comment_closed, staff, hearing_remote_url=REMOTE)

    stored = Request.objects.get(pk=comment_closed.pk)
    assert (stored.status, stored.hearing_address, stored.hearing_remote_url) == (
        S.HEARING_SCHEDULED,
        "",
        REMOTE,
    )
    assert "address" not in comment_closed.events.get(action="schedule_hearing").data


def test_a_hearing_with_no_place_is_refused_naming_the_address_and_writes_nothing(comment_closed, staff):
    before = events_of(comment_closed)

    with pytest.raises(ValidationError) as invalid:
        schedule(comment_closed, staff, hearing_agenda_url=AGENDA)

    assert invalid.value.message_dict == {"hearing_address": [workflow.NO_HEARING_PLACE]}
    stored = Request.objects.get(pk=comment_closed.pk)
    assert (stored.status, stored.hearing_at, stored.hearing_agenda_url) == (S.PUBLIC_COMMENT, None, "")
    assert events_of(comment_closed) == before


def test_a_room_without_the_street_address_of_its_building_is_refused(comment_closed, staff):
    with pytest.raises(ValidationError) as invalid:
        schedule(comment_closed, staff, hearing_room="Room 317", hearing_remote_url=REMOTE)

    assert invalid.value.message_dict == {"hearing_address": [workflow.ROOM_WITHOUT_ADDRESS]}
    assert Request.objects.get(pk=comment_closed.pk).status == S.PUBLIC_COMMENT


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("hearing_remote_url", "javascript:alert(1)"),
        ("hearing_remote_url", "ftp://meetings.example.org/join"),
        ("hearing_agenda_url", "agenda.pdf"),
        ("hearing_agenda_url", "data:text/html,<script>alert(1)</script>"),
    ],
)
def test_a_link_that_is_not_an_http_or_https_address_is_refused_on_its_field(
    name, value, comment_closed, staff
):
    before = events_of(comment_closed)

    with pytest.raises(ValidationError) as invalid:
        schedule(comment_closed, staff, hearing_address=ADDRESS, **{name: value})

    assert invalid.value.message_dict == {name: [workflow.NOT_A_WEB_ADDRESS]}
    assert events_of(comment_closed) == before


def test_an_address_longer_than_the_record_keeps_is_refused(comment_closed, staff):
    with pytest.raises(ValidationError) as invalid:
        schedule(comment_closed, staff, hearing_address="x" * 301)

    assert invalid.value.message_dict == {"hearing_address": ["Keep this to 300 characters."]}


def test_a_bad_time_and_a_missing_place_are_both_reported(comment_closed, staff):
    with pytest.raises(ValidationError) as invalid:
        workflow.perform("schedule_hearing", comment_closed, by=staff, hearing_at=timezone.now())

    assert set(invalid.value.message_dict) == {"hearing_at", "hearing_address"}


def test_the_admin_form_asks_for_the_place_and_takes_a_link_without_its_scheme(client, staff, comment_closed):
    client.force_login(staff)
    url = reverse("admin:ordinances_request_transition", args=[comment_closed.pk, "schedule_hearing"])

    page = client.get(url).content.decode()
    response = client.post(
        url,
        {
            "hearing_at_0": days_from_today(20).isoformat(),
            "hearing_at_1": "18:30",
            "hearing_remote_url": "meetings.example.org/council/join",
        },
    )

    assert 'type="url" name="hearing_remote_url"' in page
    assert 'type="text" name="hearing_room"' in page
    assert response.status_code == 302
    assert Request.objects.get(pk=comment_closed.pk).hearing_remote_url == REMOTE


def test_the_admin_form_shows_a_bad_link_on_its_field_and_schedules_nothing(client, staff, comment_closed):
    client.force_login(staff)
    url = reverse("admin:ordinances_request_transition", args=[comment_closed.pk, "schedule_hearing"])

    response = client.post(
        url,
        {
            "hearing_at_0": days_from_today(20).isoformat(),
            "hearing_at_1": "18:30",
            "hearing_address": ADDRESS,
            "hearing_agenda_url": "ftp://agendas.example.org/council",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"hearing_agenda_url": [workflow.NOT_A_WEB_ADDRESS]}
    assert Request.objects.get(pk=comment_closed.pk).status == S.PUBLIC_COMMENT


# ---------------------------------------------------------------------------
# Closing public comment
# ---------------------------------------------------------------------------


def test_staff_close_public_comment_after_its_last_day(comment_closed, staff):
    workflow.perform("close_comment_period", comment_closed, by=staff)

    stored = Request.objects.get(pk=comment_closed.pk)
    assert (stored.status, stored.comment_period_closed_on) == (S.PUBLIC_COMMENT, today())
    event = comment_closed.events.get(action="close_comment_period")
    assert (event.actor_role, event.is_public, event.note) == (Role.STAFF, True, "")
    assert event.data == {
        "ends_on": stored.comment_period_ends_on.isoformat(),
        "closed_on": today().isoformat(),
    }


@pytest.mark.parametrize("days_after_open", [0, 30], ids=["the-day-it-opens", "its-last-day"])
def test_public_comment_cannot_be_closed_while_it_is_open(days_after_open, make_request, staff):
    request = make_request(S.IN_REVIEW)
    opened = timezone.now() - datetime.timedelta(days=days_after_open)
    workflow.perform("open_comment_period", request, by=staff, now=opened)
    before = events_of(request)

    with pytest.raises(TransitionRefused) as refused:
        workflow.perform("close_comment_period", request, by=None)

    ends = Request.objects.get(pk=request.pk).comment_period_ends_on
    assert (
        refused.value.message == f"Public comment is open until {ends.isoformat()}; it closes after that day."
    )
    assert Request.objects.get(pk=request.pk).comment_period_closed_on is None
    assert events_of(request) == before


def test_public_comment_closes_only_once(comment_closed, staff):
    workflow.perform("close_comment_period", comment_closed, by=None)
    before = events_of(comment_closed)

    with pytest.raises(TransitionRefused) as refused:
        workflow.perform("close_comment_period", comment_closed, by=staff)

    assert refused.value.message == (
        f"Public comment on {comment_closed.reference} closed on {today().isoformat()}."
    )
    assert events_of(comment_closed) == before


def test_closing_comment_is_offered_to_staff_only_once_its_last_day_has_passed(make_request, staff):
    open_now = make_request(S.IN_REVIEW)
    workflow.perform("open_comment_period", open_now, by=staff)
    ended = make_request(S.PUBLIC_COMMENT)

    def offered(request: Request) -> bool:
        return "close_comment_period" in {t.name for t in workflow.available_transitions(request, staff)}

    assert not offered(open_now)
    assert offered(ended)
    workflow.perform("close_comment_period", ended, by=staff)
    assert not offered(Request.objects.get(pk=ended.pk))


def test_comment_noticed_into_a_hearing_while_open_is_still_closed_after_its_last_day(make_request, staff):
    request = make_request(S.IN_REVIEW)
    # Noon, counted in the city's days: 25 days of 24 hours back from late evening can land
    # on the next local day across a daylight-saving change, and move every date by one.
    noon = timezone.make_aware(datetime.datetime.combine(timezone.localdate(), datetime.time(12)))
    opened = noon - datetime.timedelta(days=25)
    workflow.perform("open_comment_period", request, by=staff, now=opened)
    ends = Request.objects.get(pk=request.pk).comment_period_ends_on
    workflow.perform(
        "schedule_hearing",
        request,
        by=staff,
        now=opened + datetime.timedelta(days=1),
        hearing_at=evening_of(ends + datetime.timedelta(days=3)),
        hearing_address=ADDRESS,
    )

    closed = workflow.close_comment_periods_due(noon + datetime.timedelta(days=6))

    assert [r.pk for r in closed] == [request.pk]
    stored = Request.objects.get(pk=request.pk)
    assert (stored.status, stored.comment_period_closed_on) == (
        S.HEARING_SCHEDULED,
        ends + datetime.timedelta(days=1),
    )


def test_a_hearing_may_still_be_scheduled_once_comment_is_closed(comment_closed, staff):
    workflow.perform("close_comment_period", comment_closed, by=None)

    schedule(comment_closed, staff, hearing_address=ADDRESS)

    assert Request.objects.get(pk=comment_closed.pk).status == S.HEARING_SCHEDULED


# ---------------------------------------------------------------------------
# Conditions: staff, with a note
# ---------------------------------------------------------------------------


@pytest.fixture
def condition(make_request) -> Condition:
    return Condition.objects.get(decision__request=make_request(S.APPROVED_WITH_CONDITIONS))


@pytest.mark.parametrize("note", ["", "   "])
def test_a_condition_status_change_without_a_note_is_refused_naming_the_note(note, condition, staff):
    request = condition.decision.request
    before = events_of(request)

    with pytest.raises(ValidationError) as invalid:
        workflow.set_condition_status(condition, by=staff, status=Condition.Status.MET, note=note)

    assert invalid.value.message_dict == {"note": [workflow.CONDITION_NOTE_REQUIRED]}
    assert Condition.objects.get(pk=condition.pk).status == Condition.Status.OPEN
    assert events_of(request) == before


@pytest.mark.parametrize("status", ["open", "met", "overdue", "waived"])
def test_staff_may_set_each_status_and_the_day_it_changed_is_kept(status, condition, staff):
    if status == "open":
        workflow.set_condition_status(condition, by=staff, status="met", note="Report filed.")

    workflow.set_condition_status(condition, by=staff, status=status, note="Decided at the committee.")

    stored = Condition.objects.get(pk=condition.pk)
    assert (stored.status, stored.status_changed_on) == (status, today())
    event = Event.objects.filter(request=condition.decision.request, action="condition").last()
    assert event.data["new"] == status
    assert (event.note, event.is_public, event.actor_role) == ("Decided at the committee.", True, Role.STAFF)


def test_a_waived_condition_records_its_old_and_new_status_and_text(condition, staff):
    workflow.set_condition_status(condition, by=staff, status="waived", note="The law changed.")

    event = condition.decision.request.events.get(action="condition")
    assert event.data == {"condition": condition.pk, "text": condition.text, "old": "open", "new": "waived"}


@pytest.mark.parametrize("who", ["liaison", "clerk", "portal"])
def test_a_condition_status_is_changed_by_staff_only(who, condition, liaison_a, clerk):
    user = {"liaison": liaison_a, "clerk": clerk, "portal": None}[who]
    before = events_of(condition.decision.request)

    with pytest.raises(TransitionRefused) as refused:
        workflow.set_condition_status(condition, by=user, status="met", note="Done.")

    assert refused.value.code == "permission"
    assert Condition.objects.get(pk=condition.pk).status == Condition.Status.OPEN
    assert events_of(condition.decision.request) == before


# ---------------------------------------------------------------------------
# Conditions: the portal marks them overdue
# ---------------------------------------------------------------------------


@pytest.fixture
def approval_with(make_request, staff):
    """An approval decided five days ago with conditions {text: days from today it falls due}."""

    def make(due: dict[str, int], *, agency=None, liaison=None) -> Request:
        extra = {"agency": agency, "liaison": liaison} if agency else {}
        request = make_request(S.HEARING_SCHEDULED, **extra)
        workflow.perform(
            "approve_with_conditions",
            request,
            by=staff,
            now=timezone.now() - datetime.timedelta(days=5),
            votes_yes=9,
            votes_no=3,
            conditions=[workflow.ConditionInput(text, days_from_today(days)) for text, days in due.items()],
        )
        return request

    return make


def statuses(request: Request) -> dict[str, str]:
    return dict(Condition.objects.filter(decision__request=request).values_list("text", "status"))


def test_open_conditions_past_their_due_date_are_marked_overdue_and_no_others(approval_with, staff):
    request = approval_with({"yesterday": -1, "today": 0, "tomorrow": 1, "met": -2})
    met = Condition.objects.get(decision__request=request, text="met")
    workflow.set_condition_status(met, by=staff, status="met", note="Filed late.")

    marked = workflow.mark_conditions_overdue()

    assert [c.text for c in marked] == ["yesterday"]
    assert statuses(request) == {"yesterday": "overdue", "today": "open", "tomorrow": "open", "met": "met"}
    assert Condition.objects.get(text="yesterday").status_changed_on == today()


def test_marking_overdue_writes_one_public_event_by_the_portal(approval_with):
    request = approval_with({"yesterday": -1})
    condition = Condition.objects.get(decision__request=request)

    workflow.mark_conditions_overdue()

    event = request.events.get(action="condition")
    assert (event.actor, event.actor_name, event.actor_role, event.is_public, event.note) == (
        None,
        "",
        Role.SYSTEM,
        True,
        "",
    )
    assert event.data == {"condition": condition.pk, "text": "yesterday", "old": "open", "new": "overdue"}
    assert (event.from_status, event.to_status) == (S.APPROVED_WITH_CONDITIONS, S.APPROVED_WITH_CONDITIONS)


def test_marking_overdue_twice_changes_each_condition_once(approval_with):
    request = approval_with({"yesterday": -1, "three days ago": -3})

    first = workflow.mark_conditions_overdue()
    second = workflow.mark_conditions_overdue()

    assert (len(first), second) == (2, [])
    assert request.events.filter(action="condition").count() == 2


def test_conditions_of_a_revoked_or_expired_approval_are_not_marked_overdue(approval_with, staff):
    revoked = approval_with({"revoked": -1})
    workflow.perform("revoke", revoked, by=staff, reason="Breached.")
    expired = approval_with({"expired": -1})
    decision = expired.decision
    decision.expires_on = days_from_today(-1)
    decision.save()
    workflow.perform("expire", expired, by=None)

    assert workflow.mark_conditions_overdue() == []
    assert statuses(revoked) == {"revoked": "open"}
    assert statuses(expired) == {"expired": "open"}


def test_a_condition_staff_mark_met_meanwhile_is_left_alone(approval_with, staff):
    request = approval_with({"yesterday": -1})
    condition = Condition.objects.select_related("decision__request").get(decision__request=request)
    stale = Condition.objects.get(pk=condition.pk)
    workflow.set_condition_status(condition, by=staff, status="met", note="Filed yesterday.")

    # The portal picked the condition before staff's change: it checks again under the lock.
    assert (
        workflow._change_condition(
            stale, by=None, role=Role.SYSTEM, status="overdue", only_if=lambda c, r: c.status == "open"
        )
        is None
    )
    assert statuses(request) == {"yesterday": "met"}


def test_a_superuser_may_change_a_condition(condition):
    root = make_user("root", is_superuser=True)

    workflow.set_condition_status(condition, by=root, status="met", note="Checked.")

    assert Condition.objects.get(pk=condition.pk).status == "met"
