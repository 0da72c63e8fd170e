"""
Real pages in a real browser: Debian's Chromium, driven by Playwright, against the portal
served by `manage.py runserver` on a seeded SQLite database of its own.

The server runs in a subprocess so these tests see exactly what a resident sees, and so
the test database's transactions do not hide data from it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def seeded_portal(directory: Path, **settings: str) -> Iterator[str]:
    """
    The portal on a fresh SQLite database in `directory`, migrated and seeded with
    `seed_demo`, served by runserver on a free port with extra environment `settings`;
    yields its address and stops it afterwards.
    """
    db = directory / "portal.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "DJANGO_DEBUG": "1", **settings}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], env=env, check=True, cwd=ROOT)
    subprocess.run([*manage, "seed_demo"], env=env, check=True, cwd=ROOT, capture_output=True)
    port = free_port()
    process = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the portal did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[str]:
    with seeded_portal(tmp_path_factory.mktemp("browser")) as url:
        yield url


def test_a_resident_finds_the_facial_recognition_ban_from_the_home_page(page, server):
    page.goto(server)
    assert page.get_by_role("heading", name="Prohibited").is_visible()
    with page.expect_navigation():
        page.get_by_role("link", name="2020-00681").first.click()
    assert "13-0" in page.locator(".facts").first.inner_text()
    assert page.locator(".notice--unverified").is_visible()


def test_a_resident_sees_facial_recognition_prohibited_for_the_minneapolis_police(page, server):
    page.goto(f"{server}/agencies/minneapolis-police-department/")
    row = page.locator("table tbody tr", has_text="Facial recognition").first
    assert "Prohibited" in row.inner_text()
    with page.expect_navigation():
        row.get_by_role("link", name="2020-00681").click()
    assert page.get_by_role("heading", name="How a request is decided under it").is_visible()
    assert "Minneapolis City Council" in page.locator(".process-path").inner_text()
    demo = page.locator(".demo-section")
    assert "Demo requests" in demo.inner_text()


def test_a_resident_filters_requests_by_status_and_opens_the_timeline(page, server):
    page.goto(f"{server}/requests/")
    page.get_by_label("Status").select_option("approved_with_conditions")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply filters").click()
    assert "status=approved_with_conditions" in page.url
    rows = page.locator("table.usa-table tbody tr")
    assert rows.count() >= 1
    for status in page.locator("table.usa-table tbody .status").all_inner_texts():
        assert status == "Approved with conditions"
    with page.expect_navigation():
        rows.first.get_by_role("link").first.click()
    assert page.get_by_role("heading", name="Timeline").is_visible()
    assert page.locator(".timeline__item").count() >= 5
    assert page.get_by_role("heading", name="Conditions", exact=True).is_visible()


def test_a_bad_filter_shows_what_is_wrong_instead_of_an_error_page(page, server):
    response = page.goto(f"{server}/requests/?year=not-a-year")
    assert response.status == 400
    summary = page.get_by_role("alert")
    assert "These filters could not be applied" in summary.inner_text()
    assert "Year" in summary.inner_text()


def test_the_pages_work_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server}/technologies/")
    page.get_by_label("Category").select_option("facial_recognition")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply filters").click()
    assert "Facial recognition" in page.locator("table.usa-table").inner_text()
    context.close()


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/requests/",
        "/technologies/",
        "/how-it-works/",
        "/ordinances/2020-00681/",
        "/agencies/minneapolis-police-department/",
        "/technologies/facial-recognition/",
    ],
)
def test_public_pages_have_no_serious_accessibility_violations(page, server, path):
    from axe_playwright_python.sync_playwright import Axe

    page.goto(f"{server}{path}")
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
    assert serious == [], [(v["id"], v["help"]) for v in serious]


def sign_in(page, server: str, username: str) -> None:
    page.goto(f"{server}/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("portal-demo")
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def open_in_workspace(page, server: str, title: str) -> None:
    page.goto(f"{server}/admin/ordinances/request/?q={title.replace(' ', '+')}")
    with page.expect_navigation():
        page.get_by_role("link", name=title).first.click()


def test_staff_schedule_a_hearing_and_the_public_page_shows_it(page, server):
    import datetime

    title = "Demo: Gunshot detection pilot in two neighborhoods"
    sign_in(page, server, "staff")
    open_in_workspace(page, server, title)
    reference = page.locator(".field-reference .readonly").inner_text().strip()
    with page.expect_navigation():
        page.get_by_role("link", name="Schedule the hearing").click()

    # An empty date is refused with a reason and the request stays where it was.
    with page.expect_navigation():
        page.get_by_role("button", name="Schedule the hearing").click()
    assert page.locator(".errorlist").first.is_visible()
    assert "Public comment" in page.goto(f"{server}/requests/{reference}/").text()

    open_in_workspace(page, server, title)
    with page.expect_navigation():
        page.get_by_role("link", name="Schedule the hearing").click()
    hearing = datetime.date.today() + datetime.timedelta(days=90)
    page.locator("#id_hearing_at_0").fill(hearing.isoformat())
    page.locator("#id_hearing_at_1").fill("18:30:00")
    page.locator("#id_hearing_room").fill("Room 317")
    page.locator("#id_hearing_address").fill("350 South 5th Street")
    with page.expect_navigation():
        page.get_by_role("button", name="Schedule the hearing").click()
    assert "is now hearing scheduled" in page.locator(".messagelist").inner_text()

    page.goto(f"{server}/requests/{reference}/")
    assert "Hearing scheduled" in page.locator(".status-line").inner_text()
    timeline = page.locator(".timeline").inner_text()
    assert f"Public hearing on {hearing.day} {hearing:%B %Y}, 6:30 p.m." in timeline
    assert "350 South 5th Street" in page.locator("main").inner_text()


def test_a_liaison_cannot_see_staff_transitions_in_the_workspace(page, server):
    sign_in(page, server, "liaison")
    open_in_workspace(page, server, "Demo: Gunshot detection pilot in two neighborhoods")
    assert page.get_by_role("link", name="Schedule the hearing").count() == 0
    assert page.get_by_role("link", name="Withdraw").count() == 1


# Every kind of public page, at the root and under each language prefix. The request page
# is the first request the seeded list shows (its reference depends on the seed's date).
PAGE_TYPES = {
    "home": "/",
    "ordinance list": "/ordinances/",
    "agency list": "/agencies/",
    "technology list": "/technologies/",
    "request list": "/requests/",
    "ordinance": "/ordinances/2020-00681/",
    "agency": "/agencies/minneapolis-police-department/",
    "technology": "/technologies/facial-recognition/",
    "request": None,
    "how it works": "/how-it-works/",
    "search": "/search/?q=police",
    "data dictionary": "/data/",
    "embedded status": "/embed/technologies/facial-recognition/",
    "not found": "/no-such-page/",
    "comment form": None,
    "email alerts": "/alerts/?topic=decisions",
    "emergency use": "/emergency-use/",
    "violation list": "/violations/",
    "violation": None,
    "annual report list": "/annual-reports/",
    "annual report": None,
    "summary index": "/summary/",
    "yearly summary": None,
}
# Where a page type's address depends on the seeded records: the list page that links it,
# and the pattern of its link there.
FOUND_ON = {
    "request": ("/requests/", r'href="(/requests/[A-Z]+-\d{4}-\d{4,}/)"'),
    "comment form": ("/requests/?status=public_comment", r'href="(/requests/[A-Z]+-\d{4}-\d{4,}/)"'),
    "violation": ("/violations/", r'href="(/violations/\d+/)"'),
    "annual report": ("/annual-reports/", r'href="(/annual-reports/\d+/)"'),
    "yearly summary": ("/summary/", r'href="(/summary/\d{4}/)"'),
}
LANGUAGE_PREFIXES = ["", "/es", "/so", "/hmn"]
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
PHONE = {"width": 320, "height": 640}
DESKTOP = {"width": 1280, "height": 900}


# Autouse: found before any test here changes the seeded records (the hearing test moves the
# one request in public comment on to its hearing).
@pytest.fixture(scope="session", autouse=True)
def found_paths(server) -> dict[str, str]:
    """The address of each page type that depends on the seeded records."""
    paths = {}
    for kind, (list_path, pattern) in FOUND_ON.items():
        with urllib.request.urlopen(f"{server}{list_path}", timeout=10) as response:
            html = response.read().decode()
        match = re.search(pattern, html)
        assert match, f"the seeded {list_path} links no {kind}"
        paths[kind] = match.group(1) + ("comment/" if kind == "comment form" else "")
    return paths


def not_found_page(path: str, language: str) -> str:
    """The 404 page for `path` as production renders it: Django's own 404 view, our template."""
    from django.http import Http404
    from django.test import RequestFactory
    from django.utils import translation
    from django.views.defaults import page_not_found

    with translation.override(language):
        return page_not_found(RequestFactory().get(path), Http404()).content.decode()


def open_page(page, server: str, prefix: str, kind: str, found_paths: dict[str, str]):
    """Go to a page type under a language prefix; returns the response."""
    path = f"{prefix}{PAGE_TYPES[kind] or found_paths[kind]}"
    if kind == "not found":
        # The test server runs with DEBUG on (it serves the static files), and DEBUG answers
        # a 404 with Django's debug page; the browser is given the residents' 404 page at
        # that address instead, styled by the server's own static files.
        body = not_found_page(path, prefix.strip("/") or "en")
        page.route(
            f"{server}{path}",
            lambda route: route.fulfill(status=404, body=body, content_type="text/html; charset=utf-8"),
        )
    return page.goto(f"{server}{path}")


@pytest.mark.parametrize("prefix", LANGUAGE_PREFIXES)
@pytest.mark.parametrize("kind", PAGE_TYPES)
def test_no_page_scrolls_sideways_at_320_px(page, server, found_paths, prefix, kind):
    page.set_viewport_size(PHONE)
    response = open_page(page, server, prefix, kind, found_paths)
    assert response.status == (404 if kind == "not found" else 200)
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "320px"])
@pytest.mark.parametrize("prefix", LANGUAGE_PREFIXES)
@pytest.mark.parametrize("kind", PAGE_TYPES)
def test_every_page_meets_wcag_21_aa_by_axe(page, server, found_paths, prefix, kind, viewport):
    from axe_playwright_python.sync_playwright import Axe

    page.set_viewport_size(viewport)
    open_page(page, server, prefix, kind, found_paths)
    violations = Axe().run(page, options=WCAG_21_AA).response["violations"]
    assert violations == [], [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in violations]


def tab_to(page, selector: str, presses: int = 30) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    target = page.locator(selector)
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_on_a_phone_the_keyboard_opens_the_menu_and_follows_a_link(page, server):
    page.set_viewport_size(PHONE)
    page.goto(server)
    nav = page.locator("nav.usa-nav")
    assert not nav.is_visible()

    tab_to(page, ".usa-menu-btn")
    page.keyboard.press("Enter")
    assert nav.is_visible()

    tab_to(page, "nav.usa-nav a[href='/requests/']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{server}/requests/"
    assert page.get_by_role("heading", level=1).inner_text() == "Requests"


def test_without_javascript_a_phone_shows_the_navigation_in_place(browser, server):
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    page.goto(server)
    assert page.locator("nav.usa-nav").get_by_role("link", name="Requests").is_visible()
    assert not page.locator(".usa-menu-btn").is_visible()
    context.close()


def test_applying_a_filter_gives_a_clean_address_without_the_empty_ones(page, server):
    page.goto(f"{server}/requests/")
    page.get_by_label("Status").select_option("approved")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply filters").click()
    assert page.url == f"{server}/requests/?status=approved"


def test_switching_language_keeps_the_page_and_its_filters(page, server):
    page.goto(f"{server}/requests/?status=approved")
    with page.expect_navigation():
        page.get_by_role("button", name="Español").click()
    assert page.url == f"{server}/es/requests/?status=approved"
    assert page.locator("html").get_attribute("lang") == "es"

    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    assert page.url == f"{server}/requests/?status=approved"
    assert page.locator("html").get_attribute("lang") == "en"


def test_the_header_search_sends_the_words_to_the_search_page(page, server):
    page.goto(f"{server}/agencies/")
    page.get_by_role("searchbox", name="Search the portal").fill("drone")
    with page.expect_navigation():
        page.get_by_role("search").get_by_role("button", name="Search").click()
    assert page.url == f"{server}/search/?q=drone"


def in_somali(text: str) -> str:
    from django.utils import translation

    with translation.override("so"):
        return translation.gettext(text)


def test_a_resident_searches_filters_opens_a_request_switches_to_somali_and_downloads_the_csv(page, server):
    page.goto(f"{server}/")
    page.get_by_role("searchbox", name="Search the portal").fill("license plate")
    with page.expect_navigation():
        page.get_by_role("search").get_by_role("button", name="Search").click()
    assert page.get_by_role("link", name=re.compile("license plate", re.IGNORECASE)).count() > 0

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Requests").click()
    page.get_by_label("Status").select_option("submitted")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply filters").click()
    assert page.url == f"{server}/requests/?status=submitted"
    first = page.locator("main table tbody a").first
    reference = first.inner_text().split()[0]
    with page.expect_navigation():
        first.click()
    assert page.get_by_role("heading", name="What happens next").is_visible()

    with page.expect_navigation():
        page.get_by_role("button", name="Soomaali").click()
    assert page.url.startswith(f"{server}/so/requests/")
    assert page.locator("html").get_attribute("lang") == "so"
    assert page.get_by_role("heading", name=in_somali("What happens next")).is_visible()

    page.goto(f"{server}/so/requests/?status=submitted")
    with page.expect_download() as download:
        page.get_by_role("link", name=in_somali("Download CSV")).click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert reference in {row["reference"] for row in rows}
    assert {row["status"] for row in rows} == {"submitted"}
