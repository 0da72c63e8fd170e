"""
The review workspace in a real browser (Debian's Chromium through Playwright) at a
laptop's 1280 x 800: the request queue shows Status, Deadline and Overdue without
scrolling sideways, and the first page lists what needs action.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

# The seeded portal served by `manage.py runserver` in a subprocess, as in
# tests/test_browser.py (a live server in this process cannot be used: the timeline's
# append-only triggers refuse the flush a transactional test ends with).
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, server, sign_in  # noqa: F401

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1280, "height": 800}
QUEUE = "/admin/ordinances/request/"


@pytest.fixture(scope="module")
def in_laptop_browser() -> Iterator[Callable[[Callable[[Any], Any]], Any]]:
    """
    Runs a step in a fresh 1280 x 800 page of Debian's Chromium. Playwright's sync API
    allows one instance per thread and tests/test_browser.py keeps its own open for the
    session, so this one lives in a thread of its own.
    """
    import os

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (Debian's chromium package).")
    thread = ThreadPoolExecutor(max_workers=1)
    started: dict[str, Any] = {}

    def start() -> None:
        from playwright.sync_api import sync_playwright

        started["playwright"] = sync_playwright().start()
        started["browser"] = started["playwright"].chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )

    def stop() -> None:
        started["browser"].close()
        started["playwright"].stop()

    thread.submit(start).result()

    def run(step: Callable[[Any], Any]) -> Any:
        def in_page() -> Any:
            context = started["browser"].new_context(viewport=LAPTOP)
            context.set_default_timeout(10_000)
            try:
                return step(context.new_page())
            finally:
                context.close()

        return thread.submit(in_page).result()

    try:
        yield run
    finally:
        thread.submit(stop).result()
        thread.shutdown()


def fits(page, selector: str, within: dict) -> None:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    assert within["x"] <= box["x"] and box["x"] + box["width"] <= within["x"] + within["width"], (
        selector,
        box,
    )


def test_the_queue_shows_status_deadline_and_overdue_at_1280_px_without_scrolling_sideways(
    in_laptop_browser,
    server,  # noqa: F811
):
    def step(page) -> None:
        sign_in(page, server, "staff")
        page.goto(f"{server}{QUEUE}")

        assert page.locator("#result_list tbody tr").count() >= 10
        # Inside the window, and inside the list's own scrolling box, which ends where the filters begin.
        window = {"x": 0, "width": LAPTOP["width"]}
        results = page.locator("#changelist .results").bounding_box()
        for column in ("status", "deadline", "overdue"):
            for cell in (f"#result_list thead th.column-{column}", f"#result_list tbody td.field-{column}"):
                fits(page, cell, window)
                fits(page, cell, results)
        headers = page.locator("#result_list thead th").all_inner_texts()
        assert {"STATUS", "DEADLINE", "OVERDUE"} <= {text.strip().upper() for text in headers}
        page_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert page_width <= inner_width
        scrolled, shown = page.evaluate(
            "(() => { const r = document.querySelector('#changelist .results'); return [r.scrollWidth, r.clientWidth]; })()"
        )
        assert scrolled <= shown

    in_laptop_browser(step)


def test_staff_land_on_needs_action_soonest_first_and_act_in_one_click(in_laptop_browser, server):  # noqa: F811
    def step(page) -> None:
        sign_in(page, server, "staff")

        table = page.locator("#needs-action")
        assert table.is_visible()
        dates = table.locator("td.needs-action__deadline time").evaluate_all(
            "times => times.map(t => t.getAttribute('datetime').slice(0, 10))"
        )
        assert dates
        assert dates == sorted(dates)
        with page.expect_navigation():
            table.locator("tbody tr").first.locator("td.needs-action__act a").click()
        assert page.url.startswith(f"{server}/admin/")
        assert "You cannot open this page" not in page.content()

    in_laptop_browser(step)
