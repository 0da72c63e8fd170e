"""
Benchmark the public pages at two data sizes, in one run, and report the ratios.

    .venv/bin/python tests/bench_pages.py [--small 50] [--large 2000] [--runs 15] [--max-ratio 2.5]

Speed is measured, not assumed. One process migrates a throwaway database (a temporary
SQLite file, or with DATABASE_URL=postgres://... a throwaway PostgreSQL database named
portal_bench beside the one named), builds a small data set, times every public page,
grows the same data to the large size and times them again. Requests are built through
`ordinances.workflow`, so they have their real events; reference rows are bulk-created.

Each page is fetched with Django's test client under the production profile (DEBUG off):
a few warm-up requests, then the median of `--runs` timed requests. Queries are counted
in a separate, untimed request so that recording them does not slow the timed ones.

The exit status is non-zero when a page runs a different number of queries at the two
sizes, or when its time grows faster than what it shows: the large/small time ratio,
divided by the large/small page-size ratio (at least 1), exceeds `--max-ratio`. Paged
lists should stay flat; pages that show every row by design (an agency's inventory, a
request's full timeline) may grow with their output but not faster. So `make bench` can
serve as a check. Not collected by pytest (the name does not start with test_).
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DB = "portal_bench"
HUB_AGENCY = "bench-hub-agency"
HUB_TECHNOLOGY = "bench-hub-technology"


# ---------------------------------------------------------------------------
# Environment and database, before Django is imported
# ---------------------------------------------------------------------------


@dataclass
class Database:
    """The throwaway database this run uses, and how to remove it afterwards."""

    url: str
    label: str
    tmpdir: str | None = None
    pg_admin: dict[str, Any] = field(default_factory=dict)

    def drop(self) -> None:
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        if self.pg_admin:
            _pg_execute(self.pg_admin, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def _pg_execute(admin: dict[str, Any], sql: str) -> None:
    import psycopg

    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(sql)


def prepare_database() -> Database:
    """A fresh database: PostgreSQL when DATABASE_URL names one, else a temporary SQLite file."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://", "pgsql://")):
        import dj_database_url

        config = dj_database_url.parse(url)
        admin = {
            "host": config.get("HOST") or None,
            "port": config.get("PORT") or None,
            "user": config.get("USER") or None,
            "password": config.get("PASSWORD") or None,
            "dbname": "postgres",
        }
        _pg_execute(admin, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        _pg_execute(admin, f'CREATE DATABASE "{BENCH_DB}"')
        user = config.get("USER") or ""
        password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
        credentials = f"{user}{password}@" if user else ""
        host = config.get("HOST") or "localhost"
        port = f":{config['PORT']}" if config.get("PORT") else ""
        bench_url = f"postgres://{credentials}{host}{port}/{BENCH_DB}"
        return Database(url=bench_url, label=f"PostgreSQL {host}{port}/{BENCH_DB}", pg_admin=admin)
    if url:
        print(f"DATABASE_URL={url!r} is not PostgreSQL; using a temporary SQLite file instead.")
    tmpdir = tempfile.mkdtemp(prefix="portal-bench-")
    path = Path(tmpdir) / "bench.sqlite3"
    return Database(url=f"sqlite:///{path}", label=f"SQLite {path}", tmpdir=tmpdir)


def configure_environment(db: Database, scratch: str) -> None:
    """The production profile, reachable by the test client; media files go to `scratch`."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    os.environ["DATABASE_URL"] = db.url
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["DJANGO_SECRET_KEY"] = "bench-" + os.urandom(24).hex()
    os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "0"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    os.environ["PORTAL_MEDIA_ROOT"] = str(Path(scratch) / "media")
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


class Builder:
    """Grows one data set: reference rows in bulk, requests through the workflow."""

    def __init__(self) -> None:
        from django.contrib.auth.models import Group, User
        from model_bakery import baker

        from ordinances import roles
        from ordinances.models import Category, CategoryRule, Ordinance

        self.categories = list(Category.values)
        self.agencies: list[Any] = []
        self.technologies: list[Any] = []
        self.requests_made = 0
        self.timeline_events = 0

        self.liaison = User.objects.create(username="bench-liaison", is_staff=True)
        self.liaison.set_unusable_password()
        self.liaison.save()
        self.liaison.groups.add(Group.objects.get(name=roles.LIAISONS))
        self.staff = User.objects.create(username="bench-staff", is_staff=True)
        self.staff.groups.add(Group.objects.get(name=roles.STAFF))

        # A fixed set of ordinances: they do not grow with the data set.
        self.ordinance = baker.make(
            Ordinance,
            file_number="BENCH-0001",
            slug="bench-ordinance",
            title="Benchmark surveillance ordinance",
            status=Ordinance.Status.IN_EFFECT,
            summary="The ordinance every benchmark request is made under.",
        )
        for kind in ("public_comment", "hearing"):
            self.ordinance.steps.create(kind=kind)
        self.ordinance.steps.create(kind="vote", body="Bench council", seats=13, majority="more_yes_than_no")
        for kind, amount, anchor in (
            ("comment_period", 30, "comment_opening"),
            ("hearing_notice", 10, "hearing_notice"),
            ("emergency_report", 14, "emergency_use"),
            ("approval_term", 365, "approval_effective"),
        ):
            self.ordinance.deadlines.create(kind=kind, amount=amount, counted_from=anchor)
        self.prohibited = {Category.FACIAL_RECOGNITION, Category.PREDICTIVE_POLICING}
        strict = {
            Category.FACIAL_RECOGNITION: CategoryRule.Rule.PROHIBITED,
            Category.PREDICTIVE_POLICING: CategoryRule.Rule.PROHIBITED,
            Category.BODY_WORN_CAMERAS: CategoryRule.Rule.DISCLOSURE_ONLY,
        }
        CategoryRule.objects.bulk_create(
            CategoryRule(
                ordinance=self.ordinance,
                category=category,
                rule=strict.get(category, CategoryRule.Rule.APPROVAL_REQUIRED),
            )
            for category in self.categories
        )
        for n in range(2, 6):
            other = baker.make(
                Ordinance,
                file_number=f"BENCH-{n:04d}",
                slug=f"bench-ordinance-{n}",
                title=f"Benchmark ordinance {n}",
                status=Ordinance.Status.IN_EFFECT if n % 2 else Ordinance.Status.INTRODUCED,
                summary="Another ordinance.",
            )
            CategoryRule.objects.create(
                ordinance=other, category=self.categories[n], rule=CategoryRule.Rule.DISCLOSURE_ONLY
            )

        # The hubs: one agency that uses every technology, one technology every agency uses.
        self.hub_agency = self._add_agencies(1, hub=True)[0]
        self.hub_technology = self._add_technologies(1, hub=True)[0]

    def _add_agencies(self, n: int, hub: bool = False) -> list[Any]:
        from ordinances.models import Agency

        start = len(self.agencies)
        kinds = list(Agency.Kind.values)
        rows = [
            Agency(
                name="Benchmark hub agency" if hub else f"Benchmark agency {start + k:05d}",
                slug=HUB_AGENCY if hub else f"bench-agency-{start + k}",
                kind=kinds[(start + k) % len(kinds)],
                covered=(start + k) % 7 != 6,
                description="An agency made up for the benchmark.",
            )
            for k in range(n)
        ]
        Agency.objects.bulk_create(rows)
        rows = list(Agency.objects.filter(slug__in=[a.slug for a in rows]).order_by("pk"))
        Agency.liaisons.through.objects.bulk_create(
            Agency.liaisons.through(agency_id=a.pk, user_id=self.liaison.pk) for a in rows
        )
        self.agencies.extend(rows)
        return rows

    def _add_technologies(self, n: int, hub: bool = False) -> list[Any]:
        from ordinances.models import Category, Technology

        start = len(self.technologies)
        rows = [
            Technology(
                name="Benchmark hub technology" if hub else f"Benchmark technology {start + k:05d}",
                slug=HUB_TECHNOLOGY if hub else f"bench-technology-{start + k}",
                category=Category.DRONES if hub else self.categories[(start + k) % len(self.categories)],
                description="A technology made up for the benchmark.",
                vendors="Vendor A, Vendor B",
            )
            for k in range(n)
        ]
        Technology.objects.bulk_create(rows)
        rows = list(Technology.objects.filter(slug__in=[t.slug for t in rows]).order_by("pk"))
        self.technologies.extend(rows)
        return rows

    def grow(self, *, requests: int, refs: int, timeline_events: int) -> None:
        """Grow to `requests` requests, `refs` agencies and technologies, and a long timeline."""
        from django.db import transaction

        from ordinances.models import TechnologyUse

        with transaction.atomic():
            new_agencies = self._add_agencies(max(0, refs - len(self.agencies)))
            new_technologies = self._add_technologies(max(0, refs - len(self.technologies)))
            pairs: set[tuple[int, int]] = set()
            # The hub agency uses every new technology, every new agency uses the hub technology,
            # and each new agency uses "its" technology.
            for t in new_technologies:
                pairs.add((self.hub_agency.pk, t.pk))
            for a in new_agencies:
                pairs.add((a.pk, self.hub_technology.pk))
            for a, t in zip(new_agencies, new_technologies, strict=False):
                pairs.add((a.pk, t.pk))
            existing = set(
                TechnologyUse.objects.filter(agency_id__in=[a for a, _ in pairs]).values_list(
                    "agency_id", "technology_id"
                )
            )
            TechnologyUse.objects.bulk_create(
                TechnologyUse(
                    agency_id=a,
                    technology_id=t,
                    vendor_product="Model X",
                    in_use_since=datetime.date(2020, 1, 1),
                    retention="30 days",
                    data_sharing_recipients="County attorney\nState patrol",
                )
                for a, t in sorted(pairs - existing)
            )
            while self.requests_made < requests:
                self._add_request(self.requests_made)
                self.requests_made += 1
            self._grow_timeline(timeline_events)

    def _add_request(self, i: int) -> None:
        from django.utils import timezone

        from ordinances import workflow
        from ordinances.models import Request

        agency = self.hub_agency if i % 4 == 0 else self.agencies[i % len(self.agencies)]
        technology = self.hub_technology if i % 3 == 0 else self.technologies[i % len(self.technologies)]
        # Each request's history starts 60 days back, so comment has closed and the hearing
        # has taken place by the time its decision is recorded.
        now = timezone.now() - datetime.timedelta(days=60, minutes=5000 - i)

        def at(days: int) -> datetime.datetime:
            return now + datetime.timedelta(days=days)

        step = i % 10
        fields: dict[str, Any] = {
            "justification": "Benchmark.",
            "alternatives_considered": "None.",
            "data_collected": "Video.",
            "retention": "30 days.",
            "sharing": "No one.",
        }
        kind = Request.Kind.EXCEPTION if technology.category in self.prohibited else Request.Kind.APPROVAL
        if step == 9 and i % 20 == 19:
            kind = Request.Kind.EMERGENCY_REPORT
            fields["emergency_used_on"] = timezone.localdate(now) - datetime.timedelta(days=2)
        request = workflow.create_draft(
            by=self.liaison,
            now=now,
            kind=kind,
            agency=agency,
            technology=technology,
            ordinance=self.ordinance,
            title=f"Benchmark request {i}",
            purpose="Measure how the public pages scale.",
            requested_term_days=365,
            **fields,
        )
        if step == 4:
            return  # stays a draft: not public, but still in the tables the pages filter
        liaison, staff = self.liaison, self.staff
        workflow.perform("submit", request, by=liaison, now=now)
        if step <= 2:
            return
        workflow.perform("begin_review", request, by=staff, now=now)
        if kind == Request.Kind.EMERGENCY_REPORT:
            workflow.perform("accept_report", request, by=staff, now=now)
            return
        if step == 3:
            workflow.add_note(request, by=staff, note=f"Public note on request {i}.", public=True)
            return
        workflow.perform("open_comment_period", request, by=staff, now=now)
        if step == 5:
            return
        workflow.perform(
            "schedule_hearing", request, by=staff, hearing_at=at(42), hearing_address="City Hall", now=at(31)
        )
        if step == 6:
            return
        if step == 7:
            workflow.perform("approve", request, by=staff, votes_yes=9, votes_no=3, now=at(43))
        elif step == 8:
            workflow.perform(
                "approve_with_conditions",
                request,
                by=staff,
                votes_yes=8,
                votes_no=4,
                conditions=[workflow.ConditionInput("Publish an annual report", datetime.date(2030, 1, 1))],
                now=at(43),
            )
        else:
            workflow.perform(
                "deny",
                request,
                by=staff,
                votes_yes=2,
                votes_no=10,
                summary="Benefits do not outweigh costs.",
                now=at(43),
            )

    def _grow_timeline(self, events: int) -> None:
        """One request with a long public timeline, for /requests/<reference>/."""
        from ordinances import workflow

        if not hasattr(self, "timeline_request"):
            self.timeline_request = workflow.create_draft(
                by=self.liaison,
                kind="approval",
                agency=self.hub_agency,
                technology=self.hub_technology,
                ordinance=self.ordinance,
                title="Benchmark request with a long timeline",
                purpose="Measure the timeline.",
                justification="Benchmark.",
                alternatives_considered="None.",
                data_collected="Video.",
                retention="30 days.",
                sharing="No one.",
            )
            workflow.perform("submit", self.timeline_request, by=self.liaison)
            workflow.perform("begin_review", self.timeline_request, by=self.staff)
        while self.timeline_events < events:
            workflow.add_note(
                self.timeline_request,
                by=self.staff,
                note=f"Timeline note {self.timeline_events}.",
                public=True,
            )
            self.timeline_events += 1

    def counts(self) -> dict[str, int]:
        from ordinances.models import Event, Request, TechnologyUse

        return {
            "requests": Request.objects.count(),
            "events": Event.objects.count(),
            "agencies": len(self.agencies),
            "technologies": len(self.technologies),
            "uses": TechnologyUse.objects.count(),
        }


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------


def page_urls(builder: Builder) -> list[tuple[str, str]]:
    """(label, url) of every page measured; the same URLs at both sizes."""
    reference = builder.timeline_request.reference
    return [
        ("home", "/"),
        ("requests", "/requests/"),
        ("requests?status=submitted", "/requests/?status=submitted"),
        ("agencies", "/agencies/"),
        ("technologies", "/technologies/"),
        ("technology detail (hub)", f"/technologies/{HUB_TECHNOLOGY}/"),
        ("agency detail (hub)", f"/agencies/{HUB_AGENCY}/"),
        ("request detail (timeline)", f"/requests/{reference}/"),
    ]


@dataclass
class Result:
    queries: int
    median_ms: float
    kbytes: float


def measure(client: Any, url: str, *, warmup: int, runs: int) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}, not 200.")
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    # Read now: `captured_queries` reads the connection's log, which the next request clears.
    queries = len(captured.captured_queries)
    size = len(response.content) / 1024
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    return Result(queries=queries, median_ms=statistics.median(timings), kbytes=size)


def measure_all(builder: Builder, *, warmup: int, runs: int) -> dict[str, Result]:
    from django.test import Client

    client = Client()
    return {label: measure(client, url, warmup=warmup, runs=runs) for label, url in page_urls(builder)}


def report(small: dict[str, Result], large: dict[str, Result], max_ratio: float) -> list[str]:
    """Print the table; return the reasons the check fails."""
    header = (
        f"{'page':<28} {'q small':>7} {'q large':>7} {'ms small':>9} {'ms large':>9} {'ratio':>6}"
        f" {'KB small':>9} {'KB large':>9} {'per KB':>7}"
    )
    print(header)
    print("-" * len(header))
    failures = []
    for label, s in small.items():
        big = large[label]
        ratio = big.median_ms / s.median_ms if s.median_ms else float("inf")
        per_kb = ratio / max(1.0, big.kbytes / s.kbytes)
        flags = []
        if big.queries != s.queries:
            flags.append("QUERIES")
            failures.append(f"{label}: {s.queries} queries small, {big.queries} large")
        if per_kb > max_ratio:
            flags.append("SLOW")
            failures.append(
                f"{label}: time grew {ratio:.2f}x for {big.kbytes / s.kbytes:.2f}x the output; "
                f"{per_kb:.2f} > {max_ratio:.2f}"
            )
        print(
            f"{label:<28} {s.queries:>7} {big.queries:>7} {s.median_ms:>9.2f} {big.median_ms:>9.2f}"
            f" {ratio:>6.2f} {s.kbytes:>9.1f} {big.kbytes:>9.1f} {per_kb:>7.2f}  {' '.join(flags)}".rstrip()
        )
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--small", type=int, default=50, help="requests in the small data set (50)")
    parser.add_argument("--large", type=int, default=2000, help="requests in the large data set (2000)")
    parser.add_argument(
        "--small-refs",
        type=int,
        help="agencies and technologies in the small set (default: min(--small, 500))",
    )
    parser.add_argument(
        "--large-refs",
        type=int,
        help="agencies and technologies in the large set (default: min(--large, 500))",
    )
    parser.add_argument("--runs", type=int, default=15, help="timed requests per page and size (15)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first (3)")
    parser.add_argument(
        "--max-ratio",
        type=float,
        default=2.5,
        help="fail when a page's time ratio over its output-size ratio exceeds this (2.5)",
    )
    args = parser.parse_args(argv)
    if not 0 < args.small < args.large:
        parser.error("need 0 < --small < --large")
    if args.runs < 1 or args.warmup < 0:
        parser.error("need --runs >= 1 and --warmup >= 0")
    small_refs = args.small_refs or min(args.small, 500)
    large_refs = args.large_refs or min(args.large, 500)
    if not 0 < small_refs <= large_refs:
        parser.error("need 0 < --small-refs <= --large-refs")

    db = prepare_database()
    scratch = tempfile.mkdtemp(prefix="portal-bench-files-")
    configure_environment(db, scratch)
    try:
        import django
        from django.conf import settings

        # The production profile serves hashed static files from a manifest; build one in a
        # temporary STATIC_ROOT rather than in the working tree.
        settings.STATIC_ROOT = str(Path(scratch) / "static")
        django.setup()
        from django.core.management import call_command
        from django.db import connection

        print(f"Database: {db.label} ({connection.vendor}); DEBUG={settings.DEBUG}")
        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        print(f"Migrated and collected static files in {time.perf_counter() - started:.1f} s")

        builder = Builder()
        results = {}
        for name, requests, refs in (("small", args.small, small_refs), ("large", args.large, large_refs)):
            started = time.perf_counter()
            builder.grow(requests=requests, refs=refs, timeline_events=max(5, requests // 10))
            built = time.perf_counter() - started
            counts = ", ".join(f"{v} {k}" for k, v in builder.counts().items())
            print(f"{name}: built in {built:.1f} s: {counts}; timeline of {builder.timeline_events} notes")
            started = time.perf_counter()
            results[name] = measure_all(builder, warmup=args.warmup, runs=args.runs)
            print(f"{name}: measured in {time.perf_counter() - started:.1f} s")
        print()
        print(f"Median of {args.runs} runs after {args.warmup} warm-up; times in ms; {db.label.split()[0]}")
        failures = report(results["small"], results["large"], args.max_ratio)
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not have been set up.
            pass
        db.drop()
        shutil.rmtree(scratch, ignore_errors=True)
    if failures:
        print("\nFAIL:")
        for failure in failures:
            print(f"  {failure}")
        return 1
    print("\nOK: the same queries at both sizes, every ratio within", args.max_ratio)
    return 0


if __name__ == "__main__":
    sys.exit(main())
