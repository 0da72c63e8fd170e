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
from django.utils import timezone
from model_bakery import baker

from ordinances import roles, workflow
from ordinances.models import Agency, Category, CategoryRule, Ordinance, Request, Technology

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2's deliberate slowness buys nothing in tests and costs seconds per persona.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
        comment_period_days=30,
        hearing_notice_days=10,
        emergency_report_days=14,
        approval_term_days=365,
    )
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


# The path each state is reached by, as (transition, keyword arguments) steps.
def _decision(outcome: str) -> tuple[str, dict]:
    kwargs = {"outcome": outcome, "votes_yes": 9, "votes_no": 3}
    if outcome == "approved_with_conditions":
        kwargs["conditions"] = [
            workflow.ConditionInput("Publish an annual report", datetime.date(2030, 1, 1))
        ]
    if outcome == "denied":
        kwargs = {
            "outcome": outcome,
            "votes_yes": 2,
            "votes_no": 10,
            "summary": "Benefits do not outweigh costs.",
        }
    return ("decide", kwargs)


def _hearing_at() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(days=45)


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
        ("schedule_hearing", {"hearing_at": None}),
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
            fields.setdefault("emergency_used_on", timezone.localdate() - datetime.timedelta(days=2))
        request = workflow.create_draft(
            by=liaison,
            kind=kind,
            agency=agency,
            technology=technology or drone,
            ordinance=ordinance,
            title=fields.pop("title", "Drone for search and rescue"),
            purpose=fields.pop("purpose", "Find missing people in the river gorge."),
            **fields,
        )
        for step, kwargs in PATHS[to]:
            kwargs = dict(kwargs)
            if step == "schedule_hearing":
                kwargs["hearing_at"] = _hearing_at()
            actor = liaison if step in LIAISON_STEPS else staff
            getattr(workflow, step)(request, by=actor, **kwargs)
        request.refresh_from_db()
        return request

    return make
