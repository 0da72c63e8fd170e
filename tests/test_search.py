"""
Site-wide search (`ordinances.search`, `/search/`).

CI runs this file on SQLite and on PostgreSQL: the fixed queries below expect the same
records on both, which is how "the same results for plain words" is proven. The corpus has
one line of story per record:

- river_rescue: a public request with "river" in its title.
- bridges: a public request with "river" only in its purpose (ranks below river_rescue).
- secret: a draft with "river" everywhere; never found by anyone.
- park_board: an agency whose description says "parks", not "park".
- plate_reader: a technology with a vendor list and words joined by punctuation.
- watchers: an agency whose name and description hold HTML.
"""

from __future__ import annotations

import importlib
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from model_bakery import baker

from ordinances import pagination, search
from ordinances.models import Agency, Category, Request, Technology

pytestmark = pytest.mark.django_db

URL = reverse("ordinances:search")
SEARCHED_TABLES = ("ordinances_ordinance", "ordinances_agency", "ordinances_technology", "ordinances_request")


@pytest.fixture
def corpus(make_request, ordinance, agency_a, agency_b, drone, face_recognition):
    Technology.objects.filter(pk=drone.pk).update(description="Small aircraft flown remotely.")
    Technology.objects.filter(pk=face_recognition.pk).update(description="Matches faces against a gallery.")
    records = {
        "river_rescue": make_request(
            "submitted", title="Drone for river rescue", purpose="Find people in the water after floods."
        ),
        "bridges": make_request(
            "in_review",
            title="Thermal camera for bridges",
            purpose="Inspect bridges over the river at night.",
        ),
        "secret": make_request(
            "draft", title="Secret river drone", purpose="Watch the river banks.", justification="River."
        ),
        "park_board": baker.make(
            Agency,
            name="Park Board",
            slug="park-board",
            kind=Agency.Kind.OTHER,
            description="Runs the city's parks and lakes.",
        ),
        "plate_reader": baker.make(
            Technology,
            name="License plate reader",
            slug="plate-reader",
            category=Category.LICENSE_PLATE_READERS,
            description="Cameras read plates of passing cars; face-recognition add-ons report to "
            "example.com servers (file 2020-00681) in naïve café_tables x.y form. Range ½ mile, 3 m² a pole.",
            vendors="Acme Vision, Motorola",
            civil_liberties_concerns="Tracks where people drive.",
        ),
        "watchers": baker.make(
            Agency,
            name="<b>Bold</b> & Co Watch",
            slug="watchers",
            kind=Agency.Kind.OTHER,
            description="<script>alert('x')</script> We watch the watchers.",
        ),
    }
    return records


def found(q: str) -> set[tuple[str, str]]:
    return {(row["hit_kind"], row["hit_title"]) for row in search.matching(search.words(q))}


DRONE_REQUEST = ("request", "Drone for river rescue")
BRIDGES = ("request", "Thermal camera for bridges")
PLATES = ("technology", "License plate reader")

# (query, the records it finds). The same on SQLite and PostgreSQL.
FIXED_QUERIES: list[tuple[str, set[tuple[str, str]]]] = [
    ("river", {DRONE_REQUEST, BRIDGES}),
    ("RIVER", {DRONE_REQUEST, BRIDGES}),
    ("river drone", {DRONE_REQUEST}),
    ("drone", {DRONE_REQUEST, ("technology", "Test drone")}),
    ("secret", set()),
    ("police", {("agency", "Agency A Police")}),
    ("parks", {("agency", "Agency B Parks"), ("agency", "Park Board")}),
    ("park", {("agency", "Park Board")}),  # a whole word: "park" is not "parks"
    ("lakes city", {("agency", "Park Board")}),  # every word, each in any field
    ("lakes river", set()),  # ...and all of them
    ("surveillance ordinance", {("ordinance", "Test surveillance ordinance")}),
    ("Minneapolis", {("ordinance", "Test surveillance ordinance")}),  # its jurisdiction
    ("motorola", {PLATES}),  # a vendor
    ("drive", {PLATES}),  # civil liberties concerns
    ("recognition", {PLATES}),  # from "face-recognition"
    ("face-recognition", {PLATES}),
    ("example", {PLATES}),  # from "example.com"
    ("00681", {PLATES}),  # from "2020-00681"
    ("2020-00681", {PLATES}),
    ("café", {PLATES}),
    ("CAFÉ tables", {PLATES}),  # from "café_tables"
    ("naïve", {PLATES}),
    ("m", {PLATES}),  # from "m²": the superscript is not part of the word
    ("½ mile", {PLATES}),  # "½" is not a word
    ("cafe", set()),  # accents count
    ("recog", set()),  # no prefixes
    ("camera", {BRIDGES}),  # not "Cameras"
    # No stop words: "the" is a word like any other.
    ("the", {DRONE_REQUEST, BRIDGES, ("agency", "Park Board"), ("agency", "<b>Bold</b> & Co Watch")}),
    ("bold watchers", {("agency", "<b>Bold</b> & Co Watch")}),
    ("script", {("agency", "<b>Bold</b> & Co Watch")}),
]


@pytest.mark.parametrize(("q", "expected"), FIXED_QUERIES, ids=[q for q, _ in FIXED_QUERIES])
def test_it_finds_the_same_records_on_every_database(corpus, q, expected):
    assert found(q) == expected


def test_it_never_finds_drafts(corpus, make_request):
    make_request("withdrawn", title="Withdrawn river survey", purpose="Count boats.")
    every_request = found("river") | found("drone") | found("secret") | found("banks")
    assert ("request", "Secret river drone") not in every_request
    assert ("request", "Withdrawn river survey") in every_request  # withdrawn is public
    assert {title for kind, title in every_request if kind == "request"} <= set(
        Request.objects.public().values_list("title", flat=True)
    )


def test_it_does_not_show_drafts_to_their_own_liaison(client, corpus, liaison_a):
    client.force_login(liaison_a)
    response = client.get(URL, {"q": "secret river"})
    assert response.status_code == 200
    assert response.context["search"].page.paginator.count == 0
    assert "Secret river drone" not in response.content.decode()


def test_it_ranks_a_title_match_above_a_description_match(corpus):
    rows = list(search.matching(search.words("river")))
    assert [row["hit_title"] for row in rows] == ["Drone for river rescue", "Thermal camera for bridges"]
    assert rows[0]["hit_rank"] > rows[1]["hit_rank"] > 0


def test_it_finds_a_request_by_its_reference(corpus):
    reference = corpus["bridges"].reference
    assert found(reference) == {BRIDGES}
    assert found(reference.lower()) == {BRIDGES}


def test_it_marks_the_words_and_escapes_the_record(client, corpus):
    response = client.get(URL, {"q": "b bold watchers"})
    assert response.status_code == 200
    (result,) = response.context["search"].page.object_list
    assert result.kind == "agency"
    assert result.url == corpus["watchers"].get_absolute_url()
    assert result.title == "<b>Bold</b> & Co Watch"
    # The record's "<b>" is text: escaped, with the word b marked inside it.
    assert (
        result.title_html == "&lt;<mark>b</mark>&gt;<mark>Bold</mark>&lt;/<mark>b</mark>&gt; &amp; Co Watch"
    )
    assert result.snippet == (
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; We watch the <mark>watchers</mark>."
    )
    html = response.content.decode()
    assert "<script>alert" not in html
    assert "<b>Bold</b>" not in html
    assert "&lt;<mark>b</mark>&gt;<mark>Bold</mark>" in html


def test_the_snippet_is_a_short_piece_of_the_matching_field(corpus, make_request):
    long_purpose = " ".join(["Patrol the streets."] * 30) + " Then the harbour. " + "More words. " * 30
    make_request("submitted", title="Harbour watch", purpose=long_purpose)
    make_request("submitted", title="Quiet title", purpose=long_purpose)
    pattern = search.word_pattern(("harbour",))
    rows = {row["hit_title"]: search._result(row, pattern) for row in search.matching(("harbour",))}
    quiet = rows["Quiet title"].snippet
    assert "<mark>harbour</mark>" in quiet
    assert quiet.startswith("…") and quiet.endswith("…")
    assert len(quiet) < search.SNIPPET_LENGTH + 40
    # Only the title matched: the snippet is the start of the purpose, nothing marked.
    harbour = rows["Harbour watch"]
    assert harbour.title_html == "<mark>Harbour</mark> watch"
    assert "<mark>harbour</mark>" in harbour.snippet  # the purpose says it too


def test_the_page_lists_results_with_their_kind_and_count(client, corpus):
    response = client.get(URL, {"q": "river"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "2 results for “river”" in html
    assert 'value="river"' in html
    assert html.index("Drone for <mark>river</mark> rescue") < html.index("Thermal camera for bridges")
    assert '<li class="usa-collection__meta-item usa-tag">Request</li>' in html
    assert corpus["river_rescue"].get_absolute_url() in html
    assert "Secret" not in html


def test_it_says_when_nothing_matches(client, corpus):
    response = client.get(URL, {"q": "zeppelin"})
    assert response.status_code == 200
    assert "0 results for “zeppelin”" in response.content.decode()
    assert "No record holds every word you typed" in response.content.decode()


def test_an_empty_box_shows_help_and_runs_no_query(client, corpus):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL)
    assert response.status_code == 200
    assert "What you can search" in response.content.decode()
    assert not response.context["search"].ran
    assert not [q for q in captured.captured_queries if any(t in q["sql"] for t in SEARCHED_TABLES)]


def test_it_pages_the_results_and_keeps_the_query(client, corpus, settings):
    settings.PORTAL_PAGE_SIZE = 1
    first = client.get(URL, {"q": "river"})
    assert [r.title for r in first.context["search"].page.object_list] == ["Drone for river rescue"]
    assert "?q=river&amp;page=2" in first.content.decode()
    second = client.get(URL, {"q": "river", "page": "2"})
    assert [r.title for r in second.context["search"].page.object_list] == ["Thermal camera for bridges"]
    assert client.get(URL, {"q": "river", "page": "x"}).status_code == 200


# Bad input: a message and 400 (or 200 when there is simply no word), never a 500, and on
# PostgreSQL never a NUL byte sent to the database.
@pytest.mark.parametrize(
    ("q", "status", "message"),
    [
        ("river\x00", 400, "The search contains a character that cannot be searched for."),
        ("\x00", 400, "The search contains a character that cannot be searched for."),
        (" ".join(["river"] * 200), 400, "Searches can be at most 200 characters long; this one has 1199."),
        ("a" * 5000, 400, "Searches can be at most 200 characters long; this one has 5000."),
        (" ".join(f"w{i}" for i in range(13)), 400, "Search for at most 12 words."),
        ("!!! --- ???", 200, "There is no word to search for"),
        ("'\"<>&%_\\;:*()[]{}|!", 200, "There is no word to search for"),
        ("   ", 200, "What you can search"),
    ],
    ids=[
        "nul-in-word",
        "nul-alone",
        "1199-chars",
        "5000-chars",
        "13-words",
        "punctuation",
        "syntax",
        "spaces",
    ],
)
def test_it_answers_bad_input_with_a_message(client, corpus, q, status, message):
    response = client.get(URL, {"q": q})
    assert response.status_code == status
    assert message in response.content.decode()
    assert "\x00" not in response.content.decode()


def test_tsquery_syntax_is_searched_as_words(corpus):
    assert found("river & !drone") == {DRONE_REQUEST}
    assert found("river:* | (bridges)") == {BRIDGES}


def test_its_query_count_does_not_grow_with_the_rows(client, corpus, make_request, agency_a):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL, {"q": "river"})
        assert response.status_code == 200
        return len(captured.captured_queries)

    few = queries()
    for i in range(12):
        make_request("submitted", title=f"River gauge {i}", purpose="Measure the river.")
        baker.make(Agency, name=f"River agency {i}", slug=f"river-{i}", description="On the river.")
    assert client.get(URL, {"q": "river"}).context["search"].page.paginator.count == 26
    assert queries() == few == 2  # the count and the page


def test_a_common_word_s_count_stops_at_the_limit_and_says_there_are_more(
    client, corpus, make_request, monkeypatch
):
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 3)
    for i in range(4):
        make_request("submitted", title=f"River gauge {i}", purpose="Measure the river.")

    response = client.get(URL, {"q": "river"})

    paginator = response.context["search"].page.paginator
    assert (paginator.count, paginator.count_is_limited) == (3, True)
    assert "More than 3 results." in response.content.decode()


def test_a_count_below_the_limit_is_exact(client, corpus, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 3)

    response = client.get(URL, {"q": "river"})

    paginator = response.context["search"].page.paginator
    assert (paginator.count, paginator.count_is_limited) == (2, False)
    assert "2 results for “river”." in response.content.decode()


def test_the_stored_document_is_generated_from_the_fields_the_search_names():
    # Migration 0024 generates the column from 0007's snapshot of the kinds and their fields.
    migration = importlib.import_module("ordinances.migrations.0007_search_indexes")
    assert migration.CONFIG == search.CONFIG
    assert migration.NON_WORD == search.NON_WORD
    assert {model: fields for model, (_index, fields) in migration.DOCUMENTS.items()} == {
        kind.records().model._meta.model_name: kind.fields for kind in search.KINDS
    }


@pytest.mark.postgresql
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="GIN indexes exist on PostgreSQL only")
def test_postgresql_searches_through_the_gin_indexes(corpus):
    with connection.cursor() as cursor:
        # The tables are tiny, so a sequential scan would be cheaper; forbid it for this
        # transaction so the plan shows whether the index *can* serve the query.
        cursor.execute("SET LOCAL enable_seqscan = off")
        # Likewise any other way to read every row of so few: a whole btree in order (index
        # scans), or the partial indexes over every public request (a bitmap scan needs no
        # condition when the index's predicate is implied). Dropped in the test's
        # transaction, so rolled back with it.
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_indexonlyscan = off")
        cursor.execute(
            "SELECT indexrelid::regclass::text FROM pg_index"
            " WHERE indrelid = 'ordinances_request'::regclass AND indpred IS NOT NULL"
        )
        for (index,) in cursor.fetchall():
            cursor.execute(f"DROP INDEX {index}")
    plan = search.matching(search.words("river drone")).explain()
    for name in ("ordinance_search_doc", "agency_search_doc", "technology_search_doc", "request_search_doc"):
        assert f"Bitmap Index Scan on {name}" in plan, plan


def test_the_result_count_ranks_nothing(client, corpus):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL, {"q": "river"})
    assert response.context["search"].page.paginator.count == 2
    count_sql = next(q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper())
    # Ranking a common word's thousands of matches is what costs; a count needs no order.
    assert "ts_rank" not in count_sql
    assert "CASE WHEN" not in count_sql.upper()


@pytest.mark.postgresql
@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the stored document exists on PostgreSQL only"
)
def test_postgresql_stores_the_document_the_index_matches(corpus):
    for kind in search.KINDS:
        rows = kind.records().annotate(computed=search.document(kind), stored=search.stored_document(kind))
        assert rows.exists()
        assert [row.computed for row in rows] == [row.stored for row in rows], kind.code


@pytest.mark.postgresql
@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the stored document exists on PostgreSQL only"
)
def test_postgresql_ranks_the_stored_document_without_parsing_each_match_again(corpus):
    plan = search.matching(search.words("river")).explain(verbose=True)
    ranked = [line for line in plan.splitlines() if "ts_rank(" in line]
    assert ranked, plan
    # A sort over every match: parsing each one's text there again is what made a common
    # word slow (200 ms for "camera" among 100,000 requests).
    assert all("search_document" in line and "to_tsvector" not in line for line in ranked), plan


@pytest.mark.postgresql
@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the stored document exists on PostgreSQL only"
)
def test_postgresql_matches_the_stored_document_without_spelling_out_its_expression(corpus):
    sql = str(search.matching(search.words("river drone")).query)
    # Spelled out field by field in four tables, building and compiling the query cost about
    # half of a search page's time.
    assert "to_tsvector" not in sql
    matched = re.findall(rf"\.{search.STORED_DOCUMENT}\) @@", sql)
    assert len(matched) == len(search.KINDS), sql
