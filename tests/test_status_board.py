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
from ordinances.models import Request

pytestmark = pytest.mark.django_db


def board_of(client, url: str) -> str:
    page = client.get(url).content.decode()
    return page.split('id="uses-heading"', 1)[1].split("</section>", 1)[0]


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
