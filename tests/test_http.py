"""The HTTP layer: conditional GET (ETag, Last-Modified, 304), the API's throttle, and CORS."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date, parse_http_date

from ordinances import workflow

pytestmark = pytest.mark.django_db


def later(seconds: int = 60) -> str:
    return http_date(timezone.now().timestamp() + seconds)


@pytest.fixture
def req(make_request):
    return make_request("in_review")


# ---------------------------------------------------------------------------
# Conditional GET
# ---------------------------------------------------------------------------


def test_an_api_list_answers_304_to_its_own_etag(client, req):
    url = reverse("api:request-list")
    first = client.get(url)
    assert first.status_code == 200
    again = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304
    assert again.content == b""


def test_an_api_list_answers_304_to_if_modified_since(client, req):
    url = reverse("api:request-list")
    first = client.get(url)
    assert first.status_code == 200
    again = client.get(url, headers={"If-Modified-Since": first["Last-Modified"]})
    assert again.status_code == 304


def test_an_api_detail_answers_304_to_its_etag_and_to_if_modified_since(client, req):
    url = reverse("api:request-detail", kwargs={"reference": req.reference})
    first = client.get(url)
    assert first.status_code == 200
    assert client.get(url, headers={"If-None-Match": first["ETag"]}).status_code == 304
    assert client.get(url, headers={"If-Modified-Since": first["Last-Modified"]}).status_code == 304


def test_a_detail_page_answers_304_to_its_etag(client, req):
    url = req.get_absolute_url()
    first = client.get(url)
    assert first.status_code == 200
    assert first["ETag"].startswith('W/"')
    assert client.get(url, headers={"If-None-Match": first["ETag"]}).status_code == 304


def test_a_detail_page_answers_304_to_if_modified_since(client, req):
    url = req.get_absolute_url()
    first = client.get(url)
    assert client.get(url, headers={"If-Modified-Since": first["Last-Modified"]}).status_code == 304


def test_a_list_page_answers_304_to_its_etag_and_to_if_modified_since(client, req):
    url = reverse("ordinances:request_list")
    first = client.get(url)
    assert client.get(url, headers={"If-None-Match": first["ETag"]}).status_code == 304
    assert client.get(url, headers={"If-Modified-Since": first["Last-Modified"]}).status_code == 304


def test_last_modified_is_when_the_record_last_changed(client, req):
    response = client.get(req.get_absolute_url())
    assert parse_http_date(response["Last-Modified"]) == int(req.updated_at.timestamp())


def test_a_change_to_the_record_ends_the_304(client, req, staff):
    url = req.get_absolute_url()
    first = client.get(url)
    # Timestamps are to the second: the change comes a second later than the copy.
    stale = http_date(parse_http_date(first["Last-Modified"]) - 1)
    workflow.perform("open_comment_period", req, by=staff)
    assert client.get(url, headers={"If-Modified-Since": stale}).status_code == 200
    assert client.get(url, headers={"If-None-Match": first["ETag"]}).status_code == 200


def test_an_internal_note_does_not_move_last_modified(client, req, staff):
    url = req.get_absolute_url()
    before = client.get(url)["Last-Modified"]
    workflow.add_note(req, by=staff, note="Internal only.", public=False)
    assert client.get(url)["Last-Modified"] == before


def test_a_page_is_never_older_than_today(client, req):
    midnight = timezone.make_aware(datetime.datetime.combine(timezone.localdate(), datetime.time.min))
    response = client.get(reverse("ordinances:home"))
    assert parse_http_date(response["Last-Modified"]) >= int(midnight.timestamp())


def test_a_post_never_gets_304(client, req):
    response = client.post(reverse("api:request-list"), headers={"If-Modified-Since": later()})
    assert response.status_code != 304


def test_the_health_check_is_never_304(client, db):
    response = client.get(reverse("ordinances:healthz"), headers={"If-Modified-Since": later()})
    assert response.status_code == 200
    assert "Last-Modified" not in response


def test_signed_in_users_get_fresh_pages(client, req, liaison_a):
    client.force_login(liaison_a)
    response = client.get(req.get_absolute_url(), headers={"If-Modified-Since": later()})
    assert response.status_code == 200
    assert "Last-Modified" not in response


def test_data_json_answers_304_to_its_etag(client, req):
    first = client.get("/data.json")
    assert client.get("/data.json", headers={"If-None-Match": first["ETag"]}).status_code == 304


# ---------------------------------------------------------------------------
# Throttling
# ---------------------------------------------------------------------------


def test_the_api_answers_429_with_retry_after_past_the_rate(client, settings, req):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "2/min"}}
    url = reverse("api:request-list")
    assert [client.get(url).status_code for _ in range(2)] == [200, 200]
    refused = client.get(url)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60


def test_the_rate_counts_each_client_apart(client, settings, req):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "1/min"}}
    url = reverse("api:request-list")
    assert client.get(url, REMOTE_ADDR="192.0.2.1").status_code == 200
    assert client.get(url, REMOTE_ADDR="192.0.2.2").status_code == 200
    assert client.get(url, REMOTE_ADDR="192.0.2.1").status_code == 429


def test_pages_are_not_throttled(client, settings, req):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "1/min"}}
    assert [client.get(reverse("ordinances:request_list")).status_code for _ in range(3)] == [200] * 3


# ---------------------------------------------------------------------------
# CORS
# ---------------------------------------------------------------------------


def test_any_origin_may_read_the_api(client, req):
    response = client.get(reverse("api:request-list"), headers={"Origin": "https://news.example"})
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response["Access-Control-Expose-Headers"]


def test_any_origin_may_read_data_json(client, db):
    response = client.get("/data.json", headers={"Origin": "https://news.example"})
    assert response["Access-Control-Allow-Origin"] == "*"


def test_a_preflight_to_the_api_is_answered_for_reading_only(client, db):
    response = client.options(
        reverse("api:request-list"),
        headers={
            "Origin": "https://news.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "If-None-Match",
        },
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert "If-None-Match" in response["Access-Control-Allow-Headers"]


def test_a_throttled_answer_is_readable_across_origins(client, settings, req):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "1/min"}}
    url = reverse("api:request-list")
    client.get(url)
    refused = client.get(url, headers={"Origin": "https://news.example"})
    assert refused.status_code == 429
    assert refused["Access-Control-Allow-Origin"] == "*"
    assert "Retry-After" in refused["Access-Control-Expose-Headers"]


def test_html_pages_are_not_opened_to_other_origins(client, req):
    for url in (reverse("ordinances:home"), req.get_absolute_url(), reverse("ordinances:data_dictionary")):
        response = client.get(url, headers={"Origin": "https://news.example"})
        assert "Access-Control-Allow-Origin" not in response, url


def test_a_post_to_the_api_is_not_opened_to_other_origins(client, db):
    response = client.post(reverse("api:request-list"), headers={"Origin": "https://news.example"})
    assert "Access-Control-Allow-Origin" not in response
