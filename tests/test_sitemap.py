"""Discoverability: sitemap.xml, robots.txt, and what each page's <head> announces."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import resolve, reverse
from django.utils import translation

from ordinances.models import Request

pytestmark = pytest.mark.django_db


SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "xhtml": "http://www.w3.org/1999/xhtml"}


@pytest.fixture
def records(make_request):
    return {
        "approved": make_request("approved", title="Approved drone"),
        "in_review": make_request("in_review", title="Drone in review"),
        "draft": make_request("draft", title="Secret draft plan"),
    }


def sitemap_locations(client) -> set[str]:
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    return {loc.text or "" for loc in root.findall("s:url/s:loc", SITEMAP_NS)}


def test_the_sitemap_lists_every_public_page_in_every_language(client, records, ordinance, agency_a, drone):
    locations = sitemap_locations(client)
    for path in (
        reverse("ordinances:home"),
        reverse("ordinances:request_list"),
        reverse("ordinances:data_dictionary"),
        ordinance.get_absolute_url(),
        agency_a.get_absolute_url(),
        drone.get_absolute_url(),
        records["approved"].get_absolute_url(),
        records["in_review"].get_absolute_url(),
    ):
        assert f"http://testserver{path}" in locations, path
        assert f"http://testserver/es{path}" in locations, path
    assert len([loc for loc in locations if "/requests/REQ-" in loc]) == 4 * Request.objects.public().count()


def test_the_sitemap_never_lists_a_draft(client, records):
    body = client.get("/sitemap.xml").content.decode()
    assert records["draft"].reference not in body


def test_robots_txt_allows_the_portal_and_points_to_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert "User-agent: *" in lines
    assert "Allow: /" in lines
    assert "Disallow: /admin/" in lines
    assert "Sitemap: http://testserver/sitemap.xml" in lines


# ---------------------------------------------------------------------------
# The <head>: feed links, canonical address and Open Graph
# ---------------------------------------------------------------------------


def render(source: str, path: str, **context) -> str:
    request = RequestFactory().get(path)
    request.resolver_match = resolve(request.path)
    return Template("{% load discovery %}" + source).render(Context({"request": request, **context}))


def test_a_filtered_request_list_announces_its_filtered_feed(db):
    html = render("{% feed_links %}", "/requests/?status=approved&agency=agency-a&page=2&utm_source=x")
    assert (
        '<link rel="alternate" type="application/atom+xml" title="Requests matching these filters" '
        'href="/requests/feed/?status=approved&amp;agency=agency-a">'
    ) in html
    assert 'type="text/calendar" title="Hearings and deadlines" href="/calendar.ics"' in html


def test_a_request_page_announces_its_timeline_and_calendar(records):
    req = records["approved"]
    html = render("{% feed_links %}", req.get_absolute_url(), req=req)
    assert f'href="/requests/{req.reference}/feed/"' in html
    assert (
        f'type="text/calendar" title="Hearings and deadlines of this request" href="/requests/{req.reference}/calendar.ics"'
        in html
    )


def test_a_draft_page_announces_no_feed_of_its_own(records):
    draft = records["draft"]
    html = render("{% feed_links %}", draft.get_absolute_url(), req=draft)
    assert draft.reference not in html
    assert 'href="/requests/feed/"' in html


def test_an_agency_page_announces_its_feed_and_calendar(agency_a):
    html = render("{% feed_links %}", agency_a.get_absolute_url())
    assert 'href="/agencies/agency-a/feed/"' in html
    assert 'href="/agencies/agency-a/calendar.ics"' in html


def test_the_canonical_address_drops_tracking_and_keeps_the_language(db):
    with translation.override("es"):
        html = render(
            "{% head_meta title='Solicitudes' description='Todas' %}",
            "/es/requests/?status=approved&utm_source=news&fbclid=abc",
        )
    assert '<link rel="canonical" href="http://testserver/es/requests/?status=approved">' in html
    assert '<meta property="og:url" content="http://testserver/es/requests/?status=approved">' in html
    assert '<meta property="og:locale" content="es_US">' in html
    assert '<meta property="og:locale:alternate" content="en_US">' in html
    assert '<link rel="alternate" hreflang="en" href="http://testserver/requests/?status=approved">' in html
    assert (
        '<link rel="alternate" hreflang="x-default" href="http://testserver/requests/?status=approved">'
        in html
    )


def test_open_graph_takes_the_page_title_and_description(records):
    req = records["approved"]
    html = render(
        "{% head_meta title=t description=d %}",
        req.get_absolute_url(),
        t="REQ &amp; <b>x</b>",
        d="  A\n  drone ",
    )
    assert '<meta property="og:title" content="REQ &amp; x">' in html
    assert '<meta property="og:description" content="A drone">' in html
    assert '<meta property="og:type" content="article">' in html
    assert '<meta property="og:site_name" content="Minneapolis Surveillance Oversight Portal">' in html


def test_a_list_page_is_a_website_for_open_graph(db):
    assert '<meta property="og:type" content="website">' in render("{% head_meta %}", "/agencies/")


def test_capture_hands_a_child_page_s_blocks_to_head_meta(db):
    base = Template(
        "{% load discovery %}{% capture as page_title %}{% block title %}Portal{% endblock %}{% endcapture %}"
        "<title>{{ page_title }}</title>{% head_meta title=page_title %}"
    )
    child = Template("{% extends base %}{% block title %}{{ name }}{% endblock %}")
    request = RequestFactory().get("/agencies/")
    request.resolver_match = resolve("/agencies/")
    html = child.render(Context({"base": base, "request": request, "name": "Agencies & more"}))
    assert "<title>Agencies &amp; more</title>" in html
    assert '<meta property="og:title" content="Agencies &amp; more">' in html


@pytest.mark.parametrize(
    ("path", "dataset", "feed"),
    [
        ("/requests/?status=approved&page=3", "requests", True),
        ("/agencies/?kind=police", "agencies", False),
        ("/technologies/", "technologies", False),
        ("/ordinances/", "ordinances", False),
    ],
)
def test_the_downloads_partial_links_the_current_list_with_its_filters(db, path, dataset, feed):
    request = RequestFactory().get(path)
    request.resolver_match = resolve(request.path)
    html = Template('{% include "partials/downloads.html" %}').render(Context({"request": request}))
    query = path.partition("?")[2].replace("&page=3", "")
    suffix = f"?{query}" if query else ""
    assert f'href="/{dataset}/download.csv{suffix}"' in html
    assert f'href="/{dataset}/download.json{suffix}"' in html
    assert (f'href="/requests/feed/{suffix}"' in html) is feed
    assert f'href="/data/#dataset-{dataset}"' in html


def test_the_downloads_partial_is_silent_on_other_pages(db):
    request = RequestFactory().get("/how-it-works/")
    request.resolver_match = resolve(request.path)
    assert "download" not in Template('{% include "partials/downloads.html" %}').render(
        Context({"request": request})
    )
