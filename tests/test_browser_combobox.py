"""
The type-ahead agency filter in a real browser (Debian's Chromium through Playwright): a
resident types part of a name, picks it from the list with the keyboard, and gets the
filtered list; axe finds nothing wrong with the page while the list is open.

The portal runs as in tests/test_browser.py (its browser and page fixtures), on a seeded
database of its own with `PORTAL_SELECT_LIMIT` low enough that the seeded agencies and
technologies are offered as text boxes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.test_browser import PHONE, WCAG_21_AA, seeded_portal

# The browser and page fixtures are tests/conftest.py's: one Chromium for the session.

pytestmark = pytest.mark.browser

AGENCY = "Demo Police Department"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    # A select limit of 3 turns the demo's agency filter into the combobox.
    with seeded_portal(tmp_path_factory.mktemp("combobox"), PORTAL_SELECT_LIMIT="3") as url:
        yield url


def open_suggestions(page, server: str, typed: str = "demo pol") -> None:
    page.goto(f"{server}/requests/")
    box = page.get_by_role("combobox", name="Agency")
    box.fill(typed)
    page.get_by_role("option", name=AGENCY).wait_for()


def test_a_resident_types_part_of_a_name_chooses_it_with_the_keyboard_and_gets_the_list(page, server):
    open_suggestions(page, server)
    box = page.get_by_role("combobox", name="Agency")
    box.press("ArrowDown")
    box.press("Enter")
    assert box.input_value() == AGENCY
    assert box.get_attribute("aria-expanded") == "false"

    with page.expect_navigation():
        page.get_by_role("button", name="Apply filters").click()

    assert page.get_by_role("combobox", name="Agency").input_value() == AGENCY
    rows = page.locator("table tbody tr")
    assert rows.count() > 0
    assert all(AGENCY in row for row in rows.all_inner_texts())


def test_the_box_is_a_combobox_that_points_at_the_option_highlighted(page, server):
    open_suggestions(page, server)
    box = page.get_by_role("combobox", name="Agency")
    assert box.get_attribute("aria-autocomplete") == "list"
    assert box.get_attribute("aria-expanded") == "true"
    box.press("ArrowDown")
    option = page.get_by_role("option", name=AGENCY)

    assert box.get_attribute("aria-activedescendant") == option.get_attribute("id")
    assert option.get_attribute("aria-selected") == "true"
    assert page.locator(f"#{box.get_attribute('aria-controls')}").is_visible()


def test_the_number_of_suggestions_is_announced_politely(page, server):
    open_suggestions(page, server)
    status = page.locator('#id_agency-status[aria-live="polite"]')

    status.filter(has_text="1 result").wait_for(state="attached")


def test_escape_closes_the_list_and_a_click_chooses_a_name(page, server):
    open_suggestions(page, server)
    box = page.get_by_role("combobox", name="Agency")
    box.press("Escape")
    assert box.get_attribute("aria-expanded") == "false"

    box.press("ArrowDown")
    page.get_by_role("option", name=AGENCY).click()

    assert box.input_value() == AGENCY
    assert box.get_attribute("aria-expanded") == "false"


def test_the_page_with_the_list_open_meets_wcag_21_aa_by_axe_at_320_px(page, server):
    from axe_playwright_python.sync_playwright import Axe

    page.set_viewport_size(PHONE)
    open_suggestions(page, server, "demo")
    page.get_by_role("combobox", name="Agency").press("ArrowDown")

    violations = Axe().run(page, options=WCAG_21_AA).response["violations"]
    assert violations == [], [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in violations]
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths


def test_without_javascript_a_typed_name_filters_the_list(browser, server):
    context = browser.new_context(java_script_enabled=False)
    plain = context.new_page()
    try:
        plain.goto(f"{server}/requests/")
        plain.get_by_role("textbox", name="Agency").fill(AGENCY.lower())
        with plain.expect_navigation():
            plain.get_by_role("button", name="Apply filters").click()
        rows = plain.locator("table tbody tr")
        assert rows.count() > 0
        assert all(AGENCY in row for row in rows.all_inner_texts())
    finally:
        context.close()
