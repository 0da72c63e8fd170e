"""
`manage.py seed_demo`: the real Minneapolis record as the sources state it, nothing more;
fictional records clearly labelled; demo requests built by the real workflow; login
accounts only in DEBUG; and a second run that changes nothing.
"""

from __future__ import annotations

import datetime
import json
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from ordinances import roles, workflow
from ordinances.management.commands import seed_demo
from ordinances.models import (
    Agency,
    Category,
    CategoryRule,
    Event,
    Ordinance,
    Request,
    Source,
    StatutoryException,
    Technology,
    TechnologyUse,
)

pytestmark = pytest.mark.django_db

LOGINS = ("clerk", "staff", "liaison")


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def debug_on(settings):
    settings.DEBUG = True


@pytest.fixture
def debug_off(settings):
    settings.DEBUG = False


@pytest.fixture(scope="class")
def seeded_once(django_db_setup, django_db_blocker):
    """
    One seed (DEBUG off) shared by the read-only tests of a class, about 0.3 s saved each.

    Events are append-only (a database trigger refuses DELETE), so the seed cannot be
    cleaned up afterwards; it runs in a transaction rolled back when the class is done,
    and each test's own `db` transaction is a savepoint inside it.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        seed()
        yield
        transaction.set_rollback(True)


@pytest.fixture
def seeded(seeded_once, db) -> None:
    pass


@pytest.fixture
def minneapolis(seeded) -> Ordinance:
    return Ordinance.objects.get(file_number="2020-00681")


def every_row() -> dict[str, list[dict]]:
    """Every row of every table Django knows, including many-to-many tables."""
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for model in apps.get_models(include_auto_created=True)
    }


# ---------------------------------------------------------------------------
# The real record
# ---------------------------------------------------------------------------


@pytest.mark.usefixtures("seeded_once")
class TestTheRealRecord:
    """Ordinance 2020-00681 as the sources state it, and nothing more."""

    def test_seed_demo_loads_ordinance_2020_00681_adopted_13_0(self, minneapolis):
        assert minneapolis.adopted_on == datetime.date(2021, 2, 12)
        assert (minneapolis.votes_yes, minneapolis.votes_no) == (13, 0)
        assert (minneapolis.votes_abstain, minneapolis.votes_absent) == (0, 0)

    def test_seed_demo_records_2020_00681_as_a_real_minneapolis_law_in_effect(self, minneapolis):
        assert minneapolis.is_demo is False
        assert minneapolis.slug == "2020-00681"
        assert minneapolis.jurisdiction == "City of Minneapolis"
        assert minneapolis.status == Ordinance.Status.IN_EFFECT
        assert "facial recognition" in minneapolis.title.lower()

    def test_seed_demo_records_who_introduced_2020_00681_and_what_it_amends(self, minneapolis):
        assert minneapolis.author == "Council Member Steve Fletcher"
        assert minneapolis.introduced_on == datetime.date(2020, 10, 16)
        assert minneapolis.code_citation == "Title 2, Chapter 41"

    def test_seed_demo_leaves_the_unknown_effective_date_of_2020_00681_blank(self, minneapolis):
        assert minneapolis.effective_on is None

    def test_seed_demo_sets_no_minneapolis_deadline_because_none_is_verified(self, minneapolis):
        assert not minneapolis.deadlines.exists()

    def test_seed_demo_marks_who_decides_a_minneapolis_exception_unverified(self, minneapolis):
        (vote,) = minneapolis.steps.all()
        assert (vote.kind, vote.seats, vote.verified) == ("vote", 13, False)

    def test_seed_demo_says_beside_2020_00681_what_could_not_be_verified(self, minneapolis):
        note = minneapolis.unverified_note.lower()
        for gap in ("section numbers", "definitions", "who decides", "deadlines"):
            assert gap in note

    def test_seed_demo_summarises_2020_00681_in_plain_language(self, minneapolis):
        summary = minneapolis.summary.lower()
        assert "facial recognition" in summary
        assert "hennepin county sheriff" in summary

    def test_seed_demo_keeps_the_reported_minneapolis_exceptions_unverified(self, minneapolis):
        exceptions = minneapolis.exceptions.all()
        assert {e.slug for e in exceptions} == {
            "secure-building-access",
            "unlocking-a-smartphone",
            "employee-access-control",
        }
        for exception in exceptions:
            assert exception.verified is False
            assert (
                exception.verification_note == "Reported in news coverage; not checked against the code text"
            )

    def test_seed_demo_prohibits_facial_recognition_under_2020_00681_and_nothing_else(self, minneapolis):
        assert list(minneapolis.rules.values_list("category", "rule")) == [
            (Category.FACIAL_RECOGNITION, CategoryRule.Rule.PROHIBITED)
        ]

    def test_seed_demo_attaches_the_three_news_articles_to_2020_00681(self, minneapolis):
        sources = {s.publisher: s for s in minneapolis.sources.all()}
        assert set(sources) == {"CBS Minnesota", "KSTP", "Biometric Update"}
        assert sources["CBS Minnesota"].published_on == datetime.date(2021, 2, 12)
        assert sources["KSTP"].published_on == datetime.date(2021, 2, 12)
        assert sources["Biometric Update"].published_on == datetime.date(2021, 2, 15)
        assert sources["KSTP"].url.startswith("https://kstp.com/minnesota-news/")

    def test_seed_demo_presents_no_other_real_ordinance(self, seeded):
        # In particular no broader Minneapolis surveillance-technology (CCOPS) ordinance.
        assert list(Ordinance.objects.filter(is_demo=False).values_list("file_number", flat=True)) == [
            "2020-00681"
        ]

    def test_seed_demo_marks_minneapolis_police_covered_and_hennepin_sheriff_not(self, seeded):
        mpd = Agency.objects.get(name="Minneapolis Police Department")
        sheriff = Agency.objects.get(name="Hennepin County Sheriff's Office")
        assert (mpd.kind, mpd.covered, mpd.is_demo) == (Agency.Kind.POLICE, True, False)
        assert (sheriff.kind, sheriff.covered, sheriff.is_demo) == (Agency.Kind.SHERIFF, False, False)

    def test_seed_demo_describes_facial_recognition_as_a_real_technology(self, seeded):
        tech = Technology.objects.get(name="Facial recognition")
        assert tech.category == Category.FACIAL_RECOGNITION
        assert tech.is_demo is False
        assert tech.description
        assert tech.civil_liberties_concerns

    def test_seed_demo_files_no_real_technology_use_or_request(self, seeded):
        assert not TechnologyUse.objects.filter(is_demo=False).exists()
        assert not Request.objects.filter(is_demo=False).exists()


# ---------------------------------------------------------------------------
# The demo records
# ---------------------------------------------------------------------------


@pytest.mark.usefixtures("seeded_once")
class TestTheDemoRecords:
    def test_seed_demo_shows_an_overdue_condition(self, seeded):
        from ordinances.models import Condition

        assert Condition.objects.filter(status=Condition.Status.OVERDUE).exists()

    def test_seed_demo_shows_an_emergency_use_whose_report_is_overdue(self, seeded):
        from ordinances.models import EmergencyUse

        overdue = EmergencyUse.objects.filter(overdue_since__isnull=False)
        assert overdue.exists()
        assert all(use.is_demo and use.is_overdue for use in overdue)

    def test_seed_demo_shows_a_published_violation_with_its_remedy(self, seeded):
        from ordinances.models import Violation

        published = Violation.objects.public().get()
        assert (published.status, published.is_demo) == (Violation.Status.REMEDIED, True)
        assert published.remedy

    def test_seed_demo_shows_an_accepted_and_an_overdue_annual_report(self, seeded):
        from ordinances.models import AnnualReport

        assert AnnualReport.objects.filter(status=AnnualReport.Status.ACCEPTED).exists()
        assert AnnualReport.objects.filter(overdue_since__isnull=False, submitted_at__isnull=True).exists()

    def test_seed_demo_shows_published_comments_and_holds_one_for_moderation(self, seeded):
        from ordinances.models import Comment

        assert Comment.objects.published().count() == 2
        assert Comment.objects.held().count() == 1

    """Fictional records, labelled, with histories written by the workflow."""

    def test_seed_demo_labels_every_fictional_agency_and_technology(self, seeded):
        for agency in Agency.objects.filter(is_demo=True):
            assert "demo" in agency.name.lower()
        for tech in Technology.objects.filter(is_demo=True):
            assert "(demo)" in tech.name
        real_agencies = set(Agency.objects.filter(is_demo=False).values_list("name", flat=True))
        assert real_agencies == {"Minneapolis Police Department", "Hennepin County Sheriff's Office"}
        assert list(Technology.objects.filter(is_demo=False).values_list("name", flat=True)) == [
            "Facial recognition"
        ]

    def test_seed_demo_labels_every_request_as_demo(self, seeded):
        requests = Request.objects.all()
        assert requests
        for request in requests:
            assert request.is_demo is True
            assert request.title.startswith("Demo:")

    def test_seed_demo_ordinance_is_fictional_with_its_own_deadlines(self, seeded):
        demo = Ordinance.objects.get(is_demo=True)
        assert demo.title.startswith("Demo:")
        assert "fictional" in demo.title.lower()
        assert dict(demo.deadlines.values_list("kind", "amount")) == {
            "comment_period": 30,
            "hearing_notice": 10,
            "emergency_report": 14,
            "approval_term": 365,
            "annual_report": None,
        }

    def test_seed_demo_ordinance_requires_approval_for_drones_and_disclosure_for_body_cameras(self, seeded):
        rules = dict(Ordinance.objects.get(is_demo=True).rules.values_list("category", "rule"))
        for category in (Category.DRONES, Category.LICENSE_PLATE_READERS, Category.GUNSHOT_DETECTION):
            assert rules[category] == CategoryRule.Rule.APPROVAL_REQUIRED
        assert rules[Category.BODY_WORN_CAMERAS] == CategoryRule.Rule.DISCLOSURE_ONLY

    def test_seed_demo_inventory_names_who_receives_data(self, seeded):
        uses = TechnologyUse.objects.all()
        assert uses
        assert all(use.is_demo for use in uses)
        assert any(len(use.recipients) >= 2 for use in uses)

    def test_seed_demo_creates_a_demo_request_in_every_status_its_ordinances_paths_reach(self, seeded):
        # Advisory review and publication belong to other laws' paths (Oakland, New York),
        # which tests/test_workflow.py walks with the shipped process files.
        other_paths = {"advisory_review", "advised", "published"}
        assert (
            set(Request.objects.values_list("status", flat=True)) == set(Request.Status.values) - other_paths
        )

    def test_seed_demo_files_an_exception_request_under_2020_00681_relying_on_a_reported_exception(
        self, minneapolis
    ):
        requests = Request.objects.filter(ordinance=minneapolis)
        assert requests
        for request in requests:
            assert request.kind == Request.Kind.EXCEPTION
            assert request.exception.ordinance == minneapolis
            assert request.is_demo is True

    def test_every_demo_request_timeline_ends_in_its_status(self, seeded):
        for request in Request.objects.all():
            last = request.events.last()
            assert last.to_status == request.status, request.title

    def test_every_submitted_demo_request_has_a_public_timeline_ending_in_its_status(self, seeded):
        for request in Request.objects.public():
            public = list(request.events.public())
            assert public[0].action == "submit", request.title
            assert public[-1].to_status == request.status, request.title

    def test_demo_drafts_show_nothing_to_the_public(self, seeded):
        drafts = Request.objects.filter(status=Request.Status.DRAFT)
        assert drafts
        assert not Event.objects.public().filter(request__in=drafts).exists()

    def test_demo_timelines_are_written_by_the_workflow_actors(self, seeded):
        actors = set(Event.objects.values_list("actor_name", "actor_role"))
        assert actors == {
            ("Demo liaison", roles.Role.LIAISON),
            ("Demo council staff", roles.Role.STAFF),
            ("", roles.Role.SYSTEM),
        }

    def test_demo_histories_are_backdated_in_order_and_never_in_the_future(self, seeded):
        now = timezone.now()
        for request in Request.objects.all():
            times = [event.created_at for event in request.events.all()]
            assert times == sorted(times), request.title
            assert times[0] == request.created_at
            assert times[-1] <= now
        assert Request.objects.order_by("created_at").first().created_at < now - datetime.timedelta(days=365)

    def test_demo_approvals_are_current_except_the_one_that_expired(self, seeded):
        today = timezone.localdate()
        for request in Request.objects.filter(status__in=Request.APPROVED_STATES):
            assert request.is_active_approval(today), request.title
        expired = Request.objects.get(status=Request.Status.EXPIRED)
        assert expired.decision.expires_on < today
        assert expired.events.last().actor_role == roles.Role.SYSTEM

    def test_demo_pending_requests_still_have_their_dates_ahead(self, seeded):
        now = timezone.now()
        commenting = Request.objects.get(status=Request.Status.PUBLIC_COMMENT)
        hearing = Request.objects.get(status=Request.Status.HEARING_SCHEDULED)
        assert commenting.comment_period_ends_on > now.date()
        assert hearing.hearing_at > now

    def test_demo_request_titles_are_distinct_because_they_are_the_key_for_a_second_run(self, seeded):
        titles = list(Request.objects.values_list("title", flat=True))
        assert len(titles) == len(set(titles)) == len(seed_demo.demo_requests(timezone.localdate()))


# ---------------------------------------------------------------------------
# Running it again
# ---------------------------------------------------------------------------


def test_running_seed_demo_twice_creates_no_rows(debug_on):
    seed()
    before = {label: len(rows) for label, rows in every_row().items()}
    seed()
    after = {label: len(rows) for label, rows in every_row().items()}
    assert after == before


def test_running_seed_demo_twice_changes_no_row(debug_on):
    seed()
    before = every_row()
    seed()
    assert every_row() == before


def test_seed_demo_keeps_a_clerks_correction_on_a_second_run(db):
    seed()
    minneapolis = Ordinance.objects.get(file_number="2020-00681")
    Ordinance.objects.filter(pk=minneapolis.pk).update(effective_on=datetime.date(2021, 3, 1))
    StatutoryException.objects.filter(ordinance=minneapolis).update(verified=True)
    seed()
    minneapolis.refresh_from_db()
    assert minneapolis.effective_on == datetime.date(2021, 3, 1)
    assert not minneapolis.exceptions.filter(verified=False).exists()


def test_seed_demo_reports_what_it_created_and_what_was_already_present(db):
    first = seed()
    second = seed()
    assert "demo requests: 15 created, 0 already present" in first
    assert "demo requests: 0 created, 15 already present" in second
    assert "ordinances: 0 created, 2 already present" in second


# ---------------------------------------------------------------------------
# Accounts
# ---------------------------------------------------------------------------


def test_seed_demo_creates_login_accounts_with_password_portal_demo_when_debug_is_on(debug_on):
    seed()
    for username in LOGINS:
        assert User.objects.get(username=username).check_password("portal-demo"), username


def test_seed_demo_puts_each_login_account_in_its_group_when_debug_is_on(debug_on):
    seed()
    groups = {
        u.username: set(u.groups.values_list("name", flat=True))
        for u in User.objects.filter(username__in=LOGINS)
    }
    assert groups == {"clerk": {roles.CLERKS}, "staff": {roles.STAFF}, "liaison": {roles.LIAISONS}}


def test_demo_liaison_login_is_liaison_of_the_demo_agencies_and_minneapolis_police(debug_on):
    seed()
    liaison = User.objects.get(username="liaison")
    expected = set(Agency.objects.filter(is_demo=True).values_list("name", flat=True))
    expected.add("Minneapolis Police Department")
    assert set(liaison.liaison_agencies.values_list("name", flat=True)) == expected


def test_demo_staff_login_can_act_on_demo_requests(debug_on):
    seed()
    staff = User.objects.get(username="staff")
    in_review = Request.objects.get(status=Request.Status.IN_REVIEW)
    # Under 2020-00681 only a council vote is recorded, so the decision follows review.
    assert {t.name for t in workflow.available_transitions(in_review, staff)} >= {
        "return_to_agency",
        "approve",
    }


def test_seed_demo_creates_no_login_accounts_when_debug_is_off(debug_off):
    out = seed()
    assert not User.objects.filter(username__in=LOGINS).exists()
    assert not any(user.has_usable_password() for user in User.objects.all())
    assert "no login accounts" in out


def test_workflow_actors_exist_without_a_usable_password_whatever_debug_is(debug_on):
    seed()
    for username in (seed_demo.WORKFLOW_LIAISON, seed_demo.WORKFLOW_STAFF):
        user = User.objects.get(username=username)
        assert user.is_active
        assert not user.has_usable_password()
        assert not user.is_staff


def test_seed_demo_with_debug_on_after_a_run_with_debug_off_adds_only_the_login_accounts(settings):
    settings.DEBUG = False
    seed()
    before = {label: len(rows) for label, rows in every_row().items()}
    settings.DEBUG = True
    seed()
    after = {label: len(rows) for label, rows in every_row().items()}
    changed = {label for label in after if after[label] != before[label]}
    assert changed == {"auth.User", "auth.User_groups", "ordinances.Agency_liaisons"}
    assert after["auth.User"] - before["auth.User"] == 3


def test_seed_demo_keeps_the_password_of_an_existing_account_named_staff(debug_on):
    User.objects.create_user("staff", password="someone-elses-password")
    seed()
    assert User.objects.get(username="staff").check_password("someone-elses-password")


def test_seed_demo_adds_sources_only_once_even_if_they_exist_already(db):
    url = json.loads(seed_demo.MINNEAPOLIS_FILE.read_text())["sources"][0]["url"]
    Source.objects.create(url=url, title="Already here", publisher="CBS Minnesota")
    seed()
    assert Source.objects.filter(url=url).count() == 1


def test_seed_demo_without_demo_loads_only_the_real_record(db):
    seed(no_demo=True)

    assert list(Ordinance.objects.values_list("file_number", flat=True)) == ["2020-00681"]
    assert not Agency.objects.filter(is_demo=True).exists()
    assert not Technology.objects.filter(is_demo=True).exists()
    assert not Request.objects.exists()


def test_seed_demo_records_the_minneapolis_file_as_the_first_change_of_its_history(db):
    seed()

    (change,) = Ordinance.objects.get(file_number="2020-00681").changes.all()
    assert change.via == "file"
    (vote,) = [item for item in change.changes if item["path"] == "steps.vote"]
    assert (vote["old"], vote["new"]["seats"]) == (None, 13)
