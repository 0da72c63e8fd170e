"""
Fabricate a large, realistic record for benchmarks and load tests.

    python manage.py seed_bulk --requests 100000 [--agencies 300] [--technologies 2000]
        [--uses 20000] [--years 10] [--seed 1] [--append]

FOR BENCHMARKS AND LOAD TESTS ONLY. Every other writer of a request goes through
`ordinances.workflow.perform`; this command does not. It fabricates, with bulk inserts
(`bulk_create`, about 2,000 rows a statement), the history the workflow would have written
over `--years` years ending today, and so writes `Request.status`, the review dates, the
Events, Decisions, Conditions, Comments and the oversight records directly. Running
100,000 requests through `perform` one by one would take hours; the benchmark needs them
in minutes. What the workflow would check is instead built in:

* The law. The ordinances are the process files in `ordinances/laws/` (Minneapolis's
  among them), loaded with `process.load` exactly as `seed_demo` loads Minneapolis's,
  unless an ordinance with that file number is already there (then the record in the
  database is used as it stands). Together they reach every state: advisory review
  (Oakland, San Francisco, Seattle), a community meeting (Seattle), public comment and
  publication with no vote (New York), hearings (Oakland), votes (the others). Each
  agency belongs to one of their cities and files only under its city's ordinance, for
  technologies that ordinance governs: an exception request (relying on one of its
  exceptions for that category, or none) where it prohibits the category, an approval or
  a renewal (of an approval of the same agency and technology, current or expired)
  otherwise, and now and then an emergency-use report.
* The path. Each request's Events are the rows of `workflow.TRANSITIONS` its ordinance's
  steps open, in order (`workflow.expected_state`), each with the action code, the role
  that permits it, the facts its handler writes in `data` and a later `created_at` than
  the one before. Dates keep the order the handlers enforce: created, submitted, advisory
  referral and opinion, comment opened and closed (after its last day, by the portal),
  the hearing noticed with the law's notice and held after comment closed, the decision
  after all of them, expiry (by the portal, the day after the term ends). Deadlines come
  from `ordinances.deadlines`. Votes fit the deciding body's seats and meet (or, for a
  denial, miss) its majority. A history that would run past today stops where today
  finds it, which is how recent requests end up pending.
* References are `REQ-<year created>-<number>` as `workflow._next_reference` makes them,
  numbered in order of creation and continuing after any already there, so drafts
  started later through the workflow carry on after them.

Distributions are skewed as a real city's are: agencies' and technologies' shares of the
inventory follow Zipf-like weights (at the default sizes the largest agency has about
450 technology uses and the largest technology about 250), and requests follow the
inventory. Every state the loaded laws reach is given at least one request, so
even a small run has them all. Records are `is_demo=False`, named like real ones. The
actors are accounts it creates with unusable passwords (nobody can sign in as them): one
liaison per covered agency (`bulk.liaison…`, in the Agency liaisons group and the
agency's `liaisons`) and a few council staff (`bulk.staff…`).

Bulk inserts skip `Model.save`, so Event's append-only guard does not run (inserting is
all the database triggers allow anyway: they refuse UPDATE and DELETE), no emails are
queued, and primary keys are assigned here and the sequences reset afterwards: run it
while nothing else writes. `bulk_create` would stamp every `updated_at` (auto_now) with the
moment of the insert; those fields are switched off for the insert so each row keeps the
time of its last fabricated change, which is what `ordinances.freshness` reads.

It refuses to run on a database that already holds requests unless `--append` is given;
with `--append` it adds a further set of agencies, technologies, uses and requests beside
what is there. Everything is written in one transaction. The same options and seed on the
same day give the same records.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime
import itertools
import json
import math
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.text import slugify

from ordinances import deadlines, oversight, process, roles, workflow
from ordinances.models import (
    EVERY_OTHER_CATEGORY,
    Agency,
    AnnualReport,
    Category,
    CategoryRule,
    Comment,
    Condition,
    Deadline,
    Decision,
    EmergencyUse,
    Event,
    Ordinance,
    OversightEvent,
    ProcessStep,
    Request,
    Technology,
    TechnologyUse,
    Violation,
    ordinance_rule,
)
from ordinances.roles import Role

M = TypeVar("M", bound=models.Model)

LAWS_DIR = Path(__file__).resolve().parents[2] / "laws"
BATCH = 2000
CHUNK = 5000  # requests generated and written at a time, to keep memory flat
# Zipf exponents: at 300 agencies and 2,000 technologies sharing 20,000 uses, the largest
# agency has about 450 uses and the largest technology about 250 (steeper, since an agency
# uses a technology at most once).
AGENCY_SKEW = 0.43
TECHNOLOGY_SKEW = 0.7

S = Request.Status
K = Request.Kind
A = Event.Action
OA = OversightEvent.Action
Step = ProcessStep.Kind

# Non-draft states a request can be left in on purpose, so that every one appears.
PENDING_STOPS = (S.SUBMITTED, S.IN_REVIEW, S.RETURNED, S.ADVISORY_REVIEW, S.ADVISED, S.PUBLIC_COMMENT)

# ---------------------------------------------------------------------------
# Words: names, vendors and texts that read like a city's records
# ---------------------------------------------------------------------------

DEPARTMENTS: list[tuple[str, str]] = [
    ("{city} Police Department", Agency.Kind.POLICE),
    ("{city} Department of Transportation", Agency.Kind.TRANSPORTATION),
    ("{city} Fire Department", Agency.Kind.FIRE),
    ("{city} Information Technology Department", Agency.Kind.IT),
    ("{city} Public Works", Agency.Kind.PUBLIC_WORKS),
    ("{city} Health Department", Agency.Kind.HEALTH),
    ("{city} Regulatory Services", Agency.Kind.REGULATORY),
    ("{city} Parks and Recreation", Agency.Kind.OTHER),
    ("{city} Housing Authority", Agency.Kind.OTHER),
    ("{city} Public Library", Agency.Kind.OTHER),
    ("{city} Water Department", Agency.Kind.PUBLIC_WORKS),
    ("{city} Parking Enforcement", Agency.Kind.TRANSPORTATION),
    ("{city} Office of Emergency Management", Agency.Kind.FIRE),
    ("{city} Airport Authority", Agency.Kind.TRANSPORTATION),
    ("{city} Transit Police", Agency.Kind.POLICE),
    ("{city} Sanitation Department", Agency.Kind.PUBLIC_WORKS),
    ("{city} Animal Care and Control", Agency.Kind.HEALTH),
    ("{city} Building Inspections", Agency.Kind.REGULATORY),
    ("{city} Business Licensing Division", Agency.Kind.REGULATORY),
    ("{city} Office of Violence Prevention", Agency.Kind.HEALTH),
    ("{city} Port Authority", Agency.Kind.TRANSPORTATION),
    ("{city} Department of Finance", Agency.Kind.OTHER),
    ("{city} Elections Office", Agency.Kind.OTHER),
    ("{city} Public Schools Safety Office", Agency.Kind.OTHER),
    ("{city} Community Safety Office", Agency.Kind.OTHER),
    ("{city} Fire Marshal's Office", Agency.Kind.FIRE),
    ("{city} Street Lighting Division", Agency.Kind.PUBLIC_WORKS),
    ("{city} Traffic Management Center", Agency.Kind.TRANSPORTATION),
    ("{city} Office of the City Attorney", Agency.Kind.OTHER),
    ("{city} Convention Center", Agency.Kind.OTHER),
]
POLICE_UNITS = (
    "Investigations Bureau",
    "Special Operations Division",
    "Traffic Division",
    "Narcotics Division",
    "Gang Enforcement Unit",
    "Real-Time Crime Center",
    "Homeland Security Unit",
    "Property Crimes Unit",
    "Violent Crimes Unit",
    "Crime Lab",
    "Internal Affairs",
    "Harbor Unit",
)
ORDINALS = ("First", "Second", "Third", "Fourth", "Fifth", "Sixth", "Seventh", "Eighth", "Ninth", "Tenth")
COUNTIES = {
    "Minneapolis": "Hennepin",
    "Boston": "Suffolk",
    "New York": "Kings",
    "Oakland": "Alameda",
    "San Francisco": "San Francisco",
    "Seattle": "King",
}

# category -> (share of technologies, [(vendor, product)], description, concerns)
TECH_CATALOG: dict[str, tuple[int, list[tuple[str, str]], str, str]] = {
    Category.LICENSE_PLATE_READERS: (
        12,
        [
            ("Flock Safety", "Falcon"),
            ("Flock Safety", "Sparrow"),
            ("Motorola Solutions", "Vigilant L5F"),
            ("Motorola Solutions", "Vigilant Reaper"),
            ("Genetec", "AutoVu SharpZ3"),
            ("Neology", "PIPS Slate"),
            ("Rekor", "Scout"),
            ("Leonardo", "ELSAG Plate Hunter"),
        ],
        "Cameras that read the license plates of passing cars and record where and when each was seen.",
        "A record of where every car went builds a map of people's lives: visits to clinics, "
        "places of worship, protests and homes.",
    ),
    Category.DRONES: (
        12,
        [
            ("DJI", "Matrice 30T"),
            ("DJI", "Mavic 3 Enterprise"),
            ("Skydio", "X10"),
            ("Skydio", "X2E"),
            ("Brinc", "Lemur 2"),
            ("Parrot", "Anafi USA"),
            ("Teledyne FLIR", "SIRAS"),
            ("Autel Robotics", "EVO Max 4T"),
        ],
        "A small remote-controlled aircraft carrying a video or thermal camera.",
        "It can look into back yards and windows and film crowds from above.",
    ),
    Category.BODY_WORN_CAMERAS: (
        10,
        [
            ("Axon", "Body 4"),
            ("Axon", "Body 3"),
            ("Motorola Solutions", "V300"),
            ("Motorola Solutions", "SI500"),
            ("Getac", "BC-04"),
            ("Utility", "BodyWorn"),
            ("Reveal", "D-Series"),
        ],
        "A camera worn on an officer's uniform that records video and sound of encounters.",
        "It records bystanders and people in their homes, and footage can be searched later.",
    ),
    Category.FACIAL_RECOGNITION: (
        8,
        [
            ("Clearview AI", "Clearview"),
            ("Idemia", "MorphoFace"),
            ("NEC", "NeoFace Reveal"),
            ("DataWorks Plus", "FACE Plus"),
            ("Rank One Computing", "ROC SDK"),
            ("Cognitec", "FaceVACS"),
        ],
        "Software that compares a face in a photo or video with stored face images to guess who it is.",
        "It can identify people at a distance without their knowledge and errs more often "
        "with women and people of color.",
    ),
    Category.CELL_SITE_SIMULATORS: (
        3,
        [
            ("L3Harris", "StingRay II"),
            ("L3Harris", "HailStorm"),
            ("L3Harris", "KingFish"),
            ("Septier", "IMSI Catcher"),
        ],
        "A device that imitates a cell tower so that nearby phones connect to it and reveal who they are.",
        "It captures the phones of everyone nearby, not only the person sought.",
    ),
    Category.GUNSHOT_DETECTION: (
        5,
        [
            ("SoundThinking", "ShotSpotter"),
            ("Flock Safety", "Raven"),
            ("Shooter Detection Systems", "Guardian"),
            ("EAGL Technology", "FireFly"),
        ],
        "Microphones mounted across a neighborhood that listen for gunfire and locate it.",
        "Always-on microphones can record voices, and alerts send officers into neighborhoods "
        "expecting an armed person.",
    ),
    Category.VIDEO_ANALYTICS: (
        14,
        [
            ("BriefCam", "Protect"),
            ("Genetec", "Security Center"),
            ("Avigilon", "Unity Video"),
            ("Verkada", "Command"),
            ("Milestone", "XProtect"),
            ("Motorola Solutions", "Avigilon Alta"),
            ("Hanwha Vision", "Wisenet AI"),
            ("Axis Communications", "Camera Station"),
        ],
        "Software that searches recorded or live video for people, vehicles or objects by their appearance.",
        "It turns ordinary cameras into tools that follow people across a city.",
    ),
    Category.REAL_TIME_CRIME_CENTER: (
        6,
        [
            ("Fusus", "Core"),
            ("Motorola Solutions", "CommandCentral Aware"),
            ("Peregrine", "Platform"),
            ("Genetec", "Citigraf"),
            ("Mark43", "RMS"),
        ],
        "A room and software that bring together live camera feeds, plate reads and other sensor data.",
        "It combines many sources into continuous monitoring of public life.",
    ),
    Category.SOCIAL_MEDIA_MONITORING: (
        8,
        [
            ("Dataminr", "First Alert"),
            ("Babel Street", "Babel X"),
            ("Skopenow", "Investigations"),
            ("ShadowDragon", "SocialNet"),
            ("Cobwebs", "Tangles"),
            ("Voyager Labs", "Voyager Analytics"),
        ],
        "Services that search and watch public posts on social networks by keyword, place or person.",
        "It chills speech and association, and has been used to watch protesters.",
    ),
    Category.PREDICTIVE_POLICING: (
        4,
        [
            ("Geolitica", "PredPol"),
            ("ShotSpotter", "Connect"),
            ("Palantir", "Gotham"),
            ("Azavea", "HunchLab"),
        ],
        "Software that forecasts where crime will happen or who will be involved, from past records.",
        "Forecasts built on past policing send officers back to the same neighborhoods.",
    ),
    Category.CAMERA_REGISTRY: (
        5,
        [
            ("Ring", "Neighbors Public Safety Service"),
            ("Fusus", "Connect"),
            ("Verkada", "Camera Sharing"),
            ("Genetec", "Community Connect"),
        ],
        "A list of privately owned cameras whose owners agree to share footage with the city.",
        "It extends the city's view onto private porches, shops and streets.",
    ),
    Category.OTHER: (
        13,
        [
            ("Cellebrite", "UFED"),
            ("Magnet Forensics", "GrayKey"),
            ("Thomson Reuters", "CLEAR"),
            ("LexisNexis", "Accurint"),
            ("Axon", "Fleet 3"),
            ("Motorola Solutions", "WatchGuard 4RE"),
            ("Evolv", "Express"),
            ("SoundThinking", "CrimeTracer"),
        ],
        "Other tools that collect or analyze data about people, from phone extraction to data brokers.",
        "They gather personal data in bulk and are rarely disclosed.",
    ),
}
# Product lines come in generations and variants; past these, numbered series.
MODEL_SUFFIXES = (
    "",
    " 2",
    " 3",
    " Pro",
    " X",
    " Enterprise",
    " Mobile",
    " Fixed",
    " Cloud",
    " Lite",
    " Plus",
    " Max",
    " Mini",
    " Edge",
    " AI",
    " HD",
    " Air",
    " Ultra",
    " Core",
    " Fleet",
    " Trailer",
    " Portable",
    " Rugged",
    " 360",
    " Night",
    " Thermal",
    " Command",
    " Field",
    " Live",
)
PURPOSES: dict[str, tuple[str, ...]] = {
    Category.LICENSE_PLATE_READERS: ("recovering stolen vehicles", "AMBER alerts", "parking enforcement"),
    Category.DRONES: ("search and rescue", "fire scene assessment", "bridge inspections", "crash scenes"),
    Category.BODY_WORN_CAMERAS: ("patrol officers", "inspectors", "school resource officers"),
    Category.FACIAL_RECOGNITION: ("building access", "employee access control", "unlocking phones"),
    Category.CELL_SITE_SIMULATORS: ("locating missing persons", "fugitive apprehension"),
    Category.GUNSHOT_DETECTION: ("gunfire response", "evidence recovery"),
    Category.VIDEO_ANALYTICS: ("reviewing investigation footage", "traffic counts", "transit stations"),
    Category.REAL_TIME_CRIME_CENTER: ("major events", "incident response", "citywide camera access"),
    Category.SOCIAL_MEDIA_MONITORING: ("threat assessment", "event planning", "missing persons"),
    Category.PREDICTIVE_POLICING: ("patrol planning", "resource allocation"),
    Category.CAMERA_REGISTRY: ("business district cameras", "residential camera sharing"),
    Category.OTHER: ("phone evidence extraction", "locating witnesses", "venue security screening"),
}
FIRST_NAMES = [
    "Alex",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Riley",
    "Jamie",
    "Avery",
    "Quinn",
    "Rowan",
    "Sam",
    "Dana",
    "Robin",
    "Maya",
    "Omar",
    "Li",
    "Ana",
    "Hamza",
    "Fatima",
    "Nadia",
    "Carlos",
    "Lucia",
    "Tran",
    "Minh",
    "Ifeoma",
    "Kwame",
    "Ingrid",
    "Sofia",
    "Mateo",
    "Yusuf",
    "Hana",
    "Malik",
]
LAST_NAMES = [
    "Nguyen",
    "Johnson",
    "Garcia",
    "Hassan",
    "Olson",
    "Martinez",
    "Lee",
    "Anderson",
    "Ali",
    "Thompson",
    "Kim",
    "Patel",
    "Walker",
    "Lopez",
    "Yang",
    "Schmidt",
    "Osei",
    "Larson",
    "Mohamed",
    "Rivera",
    "Chen",
    "Brooks",
    "Haddad",
    "Vang",
    "Ortiz",
    "Novak",
]
RETENTION = ("30 days", "90 days", "1 year", "3 years", "Until the case closes", "7 days unless flagged")
RECIPIENTS = (
    "County attorney",
    "State patrol",
    "FBI field office",
    "Neighboring police departments",
    "Vendor",
)
OPINIONS = (
    (workflow.Opinion.SUPPORTS, 40),
    (workflow.Opinion.RECOMMENDS_CHANGES, 35),
    (workflow.Opinion.OBJECTS, 15),
    (workflow.Opinion.TAKES_NO_ACTION, 10),
)
RETURN_REASONS = (
    "The data retention section does not say how long footage is kept.",
    "Please list every outside body that would receive data.",
    "The impact report is missing the cost estimate.",
    "Describe the alternatives considered.",
)
WITHDRAW_REASONS = (
    "The department no longer plans to acquire this technology.",
    "The grant that would have paid for it was not awarded.",
    "We will file a narrower request.",
)
REVOKE_REASONS = (
    "The department used it beyond the approved purpose.",
    "The annual report showed the data was shared without approval.",
)
APPROVE_SUMMARIES = (
    "Approved for the stated purpose; data shared only as the use policy allows.",
    "Approved after the hearing; the council asked for a report on its use.",
    "Approved for the term requested.",
)
DENY_SUMMARIES = (
    "The benefits shown do not outweigh the risks to civil liberties.",
    "The request did not show that less invasive alternatives were considered.",
    "The data retention and sharing terms are too broad.",
)
CONDITIONS = (
    "Publish the use policy on the department's website.",
    "Delete data not tied to an investigation within 30 days.",
    "Report each use to the council quarterly.",
    "Train every operator before use.",
    "Do not share data with federal immigration authorities.",
    "Commission an independent audit within a year.",
)
CONDITION_MET = ("Confirmed by the department's report.", "Staff checked the published policy.")
COMMENT_BODIES = (
    "I support this; it will help find missing people faster.",
    "Who will see this data, and for how long is it kept?",
    "This is mass surveillance of people who have done nothing wrong.",
    "Please require an audit every year if you approve it.",
    "The cost is too high for what it promises.",
    "Our block association asked for this after the break-ins.",
)
PLACES = ("Central Library, Room 2", "Community center, main hall", "City Hall, Room 317", "Online")
HEARING_ROOMS = ("Council Chamber", "Room 317", "Committee Room A")


# ---------------------------------------------------------------------------
# The law, as the generator reads it
# ---------------------------------------------------------------------------


@dataclass
class Law:
    """One ordinance in force, with what the generator needs of it, read once."""

    ordinance: Ordinance
    city: str
    path: list[str]
    vote: ProcessStep | None
    advisory: ProcessStep | None
    rules: dict[str, str]  # category -> rule, where it has one
    exceptions: dict[str, list[int]]  # category -> ids of exceptions that apply
    weight: int = 1

    def has(self, step: str) -> bool:
        return step in self.path


def read_law(ordinance: Ordinance) -> Law:
    rules = {}
    for category in Category.values:
        rule = ordinance_rule(ordinance.rules.all(), category)
        if rule is not None:
            rules[category] = rule.rule
    exceptions = {
        category: [e.pk for e in ordinance.exceptions.all() if e.applies_to(category)] for category in rules
    }
    city = re.sub(r"^City of ", "", ordinance.jurisdiction).strip() or ordinance.file_number
    every_other = any(r.category == EVERY_OTHER_CATEGORY for r in ordinance.rules.all())
    return Law(
        ordinance=ordinance,
        city=city,
        path=[step.kind for step in ordinance.path()],
        vote=ordinance.step(Step.VOTE),
        advisory=ordinance.step(Step.ADVISORY_REVIEW),
        rules=rules,
        exceptions=exceptions,
        weight=3 if every_other else 1,
    )


# ---------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------

TZ = timezone.get_current_timezone()


def local_day(moment: datetime.datetime) -> datetime.date:
    return moment.astimezone(TZ).date()


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=TZ)


@contextlib.contextmanager
def explicit_timestamps(*fields: models.DateTimeField) -> Iterator[None]:
    """
    Let rows keep the `updated_at` they are given: `bulk_create` calls `pre_save`, which
    would stamp every auto_now field with the moment of the insert.
    """
    saved = [(f, f.auto_now) for f in fields]
    for f, _ in saved:
        f.auto_now = False
    try:
        yield
    finally:
        for f, value in saved:
            f.auto_now = value


def _field(model: type[models.Model], name: str) -> models.DateTimeField:
    found = model._meta.get_field(name)
    assert isinstance(found, models.DateTimeField)
    return found


# ---------------------------------------------------------------------------
# One request's life
# ---------------------------------------------------------------------------


@dataclass
class Life:
    """The events of one request as the workflow would have written them, in order."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    # Record events beside the path (comments moderated, conditions), merged in time order.
    extra: list[tuple[Any, ...]] = field(default_factory=list)
    status: str = ""
    changes: list[tuple[datetime.datetime, str]] = field(default_factory=list)

    def step(
        self,
        moment: datetime.datetime,
        action: str,
        to: str | None,
        role: str,
        actor: tuple[int, str] | None,
        data: dict[str, Any] | None = None,
        note: str = "",
        public: bool = True,
    ) -> None:
        if self.events and moment <= self.events[-1][0]:
            moment = self.events[-1][0] + datetime.timedelta(seconds=1)
        before = self.status
        if to is not None:
            self.status = to
            self.changes.append((moment, to))
        self.events.append((moment, action, before, self.status, role, actor, data or {}, note, public))

    @property
    def last(self) -> datetime.datetime:
        return self.events[-1][0]

    def status_at(self, moment: datetime.datetime) -> str:
        index = bisect.bisect_right([m for m, _ in self.changes], moment) - 1
        return self.changes[index][1] if index >= 0 else S.DRAFT

    def record(
        self,
        moment: datetime.datetime,
        action: str,
        role: str,
        actor: tuple[int, str] | None,
        data: dict[str, Any],
        note: str = "",
        public: bool = True,
    ) -> None:
        """An event that does not move the request (a comment moderated, a condition changed)."""
        status = self.status_at(moment)
        self.extra.append((moment, action, status, status, role, actor, data, note, public))

    def timeline(self) -> list[tuple[Any, ...]]:
        return sorted(self.events + self.extra, key=lambda e: e[0])


class Ran(Exception):
    """The request's history reached today: it stays where it stands."""


@dataclass
class Use:
    agency_id: int
    technology_id: int
    category: str
    law: Law
    product: str


@dataclass
class Approval:
    """An approval a later renewal may renew (kept only while its status allows it)."""

    pk: int
    reference: str
    use: Use
    decided: datetime.datetime
    expires_on: datetime.date
    title: str


class Generator:
    """Builds the rows in memory, a chunk at a time, with primary keys assigned here."""

    def __init__(
        self, rng: random.Random, now: datetime.datetime, laws: list[Law], out: Callable[[str], None]
    ) -> None:
        self.rng = rng
        self.now = now
        self.today = local_day(now)
        self.laws = laws
        self.out = out
        self.ids: dict[type[models.Model], int] = {}
        self.counts: dict[str, int] = {}
        self.timings: list[tuple[str, float]] = []
        self.pool: list[Approval] = []
        self.annual_keys: set[tuple[int, int, int, int]] = set()
        self.reference_numbers: dict[int, int] = {}
        self.conditions: list[Condition] = []  # those of the decision just made

    # -- bookkeeping ---------------------------------------------------------

    def next_id(self, model: type[models.Model]) -> int:
        if model not in self.ids:
            self.ids[model] = (model._default_manager.aggregate(m=Max("pk"))["m"] or 0) + 1
        pk = self.ids[model]
        self.ids[model] = pk + 1
        return pk

    def insert(
        self, model: type[models.Model], rows: Sequence[models.Model], label: str | None = None
    ) -> None:
        if rows:
            model._default_manager.bulk_create(rows, batch_size=BATCH)
        key = label or str(model._meta.verbose_name_plural)
        self.counts[key] = self.counts.get(key, 0) + len(rows)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        yield
        seconds = time.monotonic() - start
        self.timings.append((name, seconds))
        self.out(f"  {name}: {seconds:.1f} s")

    def reference(self, year: int) -> str:
        if year not in self.reference_numbers:
            self.reference_numbers[year] = workflow.last_reference_number(year)
        self.reference_numbers[year] += 1
        return workflow.reference(year, self.reference_numbers[year])

    def later(self, moment: datetime.datetime, low: float, high: float) -> datetime.datetime:
        """A working-hours moment `low` to `high` days after `moment`; past today ends the history."""
        day = local_day(moment) + datetime.timedelta(days=self.rng.randint(int(low), int(high)))
        result = at(day, self.rng.randint(8, 16), self.rng.randint(0, 59))
        if result <= moment:
            result = moment + datetime.timedelta(minutes=self.rng.randint(5, 120))
        if result > self.now:
            raise Ran
        return result

    def on_schedule(self, day: datetime.date, hour: int = 1) -> datetime.datetime:
        """When the portal's nightly run does something due on `day`; past today ends the history."""
        result = at(day, hour, self.rng.randint(0, 30))
        if result > self.now:
            raise Ran
        return result

    # -- reference data -------------------------------------------------------

    def people(self, count: int, group: Group, prefix: str, taken: set[str]) -> list[tuple[int, str]]:
        users, out = [], []
        for n in range(count):
            first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
            username = unique(f"{prefix}{n + 1:04d}", taken, sep=".")
            pk = self.next_id(User)
            users.append(
                User(
                    id=pk,
                    username=username,
                    first_name=first,
                    last_name=last,
                    email=f"{username}@example.org",
                    is_staff=True,
                    password="!" + "".join(self.rng.choices("abcdefghijkmnopqrstuvwxyz23456789", k=40)),
                    date_joined=self.now,
                )
            )
            out.append((pk, f"{first} {last}"))
        self.insert(User, users, "users")
        through = User.groups.through
        through.objects.bulk_create(
            [through(user_id=u.pk, group_id=group.pk) for u in users], batch_size=BATCH
        )
        return out

    def agencies(self, count: int) -> list[tuple[int, Law, bool]]:
        """`count` agencies spread over the laws' cities, most important first (rank order)."""
        taken_names = set(Agency.objects.values_list("name", flat=True))
        taken_slugs = set(Agency.objects.values_list("slug", flat=True))
        voters = [law for law in self.laws if law.vote is not None] or self.laws
        top = max(voters, key=lambda law: (law.weight, len(law.rules)))
        order = [top] + [law for law in self.laws if law is not top]
        assigned = order[:count] + [
            self.rng.choices(self.laws, weights=[law.weight for law in self.laws])[0]
            for _ in range(count - len(order[:count]))
        ]
        per_city: dict[str, int] = {}
        rows = []
        result = []
        for law in assigned:
            n = per_city.get(law.city, 0)
            per_city[law.city] = n + 1
            name, kind, covered = self.agency_name(law.city, n)
            name = unique(name, taken_names, sep=" ")
            slug = unique(slugify(name)[:70], taken_slugs)
            pk = self.next_id(Agency)
            rows.append(
                Agency(
                    id=pk,
                    name=name,
                    slug=slug,
                    kind=kind,
                    covered=covered,
                    website=f"https://www.example.gov/{slug}",
                    description=f"A department of {law.ordinance.jurisdiction}."
                    if covered
                    else "An outside agency that works in the city; the city's ordinances do not bind it.",
                    updated_at=self.now - datetime.timedelta(days=self.rng.randint(1, 900)),
                )
            )
            result.append((pk, law, covered))
        with explicit_timestamps(_field(Agency, "updated_at")):
            self.insert(Agency, rows, "agencies")
        return result

    def agency_name(self, city: str, n: int) -> tuple[str, str, bool]:
        if n < len(DEPARTMENTS):
            template, kind = DEPARTMENTS[n]
            return template.format(city=city), kind, True
        n -= len(DEPARTMENTS)
        if n == 0:
            return f"{COUNTIES.get(city, city)} County Sheriff's Office", Agency.Kind.SHERIFF, False
        n -= 1
        if n < len(POLICE_UNITS):
            return f"{city} Police Department, {POLICE_UNITS[n]}", Agency.Kind.POLICE, True
        n -= len(POLICE_UNITS)
        label = ORDINALS[n] if n < len(ORDINALS) else f"District {n + 1}"
        return f"{city} Police Department, {label} Precinct", Agency.Kind.POLICE, True

    def technologies(self, count: int) -> list[tuple[int, str, str]]:
        taken_names = set(Technology.objects.values_list("name", flat=True))
        taken_slugs = set(Technology.objects.values_list("slug", flat=True))
        categories = list(TECH_CATALOG)
        weights = [TECH_CATALOG[c][0] for c in categories]
        used: dict[str, int] = {}
        rows, result = [], []
        for n in range(count):
            # The first of each category, then by share.
            category = categories[n] if n < len(categories) else self.rng.choices(categories, weights)[0]
            _share, products, description, concerns = TECH_CATALOG[category]
            i = used.get(category, 0)
            used[category] = i + 1
            vendor, product = products[i % len(products)]
            round_ = i // len(products)
            suffix = (
                MODEL_SUFFIXES[round_]
                if round_ < len(MODEL_SUFFIXES)
                else f" Series {round_ - len(MODEL_SUFFIXES) + 2}"
            )
            name = unique(f"{vendor} {product}{suffix}", taken_names, sep=" ")
            slug = unique(slugify(name)[:70], taken_slugs)
            pk = self.next_id(Technology)
            rows.append(
                Technology(
                    id=pk,
                    name=name,
                    slug=slug,
                    category=category,
                    description=description,
                    civil_liberties_concerns=concerns,
                    vendors=vendor,
                    updated_at=self.now - datetime.timedelta(days=self.rng.randint(1, 900)),
                )
            )
            result.append((pk, category, f"{product}{suffix}"))
        with explicit_timestamps(_field(Technology, "updated_at")):
            self.insert(Technology, rows, "technologies")
        return result

    def uses(
        self, agencies: list[tuple[int, Law, bool]], technologies: list[tuple[int, str, str]], count: int
    ) -> list[Use]:
        """The inventory: each agency's quota by Zipf rank, its technologies drawn by theirs."""
        count = min(count, len(agencies) * len(technologies))
        quotas = zipf_quotas(len(agencies), count, AGENCY_SKEW, cap=len(technologies))
        order = list(range(len(technologies)))
        self.rng.shuffle(order)  # which technology is how popular
        tech_weight = [0.0] * len(technologies)
        for rank, index in enumerate(order):
            tech_weight[index] = (rank + 1) ** -TECHNOLOGY_SKEW
        cumulative = list(itertools.accumulate(tech_weight))
        indexes = range(len(technologies))
        rows, result = [], []
        for (agency_id, law, _covered), quota in zip(agencies, quotas, strict=True):
            # Weighted sampling without replacement (Efraimidis-Spirakis).
            # Weighted sampling without replacement: draw, keep each technology's first draw.
            picked: dict[int, None] = {}
            while len(picked) < quota:
                for i in self.rng.choices(indexes, cum_weights=cumulative, k=2 * (quota - len(picked))):
                    picked.setdefault(i)
            chosen = list(picked)[:quota]
            for i in sorted(chosen):
                tech_id, category, product = technologies[i]
                since = self.today - datetime.timedelta(days=self.rng.randint(200, 12 * 365))
                rows.append(
                    build(
                        TechnologyUse,
                        id=self.next_id(TechnologyUse),
                        agency_id=agency_id,
                        technology_id=tech_id,
                        vendor_product=product,
                        in_use_since=since,
                        retention=self.rng.choice(RETENTION),
                        data_sharing_recipients="\n".join(
                            self.rng.sample(RECIPIENTS, self.rng.randint(0, 3))
                        ),
                        annual_cost=Decimal(self.rng.randint(20, 4000) * 250),
                        updated_at=self.now - datetime.timedelta(days=self.rng.randint(1, 900)),
                    )
                )
                result.append(Use(agency_id, tech_id, category, law, product))
        with explicit_timestamps(_field(TechnologyUse, "updated_at")):
            self.insert(TechnologyUse, rows, "technology uses")
        return result

    # -- requests -------------------------------------------------------------

    def slots(self, count: int, years: int, forced: list[str]) -> list[tuple[datetime.datetime, str | None]]:
        """When each request is started, oldest first, with the state a few must reach."""
        span = max(1, int(years * 365.25 * 86400))
        slots: list[tuple[datetime.datetime, str | None]] = []
        days = span / 86400

        def back(low: float, high: float) -> datetime.datetime:
            low, high = min(low, days * 0.5), min(high, days * 0.95)
            return self.now - datetime.timedelta(days=self.rng.uniform(low, max(low, high)))

        for fate in forced[:count]:
            if fate == S.EXPIRED:
                slots.append((back(900, 1500), fate))
            elif fate in (S.APPROVED, S.APPROVED_WITH_CONDITIONS, S.REVOKED, S.PUBLISHED):
                slots.append((back(400, 700), fate))
            else:
                slots.append((back(300, 500), fate))
        while len(slots) < count:
            slots.append((self.now - datetime.timedelta(seconds=self.rng.randrange(span)), None))
        slots.sort(key=lambda slot: slot[0])
        return slots

    def requests(
        self,
        count: int,
        years: int,
        uses: list[Use],
        liaisons: dict[int, tuple[int, str]],
        staff: list[tuple[int, str]],
    ) -> None:
        requestable = [u for u in uses if u.agency_id in liaisons and u.category in u.law.rules]
        if not requestable:
            raise CommandError("No agency uses a technology its ordinance governs; nothing to request.")
        forced = self.forced_fates(requestable)
        self.staff = staff
        self.liaisons = liaisons
        slots = self.slots(count, years, [fate for fate, _ in forced])
        forced_uses = {fate: candidates for fate, candidates in forced}
        for start in range(0, len(slots), CHUNK):
            chunk = Chunk()
            for created, fate in slots[start : start + CHUNK]:
                use = self.rng.choice(forced_uses[fate]) if fate is not None else self.rng.choice(requestable)
                self.one_request(chunk, created, use, fate)
            chunk.write(self)

    def forced_fates(self, requestable: list[Use]) -> list[tuple[str, list[Use]]]:
        """For each state, the uses whose law reaches it (the state left out if none)."""

        def fits(fate: str, use: Use) -> bool:
            law = use.law
            rule = law.rules[use.category]
            if fate in (S.ACCEPTED, S.REFERRED):
                return True
            if fate in (S.ADVISORY_REVIEW, S.ADVISED):
                return law.has(Step.ADVISORY_REVIEW)
            if fate == S.PUBLIC_COMMENT:
                return law.has(Step.PUBLIC_COMMENT)
            if fate == S.HEARING_SCHEDULED:
                return law.has(Step.HEARING)
            if fate == S.PUBLISHED:
                return law.has(Step.PUBLICATION)
            if fate in (S.APPROVED, S.APPROVED_WITH_CONDITIONS, S.DENIED, S.EXPIRED, S.REVOKED):
                return law.vote is not None and (fate != S.EXPIRED or rule != CategoryRule.Rule.PROHIBITED)
            return True

        forced = []
        for fate in S.values:
            candidates = [u for u in requestable if fits(fate, u)]
            if candidates:
                forced.append((fate, candidates))
            else:
                self.out(f"  note: no loaded ordinance reaches “{fate}”; no request is left there")
        return forced

    def one_request(self, chunk: Chunk, created: datetime.datetime, use: Use, fate: str | None) -> None:
        rng = self.rng
        law = use.law
        rule = law.rules[use.category]
        age = (self.now - created).days
        forced = fate is not None
        # What kind of request.
        renewed: Approval | None = None
        if fate in (S.ACCEPTED, S.REFERRED) or (fate is None and rng.random() < 0.05):
            kind = K.EMERGENCY_REPORT
        elif rule == CategoryRule.Rule.PROHIBITED:
            kind = K.EXCEPTION
        else:
            kind = K.APPROVAL
            if fate is None and rng.random() < 0.18:
                renewed = self.renewable(created)
                if renewed is not None:
                    kind = K.RENEWAL
                    use = renewed.use
                    law = use.law
        # Where it is meant to end, unless today comes first.
        if fate is None:
            fate = self.fate(kind, law, age)
        pace = 0.4 if fate in PENDING_STOPS or fate == S.HEARING_SCHEDULED else 1.0
        liaison = self.liaisons[use.agency_id]
        pk = self.next_id(Request)
        category_label = Category(use.category).label
        purpose_words = rng.choice(PURPOSES[use.category])
        if kind == K.RENEWAL:
            assert renewed is not None
            title = f"Renewal: {renewed.title}"[:200]
        elif kind == K.EMERGENCY_REPORT:
            title = f"Emergency use of {use.product} for {purpose_words}"
        elif kind == K.EXCEPTION:
            title = f"Exception to use {use.product} for {purpose_words}"
        else:
            title = f"{use.product} for {purpose_words}"
        exception_id = None
        if kind == K.EXCEPTION and law.exceptions.get(use.category) and rng.random() < 0.75:
            exception_id = rng.choice(law.exceptions[use.category])
        term = None
        if kind in (K.EXCEPTION, K.APPROVAL, K.RENEWAL):
            term = rng.choice((365, 365, 730, 730, 1095, 1825))
            if fate in (S.APPROVED, S.APPROVED_WITH_CONDITIONS, S.REVOKED):
                term = 1825 if age < 1300 else term
            if fate == S.EXPIRED:
                term = 365
        emergency_used_on = None
        if kind == K.EMERGENCY_REPORT:
            emergency_used_on = local_day(created) - datetime.timedelta(days=rng.randint(0, 12))
        request = build(
            Request,
            id=pk,
            reference=self.reference(local_day(created).year),
            kind=kind,
            agency_id=use.agency_id,
            technology_id=use.technology_id,
            ordinance_id=law.ordinance.pk,
            exception_id=exception_id,
            title=title[:200],
            purpose=f"To use {use.product} ({str(category_label).lower()}) for {purpose_words}.",
            justification=f"The department needs it for {purpose_words}; see the attached impact report.",
            alternatives_considered="Staff time and existing tools were considered and found insufficient.",
            data_collected=f"Data captured by {use.product} during {purpose_words}.",
            retention=rng.choice(RETENTION),
            sharing=rng.choice(("No one outside the department.", "The county attorney, on request.")),
            requested_term_days=term,
            emergency_used_on=emergency_used_on,
            renews_id=renewed.pk if renewed else None,
            created_by_id=liaison[0],
            created_at=created,
            is_demo=False,
        )
        life = Life()
        life.step(created, A.CREATE, S.DRAFT, Role.LIAISON, liaison, public=False)
        decision: Decision | None = None
        with contextlib.suppress(Ran):
            decision = self.walk(chunk, request, life, law, kind, fate, pace, liaison)
        if kind == K.EMERGENCY_REPORT and request.submitted_at is not None:
            self.emergency_use(chunk, request, law, liaison, life)
        if decision is not None:
            self.after_decision(chunk, request, life, law, decision, fate, forced, liaison)
        if request.comment_period_opened_on is not None:
            self.comments(chunk, request, life)
        request.status = life.status
        # The workflow saves the request (and its updated_at) at each step of its path.
        request.updated_at = life.last
        timeline = life.timeline()
        # And `public_updated_at`, as `workflow._record` keeps it: its latest public event.
        request.public_updated_at = max(
            (event[0] for event in timeline if event[-1]), default=request.created_at
        )
        chunk.requests.append(request)
        for moment, action, before, after, role, actor, data, note, public in timeline:
            chunk.events.append(
                build(
                    Event,
                    id=self.next_id(Event),
                    request_id=pk,
                    created_at=moment,
                    actor_id=actor[0] if actor else None,
                    actor_name=actor[1] if actor else "",
                    actor_role=role,
                    action=action,
                    from_status=before,
                    to_status=after,
                    data=data,
                    note=note,
                    is_public=public,
                )
            )
        if (
            kind in (K.APPROVAL, K.RENEWAL)
            and request.status in Request.RENEWABLE_STATES
            and decision is not None
            and decision.expires_on is not None
        ):
            self.pool.append(
                Approval(pk, request.reference, use, at(decision.decided_on, 20), decision.expires_on, title)
            )

    def renewable(self, created: datetime.datetime) -> Approval | None:
        """An earlier approval, decided before `created`, to renew (each renewed once)."""
        day = local_day(created)
        for _ in range(12):
            if not self.pool:
                return None
            i = self.rng.randrange(len(self.pool))
            candidate = self.pool[i]
            window = -200 <= (candidate.expires_on - day).days <= 150
            if candidate.decided < created - datetime.timedelta(days=30) and window:
                self.pool[i] = self.pool[-1]
                self.pool.pop()
                return candidate
        return None

    def fate(self, kind: str, law: Law, age: int) -> str:
        """Where a request is meant to end, before today cuts it short."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.03 or (age < 20 and roll < 0.25):
            return S.DRAFT
        if kind == K.EMERGENCY_REPORT:
            return S.ACCEPTED if rng.random() < 0.85 else S.REFERRED
        if roll < 0.07:
            return S.WITHDRAWN
        if roll < 0.085:
            return S.RETURNED
        if law.vote is None:
            return S.PUBLISHED
        roll = rng.random()
        if roll < 0.5:
            return S.APPROVED
        if roll < 0.78:
            return S.APPROVED_WITH_CONDITIONS
        return S.DENIED

    def walk(
        self,
        chunk: Chunk,
        r: Request,
        life: Life,
        law: Law,
        kind: str,
        fate: str,
        pace: float,
        liaison: tuple[int, str],
    ) -> Decision | None:
        """The request's path through the workflow, up to its fate or today."""
        rng = self.rng
        staff = rng.choice(self.staff)
        if fate == S.DRAFT:
            return None
        t = self.later(life.last, 0, 20 * pace)
        life.step(t, A.SUBMIT, S.SUBMITTED, Role.LIAISON, liaison, self.report_due(r, law))
        r.submitted_at = t
        # How many places along the way a withdrawal may come.
        stops = [S.SUBMITTED, S.IN_REVIEW]
        for kind_of_step, states in (
            (Step.ADVISORY_REVIEW, [S.ADVISORY_REVIEW, S.ADVISED]),
            (Step.PUBLIC_COMMENT, [S.PUBLIC_COMMENT]),
            (Step.HEARING, [S.HEARING_SCHEDULED]),
        ):
            if law.has(kind_of_step):
                stops += states
        withdraw_at = rng.choice(stops) if fate == S.WITHDRAWN else None

        def stop_here(state: str) -> bool:
            if withdraw_at == state:
                moment = self.later(life.last, 1, 40)
                life.step(
                    moment, A.WITHDRAW, S.WITHDRAWN, Role.LIAISON, liaison, note=rng.choice(WITHDRAW_REASONS)
                )
                return True
            return fate == state

        if stop_here(S.SUBMITTED):
            return None
        t = self.later(life.last, 1, 10 * pace)
        life.step(t, A.BEGIN_REVIEW, S.IN_REVIEW, Role.STAFF, staff)
        if fate == S.RETURNED or (fate != S.IN_REVIEW and rng.random() < 0.08):
            t = self.later(life.last, 2, 20 * pace)
            life.step(t, A.RETURN_TO_AGENCY, S.RETURNED, Role.STAFF, staff, note=rng.choice(RETURN_REASONS))
            if fate == S.RETURNED:
                return None
            t = self.later(life.last, 3, 30 * pace)
            life.step(
                t,
                A.SUBMIT,
                S.SUBMITTED,
                Role.LIAISON,
                liaison,
                {**self.report_due(r, law), "resubmission": True},
            )
            t = self.later(life.last, 1, 7 * pace)
            life.step(t, A.BEGIN_REVIEW, S.IN_REVIEW, Role.STAFF, staff)
        if kind == K.EMERGENCY_REPORT:
            if fate == S.IN_REVIEW:
                return None
            t = self.later(life.last, 3, 30 * pace)
            if fate == S.REFERRED:
                life.step(
                    t,
                    A.REFER_TO_FULL_REVIEW,
                    S.REFERRED,
                    Role.STAFF,
                    staff,
                    note="The use needs full review.",
                )
            else:
                life.step(t, A.ACCEPT_REPORT, S.ACCEPTED, Role.STAFF, staff)
            return None
        if stop_here(S.IN_REVIEW):
            return None
        ordinance = law.ordinance
        comment_ends: datetime.date | None = None
        for step in law.path:
            if step == Step.ADVISORY_REVIEW:
                t = self.later(life.last, 2, 25 * pace)
                referred = local_day(t)
                r.advisory_referred_on = referred
                silence = deadlines.due_on(ordinance, Deadline.Kind.ADVISORY_SILENCE, referred)
                body = law.advisory.body if law.advisory else ""
                life.step(
                    t,
                    A.REFER_TO_ADVISORY,
                    S.ADVISORY_REVIEW,
                    Role.STAFF,
                    staff,
                    {"body": body, "respond_by": silence},
                )
                if stop_here(S.ADVISORY_REVIEW):
                    return None
                if silence is not None and rng.random() < 0.15:
                    t = self.on_schedule(silence + datetime.timedelta(days=1))
                    life.step(
                        t,
                        A.PROCEED_AFTER_SILENCE,
                        S.ADVISED,
                        Role.SYSTEM,
                        None,
                        {"body": body, "respond_by": silence},
                    )
                else:
                    limit = (silence - referred).days if silence else 120
                    t = self.later(life.last, min(10, limit), max(min(10, limit), limit * pace))
                    opinion = rng.choices([o for o, _ in OPINIONS], [w for _, w in OPINIONS])[0]
                    life.step(
                        t,
                        A.RECORD_ADVISORY_OPINION,
                        S.ADVISED,
                        Role.STAFF,
                        staff,
                        {"body": body, "opinion": opinion},
                    )
                if stop_here(S.ADVISED):
                    return None
            elif step == Step.COMMUNITY_MEETING:
                held = self.later(life.last, 5, 30 * pace)
                held = at(local_day(held), 18, 30)
                t = self.later(held, 1, 3)
                meeting = {"held_on": local_day(held), "place": rng.choice(PLACES)}
                life.step(t, A.RECORD_COMMUNITY_MEETING, None, Role.STAFF, staff, meeting)
            elif step == Step.PUBLIC_COMMENT:
                t = self.later(life.last, 2, 14 * pace)
                opened = local_day(t)
                comment_ends = deadlines.due_on(ordinance, Deadline.Kind.COMMENT_PERIOD, opened) or (
                    opened + datetime.timedelta(days=rng.choice((21, 30, 30, 45)))
                )
                r.comment_period_opened_on, r.comment_period_ends_on = opened, comment_ends
                life.step(
                    t,
                    A.OPEN_COMMENT_PERIOD,
                    S.PUBLIC_COMMENT,
                    Role.STAFF,
                    staff,
                    {"opened_on": opened, "ends_on": comment_ends},
                )
                closed = comment_ends + datetime.timedelta(days=1)
                t = self.on_schedule(closed)
                life.step(
                    t,
                    A.CLOSE_COMMENT_PERIOD,
                    None,
                    Role.SYSTEM,
                    None,
                    {"ends_on": comment_ends, "closed_on": closed},
                )
                r.comment_period_closed_on = closed
                if stop_here(S.PUBLIC_COMMENT):
                    return None
            elif step == Step.HEARING:
                t = self.later(life.last, 1, 20 * pace)
                noticed = local_day(t)
                earliest = deadlines.due_on(ordinance, Deadline.Kind.HEARING_NOTICE, noticed) or noticed
                day = max(earliest, noticed + datetime.timedelta(days=rng.randint(10, 35)))
                if comment_ends is not None and day <= comment_ends:
                    day = comment_ends + datetime.timedelta(days=rng.randint(3, 20))
                hearing_at = at(day, 18)
                place: dict[str, str] = {"hearing_address": "City Hall, 1 Civic Center Plaza"}
                place["hearing_room"] = rng.choice(HEARING_ROOMS)
                if rng.random() < 0.6:
                    place["hearing_remote_url"] = f"https://meetings.example.gov/{r.reference.lower()}"
                if rng.random() < 0.5:
                    place["hearing_agenda_url"] = f"https://council.example.gov/agendas/{day.isoformat()}"
                for name, value in place.items():
                    setattr(r, name, value)
                r.hearing_at, r.hearing_noticed_on = hearing_at, noticed
                data: dict[str, Any] = {"hearing_at": hearing_at, "noticed_on": noticed}
                data.update({name.removeprefix("hearing_"): value for name, value in place.items()})
                life.step(t, A.SCHEDULE_HEARING, S.HEARING_SCHEDULED, Role.STAFF, staff, data)
                if stop_here(S.HEARING_SCHEDULED):
                    return None
        if fate in (S.WITHDRAWN, S.RETURNED) or fate in PENDING_STOPS or fate == S.HEARING_SCHEDULED:
            return None
        return self.decide(chunk, r, life, law, fate, staff)

    def report_due(self, r: Request, law: Law) -> dict[str, Any]:
        if r.kind != K.EMERGENCY_REPORT or r.emergency_used_on is None:
            return {}
        due = deadlines.due_on(law.ordinance, Deadline.Kind.EMERGENCY_REPORT, r.emergency_used_on)
        return {"report_due_on": due} if due is not None else {}

    def decide(
        self, chunk: Chunk, r: Request, life: Life, law: Law, fate: str, staff: tuple[int, str]
    ) -> Decision:
        rng = self.rng
        if r.hearing_at is not None:
            if r.hearing_at > self.now:
                raise Ran
            t = r.hearing_at + datetime.timedelta(minutes=rng.randint(60, 180))
            if t > self.now:
                raise Ran
        else:
            t = self.later(life.last, 7, 45)
        decided = local_day(t)
        decision = build(
            Decision, id=self.next_id(Decision), request_id=r.pk, decided_on=decided, language=r.language
        )
        if law.vote is None:
            earliest_use = None
            if r.comment_period_opened_on is not None:
                earliest_use = deadlines.due_on(
                    law.ordinance, Deadline.Kind.POLICY_BEFORE_USE, r.comment_period_opened_on
                )
            effective = max(decided, earliest_use or decided)
            decision.outcome = Decision.Outcome.PUBLISHED
            decision.effective_on = effective
            decision.summary = "The final use policy is published with this notice."
            life.step(
                t,
                A.PUBLISH_POLICY,
                S.PUBLISHED,
                Role.STAFF,
                staff,
                {"decided_on": decided, "effective_on": effective},
                note=decision.summary,
            )
            chunk.decisions.append(decision)
            return decision
        step = law.vote
        approve = fate != S.DENIED
        yes, no, abstain, absent = votes(rng, step, approve=approve)
        decision.body, decision.seats = step.body, step.seats
        decision.votes_yes, decision.votes_no = yes, no
        decision.votes_abstain, decision.votes_absent = abstain, absent
        conditions: list[Condition] = []
        if approve:
            decision.effective_on = decided
            decision.expires_on = deadlines.approval_expires_on(law.ordinance, decided, r.requested_term_days)
            decision.summary = rng.choice(APPROVE_SUMMARIES)
            with_conditions = fate == S.APPROVED_WITH_CONDITIONS or (
                fate in (S.REVOKED, S.EXPIRED) and rng.random() < 0.3
            )
            if with_conditions:
                decision.outcome = Decision.Outcome.APPROVED_WITH_CONDITIONS
                for text in rng.sample(CONDITIONS, rng.randint(1, 3)):
                    due = decided + datetime.timedelta(days=rng.randint(30, 300))
                    conditions.append(
                        build(
                            Condition,
                            id=self.next_id(Condition),
                            decision_id=decision.pk,
                            text=text,
                            due_on=due,
                        )
                    )
                action, target = A.APPROVE_WITH_CONDITIONS, S.APPROVED_WITH_CONDITIONS
            else:
                decision.outcome = Decision.Outcome.APPROVED
                action, target = A.APPROVE, S.APPROVED
        else:
            decision.outcome = Decision.Outcome.DENIED
            decision.summary = rng.choice(DENY_SUMMARIES)
            action, target = A.DENY, S.DENIED
        data = {
            "decided_on": decided,
            "body": step.body,
            "seats": step.seats,
            "votes": {"yes": yes, "no": no, "abstain": abstain, "absent": absent},
            "effective_on": decision.effective_on,
            "expires_on": decision.expires_on,
            "conditions": [{"text": c.text, "due_on": c.due_on} for c in conditions],
        }
        life.step(
            t,
            action,
            target,
            Role.STAFF,
            staff,
            {k: v for k, v in data.items() if v not in (None, [])},
            note=decision.summary,
        )
        chunk.decisions.append(decision)
        chunk.conditions.extend(conditions)
        self.conditions = conditions
        return decision

    def after_decision(
        self,
        chunk: Chunk,
        r: Request,
        life: Life,
        law: Law,
        decision: Decision,
        fate: str,
        forced: bool,
        liaison: tuple[int, str],
    ) -> None:
        """Conditions met or overdue, then revocation or expiry; the oversight that follows."""
        rng = self.rng
        if life.status not in Request.APPROVED_STATES:
            if life.status == S.PUBLISHED:
                self.annual_reports(chunk, r, law, decision, None, liaison)
            return
        assert decision.effective_on is not None and decision.expires_on is not None
        decided_at = life.last
        end: datetime.datetime | None = None
        if fate == S.REVOKED or (not forced and rng.random() < 0.03):
            low = decision.effective_on + datetime.timedelta(days=30)
            high = min(decision.expires_on - datetime.timedelta(days=1), self.today)
            if low <= high:
                day = low + datetime.timedelta(days=rng.randint(0, (high - low).days))
                end = at(day, rng.randint(9, 16))
                if end > self.now:
                    end = None
        revoked = end is not None
        if end is None and decision.expires_on < self.today:
            end = at(decision.expires_on + datetime.timedelta(days=1), 1, rng.randint(0, 30))
        # Conditions falling due while the approval stands.
        for condition in (
            self.conditions if decision.outcome == Decision.Outcome.APPROVED_WITH_CONDITIONS else []
        ):
            assert condition.due_on is not None
            if condition.due_on >= self.today:
                continue
            if rng.random() < 0.75:
                day = condition.due_on - datetime.timedelta(days=rng.randint(0, 20))
                day = max(day, decision.decided_on + datetime.timedelta(days=1))
                moment = at(day, rng.randint(9, 16))
                status, role, actor, note = (
                    Condition.Status.MET,
                    Role.STAFF,
                    rng.choice(self.staff),
                    rng.choice(CONDITION_MET),
                )
            else:
                moment = at(condition.due_on + datetime.timedelta(days=1), 2, rng.randint(0, 30))
                status, role, actor, note = Condition.Status.OVERDUE, Role.SYSTEM, None, ""
            if moment > self.now or (end is not None and moment >= end) or moment <= decided_at:
                continue
            condition.status = status
            condition.status_changed_on = local_day(moment)
            data = {
                "condition": condition.pk,
                "text": condition.text,
                "old": Condition.Status.OPEN,
                "new": status,
            }
            life.record(moment, A.CONDITION, role, actor, data, note=note)
        if end is not None:
            if revoked:
                life.step(
                    end,
                    A.REVOKE,
                    S.REVOKED,
                    Role.STAFF,
                    rng.choice(self.staff),
                    note=rng.choice(REVOKE_REASONS),
                )
            else:
                life.step(end, A.EXPIRE, S.EXPIRED, Role.SYSTEM, None, {"expires_on": decision.expires_on})
        self.annual_reports(chunk, r, law, decision, end if revoked else None, liaison)
        if rng.random() < 0.012:
            self.violation(chunk, r, law, decision, end)

    # -- what hangs off a request ---------------------------------------------

    def comments(self, chunk: Chunk, r: Request, life: Life) -> None:
        rng = self.rng
        assert r.comment_period_opened_on is not None and r.comment_period_ends_on is not None
        opened = next(e[0] for e in life.events if e[1] == A.OPEN_COMMENT_PERIOD)
        closes = min(at(r.comment_period_ends_on, 23, 59), self.now)
        if closes <= opened:
            return
        count = rng.choice((0, 1, 2, 3, 4, 5, 6, 8)) if rng.random() > 0.05 else rng.randint(20, 60)
        seconds = int((closes - opened).total_seconds())
        for _ in range(count):
            submitted = opened + datetime.timedelta(seconds=rng.randint(1, seconds))
            comment = Comment(
                id=self.next_id(Comment),
                request_id=r.pk,
                name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)[0]}." if rng.random() < 0.7 else "",
                email=f"resident{rng.randint(1, 99999)}@example.net",
                position=rng.choice(Comment.Position.values),
                body=rng.choice(COMMENT_BODIES),
                submitted_at=submitted,
            )
            moderated = submitted + datetime.timedelta(minutes=rng.randint(60, 4 * 24 * 60))
            if moderated <= self.now and rng.random() < 0.95:
                staff = rng.choice(self.staff)
                comment.moderated_at, comment.moderated_by_id = moderated, staff[0]
                if rng.random() < 0.88:
                    comment.status = Comment.Status.PUBLISHED
                    life.record(moderated, A.COMMENT_PUBLISHED, Role.STAFF, staff, {"comment": comment.pk})
                else:
                    comment.status = Comment.Status.REJECTED
                    life.record(
                        moderated,
                        A.COMMENT_REJECTED,
                        Role.STAFF,
                        staff,
                        {"comment": comment.pk},
                        note="Off topic.",
                        public=False,
                    )
            chunk.comments.append(comment)

    def emergency_use(self, chunk: Chunk, r: Request, law: Law, liaison: tuple[int, str], life: Life) -> None:
        rng = self.rng
        assert r.emergency_used_on is not None and r.submitted_at is not None
        due = deadlines.due_on(law.ordinance, Deadline.Kind.EMERGENCY_REPORT, r.emergency_used_on)
        prerecorded = rng.random() < 0.5
        recorded_at = r.submitted_at
        if prerecorded:
            recorded_at = min(at(r.emergency_used_on, 19), r.submitted_at - datetime.timedelta(minutes=1))
        use = build(
            EmergencyUse,
            id=self.next_id(EmergencyUse),
            agency_id=r.agency_id,
            technology_id=r.technology_id,
            ordinance_id=law.ordinance.pk,
            used_on=r.emergency_used_on,
            ended_on=r.emergency_used_on if prerecorded else None,
            circumstances=f"{r.purpose}\n\n{r.justification}",
            report_id=r.pk,
            report_due_on=due,
            recorded_by_id=liaison[0] if prerecorded else None,
            recorded_at=recorded_at,
        )
        chunk.emergency_uses.append(use)
        if prerecorded:
            chunk.oversight_events.append(
                (
                    "emergency_use",
                    use.pk,
                    recorded_at,
                    OA.RECORD_EMERGENCY_USE,
                    Role.LIAISON,
                    liaison,
                    "",
                    "",
                    {"used_on": use.used_on, "ended_on": use.ended_on, "report_due_on": due},
                    "",
                    True,
                )
            )
        filed = local_day(r.submitted_at)
        chunk.oversight_events.append(
            (
                "emergency_use",
                use.pk,
                r.submitted_at,
                OA.EMERGENCY_REPORT_FILED,
                Role.LIAISON,
                None,
                "",
                "",
                {
                    "request": r.reference,
                    "filed_on": filed,
                    "report_due_on": due,
                    "late": due is not None and filed > due,
                    "recorded_from_report": (not prerecorded) or None,
                },
                "",
                True,
            )
        )

    def annual_reports(
        self,
        chunk: Chunk,
        r: Request,
        law: Law,
        decision: Decision,
        revoked_at: datetime.datetime | None,
        liaison: tuple[int, str],
    ) -> None:
        row = law.ordinance.deadline(Deadline.Kind.ANNUAL_REPORT)
        if row is None:
            return
        rng = self.rng
        approval = SimpleNamespace(decision=decision, submitted_at=r.submitted_at, revoked_at=revoked_at)
        for year, due in oversight._periods(approval, row, self.today):  # type: ignore[arg-type]
            key = (r.agency_id, r.technology_id, law.ordinance.pk, year)
            if key in self.annual_keys:
                continue
            self.annual_keys.add(key)
            report = build(
                AnnualReport,
                id=self.next_id(AnnualReport),
                agency_id=r.agency_id,
                technology_id=r.technology_id,
                ordinance_id=law.ordinance.pk,
                year=year,
                due_on=due,
            )
            events: list[tuple[datetime.datetime, str, str, str, str, Any, dict[str, Any], bool]] = []
            if due >= self.today:
                started = at(
                    max(self.today - datetime.timedelta(days=rng.randint(0, 30)), datetime.date(year, 1, 2)),
                    10,
                )
                if rng.random() < 0.6 or started > self.now:
                    continue
                report.created_at, report.created_by_id = started, liaison[0]
                events.append(
                    (
                        started,
                        OA.REPORT_STARTED,
                        "",
                        "draft",
                        Role.LIAISON,
                        liaison,
                        {"year": year, "due_on": due},
                        False,
                    )
                )
            elif rng.random() < 0.12:
                marked = at(due + datetime.timedelta(days=1), 2, rng.randint(0, 30))
                if marked > self.now:
                    continue
                report.created_at, report.overdue_since = marked, due + datetime.timedelta(days=1)
                events.append(
                    (
                        marked,
                        OA.REPORT_OVERDUE,
                        "draft",
                        "draft",
                        Role.SYSTEM,
                        None,
                        {"year": year, "due_on": due},
                        True,
                    )
                )
            else:
                submitted = at(
                    due + datetime.timedelta(days=rng.randint(-25, 3 if rng.random() < 0.9 else 40)), 11
                )
                submitted = min(submitted, self.now - datetime.timedelta(hours=1))
                started = submitted - datetime.timedelta(days=rng.randint(5, 40))
                report.created_at, report.created_by_id = started, liaison[0]
                report.status, report.submitted_at = AnnualReport.Status.SUBMITTED, submitted
                report.use_summary = (
                    f"Used for {rng.choice(PURPOSES[Category.OTHER])} and casework in {year}."
                )
                report.non_suspects_captured = (
                    "Yes, incidentally; that data is deleted after the retention period."
                )
                report.sharing = "None beyond the county attorney."
                report.complaints_count = rng.randint(0, 6)
                report.public_records_requests = rng.randint(0, 12)
                report.annual_cost = Decimal(rng.randint(10, 900) * 1000)
                events.append(
                    (
                        started,
                        OA.REPORT_STARTED,
                        "",
                        "draft",
                        Role.LIAISON,
                        liaison,
                        {"year": year, "due_on": due},
                        False,
                    )
                )
                filed = local_day(submitted)
                events.append(
                    (
                        submitted,
                        OA.REPORT_SUBMITTED,
                        "draft",
                        "submitted",
                        Role.LIAISON,
                        liaison,
                        {"due_on": due, "late": filed > due},
                        True,
                    )
                )
                accepted = submitted + datetime.timedelta(days=rng.randint(3, 45))
                if accepted <= self.now:
                    report.status, report.accepted_on = AnnualReport.Status.ACCEPTED, local_day(accepted)
                    events.append(
                        (
                            accepted,
                            OA.REPORT_ACCEPTED,
                            "submitted",
                            "accepted",
                            Role.STAFF,
                            rng.choice(self.staff),
                            {"accepted_on": local_day(accepted)},
                            True,
                        )
                    )
            report.updated_at = events[-1][0]
            chunk.annual_reports.append(report)
            for moment, action, before, after, role, actor, data, public in events:
                chunk.oversight_events.append(
                    ("annual_report", report.pk, moment, action, role, actor, before, after, data, "", public)
                )

    def violation(
        self, chunk: Chunk, r: Request, law: Law, decision: Decision, end: datetime.datetime | None
    ) -> None:
        rng = self.rng
        assert decision.effective_on is not None
        last = min(local_day(end) if end else self.today, self.today)
        if last <= decision.effective_on:
            return
        found = decision.effective_on + datetime.timedelta(
            days=rng.randint(1, (last - decision.effective_on).days)
        )
        occurred = found - datetime.timedelta(days=rng.randint(0, 60))
        occurred = max(occurred, decision.effective_on)
        staff = rng.choice(self.staff)
        recorded = at(found, 15)
        if recorded > self.now:
            return
        violation = build(
            Violation,
            id=self.next_id(Violation),
            agency_id=r.agency_id,
            technology_id=r.technology_id,
            ordinance_id=law.ordinance.pk,
            request_id=r.pk,
            description="Data was kept longer than the approval allows.",
            occurred_on=occurred,
            found_on=found,
            how_found=rng.choice(Violation.HowFound.values),
            recorded_by_id=staff[0],
            created_at=recorded,
        )
        events = [
            (
                recorded,
                OA.RECORD_VIOLATION,
                "",
                "investigating",
                {
                    "occurred_on": occurred,
                    "found_on": found,
                    "how_found": violation.how_found,
                    "request": r.reference,
                },
                False,
            )
        ]
        moment = recorded + datetime.timedelta(days=rng.randint(10, 120))
        if moment <= self.now:
            status = rng.choice(
                (Violation.Status.CONFIRMED, Violation.Status.REMEDIED, Violation.Status.UNFOUNDED)
            )
            violation.status = status
            fields = ["status", "investigation"]
            violation.investigation = "Staff reviewed the department's logs."
            if status == Violation.Status.REMEDIED:
                violation.remedy = "The data was deleted and operators retrained."
                violation.remedied_on = local_day(moment)
                fields += ["remedy", "remedied_on"]
            events.append(
                (
                    moment,
                    OA.UPDATE_VIOLATION,
                    "investigating",
                    status,
                    {"fields": fields, "remedied_on": violation.remedied_on},
                    False,
                )
            )
            published = moment + datetime.timedelta(days=rng.randint(1, 20))
            if published <= self.now and rng.random() < 0.8:
                violation.published_at = published
                events.append((published, OA.PUBLISH_VIOLATION, status, status, {}, True))
        violation.updated_at = events[-1][0]
        chunk.violations.append(violation)
        for moment, action, before, after, data, public in events:
            chunk.oversight_events.append(
                (
                    "violation",
                    violation.pk,
                    moment,
                    action,
                    Role.STAFF,
                    staff,
                    before,
                    after,
                    data,
                    "",
                    public,
                )
            )


@dataclass
class Chunk:
    """Rows of a few thousand requests, written together."""

    requests: list[Request] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    emergency_uses: list[EmergencyUse] = field(default_factory=list)
    annual_reports: list[AnnualReport] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    oversight_events: list[tuple[Any, ...]] = field(default_factory=list)

    def write(self, gen: Generator) -> None:
        with explicit_timestamps(
            _field(Request, "updated_at"), _field(Violation, "updated_at"), _field(AnnualReport, "updated_at")
        ):
            gen.insert(Request, self.requests, "requests")
            gen.insert(Decision, self.decisions, "decisions")
            gen.insert(Condition, self.conditions, "conditions")
            gen.insert(Comment, self.comments, "comments")
            gen.insert(Event, self.events, "events")
            gen.insert(EmergencyUse, self.emergency_uses, "emergency uses")
            gen.insert(Violation, self.violations, "violations")
            gen.insert(AnnualReport, self.annual_reports, "annual reports")
        rows = []
        for (
            record,
            pk,
            moment,
            action,
            role,
            actor,
            before,
            after,
            data,
            note,
            public,
        ) in self.oversight_events:
            rows.append(
                build(
                    OversightEvent,
                    id=gen.next_id(OversightEvent),
                    **{f"{record}_id": pk},
                    created_at=moment,
                    actor_id=actor[0] if actor else None,
                    actor_name=actor[1] if actor else "",
                    actor_role=role,
                    action=action,
                    from_status=before,
                    to_status=after,
                    data={k: v for k, v in data.items() if v not in (None, "", [])},
                    note=note,
                    is_public=public,
                )
            )
        gen.insert(OversightEvent, rows, "oversight events")


# ---------------------------------------------------------------------------
# Small pure helpers
# ---------------------------------------------------------------------------


_DEFAULTS: dict[type[models.Model], dict[str, Any]] = {}


def build(model: type[M], **values: Any) -> M:
    """
    An unsaved row for `bulk_create`, without `Model.__init__` (a third of the generator's
    time at 100,000 requests): the field defaults, then `values`. Only for rows whose
    timestamps are given explicitly.
    """
    if model not in _DEFAULTS:
        _DEFAULTS[model] = {f.attname: f.get_default() for f in model._meta.concrete_fields}
    row = model.__new__(model)
    row.__dict__.update(_DEFAULTS[model])
    row.__dict__.update(values)
    row._state = ModelState()
    return row


def unique(value: str, taken: set[str], sep: str = "-") -> str:
    candidate, n = value, 2
    while candidate in taken:
        candidate = f"{value}{sep}{n}"
        n += 1
    taken.add(candidate)
    return candidate


def zipf_quotas(n: int, total: int, skew: float, cap: int) -> list[int]:
    """`total` split over `n` ranks by Zipf weights, each at least one (if it can be) and at most `cap`."""
    if n == 0:
        return []
    weights = [(rank + 1) ** -skew for rank in range(n)]
    floor = 1 if total >= n else 0
    spare = total - floor * n
    scale = spare / sum(weights)
    quotas = [min(cap, floor + math.floor(w * scale)) for w in weights]
    rank = 0
    while sum(quotas) < total and any(q < cap for q in quotas):
        if quotas[rank % n] < cap:
            quotas[rank % n] += 1
        rank += 1
    return quotas


def votes(rng: random.Random, step: ProcessStep, *, approve: bool) -> tuple[int, int, int, int]:
    """Counts within the body's seats that meet its majority (approve) or miss it (deny)."""
    seats = step.seats or 9
    for _ in range(50):
        absent = rng.choice((0, 0, 0, 1, 1, 2))
        abstain = rng.choice((0, 0, 0, 0, 1))
        present = max(seats - absent - abstain, 1)
        yes = rng.randint(present // 2, present) if approve else rng.randint(0, present // 2)
        no = present - yes
        if step.votes_needed(yes=yes, no=no) == approve:
            return yes, no, abstain, absent
    return (seats, 0, 0, 0) if approve else (0, seats, 0, 0)


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------


class Command(BaseCommand):
    help = "Fabricate a large realistic record in bulk, for benchmarks and load tests only."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--requests", type=int, required=True, help="How many requests to create.")
        parser.add_argument("--agencies", type=int, default=300)
        parser.add_argument("--technologies", type=int, default=2000)
        parser.add_argument("--uses", type=int, default=20000, help="Technology uses (the inventory).")
        parser.add_argument("--years", type=int, default=10, help="Requests are spread over this many years.")
        parser.add_argument(
            "--seed", type=int, default=1, help="Random seed: the same options give the same data."
        )
        parser.add_argument(
            "--append", action="store_true", help="Add to a database that already holds requests."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("requests", "agencies", "technologies", "uses", "years"):
            if options[name] < (0 if name == "requests" else 1):
                raise CommandError(f"--{name} must be at least {0 if name == 'requests' else 1}.")
        existing = Request.objects.count()
        if existing and not options["append"]:
            raise CommandError(
                f"The database already holds {existing} requests. seed_bulk fabricates a city for "
                "benchmarks and load tests; it adds one to an existing record only with --append."
            )
        started = time.monotonic()
        rng = random.Random(options["seed"])
        now = timezone.now()
        out = self.stdout.write
        out(f"Seeding {options['requests']} requests (seed {options['seed']}):")
        with transaction.atomic():
            gen = Generator(rng, now, [], out)
            with gen.phase("laws"):
                gen.laws = self.laws()
            with gen.phase("agencies, technologies, inventory, accounts"):
                staff_group, _ = Group.objects.get_or_create(name=roles.STAFF)
                liaison_group, _ = Group.objects.get_or_create(name=roles.LIAISONS)
                taken = set(User.objects.values_list("username", flat=True))
                agencies = gen.agencies(options["agencies"])
                technologies = gen.technologies(options["technologies"])
                uses = gen.uses(agencies, technologies, options["uses"])
                staff = gen.people(
                    max(4, min(25, options["requests"] // 4000 + 4)), staff_group, "bulk.staff", taken
                )
                covered = [pk for pk, _law, is_covered in agencies if is_covered]
                people = gen.people(len(covered), liaison_group, "bulk.liaison", taken)
                liaisons = dict(zip(covered, people, strict=True))
                through = Agency.liaisons.through
                through.objects.bulk_create(
                    [through(agency_id=a, user_id=u[0]) for a, u in liaisons.items()], batch_size=BATCH
                )
            with gen.phase("requests, timelines, decisions, comments, oversight"):
                if options["requests"]:
                    gen.requests(options["requests"], options["years"], uses, liaisons, staff)
            with gen.phase("public request counts"):
                workflow.recount_public_requests()
            with gen.phase("sequences"):
                self.reset_sequences()
            committing = time.monotonic()
        # The database checks the deferred foreign keys of every row as the transaction commits.
        out(f"  commit: {time.monotonic() - committing:.1f} s")
        for label, count in gen.counts.items():
            out(f"  {count:>9} {label}")
        out(self.style.SUCCESS(f"Done in {time.monotonic() - started:.1f} s."))

    def laws(self) -> list[Law]:
        """The ordinances of `ordinances/laws/`, loaded as seed_demo loads Minneapolis's if missing."""
        for path in sorted(LAWS_DIR.glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            if not Ordinance.objects.filter(file_number=data["ordinance"]["file_number"]).exists():
                process.load(data, actor_role=Role.SYSTEM, via="file")
        numbers = [
            json.loads(p.read_text(encoding="utf-8"))["ordinance"]["file_number"]
            for p in sorted(LAWS_DIR.glob("*.json"))
        ]
        ordinances = (
            Ordinance.objects.in_force()
            .filter(is_demo=False, file_number__in=numbers)
            .prefetch_related("rules", "steps", "deadlines", "exceptions")
            .order_by("file_number")
        )
        laws = [read_law(o) for o in ordinances]
        laws = [law for law in laws if law.rules and (law.vote is not None or law.has(Step.PUBLICATION))]
        if not laws:
            raise CommandError("No ordinance in force governs any technology; nothing to request under.")
        return laws

    def reset_sequences(self) -> None:
        """Primary keys were given explicitly: move each sequence past them (PostgreSQL)."""
        tables = [
            User,
            Agency,
            Technology,
            TechnologyUse,
            Request,
            Decision,
            Condition,
            Comment,
            Event,
            EmergencyUse,
            Violation,
            AnnualReport,
            OversightEvent,
        ]
        statements = connection.ops.sequence_reset_sql(no_style(), tables)
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
