"""
/how-it-works/ shows each ordinance in force as a path: a step indicator, each step with
who takes it and the deadlines counted from it in plain words, and what each status means.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from model_bakery import baker

from ordinances import workflow
from ordinances.models import Deadline, Ordinance, ProcessStep, Request

pytestmark = pytest.mark.django_db


def how_it_works(client) -> str:
    response = client.get(reverse("ordinances:how_it_works"))
    assert response.status_code == 200
    return response.content.decode()


def article(page: str, ordinance: Ordinance) -> str:
    return page.split(f'id="path-{ordinance.slug}"', 1)[1].split("</article>", 1)[0]


@pytest.fixture
def advised(db) -> Ordinance:
    """An ordinance with an advisory body that has 60 days to answer, and a publication, no vote."""
    law = baker.make(Ordinance, file_number="ADV-1", slug="advised", status=Ordinance.Status.ADOPTED)
    ProcessStep.objects.create(
        ordinance=law, kind=ProcessStep.Kind.ADVISORY_REVIEW, body="Privacy Commission"
    )
    ProcessStep.objects.create(ordinance=law, kind=ProcessStep.Kind.PUBLICATION)
    Deadline.objects.create(
        ordinance=law,
        kind=Deadline.Kind.ADVISORY_SILENCE,
        amount=60,
        counted_from=Deadline.Anchor.ADVISORY_REFERRAL,
    )
    Deadline.objects.create(
        ordinance=law,
        kind=Deadline.Kind.APPROVAL_TERM,
        amount=1,
        unit=Deadline.Unit.MONTHS,
        counted_from=Deadline.Anchor.APPROVAL_EFFECTIVE,
        extension_amount=2,
    )
    return law


def test_each_ordinance_in_force_has_its_path_as_a_step_indicator_with_counters(client, ordinance, advised):
    page = how_it_works(client)

    for law, labels in (
        (ordinance, ["Submitted", "Staff review", "Public comment", "Public hearing", "Vote"]),
        (advised, ["Submitted", "Staff review", "Advisory review", "Policy published"]),
    ):
        steps = article(page, law).split("usa-step-indicator--counters", 1)[1].split("</ol>", 1)[0]
        assert [label for label in labels if label in steps] == labels, law


def test_an_ordinance_not_in_force_has_no_path(client, ordinance):
    ordinance.status = Ordinance.Status.REPEALED
    ordinance.save()

    assert f'id="path-{ordinance.slug}"' not in how_it_works(client)


def test_each_deadline_is_a_sentence_built_from_its_amount_unit_and_starting_point(
    client, ordinance, advised
):
    page = how_it_works(client)

    ours = article(page, ordinance)
    assert "The public has at least 30 days to comment after the comment period opens." in ours
    assert "The hearing takes place at least 10 days after the hearing is announced." in ours
    assert "An agency reports an emergency use within 14 days after the emergency use." in ours
    assert "An approval lasts at most 365 days after the approval takes effect." in ours
    theirs = article(page, advised)
    assert "The Privacy Commission has 60 days to give its opinion on a request referred to it." in theirs
    assert (
        "An approval lasts at most 1 month after the approval takes effect. It may be extended by 2 months."
        in theirs
    )


def test_a_vote_step_names_the_body_its_seats_and_the_majority_an_approval_needs(client, ordinance):
    assert (
        "The Test City Council decides. It has 13 seats; an approval needs more yes than no votes."
        in article(how_it_works(client), ordinance)
    )


def test_an_ordinance_without_deadlines_says_staff_set_each_date(client, ordinance):
    ordinance.deadlines.all().delete()

    assert "This record sets no deadlines" in article(how_it_works(client), ordinance)


def test_every_public_status_is_explained_by_the_steps_that_lead_to_it(client, ordinance):
    statuses = how_it_works(client).split('id="statuses-heading"', 1)[1].split("</dl>", 1)[0]

    for status in Request.Status:
        if status == Request.Status.DRAFT:
            assert 'id="status-draft"' not in statuses
            continue
        assert f'id="status-{status.value}"' in statuses
        for row in workflow.TRANSITIONS.values():
            if row.target == status:
                assert row.description.replace("'", "&#x27;") in statuses, (status, row.name)


def test_the_page_has_no_wide_table_that_would_scroll_sideways(client, ordinance, advised):
    assert "<table" not in how_it_works(client)
