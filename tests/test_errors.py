"""Errors reach the public as plain pages: never a stack trace, never a 500 for bad input."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_server_error_shows_the_plain_500_page_without_a_stack_trace(client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("ordinances.views.render", broken)
    client.raise_request_exception = False
    response = client.get(reverse("ordinances:home"))
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
    assert b"secret internal detail" not in response.content
    assert b"Traceback" not in response.content


def test_a_post_to_a_public_page_is_refused_with_405(client):
    response = client.post(reverse("ordinances:request_list"))
    assert response.status_code == 405


def test_an_unknown_url_shows_the_portals_404_page(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"We could not find that page" in response.content


@pytest.mark.parametrize(
    "path", ["/requests/REQ-%00-%27%22/", "/agencies/%00/", "/technologies/a%00/", "/ordinances/%00/"]
)
def test_a_url_with_odd_characters_is_a_404_not_an_error(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "q=" + "x" * 5000,
        "q=%00",
        "agency=%00",
        "technology=a%00b",
        "ordinance=%00",
        "page=" + "9" * 40,
        "page=%00",
        "year=-1",
        "status[]=approved",
    ],
)
def test_odd_query_strings_never_cause_a_500(client, query):
    response = client.get(reverse("ordinances:request_list") + "?" + query)
    assert response.status_code in {200, 400}
