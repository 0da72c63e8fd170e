"""
Load and soak: minutes of mixed traffic against the production server, then the three checks
of issue 10 (`make soak`).

    .venv/bin/python tests/soak.py [--seconds N] [--requests 2000] [--keep] [--no-report]

SOAK_SECONDS sets the default length (300). On loopback only, in one run:

1. PostgreSQL (DATABASE_URL's server, as `make bench` reaches it, tests/bench_pages.py): a
   throwaway database portal_soak, migrated and seeded with `manage.py seed_bulk` (a modest
   city: 2,000 requests, 60 agencies, 300 technologies), and two sign-in accounts made for the
   run: a council staff member and a liaison of every agency.
2. gunicorn with gunicorn.conf.py and the production profile (bench_pages.profile_env: DEBUG
   off, the static manifest, page cache off so every read reaches the database, workers never
   recycled so that memory growth shows).
3. For the whole run, from threads of this process, each request on a connection of its own:
   - readers: lists, details, filtered lists, searches and the API, as fast as answers come;
   - commenters: the comment form of a request whose period is open, then (after the form's
     minimum reading time) a comment with a unique text, each from its own loopback address
     (127.1.x.y) as different residents would, so that the per-address limit is not what is
     measured;
   - a staff member signed in to the admin, moving requests on through the workflow's forms
     (begin review, return to the agency, advisory review, open public comment, schedule the
     hearing, decide) and reading the review pages, and a liaison resubmitting what staff
     returned; a few transitions a second at most.
4. The checks: no 5xx and no broken connection on any kind of request; every comment the
   portal accepted (a redirect to its thank-you page) is in the database, found by its text;
   each gunicorn worker's resident memory (VmRSS, /proc) at the end is within 20% of what it
   was after the warm-up (the first tenth of the run), and no worker was replaced.

It prints a summary and writes it to docs/operations.md, section "Load and soak" (only that
section). The exit status is 1 when a check fails, 2 when the run could not be made.
Not collected by pytest (the name does not start with test_).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import http.client
import itertools
import os
import platform
import random
import re
import secrets
import shlex
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
# bench_pages is a sibling script (tests/ is not a package): its PostgreSQL, gunicorn and
# environment helpers are shared, so the soak runs the server exactly as `make bench` does.
from bench_pages import (
    BASE_DIR,
    WORKERS,
    BenchError,
    Postgres,
    Server,
    log,
    manage,
    profile_env,
    static_is_current,
)

DATABASE = "portal_soak"
SEED = ["seed_bulk", "--requests", "2000", "--agencies", "60", "--technologies", "300", "--uses", "3000"]
READERS = 4
COMMENTERS = 6
MAX_MEMORY_GROWTH = 0.20
# A bound on the whole run whatever the machine: requests per second of run time, all kinds.
MAX_RATE = 200
STAFF_INTERVAL = 0.5  # seconds between the staff member's transitions, at least
LIAISON_INTERVAL = 2.0
TIMEOUT = 60  # a client's wait for one answer; gunicorn replaces a worker after 30 s
OPERATIONS = BASE_DIR / "docs/operations.md"
SECTION = "## Load and soak"
# Reader kinds and their shares of the readers' requests.
READ_MIX = {"list": 20, "detail": 35, "filtered": 20, "search": 15, "api": 10}
PREFERRED = [
    "begin_review",
    "refer_to_advisory",
    "record_advisory_opinion",
    "open_comment_period",
    "schedule_hearing",
    "approve",
    "deny",
    "publish_policy",
    "accept_report",
]
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ISSUED_INPUT = re.compile(r'name="issued" value="([^"]+)"')
ADMIN_ERROR = re.compile(r'<li class="error">([^<]+)</li>')
ERROR_ITEM = re.compile(r'<ul class="errorlist[^"]*"[^>]*>\s*<li>([^<]+)</li>')


# ---------------------------------------------------------------------------
# HTTP, one connection per request (gunicorn's sync workers close each one)
# ---------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    location: str
    body: str


class Client:
    """A browser of sorts: its own cookies and the loopback address it sends from."""

    def __init__(self, port: int, source: str = "127.0.0.1") -> None:
        self.port = port
        self.source = source
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, form: dict[str, str] | None = None) -> Answer:
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=TIMEOUT, source_address=(self.source, 0)
        )
        headers = {"Host": "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for cookie in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = cookie.partition("=")
                value = rest.split(";", 1)[0]
                if value in ("", '""') or "max-age=0" in cookie.lower():
                    self.cookies.pop(name.strip(), None)
                else:
                    self.cookies[name.strip()] = value
            return Answer(response.status, response.headers.get("Location", ""), text)
        finally:
            conn.close()


@dataclass
class Tally:
    """What one kind of request got: answers by status, broken connections, latencies."""

    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    seconds: list[float] = field(default_factory=list)
    first_5xx: str = ""

    @property
    def count(self) -> int:
        return sum(self.statuses.values()) + sum(self.errors.values())

    def share(self, low: int) -> int:
        return sum(n for status, n in self.statuses.items() if low <= status < low + 100)

    def percentile(self, p: float) -> float:
        if not self.seconds:
            return 0.0
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


class Soak:
    """The run's shared state: its clock, its tallies and what the clients found."""

    def __init__(self, port: int, seconds: int, run_id: str) -> None:
        self.port = port
        self.run_id = run_id
        self.started = time.monotonic()
        self.deadline = self.started + seconds
        self.budget = seconds * MAX_RATE
        self.lock = threading.Lock()
        self.tallies: dict[str, Tally] = collections.defaultdict(Tally)
        self.accepted: dict[str, str] = {}  # comment token -> request reference
        self.comment_outcomes: collections.Counter[str] = collections.Counter()
        self.transitions: collections.Counter[str] = collections.Counter()
        self.form_errors: collections.Counter[str] = collections.Counter()
        self.open_references: list[str] = []
        self.addresses = itertools.count()
        self.crashes: list[str] = []

    def running(self) -> bool:
        with self.lock:
            spent = sum(t.count for t in self.tallies.values())
        return time.monotonic() < self.deadline and spent < self.budget

    def call(
        self, kind: str, client: Client, method: str, path: str, form: dict[str, str] | None = None
    ) -> Answer | None:
        """One request, counted under `kind`; None when the connection broke or timed out."""
        began = time.monotonic()
        try:
            answer = client.send(method, path, form)
        except (OSError, http.client.HTTPException) as exc:
            with self.lock:
                self.tallies[kind].errors[type(exc).__name__] += 1
            return None
        with self.lock:
            tally = self.tallies[kind]
            tally.statuses[answer.status] += 1
            tally.seconds.append(time.monotonic() - began)
            if answer.status >= 500 and not tally.first_5xx:
                tally.first_5xx = f"{method} {path} -> {answer.status}"
        return answer

    def next_address(self) -> str:
        n = next(self.addresses)
        return f"127.1.{n // 250 % 250}.{n % 250 + 1}"

    def pause(self, seconds: float) -> None:
        time.sleep(max(0.0, min(seconds, self.deadline - time.monotonic())))


# ---------------------------------------------------------------------------
# Django, in this process, on the same database: what to ask for, and the checks
# ---------------------------------------------------------------------------


def setup_django(env: dict[str, str]) -> None:
    os.environ.update({k: v for k, v in env.items() if k.startswith(("DJANGO_", "DATABASE_", "PORTAL_"))})
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def make_accounts(password: str) -> tuple[Any, Any]:
    """A council staff member and a liaison of every agency, both able to sign in."""
    from django.contrib.auth.models import Group, User

    from ordinances import roles
    from ordinances.models import Agency

    staff = User.objects.create_user(
        "soak.staff", password=password, is_staff=True, first_name="Soak", last_name="Staff"
    )
    staff.groups.add(Group.objects.get_or_create(name=roles.STAFF)[0])
    liaison = User.objects.create_user(
        "soak.liaison", password=password, is_staff=True, first_name="Soak", last_name="Liaison"
    )
    liaison.groups.add(Group.objects.get_or_create(name=roles.LIAISONS)[0])
    for agency in Agency.objects.all():
        agency.liaisons.add(liaison)
    return staff, liaison


def read_paths() -> dict[str, list[str]]:
    """The pages the readers pick from, by kind, sampled from the seeded city."""
    from django.db.models.functions import ExtractYear

    from ordinances.models import Agency, Ordinance, Request, Technology

    rng = random.Random(1)
    public = Request.objects.public()
    references = list(public.values_list("reference", flat=True))
    agencies = list(Agency.objects.values_list("slug", "kind"))
    technologies = list(Technology.objects.values_list("slug", "category", "name"))
    ordinances = list(Ordinance.objects.values_list("slug", flat=True))
    combos = list(
        public.exclude(submitted_at=None)
        .annotate(year=ExtractYear("submitted_at"))
        .values_list("status", "agency__slug", "year")
        .distinct()[:200]
    )
    words = sorted({w for _, _, name in technologies for w in re.findall(r"[A-Za-z]{4,}", name)})
    q = urllib.parse.urlencode
    return {
        "list": ["/", "/requests/", "/agencies/", "/technologies/", "/ordinances/", "/requests/?page=3"],
        "detail": [f"/requests/{r}/" for r in rng.sample(references, min(300, len(references)))]
        + [f"/agencies/{slug}/" for slug, _ in agencies]
        + [f"/technologies/{slug}/" for slug, _, _ in rng.sample(technologies, min(100, len(technologies)))]
        + [f"/ordinances/{slug}/" for slug in ordinances],
        "filtered": [f"/requests/?{q({'status': s, 'agency': a, 'year': y})}" for s, a, y in combos]
        + [f"/requests/?{q({'status': s})}" for s in Request.Status.values if s != "draft"]
        + [f"/agencies/?{q({'kind': kind})}" for kind in {k for _, k in agencies}]
        + [f"/technologies/?{q({'category': c})}" for c in {c for _, c, _ in technologies}],
        "search": [f"/search/?{q({'q': w})}" for w in rng.sample(words, min(150, len(words)))]
        + [f"/search/?{q({'q': r})}" for r in rng.sample(references, min(50, len(references)))],
        "api": ["/api/v1/requests/", "/api/v1/agencies/", "/api/v1/technologies/", "/api/v1/decisions/"]
        + [f"/api/v1/requests/{r}/" for r in rng.sample(references, min(100, len(references)))]
        + [f"/api/v1/requests/?{q({'status': s, 'agency': a})}" for s, a, _ in combos[:50]],
    }


def open_references() -> list[str]:
    """Requests whose comment period is open today."""
    from django.db import close_old_connections
    from django.utils import timezone

    from ordinances import participation
    from ordinances.models import Request

    close_old_connections()
    today = timezone.localdate()
    candidates = Request.objects.public().filter(status=Request.Status.PUBLIC_COMMENT)
    return [r.reference for r in candidates if participation.comment_period(r, today).is_open]


def transition_form(obj: Any, name: str) -> dict[str, str]:
    """What a staff member types into the transition's form for `obj`, as form fields."""
    from django.utils import timezone

    from ordinances import deadlines
    from ordinances.models import Deadline, ProcessStep

    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    note = f"Soak {name}"
    if name == "record_advisory_opinion":
        return {"opinion": "supports", "note": note}
    if name == "return_to_agency":
        return {"reason": "Soak: the agency is asked for the retention schedule."}
    if name == "open_comment_period":
        minimum = deadlines.due_on(obj.ordinance, Deadline.Kind.COMMENT_PERIOD, today) or today + day
        return {"comment_period_ends_on": max(minimum, today + 14 * day).isoformat(), "note": note}
    if name == "schedule_hearing":
        notice = deadlines.due_on(obj.ordinance, Deadline.Kind.HEARING_NOTICE, today) or today
        hearing = max(notice, obj.comment_period_ends_on or today, today) + 3 * day
        return {
            "hearing_at_0": hearing.isoformat(),
            "hearing_at_1": "18:00:00",
            "hearing_address": "350 South 5th Street, Minneapolis",
            "note": note,
        }
    if name in ("approve", "deny"):
        step = obj.ordinance.step(ProcessStep.Kind.VOTE)
        seats = (step.seats if step else None) or 7
        form = {"votes_yes": seats if name == "approve" else 0, "votes_no": 0 if name == "approve" else seats}
        if name == "deny":
            return {**{k: str(v) for k, v in form.items()}, "summary": "Soak: the body denied it."}
        expires = deadlines.approval_expires_on(obj.ordinance, today, obj.requested_term_days)
        return {
            **{k: str(v) for k, v in form.items()},
            "expires_on": (expires or today + 365 * day).isoformat(),
            "summary": "Soak: approved.",
        }
    if name == "publish_policy":
        return {"summary": "Soak: the final use policy."}
    return {"note": note}


def choose_transition(obj: Any, user: Any, rng: random.Random, open_count: int) -> str | None:
    """The next step a staff member would take on `obj`: now and then back to the agency."""
    from ordinances import workflow

    available = {t.name for t in workflow.available_transitions(obj, user)}
    if "return_to_agency" in available and rng.random() < 0.4:
        return "return_to_agency"
    if obj.status == "public_comment" and open_count < 8:
        return None  # keep comment periods open for the commenters
    forward = [name for name in PREFERRED if name in available]
    if "approve" in forward and "deny" in forward and rng.random() < 0.5:
        forward.remove("approve")
    return forward[0] if forward else None


# ---------------------------------------------------------------------------
# The clients
# ---------------------------------------------------------------------------


def reader(soak: Soak, paths: dict[str, list[str]], seed: int) -> None:
    rng = random.Random(seed)
    kinds, weights = zip(*READ_MIX.items(), strict=True)
    client = Client(soak.port)
    while soak.running():
        kind = rng.choices(kinds, weights)[0]
        soak.call(kind, client, "GET", rng.choice(paths[kind]))


def commenter(soak: Soak, seed: int) -> None:
    from ordinances.comment_forms import MIN_SECONDS

    rng = random.Random(seed)
    while soak.running():
        with soak.lock:
            references = list(soak.open_references)
        if not references:
            soak.pause(1)
            continue
        reference = rng.choice(references)
        client = Client(soak.port, soak.next_address())
        path = f"/requests/{reference}/comment/"
        page = soak.call("comment form", client, "GET", path)
        if page is None or page.status != 200:
            continue
        csrf, issued = CSRF_INPUT.search(page.body), ISSUED_INPUT.search(page.body)
        if not (csrf and issued):  # the period closed meanwhile: the page says so, no form
            with soak.lock:
                soak.comment_outcomes["no form (closed)"] += 1
            continue
        # A resident reads before sending; the form refuses anything quicker than MIN_SECONDS.
        time.sleep(MIN_SECONDS + 0.3 + rng.random())
        token = f"soak-{soak.run_id}-{secrets.token_hex(6)}"
        form = {
            "csrfmiddlewaretoken": csrf.group(1),
            "issued": issued.group(1),
            "name": rng.choice(["", "A resident", "Ward 6 neighbour"]),
            "position": rng.choice(["", "supports", "opposes", "neutral"]),
            "body": f"Comment {token}: please publish the retention schedule before deciding.",
            "website": "",
        }
        answer = soak.call("comment post", client, "POST", path, form)
        if answer is None:
            with soak.lock:
                soak.comment_outcomes["connection broke"] += 1
            continue
        with soak.lock:
            if answer.status == 302 and "/comment/thanks/" in answer.location:
                soak.accepted[token] = reference
                soak.comment_outcomes["accepted"] += 1
            else:
                reason = ERROR_ITEM.search(answer.body)
                soak.comment_outcomes[f"answered {answer.status}"] += 1
                if reason:
                    soak.form_errors[f"comment: {reason.group(1).strip()}"] += 1


def sign_in(soak: Soak, client: Client, username: str, password: str) -> None:
    page = soak.call("sign-in", client, "GET", "/admin/login/?next=/admin/")
    csrf = CSRF_INPUT.search(page.body) if page else None
    if csrf is None:
        raise BenchError(f"No sign-in form at /admin/login/ ({page.status if page else 'no answer'}).")
    answer = soak.call(
        "sign-in",
        client,
        "POST",
        "/admin/login/?next=/admin/",
        {"csrfmiddlewaretoken": csrf.group(1), "username": username, "password": password, "next": "/admin/"},
    )
    if answer is None or answer.status != 302:
        raise BenchError(f"{username} could not sign in ({answer.status if answer else 'no answer'}).")


def act(soak: Soak, client: Client, who: str, obj: Any, name: str, password: str) -> None:
    """Open the transition's form, fill it in and send it; count what became of it."""
    from ordinances.models import Event

    base = f"/admin/ordinances/request/{obj.pk}/"
    page = soak.call(f"{who} page", client, "GET", f"{base}transition/{name}/")
    if page is None or page.status != 200:
        with soak.lock:
            soak.transitions[f"{name}: refused before the form"] += 1
        return
    csrf = CSRF_INPUT.search(page.body)
    form = {"csrfmiddlewaretoken": csrf.group(1) if csrf else "", **transition_form(obj, name)}
    if 'name="password"' in page.body:  # a decision asks for the password again
        form["password"] = password
    before = Event.objects.filter(request_id=obj.pk).count()
    answer = soak.call(f"{who} transition", client, "POST", f"{base}transition/{name}/", form)
    if answer is None:
        return
    recorded = Event.objects.filter(request_id=obj.pk).count() > before
    refusal = None
    if answer.status == 302:
        # Back on the review page, which says what happened (a refusal as an error message).
        page = soak.call(f"{who} page", client, "GET", answer.location or f"{base}change/")
        refusal = ADMIN_ERROR.search(page.body) if page and not recorded else None
    with soak.lock:
        if answer.status == 302 and recorded:
            soak.transitions[name] += 1
        elif answer.status == 302:
            soak.transitions[f"{name}: refused"] += 1
            if refusal:
                soak.form_errors[f"{name}: {refusal.group(1).strip()}"] += 1
        else:
            soak.transitions[f"{name}: form errors"] += 1
            for message in ERROR_ITEM.findall(answer.body)[:1]:
                soak.form_errors[f"{name}: {message.strip()}"] += 1


def staff_member(soak: Soak, user: Any, password: str, seed: int) -> None:
    from django.db import close_old_connections

    from ordinances.models import Request

    rng = random.Random(seed)
    client = Client(soak.port)
    sign_in(soak, client, user.username, password)
    moving = ["submitted", "in_review", "advisory_review", "advised", "public_comment", "hearing_scheduled"]
    while soak.running():
        began = time.monotonic()
        close_old_connections()
        with soak.lock:
            open_count = len(soak.open_references)
        candidates = list(Request.objects.filter(status__in=moving).select_related("ordinance"))
        rng.shuffle(candidates)
        for obj in candidates[:20]:
            name = choose_transition(obj, user, rng, open_count)
            if name:
                act(soak, client, "staff", obj, name, password)
                break
        else:
            soak.call("staff page", client, "GET", "/admin/ordinances/request/?status__exact=in_review")
        soak.pause(STAFF_INTERVAL - (time.monotonic() - began))


def liaison_member(soak: Soak, user: Any, password: str, seed: int) -> None:
    from django.db import close_old_connections

    from ordinances.models import Request

    rng = random.Random(seed)
    client = Client(soak.port)
    sign_in(soak, client, user.username, password)
    while soak.running():
        began = time.monotonic()
        close_old_connections()
        returned = list(Request.objects.filter(status="returned").values_list("pk", flat=True)[:50])
        if returned:
            obj = Request.objects.select_related("ordinance").get(pk=rng.choice(returned))
            act(soak, client, "liaison", obj, "submit", password)
        else:
            soak.call("liaison page", client, "GET", "/admin/ordinances/request/?status__exact=returned")
        soak.pause(LIAISON_INTERVAL - (time.monotonic() - began))


def watch_open_periods(soak: Soak) -> None:
    while soak.running():
        found = open_references()
        with soak.lock:
            soak.open_references = found
        soak.pause(3)


def guarded(soak: Soak, target: Any, *args: Any) -> None:
    """Run a client; a crash of the client (not of the server) is reported, not hidden."""
    from django.db import connection

    try:
        target(soak, *args)
    except Exception as exc:  # the run goes on; the report names it and the run fails
        with soak.lock:
            soak.crashes.append(f"{target.__name__}: {type(exc).__name__}: {exc}")
    finally:
        connection.close()


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------


def describe_machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    cpus = len(re.findall(r"^processor\s*:", cpuinfo, re.M))
    total = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    memory = f"{int(total.group(1)) / 1024 / 1024:.0f} GiB" if total else "?"
    system = platform.freedesktop_os_release().get("PRETTY_NAME", "Linux")
    return (
        f"{model.group(1) if model else platform.processor()}, {cpus} logical CPUs, {memory}; {system}, "
        f"Linux {platform.release()}; Python {platform.python_version()}"
    )


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def judge(soak: Soak, found: collections.Counter[str], memory: dict[str, Any]) -> list[str]:
    """What failed; empty when every check passed."""
    failures = []
    for kind, tally in sorted(soak.tallies.items()):
        if tally.share(500):
            failures.append(f"{tally.share(500)} answers 5xx to {kind} (first: {tally.first_5xx})")
        if tally.errors:
            failures.append(
                f"{sum(tally.errors.values())} broken connections on {kind}: {dict(tally.errors)}"
            )
    lost = [token for token in soak.accepted if not found.get(token)]
    if lost:
        failures.append(f"{len(lost)} accepted comments are not in the database (first: {lost[0]})")
    doubled = [token for token, n in found.items() if n > 1]
    if doubled:
        failures.append(f"{len(doubled)} comments stored more than once")
    if not soak.accepted:
        failures.append("no comment was accepted: the check of lost comments proved nothing")
    if memory["replaced"]:
        failures.append(f"workers replaced during the run: {memory['replaced']}")
    for pid, (start, end) in memory["workers"].items():
        if start and (end - start) / start >= MAX_MEMORY_GROWTH:
            failures.append(f"worker {pid} grew {(end - start) / start:+.0%}, from {start} to {end} KiB")
    failures += [f"a client crashed: {crash}" for crash in soak.crashes]
    return failures


def report(
    soak: Soak,
    *,
    seconds: int,
    found: collections.Counter[str],
    memory: dict[str, Any],
    failures: list[str],
    counts: dict[str, int],
    loads: tuple[str, str],
    note: str,
) -> str:
    """The summary as markdown: what ran, on what, and every figure."""
    total = sum(t.count for t in soak.tallies.values())
    rows = [
        "| kind | requests | 2xx | 3xx | 4xx | 5xx | broken | p50 ms | p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, tally in sorted(soak.tallies.items()):
        rows.append(
            f"| {kind} | {tally.count:,} | {tally.share(200):,} | {tally.share(300):,} | {tally.share(400):,} "
            f"| {tally.share(500)} | {sum(tally.errors.values())} | {tally.percentile(0.5) * 1000:.0f} "
            f"| {tally.percentile(0.95) * 1000:.0f} |"
        )
    memory_rows = ["| worker | after warm-up MiB | end MiB | growth |", "|---|---:|---:|---:|"]
    for pid, (start, end) in memory["workers"].items():
        growth = f"{(end - start) / start:+.1%}" if start else "-"
        memory_rows.append(f"| {pid} | {start / 1024:.0f} | {end / 1024:.0f} | {growth} |")
    lost = sum(1 for token in soak.accepted if not found.get(token))
    done = {k: v for k, v in soak.transitions.items() if ":" not in k}
    other = {k: v for k, v in soak.transitions.items() if ":" in k}
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    lines = [
        f"`make soak` (tests/soak.py) starts gunicorn with gunicorn.conf.py and the production profile "
        f"({WORKERS} sync workers, never recycled; page cache off) on loopback, on a throwaway PostgreSQL "
        f"database seeded with `manage.py {shlex.join(SEED)}`, and for `SOAK_SECONDS` (300) sends a mixed "
        f"load: {READERS} readers without pause (lists, details, filtered lists, searches, the API), "
        f"{COMMENTERS} commenters (the form, then a comment with a unique text from its own 127.1.x.y "
        "address), a council staff member signed in to the admin moving requests through the workflow's "
        "forms and a liaison resubmitting what staff returned (a few transitions a second at most). "
        f"It fails on any 5xx or broken connection, on an accepted comment missing from the database, and "
        f"on a worker whose memory (VmRSS) grows {MAX_MEMORY_GROWTH:.0%} or more from the end of the warm-up "
        "(the first tenth of the run) to the end, or that is replaced. Re-run after a change to the "
        "server, the database settings or the comment path.",
        "",
        f"**Last run: {'PASS' if not failures else 'FAIL'}**, {now:%Y-%m-%d %H:%M} UTC, {seconds} s, "
        f"{total:,} requests ({total / seconds:.0f}/s).",
        "",
        f"- Machine: {describe_machine()}. Load average {loads[0]} at the start, {loads[1]} at the end. "
        "The clients, gunicorn and PostgreSQL share these CPUs." + (f" {note}" if note else ""),
        "- Data: " + ", ".join(f"{n:,} {name}" for name, n in counts.items()) + ".",
        f"- Comments: {len(soak.accepted):,} accepted, {sum(1 for t in soak.accepted if found.get(t)):,} "
        f"found in the database by their text, **{lost} lost**; other outcomes: "
        + (
            ", ".join(f"{k} {v}" for k, v in sorted(soak.comment_outcomes.items()) if k != "accepted")
            or "none"
        )
        + ".",
        "- Transitions recorded: "
        + (", ".join(f"{k} {v}" for k, v in sorted(done.items())) or "none")
        + f" ({sum(done.values())} in all)"
        + ("; not recorded: " + ", ".join(f"{k} {v}" for k, v in sorted(other.items())) if other else "")
        + ".",
        f"- 5xx answers: **{sum(t.share(500) for t in soak.tallies.values())}**; broken connections: "
        f"**{sum(sum(t.errors.values()) for t in soak.tallies.values())}**.",
        "",
        *rows,
        "",
        "Worker memory (VmRSS from /proc):",
        "",
        *memory_rows,
    ]
    if soak.form_errors:
        lines += [
            "",
            "Forms sent back or refused (the workflow's and the comment form's rules, not failures):",
            "",
        ]
        lines += [f"- {message} ({n})" for message, n in soak.form_errors.most_common(8)]
    if failures:
        lines += ["", "Failures:", ""] + [f"- {failure}" for failure in failures]
    return "\n".join(lines)


def write_section(markdown: str) -> None:
    """Replace the body of docs/operations.md's "Load and soak" section, and nothing else."""
    text = OPERATIONS.read_text() if OPERATIONS.exists() else f"# Operations\n\n{SECTION}\n"
    start = text.find(f"\n{SECTION}\n")
    if start < 0:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n"
        start = text.find(f"\n{SECTION}\n")
    body_start = start + len(SECTION) + 2
    following = text.find("\n## ", body_start)
    end = len(text) if following < 0 else following + 1
    tail = text[end:]
    OPERATIONS.write_text(text[:body_start] + "\n" + markdown + "\n" + ("\n" + tail if tail else ""))


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().split("\n\n")[0])
    parser.add_argument(
        "--seconds",
        type=int,
        default=int(os.environ.get("SOAK_SECONDS") or 300),
        help="length of the load (SOAK_SECONDS, 300)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/operations.md")
    parser.add_argument(
        "--note", default=os.environ.get("SOAK_NOTE", ""), help="a sentence added to the machine's line"
    )
    args = parser.parse_args(argv)
    if args.seconds < 10:
        parser.error("need --seconds >= 10")
    return args


def run(args: argparse.Namespace) -> int:
    pg = Postgres.from_environment()
    pg.ensure_running()
    scratch = Path(tempfile.mkdtemp(prefix="portal-soak-"))
    env = profile_env(database_url=pg.url(DATABASE), cache_seconds=0, redis_url=None, scratch=scratch)
    password = secrets.token_urlsafe(24)
    server: Server | None = None
    try:
        mark = time.monotonic()
        if not static_is_current():
            log("Collecting static files into staticfiles/ (the production profile serves the manifest)")
            manage(env, "collectstatic", "--no-input", "--verbosity", "0")
        pg.recreate(DATABASE)
        manage(env, "migrate", "--no-input")
        manage(env, *SEED)
        pg.vacuum_analyze(DATABASE)
        setup_django(env)
        from ordinances.models import Agency, Comment, Event, Request, Technology

        staff, liaison = make_accounts(password)
        paths = read_paths()
        counts = {
            "requests": Request.objects.count(),
            "agencies": Agency.objects.count(),
            "technologies": Technology.objects.count(),
            "events": Event.objects.count(),
        }
        log(f"Database {DATABASE} ready in {time.monotonic() - mark:.0f} s: {counts}")

        server = Server.start(env, scratch, "soak")
        soak = Soak(server.port, args.seconds, secrets.token_hex(4))
        soak.open_references = open_references()
        loads = [load_average(), ""]
        log(
            f"Load for {args.seconds} s on 127.0.0.1:{server.port}; {len(soak.open_references)} comment periods open"
        )
        threads = [threading.Thread(target=guarded, args=(soak, watch_open_periods), daemon=True)]
        threads += [
            threading.Thread(target=guarded, args=(soak, reader, paths, n), daemon=True)
            for n in range(READERS)
        ]
        threads += [
            threading.Thread(target=guarded, args=(soak, commenter, 100 + n), daemon=True)
            for n in range(COMMENTERS)
        ]
        threads += [
            threading.Thread(target=guarded, args=(soak, staff_member, staff, password, 7), daemon=True),
            threading.Thread(target=guarded, args=(soak, liaison_member, liaison, password, 8), daemon=True),
        ]
        for thread in threads:
            thread.start()
        warm_up = min(30.0, max(5.0, args.seconds / 10))
        time.sleep(warm_up)
        workers_start = server.workers()
        memory_start = server.memory()
        while time.monotonic() < soak.deadline:
            time.sleep(min(10.0, max(0.0, soak.deadline - time.monotonic())))
            done = sum(t.count for t in soak.tallies.values())
            log(
                f"  {time.monotonic() - soak.started:4.0f} s: {done:,} requests, "
                f"{len(soak.accepted)} comments accepted, {sum(soak.transitions.values())} transitions"
            )
        memory_end = server.memory()
        workers_end = server.workers()
        loads[1] = load_average()
        for thread in threads:
            thread.join(timeout=TIMEOUT + 10)

        from django.db import close_old_connections

        close_old_connections()
        found = collections.Counter(
            match.group(0)
            for body in Comment.objects.filter(body__contains=f"soak-{soak.run_id}-").values_list(
                "body", flat=True
            )
            for match in [re.search(rf"soak-{soak.run_id}-[0-9a-f]+", body)]
            if match
        )
        memory = {
            "workers": {pid: (memory_start[pid], memory_end.get(pid, 0)) for pid in memory_start},
            "replaced": sorted(set(workers_start) ^ set(workers_end)),
        }
        failures = judge(soak, found, memory)
        if any(t.share(500) or t.errors for t in soak.tallies.values()):
            log(f"gunicorn's log ends:\n{server.log_tail()}")
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            try:
                from django.db import connections

                connections.close_all()
            except Exception:
                pass
            pg.drop(DATABASE)
        shutil.rmtree(scratch, ignore_errors=True)

    markdown = report(
        soak,
        seconds=args.seconds,
        found=found,
        memory=memory,
        failures=failures,
        counts=counts,
        loads=(loads[0], loads[1]),
        note=args.note,
    )
    print("\n" + markdown + "\n")
    if not args.no_report:
        write_section(markdown)
        log('Wrote the figures to docs/operations.md, section "Load and soak".')
    print("PASS" if not failures else "FAIL: " + "; ".join(failures))
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except BenchError as error:
        print(f"soak: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
