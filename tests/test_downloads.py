"""Open data: every list as CSV and JSON, exactly its filtered rows, streamed, with its columns explained."""

from __future__ import annotations

import csv
import datetime
import gc
import io
import json
import tracemalloc

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from model_bakery import baker

from ordinances import downloads
from ordinances.models import Agency, Ordinance, Request, Technology, TechnologyUse

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(make_request, agency_a, agency_b, liaison_b, drone, face_recognition, ordinance):
    baker.make(TechnologyUse, agency=agency_a, technology=drone)
    baker.make(
        Ordinance, file_number="TEST-0002", slug="old-law", status=Ordinance.Status.REPEALED, summary="Old."
    )
    return {
        "in_review": make_request("in_review", title="Drone in review"),
        "hearing": make_request("hearing_scheduled", title="Drone with a hearing"),
        "approved": make_request("approved", title="Approved drone"),
        "denied": make_request("denied", title="Denied drone"),
        "draft": make_request("draft", title="Secret draft plan"),
        "other_agency": make_request("submitted", title="Parks drone", agency=agency_b, liaison=liaison_b),
    }


def url(dataset: str, fmt: str, query: str = "") -> str:
    return reverse("ordinances:download", kwargs={"dataset": dataset, "fmt": fmt}) + (
        f"?{query}" if query else ""
    )


def body(response) -> str:
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def csv_rows(client, dataset: str, query: str = "") -> list[dict[str, str]]:
    response = client.get(url(dataset, "csv", query))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{dataset}.csv"'
    reader = csv.DictReader(io.StringIO(body(response)))
    assert reader.fieldnames == downloads.DATASETS[dataset].column_names
    return list(reader)


def json_rows(client, dataset: str, query: str = "") -> list[dict[str, object]]:
    response = client.get(url(dataset, "json", query))
    assert response["Content-Type"] == "application/json"
    rows = json.loads(body(response))
    assert isinstance(rows, list)
    for row in rows:
        assert list(row) == downloads.DATASETS[dataset].column_names
    return rows


def iso(moment: datetime.datetime | None) -> str | None:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment else None


def day(value: datetime.date | None) -> str | None:
    return value.isoformat() if value else None


# The columns each test checks against the model, written apart from the column spec.
def expected_request(req: Request) -> dict[str, object]:
    decision = getattr(req, "decision", None)
    return {
        "reference": req.reference,
        "kind": req.kind,
        "status": req.status,
        "status_label": str(req.get_status_display()),
        "title": req.title,
        "agency": req.agency.slug,
        "technology": req.technology.slug,
        "ordinance": req.ordinance.file_number,
        "submitted_at": iso(req.submitted_at),
        "comment_period_ends_on": day(req.comment_period_ends_on),
        "hearing_at": iso(req.hearing_at),
        "decision_outcome": decision.outcome if decision else None,
        "decided_on": day(decision.decided_on) if decision else None,
        "votes_yes": decision.votes_yes if decision else None,
        "is_demo": req.is_demo,
        "url": f"http://testserver{req.get_absolute_url()}",
    }


def expected_agency(agency: Agency) -> dict[str, object]:
    return {"name": agency.name, "slug": agency.slug, "kind": agency.kind, "covered": agency.covered}


def expected_technology(technology: Technology) -> dict[str, object]:
    return {"slug": technology.slug, "category": technology.category, "vendors": technology.vendors}


def expected_ordinance(ordinance: Ordinance) -> dict[str, object]:
    return {
        "file_number": ordinance.file_number,
        "status": ordinance.status,
        "adopted_on": day(ordinance.adopted_on),
        "votes_yes": ordinance.votes_yes,
    }


def as_csv(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


CASES = [
    ("requests", "", lambda: Request.objects.public(), expected_request, "reference"),
    ("requests", "status=approved", lambda: Request.objects.filter(status="approved"), expected_request, "reference"),
    ("requests", "agency=agency-b", lambda: Request.objects.public().filter(agency__slug="agency-b"), expected_request, "reference"),
    (
        "requests",
        "status=hearing_scheduled&technology=test-drone",
        lambda: Request.objects.filter(status="hearing_scheduled", technology__slug="test-drone"),
        expected_request,
        "reference",
    ),
    ("agencies", "kind=police", lambda: Agency.objects.filter(kind="police"), expected_agency, "slug"),
    ("agencies", "technology=test-drone", lambda: Agency.objects.filter(uses__technology__slug="test-drone"), expected_agency, "slug"),
    ("technologies", "category=drones", lambda: Technology.objects.filter(category="drones"), expected_technology, "slug"),
    ("technologies", "agency=agency-a", lambda: Technology.objects.filter(uses__agency__slug="agency-a"), expected_technology, "slug"),
    ("ordinances", "", lambda: Ordinance.objects.all(), expected_ordinance, "file_number"),
    ("ordinances", "status=in_effect", lambda: Ordinance.objects.filter(status="in_effect"), expected_ordinance, "file_number"),
]  # fmt: skip


@pytest.mark.parametrize(("dataset", "query", "queryset", "expected", "key"), CASES)
def test_csv_and_json_hold_exactly_the_filtered_rows_with_the_model_values(
    client, records, dataset, query, queryset, expected, key
):
    objects = {getattr(obj, key): obj for obj in queryset()}
    assert objects, "each case must match some rows"
    for rows, convert in (
        (json_rows(client, dataset, query), lambda v: v),
        (csv_rows(client, dataset, query), as_csv),
    ):
        assert sorted(row[key] for row in rows) == sorted(objects)
        for row in rows:
            want = expected(objects[row[key]])
            assert {name: row[name] for name in want} == {
                name: convert(value) for name, value in want.items()
            }


def test_the_downloads_follow_the_order_of_the_list(client, records):
    references = [row["reference"] for row in json_rows(client, "requests")]
    assert references == list(
        Request.objects.public().order_by("-created_at", "-pk").values_list("reference", flat=True)
    )


def test_a_download_never_holds_a_draft(client, records):
    for fmt in downloads.FORMATS:
        text = body(client.get(url("requests", fmt)))
        assert records["draft"].reference not in text
        assert "Secret draft plan" not in text


def test_the_page_number_does_not_limit_a_download(client, records, settings):
    settings.PORTAL_PAGE_SIZE = 2
    assert len(json_rows(client, "requests", "page=2")) == Request.objects.public().count()


@pytest.mark.parametrize(
    ("dataset", "query"),
    [
        ("requests", "status=nope"),
        ("requests", "agency=no-such-agency"),
        ("requests", "year=abc"),
        ("requests", "status=draft"),
        ("agencies", "technology=no-such-technology"),
        ("technologies", "category=toasters"),
        ("ordinances", "year=99999"),
    ],
)
def test_a_bad_filter_answers_400_with_the_errors(client, records, dataset, query):
    response = client.get(url(dataset, "json", query))
    assert response.status_code == 400
    name = query.split("=")[0]
    assert name in response.json()["errors"]
    response = client.get(url(dataset, "csv", query))
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert f"{name}:" in response.content.decode()


def test_an_unknown_dataset_or_format_is_404(client):
    assert client.get("/inventory/download.csv").status_code == 404
    assert client.get("/requests/download.xlsx").status_code == 404


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1"]
)
def test_csv_cells_cannot_run_as_formulas(client, make_request, text):
    req = make_request("submitted", title=text, purpose=text)
    row = next(r for r in csv_rows(client, "requests") if r["reference"] == req.reference)
    assert row["title"] == "'" + text
    assert row["purpose"] == "'" + text
    # JSON is not read by spreadsheets: it keeps the text exactly.
    row = next(r for r in json_rows(client, "requests") if r["reference"] == req.reference)
    assert row["title"] == text


def test_csv_cells_that_merely_contain_a_sign_are_untouched():
    assert downloads.csv_cell("Costs $5-10 = cheap") == "Costs $5-10 = cheap"
    assert downloads.csv_cell(-3) == "-3"
    assert downloads.csv_cell(None) == ""
    assert downloads.csv_cell(False) == "false"


def test_the_data_dictionary_names_every_column_of_every_dataset(client):
    response = client.get(reverse("ordinances:data_dictionary"))
    assert response.status_code == 200
    page = response.content.decode()
    for dataset in downloads.DATASETS.values():
        start = page.index(f'id="dataset-{dataset.slug}"')
        end = page.index("</section>", start)
        section = page[start:end]
        assert url(dataset.slug, "csv") in section
        assert url(dataset.slug, "json") in section
        for column in dataset.columns:
            assert f"<code>{column.name}</code>" in section, (dataset.slug, column.name)
            assert str(column.description).replace("'", "&#x27;") in section, (dataset.slug, column.name)
        for code, _label in next(c for c in dataset.columns if c.choices).choices:
            assert f"<code>{code}</code>" in section


# ---------------------------------------------------------------------------
# Constant memory and queries, however many rows
# ---------------------------------------------------------------------------


def bulk_requests(count: int, start: int, *, ordinance, agency, technology, by) -> None:
    now = timezone.now()
    Request.objects.bulk_create(
        [
            Request(
                reference=f"BLK-2026-{start + i:05d}",
                kind=Request.Kind.APPROVAL,
                status=Request.Status.IN_REVIEW,
                agency=agency,
                technology=technology,
                ordinance=ordinance,
                title=f"Bulk request {start + i}",
                purpose="Find missing people in the river gorge. " * 4,
                justification="Why it is needed. " * 4,
                submitted_at=now,
                created_by=by,
            )
            for i in range(count)
        ],
        batch_size=2000,
    )


def consume(client, address: str) -> tuple[int, int, int]:
    """Download `address`, reading the stream chunk by chunk: (peak bytes allocated, rows, queries)."""
    gc.collect()
    with CaptureQueriesContext(connection) as queries:
        tracemalloc.start()
        response = client.get(address)
        lines = 0
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak, lines, len(queries)


@pytest.mark.parametrize("fmt", downloads.FORMATS)
def test_a_10000_row_download_streams_in_constant_memory_and_queries(
    client, ordinance, agency_a, drone, liaison_a, fmt
):
    address = url("requests", fmt, "status=in_review")
    bulk_requests(1_000, 0, ordinance=ordinance, agency=agency_a, technology=drone, by=liaison_a)
    small_peak, small_lines, small_queries = consume(client, address)
    bulk_requests(9_000, 1_000, ordinance=ordinance, agency=agency_a, technology=drone, by=liaison_a)
    large_peak, large_lines, large_queries = consume(client, address)

    assert small_lines >= 1_000 and large_lines >= 10_000
    assert large_queries == small_queries
    # Ten times the rows, about the same memory: only a chunk of rows is ever held.
    assert large_peak < small_peak * 1.2 + 256 * 1024, (small_peak, large_peak)
