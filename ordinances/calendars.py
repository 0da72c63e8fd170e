"""
iCalendar feeds of what is coming up: public hearings, the last day of public comment and
the other deadlines running for pending requests (from `ordinances.deadlines.for_request`).

- `/calendar.ics`: every public request.
- `/agencies/<slug>/calendar.ics`: one agency's requests.
- `/requests/<reference>/calendar.ics`: one request.

A calendar app subscribes to one of these addresses and refreshes it. Each event's UID is
made from the request's reference and what the event is (`REQ-2026-0007-hearing@host`),
so a rescheduled hearing moves in the subscriber's calendar instead of appearing twice, and
DTSTAMP is when the public record last changed, so two fetches give the same file.

Hearings are timed events in UTC, with their place as LOCATION (room and street address,
or the remote link where there is no address), the remote link also as a CONFERENCE
property (RFC 7986) and both links in the description; deadlines are all-day events (DTSTART;VALUE=DATE and
DTEND the day after, RFC 5545 3.6.1). Which requests appear: those pending review, and
those decided (their hearings and comment periods happened). A request withdrawn or
referred before a decision drops out, and a subscribed calendar drops its events with it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

import icalendar
from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from django.shortcuts import get_object_or_404
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from ordinances import deadlines
from ordinances.feeds import site_name
from ordinances.models import Agency, Request

CONTENT_TYPE = "text/calendar; charset=utf-8"


def _requests() -> QuerySet:
    """Public requests that are pending or decided, with what their events need."""
    return (
        Request.objects.public()
        .for_list()
        .filter(Q(status__in=Request.PENDING) | Q(decision__isnull=False))
        .prefetch_related("ordinance__deadlines")
        .order_by("pk")
    )


def _uid(host: str, req: Request, what: str) -> str:
    return f"{req.reference}-{what}@{host}"


def _event(
    host: str,
    absolute_url: str,
    req: Request,
    what: str,
    summary: str,
    start: datetime.date | datetime.datetime,
) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", _uid(host, req, what))
    stamp = req.public_updated_at
    event.add("dtstamp", stamp.astimezone(datetime.UTC))
    event.add("last-modified", stamp.astimezone(datetime.UTC))
    if isinstance(start, datetime.datetime):
        event.add("dtstart", start.astimezone(datetime.UTC))
    else:
        event.add("dtstart", start)
        event.add("dtend", start + datetime.timedelta(days=1))
        # A deadline takes no time: it should not show the day as busy.
        event.add("transp", "TRANSPARENT")
    event.add("summary", f"{summary}: {req.reference} {req.title}")
    event.add(
        "description",
        "\n".join(
            [
                f"{req.get_kind_display()} · {req.agency.name} · {req.technology.name}",
                _("Status: %(status)s") % {"status": req.get_status_display()},
                absolute_url,
            ]
        ),
    )
    event.add("url", absolute_url)
    event.add("categories", [what])
    return event


def hearing_location(req: Request) -> str:
    """Where the hearing is: its room and street address, else the link to join it remotely."""
    in_person = ", ".join(part for part in (req.hearing_room, req.hearing_address) if part)
    return in_person if req.hearing_address else req.hearing_remote_url


def _add_hearing_place(event: icalendar.Event, req: Request) -> None:
    """LOCATION, the remote link as a CONFERENCE (RFC 7986) and both links in the description."""
    location = hearing_location(req)
    if location:
        event.add("location", location)
    if req.hearing_remote_url:
        conference = icalendar.vUri(req.hearing_remote_url)
        conference.params["VALUE"] = "URI"
        conference.params["FEATURE"] = ["AUDIO", "VIDEO"]
        event.add("conference", conference)
    lines = []
    if req.hearing_remote_url:
        lines.append(_("Join remotely: %(url)s") % {"url": req.hearing_remote_url})
    if req.hearing_agenda_url:
        lines.append(_("Agenda: %(url)s") % {"url": req.hearing_agenda_url})
    if lines:
        description = str(event.pop("description"))
        event.add("description", "\n".join([description, *lines]))


def events_for(req: Request, host: str, absolute_url: str) -> list[icalendar.Event]:
    """The calendar events of one request: its hearing, its comment period's end, its deadlines."""
    events = []
    if req.hearing_at:
        hearing = _event(host, absolute_url, req, "hearing", _("Public hearing"), req.hearing_at)
        _add_hearing_place(hearing, req)
        events.append(hearing)
    if req.comment_period_ends_on:
        events.append(
            _event(
                host,
                absolute_url,
                req,
                "comment-period-ends",
                _("Last day of public comment"),
                req.comment_period_ends_on,
            )
        )
    for due in deadlines.running(req):
        what = f"deadline-{due.kind.replace('_', '-')}"
        events.append(_event(host, absolute_url, req, what, str(due.label), due.due_on))
    return events


def build(request: HttpRequest, title: str, requests: Iterable[Request]) -> bytes:
    """The iCalendar file of `requests`."""
    host, _port = split_domain_port(request.get_host())
    host = host or "localhost"
    cal = icalendar.Calendar()
    cal.add("prodid", f"-//{settings.PORTAL_CITY} Surveillance Oversight Portal//{get_language()}")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("name", title)
    cal.add("x-wr-calname", title)
    cal.add("source", request.build_absolute_uri())
    cal.add("refresh-interval", datetime.timedelta(hours=6), parameters={"VALUE": "DURATION"})
    for req in requests:
        for event in events_for(req, host, request.build_absolute_uri(req.get_absolute_url())):
            cal.add_component(event)
    return cal.to_ical()


def _response(request: HttpRequest, title: str, requests: Iterable[Request], filename: str) -> HttpResponse:
    response = HttpResponse(build(request, title, requests), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'inline; filename="{filename}.ics"'
    return response


@require_safe
def site_calendar(request: HttpRequest) -> HttpResponse:
    title = _("Hearings and deadlines · %(site)s") % {"site": site_name()}
    return _response(request, title, _requests(), "calendar")


@require_safe
def agency_calendar(request: HttpRequest, slug: str) -> HttpResponse:
    agency = get_object_or_404(Agency, slug=slug)
    title = _("Hearings and deadlines of %(agency)s") % {"agency": agency.name}
    return _response(request, title, _requests().filter(agency=agency), agency.slug)


@require_safe
def request_calendar(request: HttpRequest, reference: str) -> HttpResponse:
    req = get_object_or_404(Request.objects.public(), reference=reference)
    title = _("Hearings and deadlines of %(reference)s") % {"reference": req.reference}
    return _response(request, title, _requests().filter(pk=req.pk), req.reference)
