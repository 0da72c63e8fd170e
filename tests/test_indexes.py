"""
No list reads more of the requests table than the page it shows (PostgreSQL).

Each case fetches a real page, feed or API list over a table of 6,000 requests (analyzed)
and captures the SQL it runs, then has PostgreSQL run each query under `EXPLAIN ANALYZE`
and counts the rows every scan of `ordinances_request` read, kept or filtered out. A list
served by its index reads its page (and a count that stops at `pagination.COUNT_LIMIT`);
one that is not reads the whole table, so its cost would grow with the city's history.

Left out, each because it reads by design as many rows as it is about: the free-text `q`
filter (a substring match over titles and purposes cannot use a b-tree; the site search,
`/search/`, has GIN indexes for words) and the downloads (every matching row). The request
counts of `/ordinances/` and `/agencies/` read no request at all (`PublicRequestCount`).

With prepared statements (DATABASE_PREPARED_STATEMENTS, on by default) PostgreSQL may keep one generic
plan for a query, whatever its parameters: the lists are checked under that plan too, and the
pages about one record and the search are checked to read about as many requests under it as
under a plan made for their values.
"""

from __future__ import annotations

import datetime
import json
import re
from copy import copy as shallow_copy

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ordinances import freshness, pagination
from ordinances.models import Agency, Category, OrdinanceChange, Request, Technology, TechnologyUse

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgresql,
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="reads PostgreSQL's query plans"),
]

YEAR = timezone.now().year
COPIES = 6000
# A page, and a count that stops at its limit, with room for the rows a filter skips.
READ_LIMIT = 2 * (pagination.COUNT_LIMIT + 1)
AGENCIES = 30
FILTERS = [
    "",
    "status=approved",
    "kind=approval",
    "agency=agency-a",
    "technology=test-drone",
    "category=drones",
    "ordinance=test-ordinance",
    f"year={YEAR}",
    f"status=approved&agency=agency-a&year={YEAR}",
]
PAGES = [
    *(f"/requests/?{query}" for query in FILTERS),
    *(f"/api/v1/requests/?{query}" for query in FILTERS),
    *(f"/requests/feed/?{query}" for query in FILTERS),
    "/api/v1/decisions/?outcome=approved",
    f"/api/v1/decisions/?agency=agency-a&year={YEAR}",
    "/decisions/feed/",
    "/",
]


@pytest.fixture
def requests(make_request, agency_b, liaison_b):
    """A few requests through the workflow, then enough copies that a scan would cost."""
    made = [make_request(status) for status in ("approved", "denied", "submitted", "in_review", "draft")]
    made.append(make_request("submitted", agency=agency_b, liaison=liaison_b))
    now = timezone.now()
    # Spread over agencies as a city's requests are: no agency holds most of them.
    agencies = Agency.objects.bulk_create(
        Agency(name=f"Agency {n}", slug=f"agency-{n}", kind=Agency.Kind.OTHER) for n in range(AGENCIES)
    )
    copies = []
    for n in range(COPIES):
        copy = shallow_copy(made[n % len(made)])
        copy.pk = None
        copy.agency = agencies[n % AGENCIES]
        # As in a city's history, most requests are long decided and expired.
        if n % 4:
            copy.status = Request.Status.EXPIRED
        copy.reference = f"REQ-1999-{n:05d}"
        copy.created_at = now - datetime.timedelta(hours=n)
        copy.submitted_at = copy.created_at
        copies.append(copy)
    Request.objects.bulk_create(copies)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return made


def rows_read(sql: str) -> int:
    """Rows PostgreSQL read from `ordinances_request` to answer `sql`, kept or filtered out."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        return requests_read_in(cursor.fetchone()[0])


def requests_read_in(plan: str | list) -> int:
    """Rows an executed plan (EXPLAIN ANALYZE, FORMAT JSON) read from `ordinances_request`."""
    if isinstance(plan, str):
        plan = json.loads(plan)

    def walk(node: dict) -> int:
        read = 0
        if node.get("Relation Name") == "ordinances_request":
            kept = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
            read += kept * node["Actual Loops"]
        return read + sum(walk(child) for child in node.get("Plans", []))

    return walk(plan[0]["Plan"])


def test_the_check_sees_a_list_that_reads_the_whole_table(client, requests):
    with CaptureQueriesContext(connection) as queries:
        client.get("/requests/", {"q": "drone"})
    selects = [q["sql"] for q in queries if "ordinances_request" in q["sql"] and "LIKE" in q["sql"]]
    assert max(rows_read(sql) for sql in selects) >= COPIES


def test_no_list_reads_more_than_its_page_and_its_count(client, requests):
    found = {}
    for url in PAGES:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
            if response.streaming:
                b"".join(response.streaming_content)
        assert response.status_code == 200, url
        # A download streams through a server-side cursor: DECLARE ... FOR SELECT ...
        selects = [
            q["sql"][q["sql"].index("SELECT") :] if q["sql"].startswith("DECLARE") else q["sql"]
            for q in queries
            if q["sql"].startswith(("SELECT", "(SELECT", "DECLARE")) and "ordinances_request" in q["sql"]
        ]
        assert selects, f"{url} read no requests"
        for sql in selects:
            if (read := rows_read(sql)) > READ_LIMIT:
                found[url] = (read, sql)
    assert found == {}


class RawQueries(list):
    """The SQL of every query run inside it, with its parameters still apart, as a driver sends them."""

    def __call__(self, execute, sql, params, many, context):
        self.append((sql, params))
        return execute(sql, params, many, context)


def prepared_rows_read(sql: str, params, plan: str = "generic") -> int:
    """
    `rows_read` for `sql` prepared as psycopg prepares it (DATABASE_PREPARED_STATEMENTS) and
    run under the plan PostgreSQL may choose for it: "generic", the one plan it may keep
    whatever the parameters, which can use no partial index whose condition a parameter
    decides and no expression index whose constants are parameters; or "custom", a plan made
    for these values, as when the SQL carries them.
    """
    from psycopg import sql as psycopg_sql

    numbers = iter(range(1, len(params or ()) + 1))
    text = re.sub(r"%%|%s", lambda m: "%" if m.group() == "%%" else f"${next(numbers)}", sql)
    with connection.cursor() as cursor:
        raw = cursor.connection
        literals = ", ".join(psycopg_sql.Literal(p).as_string(raw) for p in params or ())
        cursor.execute("PREPARE plan_check AS " + text)
        try:
            cursor.execute(f"SET plan_cache_mode = force_{plan}_plan")
            execute = "EXECUTE plan_check" + (f"({literals})" if literals else "")
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + execute)
            executed = cursor.fetchone()[0]
        finally:
            cursor.execute("RESET plan_cache_mode")
            cursor.execute("DEALLOCATE plan_check")
    return requests_read_in(executed)


def request_queries(client, url: str) -> list[tuple[str, list]]:
    """The SQL and parameters of every query of `url` that reads the requests table."""
    raw = RawQueries()
    with connection.execute_wrapper(raw):
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200, url
    selects = [(sql, params) for sql, params in raw if sql.startswith(("SELECT", "(SELECT"))]
    return [(sql, params) for sql, params in selects if "ordinances_request" in sql]


def test_no_list_reads_more_than_its_page_and_its_count_under_a_generic_plan(client, requests):
    """The public lists' status conditions are written into the SQL, as their partial indexes' are."""
    found = {}
    for url in [*PAGES, "/requests/?status=expired", "/api/v1/requests/?status=expired"]:
        selects = request_queries(client, url)
        assert selects, f"{url} read no requests"
        for sql, params in selects:
            if (read := prepared_rows_read(sql, params)) > READ_LIMIT:
                found[url] = read
    assert found == {}


# Pages about one record, which read as many of its requests as their sections need.
DETAIL_PAGES = [
    "/agencies/agency-a/",
    "/agencies/agency-7/",
    "/technologies/test-drone/",
    "/ordinances/test-ordinance/",
    "/search/?q=drone",
    "/search/?q=00042",
    "/agencies/agency-a/feed/",
    "/technologies/test-drone/feed/",
]


def test_a_generic_plan_reads_no_more_requests_than_a_plan_made_for_the_values(client, requests):
    """
    With prepared statements, every query of the pages about one record and of the site search
    reads about as many requests under the plan PostgreSQL may keep as under one made for its values.
    """
    found = {}
    for url in [*DETAIL_PAGES, f"/requests/{requests[0].reference}/"]:
        selects = request_queries(client, url)
        assert selects, f"{url} read no requests"
        for sql, params in selects:
            custom = prepared_rows_read(sql, params, "custom")
            if (generic := prepared_rows_read(sql, params)) > 2 * custom + pagination.COUNT_LIMIT:
                found[url] = (custom, generic)
    assert found == {}


def test_a_deep_keyset_page_reads_only_its_own_rows(client, requests, settings):
    middle = Request.objects.public().order_by("-created_at", "-id")[COPIES // 2]
    with CaptureQueriesContext(connection) as queries:
        client.get("/requests/", {"after": pagination.cursor_of(middle)})
    page_rows = [q["sql"] for q in queries if '"ordinances_request"."created_at" <=' in q["sql"]]
    assert len(page_rows) == 1
    # The page, the row that tells whether there is a next one, and the cursor's own row.
    assert rows_read(page_rows[0]) <= settings.PORTAL_PAGE_SIZE + 2


def scans_of_requests(sql: str) -> list[str]:
    """The kind of every scan of `ordinances_request` in the plan of `sql` (e.g. "Seq Scan")."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)

    def walk(node: dict) -> list[str]:
        own = [node["Node Type"]] if node.get("Relation Name") == "ordinances_request" else []
        return own + [kind for child in node.get("Plans", []) for kind in walk(child)]

    return walk(plan[0]["Plan"])


API_LISTS = [
    *(f"/api/v1/requests/?{query}" for query in FILTERS),
    "/api/v1/requests/?ordering=reference",
    f"/api/v1/requests/?status=expired&agency=agency-7&year={YEAR}",
    "/api/v1/decisions/",
    *(
        f"/api/v1/decisions/?{query}"
        for query in ("outcome=approved", "agency=agency-a", "technology=test-drone", "category=drones")
    ),
    f"/api/v1/decisions/?agency=agency-a&year={YEAR}",
    "/api/v1/agencies/?technology=test-drone",
    "/api/v1/technologies/?agency=agency-a",
]


def test_no_api_list_or_filter_scans_the_requests_table(client, requests):
    scans = {}
    for url in API_LISTS:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200, url
        for q in queries:
            if q["sql"].startswith(("SELECT", "(SELECT")) and "ordinances_request" in q["sql"]:
                scans.setdefault(url, []).extend(scans_of_requests(q["sql"]))
    assert set(scans) >= {url for url in API_LISTS if "/requests/" in url or "/decisions/" in url}
    assert {url: kinds for url, kinds in scans.items() if "Seq Scan" in kinds} == {}


def test_an_api_page_of_one_agency_reads_only_its_rows(client, requests):
    """The API lists requests by reference: an agency's come from an index in that order."""
    from ordinances.api import PAGE_SIZE

    with CaptureQueriesContext(connection) as queries:
        client.get("/api/v1/requests/?agency=agency-7")
    pages = [q["sql"] for q in queries if q["sql"].startswith('SELECT "ordinances_request"."id"')]

    # The page, the row that says a next one exists, and the few drafts the index holds.
    assert rows_read(pages[0]) <= 2 * PAGE_SIZE


# A city's history as it ages: a request every 8 hours, the oldest two thirds long expired
# and spread over many agencies and technologies, agency A's and the test drone's among
# them; the newest third pending, all of agency B with another technology. A list that reads
# newest first and filters as it goes reads the newer history before it finds the older.
HISTORY = 4000
OLD_YEAR = YEAR - 2


@pytest.fixture
def aged_history(make_request, agency_a, drone, agency_b, liaison_b):
    made = make_request("approved")
    others = Agency.objects.bulk_create(
        Agency(name=f"Agency {n}", slug=f"agency-{n}", kind=Agency.Kind.OTHER) for n in range(9)
    )
    drones = Technology.objects.bulk_create(
        Technology(name=f"Drone {n}", slug=f"drone-{n}", category=Category.DRONES) for n in range(10)
    )
    agencies, technologies = [agency_a, *others], [drone, *drones[:9]]
    newer = make_request("submitted", agency=agency_b, liaison=liaison_b, technology=drones[9])
    now = timezone.now()
    copies = []
    for n in range(HISTORY):
        old = n >= HISTORY // 3
        copy = shallow_copy(made if old else newer)
        copy.pk = None
        if old:
            copy.status = Request.Status.EXPIRED
            copy.agency = agencies[n % len(agencies)]
            copy.technology = technologies[n % len(technologies)]
        copy.created_at = now - datetime.timedelta(hours=8 * n)
        copy.submitted_at = copy.created_at + datetime.timedelta(hours=1)
        copy.reference = f"REQ-{timezone.localdate(copy.created_at).year}-{n:05d}"
        copies.append(copy)
    Request.objects.bulk_create(copies)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def page_rows_read(client, url: str) -> int:
    """The most rows of `ordinances_request` any query of `url` but its count read."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200, url
    selects = [
        q["sql"]
        for q in queries
        if q["sql"].startswith("SELECT") and "ordinances_request" in q["sql"] and "COUNT(" not in q["sql"]
    ]
    return max(rows_read(sql) for sql in selects)


@pytest.mark.parametrize(
    "url",
    [
        "/requests/?status=expired",
        "/api/v1/requests/?status=expired",
        f"/requests/?year={OLD_YEAR}",
        f"/api/v1/requests/?year={OLD_YEAR}",
        "/requests/feed/?agency=agency-a",
        "/requests/feed/?technology=test-drone",
    ],
)
def test_a_filtered_list_of_old_requests_reads_about_its_page(client, aged_history, url):
    # A feed shows 50 entries, a page 25; and a row past the end tells whether there is a next page.
    assert page_rows_read(client, url) <= 2 * 50


def plan_nodes(sql: str) -> list[dict]:
    """Every node of the executed plan of `sql`."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)

    def walk(node: dict) -> list[dict]:
        return [node, *(found for child in node.get("Plans", []) for found in walk(child))]

    return walk(plan[0]["Plan"])


COUNTED_LISTS = [
    "/ordinances/",
    "/agencies/",
    "/agencies/?page=2",
    "/agencies/?technology=test-drone",
    "/agencies/?kind=other&page=2",
]


def test_the_lists_of_ordinances_and_agencies_count_no_requests(client, requests):
    """Each row's public requests come from `PublicRequestCount`, not from the city's history."""
    read = {}
    for url in COUNTED_LISTS:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200, url
        for q in queries:
            if q["sql"].startswith("SELECT") and "ordinances_request" in q["sql"]:
                read[url] = read.get(url, 0) + rows_read(q["sql"])
    assert read == {}


def most_lookups(client, urls: tuple[str, ...], tables: tuple[str, ...]) -> dict[str, int]:
    """
    For each page, the most times a scan of one of `tables` ran in one of its queries (a
    correlated subquery runs once for each row it is worked out for).
    """
    loops: dict[str, int] = {}
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200, url
        for q in queries:
            if q["sql"].startswith("SELECT") and "ordinances_technologyuse" in q["sql"]:
                for node in plan_nodes(q["sql"]):
                    if node.get("Relation Name") in tables:
                        loops[url] = max(loops.get(url, 0), node["Actual Loops"])
    return loops


def test_a_page_of_agencies_counts_the_uses_of_its_own_rows_alone(client, requests, settings):
    """An OFFSET's skipped rows, and the rows a filter's DISTINCT compares, are not counted."""
    urls = ("/agencies/?page=2", "/agencies/?technology=test-drone")
    loops = most_lookups(client, urls, ("ordinances_technologyuse",))
    assert set(loops) == set(urls)
    assert max(loops.values()) <= settings.PORTAL_PAGE_SIZE


@pytest.fixture
def used_technologies(agency_a, drone, ordinance):
    """Three pages of technologies, each used by agency A, under an ordinance in force."""
    technologies = Technology.objects.bulk_create(
        Technology(name=f"Camera {n:03d}", slug=f"camera-{n:03d}", category=Category.DRONES)
        for n in range(75)
    )
    TechnologyUse.objects.bulk_create(
        TechnologyUse(agency=agency_a, technology=technology) for technology in [drone, *technologies]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def test_a_deep_page_of_technologies_works_out_its_own_rows_alone(client, used_technologies, settings):
    """Each row's governing rule and count of agencies, not those of the rows an OFFSET skips."""
    urls = ("/technologies/?page=3", "/technologies/?agency=agency-a&page=3")
    loops = most_lookups(client, urls, ("ordinances_technologyuse", "ordinances_categoryrule"))
    assert set(loops) == set(urls)
    assert max(loops.values()) <= settings.PORTAL_PAGE_SIZE


@pytest.fixture
def published_violations(agency_a, drone, ordinance):
    from model_bakery import baker

    from ordinances.models import Violation

    today = timezone.localdate()
    baker.make(
        Violation,
        agency=agency_a,
        technology=drone,
        ordinance=ordinance,
        request=None,
        found_on=iter([today - datetime.timedelta(days=n) for n in range(COPIES // 4)]),
        published_at=timezone.now(),
        _quantity=COPIES // 4,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def test_the_violation_list_reads_its_page_from_an_index(client, published_violations, settings):
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/violations/?page=3").status_code == 200
    page = [q["sql"] for q in queries if q["sql"].startswith('SELECT "ordinances_violation"."id"')]
    scans = [n for n in plan_nodes(page[0]) if n.get("Relation Name") == "ordinances_violation"]
    assert [n.get("Index Name") for n in scans] == ["violation_public_found"]
    # Pages 1 to 3, the OFFSET's rows read on the way.
    assert scans[0]["Actual Rows"] <= 3 * settings.PORTAL_PAGE_SIZE


@pytest.fixture
def open_and_ahead(requests):
    """Many requests open for comment and with a hearing ahead, as in a busy year."""
    now = timezone.now()
    copies = []
    for n in range(COPIES // 6):
        for status in (Request.Status.PUBLIC_COMMENT, Request.Status.HEARING_SCHEDULED):
            copy = shallow_copy(requests[2])
            copy.pk = None
            copy.status = status
            copy.reference = f"REQ-1998-{status[:2]}{n:05d}"
            copy.comment_period_ends_on = (now + datetime.timedelta(days=n % 60 + 1)).date()
            copy.hearing_at = now + datetime.timedelta(days=n % 60 + 1, hours=n % 24)
            copies.append(copy)
    Request.objects.bulk_create(copies)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def test_the_home_page_reads_only_the_comment_periods_and_hearings_it_shows(client, open_and_ahead):
    from ordinances.views import RECENT

    read = {}
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    for q in queries:
        for state in ("public_comment", "hearing_scheduled"):
            if f"= '{state}'" in q["sql"]:
                read[state] = rows_read(q["sql"])
    assert set(read) == {"public_comment", "hearing_scheduled"}
    assert max(read.values()) <= RECENT


@pytest.fixture
def reference_data(agency_a, drone):
    """A national deployment's reference data: hundreds of agencies and thousands of technologies, none a demo."""
    agencies = Agency.objects.bulk_create(
        Agency(name=f"Agency {n:03d}", slug=f"agency-{n:03d}", kind=Agency.Kind.OTHER) for n in range(300)
    )
    technologies = Technology.objects.bulk_create(
        Technology(name=f"Camera {n:04d}", slug=f"camera-{n:04d}", category=Category.DRONES)
        for n in range(2000)
    )
    TechnologyUse.objects.bulk_create(
        TechnologyUse(agency=agencies[n % 300], technology=technologies[n]) for n in range(2000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


@pytest.mark.parametrize("url", ["/agencies/agency-a/", "/technologies/test-drone/"])
def test_a_record_page_asks_which_tables_hold_demo_rows_without_reading_the_real_ones(
    client, reference_data, url
):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    asked = [
        q["sql"] for q in queries if "UNION ALL" in q["sql"] and '"ordinances_agency"."is_demo"' in q["sql"]
    ]
    assert len(asked) == 1
    read = {
        node["Relation Name"]: node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
        for node in plan_nodes(asked[0])
        if "Relation Name" in node
    }
    assert {"ordinances_agency", "ordinances_technology", "ordinances_technologyuse"} <= set(read)
    assert {table: rows for table, rows in read.items() if rows} == {}


def test_the_record_s_last_change_is_read_from_each_table_s_newest_row():
    """
    Every public answer asks when the record last changed (`freshness.latest`): each table's
    latest `updated_at` (an ordinance change's `created_at`) comes from the top of its index,
    not from reading every row, so the question costs the same with thousands of agencies and
    sources (a national deployment) and years of changes.
    """
    compiled = freshness._compile(connection.alias)
    with connection.cursor() as cursor:
        # The test's tables are tiny, so reading them whole would be cheaper: forbidden for the
        # test's transaction, so the plan shows whether an index *can* answer.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + compiled.sql, list(compiled.params))
        plan = "\n".join(row[0] for row in cursor.fetchall())
    tables = [model._meta.db_table for model in (*freshness.UPDATED, OrdinanceChange)]
    assert [table for table in tables if f"Seq Scan on {table}" in plan] == [], plan
