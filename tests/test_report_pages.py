"""
The annual reports list (/annual-reports/) a keyset page at a time (`ordinances.report_pages`):
the same order as ever (latest year, then agency and technology by name), every public
report reachable by the next and previous links, in a number of queries and rows read that
do not grow with the years of reports.
"""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ordinances.models import Agency, AnnualReport, Technology

pytestmark = pytest.mark.django_db

LIST = reverse("ordinances:annual_report_list")
FIRST_YEAR = 2015
# Three agencies, two technologies: six reports a year, on pages of four.
AGENCY_NAMES = ["Cedar Police", "Alder Parks", "Birch Transit"]
TECHNOLOGY_NAMES = ["Plate reader", "Drone"]


@pytest.fixture
def records(db):
    agencies = [
        Agency.objects.create(name=name, slug=name.lower().replace(" ", "-"), kind=Agency.Kind.OTHER)
        for name in AGENCY_NAMES
    ]
    technologies = [
        Technology.objects.create(name=name, slug=name.lower().replace(" ", "-"), category="drones")
        for name in TECHNOLOGY_NAMES
    ]
    return agencies, technologies


@pytest.fixture
def make_reports(records, ordinance):
    agencies, technologies = records

    def make(years: int, *, first: int = FIRST_YEAR, public: bool = True) -> list[AnnualReport]:
        submitted = timezone.now() if public else None
        return AnnualReport.objects.bulk_create(
            AnnualReport(
                agency=agency,
                technology=technology,
                ordinance=ordinance,
                year=year,
                due_on=datetime.date(year + 1, 3, 15),
                status=AnnualReport.Status.SUBMITTED if public else AnnualReport.Status.DRAFT,
                submitted_at=submitted,
            )
            for year in range(first, first + years)
            for agency in agencies
            for technology in technologies
        )

    return make


def listed_order() -> list[int]:
    """The public reports in the list's order, worked out here in Python."""
    reports = AnnualReport.objects.public().select_related("agency", "technology")
    return [r.pk for r in sorted(reports, key=lambda r: (-r.year, r.agency.name, r.technology.name, r.pk))]


def ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="annual-report-(\d+)"', html)]


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]*)"[^>]*rel="{rel}"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_next_links_reach_every_public_report_once_in_order_across_years(client, make_reports, settings):
    settings.PORTAL_PAGE_SIZE = 4
    make_reports(3)
    make_reports(1, first=FIRST_YEAR + 3, public=False)  # the year still being reported on
    seen: list[int] = []
    url: str | None = LIST
    while url is not None:
        html = client.get(LIST + url if url.startswith("?") else url).content.decode()
        seen += ids(html)
        url = link(html, "next")
    assert seen == listed_order()
    assert len(seen) == 18


def test_the_previous_links_walk_back_the_same_pages(client, make_reports, settings):
    settings.PORTAL_PAGE_SIZE = 4
    make_reports(3)
    pages: list[list[int]] = []
    url: str | None = LIST
    while url is not None:
        html = client.get(LIST + url if url.startswith("?") else url).content.decode()
        pages.append(ids(html))
        last, url = html, link(html, "next")
    back: list[list[int]] = [pages[-1]]
    url = link(last, "prev")
    while url is not None:
        html = client.get(LIST + url).content.decode()
        back.append(ids(html))
        url = link(html, "prev")
    assert back[::-1] == pages


def test_a_cursor_naming_no_public_report_shows_the_first_page(client, make_reports, settings):
    settings.PORTAL_PAGE_SIZE = 4
    make_reports(2)
    (draft,) = [r for r in make_reports(1, first=FIRST_YEAR + 2, public=False)][:1]
    first = ids(client.get(LIST).content.decode())
    for cursor in ("nonsense", str(draft.pk), "99999999", "-1"):
        assert ids(client.get(LIST, {"after": cursor}).content.decode()) == first


def test_the_filters_still_apply_to_every_page(client, make_reports, records, settings):
    settings.PORTAL_PAGE_SIZE = 4
    make_reports(3)
    agency = records[0][0]
    html = client.get(LIST, {"agency": agency.slug}).content.decode()
    page = ids(html)
    html = client.get(LIST + link(html, "next")).content.decode()
    page += ids(html)
    expected = [pk for pk in listed_order() if AnnualReport.objects.get(pk=pk).agency_id == agency.pk]
    assert page == expected[:8]
    assert ids(client.get(LIST, {"agency": agency.slug, "year": FIRST_YEAR + 1}).content.decode()) == [
        pk for pk in expected if AnnualReport.objects.get(pk=pk).year == FIRST_YEAR + 1
    ]


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_a_page_runs_the_same_queries_for_one_year_of_reports_and_ten(client, make_reports):
    """Pages of 25 within one year of six reports' worth of agencies: the first spans years either way."""
    make_reports(5, first=2016)
    few = queries_for(client, LIST)
    second = queries_for(client, LIST + "?after=" + str(listed_order()[3]))
    make_reports(5, first=2021)
    assert queries_for(client, LIST) == few
    assert queries_for(client, LIST + "?after=" + str(listed_order()[3])) == second


# --- PostgreSQL: what the database reads -------------------------------------------------


def plan_of(sql: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def report_rows_read(plan: dict) -> int:
    return sum(
        (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"]
        for node in nodes(plan)
        if node.get("Relation Name") == "ordinances_annualreport"
    )


@pytest.fixture
def many_reports(ordinance):
    """40 agencies, 25 technologies, 10 years of reports (10,000), and a year yet to be reported on."""
    agencies = Agency.objects.bulk_create(
        Agency(name=f"Agency {n:02d}", slug=f"agency-{n}", kind=Agency.Kind.OTHER) for n in range(40)
    )
    technologies = Technology.objects.bulk_create(
        Technology(name=f"Technology {n:02d}", slug=f"technology-{n}", category="drones") for n in range(25)
    )
    now = timezone.now()
    AnnualReport.objects.bulk_create(
        AnnualReport(
            agency=agency,
            technology=technology,
            ordinance=ordinance,
            year=year,
            due_on=datetime.date(year + 1, 3, 15),
            status=AnnualReport.Status.SUBMITTED if year < 2026 else AnnualReport.Status.DRAFT,
            submitted_at=now if year < 2026 else None,
        )
        for year in range(2016, 2027)
        for agency in agencies
        for technology in technologies
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


@pytest.mark.parametrize(
    "query",
    ["", "?agency=agency-7", "?technology=technology-3"],
)
@pytest.mark.postgresql
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="reads PostgreSQL's query plans")
def test_no_list_page_scans_or_sorts_the_whole_reports_table(client, many_reports, query, settings):
    deep = AnnualReport.objects.public().order_by("-year", "agency__name", "technology__name", "pk")[5000]
    for url in (LIST + query, LIST + (query + "&" if query else "?") + f"after={deep.pk}"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        selects = [
            q["sql"]
            for q in queries
            if q["sql"].startswith("SELECT") and "ordinances_annualreport" in q["sql"]
        ]
        assert selects
        for sql in selects:
            plan = plan_of(sql)
            for node in nodes(plan):
                assert "external" not in node.get("Sort Method", ""), (url, sql)
                # The count may scan until it stops at its limit; the rows of a page come from an index.
                if "ORDER BY" in sql:
                    assert not (
                        node["Node Type"] == "Seq Scan"
                        and node.get("Relation Name") == "ordinances_annualreport"
                    ), (url, sql)
            # A page, the row past it, and a count that stops at its limit: never the 10,000.
            assert report_rows_read(plan) <= 1001 + 2 * settings.PORTAL_PAGE_SIZE + 1, (url, sql)
