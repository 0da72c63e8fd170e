"""
Load the portal's starting data: the real Minneapolis facial recognition ordinance and a
clearly labelled set of fictional demo records around it.

    python manage.py seed_demo

What it loads
-------------
* **The real record** (``is_demo=False``): ordinance 2020-00681, its one verified rule
  (facial recognition prohibited), the exceptions news coverage reported (kept
  ``verified=False``), the three news articles it rests on, the Minneapolis Police
  Department (covered) and the Hennepin County Sheriff's Office (not covered), and a
  plain-language "Facial recognition" entry. What could not be checked against the code
  text (section numbers, definitions, who decides exception requests, deadlines, the
  effective date) is left blank and listed in the ordinance's ``unverified_note``.
* **Demo records** (``is_demo=True``, every name marked "Demo" or "(demo)"): a fictional
  ordinance with its own deadlines, demo agencies, technologies and inventory rows, and
  one demo request or more in every ``Request.Status``. Two of the demo requests are
  exception requests under the real ordinance 2020-00681, relying on a reported exception.

Accounts
--------
Two kinds, for two purposes:

* **Workflow actors** ``demo-liaison`` and ``demo-staff``, always created, with unusable
  passwords: nobody can sign in as them. Every demo request is built through
  ``ordinances.workflow`` (``create_draft``, ``submit``, ``begin_review``, ``decide``...)
  acting as them, and the daily expiry acting as ``system``, so the timelines are real
  workflow output and read the same whatever DEBUG was when the seed ran.
* **Login accounts** ``clerk``, ``staff`` and ``liaison``, password ``portal-demo``,
  created only when ``settings.DEBUG`` is on, in the Clerks, Council staff and Agency
  liaisons groups. ``liaison`` is liaison of every demo agency and of the Minneapolis
  Police Department, so it can open the demo drafts and returned requests; ``staff`` can
  review any request. A password is set only when the account is created; an existing
  account with one of these names keeps its password.

Idempotency
-----------
Running it again changes nothing and creates no duplicates. Records are looked up by
their natural key (file number, slug, name, URL) and left alone when present, so a
clerk's corrections survive a second run. A demo request is keyed by its title: if a
request with that title exists it is skipped. Everything runs in one transaction.

Dates
-----
Demo histories are backdated with the workflow functions' ``now=`` argument and counted
back from the day the seed runs, so approvals are current, one approval has expired,
comment periods are still open and the scheduled hearing is still ahead.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import models, transaction
from django.utils import timezone

from ordinances import oversight, participation, process, roles, workflow
from ordinances.models import (
    Agency,
    Category,
    CategoryRule,
    Comment,
    EmergencyUse,
    Ordinance,
    Request,
    Technology,
    TechnologyUse,
    Violation,
)

DEMO_PASSWORD = "portal-demo"
WORKFLOW_LIAISON = "demo-liaison"
WORKFLOW_STAFF = "demo-staff"
# username -> (group, first name, last name)
LOGIN_ACCOUNTS = {
    "clerk": (roles.CLERKS, "Demo", "Clerk"),
    "staff": (roles.STAFF, "Demo", "Council staff"),
    "liaison": (roles.LIAISONS, "Demo", "Agency liaison"),
}

REAL_FILE_NUMBER = "2020-00681"
DEMO_FILE_NUMBER = "DEMO-2026-01"
MPD = "minneapolis-police-department"
HENNEPIN_SHERIFF = "hennepin-county-sheriffs-office"
EXCEPTION_NOTE = "Reported in news coverage; not checked against the code text"
FICTIONAL = "Fictional request for demonstration; no real department filed it."

# ---------------------------------------------------------------------------
# The real record
# ---------------------------------------------------------------------------

# The law itself (ordinance, rules, exceptions, process, sources) is a process file.
MINNEAPOLIS_FILE = Path(__file__).resolve().parents[2] / "laws" / "minneapolis.json"

REAL_AGENCIES = [
    {
        "slug": MPD,
        "name": "Minneapolis Police Department",
        "kind": Agency.Kind.POLICE,
        "covered": True,
        "description": "The city's police department. Ordinance 2020-00681 binds it.",
    },
    {
        "slug": HENNEPIN_SHERIFF,
        "name": "Hennepin County Sheriff's Office",
        "kind": Agency.Kind.SHERIFF,
        "covered": False,
        "description": (
            "A county agency that also works in Minneapolis. City ordinances do not bind it: "
            "news coverage of the 2021 facial recognition ban noted that outside agencies "
            "working in the city are not covered."
        ),
    },
]

REAL_TECHNOLOGIES = [
    {
        "slug": "facial-recognition",
        "name": "Facial recognition",
        "category": Category.FACIAL_RECOGNITION,
        "description": (
            "Software that compares a face captured in a photo or video with a collection of "
            "stored face images, to guess who the person is or to confirm that they are who "
            "they say they are. Some services search pictures gathered from across the "
            "internet. News coverage reported that before the 2021 ban Minneapolis police had "
            "access to Clearview AI, a service that matches faces against images collected "
            "from the open web."
        ),
        "civil_liberties_concerns": (
            "It can identify people from a distance without their knowledge or consent, which "
            "makes it possible to track who goes to a protest, a place of worship or a clinic, "
            "and discourages people from speaking and gathering freely. It makes more mistakes "
            "with people who are not white men, women of color above all, so wrong matches and "
            "the stops or arrests that can follow fall unevenly. Services built on images taken "
            "from the web use the faces of people who never agreed to be in a database."
        ),
        "vendors": "Clearview AI",
    },
]

# ---------------------------------------------------------------------------
# The demo records
# ---------------------------------------------------------------------------


def demo_process(today: datetime.date) -> dict[str, Any]:
    """The fictional demo ordinance, in the process-file format (see docs/process-format.md)."""

    def ago(days: int) -> str:
        return (today - datetime.timedelta(days=days)).isoformat()

    def deadline(kind: str, amount: int, anchor: str) -> dict[str, Any]:
        return {"kind": kind, "amount": amount, "unit": "days", "counted_from": anchor, "verified": True}

    return {
        "format_version": 1,
        "ordinance": {
            "file_number": DEMO_FILE_NUMBER,
            "slug": DEMO_FILE_NUMBER.lower(),
            "title": "Demo: Surveillance technology oversight ordinance (fictional, for training)",
            "jurisdiction": "Demo City (fictional)",
            "code_citation": "Demo Code, Chapter 1 (fictional)",
            "status": Ordinance.Status.IN_EFFECT,
            "introduced_on": ago(760),
            "adopted_on": ago(730),
            "effective_on": ago(700),
            "author": "Demo Council Member (fictional)",
            "votes": {"yes": 11, "no": 2, "abstain": 0, "absent": 0},
            "summary": (
                "A fictional ordinance for training and demonstration. It is not a law of "
                "Minneapolis or of any real city.\n\n"
                "Before a covered department acquires or uses a surveillance technology such "
                "as drones, license plate readers or gunshot detection, it asks the council "
                "for approval. Staff review the request, the public has 30 days to comment, "
                "the hearing is announced at least 10 days ahead, and an approval lasts one "
                "year unless renewed, and each approved use is reported on by 31 January for "
                "the year before. Body-worn cameras only need to be disclosed. A department "
                "that uses a technology in an emergency without approval must report it "
                "within 14 days."
            ),
            "full_text": "",
            "unverified_note": "",
            "is_demo": True,
        },
        "sources": [],
        "rules": [
            {"category": category, "rule": rule, "note": ""}
            for category, rule in (
                (Category.DRONES, CategoryRule.Rule.APPROVAL_REQUIRED),
                (Category.LICENSE_PLATE_READERS, CategoryRule.Rule.APPROVAL_REQUIRED),
                (Category.GUNSHOT_DETECTION, CategoryRule.Rule.APPROVAL_REQUIRED),
                (Category.CELL_SITE_SIMULATORS, CategoryRule.Rule.APPROVAL_REQUIRED),
                (Category.VIDEO_ANALYTICS, CategoryRule.Rule.APPROVAL_REQUIRED),
                (Category.BODY_WORN_CAMERAS, CategoryRule.Rule.DISCLOSURE_ONLY),
            )
        ],
        "exceptions": [],
        "steps": [
            {"kind": "public_comment", "verified": True},
            {"kind": "hearing", "verified": True},
            {
                "kind": "vote",
                "body": "Demo City Council (fictional)",
                "seats": 13,
                "majority": "more_yes_than_no",
                "verified": True,
            },
        ],
        "deadlines": [
            deadline("comment_period", 30, "comment_opening"),
            deadline("hearing_notice", 10, "hearing_notice"),
            deadline("emergency_report", 14, "emergency_use"),
            deadline("approval_term", 365, "approval_effective"),
            # Each approved use reports on the year before by 31 January.
            {"kind": "annual_report", "counted_from": "fixed_day", "month": 1, "day": 31, "verified": True},
        ],
    }


DEMO_AGENCIES = [
    {"slug": "demo-fire-department", "name": "Demo Fire Department", "kind": Agency.Kind.FIRE},
    {"slug": "demo-public-works", "name": "Demo Public Works", "kind": Agency.Kind.PUBLIC_WORKS},
    {"slug": "demo-police-department", "name": "Demo Police Department", "kind": Agency.Kind.POLICE},
    {
        "slug": "demo-transportation",
        "name": "Demo Transportation Department",
        "kind": Agency.Kind.TRANSPORTATION,
    },
]

DEMO_TECHNOLOGIES = [
    {
        "slug": "demo-drone",
        "name": "Drone (demo)",
        "category": Category.DRONES,
        "description": "A small remote-controlled aircraft carrying a video or thermal camera.",
        "civil_liberties_concerns": "It can look into back yards and windows, and film crowds from above.",
    },
    {
        "slug": "demo-alpr",
        "name": "Automated license plate reader (demo)",
        "category": Category.LICENSE_PLATE_READERS,
        "description": (
            "Cameras that read the plate of every passing vehicle and store it with the time and "
            "place, then check it against lists of wanted vehicles."
        ),
        "civil_liberties_concerns": (
            "Stored reads show where drivers go and when, including people suspected of nothing."
        ),
    },
    {
        "slug": "demo-gunshot-detection",
        "name": "Gunshot detection sensors (demo)",
        "category": Category.GUNSHOT_DETECTION,
        "description": (
            "Microphones on poles and rooftops that listen for loud bangs and alert police to "
            "where a shot may have been fired."
        ),
        "civil_liberties_concerns": (
            "Always-on microphones in residential streets; false alerts send armed officers into "
            "neighborhoods, often the same few neighborhoods."
        ),
    },
    {
        "slug": "demo-body-worn-camera",
        "name": "Body-worn camera (demo)",
        "category": Category.BODY_WORN_CAMERAS,
        "description": "A camera clipped to an employee's uniform that records video and sound.",
        "civil_liberties_concerns": "It records bystanders and the inside of people's homes.",
    },
    {
        "slug": "demo-face-door-access",
        "name": "Face-matching door access (demo)",
        "category": Category.FACIAL_RECOGNITION,
        "description": "A door reader that unlocks when it matches an enrolled employee's face.",
        "civil_liberties_concerns": "It keeps a face template of every enrolled employee.",
    },
    {
        "slug": "demo-phone-face-unlock",
        "name": "Phone face unlock (demo)",
        "category": Category.FACIAL_RECOGNITION,
        "description": "The face unlock feature built into a smartphone.",
        "civil_liberties_concerns": "Minimal if the face data never leaves the phone.",
    },
]

# (agency slug, technology slug, fields)
DEMO_USES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "demo-fire-department",
        "demo-drone",
        {
            "vendor_product": "SkyScout Q-1 quadcopter (fictional)",
            "retention": "Video kept 30 days unless needed to investigate a fire's cause.",
            "data_sharing_recipients": "Demo County Emergency Management (fictional)\n"
            "Demo State Fire Marshal (fictional)",
            "annual_cost": Decimal("12500.00"),
        },
    ),
    (
        "demo-public-works",
        "demo-drone",
        {
            "vendor_product": "SkyScout Q-1 quadcopter (fictional)",
            "retention": "Inspection images kept for the life of the structure.",
            "data_sharing_recipients": "Demo State Department of Transportation (fictional)",
            "notes": "The roof inspection approval expired; bridge inspections await a hearing.",
        },
    ),
    (
        "demo-police-department",
        "demo-alpr",
        {
            "vendor_product": "PlateWatch mobile readers (fictional)",
            "retention": "Reads that match no hotlist deleted after 30 days.",
            "data_sharing_recipients": "Demo County Sheriff (fictional)\n"
            "Demo Regional Fusion Center (fictional)",
            "annual_cost": Decimal("86000.00"),
        },
    ),
    (
        "demo-police-department",
        "demo-gunshot-detection",
        {
            "vendor_product": "SoundGrid sensors (fictional)",
            "notes": "Not in use: a two-neighborhood pilot awaits the council's decision.",
        },
    ),
    (
        "demo-police-department",
        "demo-body-worn-camera",
        {
            "vendor_product": "ClipCam 3 (fictional)",
            "retention": "Footage kept 180 days, longer when tagged as evidence.",
            "data_sharing_recipients": "Demo County Attorney's Office (fictional)",
            "annual_cost": Decimal("240000.00"),
        },
    ),
    (
        "demo-transportation",
        "demo-alpr",
        {
            "vendor_product": "PlateWatch fixed readers (fictional)",
            "retention": "Reads kept 7 days for parking enforcement.",
            "data_sharing_recipients": "Demo Parking Services Contractor (fictional)",
            "notes": "The parking ramp approval was revoked; a new request is submitted.",
        },
    ),
]


@dataclass
class Step:
    """One workflow call: the function's name, when it happened, its own arguments."""

    name: str
    at: datetime.datetime
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class DemoRequest:
    title: str
    agency: str
    technology: str
    created: datetime.datetime
    purpose: str
    steps: list[Step] = field(default_factory=list)
    kind: str = Request.Kind.APPROVAL
    ordinance: str = DEMO_FILE_NUMBER
    exception: str | None = None
    renews: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


# What a demo request says where its own entry is silent, so each can be submitted.
DEFAULT_DETAILS = {
    "justification": "The department says this use meets a need its current tools do not (fictional).",
    "alternatives_considered": "Doing the work by hand, and other vendors' products (fictional).",
    "data_collected": "Video and still images of what is in view, with times and places (fictional).",
    "retention": "Kept 30 days unless part of an investigation (fictional).",
    "sharing": "No outside body (fictional).",
}

LIAISON_STEPS = {"submit", "withdraw"}
SYSTEM_STEPS = {"expire"}
# Where the demo council holds its hearings (example.org links lead nowhere real).
HEARING_PLACE = {
    "hearing_room": "Council Chamber, Room 317 (fictional)",
    "hearing_address": "100 Demo Avenue, Demo City (fictional)",
    "hearing_agenda_url": "https://agendas.example.org/demo-council",
}


def demo_requests(today: datetime.date) -> list[DemoRequest]:
    """The demo requests, their histories counted back from `today`."""

    def at(days_ago: int, hour: int = 10, minute: int = 0) -> datetime.datetime:
        day = today - datetime.timedelta(days=days_ago)
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))

    def day(days_ago: int) -> datetime.date:
        return today - datetime.timedelta(days=days_ago)

    def to_hearing(start: int, *, hearing: int) -> list[Step]:
        """Submitted `start` days ago, through review and 30 days' comment, to a hearing."""
        return [
            Step("submit", at(start)),
            Step("begin_review", at(start - 4, 14)),
            Step("open_comment_period", at(start - 8)),
            Step("schedule_hearing", at(start - 40), {"hearing_at": at(hearing, 18), **HEARING_PLACE}),
        ]

    def decided(hearing: int, outcome: str, yes: int, no: int, **kwargs: Any) -> Step:
        """The council's vote on the evening of the hearing; `outcome` names the transition."""
        return Step(outcome, at(hearing, 20), {"votes_yes": yes, "votes_no": no, **kwargs})

    return [
        DemoRequest(
            title="Demo: Drone for sizing up structure fires",
            agency="demo-fire-department",
            technology="demo-drone",
            created=at(3),
            purpose="Fly a thermal-camera drone over large building fires to find hot spots and "
            "people trapped inside. " + FICTIONAL,
            fields={"data_collected": "Thermal and visible video of the burning building."},
        ),
        DemoRequest(
            title="Demo: License plate readers on parking enforcement vehicles",
            agency="demo-transportation",
            technology="demo-alpr",
            created=at(9),
            purpose="Read plates from parking enforcement vehicles to find cars over the time "
            "limit, replacing tire chalking. " + FICTIONAL,
            steps=[Step("submit", at(6))],
            fields={
                "retention": "Reads deleted after 7 days unless a citation is issued.",
                "sharing": "No outside body.",
                "alternatives_considered": "Tire chalking, which courts have questioned.",
            },
        ),
        DemoRequest(
            title="Demo: Face-matching door readers at a city operations building",
            kind=Request.Kind.EXCEPTION,
            ordinance=REAL_FILE_NUMBER,
            exception="secure-building-access",
            agency="demo-public-works",
            technology="demo-face-door-access",
            created=at(20),
            purpose="Unlock the doors of a secured operations building for enrolled employees, "
            "relying on the reported exception for access to a secure building. " + FICTIONAL,
            steps=[Step("submit", at(16)), Step("begin_review", at(12))],
            fields={
                "data_collected": "Face templates of enrolled employees; door entry times.",
                "retention": "Templates deleted when an employee leaves.",
                "sharing": "No outside body.",
                "alternatives_considered": "Key cards, which are lent and lost.",
            },
        ),
        DemoRequest(
            title="Demo: Face unlock on city-issued smartphones",
            kind=Request.Kind.EXCEPTION,
            ordinance=REAL_FILE_NUMBER,
            exception="unlocking-a-smartphone",
            agency="demo-public-works",
            technology="demo-phone-face-unlock",
            created=at(30),
            purpose="Let field crews unlock city-issued phones with the phone's built-in face "
            "unlock, relying on the reported exception for unlocking a smartphone. " + FICTIONAL,
            steps=[
                Step("submit", at(27)),
                Step("begin_review", at(24)),
                Step(
                    "return_to_agency",
                    at(21),
                    {
                        "reason": "Say which phone models are involved, and confirm that face "
                        "data stays on the phone and never reaches the city or the vendor."
                    },
                ),
            ],
        ),
        DemoRequest(
            title="Demo: Gunshot detection pilot in two neighborhoods",
            agency="demo-police-department",
            technology="demo-gunshot-detection",
            created=at(35),
            purpose="A one-year pilot of acoustic gunshot sensors in two neighborhoods, with an "
            "independent evaluation. " + FICTIONAL,
            steps=[
                Step("submit", at(30)),
                Step("begin_review", at(25)),
                Step("open_comment_period", at(10)),
            ],
            fields={"requested_term_days": 365, "sharing": "Demo University evaluation team (fictional)"},
        ),
        DemoRequest(
            title="Demo: Drone for bridge and culvert inspection",
            agency="demo-public-works",
            technology="demo-drone",
            created=at(70),
            purpose="Inspect the undersides of bridges and the inside of culverts without "
            "closing lanes or sending crews into confined spaces. " + FICTIONAL,
            steps=[
                Step("submit", at(62)),
                Step("begin_review", at(58)),
                Step("open_comment_period", at(45)),
                Step(
                    "schedule_hearing",
                    at(5),
                    {
                        "hearing_at": at(-12, 18),
                        **HEARING_PLACE,
                        "hearing_remote_url": "https://meetings.example.org/demo-council/join",
                    },
                ),
            ],
            fields={"alternatives_considered": "Snooper trucks and lane closures."},
        ),
        DemoRequest(
            title="Demo: Drone for water search and rescue",
            agency="demo-fire-department",
            technology="demo-drone",
            created=at(160),
            purpose="Search rivers and lakes for people in the water. " + FICTIONAL,
            steps=[*to_hearing(155, hearing=95), decided(95, "approve", 11, 2)],
            fields={"retention": "Video kept 30 days unless part of an incident report."},
        ),
        DemoRequest(
            title="Demo: Renewal of the water search and rescue drone",
            kind=Request.Kind.RENEWAL,
            renews="Demo: Drone for water search and rescue",
            agency="demo-fire-department",
            technology="demo-drone",
            created=at(2),
            purpose="Renew the approval for another year on the same terms. " + FICTIONAL,
        ),
        DemoRequest(
            title="Demo: License plate readers on police patrol cars",
            agency="demo-police-department",
            technology="demo-alpr",
            created=at(220),
            purpose="Mobile plate readers on ten patrol cars to find stolen vehicles. " + FICTIONAL,
            steps=[
                *to_hearing(214, hearing=150),
                decided(
                    150,
                    "approve_with_conditions",
                    8,
                    5,
                    conditions=[
                        workflow.ConditionInput(
                            "Delete reads that match no hotlist within 30 days.", day(120)
                        ),
                        workflow.ConditionInput(
                            "Publish an annual report naming every agency that receives data.",
                            day(-215),
                        ),
                    ],
                ),
            ],
            fields={"sharing": "Demo County Sheriff (fictional)\nDemo Regional Fusion Center (fictional)"},
        ),
        DemoRequest(
            title="Demo: Citywide gunshot detection network",
            agency="demo-police-department",
            technology="demo-gunshot-detection",
            created=at(300),
            purpose="Acoustic gunshot sensors across the whole city. " + FICTIONAL,
            steps=[
                *to_hearing(295, hearing=235),
                decided(
                    235,
                    "deny",
                    4,
                    9,
                    summary="The council found that the benefits did not outweigh the costs and "
                    "asked for a small pilot with an independent evaluation first.",
                ),
            ],
        ),
        DemoRequest(
            title="Demo: Drone monitoring of crowds at public events",
            agency="demo-police-department",
            technology="demo-drone",
            created=at(120),
            purpose="Fly drones over parades and large public gatherings. " + FICTIONAL,
            steps=[
                Step("submit", at(115)),
                Step("begin_review", at(110)),
                Step("open_comment_period", at(100)),
                Step(
                    "withdraw",
                    at(80),
                    {
                        "reason": "Withdrawn after public comment raised concerns about filming "
                        "people at protests; the department will not pursue this use."
                    },
                ),
            ],
        ),
        DemoRequest(
            title="Demo: Drone for roof inspections of city buildings",
            agency="demo-public-works",
            technology="demo-drone",
            created=at(560),
            purpose="Inspect the roofs of city buildings without ladders or lifts. " + FICTIONAL,
            steps=[
                *to_hearing(555, hearing=495),
                decided(495, "approve", 12, 1),
                Step("expire", at(129, 0, 30)),
            ],
        ),
        DemoRequest(
            title="Demo: License plate readers at city parking ramps",
            agency="demo-transportation",
            technology="demo-alpr",
            created=at(400),
            purpose="Fixed plate readers at ramp entrances for ticketless parking. " + FICTIONAL,
            steps=[
                *to_hearing(395, hearing=335),
                decided(335, "approve", 10, 3),
                Step(
                    "revoke",
                    at(30),
                    {
                        "reason": "A staff audit found plate reads shared with a private towing "
                        "company that the use policy does not name."
                    },
                ),
            ],
        ),
        DemoRequest(
            title="Demo: Emergency drone flight at a warehouse fire",
            kind=Request.Kind.EMERGENCY_REPORT,
            agency="demo-fire-department",
            technology="demo-drone",
            created=at(18),
            purpose="Report of one drone flight to find hot spots at a four-alarm warehouse fire. "
            + FICTIONAL,
            steps=[
                Step("submit", at(17)),
                Step("begin_review", at(15)),
                Step("accept_report", at(10), {"note": "Reported on time; footage deleted after 30 days."}),
            ],
            fields={"emergency_used_on": day(20)},
        ),
        DemoRequest(
            title="Demo: Emergency drone flight over a protest march",
            kind=Request.Kind.EMERGENCY_REPORT,
            agency="demo-police-department",
            technology="demo-drone",
            created=at(26),
            purpose="Report of a drone flight over a march downtown. " + FICTIONAL,
            steps=[
                Step("submit", at(26, 11)),
                Step("begin_review", at(22)),
                Step(
                    "refer_to_full_review",
                    at(19),
                    {
                        "reason": "A planned march is not an emergency, and the report came 31 days "
                        "after the flight, past the 14-day deadline. The department must file an "
                        "approval request before flying over a gathering again."
                    },
                ),
            ],
            fields={"emergency_used_on": day(57)},
        ),
    ]


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Load ordinance 2020-00681 (Minneapolis facial recognition ban) and clearly labelled "
        "demo records, with demo login accounts when DEBUG is on. Safe to run again."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--no-demo",
            action="store_true",
            help="Load only the real record: no fictional ordinance, agencies, technologies or requests.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.tally: Counter[tuple[str, bool]] = Counter()
        self.labels: list[str] = []
        with transaction.atomic():
            roles.ensure_groups()
            real = self.load_real_record()
            if not options["no_demo"]:
                demo = self.load_demo_records()
                liaison, staff = self.workflow_actors()
                self.load_demo_requests({real.file_number: real, demo.file_number: demo}, liaison, staff)
                self.load_demo_comments(staff)
                self.load_demo_oversight(demo, liaison, staff)
            logins = self.login_accounts() if settings.DEBUG else []
        self.report(logins)

    # -- records -------------------------------------------------------------

    def get_or_create(
        self, label: str, model: type[models.Model], defaults: dict[str, Any] | None = None, **lookup: Any
    ) -> tuple[Any, bool]:
        obj, created = model._default_manager.get_or_create(**lookup, defaults=defaults or {})
        if label not in self.labels:
            self.labels.append(label)
        self.tally[(label, created)] += 1
        return obj, created

    def load_law(self, data: dict[str, Any]) -> Ordinance:
        """
        Load an ordinance from process data unless it is there already: a clerk's later
        corrections in the admin are the record, and a second run must not undo them.
        """
        existing = Ordinance.objects.filter(file_number=data["ordinance"]["file_number"]).first()
        if "ordinances" not in self.labels:
            self.labels.append("ordinances")
        self.tally[("ordinances", existing is None)] += 1
        if existing is not None:
            return existing
        ordinance, _created, _changes = process.load(data, actor_role=roles.Role.SYSTEM, via="file")
        return ordinance

    def load_real_record(self) -> Ordinance:
        ordinance = self.load_law(json.loads(MINNEAPOLIS_FILE.read_text(encoding="utf-8")))
        for agency in REAL_AGENCIES:
            self.get_or_create("agencies", Agency, {**agency, "is_demo": False}, slug=agency["slug"])
        for tech in REAL_TECHNOLOGIES:
            self.get_or_create("technologies", Technology, {**tech, "is_demo": False}, slug=tech["slug"])
        return ordinance

    def load_demo_records(self) -> Ordinance:
        ordinance = self.load_law(demo_process(timezone.localdate()))
        for agency in DEMO_AGENCIES:
            self.get_or_create(
                "agencies",
                Agency,
                {
                    **agency,
                    "covered": True,
                    "is_demo": True,
                    "description": "Fictional department for demonstration.",
                },
                slug=agency["slug"],
            )
        for tech in DEMO_TECHNOLOGIES:
            self.get_or_create("technologies", Technology, {**tech, "is_demo": True}, slug=tech["slug"])
        for agency_slug, tech_slug, fields in DEMO_USES:
            self.get_or_create(
                "technology uses",
                TechnologyUse,
                {**fields, "is_demo": True},
                agency=Agency.objects.get(slug=agency_slug),
                technology=Technology.objects.get(slug=tech_slug),
            )
        return ordinance

    # -- accounts ------------------------------------------------------------

    def account(self, username: str, group: str, *, first: str, last: str, password: str | None) -> User:
        user, created = self.get_or_create(
            "accounts",
            User,
            {"first_name": first, "last_name": last, "is_staff": password is not None},
            username=username,
        )
        if created:
            if password is None:
                user.set_unusable_password()
            else:
                user.set_password(password)
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=group))
        return user

    def workflow_actors(self) -> tuple[User, User]:
        liaison = self.account(WORKFLOW_LIAISON, roles.LIAISONS, first="Demo", last="liaison", password=None)
        staff = self.account(WORKFLOW_STAFF, roles.STAFF, first="Demo", last="council staff", password=None)
        for agency in Agency.objects.filter(slug__in=[a["slug"] for a in DEMO_AGENCIES]):
            agency.liaisons.add(liaison)
        return liaison, staff

    def login_accounts(self) -> list[str]:
        for username, (group, first, last) in LOGIN_ACCOUNTS.items():
            user = self.account(username, group, first=first, last=last, password=DEMO_PASSWORD)
            if group == roles.LIAISONS:
                slugs = [a["slug"] for a in DEMO_AGENCIES] + [MPD]
                for agency in Agency.objects.filter(slug__in=slugs):
                    agency.liaisons.add(user)
        return list(LOGIN_ACCOUNTS)

    # -- requests ------------------------------------------------------------

    def load_demo_requests(self, ordinances: dict[str, Ordinance], liaison: User, staff: User) -> None:
        # Oldest first, so reference numbers follow the order the requests were started.
        for spec in sorted(demo_requests(timezone.localdate()), key=lambda spec: spec.created):
            exists = Request.objects.filter(title=spec.title).exists()
            self.tally[("demo requests", not exists)] += 1
            if "demo requests" not in self.labels:
                self.labels.append("demo requests")
            if not exists:
                self.walk(spec, ordinances, liaison, staff)

    def walk(
        self, spec: DemoRequest, ordinances: dict[str, Ordinance], liaison: User, staff: User
    ) -> Request:
        ordinance = ordinances[spec.ordinance]
        request = workflow.create_draft(
            by=liaison,
            now=spec.created,
            kind=spec.kind,
            agency=Agency.objects.get(slug=spec.agency),
            technology=Technology.objects.get(slug=spec.technology),
            ordinance=ordinance,
            exception=ordinance.exceptions.get(slug=spec.exception) if spec.exception else None,
            renews=Request.objects.get(title=spec.renews) if spec.renews else None,
            title=spec.title,
            purpose=spec.purpose,
            is_demo=True,
            **{
                **{
                    name: DEFAULT_DETAILS[name]
                    for name in Request.REQUIRED_AT_SUBMISSION[spec.kind]
                    if name in DEFAULT_DETAILS
                },
                **spec.fields,
            },
        )
        for step in spec.steps:
            actor: User | None = staff
            if step.name in LIAISON_STEPS:
                actor = liaison
            elif step.name in SYSTEM_STEPS:
                actor = None
            workflow.perform(step.name, request, by=actor, now=step.at, **step.kwargs)
        return request

    # -- participation and oversight -------------------------------------------

    def load_demo_comments(self, staff: User) -> None:
        """Public comments on the demo request in public comment: two published, one held."""
        request = Request.objects.get(title="Demo: Gunshot detection pilot in two neighborhoods")
        exists = request.comments.exists()
        self.tally[("demo comments", not exists)] += 1
        if "demo comments" not in self.labels:
            self.labels.append("demo comments")
        if exists:
            return
        now = timezone.now()
        samples = [
            (
                "Demo resident (fictional)",
                Comment.Position.OPPOSES,
                "Publish how often alerts were false before extending it.",
                True,
            ),
            (
                "",
                Comment.Position.SUPPORTS,
                "A tested pilot with an outside evaluation seems reasonable.",
                True,
            ),
            (
                "Demo neighborhood association (fictional)",
                Comment.Position.NEUTRAL,
                "Which two neighborhoods, and will the sensors record conversations?",
                False,
            ),
        ]
        for i, (name, position, body, publish) in enumerate(samples):
            comment = participation.submit_comment(
                request,
                name=name,
                email=f"demo-resident-{i}@example.org",
                position=position,
                body=f"{body} (Fictional comment for demonstration.)",
                address=f"seed-demo-{i}",
                language="en",
                now=now - datetime.timedelta(days=8 - 2 * i),
            )
            if publish:
                participation.publish_comment(comment, by=staff, now=now - datetime.timedelta(days=7 - 2 * i))

    def load_demo_oversight(self, demo: Ordinance, liaison: User, staff: User) -> None:
        """An overdue emergency report, a published violation, an accepted and an overdue annual report."""
        today = timezone.localdate()

        def at(days_ago: int) -> datetime.datetime:
            day = today - datetime.timedelta(days=days_ago)
            return timezone.make_aware(datetime.datetime.combine(day, datetime.time(10)))

        if "demo oversight records" not in self.labels:
            self.labels.append("demo oversight records")
        works = Agency.objects.get(slug="demo-public-works")
        drone = Technology.objects.get(slug="demo-drone")
        used_on = today - datetime.timedelta(days=40)
        exists = EmergencyUse.objects.filter(agency=works, technology=drone, used_on=used_on).exists()
        self.tally[("demo oversight records", not exists)] += 1
        if not exists:
            oversight.record_emergency_use(
                liaison,
                works,
                drone,
                demo,
                used_on,
                "A drone was flown over a collapsed retaining wall to look for people trapped under it, "
                "before anyone asked the council (fictional).",
                ended_on=used_on,
                now=at(39),
            )
        ramps = Request.objects.get(title="Demo: License plate readers at city parking ramps")
        exists = Violation.objects.filter(request=ramps).exists()
        self.tally[("demo oversight records", not exists)] += 1
        if not exists:
            violation = oversight.record_violation(
                staff,
                now=at(34),
                agency=ramps.agency,
                technology=ramps.technology,
                ordinance=demo,
                request=ramps,
                description="Plate reads from the parking ramps were shared with a private towing company "
                "that the use policy does not name (fictional).",
                occurred_on=today - datetime.timedelta(days=90),
                found_on=today - datetime.timedelta(days=35),
                how_found=Violation.HowFound.AUDIT,
            )
            oversight.update_violation(
                violation,
                staff,
                now=at(29),
                status=Violation.Status.REMEDIED,
                investigation="The vendor's default setting sent every read to the towing company's app.",
                remedy="The sharing was switched off and the company deleted the reads it held.",
                remedied_on=today - datetime.timedelta(days=30),
            )
            oversight.publish_violation(
                violation, staff, now=at(28), note="Published after the audit (fictional)."
            )
        expected = [
            e
            for e in oversight.expected_reports(today, ordinance=demo)
            if e.agency.slug == "demo-public-works" and e.due_on < today and e.report is None
        ]
        self.tally[("demo oversight records", bool(expected))] += 1
        for e in expected[:1]:
            due = timezone.make_aware(datetime.datetime.combine(e.due_on, datetime.time(10)))
            report = oversight.start_report(
                liaison, e.agency, e.technology, demo, e.year, now=due - datetime.timedelta(days=30)
            )
            oversight.update_report(
                report,
                liaison,
                {
                    "use_summary": "Flown 14 times to inspect the roofs of 9 city buildings (fictional).",
                    "non_suspects_captured": "Workers on neighbouring roofs appeared in 2 flights; "
                    "that footage was deleted.",
                    "sharing": "No outside body received data.",
                    "complaints_count": 1,
                    "annual_cost": Decimal("4200.00"),
                },
                now=due - datetime.timedelta(days=20),
            )
            oversight.submit_report(report, liaison, now=due - datetime.timedelta(days=10))
            oversight.accept_report(
                report, staff, note="Complete (fictional).", now=due - datetime.timedelta(days=3)
            )
        # What the portal's schedule (`run_deadlines`) would have done by now.
        now = timezone.now()
        workflow.expire_due(now=now)
        workflow.close_comment_periods_due(now)
        workflow.proceed_after_silence_due(now)
        workflow.mark_conditions_overdue(now)
        oversight.mark_emergency_reports_overdue(now=now)
        oversight.mark_annual_reports_overdue(now=now)

    # -- output --------------------------------------------------------------

    def report(self, logins: list[str]) -> None:
        self.stdout.write("seed_demo:")
        for label in self.labels:
            created, present = self.tally[(label, True)], self.tally[(label, False)]
            self.stdout.write(f"  {label}: {created} created, {present} already present")
        if logins:
            names = ", ".join(logins)
            self.stdout.write(f"  login accounts (DEBUG on): {names}; password {DEMO_PASSWORD}")
        else:
            self.stdout.write("  DEBUG is off: no login accounts created")
