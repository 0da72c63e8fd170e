"""
Where a request stands on its ordinance's path and which dates are ahead of it
(`ordinances.progress`), from its status and the facts its review recorded.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from ordinances import progress, workflow
from ordinances.models import Deadline, Event, Ordinance, ProcessStep

pytestmark = pytest.mark.django_db


def progress_of(request) -> progress.Progress:
    request.refresh_from_db()
    return progress.for_request(request, Event.objects.public().filter(request=request))


def states(result: progress.Progress) -> dict[str, str]:
    return {segment.kind: segment.state for segment in result.segments}


def test_a_submitted_request_waits_for_staff_review(make_request):
    result = progress_of(make_request("submitted"))

    assert states(result) == {
        "submission": "complete",
        "review": "current",
        "public_comment": "incomplete",
        "hearing": "incomplete",
        "vote": "incomplete",
    }


def test_a_request_whose_comment_period_has_closed_waits_for_its_hearing(make_request):
    result = progress_of(make_request("public_comment"))

    assert result.current is not None
    assert result.current.kind == "hearing"
    assert states(result)["public_comment"] == "complete"


def test_a_decided_request_has_every_step_complete_and_none_current(make_request):
    result = progress_of(make_request("denied"))

    assert result.current is None
    assert set(states(result).values()) == {"complete"}


def test_a_request_withdrawn_in_public_comment_keeps_the_steps_it_had_reached(make_request, liaison_a):
    request = make_request("public_comment")
    workflow.perform("withdraw", request, by=liaison_a, reason="No longer needed.")

    result = progress_of(request)

    assert result.current is None
    assert states(result) == {
        "submission": "complete",
        "review": "complete",
        "public_comment": "incomplete",
        "hearing": "incomplete",
        "vote": "incomplete",
    }


def test_an_emergency_report_is_settled_by_staff_not_by_the_ordinances_path(make_request):
    result = progress_of(make_request("accepted"))

    assert [segment.kind for segment in result.segments] == ["submission", "review", "report_decision"]
    assert result.current is None


def test_a_community_meeting_counts_as_held_only_once_recorded(make_request, staff, ordinance):
    ProcessStep.objects.create(ordinance=ordinance, kind=ProcessStep.Kind.COMMUNITY_MEETING)
    request = make_request("in_review")
    assert states(progress_of(request))["community_meeting"] == "incomplete"

    workflow.perform(
        "record_community_meeting", request, by=staff, held_on=timezone.localdate(), place="Library"
    )

    assert states(progress_of(request))["community_meeting"] == "complete"


def test_the_comment_periods_closing_day_replaces_the_laws_minimum_among_the_dates_ahead(make_request, staff):
    request = make_request("in_review")
    later = timezone.localdate() + datetime.timedelta(days=45)
    workflow.perform("open_comment_period", request, by=staff, comment_period_ends_on=later)

    ahead = progress_of(request).upcoming

    assert [(item.kind, item.on) for item in ahead] == [(progress.COMMENT_CLOSES, later)]


def test_the_next_date_is_the_soonest_ahead(make_request, staff, ordinance):
    Deadline.objects.create(
        ordinance=ordinance,
        kind=Deadline.Kind.POLICY_BEFORE_USE,
        amount=90,
        counted_from=Deadline.Anchor.COMMENT_OPENING,
    )
    request = make_request("in_review")
    workflow.perform("open_comment_period", request, by=staff)
    request.refresh_from_db()

    soonest = progress.next_date(request)

    assert soonest is not None
    assert (soonest.kind, soonest.on) == (progress.COMMENT_CLOSES, request.comment_period_ends_on)
    assert [item.kind for item in progress.upcoming(request)] == [
        progress.COMMENT_CLOSES,
        "policy_before_use",
    ]


def test_a_held_hearing_is_no_longer_ahead(make_request):
    request = make_request("hearing_scheduled")

    assert progress.upcoming(request) == []


def test_a_decided_request_has_no_dates_ahead_its_decision_carries_them(make_request):
    assert progress.upcoming(make_request("approved")) == []


def test_each_deadline_of_a_path_sits_with_the_step_it_counts_from(ordinance):
    path = progress.path_of(Ordinance.objects.prefetch_related("steps", "deadlines").get(pk=ordinance.pk))

    placed = {step.kind: [row.kind for row in step.deadlines] for step in path.steps}
    assert placed == {
        "submission": [],
        "review": [],
        "public_comment": ["comment_period"],
        "hearing": ["hearing_notice"],
        "vote": [],
    }
    assert sorted(row.kind for row in path.other_deadlines) == ["approval_term", "emergency_report"]


def test_a_path_step_lists_the_rows_of_the_transition_table_that_carry_it_out(ordinance):
    path = progress.path_of(ordinance)

    rows = {step.kind: [row.name for row in step.rows] for step in path.steps}
    assert rows["review"] == ["begin_review", "return_to_agency"]
    assert rows["vote"] == ["approve", "approve_with_conditions", "deny"]
    assert [row.name for row in path.aside] == ["withdraw", "expire", "revoke"]
