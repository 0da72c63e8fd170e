"""Atom feeds: anyone can follow new requests, decisions, an agency, a technology or one request."""

from __future__ import annotations

import datetime
import json
from copy import copy as shallow_copy

import feedparser
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ordinances import workflow
from ordinances.feeds import FEED_LENGTH
from ordinances.models import Agency, Event, Request

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(make_request, agency_b, liaison_b, face_recognition):
    return {
        "in_review": make_request("in_review", title="Drone in review"),
        "hearing": make_request("hearing_scheduled", title="Drone with a hearing"),
        "approved": make_request("approved", title="Approved drone"),
        "denied": make_request("denied", title="Denied drone"),
        "draft": make_request("draft", title="Secret draft plan"),
        "other_agency": make_request("submitted", title="Parks drone", agency=agency_b, liaison=liaison_b),
    }


def parse(response) -> feedparser.FeedParserDict:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


def references(feed) -> set[str]:
    return {entry.link.rstrip("/").rsplit("/", 1)[1] for entry in feed.entries}


def public_references(**filters) -> set[str]:
    return set(Request.objects.public().filter(**filters).values_list("reference", flat=True))


def every_feed_url(records, agency_a, drone) -> list[str]:
    return [
        reverse("ordinances:request_feed"),
        reverse("ordinances:decision_feed"),
        reverse("ordinances:agency_feed", args=[agency_a.slug]),
        reverse("ordinances:technology_feed", args=[drone.slug]),
        reverse("ordinances:request_events_feed", args=[records["approved"].reference]),
        reverse("ordinances:request_feed") + "?status=approved&agency=agency-a",
        "/es/requests/feed/",
    ]


def test_every_feed_parses_as_atom_for_anonymous_readers(client, records, agency_a, drone):
    for url in every_feed_url(records, agency_a, drone):
        feed = parse(client.get(url))
        assert feed.feed.title, url
        assert feed.feed.id, url
        for entry in feed.entries:
            assert entry.id.startswith("tag:testserver,"), url
            assert entry.updated_parsed, url
            assert entry.link.startswith("http://testserver/"), url
            assert entry.summary, url


def test_every_feed_is_sent_in_one_piece(client, records, agency_a, drone):
    # A WSGI server writes each piece of an answer with its own system call.
    for url in every_feed_url(records, agency_a, drone):
        assert len(list(client.get(url))) == 1, url


def test_no_feed_shows_a_draft_or_a_staff_username(client, records, agency_a, drone):
    for url in every_feed_url(records, agency_a, drone):
        body = client.get(url).content.decode()
        assert "Secret draft plan" not in body, url
        assert records["draft"].reference not in body, url
        assert "liaison_a" not in body and ">staff<" not in body, url


def test_the_new_requests_feed_has_every_public_request(client, records):
    feed = parse(client.get(reverse("ordinances:request_feed")))
    assert references(feed) == public_references()
    approved = records["approved"]
    entry = next(e for e in feed.entries if approved.reference in e.link)
    assert entry.title == f"{approved.reference}: {approved.title}"
    assert entry.link == f"http://testserver{approved.get_absolute_url()}"
    assert "Approved" in entry.summary
    assert entry.published_parsed[:3] == approved.submitted_at.utctimetuple()[:3]


def test_entry_ids_stay_the_same_across_fetches_and_languages(client, records):
    first = parse(client.get(reverse("ordinances:request_feed")))
    second = parse(client.get(reverse("ordinances:request_feed")))
    spanish = parse(client.get("/es/requests/feed/"))
    assert [e.id for e in first.entries] == [e.id for e in second.entries]
    assert {e.id for e in first.entries} == {e.id for e in spanish.entries}
    assert spanish.feed.language == "es"


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ("status=approved", {"status": "approved"}),
        ("agency=agency-b", {"agency__slug": "agency-b"}),
        ("status=approved&agency=agency-a", {"status": "approved", "agency__slug": "agency-a"}),
        ("kind=approval&technology=test-drone", {"kind": "approval", "technology__slug": "test-drone"}),
        ("q=hearing", {"title__icontains": "hearing"}),
    ],
)
def test_a_filtered_feed_has_exactly_the_filtered_rows(client, records, query, filters):
    feed = parse(client.get(f"{reverse('ordinances:request_feed')}?{query}"))
    assert references(feed) == public_references(**filters)
    # Its own address keeps the filters, so it can be subscribed to as a saved search.
    assert any(query.split("&")[0] in link.href for link in feed.feed.links if link.rel == "self")


def test_the_page_number_does_not_filter_a_feed(client, records):
    feed = parse(client.get(reverse("ordinances:request_feed") + "?status=approved&page=7"))
    assert references(feed) == public_references(status="approved")


@pytest.mark.parametrize(
    "query", ["status=nope", "agency=no-such-agency", "year=abc", "year=1200", "status=draft"]
)
def test_a_bad_filter_answers_400_not_500(client, records, query):
    for name in ("ordinances:request_feed", "ordinances:decision_feed"):
        response = client.get(f"{reverse(name)}?{query}")
        assert response.status_code == 400, (name, query)
        assert response["Content-Type"].startswith("text/plain")


def test_the_decisions_feed_has_each_decision(client, records):
    feed = parse(client.get(reverse("ordinances:decision_feed")))
    assert references(feed) == {records["approved"].reference, records["denied"].reference}
    denied = next(e for e in feed.entries if records["denied"].reference in e.link)
    assert denied.title.startswith("Denied: ")
    assert "voted 2–10" in denied.summary
    assert denied.id.endswith(f"request/{records['denied'].reference}/decision")


def test_an_agency_feed_has_only_its_requests(client, records, agency_a, agency_b):
    feed = parse(client.get(reverse("ordinances:agency_feed", args=[agency_b.slug])))
    assert references(feed) == {records["other_agency"].reference}
    feed = parse(client.get(reverse("ordinances:agency_feed", args=[agency_a.slug])))
    assert references(feed) == public_references(agency=agency_a)


def test_a_technology_feed_has_the_requests_of_its_category(client, records, drone, face_recognition):
    feed = parse(client.get(reverse("ordinances:technology_feed", args=[drone.slug])))
    assert references(feed) == public_references(technology__category=drone.category)
    assert (
        parse(client.get(reverse("ordinances:technology_feed", args=[face_recognition.slug]))).entries == []
    )


def test_a_request_feed_has_its_public_timeline_only(client, records, staff):
    req = records["approved"]
    workflow.add_note(req, by=staff, note="Internal: check the vendor contract", public=False)
    workflow.add_note(req, by=staff, note="The council thanks every commenter.", public=True)
    feed = parse(client.get(reverse("ordinances:request_events_feed", args=[req.reference])))
    public = list(Event.objects.public().filter(request=req))
    assert len(feed.entries) == len(public)
    assert {e.id.rsplit("/", 1)[1] for e in feed.entries} == {str(event.pk) for event in public}
    body = client.get(reverse("ordinances:request_events_feed", args=[req.reference])).content.decode()
    assert "Internal: check the vendor contract" not in body
    assert "The council thanks every commenter." in body
    titles = [entry.title for entry in feed.entries]
    assert any(title.startswith("Approved") for title in titles)
    assert any(title.startswith("Hearing scheduled") for title in titles)
    # Newest first, each with the time it happened.
    assert feed.entries[0].updated_parsed >= feed.entries[-1].updated_parsed


def test_a_draft_has_no_feed(client, records):
    response = client.get(reverse("ordinances:request_events_feed", args=[records["draft"].reference]))
    assert response.status_code == 404


@pytest.mark.parametrize("name", ["ordinances:agency_feed", "ordinances:technology_feed"])
def test_an_unknown_record_has_no_feed(client, name):
    assert client.get(reverse(name, args=["nobody"])).status_code == 404


def test_feeds_refuse_to_be_posted_to(client, records):
    assert client.post(reverse("ordinances:request_feed")).status_code == 405


def test_summaries_escape_text_once(client, make_request, agency_b, liaison_b):
    Agency.objects.filter(pk=agency_b.pk).update(name="Parks & <Recreation>")
    make_request("submitted", title="Drone <b>bold</b> & more", agency=agency_b, liaison=liaison_b)
    feed = parse(client.get(reverse("ordinances:request_feed")))
    entry = feed.entries[0]
    assert entry.title.endswith("Drone <b>bold</b> & more")
    assert "Parks &amp; &lt;Recreation&gt;" in entry.summary
    assert "&amp;amp;" not in entry.summary


def test_feeds_and_calendars_run_the_same_queries_however_many_rows(client, make_request, agency_a, drone):
    req = make_request("hearing_scheduled")
    make_request("approved")
    urls = [
        reverse("ordinances:request_feed") + "?agency=agency-a",
        reverse("ordinances:decision_feed"),
        reverse("ordinances:agency_feed", args=[agency_a.slug]),
        reverse("ordinances:technology_feed", args=[drone.slug]),
        reverse("ordinances:request_events_feed", args=[req.reference]),
        reverse("ordinances:calendar"),
        reverse("ordinances:agency_calendar", args=[agency_a.slug]),
    ]

    def counts() -> list[int]:
        result = []
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            result.append(len(queries))
        return result

    before = counts()
    for to in ("in_review", "public_comment", "hearing_scheduled", "approved", "denied"):
        make_request(to)
    assert counts() == before


def updated_of(feed, req) -> datetime.datetime:
    entry = next(e for e in feed.entries if e.link.rstrip("/").endswith(req.reference))
    return datetime.datetime.fromisoformat(entry.updated)


def test_an_entry_is_updated_at_its_latest_public_change_never_an_internal_note(client, records, staff):
    req = records["approved"]
    url = reverse("ordinances:agency_feed", args=[req.agency.slug])
    latest_public = Event.objects.public().filter(request=req).latest("created_at", "pk").created_at
    assert updated_of(parse(client.get(url)), req) == latest_public

    workflow.add_note(req, by=staff, note="Internal: check the vendor contract", public=False)
    assert updated_of(parse(client.get(url)), req) == latest_public

    note = workflow.add_note(req, by=staff, note="The council thanks every commenter.", public=True)
    assert updated_of(parse(client.get(url)), req) == note.created_at


def test_a_record_feed_puts_the_latest_public_change_first(client, records, staff, agency_a, drone):
    feeds = (("ordinances:agency_feed", agency_a.slug), ("ordinances:technology_feed", drone.slug))
    for name, slug in feeds:
        last = Request.objects.get(reference=references_in_order(client, name, slug)[-1])
        workflow.add_note(last, by=staff, note="Internal only.", public=False)
        assert references_in_order(client, name, slug)[-1] == last.reference
        workflow.add_note(last, by=staff, note="A public correction.", public=True)
        assert references_in_order(client, name, slug)[0] == last.reference


def references_in_order(client, name: str, slug: str) -> list[str]:
    feed = parse(client.get(reverse(name, args=[slug])))
    return [entry.link.rstrip("/").rsplit("/", 1)[1] for entry in feed.entries]


def test_a_request_feed_runs_the_same_queries_however_long_its_timeline(client, make_request):
    short = make_request("in_review")
    long = make_request("approved")
    assert (
        Event.objects.public().filter(request=long).count()
        > Event.objects.public().filter(request=short).count()
    )

    def count(req) -> int:
        with CaptureQueriesContext(connection) as queries:
            parse(client.get(reverse("ordinances:request_events_feed", args=[req.reference])))
        return len(queries)

    assert count(long) == count(short)


@pytest.mark.postgresql
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="reads PostgreSQL's query plans")
def test_the_request_feeds_read_their_newest_requests_from_an_index(
    client, make_request, agency_a, drone, face_recognition
):
    """
    The new requests feed, an agency's and a technology's read about as many requests as
    they show, and no events, however long the history (PostgreSQL's plans, as in
    tests/test_indexes.py).
    """
    made = [make_request(status) for status in ("approved", "denied", "submitted", "in_review", "draft")]
    now = timezone.now()
    copies = []
    for n in range(COPIES):
        copy = shallow_copy(made[n % len(made)])
        copy.pk = None
        copy.reference = f"REQ-1999-{n:05d}"
        # Half the history about another category's technology, which the drone's feed skips.
        copy.technology = drone if n % 2 else face_recognition
        copy.created_at = copy.public_updated_at = now - datetime.timedelta(hours=n)
        # A draft has never been submitted.
        copy.submitted_at = None if copy.status == Request.Status.DRAFT else copy.created_at
        copies.append(copy)
    Request.objects.bulk_create(copies)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    for url in (
        reverse("ordinances:request_feed"),
        reverse("ordinances:agency_feed", args=[agency_a.slug]),
        reverse("ordinances:technology_feed", args=[drone.slug]),
    ):
        with CaptureQueriesContext(connection) as queries:
            assert len(parse(client.get(url)).entries) == FEED_LENGTH
        selects = [
            q["sql"] for q in queries if "ordinances_request" in q["sql"] and "freshness" not in q["sql"]
        ]
        assert selects, url
        for sql in selects:
            read = scans(sql)
            assert not [scan for scan in read if scan[0] == "Seq Scan" and scan[1] in HISTORY], (url, read)
            rows = {table: sum(r for _kind, t, r in read if t == table) for _kind, table, _rows in read}
            assert rows.get("ordinances_request", 0) <= 4 * FEED_LENGTH, (url, rows)
            assert rows.get("ordinances_event", 0) == 0, (url, rows)


COPIES = 4000
# The tables that grow with the city's history.
HISTORY = ("ordinances_request", "ordinances_event")


def scans(sql: str) -> list[tuple[str, str, int]]:
    """Each scan of a table in `sql`'s plan: its kind, its table and the rows it read (kept or not)."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    found = []

    def walk(node: dict) -> None:
        if "Relation Name" in node:
            read = (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"]
            found.append((node["Node Type"], node["Relation Name"], read))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found
