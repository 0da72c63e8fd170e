"""
The public REST API (`/api/v1/`): read-only for everyone, never a draft, an internal note, an
e-mail address or a login name; the HTML lists' filters; cursor pages that stay correct while
rows are added; CSV with the downloads' columns; a fixed number of queries however many rows.
"""

from __future__ import annotations

import base64
import csv
import datetime
import io
import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from model_bakery import baker

from ordinances import downloads, ocd, workflow
from ordinances.models import (
    Agency,
    Attachment,
    Category,
    CategoryRule,
    Deadline,
    Ordinance,
    OrdinanceChange,
    ProcessStep,
    Request,
    Source,
    StatutoryException,
    Technology,
    TechnologyUse,
)
from ordinances.serializers import CONDITION_LIST, DecisionSerializer

pytestmark = pytest.mark.django_db

STAFF_LOGIN = "dana.login42"
STAFF_NAME = "Dana Reviewer"
LIAISON_LOGIN = "lee.login77"
EMAILS = ("dana.private@example.org", "lee.private@example.org")
INTERNAL_NOTE = "Internal: the vendor's contract terms worry us."
DRAFT_TITLE = "Secret draft plan"


@pytest.fixture(autouse=True)
def unthrottled(settings):
    """These tests make many calls in a minute: no client here is throttled (tests/test_throttling.py is about that)."""
    framework = dict(settings.REST_FRAMEWORK)
    framework["DEFAULT_THROTTLE_RATES"] = {
        scope: "100000/min" for scope in framework.get("DEFAULT_THROTTLE_RATES", {})
    }
    settings.REST_FRAMEWORK = framework
    cache.clear()


@pytest.fixture
def people(staff, liaison_a):
    """Staff and a liaison with display names, private e-mail addresses and login names to look out for."""
    staff.username, staff.first_name, staff.last_name, staff.email = (
        STAFF_LOGIN,
        "Dana",
        "Reviewer",
        EMAILS[0],
    )
    staff.save()
    liaison_a.username, liaison_a.email = LIAISON_LOGIN, EMAILS[1]
    liaison_a.save()
    return staff, liaison_a


@pytest.fixture
def records(people, make_request, agency_a, agency_b, liaison_b, drone, face_recognition, ordinance, staff):
    baker.make(TechnologyUse, agency=agency_a, technology=drone)
    approved = make_request("approved_with_conditions", title="Approved drone")
    workflow.add_note(approved, by=staff, note=INTERNAL_NOTE, public=False)
    workflow.add_note(approved, by=staff, note="The council thanks the residents who wrote in.", public=True)
    OrdinanceChange.objects.create(
        ordinance=ordinance,
        actor_name=STAFF_NAME,
        actor_role="clerk",
        via="admin",
        changes=[{"path": "rules.drones.rule", "old": "prohibited", "new": "approval_required"}],
    )
    return {
        "approved": approved,
        "in_review": make_request("in_review", title="Drone in review"),
        "hearing": make_request("hearing_scheduled", title="Drone with a hearing"),
        "denied": make_request("denied", title="Denied drone"),
        "draft": make_request("draft", title=DRAFT_TITLE),
        "other_agency": make_request("submitted", title="Parks drone", agency=agency_b, liaison=liaison_b),
    }


def get_json(client, url: str, **extra) -> Any:
    response = client.get(url, **extra)
    assert response.status_code == 200, (url, response.status_code, response.content[:500])
    assert response["Content-Type"] == "application/json"
    return response.json()


def body(response) -> str:
    return b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()


def endpoint_urls(records, ordinance, agency_a, drone) -> list[str]:
    approved = records["approved"].reference
    return [
        "/api/v1/",
        "/api/v1/ordinances/",
        f"/api/v1/ordinances/{ordinance.slug}/",
        f"/api/v1/ordinances/{ordinance.slug}/changes/",
        "/api/v1/agencies/",
        f"/api/v1/agencies/{agency_a.slug}/",
        f"/api/v1/agencies/{agency_a.slug}/board/",
        "/api/v1/technologies/",
        f"/api/v1/technologies/{drone.slug}/",
        f"/api/v1/technologies/{drone.slug}/board/",
        "/api/v1/requests/",
        f"/api/v1/requests/{approved}/",
        f"/api/v1/requests/{approved}/timeline/",
        "/api/v1/decisions/",
        f"/api/v1/decisions/{approved}/",
    ]


LIST_URLS = [
    "/api/v1/ordinances/",
    "/api/v1/agencies/",
    "/api/v1/technologies/",
    "/api/v1/requests/",
    "/api/v1/decisions/",
]


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def test_the_index_links_every_list_the_schema_and_the_docs(client, db):
    index = get_json(client, "/api/v1/")

    assert index == {
        "ordinances": "http://testserver/api/v1/ordinances/",
        "agencies": "http://testserver/api/v1/agencies/",
        "technologies": "http://testserver/api/v1/technologies/",
        "requests": "http://testserver/api/v1/requests/",
        "decisions": "http://testserver/api/v1/decisions/",
        "schema": "http://testserver/api/schema/",
        "docs": "http://testserver/api/docs/",
    }


def test_anyone_can_read_every_endpoint_without_an_account(client, records, ordinance, agency_a, drone):
    for url in endpoint_urls(records, ordinance, agency_a, drone):
        get_json(client, url)


def test_records_link_to_themselves_by_slug_or_reference_never_by_number(client, records):
    request = get_json(client, f"/api/v1/requests/{records['approved'].reference}/")

    assert request["url"] == f"http://testserver/api/v1/requests/{records['approved'].reference}/"
    assert request["html_url"] == f"http://testserver/requests/{records['approved'].reference}/"
    assert request["agency"]["url"] == "http://testserver/api/v1/agencies/agency-a/"
    assert request["ordinance"]["url"] == "http://testserver/api/v1/ordinances/test-ordinance/"
    assert "id" not in request and "pk" not in request


def test_an_ordinance_carries_its_process_in_order_with_the_deciding_body(client, ordinance):
    data = get_json(client, f"/api/v1/ordinances/{ordinance.slug}/")

    assert [step["kind"] for step in data["steps"]] == ["public_comment", "hearing", "vote"]
    assert data["steps"][-1] | {"note": ""} == {
        "kind": "vote",
        "body": "Test City Council",
        "seats": 13,
        "majority": "more_yes_than_no",
        "verified": False,
        "note": "",
    }
    assert {"category": "facial_recognition", "rule": "prohibited", "note": ""} in data["rules"]
    comment = next(row for row in data["deadlines"] if row["kind"] == "comment_period")
    assert (
        comment["amount"] == 30 and comment["unit"] == "days" and comment["counted_from"] == "comment_opening"
    )


def test_a_request_nests_its_decision_with_votes_and_conditions(client, records):
    data = get_json(client, f"/api/v1/requests/{records['approved'].reference}/")

    assert data["status"] == "approved_with_conditions"
    decision = data["decision"]
    assert decision["outcome"] == "approved_with_conditions"
    assert decision["votes"] == {"yes": 9, "no": 3, "abstain": 0, "absent": 0}
    assert decision["conditions"] == [
        {"text": "Publish an annual report", "due_on": "2030-01-01", "status": "open"}
    ]


def test_the_request_list_shows_each_request_s_documents_oldest_first_and_its_decision_s_conditions(
    client, records
):
    approved = records["approved"]
    moment = datetime.datetime(2025, 3, 1, 12, tzinfo=datetime.UTC)
    baker.make(Attachment, request=approved, title="Use policy", url="https://example.org/policy.pdf")
    Attachment.objects.filter(title="Use policy").update(uploaded_at=moment + datetime.timedelta(days=1))
    baker.make(Attachment, request=approved, title="Impact report", url="https://example.org/report.pdf")
    Attachment.objects.filter(title="Impact report").update(uploaded_at=moment)

    rows = {row["reference"]: row for row in get_json(client, "/api/v1/requests/")["results"]}

    assert [doc["title"] for doc in rows[approved.reference]["documents"]] == ["Impact report", "Use policy"]
    assert rows[approved.reference]["decision"]["conditions"] == [
        {"text": "Publish an annual report", "due_on": "2030-01-01", "status": "open"}
    ]
    assert rows[records["in_review"].reference]["documents"] == []
    assert rows[records["in_review"].reference]["decision"] is None


def test_the_decisions_list_shows_each_decision_s_conditions(client, records):
    rows = {row["request"]["reference"]: row for row in get_json(client, "/api/v1/decisions/")["results"]}

    assert rows[records["approved"].reference]["conditions"] == [
        {"text": "Publish an annual report", "due_on": "2030-01-01", "status": "open"}
    ]
    assert rows[records["denied"].reference]["conditions"] == []


def test_a_decision_serialized_without_its_prefetched_conditions_is_refused_not_shown_without_them(records):
    decision = records["approved"].decision  # loaded without Prefetch(..., to_attr=CONDITION_LIST)

    with pytest.raises(ImproperlyConfigured, match=CONDITION_LIST):
        DecisionSerializer(context={"request": None}).to_representation(decision)


def test_the_decisions_list_filters_by_outcome(client, records):
    data = get_json(client, "/api/v1/decisions/?outcome=denied")

    assert [row["request"]["reference"] for row in data["results"]] == [records["denied"].reference]


def test_the_timeline_gives_codes_dates_roles_and_display_names(client, records):
    data = get_json(client, f"/api/v1/requests/{records['approved'].reference}/timeline/")

    events = data["results"]
    assert [e["action"] for e in events[:2]] == ["submit", "begin_review"]
    begin = events[1]
    assert (begin["from_status"], begin["to_status"], begin["actor_role"]) == (
        "submitted",
        "in_review",
        "staff",
    )
    assert begin["actor_name"] == STAFF_NAME
    assert begin["created_at"].endswith("Z")
    decision = next(e for e in events if e["action"] == "approve_with_conditions")
    assert decision["data"]["votes"] == {"yes": 9, "no": 3, "abstain": 0, "absent": 0}


def test_the_timeline_leaves_out_internal_notes(client, records):
    data = get_json(client, f"/api/v1/requests/{records['approved'].reference}/timeline/")

    notes = [e["note"] for e in data["results"] if e["action"] == "note"]
    assert notes == ["The council thanks the residents who wrote in."]


def test_an_agency_board_gives_the_derived_status_as_a_code_with_its_dates(client, records, agency_a, drone):
    rows = get_json(client, f"/api/v1/agencies/{agency_a.slug}/board/")

    row = next(r for r in rows if r["technology"]["slug"] == drone.slug)
    decision = records["approved"].decision
    assert row["status"] == "approved_with_conditions"
    assert row["rule"] == "approval_required"
    assert row["ordinance"]["slug"] == "test-ordinance"
    assert row["in_inventory"] is True
    assert row["until"] == decision.expires_on.isoformat()
    assert [a["reference"] for a in row["approvals"]] == [records["approved"].reference]
    assert {p["reference"] for p in row["pending"]} == {
        records["in_review"].reference,
        records["hearing"].reference,
    }


def test_a_technology_board_lists_each_agency_the_prohibition_reaches(client, records, face_recognition):
    rows = get_json(client, f"/api/v1/technologies/{face_recognition.slug}/board/")

    assert {(r["agency"]["slug"], r["status"]) for r in rows} == {
        ("agency-a", "prohibited"),
        ("agency-b", "prohibited"),
    }


def test_an_ordinance_change_history_lists_each_changed_value(client, records, ordinance):
    data = get_json(client, f"/api/v1/ordinances/{ordinance.slug}/changes/")

    assert data["results"][0]["changes"] == [
        {"path": "rules.drones.rule", "old": "prohibited", "new": "approval_required"}
    ]
    assert data["results"][0]["actor_name"] == STAFF_NAME


def test_ordinances_and_votes_carry_their_open_civic_data_ids(client, records, ordinance):
    law = get_json(client, f"/api/v1/ordinances/{ordinance.slug}/")
    decision = get_json(client, f"/api/v1/decisions/{records['approved'].reference}/")

    assert law["ocd_id"] == ocd.bill_id(ordinance)
    assert decision["ocd_id"] == ocd.vote_id(records["approved"].decision)
    assert decision["ocd_id"].startswith("ocd-vote/")


# ---------------------------------------------------------------------------
# What the public may not see
# ---------------------------------------------------------------------------


def strings_in(value: Any) -> Iterator[str]:
    """Every key and every value of a JSON document, as text, however deep."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)
    elif value is not None:
        yield str(value)


def every_page(client, url: str) -> Iterator[Any]:
    """A response and, for a paginated list, every following page."""
    while url:
        data = get_json(client, url)
        yield data
        url = data.get("next") if isinstance(data, dict) else None


def test_no_response_reveals_a_draft_an_internal_note_an_email_or_a_login(
    client, records, ordinance, agency_a, agency_b, drone
):
    forbidden = (records["draft"].reference, DRAFT_TITLE, INTERNAL_NOTE, *EMAILS, STAFF_LOGIN, LIAISON_LOGIN)
    urls = [
        *endpoint_urls(records, ordinance, agency_a, drone),
        f"/api/v1/agencies/{agency_b.slug}/board/",
        f"/api/v1/requests/?page_size=1&agency={agency_a.slug}",
    ]
    found = [
        text
        for url in urls
        for page in every_page(client, url)
        for text in strings_in(page)
        if any(word in text for word in forbidden)
    ]
    csv_urls = [url for url in urls if url.endswith(("s/", "/board/", "/timeline/", "/changes/"))]
    found += [
        word for url in csv_urls for word in forbidden if word in body(client.get(url, {"format": "csv"}))
    ]

    assert found == []


def test_a_draft_is_not_found_even_by_its_reference(client, records):
    draft = records["draft"].reference

    for url in (f"/api/v1/requests/{draft}/", f"/api/v1/requests/{draft}/timeline/"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


def test_a_signed_in_liaison_sees_no_more_than_the_public(client, records, people):
    client.force_login(people[1])

    assert client.get(f"/api/v1/requests/{records['draft'].reference}/").status_code == 404
    listed = get_json(client, "/api/v1/requests/?page_size=100")["results"]
    assert records["draft"].reference not in [row["reference"] for row in listed]


# ---------------------------------------------------------------------------
# Read-only
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("who", ["anonymous", "staff", "liaison"])
def test_writes_are_refused_for_everyone(client, records, people, method, who):
    if who != "anonymous":
        client.force_login(people[0] if who == "staff" else people[1])
    client.cookies.pop("csrftoken", None)
    urls = ["/api/v1/requests/", f"/api/v1/requests/{records['approved'].reference}/", "/api/v1/agencies/"]

    for url in urls:
        response = getattr(client, method)(url, data="{}", content_type="application/json")
        assert response.status_code == 405, (url, response.status_code)
    assert Request.objects.count() == len(records)


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/ordinances/?status=bogus", "status"),
        ("/api/v1/agencies/?kind=bogus", "kind"),
        ("/api/v1/technologies/?category=bogus", "category"),
        ("/api/v1/requests/?year=12", "year"),
        ("/api/v1/requests/?agency=no-such-agency", "agency"),
        ("/api/v1/decisions/?outcome=bogus", "outcome"),
    ],
)
def test_a_bad_filter_value_answers_400_naming_the_field(client, db, url, field):
    response = client.get(url)

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert isinstance(response.json()[field][0], str)


def test_an_ordering_on_an_unindexed_field_answers_400(client, db):
    response = client.get("/api/v1/requests/?ordering=title")

    assert response.status_code == 400
    assert response.json() == {"ordering": ["Order by one of: reference, -reference."]}


def test_a_null_character_in_a_filter_answers_400_not_a_server_error(client, records):
    response = client.get("/api/v1/requests/", {"agency": "agency-a\x00"})

    assert response.status_code == 400
    assert list(response.json()) == ["agency"]


def test_an_unknown_reference_answers_404_in_json(client, db):
    response = client.get("/api/v1/requests/REQ-1999-9999/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_an_address_no_endpoint_has_answers_404_in_json(client, db):
    response = client.get("/api/v1/no-such-list/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_cursor_the_api_did_not_give_answers_404(client, records):
    made_up = base64.b64encode(b"p=not-a-moment").decode()
    url = f"/api/v1/requests/{records['approved'].reference}/timeline/?cursor={made_up}"

    for address in ("/api/v1/requests/?cursor=garbage", url):
        response = client.get(address)
        assert response.status_code == 404
        assert response.json() == {"detail": "Invalid cursor"}


def test_an_error_is_json_even_when_csv_was_asked_for(client, db):
    response = client.get("/api/v1/requests/?format=csv&status=bogus")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "status" in response.json()


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dataset", "query"),
    [
        ("ordinances", "status=in_effect"),
        ("agencies", "kind=police"),
        ("technologies", "category=drones"),
        ("requests", "status=approved_with_conditions"),
        ("requests", "agency=agency-a&year=2026"),
    ],
)
def test_the_csv_of_a_list_is_the_html_download_for_the_same_filters(client, records, dataset, query):
    download = client.get(
        reverse("ordinances:download", kwargs={"dataset": dataset, "fmt": "csv"}) + f"?{query}"
    )
    api = client.get(f"/api/v1/{dataset}/?format=csv&{query}")

    assert api.status_code == 200
    assert api.streaming
    assert api["Content-Type"] == "text/csv; charset=utf-8"
    text = body(api)
    assert next(csv.reader(io.StringIO(text))) == downloads.DATASETS[dataset].column_names
    assert text == body(download)


def test_csv_is_also_given_for_an_accept_header(client, records):
    response = client.get("/api/v1/agencies/", HTTP_ACCEPT="text/csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert next(csv.reader(io.StringIO(body(response)))) == downloads.AGENCIES.column_names


def test_the_csv_of_a_timeline_has_a_column_per_field_and_the_facts_as_json(client, records):
    response = client.get(f"/api/v1/requests/{records['approved'].reference}/timeline/?format=csv")

    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert list(rows[0]) == [
        "action",
        "action_label",
        "from_status",
        "to_status",
        "created_at",
        "actor_role",
        "actor_name",
        "data",
        "note",
    ]
    decision = next(row for row in rows if row["action"] == "approve_with_conditions")
    assert json.loads(decision["data"])["votes"] == {"abstain": 0, "absent": 0, "no": 3, "yes": 9}


def test_the_csv_of_decisions_flattens_the_request_reference(client, records):
    response = client.get("/api/v1/decisions/?format=csv&outcome=denied")

    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert [row["request_reference"] for row in rows] == [records["denied"].reference]
    assert rows[0]["votes_yes"] == "2"


def test_the_links_in_a_csv_lead_to_csv_as_drf_gives_them(client, records):
    response = client.get("/api/v1/decisions/?format=csv&outcome=denied")

    (row,) = csv.DictReader(io.StringIO(body(response)))
    reference = records["denied"].reference
    assert row["url"] == f"http://testserver/api/v1/decisions/{reference}/?format=csv"
    assert row["request_url"] == f"http://testserver/api/v1/requests/{reference}/?format=csv"


# ---------------------------------------------------------------------------
# Pagination
# ---------------------------------------------------------------------------


def test_request_pages_stay_correct_while_requests_are_added(client, records, make_request):
    existing = set(Request.objects.public().values_list("reference", flat=True))
    seen: list[str] = []
    url: str | None = "/api/v1/requests/?page_size=2"
    added = itertools.count()
    while url:
        data = get_json(client, url)
        seen += [row["reference"] for row in data["results"]]
        make_request("submitted", title=f"Added between pages {next(added)}")
        url = data["next"]

    assert len(seen) == len(set(seen))
    assert existing <= set(seen)


def test_timeline_pages_stay_correct_while_events_are_added(client, records, staff):
    request = records["approved"]
    existing = get_json(client, f"/api/v1/requests/{request.reference}/timeline/?page_size=100")["results"]
    seen: list[dict] = []
    url: str | None = f"/api/v1/requests/{request.reference}/timeline/?page_size=3"
    added = itertools.count()
    while url:
        data = get_json(client, url)
        seen += data["results"]
        workflow.add_note(request, by=staff, note=f"Added between pages {next(added)}", public=True)
        url = data["next"]

    assert seen[: len(existing)] == existing
    assert len({json.dumps(e, sort_keys=True) for e in seen}) == len(seen)


def test_a_page_holds_at_most_100_rows_whatever_is_asked(client, records, staff):
    request = records["approved"]
    for i in range(105):
        workflow.add_note(request, by=staff, note=f"note {i}", public=True)

    data = get_json(client, f"/api/v1/requests/{request.reference}/timeline/?page_size=1000")

    assert len(data["results"]) == 100
    assert data["next"] is not None


# ---------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------


@pytest.fixture
def grow(people, ordinance, agency_a, drone, make_request, staff):
    """Add `n` rows to every list the API has, through the real workflow where there is one."""
    added = itertools.count()
    timeline = make_request("in_review", title="A long timeline")

    def add(n: int) -> None:
        for _ in range(n):
            i = next(added)
            law = baker.make(
                Ordinance,
                slug=f"ord-{i}",
                file_number=f"F-{i}",
                status=Ordinance.Status.IN_EFFECT,
                summary=".",
            )
            CategoryRule.objects.create(
                ordinance=law, category=Category.GUNSHOT_DETECTION, rule="approval_required"
            )
            ProcessStep.objects.create(ordinance=law, kind=ProcessStep.Kind.HEARING)
            Deadline.objects.create(
                ordinance=law, kind="comment_period", amount=30, counted_from="comment_opening"
            )
            StatutoryException.objects.create(ordinance=law, slug=f"exception-{i}", title=f"Exception {i}")
            law.sources.add(baker.make(Source, url=f"https://example.org/source-{i}"))
            agency = baker.make(Agency, slug=f"agency-{i}", name=f"Agency {i}")
            technology = baker.make(Technology, slug=f"tech-{i}", name=f"Tech {i}", category=Category.DRONES)
            baker.make(TechnologyUse, agency=agency_a, technology=technology)
            baker.make(TechnologyUse, agency=agency, technology=drone)
            make_request("approved_with_conditions", title=f"Request {i}")
            workflow.add_note(timeline, by=staff, note=f"Public note {i}", public=True)
            OrdinanceChange.objects.create(ordinance=ordinance, via="admin", changes=[{"path": f"p{i}"}])

    return add


def query_urls(ordinance, agency_a, drone) -> list[str]:
    timeline = Request.objects.get(title="A long timeline").reference
    return [
        *(f"{url}?page_size=100" for url in LIST_URLS),
        "/api/v1/requests/?page_size=100&status=approved_with_conditions&agency=agency-a",
        f"/api/v1/requests/{timeline}/timeline/?page_size=100",
        f"/api/v1/ordinances/{ordinance.slug}/changes/?page_size=100",
        f"/api/v1/agencies/{agency_a.slug}/board/",
        f"/api/v1/technologies/{drone.slug}/board/",
        f"/api/v1/ordinances/{ordinance.slug}/",
        f"/api/v1/requests/{timeline}/",
    ]


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        body(response)
    assert response.status_code == 200, url
    return len(captured.captured_queries)


def test_every_endpoint_runs_the_same_queries_for_5_and_200_rows(client, grow, ordinance, agency_a, drone):
    grow(5)
    small = {url: queries_for(client, url) for url in query_urls(ordinance, agency_a, drone)}
    grow(195)
    large = {url: queries_for(client, url) for url in query_urls(ordinance, agency_a, drone)}

    assert large == small


def test_csv_of_every_list_runs_the_same_queries_for_5_and_200_rows(client, grow, ordinance, agency_a, drone):
    urls = [f"{url}?format=csv" for url in LIST_URLS]
    grow(5)
    small = {url: queries_for(client, url) for url in urls}
    grow(195)

    assert {url: queries_for(client, url) for url in urls} == small


# ---------------------------------------------------------------------------
# The schema and the docs
# ---------------------------------------------------------------------------


def test_the_schema_validates_without_a_warning(tmp_path: Path):
    out = tmp_path / "schema.yaml"

    call_command("spectacular", validate=True, fail_on_warn=True, file=str(out))

    assert out.read_text().startswith("openapi: 3.1.0")


def test_every_operation_documents_its_errors(client, db):
    schema = get_json(client, "/api/schema/", HTTP_ACCEPT="application/json")

    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert len(operations) == 15
    for operation in operations:
        assert {"200", "304", "400", "404", "406", "429"} <= set(operation["responses"]), operation[
            "operationId"
        ]


def test_the_docs_serve_swagger_ui_from_the_portal_own_static_files(client, db):
    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/" in page
    # An address on a CDN, not the letters: a random nonce in the page may hold "cdn".
    assert not re.search(r"//[^\s\"']*cdn", page.lower())


def test_the_retired_redoc_address_leads_to_the_docs(client, db):
    response = client.get("/api/redoc/")
    assert (response.status_code, response["Location"]) == (302, "/api/docs/")


def test_the_api_speaks_the_same_filters_as_the_html_list(client, records):
    html = client.get("/requests/?status=in_review")
    api = get_json(client, "/api/v1/requests/?status=in_review")

    assert [row["reference"] for row in api["results"]] == [records["in_review"].reference]
    assert records["in_review"].reference in html.content.decode()


def test_moments_are_given_in_utc(client, records):
    data = get_json(client, f"/api/v1/requests/{records['hearing'].reference}/")

    hearing = records["hearing"].hearing_at.astimezone(datetime.UTC)
    assert data["hearing_at"] == hearing.isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------------
# The fast representations give what DRF's own would
# ---------------------------------------------------------------------------


@pytest.fixture
def drf_as_shipped(monkeypatch):
    """
    DRF's generic `to_representation`, a `reverse()` for every link and Django's own lookup
    for every label, in place of `FastRepresentation`, `record_url` and `choice_label`.
    """
    from django.urls import reverse
    from rest_framework import serializers as drf

    from ordinances import models, serializers

    def every_link_reversed(name: str, key: str, sample: str) -> str:
        return reverse(name, args=[key])

    def every_label_looked_up(choices: Any, value: object) -> str:
        return str(dict(choices.choices).get(value, value))

    monkeypatch.setattr(serializers.FastRepresentation, "to_representation", drf.Serializer.to_representation)
    monkeypatch.setattr(serializers, "record_url", every_link_reversed)
    monkeypatch.setattr(models, "record_url", every_link_reversed)
    monkeypatch.setattr(models, "choice_label", every_label_looked_up)


def test_every_endpoint_answers_what_drf_serializers_gave_row_by_row(
    client, records, ordinance, agency_a, drone, request
):
    urls = endpoint_urls(records, ordinance, agency_a, drone)
    fast = {url: get_json(client, url) for url in urls}

    request.getfixturevalue("drf_as_shipped")
    slow = {url: get_json(client, url) for url in urls}

    assert fast == slow
    assert all(fast[url] for url in urls)


def test_a_list_response_copies_no_serializer_fields(client, records, monkeypatch):
    """Each serializer class's fields are worked out once; copying them cost more than the page's rows."""
    from ordinances import serializers

    get_json(client, "/api/v1/requests/")
    copied = []
    original = serializers.ModelSerializer.get_fields

    def counted(self):
        copied.append(type(self).__name__)
        return original(self)

    monkeypatch.setattr(serializers.ModelSerializer, "get_fields", counted)
    get_json(client, "/api/v1/requests/")

    assert copied == []


def test_links_made_from_a_template_follow_each_responses_host_and_format(client, records):
    reference = records["approved"].reference

    plain = get_json(client, "/api/v1/requests/")["results"]
    other = get_json(client, "/api/v1/requests/?format=json", HTTP_HOST="localhost")["results"]
    again = get_json(client, "/api/v1/requests/")["results"]

    row = next(row for row in other if row["reference"] == reference)
    assert row["url"] == f"http://localhost/api/v1/requests/{reference}/?format=json"
    assert row["html_url"] == f"http://localhost/requests/{reference}/"
    assert row["agency"]["url"].startswith("http://localhost/api/v1/agencies/")
    assert row["agency"]["url"].endswith("/?format=json")
    assert again == plain
    assert next(row for row in plain if row["reference"] == reference)["url"] == (
        f"http://testserver/api/v1/requests/{reference}/"
    )


def test_the_request_list_joins_no_record_its_rows_name(client, records):
    """PostgreSQL spent longer planning a join of the seven tables a row names than running the page."""
    with CaptureQueriesContext(connection) as captured:
        get_json(client, "/api/v1/requests/")

    pages = [q["sql"] for q in captured if q["sql"].startswith('SELECT "ordinances_request"."id"')]
    assert pages
    assert pages[0].count(" JOIN ") <= 1  # the decision, one row to one request
