"""
Atom feeds anyone can follow without an account.

- `/requests/feed/`: new and updated requests; the query string filters it with the same
  `RequestFilter` as the list page, so a saved search is a feed (`?status=public_comment`).
- `/decisions/feed/`: decisions, newest first (the same filters apply).
- `/agencies/<slug>/feed/`, `/technologies/<slug>/feed/`: the requests a record's page lists.
- `/requests/<reference>/feed/`: one request's public timeline, to follow it.

What is public comes from `Request.objects.public()` and `Event.objects.public()`; no
draft, internal note or actor's name reaches a feed (an entry names the actor's role). A
request's entry is updated at `Request.public_updated_at`, its latest public event, which the
workflow keeps; the feeds of an agency and a technology read their newest from its index.
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
import functools
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
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import iri_to_uri
from django.utils.feedgenerator import Atom1Feed
from django.utils.formats import date_format
from django.utils.html import escape, format_html, linebreaks
from django.utils.http import http_date
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.xmlutils import SimplerXMLGenerator
from django.views.decorators.http import require_safe

from ordinances import pagination
from ordinances.filters import RequestFilter
from ordinances.languages import in_language, lang_attribute, other_language
from ordinances.models import Agency, Event, Request, Technology, choice_label
from ordinances.templatetags.portal import event_facts

BLANK_LINES = re.compile(r"\s*\n\s*")

# Entries per feed: readers poll often, and the lists and downloads hold the rest.
FEED_LENGTH = 50

# The columns an entry reads (its title, summary, id and dates). Not the rest: a request's
# long text, and its records', cost more to load than all the rest of a feed.
ENTRY_FIELDS = (
    "reference",
    "title",
    "kind",
    "status",
    "is_demo",
    "language",
    "created_at",
    "submitted_at",
    "public_updated_at",
    "comment_period_ends_on",
    "hearing_at",
    "agency__name",
    "agency__language",
    "technology__name",
    "technology__category",
    "technology__language",
)
DECISION_FIELDS = (
    *ENTRY_FIELDS,
    "ordinance__language",
    "decision__outcome",
    "decision__decided_on",
    "decision__body",
    "decision__votes_yes",
    "decision__votes_no",
    "decision__effective_on",
    "decision__expires_on",
)

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


def tag_uri(host: str, day: datetime.date | datetime.datetime, specific: str) -> str:
    """An Atom id that stays the same for the record: tag:host,YYYY-MM-DD:specific."""
    if isinstance(day, datetime.datetime):
        day = timezone.localdate(day)
    return f"tag:{host},{day.isoformat()}:{specific}"


def tag_host(request: HttpRequest) -> str:
    """The host part of the entry ids of a feed served to `request`."""
    host, _port = split_domain_port(request.get_host())
    return host or "localhost"


def site_name() -> str:
    return _("%(city)s Surveillance Oversight Portal") % {"city": settings.PORTAL_CITY}


def request_summary(req: Request) -> str:
    """A request in one line of facts, as HTML: kind, agency, technology, status, dates."""
    words = _words(get_language())
    parts = [
        words.kinds.get(req.kind) or escape(req.kind),
        in_language(req.agency.name, req.agency),
        in_language(req.technology.name, req.technology),
        words.statuses.get(req.status) or format_html(_("Status: {}"), req.status),
    ]
    if req.submitted_at:
        parts.append(format_html(words.submitted, _day(timezone.localdate(req.submitted_at))))
    if req.status == Request.Status.PUBLIC_COMMENT and req.comment_period_ends_on:
        parts.append(format_html(words.comment_open_until, _day(req.comment_period_ends_on)))
    if req.status == Request.Status.HEARING_SCHEDULED and req.hearing_at:
        parts.append(
            format_html(words.hearing_on, date_format(timezone.localtime(req.hearing_at), "DATETIME_FORMAT"))
        )
    if req.is_demo:
        parts.append(words.demo)
    return format_html("<p>{}</p>", join_safe(parts))


@dataclass(frozen=True)
class _Words:
    """The words of the entries' summaries in one language, HTML-escaped where they are whole."""

    kinds: dict[str, SafeString]
    statuses: dict[str, SafeString]
    submitted: str
    comment_open_until: str
    hearing_on: str
    demo: SafeString
    decided: str
    voted: str
    in_effect_from: str
    expires: str


@functools.cache
def _words(language: str) -> _Words:
    """
    The summaries' words in `language`, the active one: translated once a process, not in
    every entry (looking each label and phrase up took a third of a feed's time).
    """
    return _Words(
        kinds={kind.value: escape(str(kind.label)) for kind in Request.Kind},
        statuses={status.value: format_html(_("Status: {}"), status.label) for status in Request.Status},
        submitted=_("Submitted {}"),
        comment_open_until=_("Public comment open until {}"),
        hearing_on=_("Hearing on {}"),
        demo=escape(_("Demo: a fictional record.")),
        decided=_("Decided {}"),
        voted=_("{body} voted {yes}–{no}"),
        in_effect_from=_("In effect from {}"),
        expires=_("Expires {}"),
    )


@functools.lru_cache(maxsize=4096)
def _day_in(language: str, day: datetime.date) -> str:
    return date_format(day, "DATE_FORMAT")


def _day(day: datetime.date) -> str:
    """A day in words in the active language; readers fetch the same feeds, so the same days, again."""
    return _day_in(get_language(), day)


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
        self._host = tag_host(request)
        try:
            obj = self.get_object(request, *args, **kwargs)
        except InvalidFilter as exc:
            lines = [f"{name}: {' '.join(messages)}" for name, messages in exc.errors.items()]
            return HttpResponseBadRequest(
                "\n".join([_("These filters could not be applied:"), *lines]) + "\n",
                content_type="text/plain; charset=utf-8",
            )
        feed = self.get_feed(cast(Selection, obj), request)
        # Written to a string and sent in one piece. Written into the response (as Django's
        # `Feed` does), each element was a chunk of its own (about 1,900 for 50 entries), and a
        # WSGI server sends each chunk with its own system call.
        response = HttpResponse(feed.writeString("utf-8"), content_type=feed.content_type)
        # For ConditionalGetMiddleware's 304.
        response.headers["Last-Modified"] = http_date(feed.latest_post_date().timestamp())
        return response

    def get_feed(self, obj: Selection, request: HttpRequest) -> PortalAtom1Feed:
        """
        The feed and its entries, from the `Selection` and the `item_*` methods. Django's own
        loop looks each of some twenty `item_*` names up, and inspects it, for every entry: a
        third of a feed's time. Every feed here has the same few.
        """
        origin = f"{request.scheme}://{request.get_host()}"
        feed = self.feed_type(
            title=obj.title,
            subtitle=obj.subtitle or None,
            link=iri_to_uri(origin + obj.link),
            description=None,
            language=get_language(),
            feed_url=iri_to_uri(origin + obj.feed_url),
            author_name=site_name(),
            feed_guid=obj.absolute_feed_url,
        )
        for item in self.items(obj):
            feed.add_item(
                title=self.item_title(item),
                link=origin + self.item_link(item),
                description=self.item_description(item),
                unique_id=self.item_guid(item),
                pubdate=self.item_pubdate(item),
                updateddate=self.item_updateddate(item),
                categories=self.item_categories(item),
                **self.item_extra_kwargs(item),
            )
        return feed

    def items(self, obj: Selection) -> QuerySet:
        return obj.items[:FEED_LENGTH]

    # What every entry has; each feed says how its rows give them.
    def item_guid(self, item: Any) -> str:
        raise NotImplementedError

    def item_pubdate(self, item: Any) -> datetime.datetime:
        raise NotImplementedError

    def item_updateddate(self, item: Any) -> datetime.datetime:
        raise NotImplementedError

    def item_categories(self, item: Any) -> list[str]:
        raise NotImplementedError


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
        return tag_uri(self._host, item.created_at, f"request/{item.reference}")

    def item_pubdate(self, item: Request) -> datetime.datetime:
        return item.submitted_at or item.created_at

    def item_updateddate(self, item: Request) -> datetime.datetime:
        return item.public_updated_at

    def item_categories(self, item: Request) -> list[str]:
        return [item.status, item.kind, item.technology.category]


class RequestsFeed(RequestEntries):
    """New and updated requests, filtered like the list: a saved search as a feed."""

    def get_object(self, request: HttpRequest) -> Selection:
        # Every public request has been submitted; saying so lets `request_submitted` skip the
        # drafts, which have no `submitted_at` and would otherwise be read first and dropped.
        rows, described = _filtered(request, _public_requests().filter(submitted_at__isnull=False))
        title = _("New requests") if not described else _("Requests: %(filters)s") % {"filters": described}
        # The entries chosen by their keys alone, then read: the keys of one status come in
        # order from `request_status_submitted` alone, where the rows read in that order, a
        # table page each, cost PostgreSQL more than reading every request by its time of
        # submission and dropping the other statuses (most of them, for the old expired).
        newest = ("-submitted_at", "-pk")
        shown = rows.order_by(*newest).values("pk")[:FEED_LENGTH]
        entries = _public_requests().filter(pk__in=shown).order_by(*newest)
        return _selection(request, title, reverse("ordinances:request_list"), entries)


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
        rows, described = _filtered(request, _public_requests(DECISION_FIELDS).filter(decision__isnull=False))
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
        words = _words(get_language())
        facts = [format_html(words.decided, _day(decision.decided_on))]
        if decision.has_vote:
            facts.append(
                format_html(
                    words.voted,
                    body=in_language(decision.body, item.ordinance),
                    yes=decision.votes_yes,
                    no=decision.votes_no,
                )
            )
        if decision.effective_on:
            facts.append(format_html(words.in_effect_from, _day(decision.effective_on)))
        if decision.expires_on:
            facts.append(format_html(words.expires, _day(decision.expires_on)))
        return request_summary(item) + format_html("<p>{}</p>", join_safe(facts))

    def item_guid(self, item: Request) -> str:
        return tag_uri(self._host, item.created_at, f"request/{item.reference}/decision")

    def item_pubdate(self, item: Request) -> datetime.datetime:
        return item.decided_at  # type: ignore[attr-defined]

    def item_updateddate(self, item: Request) -> datetime.datetime:
        return item.decided_at  # type: ignore[attr-defined]

    def item_categories(self, item: Request) -> list[str]:
        return [item.decision.outcome, item.kind, item.technology.category]


class RequestEventsFeed(PortalFeed):
    """One request's public timeline, newest first: follow a request."""

    def get_object(self, request: HttpRequest, reference: str) -> Selection:
        # The timeline's words name its ordinance's bodies, in the ordinance's language.
        req = get_object_or_404(_public_requests((*ENTRY_FIELDS, "ordinance__language")), reference=reference)
        # Each event's `request` is `req` itself (a related manager's rows know it): no query each.
        events = req.events.public().order_by("-created_at", "-pk")
        title = _("%(reference)s: %(title)s") % {"reference": req.reference, "title": req.title}
        selection = _selection(request, title, req.get_absolute_url(), events)
        selection.subtitle = _("The public timeline of this request.")
        return selection

    def item_title(self, item: Event) -> str:
        # `choice_label`, not `get_action_display()`, which translates every label of the
        # choices to look one up.
        title = choice_label(Event.Action, item.action)
        if item.changes_status and item.from_status:
            before, after = (
                choice_label(Request.Status, item.from_status),
                choice_label(Request.Status, item.to_status),
            )
            title += f" ({before} → {after})"
        return title

    def item_description(self, item: Event) -> str:
        # The facts are worded as on the request page's timeline (`event_facts`).
        facts = BLANK_LINES.sub("\n", event_facts(item.data, item.action, item.request)).strip()
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
            self._host, item.request.created_at, f"request/{item.request.reference}/event/{item.pk}"
        )

    def item_pubdate(self, item: Event) -> datetime.datetime:
        return item.created_at

    def item_updateddate(self, item: Event) -> datetime.datetime:
        return item.created_at

    def item_categories(self, item: Event) -> list[str]:
        return [item.action]


def _public_requests(fields: tuple[str, ...] = ENTRY_FIELDS) -> QuerySet:
    """Public requests with the columns `fields` names, and the records they name joined."""
    related = {name.split("__")[0] for name in fields if "__" in name}
    return Request.objects.public().select_related(*sorted(related)).only(*fields)


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
