"""
The rows of the request tables, the violation table, the home page's tables and the status
boards are written in Python (`request_rows`, `violation_rows`, `awaiting_rows`,
`decided_rows`, `board_rows` in `ordinances.templatetags.portal`): what each row says,
escaped, in the reader's language.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from ordinances.board import for_agency, for_technology
from ordinances.models import TechnologyUse
from ordinances.templatetags.portal import board_rows, decided_rows, request_rows

pytestmark = pytest.mark.django_db


def test_a_revoked_approval_says_its_vote_and_that_it_is_now_revoked_on_the_home_page(client, make_request):
    make_request("revoked", title="Drone revoked later")

    page = client.get(reverse("ordinances:home")).content.decode()
    decided = page.split('id="decided-heading"', 1)[1].split("</section>", 1)[0]

    assert '<span class="muted">(now revoked)</span>' in decided
    assert '<br><span class="muted">9–3 vote</span>' in decided


def test_the_decided_row_is_in_the_readers_language(make_request):
    req = make_request("revoked")

    with translation.override("es"):
        row = decided_rows([req])

    assert "votación 9–3" in row
    assert "(ahora " in row


def test_a_request_title_is_escaped_in_its_row(make_request):
    req = make_request("submitted", title="Cameras <script>alert(1)</script> & more")

    row = request_rows([req])

    assert "Cameras &lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in row
    assert "<script>" not in row


def test_a_decided_list_row_without_a_decision_shows_a_dash(make_request):
    req = make_request("submitted")

    row = request_rows([req], decided=True)

    assert '<td data-label="Decided">—</td>' in row


def test_a_board_rows_inventory_words_are_escaped(agency_a, drone, ordinance):
    TechnologyUse.objects.create(
        agency=agency_a,
        technology=drone,
        vendor_product="Acme <script>alert(1)</script>",
        retention="30 days & <more>",
        data_sharing_recipients="FBI & co\n<ICE>",
    )

    row = board_rows(for_agency(agency_a).entries)

    assert "Acme &lt;script&gt;alert(1)&lt;/script&gt;" in row
    assert "Kept: 30 days &amp; &lt;more&gt;" in row
    assert "Shared with FBI &amp; co and &lt;ICE&gt;" in row
    assert "<script>" not in row


def test_a_board_row_is_in_the_readers_language(make_request, agency_a, drone):
    approval = make_request("approved")

    with translation.override("es"):
        row = board_rows(for_technology(drone).entries, True)

    assert f'hasta el <time datetime="{approval.decision.expires_on.isoformat()}">' in row
    assert 'data-label="Dependencia"' in row
    assert "No consta en el inventario" in row


def test_a_board_row_names_its_agency_on_a_technologys_page_and_its_technology_on_an_agencys(
    make_request, agency_a, drone
):
    make_request("submitted")

    by_agency = board_rows(for_technology(drone).entries, True)
    by_technology = board_rows(for_agency(agency_a).entries)

    assert (
        f'<th scope="row" data-label="Agency"><a class="usa-link" href="{agency_a.get_absolute_url()}">'
        in by_agency
    )
    assert (
        f'<th scope="row" data-label="Technology"><a class="usa-link" href="{drone.get_absolute_url()}">'
        in by_technology
    )
    assert '<br><span class="muted">Drones</span>' in by_technology
