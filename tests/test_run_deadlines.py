"""
`manage.py run_deadlines` keeps every deadline on schedule through the workflow: approvals
expire the day after their term, public comment closes the day after its last day, a
request goes on once the advisory body's time to respond has run out, open conditions past
their due date and reports past theirs are marked overdue. Each change is one Event by the
portal itself; running the command again, or twice at once, changes nothing more.

A test clock (`--now`) walks a request through each shipped law and the test ordinance and
runs the command on the last day of each deadline (nothing happens) and on the day after
(the change happens, once).
"""

from __future__ import annotations

import datetime
import json
import threading
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from model_bakery import baker

from ordinances import deadlines, oversight, process, workflow
from ordinances.models import (
    AnnualReport,
    Category,
    Condition,
    Deadline,
    EmergencyUse,
    Event,
    Ordinance,
    OversightEvent,
    ProcessStep,
    Request,
    Technology,
)
from ordinances.roles import Role

pytestmark = pytest.mark.django_db

S = Request.Status
Step = ProcessStep.Kind
DK = Deadline.Kind
D = datetime.date
LAWS = Path(process.__file__).with_name("laws")
SHIPPED = ("minneapolis", "seattle", "oakland", "san-francisco", "new-york", "boston")
DETAILS = {
    "justification": "Why it is needed.",
    "alternatives_considered": "Doing it by hand.",
    "data_collected": "Video.",
    "retention": "30 days.",
    "sharing": "No outside body.",
}


def at(day: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    """A moment in the city's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def run_command(now: datetime.datetime | None = None) -> str:
    out = StringIO()
    args = ["--now", now.isoformat()] if now else []
    call_command("run_deadlines", *args, stdout=out)
    return out.getvalue()


def changes(output: str) -> list[str]:
    """The lines of one change each; the last line is the summary."""
    lines = output.strip().splitlines()
    return lines[:-1]


def tick(now: datetime.datetime) -> list[str]:
    """Run the command at `now`, then again at the same moment: the second run changes nothing."""
    changed = changes(run_command(now))
    events = Event.objects.count(), OversightEvent.objects.count()
    again = run_command(now)
    assert changes(again) == [], again
    assert (Event.objects.count(), OversightEvent.objects.count()) == events
    return changed


def backdate_expiry(request: Request, days_ago: int) -> None:
    # The decision row is not append-only; moving its date is how a term "passes" in a test.
    request.decision.expires_on = timezone.localdate() - datetime.timedelta(days=days_ago)
    request.decision.effective_on = request.decision.expires_on - datetime.timedelta(days=30)
    request.decision.save()


def system_events(request: Request, action: str) -> list[Event]:
    events = list(request.events.filter(action=action))
    assert all(
        (e.actor, e.actor_name, e.actor_role, e.is_public) == (None, "", Role.SYSTEM, True) for e in events
    )
    return events


# ---------------------------------------------------------------------------
# Approvals past their term (what `expire_approvals` did)
# ---------------------------------------------------------------------------


def test_it_expires_an_approval_past_its_term(make_request):
    request = make_request("approved")
    backdate_expiry(request, days_ago=1)

    output = run_command()

    request.refresh_from_db()
    assert request.status == S.EXPIRED
    assert (
        f"{request.reference} expired: its term ended on {request.decision.expires_on.isoformat()}" in output
    )


def test_it_records_the_expiry_as_a_public_system_event(make_request):
    request = make_request("approved_with_conditions")
    backdate_expiry(request, days_ago=3)

    run_command()

    (event,) = system_events(request, "expire")
    assert event.data == {"expires_on": request.decision.expires_on.isoformat()}


def test_it_leaves_an_approval_still_in_its_term_alone(make_request):
    request = make_request("approved")

    output = run_command()

    request.refresh_from_db()
    assert request.status == S.APPROVED
    assert "0 approval(s) expired" in output
    assert output.strip().splitlines()[-1].startswith("0 change(s) as of ")


def test_it_leaves_an_approval_expiring_today_alone(make_request):
    request = make_request("approved")
    backdate_expiry(request, days_ago=0)

    run_command()

    request.refresh_from_db()
    assert request.status == S.APPROVED


# ---------------------------------------------------------------------------
# The clock and its output
# ---------------------------------------------------------------------------


def test_now_takes_a_date_and_time_in_the_city_s_time_zone(make_request):
    output = run_command(at(D(2031, 5, 1), 6))

    assert "0 change(s) as of 2031-05-01T06:00:00-05:00" in output


def test_now_refuses_what_is_not_a_date(db):
    with pytest.raises(CommandError, match="ISO 8601"):
        call_command("run_deadlines", "--now", "next tuesday", stdout=StringIO())


def test_the_summary_counts_each_kind_of_change(make_request):
    make_request("public_comment")
    approved = make_request("approved")
    backdate_expiry(approved, days_ago=2)

    summary = run_command().strip().splitlines()[-1]

    assert summary.startswith("2 change(s) as of ")
    assert "1 approval(s) expired; 1 comment period(s) closed;" in summary
    assert "0 condition(s) overdue" in summary


def test_running_twice_changes_each_record_once_with_one_event_each(make_request, staff):
    commenting = make_request("public_comment")
    approved = make_request("approved")
    backdate_expiry(approved, days_ago=2)
    conditional = make_request("hearing_scheduled")
    workflow.perform(
        "approve_with_conditions",
        conditional,
        by=staff,
        now=timezone.now() - datetime.timedelta(days=5),
        votes_yes=9,
        votes_no=3,
        conditions=[
            workflow.ConditionInput("Publish the policy", timezone.localdate() - datetime.timedelta(days=1))
        ],
    )

    first = changes(run_command())
    second = changes(run_command())

    assert len(first) == 3
    assert second == []
    assert len(system_events(commenting, "close_comment_period")) == 1
    assert len(system_events(approved, "expire")) == 1
    assert len(system_events(conditional, "condition")) == 1


def test_an_emergency_use_whose_report_is_late_is_marked_overdue_once(ordinance, agency_a, drone, liaison_a):
    used_on = D(2026, 3, 2)
    use = oversight.record_emergency_use(
        liaison_a, agency_a, drone, ordinance, used_on, "A search at night.", now=at(used_on, 23)
    )
    due = deadlines.due_on(ordinance, DK.EMERGENCY_REPORT, used_on)

    assert tick(at(due, 23, 59)) == []
    changed = tick(at(due + datetime.timedelta(days=1), 0, 5))

    assert changed == [f"emergency-use report overdue: {use} (due {due.isoformat()})"]
    assert EmergencyUse.objects.get(pk=use.pk).overdue_since == due + datetime.timedelta(days=1)
    assert OversightEvent.objects.filter(emergency_use=use, action="emergency_report_overdue").count() == 1


# ---------------------------------------------------------------------------
# Every deadline of every shipped law, on a test clock
# ---------------------------------------------------------------------------


def load(name: str) -> Ordinance:
    ordinance, _created, _changes = process.load(
        json.loads((LAWS / f"{name}.json").read_text(encoding="utf-8"))
    )
    return Ordinance.objects.prefetch_related("steps", "deadlines", "rules").get(pk=ordinance.pk)


def law_request(name: str, law: Ordinance, *, agency, liaison, on: datetime.date) -> Request:
    """A request the law reviews: an exception under a ban, otherwise a request for approval."""
    fields: dict = {"kind": Request.Kind.APPROVAL}
    category = Category.DRONES
    if name == "minneapolis":
        category = Category.FACIAL_RECOGNITION
        fields = {
            "kind": Request.Kind.EXCEPTION,
            "exception": law.exceptions.get(slug="secure-building-access"),
        }
    elif name == "new-york":
        category = Category.VIDEO_ANALYTICS
    technology = baker.make(
        Technology, name=f"A {category}", slug=category.replace("_", "-"), category=category
    )
    return workflow.create_draft(
        by=liaison,
        now=at(on),
        agency=agency,
        technology=technology,
        ordinance=law,
        title=f"A request under {law.file_number}",
        purpose="To keep the law's deadlines.",
        requested_term_days=400,
        **DETAILS,
        **fields,
    )


def the_day_after(day: datetime.date) -> datetime.date:
    return day + datetime.timedelta(days=1)


@pytest.mark.parametrize("name", [*SHIPPED, "test"])
def test_a_test_clock_moves_through_every_deadline_of_the_law(name, ordinance, agency_a, liaison_a, staff):
    law = ordinance if name == "test" else load(name)
    law = Ordinance.objects.prefetch_related("steps", "deadlines", "rules").get(pk=law.pk)
    day = D(2026, 1, 5)
    request = law_request(name, law, agency=agency_a, liaison=liaison_a, on=day)
    ref = request.reference

    def step(transition: str, when: datetime.datetime, **inputs) -> None:
        actor = liaison_a if transition == "submit" else staff
        workflow.perform(transition, request, by=actor, now=when, **inputs)

    step("submit", at(day))
    step("begin_review", at(day + datetime.timedelta(days=1)))
    day += datetime.timedelta(days=2)
    decided: datetime.datetime | None = None
    for kind in [s.kind for s in law.path()]:
        if kind == Step.ADVISORY_REVIEW:
            step("refer_to_advisory", at(day))
            ends = deadlines.due_on(law, DK.ADVISORY_SILENCE, day)
            if ends is None:
                # No silence period (San Francisco, Seattle): only the body's opinion moves it on.
                assert tick(at(day + datetime.timedelta(days=400))) == []
                day += datetime.timedelta(days=20)
                step("record_advisory_opinion", at(day), opinion=workflow.Opinion.SUPPORTS)
            else:
                # Oakland's 90 days: on the last day nothing happens, the day after the portal goes on.
                assert tick(at(ends, 23, 59)) == []
                assert tick(at(the_day_after(ends), 0, 5)) == [f"{ref} went on without the advisory opinion"]
                assert Request.objects.get(pk=request.pk).status == S.ADVISED
                assert len(system_events(request, "proceed_after_silence")) == 1
                day = the_day_after(ends)
        elif kind == Step.COMMUNITY_MEETING:
            step("record_community_meeting", at(day, 20), held_on=day, place="Central Library")
        elif kind == Step.PUBLIC_COMMENT:
            step("open_comment_period", at(day))
            ends = Request.objects.get(pk=request.pk).comment_period_ends_on
            assert tick(at(ends, 23, 59)) == []
            assert tick(at(the_day_after(ends), 0, 5)) == [
                f"{ref} public comment closed: its last day was {ends.isoformat()}"
            ]
            assert Request.objects.get(pk=request.pk).comment_period_closed_on == the_day_after(ends)
            assert len(system_events(request, "close_comment_period")) == 1
            day = the_day_after(ends)
        elif kind == Step.HEARING:
            earliest = deadlines.due_on(law, DK.HEARING_NOTICE, day) or the_day_after(day)
            step("schedule_hearing", at(day), hearing_at=at(earliest, 18), hearing_address="City Hall")
            day = earliest
            decided = at(day, 21)
        elif kind == Step.VOTE:
            vote = law.step(Step.VOTE)
            due = day + datetime.timedelta(days=30)
            step(
                "approve_with_conditions",
                decided or at(day, 21),
                votes_yes=vote.seats,
                votes_no=0,
                conditions=[workflow.ConditionInput("Publish the use policy", due)],
            )
            condition = Condition.objects.get(decision__request=request)
            assert tick(at(due, 23, 59)) == []
            assert tick(at(the_day_after(due), 0, 5)) == [
                f"{ref} condition {condition.pk} overdue: due {due.isoformat()}"
            ]
            assert Condition.objects.get(pk=condition.pk).status == Condition.Status.OVERDUE
            assert len(system_events(request, "condition")) == 1
        elif kind == Step.PUBLICATION:
            step("publish_policy", at(day))

    request = Request.objects.select_related("decision").get(pk=request.pk)
    decision = request.decision
    # What falls due after the decision, in date order: the annual reports (Oakland: 15 March
    # after each year the approval was in effect; San Francisco: 12 months after the
    # decision) and the end of the term (every law with a vote).
    milestones = [
        (
            expected.due_on,
            f"annual report overdue: {agency_a} · {request.technology} · {expected.year} "
            f"(due {expected.due_on.isoformat()})",
        )
        for expected in oversight.expected_reports(D(2040, 1, 1))
        if expected.ordinance == law
    ]
    if decision.expires_on is not None:
        milestones.append(
            (decision.expires_on, f"{ref} expired: its term ended on {decision.expires_on.isoformat()}")
        )
    assert milestones or name == "new-york"  # New York publishes a policy with no end date
    for due, line in sorted(milestones):
        assert tick(at(due, 23, 59)) == []
        assert tick(at(the_day_after(due), 0, 5)) == [line]
    reports = AnnualReport.objects.filter(ordinance=law)
    assert reports.count() == len(milestones) - (decision.expires_on is not None)
    for report in reports:
        assert OversightEvent.objects.filter(annual_report=report, action="report_overdue").count() == 1
    if decision.expires_on is not None:
        assert Request.objects.get(pk=request.pk).status == S.EXPIRED
        assert len(system_events(request, "expire")) == 1
    else:
        assert Request.objects.get(pk=request.pk).status == S.PUBLISHED
    # Long after, nothing is left to change: each record changed once.
    assert tick(at(D(2040, 1, 1))) == []


def test_conditions_of_an_approval_that_has_expired_are_left_as_they_were(make_request, staff):
    request = make_request("hearing_scheduled")
    due = timezone.localdate() + datetime.timedelta(days=10)
    workflow.perform(
        "approve_with_conditions",
        request,
        by=staff,
        now=timezone.now() - datetime.timedelta(days=4),
        votes_yes=9,
        votes_no=3,
        expires_on=timezone.localdate() + datetime.timedelta(days=5),
        conditions=[workflow.ConditionInput("Publish the policy", due)],
    )

    run_command(at(due + datetime.timedelta(days=1)))

    assert Request.objects.get(pk=request.pk).status == S.EXPIRED
    assert Condition.objects.get(decision__request=request).status == Condition.Status.OPEN


# ---------------------------------------------------------------------------
# Two runs at once (PostgreSQL row locks)
# ---------------------------------------------------------------------------


@pytest.mark.postgresql
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_change_each_record_once_with_one_event_each(
    make_request, staff, ordinance, agency_a, drone, liaison_a, monkeypatch
):
    commenting = [make_request("public_comment") for _ in range(2)]
    expiring = [make_request("approved") for _ in range(2)]
    for request in expiring:
        backdate_expiry(request, days_ago=2)
    conditional = make_request("hearing_scheduled")
    workflow.perform(
        "approve_with_conditions",
        conditional,
        by=staff,
        now=timezone.now() - datetime.timedelta(days=5),
        votes_yes=9,
        votes_no=3,
        conditions=[
            workflow.ConditionInput(f"Condition {i}", timezone.localdate() - datetime.timedelta(days=i))
            for i in (1, 2, 3)
        ],
    )
    used_on = timezone.localdate() - datetime.timedelta(days=20)
    use = oversight.record_emergency_use(liaison_a, agency_a, drone, ordinance, used_on, "A search at night.")

    # Hold each request's row lock a moment, so the two runs meet on the same rows.
    locked = workflow._locked

    def slow_locked(request):
        row = locked(request)
        time.sleep(0.05)
        return row

    monkeypatch.setattr(workflow, "_locked", slow_locked)
    barrier = threading.Barrier(2, timeout=10)
    outputs: dict[str, object] = {}

    def run(name: str) -> None:
        try:
            barrier.wait()
            outputs[name] = run_command()
        except Exception as error:  # reported by the assertion below
            outputs[name] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert all(isinstance(output, str) for output in outputs.values()), outputs
    lines = [line for output in outputs.values() for line in changes(str(output))]
    assert len(lines) == len(set(lines)) == 2 + 2 + 3 + 1
    for request in commenting:
        assert Event.objects.filter(request=request, action="close_comment_period").count() == 1
    for request in expiring:
        assert Event.objects.filter(request=request, action="expire").count() == 1
        assert Request.objects.get(pk=request.pk).status == S.EXPIRED
    assert Event.objects.filter(request=conditional, action="condition").count() == 3
    assert set(Condition.objects.filter(decision__request=conditional).values_list("status", flat=True)) == {
        Condition.Status.OVERDUE
    }
    assert OversightEvent.objects.filter(emergency_use=use, action="emergency_report_overdue").count() == 1
