"""
The status board as residents read it on agency and technology pages: each row's status in
words, the rule and the ordinance behind it, exceptions in effect with their expiry, pending
requests with their next date, in a table that stacks on narrow screens.
(`tests/test_board.py` covers how each status is derived.)
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone

from ordinances import workflow
from ordinances.board import for_agency
from ordinances.models import Agency, Category, Request, Technology

pytestmark = pytest.mark.django_db


def board_of(client, url: str, **params: str) -> str:
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode().split('id="uses-heading"', 1)[1].split("</section>", 1)[0]


def row_for(board: str, name: str) -> str:
    rows = [row for row in board.split("<tr>")[2:] if name in row]
    assert len(rows) == 1, name
    return rows[0]


def test_a_row_names_the_rule_and_links_the_ordinance_behind_it(
    client, ordinance, agency_a, face_recognition
):
    row = row_for(board_of(client, agency_a.get_absolute_url()), "Test face matcher")

    assert ">Prohibited</span>" in row
    assert f'Prohibited under <a class="usa-link" href="{ordinance.get_absolute_url()}">TEST-0001</a>' in row


def test_an_exception_in_effect_shows_with_its_expiry_date(client, make_request, agency_a, face_recognition):
    exception = make_request("approved", kind=Request.Kind.EXCEPTION, technology=face_recognition)

    row = row_for(board_of(client, face_recognition.get_absolute_url()), agency_a.name)

    expires = exception.decision.expires_on.isoformat()
    assert ">Prohibited, 1 permitted exception</span>" in row
    assert f'{exception.reference}</a>: expires <time datetime="{expires}">' in row


def test_an_approval_shows_until_when_it_runs(client, make_request, agency_a, drone):
    approval = make_request("approved")

    row = row_for(board_of(client, drone.get_absolute_url()), agency_a.name)

    assert f'>Approved</span> until <time datetime="{approval.decision.expires_on.isoformat()}">' in row


def test_a_pending_request_shows_with_its_next_date(client, make_request, staff, agency_a, drone):
    request = make_request("in_review")
    workflow.perform("open_comment_period", request, by=staff)
    request.refresh_from_db()

    row = row_for(board_of(client, agency_a.get_absolute_url()), drone.name)

    closes = request.comment_period_ends_on.isoformat()
    assert ">Pending council decision</span>" in row
    assert f"{request.reference}</a>" in row
    assert f'Public comment closes: <time datetime="{closes}">' in row


def test_a_hearing_ahead_is_the_next_date_of_a_pending_request(client, make_request, staff, agency_a, drone):
    request = make_request("public_comment")
    hearing_at = timezone.now() + datetime.timedelta(days=12)
    workflow.perform(
        "schedule_hearing", request, by=staff, hearing_at=hearing_at, hearing_address="350 South 5th Street"
    )

    row = row_for(board_of(client, drone.get_absolute_url()), agency_a.name)

    assert f'Public hearing: <time datetime="{timezone.localtime(hearing_at).isoformat()}">' in row


def test_every_cell_is_labelled_so_the_table_stacks_on_narrow_screens(client, make_request, agency_a, drone):
    make_request("approved")
    make_request("in_review")

    board = board_of(client, agency_a.get_absolute_url())

    assert "usa-table--stacked" in board
    cells = re.findall(r"<(td|th scope=\"row\")([^>]*)>", board)
    assert cells
    assert all("data-label=" in attributes for _, attributes in cells)


# ---------------------------------------------------------------------------
# A page at a time: a summary of every row, then one page of rows
# ---------------------------------------------------------------------------


def board_slugs(board: str, kind: str = "technologies") -> list[str]:
    """The records each row of a rendered board names, in order."""
    return re.findall(rf'<th scope="row"[^>]*><a class="usa-link" href="/{kind}/([^/]+)/"', board)


@pytest.fixture
def hub(reference_data, agency_a):
    """Agency A with 450 inventory rows among 2,000 technologies, the fourth of them prohibited."""
    reference_data(agencies=200, technologies=2000, hub_uses=450)
    return agency_a


def every_row(agency) -> list[str]:
    """Every row of the agency's board in order, as the whole board builds it."""
    return [entry.technology.slug for entry in for_agency(agency).entries]


def test_the_agency_page_with_450_uses_shows_one_page_of_rows(client, settings, hub):
    rows = board_slugs(board_of(client, hub.get_absolute_url()))

    assert rows == every_row(hub)[: settings.PORTAL_PAGE_SIZE]


def test_the_agency_page_sums_up_every_row_by_status(client, hub):
    used = [use.technology.category for use in hub.uses.select_related("technology")]
    prohibited = Technology.objects.filter(category=Category.FACIAL_RECOGNITION, is_demo=False).count()

    board = board_of(client, hub.get_absolute_url())

    total = prohibited + len(used) - used.count(Category.FACIAL_RECOGNITION)
    assert f"{total} technologies" in board
    assert f'status--bad">Prohibited</span> {prohibited}</li>' in board
    assert f'status--bad">Not approved</span> {used.count(Category.DRONES)}</li>' in board
    assert (
        f'status--pending">Disclosure pending</span> {used.count(Category.BODY_WORN_CAMERAS)}</li>' in board
    )
    assert f'status--muted">No rule in force</span> {used.count(Category.GUNSHOT_DETECTION)}</li>' in board


def test_the_second_board_page_shows_the_next_rows(client, settings, hub):
    size = settings.PORTAL_PAGE_SIZE

    rows = board_slugs(board_of(client, hub.get_absolute_url(), board_page="2"))

    assert rows == every_row(hub)[size : 2 * size]


def test_board_page_links_keep_the_reader_on_the_board(client, hub):
    board = board_of(client, hub.get_absolute_url())

    assert 'href="?board_page=2#uses-heading"' in board


@pytest.mark.parametrize("number", ["abc", "-3", "1.5", "\x00"])
def test_a_board_page_number_that_is_not_one_shows_the_first_or_last_page_not_an_error(
    client, settings, hub, number
):
    rows = board_slugs(board_of(client, hub.get_absolute_url(), board_page=number))

    assert len(rows) in (settings.PORTAL_PAGE_SIZE, len(every_row(hub)) % settings.PORTAL_PAGE_SIZE)


def test_a_board_page_past_the_last_shows_the_last(client, settings, hub):
    rows = every_row(hub)
    last = rows[len(rows) - (len(rows) % settings.PORTAL_PAGE_SIZE or settings.PORTAL_PAGE_SIZE) :]

    assert board_slugs(board_of(client, hub.get_absolute_url(), board_page="99999")) == last


def test_a_prohibited_technology_s_page_shows_one_page_of_the_agencies_it_binds(
    client, settings, reference_data, face_recognition
):
    reference_data(agencies=200, technologies=40, hub_uses=10)
    covered = Agency.objects.filter(covered=True, is_demo=False).count()

    board = board_of(client, face_recognition.get_absolute_url())

    assert len(board_slugs(board, "agencies")) == settings.PORTAL_PAGE_SIZE
    assert f'status--bad">Prohibited</span> {covered}</li>' in board
