"""iCalendar feeds: hearings, the last day of public comment and the deadlines of pending requests."""

from __future__ import annotations

import datetime

import icalendar
import pytest
from django.urls import reverse

from ordinances import deadlines
from ordinances.models import Request

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(make_request, agency_b, liaison_b):
    return {
        "hearing": make_request("hearing_scheduled", title="Drone with a hearing"),
        "comment": make_request("public_comment", title="Drone open for comment"),
        "emergency": make_request(
            "submitted", kind=Request.Kind.EMERGENCY_REPORT, title="Emergency drone use"
        ),
        "approved": make_request("approved", title="Approved drone"),
        "withdrawn": make_request("withdrawn", title="Withdrawn drone"),
        "draft": make_request("draft", title="Secret draft plan"),
        "other_agency": make_request(
            "public_comment", title="Parks drone", agency=agency_b, liaison=liaison_b
        ),
    }


def fetch(client, url: str) -> icalendar.Calendar:
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.content)


def events_by_uid(cal: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(event["uid"]): event for event in cal.walk("VEVENT")}


def uid(req: Request, what: str) -> str:
    return f"{req.reference}-{what}@testserver"


def test_the_calendar_has_each_hearing_as_a_timed_event_in_utc(client, records):
    req = records["hearing"]
    events = events_by_uid(fetch(client, reverse("ordinances:calendar")))
    hearing = events[uid(req, "hearing")]
    start = hearing.decoded("dtstart")
    assert isinstance(start, datetime.datetime)
    # iCalendar counts whole seconds.
    assert start == req.hearing_at.replace(microsecond=0)
    assert start.utcoffset() == datetime.timedelta(0)
    assert str(hearing["summary"]) == f"Public hearing: {req.reference} {req.title}"
    assert str(hearing["url"]) == f"http://testserver{req.get_absolute_url()}"


def test_the_last_day_of_comment_is_an_all_day_event(client, records):
    req = records["comment"]
    events = events_by_uid(fetch(client, reverse("ordinances:calendar")))
    end = events[uid(req, "comment-period-ends")]
    assert end.decoded("dtstart") == req.comment_period_ends_on
    assert not isinstance(end.decoded("dtstart"), datetime.datetime)
    assert end.decoded("dtend") == req.comment_period_ends_on + datetime.timedelta(days=1)
    # The comment period's minimum gives way to the day the record says comment closes.
    assert uid(req, "deadline-comment-period") not in events


def test_a_filed_emergency_report_has_no_report_deadline_left_to_run(client, records):
    req = records["emergency"]
    assert deadlines.due_on(req.ordinance, "emergency_report", req.emergency_used_on) is not None

    events = events_by_uid(fetch(client, reverse("ordinances:calendar")))

    # The report is this request, already filed: the law's window for it is settled.
    assert uid(req, "deadline-emergency-report") not in events


def test_every_event_has_a_uid_and_a_dtstamp(client, records):
    cal = fetch(client, reverse("ordinances:calendar"))
    assert str(cal["version"]) == "2.0"
    assert cal["prodid"]
    for event in cal.walk("VEVENT"):
        assert event["uid"]
        assert isinstance(event.decoded("dtstamp"), datetime.datetime)


def test_uids_and_the_whole_file_are_stable_across_fetches(client, records):
    first = client.get(reverse("ordinances:calendar")).content
    second = client.get(reverse("ordinances:calendar")).content
    assert first == second
    assert set(events_by_uid(icalendar.Calendar.from_ical(first))) == set(
        events_by_uid(icalendar.Calendar.from_ical(second))
    )


def test_drafts_and_requests_withdrawn_before_a_decision_are_left_out(client, records):
    body = client.get(reverse("ordinances:calendar")).content.decode()
    assert records["draft"].reference not in body
    assert "Secret draft plan" not in body
    assert records["withdrawn"].reference not in body


def test_a_decided_request_keeps_its_hearing_but_no_running_deadlines(client, records):
    req = records["approved"]
    events = events_by_uid(fetch(client, reverse("ordinances:calendar")))
    assert uid(req, "hearing") in events
    assert uid(req, "deadline-approval-term") not in events


def test_an_agency_calendar_has_only_its_requests(client, records, agency_b):
    events = events_by_uid(fetch(client, reverse("ordinances:agency_calendar", args=[agency_b.slug])))
    assert {name.split("-comment")[0].split("-hearing")[0].split("-deadline")[0] for name in events} == {
        records["other_agency"].reference
    }


def test_a_request_calendar_has_only_that_request(client, records):
    req = records["hearing"]
    events = events_by_uid(fetch(client, reverse("ordinances:request_calendar", args=[req.reference])))
    assert set(events) == {uid(req, "hearing"), uid(req, "comment-period-ends")}


def test_a_draft_or_an_unknown_record_has_no_calendar(client, records):
    draft = reverse("ordinances:request_calendar", args=[records["draft"].reference])
    assert client.get(draft).status_code == 404
    assert client.get(reverse("ordinances:agency_calendar", args=["nobody"])).status_code == 404


def test_a_rescheduled_hearing_keeps_its_uid(client, records, staff):
    req = records["hearing"]
    before = events_by_uid(fetch(client, reverse("ordinances:calendar")))[uid(req, "hearing")]
    Request.objects.filter(pk=req.pk).update(hearing_at=req.hearing_at + datetime.timedelta(days=3))
    after = events_by_uid(fetch(client, reverse("ordinances:calendar")))[uid(req, "hearing")]
    assert after.decoded("dtstart") - before.decoded("dtstart") == datetime.timedelta(days=3)
