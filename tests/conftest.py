"""
Shared personas and helpers. Each persona has one line of story:

- anonymous: a resident with no account; sees everything but drafts and internal notes.
- liaison_a: liaison of agency A (police); drafts and submits A's requests.
- liaison_b: liaison of agency B (parks); must never see or touch A's drafts.
- staff: council staff; reviews, opens comment, schedules hearings, records decisions.
- clerk: maintains ordinances, agencies and technologies; takes no part in reviews.

Requests are built through the real workflow (`make_request(..., to="approved")`), never
by writing a status the app would not write.
"""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.utils import timezone, translation
from model_bakery import baker

from ordinances import roles, workflow
from ordinances.models import (
    Agency,
    Category,
    CategoryRule,
    Deadline,
    Ordinance,
    ProcessStep,
    Request,
    Technology,
    TechnologyUse,
)

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2's deliberate slowness buys nothing in tests and costs seconds per persona.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    """Start each test with an empty cache: the API's throttle counts each client's calls there."""
    cache.clear()


@pytest.fixture(autouse=True)
def no_page_cache(settings):
    """
    No anonymous page cache unless a test asks for it (tests/test_page_cache.py): tests run
    inside a transaction that never commits, so no change would ever drop a cached page.
    """
    settings.PORTAL_PAGE_CACHE_SECONDS = 0


@pytest.fixture(scope="module")
def browser():
    """
    Debian's Chromium for a module of browser tests (tests/test_browser.py), stopped at the
    module's end. Playwright's sync API allows one instance per thread, and while it runs it
    leaves its event loop marked as running in this thread, where Django then refuses to open
    a database connection (SynchronousOnlyOperation): later modules must not inherit it.
    """
    import os

    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (Debian's chromium package).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(autouse=True)
def english():
    """Start each test in English: a page under /es/ leaves Spanish active in the thread."""
    with translation.override("en"):
        yield


def make_user(username: str, *groups: str, **extra) -> User:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=bool(groups), **extra)
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


@pytest.fixture
def ordinance(db) -> Ordinance:
    ordinance = baker.make(
        Ordinance,
        file_number="TEST-0001",
        slug="test-ordinance",
        title="Test surveillance ordinance",
        status=Ordinance.Status.IN_EFFECT,
        summary="A test ordinance.",
    )
    # Its path: review, 30 days of public comment, a hearing on 10 days' notice, a vote of
    # a 13-seat council; emergency reports due in 14 days; approvals last at most a year.
    for kind in (ProcessStep.Kind.PUBLIC_COMMENT, ProcessStep.Kind.HEARING):
        ProcessStep.objects.create(ordinance=ordinance, kind=kind)
    ProcessStep.objects.create(
        ordinance=ordinance,
        kind=ProcessStep.Kind.VOTE,
        body="Test City Council",
        seats=13,
        majority=ProcessStep.Majority.MORE_YES_THAN_NO,
    )
    for kind, amount, anchor in (
        (Deadline.Kind.COMMENT_PERIOD, 30, Deadline.Anchor.COMMENT_OPENING),
        (Deadline.Kind.HEARING_NOTICE, 10, Deadline.Anchor.HEARING_NOTICE),
        (Deadline.Kind.EMERGENCY_REPORT, 14, Deadline.Anchor.EMERGENCY_USE),
        (Deadline.Kind.APPROVAL_TERM, 365, Deadline.Anchor.APPROVAL_EFFECTIVE),
    ):
        Deadline.objects.create(ordinance=ordinance, kind=kind, amount=amount, counted_from=anchor)
    CategoryRule.objects.create(
        ordinance=ordinance, category=Category.FACIAL_RECOGNITION, rule=CategoryRule.Rule.PROHIBITED
    )
    CategoryRule.objects.create(
        ordinance=ordinance, category=Category.DRONES, rule=CategoryRule.Rule.APPROVAL_REQUIRED
    )
    CategoryRule.objects.create(
        ordinance=ordinance, category=Category.BODY_WORN_CAMERAS, rule=CategoryRule.Rule.DISCLOSURE_ONLY
    )
    return ordinance


@pytest.fixture
def agency_a(db) -> Agency:
    return baker.make(Agency, name="Agency A Police", slug="agency-a", kind=Agency.Kind.POLICE)


@pytest.fixture
def agency_b(db) -> Agency:
    return baker.make(Agency, name="Agency B Parks", slug="agency-b", kind=Agency.Kind.OTHER)


@pytest.fixture
def drone(db) -> Technology:
    return baker.make(Technology, name="Test drone", slug="test-drone", category=Category.DRONES)


@pytest.fixture
def face_recognition(db) -> Technology:
    return baker.make(
        Technology, name="Test face matcher", slug="test-face", category=Category.FACIAL_RECOGNITION
    )


@pytest.fixture
def liaison_a(agency_a) -> User:
    user = make_user("liaison_a", roles.LIAISONS)
    agency_a.liaisons.add(user)
    return user


@pytest.fixture
def liaison_b(agency_b) -> User:
    user = make_user("liaison_b", roles.LIAISONS)
    agency_b.liaisons.add(user)
    return user


@pytest.fixture
def staff(db) -> User:
    return make_user("staff", roles.STAFF)


@pytest.fixture
def clerk(db) -> User:
    return make_user("clerk", roles.CLERKS)


# The path each state is reached by, as (transition, inputs) steps.
def _decision(outcome: str) -> tuple[str, dict]:
    if outcome == "denied":
        return ("deny", {"votes_yes": 2, "votes_no": 10, "summary": "Benefits do not outweigh costs."})
    kwargs: dict = {"votes_yes": 9, "votes_no": 3}
    if outcome == "approved_with_conditions":
        kwargs["conditions"] = [
            workflow.ConditionInput("Publish an annual report", datetime.date(2030, 1, 1))
        ]
        return ("approve_with_conditions", kwargs)
    return ("approve", kwargs)


PATHS: dict[str, list[tuple[str, dict]]] = {
    "draft": [],
    "submitted": [("submit", {})],
    "in_review": [("submit", {}), ("begin_review", {})],
    "returned": [("submit", {}), ("begin_review", {}), ("return_to_agency", {"reason": "Add a use policy."})],
    "public_comment": [("submit", {}), ("begin_review", {}), ("open_comment_period", {})],
    "hearing_scheduled": [
        ("submit", {}),
        ("begin_review", {}),
        ("open_comment_period", {}),
        ("schedule_hearing", {"hearing_room": "Room 317", "hearing_address": "350 South 5th Street"}),
    ],
}
for _outcome in ("approved", "approved_with_conditions", "denied"):
    PATHS[_outcome] = [*PATHS["hearing_scheduled"], _decision(_outcome)]
PATHS["withdrawn"] = [("submit", {}), ("withdraw", {"reason": "No longer needed."})]
PATHS["revoked"] = [*PATHS["approved"], ("revoke", {"reason": "Conditions breached."})]
PATHS["accepted"] = [("submit", {}), ("begin_review", {}), ("accept_report", {})]
PATHS["referred"] = [
    ("submit", {}),
    ("begin_review", {}),
    ("refer_to_full_review", {"reason": "Needs approval."}),
]

LIAISON_STEPS = {"submit", "withdraw"}
# Days after the start of a walk that each step happens. A walk to a decision starts far
# enough back that public comment has closed and the hearing has taken place by today.
STEP_DAY = {
    "open_comment_period": 2,
    "schedule_hearing": 33,
    "approve": 45,
    "approve_with_conditions": 45,
    "deny": 45,
}
WALK_DAYS = 50


def hearing_for(scheduled_at: datetime.datetime) -> datetime.datetime:
    """A hearing time that respects the test ordinance's 10 days' notice."""
    return scheduled_at + datetime.timedelta(days=11)


def walk(request: Request, to: str, *, liaison: User, staff: User, start: datetime.datetime) -> Request:
    """Take `request` along PATHS[to] through `workflow.perform`, each step on its own day."""
    for step, inputs in PATHS[to]:
        inputs = dict(inputs)
        at = start + datetime.timedelta(days=STEP_DAY.get(step, 1), hours=len(request.reference) % 3)
        if step == "schedule_hearing":
            inputs["hearing_at"] = hearing_for(at)
        if step in ("revoke", "withdraw"):
            at = max(at, start + datetime.timedelta(days=WALK_DAYS - 2))
        actor = liaison if step in LIAISON_STEPS else staff
        workflow.perform(step, request, by=actor, now=at, **inputs)
    request.refresh_from_db()
    return request


@pytest.fixture
def make_request(ordinance, agency_a, drone, liaison_a, staff):
    """Build a request of agency A and walk it through the real workflow to `to`."""

    def make(
        to: str = "draft", *, kind: str | None = None, agency=None, technology=None, liaison=None, **fields
    ):
        agency = agency or agency_a
        liaison = liaison or liaison_a
        if kind is None:
            kind = Request.Kind.EMERGENCY_REPORT if to in {"accepted", "referred"} else Request.Kind.APPROVAL
        if kind == Request.Kind.EMERGENCY_REPORT:
            fields.setdefault(
                "emergency_used_on", timezone.localdate() - datetime.timedelta(days=WALK_DAYS + 2)
            )
        else:
            for name in (
                "justification",
                "alternatives_considered",
                "data_collected",
                "retention",
                "sharing",
            ):
                fields.setdefault(name, f"The agency's {name.replace('_', ' ')}.")
        fields.setdefault("justification", "Why it was needed.")
        fields.setdefault("data_collected", "Video.")
        start = timezone.now() - datetime.timedelta(days=WALK_DAYS)
        if kind == Request.Kind.EMERGENCY_REPORT:
            # A report follows the use it reports.
            used = datetime.datetime.combine(fields["emergency_used_on"], datetime.time(12))
            start = min(timezone.make_aware(used), timezone.now() - datetime.timedelta(days=1, hours=3))
        request = workflow.create_draft(
            by=liaison,
            now=start,
            kind=kind,
            agency=agency,
            technology=technology or drone,
            ordinance=ordinance,
            title=fields.pop("title", "Drone for search and rescue"),
            purpose=fields.pop("purpose", "Find missing people in the river gorge."),
            **fields,
        )
        return walk(request, to, liaison=liaison, staff=staff, start=start)

    return make


# The kinds of technology the reference data cycles through: under the test ordinance they
# need approval, are prohibited, need disclosure only, and have no rule.
REFERENCE_CATEGORIES = (
    Category.DRONES,
    Category.FACIAL_RECOGNITION,
    Category.BODY_WORN_CAMERAS,
    Category.GUNSHOT_DETECTION,
)


@pytest.fixture
def reference_data(ordinance, agency_a, drone):
    """
    Build the reference data of a large city with bulk inserts (no request, no status):
    `agencies` agencies and `technologies` technologies (cycling through
    REFERENCE_CATEGORIES), each new agency using the drone and the technology of its own
    number, and agency A, the hub, using the first `hub_uses`. The new records sort after
    agency A and the drone by name.
    """

    def build(agencies: int = 200, technologies: int = 2000, hub_uses: int = 450) -> list[Technology]:
        made = Technology.objects.bulk_create(
            Technology(
                name=f"Zeta technology {i:04d}",
                slug=f"zeta-technology-{i:04d}",
                category=REFERENCE_CATEGORIES[i % len(REFERENCE_CATEGORIES)],
                description="A technology of the reference data.",
            )
            for i in range(technologies)
        )
        others = Agency.objects.bulk_create(
            Agency(name=f"Zone agency {i:03d}", slug=f"zone-agency-{i:03d}", kind=Agency.Kind.OTHER)
            for i in range(agencies)
        )
        uses = [TechnologyUse(agency=agency_a, technology=technology) for technology in made[:hub_uses]]
        uses += [TechnologyUse(agency=agency, technology=drone) for agency in others]
        uses += [
            TechnologyUse(agency=agency, technology=technology)
            for agency, technology in zip(others, made, strict=False)
        ]
        TechnologyUse.objects.bulk_create(uses)
        return made

    return build
