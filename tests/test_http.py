"""The HTTP layer: conditional GET (ETag, Last-Modified, 304), the API's throttle, and CORS."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date, parse_http_date
from model_bakery import baker

from ordinances import atlas, workflow
from ordinances.models import Agency, Source, Technology, TechnologyUse

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


# Agencies, technologies, the inventory and sources: however they are written.


def as_of_yesterday() -> None:
    """Every agency, technology, inventory row and source last changed yesterday."""
    for model in (Agency, Technology, TechnologyUse, Source):
        model.objects.update(updated_at=F("updated_at") - datetime.timedelta(days=1))


def import_atlas(tmp_path: Path, vendor: str) -> None:
    """Run `manage.py import_atlas` on a one-row Atlas slice whose vendor is `vendor`."""
    path = tmp_path / "atlas.csv"
    row = {
        "City": "Minneapolis",
        "State": "MN",
        "Agency": "Minneapolis Police Department",
        "Type of LEA": "Police",
        "Type of Juris": "Municipal",
        "Technology": "Automated License Plate Readers",
        "Vendor": vendor,
    }
    path.write_text(
        ",".join(atlas.ATLAS_COLUMNS)
        + "\n"
        + ",".join(row.get(name, "") for name in atlas.ATLAS_COLUMNS)
        + "\n",
        encoding="utf-8",
    )
    call_command("import_atlas", str(path), "--city", "Minneapolis", stdout=io.StringIO())


def test_an_agency_saved_outside_the_admin_moves_last_modified(client, agency_a):
    url = agency_a.get_absolute_url()
    as_of_yesterday()
    before = parse_http_date(client.get(url)["Last-Modified"])
    agency_a.description = "Edited in a shell."
    agency_a.save()
    after = parse_http_date(client.get(url)["Last-Modified"])
    assert after == int(agency_a.updated_at.timestamp())
    assert after > before


def test_an_agency_saved_outside_the_admin_ends_the_304(client, agency_a):
    url = agency_a.get_absolute_url()
    as_of_yesterday()
    first = client.get(url)
    agency_a.description = "Edited in a shell."
    agency_a.save()
    assert client.get(url, headers={"If-Modified-Since": first["Last-Modified"]}).status_code == 200
    assert client.get(url, headers={"If-None-Match": first["ETag"]}).status_code == 200


def test_an_import_atlas_run_ends_the_304_of_the_technology_list(client, tmp_path):
    url = reverse("ordinances:technology_list")
    import_atlas(tmp_path, vendor="Example Vendor")
    as_of_yesterday()
    first = client.get(url)
    assert client.get(url, headers={"If-Modified-Since": first["Last-Modified"]}).status_code == 304
    import_atlas(tmp_path, vendor="Other Vendor")
    assert client.get(url, headers={"If-Modified-Since": first["Last-Modified"]}).status_code == 200
    assert client.get(url, headers={"If-None-Match": first["ETag"]}).status_code == 200


def test_an_inventory_row_deleted_in_the_admin_ends_the_304(client, agency_a, drone, clerk):
    url = agency_a.get_absolute_url()
    use = baker.make(TechnologyUse, agency=agency_a, technology=drone)
    as_of_yesterday()
    first = client.get(url)
    # What the admin writes when the clerk deletes the row.
    LogEntry.objects.create(
        user=clerk,
        content_type=ContentType.objects.get_for_model(TechnologyUse),
        object_id=str(use.pk),
        object_repr=str(use),
        action_flag=DELETION,
    )
    use.delete()
    assert client.get(url, headers={"If-Modified-Since": first["Last-Modified"]}).status_code == 200


def test_the_moment_of_the_record_costs_a_public_page_one_query(client, settings, agency_a):
    url = agency_a.get_absolute_url()

    def queries(reader: Client) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert reader.get(url).status_code == 200
        return len(captured.captured_queries)

    with_moment = queries(client)
    settings.MIDDLEWARE = [
        name for name in settings.MIDDLEWARE if not name.endswith("PublicLastModifiedMiddleware")
    ]
    assert with_moment - queries(Client()) == 1


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
