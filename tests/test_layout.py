"""
The frame every public page shares (templates/base.html on the U.S. Web Design System):
language, navigation, search, language switcher, footer notes, and no inline code.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

LISTS = ["/ordinances/", "/agencies/", "/technologies/", "/requests/"]


@pytest.mark.parametrize(("prefix", "language"), [("", "en"), ("/es", "es"), ("/so", "so"), ("/hmn", "hmn")])
def test_the_page_declares_the_language_of_its_prefix(client, prefix, language):
    content = client.get(f"{prefix}/requests/").content.decode()
    assert f'<html lang="{language}">' in content


def test_the_navigation_marks_the_list_being_read_as_the_current_page(client):
    content = client.get("/requests/").content.decode()
    assert re.search(r'<a class="usa-nav-link usa-current" href="/requests/" aria-current="page">', content)
    assert '<a class="usa-nav-link" href="/agencies/">' in content


def test_the_navigation_marks_the_section_of_a_detail_page(client, make_request):
    request = make_request("submitted")
    content = client.get(request.get_absolute_url()).content.decode()
    assert '<a class="usa-nav-link usa-current" href="/requests/" aria-current="true">' in content


def test_the_header_search_sends_q_to_the_search_page(client):
    content = client.get("/agencies/").content.decode()
    form = re.search(r'<form class="usa-search usa-search--small"[^>]*>', content).group(0)
    assert 'role="search"' in form
    assert f'action="{reverse("ordinances:search")}"' in form
    assert 'method="get"' in form
    assert '<input class="usa-input" id="site-search" type="search" name="q">' in content


def test_the_language_switcher_returns_to_the_same_page_without_its_prefix(client):
    content = client.get("/es/requests/?status=approved").content.decode()
    assert '<input type="hidden" name="next" value="/requests/?status=approved">' in content


def test_the_language_switcher_names_each_language_in_itself(client):
    content = client.get("/").content.decode()
    for code, name in [("en", "English"), ("es", "Español"), ("so", "Soomaali"), ("hmn", "Hmoob")]:
        assert re.search(rf'name="language" value="{code}" lang="{code}"[^>]*>{name}</button>', content), name


@pytest.mark.parametrize(
    ("language", "address"), [("es", "/es/requests/?status=approved"), ("en", "/requests/?status=approved")]
)
def test_choosing_a_language_lands_on_the_same_page_in_it(client, language, address):
    response = client.post(
        reverse("set_language"), {"language": language, "next": "/requests/?status=approved"}
    )
    assert response.status_code == 302
    assert response["Location"] == address


def test_a_page_not_in_english_says_its_translation_awaits_review(client):
    # Marked by its class: the sentence itself will be translated.
    assert b'<p class="portal-translation-note">' in client.get("/so/requests/").content


def test_an_english_page_has_no_translation_note(client):
    assert b"portal-translation-note" not in client.get("/requests/").content


@pytest.mark.parametrize("url", LISTS)
def test_each_list_has_a_breadcrumb_home(client, url):
    content = client.get(url).content.decode()
    assert '<nav class="usa-breadcrumb usa-breadcrumb--wrap" aria-label="Breadcrumbs">' in content
    assert '<a href="/" class="usa-breadcrumb__link"><span>Home</span></a>' in content


def test_the_footer_keeps_the_demo_and_unverified_notes_and_the_sign_in_link(client):
    content = client.get("/").content.decode()
    footer = content.split('<footer class="usa-footer usa-footer--slim">', 1)[1]
    assert "are fictional examples" in footer
    assert "could not be checked against the primary text" in footer
    assert f'href="{reverse("admin:index")}"' in footer


def test_every_page_links_its_icons(client):
    content = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in content
    assert '<link rel="icon" href="/static/img/favicon.ico" sizes="32x32">' in content
    assert '<link rel="stylesheet" href="/static/css/print.css" media="print">' in content


@pytest.mark.parametrize("url", ["/", *LISTS, "/requests/?year=bad", "/no-such-page/"])
def test_no_page_carries_inline_styles_or_scripts(client, url):
    content = client.get(url).content.decode()
    assert " style=" not in content
    assert "<style" not in content
    assert all('src="' in tag for tag in re.findall(r"<script[^>]*>", content))
    assert not re.search(r" on[a-z]+=", content)
