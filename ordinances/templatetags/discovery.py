"""
What a page tells browsers, feed readers, calendar apps and search engines about itself.

- `{% feed_links %}`: the `<link rel="alternate">` feeds and calendars of the current page
  (the filtered feed on a filtered request list, an agency's feed and calendar on its
  page...), worked out from `request.resolver_match` and the query string.
- `{% head_meta title=... description=... %}`: the canonical address and Open Graph tags.
- `{% capture as name %}...{% endcapture %}`: renders its content (blocks included) into
  a variable, so base.html can hand its title and description blocks to `head_meta`.
- `{% list_downloads as links %}`: the download and feed addresses of the current list,
  used by `partials/downloads.html`.
"""

from __future__ import annotations

import functools
import html
from typing import Any

from django import template
from django.conf import settings
from django.http import HttpRequest, QueryDict
from django.template.base import Parser, Token
from django.urls import get_script_prefix, get_urlconf, reverse, translate_url
from django.utils.html import format_html, format_html_join, strip_tags
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ordinances import ocd, pagination
from ordinances.downloads import DATASET_OF_LIST
from ordinances.feeds import site_name
from ordinances.templatetags.uswds import path_in_language

register = template.Library()

ATOM = "application/atom+xml"
CALENDAR = "text/calendar"

# Query parameters that say where a visitor came from, not what the page shows.
TRACKING_PARAMS = {
    "fbclid",
    "gclid",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "yclid",
    "igshid",
    "mc_cid",
    "mc_eid",
}
# Which page of a list: numbered, or a keyset cursor (ordinances/pagination.py).
PAGE_PARAMETERS = ("page", *pagination.CURSOR_PARAMETERS)


def _query(request: HttpRequest, *, drop_page: bool) -> str:
    """The query string without tracking parameters (and without `page`, for feeds and downloads)."""
    query: QueryDict = request.GET.copy()
    for key in list(query):
        if key.startswith("utm_") or key in TRACKING_PARAMS or (drop_page and key in PAGE_PARAMETERS):
            del query[key]
    return f"?{query.urlencode()}" if query else ""


def _view(request: HttpRequest) -> tuple[str, dict[str, Any]]:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "", {}
    return match.view_name, match.kwargs


@functools.lru_cache(maxsize=32)
def _site_feeds(language: str | None, prefix: str, urlconf: str) -> tuple[str, str, str]:
    """The addresses of the site's own feeds and calendar, in each language: on every page's <head>."""
    return (
        reverse("ordinances:request_feed"),
        reverse("ordinances:decision_feed"),
        reverse("ordinances:calendar"),
    )


def page_feeds(request: HttpRequest, context: template.Context | None = None) -> list[tuple[str, str, str]]:
    """(type, title, href) of each feed and calendar of the current page, the page's own first."""
    view_name, kwargs = _view(request)
    links: list[tuple[str, str, str]] = []
    if view_name == "ordinances:request_list":
        query = _query(request, drop_page=True)
        title = _("Requests matching these filters") if query else _("New requests")
        links.append((ATOM, title, reverse("ordinances:request_feed") + query))
    elif view_name == "ordinances:agency_detail":
        links.append((ATOM, _("Requests of this agency"), reverse("ordinances:agency_feed", kwargs=kwargs)))
        links.append(
            (
                CALENDAR,
                _("Hearings and deadlines of this agency"),
                reverse("ordinances:agency_calendar", kwargs=kwargs),
            )
        )
    elif view_name == "ordinances:technology_detail":
        links.append(
            (ATOM, _("Requests about this technology"), reverse("ordinances:technology_feed", kwargs=kwargs))
        )
    elif view_name == "ordinances:request_detail":
        req = context.get("req") if context is not None else None
        # A liaison may be looking at their own draft, which has no public feed.
        if req is None or req.is_public:
            links.append(
                (ATOM, _("This request's timeline"), reverse("ordinances:request_events_feed", kwargs=kwargs))
            )
            links.append(
                (
                    CALENDAR,
                    _("Hearings and deadlines of this request"),
                    reverse("ordinances:request_calendar", kwargs=kwargs),
                )
            )
    request_feed, decision_feed, calendar = _site_feeds(
        get_language(), get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF
    )
    site_wide = [
        (ATOM, _("New requests"), request_feed),
        (ATOM, _("Decisions"), decision_feed),
        (CALENDAR, _("Hearings and deadlines"), calendar),
    ]
    hrefs = {href for _type, _title, href in links}
    return links + [link for link in site_wide if link[2] not in hrefs]


@register.simple_tag(takes_context=True)
def feed_links(context: template.Context) -> SafeString:
    """`<link rel="alternate">` for each feed and calendar of the current page, for the <head>."""
    request = context.get("request")
    if request is None:
        return SafeString("")
    return format_html_join(
        "\n",
        '<link rel="alternate" type="{}" title="{}" href="{}">',
        page_feeds(request, context),
    )


def plain_text(value: object) -> str:
    """Rendered template text (escaped, maybe with tags) as plain words on one line."""
    return " ".join(html.unescape(strip_tags(str(value or ""))).split())


def canonical_url(request: HttpRequest) -> str:
    """This page's absolute address: its path (language prefix kept) and query, minus tracking."""
    return request.build_absolute_uri(request.path + _query(request, drop_page=False))


def _path_in(request: HttpRequest, language: str) -> str:
    """This page's path in `language`."""
    path = path_in_language(request, language)
    return path if path is not None else translate_url(request.path, language)


def og_locale(language: str) -> str:
    """Open Graph wants language_TERRITORY; the portal serves one U.S. city."""
    return f"{language.split('-')[0]}_US"


def record_ocd_id(context: template.Context, view_name: str) -> str | None:
    """
    The Open Civic Data id of the page's own record (ordinances/ocd.py): an ordinance's
    `ocd-bill`, a decided request's `ocd-vote` (when the council voted). None elsewhere.
    """
    if view_name == "ordinances:ordinance_detail" and context.get("ordinance") is not None:
        return ocd.bill_id(context["ordinance"])
    req = context.get("req") if view_name == "ordinances:request_detail" else None
    decision = getattr(req, "decision", None) if req is not None and req.is_public else None
    return ocd.vote_id(decision) if decision is not None else None


@register.simple_tag(takes_context=True)
def head_meta(context: template.Context, title: object = "", description: object = "") -> SafeString:
    """
    The canonical address, the page in the other languages (hreflang), Open Graph tags and
    the city's Open Civic Data division (with the page's own record's OCD id, if it has one:
    `record_ocd_id`). `title` and `description` are the page's own (base.html's blocks,
    captured); base.html's `<meta name="description">` stays its own. Built here rather than
    by an included template: every page's `<head>` has it, and the template's lookups cost
    more than the tags.
    """
    request: HttpRequest = context["request"]
    view_name, _kwargs = _view(request)
    language = get_language() or settings.LANGUAGE_CODE
    query = _query(request, drop_page=False)
    translations = [
        (code, request.build_absolute_uri(_path_in(request, code) + query))
        for code, _name in settings.LANGUAGES
    ]
    canonical = canonical_url(request)
    default_url = dict(translations).get(settings.LANGUAGE_CODE, "")
    page_description = plain_text(description)
    ocd_id = record_ocd_id(context, view_name)
    tags = [format_html('<link rel="canonical" href="{}">\n', canonical)]
    tags.extend(
        format_html('<link rel="alternate" hreflang="{}" href="{}">\n', code, url)
        for code, url in translations
    )
    if default_url:
        tags.append(format_html('<link rel="alternate" hreflang="x-default" href="{}">\n', default_url))
    tags.append(format_html('<meta property="og:title" content="{}">\n', plain_text(title) or site_name()))
    if page_description:
        tags.append(format_html('<meta property="og:description" content="{}">\n', page_description))
    tags.append(
        format_html(
            '<meta property="og:url" content="{}">\n<meta property="og:type" content="{}">\n'
            '<meta property="og:site_name" content="{}">\n<meta property="og:locale" content="{}">\n',
            canonical,
            "article" if view_name == "ordinances:request_detail" else "website",
            site_name(),
            og_locale(language),
        )
    )
    tags.extend(
        format_html('<meta property="og:locale:alternate" content="{}">\n', og_locale(code))
        for code, _name in settings.LANGUAGES
        if code != language
    )
    tags.append(format_html('<meta name="ocd-division" content="{}">\n', ocd.division_id()))
    if ocd_id:
        tags.append(format_html('<meta name="ocd-id" content="{}">\n', ocd_id))
    return mark_safe("".join(tags) + "\n")


class CaptureNode(template.Node):
    def __init__(self, nodelist: template.NodeList, name: str) -> None:
        self.nodelist = nodelist
        self.name = name

    def render(self, context: template.Context) -> str:
        context[self.name] = self.nodelist.render(context)
        return ""


@register.tag
def capture(parser: Parser, token: Token) -> CaptureNode:
    """`{% capture as name %}...{% endcapture %}`: render the content into `name`, output nothing."""
    bits = token.split_contents()
    if len(bits) != 3 or bits[1] != "as":
        raise template.TemplateSyntaxError("Use {% capture as name %}...{% endcapture %}")
    nodelist = parser.parse(("endcapture",))
    parser.delete_first_token()
    return CaptureNode(nodelist, bits[2])


@register.simple_tag(takes_context=True)
def list_downloads(context: template.Context) -> dict[str, str] | None:
    """
    The current list's download addresses with its filters (all rows, not only this page),
    its Atom feed where it has one, and its entry on the data dictionary page.
    """
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    dataset = DATASET_OF_LIST.get(match.url_name) if match and match.namespace == "ordinances" else None
    if request is None or dataset is None:
        return None
    query = _query(request, drop_page=True)
    links = {
        "csv": reverse("ordinances:download", kwargs={"dataset": dataset.slug, "fmt": "csv"}) + query,
        "json": reverse("ordinances:download", kwargs={"dataset": dataset.slug, "fmt": "json"}) + query,
        "dictionary": reverse("ordinances:data_dictionary") + f"#dataset-{dataset.slug}",
        "title": str(dataset.title),
    }
    if dataset.slug == "requests":
        links["feed"] = reverse("ordinances:request_feed") + query
    return links
