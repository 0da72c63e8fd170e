"""
Atom feeds anyone can follow without an account.

- `/requests/feed/`: new and updated requests; the query string filters it with the same
  `RequestFilter` as the list page, so a saved search is a feed (`?status=public_comment`).
- `/decisions/feed/`: decisions, newest first (the same filters apply).
- `/agencies/<slug>/feed/`, `/technologies/<slug>/feed/`: the requests a record's page lists.
- `/requests/<reference>/feed/`: one request's public timeline, to follow it.

What is public comes from `Request.objects.public()` and `Event.objects.public()`; no
draft, internal note or actor's name reaches a feed (an entry names the actor's role).
Entries carry codes and dates from the record; their words are made here, at render, in
the language of the feed's address (`/es/requests/feed/` is in Spanish).

Entry ids are tag URIs (RFC 4151) built from the host, the record's creation date and its
reference, so they do not change when a title, a status or the language does.

A record's own text stays in the language staff wrote it in (its `language` field). Where
that is not the feed's language, an entry title that is only the record's text carries
`xml:lang`, and the record's text in an entry's HTML carries `lang` (`ordinances.languages`).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import DateTimeField, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.request import split_domain_port
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.formats import date_format
from django.utils.html import escape, format_html, linebreaks
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.xmlutils import SimplerXMLGenerator
from django.views.decorators.http import require_safe

from ordinances import pagination
from ordinances.filters import RequestFilter
from ordinances.languages import in_language, lang_attribute, other_language
from ordinances.models import Agency, Event, Request, Technology

BLANK_LINES = re.compile(r"\s*\n\s*")

# Entries per feed: readers poll often, and the lists and downloads hold the rest.
FEED_LENGTH = 50

# Timeline actions that record a decision (their Event's time is the decision's moment).
DECISION_ACTIONS = (
    Event.Action.APPROVE,
    Event.Action.APPROVE_WITH_CONDITIONS,
    Event.Action.DENY,
    Event.Action.PUBLISH_POLICY,
)


class InvalidFilter(Exception):
    """The query string holds a filter value the FilterSet refuses."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def last_public_event_at(actions: tuple[str, ...] = ()) -> Subquery:
    """The time of a request's latest public event (of `actions`, if given), as an annotation."""
    events = Event.objects.public().filter(request=OuterRef("pk"))
    if actions:
        events = events.filter(action__in=actions)
    return Subquery(
        events.order_by("-created_at", "-pk").values("created_at")[:1], output_field=DateTimeField()
    )


def with_public_times(requests: QuerySet) -> QuerySet:
    """
    Annotate `public_updated_at`: when the public record last changed (its latest public
    event; never an internal note), falling back to its submission.
    """
    return requests.annotate(
        public_updated_at=Coalesce(last_public_event_at(), F("submitted_at"), F("created_at"))
    )


def tag_uri(request: HttpRequest, day: datetime.date | datetime.datetime, specific: str) -> str:
    """An Atom id that stays the same for the record: tag:host,YYYY-MM-DD:specific."""
    host, _port = split_domain_port(request.get_host())
    if isinstance(day, datetime.datetime):
        day = timezone.localdate(day)
    return f"tag:{host or 'localhost'},{day.isoformat()}:{specific}"


def site_name() -> str:
    return _("%(city)s Surveillance Oversight Portal") % {"city": settings.PORTAL_CITY}


def request_summary(req: Request) -> str:
    """A request in one line of facts, as HTML: kind, agency, technology, status, dates."""
    parts = [
        escape(req.get_kind_display()),
        in_language(req.agency.name, req.agency),
        in_language(req.technology.name, req.technology),
        format_html(_("Status: {}"), req.get_status_display()),
    ]
    if req.submitted_at:
        parts.append(
            format_html(_("Submitted {}"), date_format(timezone.localtime(req.submitted_at), "DATE_FORMAT"))
        )
    if req.status == Request.Status.PUBLIC_COMMENT and req.comment_period_ends_on:
        parts.append(
            format_html(
                _("Public comment open until {}"), date_format(req.comment_period_ends_on, "DATE_FORMAT")
            )
        )
    if req.status == Request.Status.HEARING_SCHEDULED and req.hearing_at:
        parts.append(
            format_html(
                _("Hearing on {}"), date_format(timezone.localtime(req.hearing_at), "DATETIME_FORMAT")
            )
        )
    if req.is_demo:
        parts.append(escape(_("Demo: a fictional record.")))
    return format_html("<p>{}</p>", join_safe(parts))


def join_safe(parts: list[SafeString]) -> SafeString:
    """Escaped pieces of HTML joined with a middle dot, still safe (and not escaped twice)."""
    return mark_safe(" · ".join(parts))


class PortalAtom1Feed(Atom1Feed):
    """Atom, with `xml:lang` on an entry's title when the item gives a `title_language`."""

    def add_item_elements(self, handler: SimplerXMLGenerator, item: dict[str, Any]) -> None:
        language = item.get("title_language")
        if language:
            # The proxy writes through to `handler`, which is all the base class asks of it.
            handler = cast(SimplerXMLGenerator, _TitleInLanguage(handler, language))
        super().add_item_elements(handler, item)


class _TitleInLanguage:
    """The XML writer, adding `xml:lang` to the first <title> written through it (the entry's own)."""

    def __init__(self, handler: SimplerXMLGenerator, language: str) -> None:
        self._handler = handler
        self._language = language

    def addQuickElement(self, name: str, contents: str | None = None, attrs: dict | None = None) -> None:
        if name == "title" and self._language:
            attrs = {**(attrs or {}), "xml:lang": self._language}
            self._language = ""
        self._handler.addQuickElement(name, contents, attrs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handler, name)


@dataclass
class Selection:
    """What one feed shows: its rows and how to name and link it."""

    title: str
    link: str
    feed_url: str
    absolute_feed_url: str
    items: QuerySet
    subtitle: str = ""


class PortalFeed(Feed):
    """An Atom feed of the portal; subclasses say which rows and how each reads."""

    feed_type = PortalAtom1Feed

    @classmethod
    def as_view(cls) -> Callable[..., HttpResponse]:
        """
        A view making a new feed for each request: an entry's id needs the request's host,
        and an instance shared between threads must not hold a request.
        """

        def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return cls()(request, *args, **kwargs)

        view.__name__ = view.__qualname__ = cls.__name__
        view.__doc__ = cls.__doc__
        return require_safe(view)

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self._request = request
        try:
            response = super().__call__(request, *args, **kwargs)
        except InvalidFilter as exc:
            lines = [f"{name}: {' '.join(messages)}" for name, messages in exc.errors.items()]
            return HttpResponseBadRequest(
                "\n".join([_("These filters could not be applied:"), *lines]) + "\n",
                content_type="text/plain; charset=utf-8",
            )
        # The feed writer appends each element as its own chunk (about 1,900 for 50 entries),
        # and a WSGI server sends each chunk with its own system call: joined, one. Measured
        # under gunicorn: 25 ms to serve a cached agency feed before, as fast as a page after.
        response.content = response.content
        return response

    # Feed-level attributes read from the Selection that get_object returns.
    def title(self, obj: Selection) -> str:
        return obj.title

    def subtitle(self, obj: Selection) -> str | None:
        return obj.subtitle or None

    def link(self, obj: Selection) -> str:
        return obj.link

    def feed_url(self, obj: Selection) -> str:
        return obj.feed_url

    def feed_guid(self, obj: Selection) -> str:
        return obj.absolute_feed_url

    def author_name(self, obj: Selection) -> str:
        return site_name()

    def items(self, obj: Selection) -> QuerySet:
        return obj.items[:FEED_LENGTH]


def _filtered(request: HttpRequest, queryset: QuerySet) -> tuple[QuerySet, str]:
    """Apply `RequestFilter` to `queryset`, and describe the filters in words for the feed's title."""
    filterset = RequestFilter(request.GET or None, queryset=queryset, request=request)
    if not filterset.is_bound:
        return queryset, ""
    if not filterset.is_valid():
        raise InvalidFilter({name: [str(e) for e in errors] for name, errors in filterset.errors.items()})
    described = []
    for name, value in filterset.form.cleaned_data.items():
        if value in (None, ""):
            continue
        form_field = filterset.form.fields[name]
        # Only a code has a label among its choices; a record (an agency) reads as itself, and
        # its field's choices would be every row of its table.
        shown = (
            dict(getattr(form_field, "choices", ()) or ()).get(value, value)
            if isinstance(value, str)
            else value
        )
        described.append(f"{form_field.label}: {shown}")
    return filterset.qs, "; ".join(described)


class RequestEntries(PortalFeed):
    """Feeds whose entries are requests: each entry is the request, updated as its record moves."""

    def item_title(self, item: Request) -> str:
        # An Atom title is text: the feed writer escapes it, so it must not be escaped here.
        demo = _("[Demo] ") if item.is_demo else ""
        return f"{demo}{item.reference}: {item.title}"

    def item_extra_kwargs(self, item: Request) -> dict[str, Any]:
        # Marked only when the title is the record's own text (and its reference), no words of ours.
        return {"title_language": "" if item.is_demo else other_language(item)}

    def item_description(self, item: Request) -> str:
        return request_summary(item)

    def item_guid(self, item: Request) -> str:
        return tag_uri(self._request, item.created_at, f"request/{item.reference}")

    def item_pubdate(self, item: Request) -> datetime.datetime:
        return item.submitted_at or item.created_at

    def item_updateddate(self, item: Request) -> datetime.datetime:
        return item.public_updated_at  # type: ignore[attr-defined]

    def item_categories(self, item: Request) -> list[str]:
        return [item.status, item.kind, item.technology.category]


class RequestsFeed(RequestEntries):
    """New and updated requests, filtered like the list: a saved search as a feed."""

    def get_object(self, request: HttpRequest) -> Selection:
        rows, described = _filtered(request, _public_requests())
        title = _("New requests") if not described else _("Requests: %(filters)s") % {"filters": described}
        return _selection(
            request, title, reverse("ordinances:request_list"), rows.order_by("-submitted_at", "-pk")
        )


class AgencyFeed(RequestEntries):
    """The requests of one agency."""

    def get_object(self, request: HttpRequest, slug: str) -> Selection:
        agency = get_object_or_404(Agency, slug=slug)
        rows = _public_requests().filter(agency=agency).order_by("-public_updated_at", "-pk")
        title = _("Requests of %(agency)s") % {"agency": agency.name}
        return _selection(request, title, agency.get_absolute_url(), rows)


class TechnologyFeed(RequestEntries):
    """The requests a technology's page lists: every one under the rules for its category."""

    def get_object(self, request: HttpRequest, slug: str) -> Selection:
        technology = get_object_or_404(Technology, slug=slug)
        # The rules speak about categories, so the page (and its feed) lists the category's requests.
        rows = (
            _public_requests()
            .filter(technology__category=technology.category)
            .order_by("-public_updated_at", "-pk")
        )
        title = _("Requests about %(technology)s") % {"technology": technology.name}
        return _selection(request, title, technology.get_absolute_url(), rows)


class DecisionsFeed(PortalFeed):
    """Decisions, newest first; the request filters apply here too."""

    def get_object(self, request: HttpRequest) -> Selection:
        rows, described = _filtered(request, _public_requests().filter(decision__isnull=False))
        rows = rows.annotate(
            decided_at=Coalesce(last_public_event_at(DECISION_ACTIONS), F("public_updated_at"))
        ).order_by("-decision__decided_on", "-decided_at", "-pk")
        title = _("Decisions") if not described else _("Decisions: %(filters)s") % {"filters": described}
        return _selection(request, title, reverse("ordinances:request_list"), rows)

    def item_title(self, item: Request) -> str:
        demo = _("[Demo] ") if item.is_demo else ""
        return f"{demo}{item.decision.get_outcome_display()}: {item.reference} {item.title}"

    def item_description(self, item: Request) -> str:
        decision = item.decision
        facts = [
            format_html(_("Decided {}"), date_format(decision.decided_on, "DATE_FORMAT")),
        ]
        if decision.has_vote:
            facts.append(
                format_html(
                    _("{body} voted {yes}–{no}"),
                    body=in_language(decision.body, item.ordinance),
                    yes=decision.votes_yes,
                    no=decision.votes_no,
                )
            )
        if decision.effective_on:
            facts.append(
                format_html(_("In effect from {}"), date_format(decision.effective_on, "DATE_FORMAT"))
            )
        if decision.expires_on:
            facts.append(format_html(_("Expires {}"), date_format(decision.expires_on, "DATE_FORMAT")))
        return request_summary(item) + format_html("<p>{}</p>", join_safe(facts))

    def item_guid(self, item: Request) -> str:
        return tag_uri(self._request, item.created_at, f"request/{item.reference}/decision")

    def item_pubdate(self, item: Request) -> datetime.datetime:
        return item.decided_at  # type: ignore[attr-defined]

    def item_updateddate(self, item: Request) -> datetime.datetime:
        return item.decided_at  # type: ignore[attr-defined]

    def item_categories(self, item: Request) -> list[str]:
        return [item.decision.outcome, item.kind, item.technology.category]


class RequestEventsFeed(PortalFeed):
    """One request's public timeline, newest first: follow a request."""

    def get_object(self, request: HttpRequest, reference: str) -> Selection:
        req = get_object_or_404(_public_requests(), reference=reference)
        events = Event.objects.public().filter(request=req).order_by("-created_at", "-pk")
        title = _("%(reference)s: %(title)s") % {"reference": req.reference, "title": req.title}
        selection = _selection(request, title, req.get_absolute_url(), events)
        selection.subtitle = _("The public timeline of this request.")
        return selection

    def item_title(self, item: Event) -> str:
        title = str(item.get_action_display())
        if item.changes_status and item.from_status:
            title += f" ({item.get_from_status_display()} → {item.get_to_status_display()})"
        return title

    def item_description(self, item: Event) -> str:
        # The facts are worded by the same partial as the request page's timeline.
        rendered = render_to_string(
            "partials/event_facts.html", {"data": item.data, "action": item.action, "req": item.request}
        )
        facts = BLANK_LINES.sub("\n", rendered).strip()
        by = (
            format_html("<p>{}</p>", _("By: %(role)s") % {"role": item.actor_role_label})
            if item.actor_role
            else ""
        )
        note = linebreaks(item.note, autoescape=True) if item.note else ""
        if note and other_language(item.request):
            # The note is in the request's language.
            note = format_html("<div{}>{}</div>", lang_attribute(item.request), mark_safe(note))
        return f"{by}{facts}{note}"

    def item_link(self, item: Event) -> str:
        return f"{item.request.get_absolute_url()}#event-{item.pk}"

    def item_guid(self, item: Event) -> str:
        return tag_uri(
            self._request, item.request.created_at, f"request/{item.request.reference}/event/{item.pk}"
        )

    def item_pubdate(self, item: Event) -> datetime.datetime:
        return item.created_at

    def item_updateddate(self, item: Event) -> datetime.datetime:
        return item.created_at

    def item_categories(self, item: Event) -> list[str]:
        return [item.action]

    def items(self, obj: Selection) -> QuerySet:
        return obj.items.select_related("request")[:FEED_LENGTH]


def _public_requests() -> QuerySet:
    return with_public_times(Request.objects.public().for_list())


def _selection(request: HttpRequest, title: str, link: str, items: QuerySet) -> Selection:
    query = request.GET.copy()
    for name in ("page", *pagination.CURSOR_PARAMETERS):
        query.pop(name, None)
    feed_path = request.path + (f"?{query.urlencode()}" if query else "")
    return Selection(
        title=title,
        link=link,
        feed_url=feed_path,
        absolute_feed_url=request.build_absolute_uri(feed_path),
        items=items,
    )
