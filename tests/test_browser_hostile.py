"""
Stored and reflected XSS in a real browser (issue 10): script payloads stored where a
resident reads them (a request's title and summary, an agency's name, a published public
comment) and sent in query parameters; Chromium opens the pages with a dialog listener. No
dialog ever opens, and no payload runs (each would set `window.__pwned`).

The portal runs as in tests/test_browser.py, on a seeded database of its own, to which the
payloads are added through the ORM before the server starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.hostile import PWNED, XSS
from tests.test_browser import ROOT, seeded_portal

# The browser and page fixtures are tests/conftest.py's.

pytestmark = pytest.mark.browser

# The payloads that would run if printed unescaped (a dialog, or window.__pwned set).
RUNNABLE = [
    payload.text
    for payload in XSS
    if payload.text and ("alert(" in payload.text or PWNED in payload.text) and "<" in payload.text
]
STORED = " ".join(RUNNABLE)

# Run by `manage.py shell` on the seeded database: the payloads go into what residents read.
STORE = f"""
from django.utils import timezone
from ordinances.models import Agency, Comment, Request
payload = {STORED!r}
req = Request.objects.public().order_by("pk").first()
agency = req.agency
Agency.objects.filter(pk=agency.pk).update(name="Hostile " + payload[:150], description=payload)
Request.objects.filter(pk=req.pk).update(title=payload[:200], purpose=payload)
Comment.objects.create(
    request=req, name=payload[:120], body=payload, status=Comment.Status.PUBLISHED,
    submitted_at=timezone.now(), moderated_at=timezone.now(),
)
print(agency.slug, req.reference)
"""


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory) -> Iterator[tuple[str, str, str]]:
    directory: Path = tmp_path_factory.mktemp("hostile")
    with seeded_portal(directory) as url:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{directory / 'portal.sqlite3'}", "DJANGO_DEBUG": "1"}
        done = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "shell", "-c", STORE],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        slug, reference = done.stdout.split()[-2:]
        yield url, slug, reference


def visit(page, url: str) -> list[str]:
    """Open `url`, letting any script run; the dialogs that opened."""
    dialogs: list[str] = []

    def dismiss(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.goto(url)
    page.wait_for_load_state("load")
    page.wait_for_timeout(200)  # an onfocus or ontoggle handler runs just after load
    page.remove_listener("dialog", dismiss)
    return dialogs


def assert_nothing_ran(page, url: str) -> None:
    dialogs = visit(page, url)
    assert dialogs == [], f"{url} opened a dialog"
    assert page.evaluate(f"typeof window.{PWNED}") == "undefined", f"{url} ran a payload"


def test_the_stored_payloads_are_really_on_the_pages(page, hostile_server):
    url, _, reference = hostile_server
    page.goto(f"{url}/requests/{reference}/")
    # Shown as text: the check below that nothing runs is about the payloads themselves.
    assert "<script>alert(1)</script>" in page.locator("body").inner_text()


@pytest.mark.parametrize(
    "path",
    [
        "/requests/{reference}/",
        "/requests/",
        "/agencies/",
        "/agencies/{slug}/",
        "/",
        "/search/?q=Hostile",
        "/requests/{reference}/comment/",
        "/embed/requests/{reference}/",
    ],
)
def test_a_stored_payload_never_runs_in_a_residents_browser(page, hostile_server, path):
    url, slug, reference = hostile_server
    assert_nothing_ran(page, url + path.format(slug=slug, reference=reference))


@pytest.mark.parametrize(
    "path",
    [
        "/requests/?q={p}",
        "/requests/?agency={p}",
        "/search/?q={p}",
        "/agencies/?q={p}",
        "/violations/?year={p}",
    ],
)
def test_a_payload_in_the_address_never_runs_in_a_residents_browser(page, hostile_server, path):
    url = hostile_server[0]
    for payload in RUNNABLE:
        assert_nothing_ran(page, url + path.format(p=quote(payload, safe="")))


def test_the_listener_sees_a_payload_that_runs_when_a_page_prints_it_unescaped(page, hostile_server):
    # The same checks on a page that prints the payloads raw: they must catch it.
    url = hostile_server[0]
    page.route(f"{url}/unescaped", lambda route: route.fulfill(content_type="text/html", body=STORED))
    dialogs = visit(page, f"{url}/unescaped")

    assert dialogs
    assert page.evaluate(f"typeof window.{PWNED}") != "undefined"
