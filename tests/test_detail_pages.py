"""
An agency's and a technology's page (`views.agency_detail`, `views.technology_detail`) cost
the same however long the city's history: a fixed number of queries, and (PostgreSQL) every
query answered through indexes, never by reading a whole table of requests, decisions,
conditions, events or annual reports.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from copy import copy as shallow_copy

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ordinances.models import Agency, AnnualReport, Condition, Decision, Request, Technology

pytestmark = pytest.mark.django_db

# The tables that grow with the years: a page must not read any of them whole.
HISTORY_TABLES = {
    "ordinances_request",
    "ordinances_decision",
    "ordinances_condition",
    "ordinances_event",
    "ordinances_annualreport",
}
COPIES = 24000
AGENCIES = 60


def pages(agency_a, drone) -> list[str]:
    return [agency_a.get_absolute_url(), drone.get_absolute_url()]


def queries_of(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return [query["sql"] for query in captured.captured_queries]


def add_history(make_request, ordinance, agency_a, drone, years: int) -> None:
    """`years` of history for agency A and the drone: decided requests, conditions, annual reports."""
    first = AnnualReport.objects.filter(agency=agency_a).count()
    for n in range(years):
        for status in ("approved_with_conditions", "approved", "denied", "withdrawn"):
            make_request(status)
        AnnualReport.objects.create(
            agency=agency_a,
            technology=drone,
            ordinance=ordinance,
            year=2000 + first + n,
            due_on=datetime.date(2001 + first + n, 3, 15),
            status=AnnualReport.Status.SUBMITTED,
            submitted_at=timezone.now(),
        )


def test_the_pages_run_the_same_queries_for_one_year_of_history_and_eight(
    client, make_request, ordinance, agency_a, drone
):
    add_history(make_request, ordinance, agency_a, drone, 1)
    few = {url: len(queries_of(client, url)) for url in pages(agency_a, drone)}
    add_history(make_request, ordinance, agency_a, drone, 7)
    many = {url: len(queries_of(client, url)) for url in pages(agency_a, drone)}
    assert Condition.objects.count() == 8
    assert many == few


def standing_approvals(make_request, n: int) -> list[Request]:
    """`n` approvals with conditions of agency A for the drone, standing now: one through the workflow, copies."""
    first = make_request("approved_with_conditions")
    copies = []
    for i in range(n - 1):
        copy = shallow_copy(first)
        copy.pk = None
        copy.reference = f"REQ-1998-{Request.objects.count() + i:05d}"
        copies.append(copy)
    Request.objects.bulk_create(copies)
    copy_decisions((first.decision, copy) for copy in copies)
    return [first, *copies]


def copy_decisions(pairs: Iterable[tuple[Decision, Request]]) -> None:
    """A copy of each decision for its request, with a condition where the outcome has them."""
    decisions = []
    for decision, request in pairs:
        decision = shallow_copy(decision)
        decision.pk = None
        decision.request = request
        decisions.append(decision)
    Decision.objects.bulk_create(decisions)
    Condition.objects.bulk_create(
        Condition(decision=decision, text="Report each use.", due_on=datetime.date(2030, 1, 1))
        for decision in decisions
        if decision.outcome == Decision.Outcome.APPROVED_WITH_CONDITIONS
    )


def test_the_pages_run_the_same_queries_for_3_standing_approvals_and_40(
    client, make_request, agency_a, drone
):
    standing_approvals(make_request, 3)
    few = {url: len(queries_of(client, url)) for url in pages(agency_a, drone)}
    standing_approvals(make_request, 37)
    many = {url: len(queries_of(client, url)) for url in pages(agency_a, drone)}

    assert Request.objects.filter(agency=agency_a, status__in=Request.ACTIVE_STATES).count() == 40
    assert many == few


def test_a_board_row_shows_a_few_approvals_and_links_to_the_others(client, make_request, agency_a, drone):
    approvals = standing_approvals(make_request, 5)

    page = client.get(agency_a.get_absolute_url()).content.decode()

    board = page[page.index('id="uses-heading"') : page.index('id="requests-heading"')]
    assert len([a for a in approvals if f">{a.reference}</a>" in board]) == 3
    link = f'<a class="usa-link" href="/requests/?agency={agency_a.slug}&amp;technology={drone.slug}">and 2 more</a>'
    assert link in board
    listed = client.get(f"/requests/?agency={agency_a.slug}&technology={drone.slug}").content.decode()
    assert all(f">{a.reference}</a>" in listed for a in approvals)


def test_a_board_row_with_three_approvals_has_no_link_to_more(client, make_request, agency_a, drone):
    standing_approvals(make_request, 3)

    page = client.get(drone.get_absolute_url()).content.decode()

    assert "more</a>" not in page


def test_standing_conditions_are_looked_up_once_to_show_some_and_count_all(
    client, make_request, agency_a, drone
):
    # Counted apart from those shown, the approvals' decisions and their conditions were looked
    # up twice, each a few hundred index probes for a large agency at 100,000 requests.
    standing_approvals(make_request, 12)
    lookup = ('"decision_id" IN (SELECT', '"decision_id" = ANY(ARRAY(SELECT')

    for url in pages(agency_a, drone):
        page = client.get(url).content.decode()
        found = sum(sql.count(way) for sql in queries_of(client, url) for way in lookup)

        assert "The 10 due soonest of 12 conditions." in page
        assert found == 1, url


# ---------------------------------------------------------------------------
# PostgreSQL: every query through an index
# ---------------------------------------------------------------------------


@pytest.fixture
def long_history(make_request, ordinance, agency_a, drone):
    """
    A few requests through the workflow, then thousands of copies with their decisions and
    conditions, spread over agencies and technologies as a city's are (agency A and the drone
    each hold a sixtieth of them, most long expired), and years of annual reports; analyzed.
    """
    made = [
        make_request(status) for status in ("approved_with_conditions", "approved", "denied", "submitted")
    ]
    decided = {request.pk: request.decision for request in made if hasattr(request, "decision")}
    others = Agency.objects.bulk_create(
        Agency(name=f"Agency {n}", slug=f"agency-{n}", kind=Agency.Kind.OTHER) for n in range(1, AGENCIES)
    )
    agencies = [agency_a, *others]
    technologies = [
        drone,
        *Technology.objects.bulk_create(
            Technology(name=f"Unit {n}", slug=f"unit-{n}", category=drone.category)
            for n in range(1, AGENCIES)
        ),
    ]
    now = timezone.now()
    copies = []
    for n in range(COPIES):
        original = made[n % len(made)]
        copy = shallow_copy(original)
        copy.pk = None
        copy.agency = agencies[n % AGENCIES]
        copy.technology = technologies[n // AGENCIES % AGENCIES]
        if n % 4:
            copy.status = Request.Status.EXPIRED
        copy.reference = f"REQ-1999-{n:05d}"
        copy.created_at = now - datetime.timedelta(hours=n)
        copy.original_pk = original.pk  # type: ignore[attr-defined]
        copies.append(copy)
    Request.objects.bulk_create(copies)
    copy_decisions(
        (decided[copy.original_pk], copy)  # type: ignore[attr-defined]
        for copy in copies
        if copy.original_pk in decided  # type: ignore[attr-defined]
    )
    AnnualReport.objects.bulk_create(
        AnnualReport(
            agency=agency,
            technology=drone,
            ordinance=ordinance,
            year=year,
            due_on=datetime.date(year + 1, 3, 15),
            status=AnnualReport.Status.SUBMITTED,
            submitted_at=now,
        )
        for agency in agencies
        for year in range(2000, 2020)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def scans(sql: str) -> list[tuple[str, str]]:
    """Each scan of a history table in PostgreSQL's plan of `sql`: (table, kind of scan)."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)

    def walk(node: dict) -> list[tuple[str, str]]:
        table = node.get("Relation Name")
        own = [(table, node["Node Type"])] if table in HISTORY_TABLES else []
        return own + [scan for child in node.get("Plans", []) for scan in walk(child)]

    return walk(plan[0]["Plan"])


@pytest.mark.postgresql
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="reads PostgreSQL's query plans")
def test_no_query_of_the_pages_reads_a_whole_history_table(client, long_history, agency_a, drone):
    assert (
        Decision.objects.filter(request__agency=agency_a, request__status__in=Request.ACTIVE_STATES).count()
        > 50
    )
    found = {}
    for url in pages(agency_a, drone):
        for sql in queries_of(client, url):
            seq = [table for table, kind in scans(sql) if kind == "Seq Scan"] if "SELECT" in sql[:8] else []
            if seq:
                found.setdefault(url, []).append((seq, sql))
    assert found == {}
