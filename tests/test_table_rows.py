"""
The rows of the request tables, the violation table and the home page's tables are written
in Python (`request_rows`, `violation_rows`, `awaiting_rows`, `decided_rows` in
`ordinances.templatetags.portal`): what each row says, escaped, in the reader's language.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from ordinances.templatetags.portal import decided_rows, request_rows

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
