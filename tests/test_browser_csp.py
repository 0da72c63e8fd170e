"""
The Content-Security-Policy in a real browser (Debian's Chromium through Playwright): the
public pages with their JavaScript (USWDS, the agency combobox), the API docs, a status
widget and the review workspace's forms run under the strict policy without one violation.

Chromium reports each refused script, style or image as a console error naming the
"Content Security Policy"; an unknown Permissions-Policy feature is a console error too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.test_browser import seeded_portal, sign_in

# The browser and page fixtures are tests/conftest.py's.

pytestmark = pytest.mark.browser

POLICY_WORDS = (
    "Content Security Policy",
    "Content-Security-Policy",
    "Permissions-Policy",
    "Permissions policy",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    # A select limit of 3 turns the demo's agency filter into the combobox (static/js/combobox.js).
    with seeded_portal(tmp_path_factory.mktemp("csp"), PORTAL_SELECT_LIMIT="3") as url:
        yield url


@pytest.fixture
def violations(page) -> list[str]:
    """Every console message of the page that names one of the policies."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(f"{message.type}: {message.text}")
            if any(word in message.text for word in POLICY_WORDS)
            else None
        ),
    )
    page.on("pageerror", lambda error: seen.append(f"pageerror: {error}"))
    return seen


def visit(page, url: str) -> None:
    response = page.goto(url, wait_until="networkidle")
    assert response is not None and response.status == 200, url
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]


def first_link(page, server: str, listing: str, prefix: str) -> str:
    page.goto(f"{server}{listing}")
    href = page.locator(f"main a[href^='{prefix}']:not([href='{listing}'])").first.get_attribute("href")
    assert href, listing
    return f"{server}{href}"


def test_the_public_pages_run_their_scripts_and_styles_under_the_policy(page, server, violations):
    for path in (
        "/",
        "/technologies/",
        "/agencies/",
        "/ordinances/",
        "/how-it-works/",
        "/data/",
        "/search/?q=police",
    ):
        visit(page, f"{server}{path}")
    for listing, prefix in (("/requests/", "/requests/REQ-"), ("/technologies/", "/technologies/")):
        visit(page, first_link(page, server, listing, prefix))
    assert violations == []


def test_the_agency_combobox_suggests_names_under_the_policy(page, server, violations):
    visit(page, f"{server}/requests/")
    page.get_by_role("combobox", name="Agency").fill("demo pol")
    page.get_by_role("option", name="Demo Police Department").wait_for()
    assert violations == []


def test_the_oversight_summary_and_its_charts_show_under_the_policy(page, server, violations):
    visit(page, f"{server}/summary/")
    visit(page, first_link(page, server, "/summary/", "/summary/2"))
    assert violations == []


def test_a_status_widget_shows_under_the_policy(page, server, violations):
    technology = first_link(page, server, "/technologies/", "/technologies/").removeprefix(server)
    visit(page, f"{server}/embed{technology}")
    assert violations == []


def test_the_api_docs_render_under_the_policy(page, server, violations):
    visit(page, f"{server}/api/docs/")
    page.locator(".opblock").first.wait_for()
    assert violations == []


def test_the_review_workspace_forms_work_under_the_policy(page, server, violations):
    sign_in(page, server, "staff")
    visit(page, f"{server}/admin/")
    visit(page, f"{server}/admin/ordinances/request/")
    visit(page, first_link(page, server, "/admin/ordinances/request/", "/admin/ordinances/request/"))
    assert violations == []


def test_the_clerks_change_forms_and_their_widgets_work_under_the_policy(page, server, violations):
    sign_in(page, server, "clerk")
    for path in (
        "/admin/ordinances/ordinance/",
        "/admin/ordinances/agency/",
        "/admin/ordinances/technology/",
    ):
        visit(page, f"{server}{path}")
        visit(page, first_link(page, server, path, path))
    visit(page, f"{server}/admin/ordinances/agency/add/")
    # The admin's own scripts at work: the calendar and "Today" beside a date, the slug
    # typed from the title (prepopulated fields).
    visit(page, f"{server}/admin/ordinances/ordinance/add/")
    page.locator("#id_adopted_on").locator("xpath=..").get_by_role("link", name="Today").click()
    assert page.locator("#id_adopted_on").input_value()
    page.locator("#calendarlink0").click()
    page.locator("#calendarbox0").wait_for()
    page.locator("#id_title").press_sequentially("A test ordinance")
    assert page.locator("#id_slug").input_value() == "a-test-ordinance"
    assert violations == []
