"""
`manage.py seed_bulk`: a fabricated city that is true to the law it is filed under, with
timelines the workflow could have written, made the same way from the same seed, that
refuses to land on a record already there, and that real drafts continue after.
"""

from __future__ import annotations

import datetime
import statistics
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count, Max, Prefetch
from django.utils import timezone

from ordinances import workflow
from ordinances.models import (
    Agency,
    Comment,
    Decision,
    EmergencyUse,
    Event,
    Ordinance,
    Request,
    Technology,
    TechnologyUse,
)
from ordinances.roles import Role

pytestmark = pytest.mark.django_db

SMALL = {"requests": 80, "agencies": 12, "technologies": 30, "uses": 60}
# Events that record something beside the path without moving the request.
RECORD_EVENTS = {Event.Action.CONDITION, Event.Action.COMMENT_PUBLISHED, Event.Action.COMMENT_REJECTED}


def seed(**options: object) -> str:
    out = StringIO()
    call_command("seed_bulk", **{**SMALL, **options}, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(db) -> str:
    return seed()


def requests_with_history() -> list[Request]:
    return list(
        Request.objects.select_related("ordinance", "decision")
        .prefetch_related(
            "ordinance__steps",
            "ordinance__deadlines",
            Prefetch("events", queryset=Event.objects.order_by("created_at", "pk")),
        )
        .order_by("pk")
    )


def test_it_creates_the_numbers_of_records_asked_for(seeded):
    assert Request.objects.count() == 80
    assert Agency.objects.count() == 12
    assert Technology.objects.count() == 30
    assert TechnologyUse.objects.count() == 60


def test_every_state_appears_even_in_a_small_run(seeded):
    assert set(Request.objects.values_list("status", flat=True)) == set(Request.Status.values)


def test_every_generated_request_passes_full_clean(seeded):
    for request in Request.objects.all():
        request.full_clean()


def test_the_records_are_real_looking_not_demo(seeded):
    assert not Request.objects.filter(is_demo=True).exists()
    assert not Agency.objects.filter(is_demo=True).exists()
    assert not Ordinance.objects.filter(requests__isnull=False, is_demo=True).exists()


def test_each_timeline_is_a_legal_path_of_the_workflow_ending_in_its_status(seeded):
    for request in requests_with_history():
        ordinance = request.ordinance
        status, last = "", None
        for event in request.events.all():
            where = f"{request.reference} {event.action}"
            assert last is None or event.created_at > last, where
            assert event.from_status == status, where
            if event.action == Event.Action.CREATE:
                assert (status, event.to_status, event.actor_role) == ("", Request.Status.DRAFT, Role.LIAISON)
            elif event.action in RECORD_EVENTS:
                assert event.to_status == status, where
            else:
                transition = workflow.TRANSITIONS[event.action]
                assert status in transition.sources, where
                assert request.kind in transition.kinds, where
                assert event.actor_role in transition.actors, where
                if transition.step:
                    assert ordinance.step(transition.step) is not None, where
                    if transition.target is not None:
                        assert status == workflow.expected_state(ordinance, transition.step), where
                if transition.part_of:
                    assert ordinance.step(transition.part_of) is not None, where
                if transition.needs_deadline:
                    assert ordinance.deadline(transition.needs_deadline) is not None, where
                assert event.to_status == (transition.target or status), where
            status, last = event.to_status, event.created_at
        assert status == request.status, request.reference


def test_dates_follow_the_order_the_workflow_enforces(seeded):
    for request in requests_with_history():
        day = timezone.localdate
        chain = [day(request.created_at)]
        if request.submitted_at:
            chain.append(day(request.submitted_at))
        chain += [
            request.advisory_referred_on,
            request.comment_period_opened_on,
            request.comment_period_ends_on,
        ]
        if request.hearing_at:
            chain += [request.hearing_noticed_on, day(request.hearing_at)]
        decision = getattr(request, "decision", None)
        if decision is not None:
            chain += [decision.decided_on, decision.effective_on, decision.expires_on]
        dates = [d for d in chain if d is not None]
        assert dates == sorted(dates), request.reference
        assert request.updated_at == max(
            e.created_at for e in request.events.all() if e.action not in RECORD_EVENTS
        ), request.reference


def test_votes_fit_the_deciding_body_and_its_majority(seeded):
    decisions = Decision.objects.exclude(outcome=Decision.Outcome.PUBLISHED).select_related(
        "request__ordinance"
    )
    assert decisions.exists()
    for decision in decisions:
        step = decision.request.ordinance.step("vote")
        assert step is not None
        assert (decision.body, decision.seats) == (step.body, step.seats)
        total = decision.votes_yes + decision.votes_no + decision.votes_abstain + decision.votes_absent
        assert total <= step.seats
        approved = decision.outcome != Decision.Outcome.DENIED
        assert step.votes_needed(yes=decision.votes_yes, no=decision.votes_no) == approved


def test_comments_exist_only_within_a_comment_period(seeded):
    comments = Comment.objects.select_related("request")
    assert comments.exists()
    for comment in comments:
        request = comment.request
        assert request.comment_period_opened_on is not None
        assert (
            request.comment_period_opened_on
            <= timezone.localdate(comment.submitted_at)
            <= request.comment_period_ends_on
        )
        if comment.moderated_at is not None:
            assert comment.moderated_at > comment.submitted_at


def test_emergency_reports_are_linked_to_the_use_they_report(seeded):
    reports = Request.objects.filter(kind=Request.Kind.EMERGENCY_REPORT, submitted_at__isnull=False)
    assert reports.exists()
    for report in reports:
        use = EmergencyUse.objects.get(report=report)
        assert (use.agency_id, use.technology_id, use.used_on) == (
            report.agency_id,
            report.technology_id,
            report.emergency_used_on,
        )


def test_the_same_seed_gives_the_same_references_and_titles(db):
    with transaction.atomic():
        seed(seed=7)
        first = list(Request.objects.order_by("reference").values_list("reference", "title"))
        transaction.set_rollback(True)
    seed(seed=7)
    assert list(Request.objects.order_by("reference").values_list("reference", "title")) == first


def test_a_second_run_without_append_is_refused_and_creates_nothing(seeded):
    before = (Request.objects.count(), Agency.objects.count(), Event.objects.count())
    with pytest.raises(CommandError, match="--append"):
        seed()
    assert (Request.objects.count(), Agency.objects.count(), Event.objects.count()) == before


def test_append_adds_a_second_city_with_references_that_continue(seeded):
    seed(append=True, seed=2)
    assert Request.objects.count() == 160
    references = list(Request.objects.values_list("reference", flat=True))
    assert len(set(references)) == len(references)


def test_a_real_draft_started_after_seeding_continues_the_references(seeded):
    request = Request.objects.filter(kind=Request.Kind.APPROVAL).select_related("agency").first()
    assert request is not None
    liaison = request.agency.liaisons.get()
    year = timezone.localdate().year
    numbers = [
        int(ref.rsplit("-", 1)[1])
        for ref in Request.objects.filter(reference__startswith=f"REQ-{year}-").values_list(
            "reference", flat=True
        )
    ]
    draft = workflow.create_draft(
        by=liaison,
        kind=request.kind,
        agency=request.agency,
        technology=request.technology,
        ordinance=request.ordinance,
        title="A real draft after the seed",
        purpose="To check the numbering.",
    )
    assert draft.reference == f"REQ-{year}-{max(numbers, default=0) + 1:04d}"


def test_the_largest_agency_has_clearly_more_uses_than_the_median(db):
    seed(requests=0, agencies=60, technologies=200, uses=1500)
    counts = list(Agency.objects.annotate(n=Count("uses")).values_list("n", flat=True))
    assert max(counts) >= 3 * statistics.median(counts)


def test_renewals_renew_an_approval_of_the_same_agency_and_technology(db):
    seed(requests=400)
    renewals = Request.objects.filter(kind=Request.Kind.RENEWAL).select_related("renews__decision")
    assert renewals.exists()
    for renewal in renewals:
        renewed = renewal.renews
        assert renewed is not None
        assert (renewed.agency_id, renewed.technology_id) == (renewal.agency_id, renewal.technology_id)
        assert renewed.status in Request.RENEWABLE_STATES
        assert renewed.decision.decided_on < timezone.localdate(renewal.created_at)


def test_no_request_is_dated_in_the_future(seeded):
    now = timezone.now()
    assert Event.objects.aggregate(latest=Max("created_at"))["latest"] <= now
    assert not Decision.objects.filter(decided_on__gt=timezone.localdate()).exists()
    ten_years_ago = now - datetime.timedelta(days=3653)
    assert not Request.objects.filter(created_at__lt=ten_years_ago).exists()


def test_each_request_was_last_publicly_changed_at_its_latest_public_event(seeded):
    for request in requests_with_history():
        public = [e.created_at for e in request.events.all() if e.is_public]
        assert request.public_updated_at == max(public, default=request.created_at), request.reference
