"""
Many people at once, on PostgreSQL: a dozen liaisons starting drafts in the same second each
get a reference of their own (the advisory lock in `workflow.create_draft`), and a dozen
staff approving the same request make exactly one decision (the row lock in `perform`).

Every thread opens its own connection (`transaction=True`: the rows are committed, so the
threads see each other's), waits at a barrier so that all start together, and closes its
connection at the end. SQLite's shared-cache test database refuses concurrent writers outright
("database table is locked"), so the threads cannot race there; on SQLite a real database file
queues writers behind its single write lock, which every transaction takes when it begins
(settings: transaction_mode IMMEDIATE).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ordinances import roles, workflow
from ordinances.models import Decision, Event, Request
from tests.conftest import make_user
from tests.test_admin_review import agency_form_data

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite's shared-cache test database refuses concurrent writers outright "
        "(database table is locked), so threads cannot race there",
    ),
    pytest.mark.django_db(transaction=True),
]

THREADS = 12


def all_at_once(work: Callable[[int], Any], count: int = THREADS) -> list[Any]:
    """Run `work(0)` .. `work(count - 1)` in threads released together; each one's result or error."""
    barrier = threading.Barrier(count, timeout=30)
    outcomes: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = work(index)
        except BaseException as error:  # reported by the assertions
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is still waiting"
    return outcomes


@pytest.fixture
def slow_numbering(monkeypatch):
    """
    Wait a moment between reading the last reference number and inserting the next, so that
    without a lock every thread would read the same number and all but one would collide.
    """
    read = workflow.last_reference_number

    def slow_read(year: int) -> int:
        number = read(year)
        time.sleep(0.05)
        return number

    monkeypatch.setattr(workflow, "last_reference_number", slow_read)


def expected_references(count: int) -> list[str]:
    year = timezone.localdate().year
    return [workflow.reference(year, number) for number in range(1, count + 1)]


def test_a_dozen_drafts_created_at_once_get_distinct_consecutive_references(
    slow_numbering, liaison_a, agency_a, drone, ordinance
):
    def create(index: int) -> Request:
        return workflow.create_draft(
            by=liaison_a,
            kind=Request.Kind.APPROVAL,
            agency=agency_a,
            technology=drone,
            ordinance=ordinance,
            title=f"Drone number {index}",
            purpose="Find missing people in the river gorge.",
        )

    outcomes = all_at_once(create)

    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert errors == []
    assert not any(isinstance(outcome, IntegrityError) for outcome in outcomes)
    references = sorted(outcome.reference for outcome in outcomes)
    assert references == expected_references(THREADS)
    assert sorted(Request.objects.values_list("reference", flat=True)) == references
    assert Event.objects.filter(action="create").count() == THREADS


def test_a_dozen_liaisons_submitting_the_new_request_form_at_once_all_get_their_draft(
    slow_numbering, agency_a, drone, ordinance
):
    clients = []
    for index in range(THREADS):
        liaison = make_user(f"liaison_{index}", roles.LIAISONS)
        agency_a.liaisons.add(liaison)
        client = Client(raise_request_exception=False)
        client.force_login(liaison)
        clients.append(client)

    def submit(index: int) -> int:
        data = agency_form_data(
            agency=agency_a.pk,
            technology=drone.pk,
            ordinance=ordinance.pk,
            title=f"Drone form {index}",
            purpose="Inspect the undersides of bridges.",
        )
        return clients[index].post(reverse("admin:ordinances_request_add"), data).status_code

    statuses = all_at_once(submit)

    assert statuses == [302] * THREADS  # saved and sent on: no 500, no form lost
    titles = set(Request.objects.values_list("title", flat=True))
    assert titles == {f"Drone form {index}" for index in range(THREADS)}
    references = sorted(Request.objects.values_list("reference", flat=True))
    assert references == expected_references(THREADS)


def test_a_dozen_staff_approving_the_same_request_at_once_record_exactly_one_decision(
    make_request, monkeypatch
):
    hearing = make_request("hearing_scheduled")
    approvers = [make_user(f"staff_{index}", roles.STAFF) for index in range(THREADS)]
    # Hold the row lock a moment after deciding, so the others must wait for it.
    record = workflow._record

    def slow_record(*args: Any, **kwargs: Any) -> Event:
        event = record(*args, **kwargs)
        time.sleep(0.2)
        return event

    monkeypatch.setattr(workflow, "_record", slow_record)

    def approve(index: int) -> str:
        mine = Request.objects.get(pk=hearing.pk)
        workflow.perform("approve", mine, by=approvers[index], votes_yes=9, votes_no=3)
        return "approved"

    outcomes = all_at_once(approve)

    winners = [outcome for outcome in outcomes if outcome == "approved"]
    losers = [outcome for outcome in outcomes if outcome != "approved"]
    assert len(winners) == 1
    assert all(isinstance(loser, workflow.TransitionRefused) for loser in losers), losers
    assert {loser.code for loser in losers} == {"state"}
    assert Decision.objects.filter(request=hearing).count() == 1
    assert Event.objects.filter(request=hearing, action="approve").count() == 1
    assert Request.objects.get(pk=hearing.pk).status == Request.Status.APPROVED
