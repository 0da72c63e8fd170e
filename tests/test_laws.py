"""
The six shipped laws, each loaded from its process file and walked through its whole path
by `workflow.perform`, with every deadline the law sets checked against dates worked out
by hand. None of them needs code of its own: the path comes from the file's steps, the
dates from its deadline rows.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from model_bakery import baker

from ordinances import deadlines, process, workflow
from ordinances.models import Agency, Category, Decision, Ordinance, Request, Technology

pytestmark = pytest.mark.django_db

LAWS = Path(process.__file__).with_name("laws")
D = datetime.date
DETAILS = {
    "justification": "Why it is needed.",
    "alternatives_considered": "Doing it by hand.",
    "data_collected": "Video.",
    "retention": "30 days.",
    "sharing": "No outside body.",
}


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    """A moment in the city's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def load(name: str) -> Ordinance:
    ordinance, _created, _changes = process.load(
        json.loads((LAWS / f"{name}.json").read_text(encoding="utf-8"))
    )
    return Ordinance.objects.prefetch_related("steps", "deadlines", "rules").get(pk=ordinance.pk)


@pytest.fixture
def city(agency_a, liaison_a, staff):
    """A covered agency with its liaison, council staff, and a technology of each category."""

    def technology(category: str) -> Technology:
        return baker.make(
            Technology, name=f"A {category}", slug=category.replace("_", "-"), category=category
        )

    return {"agency": agency_a, "liaison": liaison_a, "staff": staff, "technology": technology}


def draft(
    city, ordinance: Ordinance, category: str, *, kind: str = Request.Kind.APPROVAL, on: D, **fields
) -> Request:
    return workflow.create_draft(
        by=city["liaison"],
        now=at(on),
        kind=kind,
        agency=city["agency"],
        technology=city["technology"](category),
        ordinance=ordinance,
        title=f"A request under {ordinance.file_number}",
        purpose="To test the law's path.",
        **{**DETAILS, **fields},
    )


def step(name: str, request: Request, city, on: D, hour: int = 10, **inputs) -> Request:
    actor = city["liaison"] if name in ("submit", "withdraw") else city["staff"]
    return workflow.perform(name, request, by=actor, now=at(on, hour), **inputs)


def path_of(request: Request) -> list[str]:
    return list(request.events.public().values_list("action", flat=True))


# ---------------------------------------------------------------------------
# Minneapolis, 2020-00681: a ban with named exceptions; only the council's vote is recorded
# ---------------------------------------------------------------------------


def test_minneapolis_an_exception_goes_from_review_to_the_councils_vote(city):
    law = load("minneapolis")
    request = draft(
        city,
        law,
        Category.FACIAL_RECOGNITION,
        kind=Request.Kind.EXCEPTION,
        exception=law.exceptions.get(slug="secure-building-access"),
        requested_term_days=365,
        on=D(2026, 3, 2),
    )
    step("submit", request, city, D(2026, 3, 2))
    step("begin_review", request, city, D(2026, 3, 3))
    step("approve", request, city, D(2026, 3, 20), votes_yes=13, votes_no=0)

    request.refresh_from_db()
    assert request.status == Request.Status.APPROVED
    assert path_of(request) == ["submit", "begin_review", "approve"]
    # The law sets no term (none is verified): the term is the one requested.
    assert request.decision.expires_on == D(2027, 3, 20)
    assert deadlines.for_request(request) == []


def test_minneapolis_refuses_fourteen_votes_on_its_thirteen_seat_council(city):
    law = load("minneapolis")
    request = draft(
        city,
        law,
        Category.FACIAL_RECOGNITION,
        kind=Request.Kind.EXCEPTION,
        exception=law.exceptions.get(slug="unlocking-a-smartphone"),
        requested_term_days=90,
        on=D(2026, 3, 2),
    )
    step("submit", request, city, D(2026, 3, 2))
    step("begin_review", request, city, D(2026, 3, 3))

    with pytest.raises(ValidationError) as refused:
        step("approve", request, city, D(2026, 3, 20), votes_yes=14, votes_no=0)

    assert "has 13 seats" in refused.value.message_dict["votes_yes"][0]
    assert not Decision.objects.exists()


# ---------------------------------------------------------------------------
# Seattle, SMC 14.18: the working group's review, a community meeting, the council's vote
# ---------------------------------------------------------------------------


def test_seattle_walks_advisory_review_and_a_community_meeting_before_the_vote(city):
    law = load("seattle")
    request = draft(city, law, Category.LICENSE_PLATE_READERS, requested_term_days=365, on=D(2026, 4, 1))
    step("submit", request, city, D(2026, 4, 1))
    step("begin_review", request, city, D(2026, 4, 2))
    step("refer_to_advisory", request, city, D(2026, 4, 3))
    step("record_advisory_opinion", request, city, D(2026, 5, 1), opinion=workflow.Opinion.RECOMMENDS_CHANGES)

    with pytest.raises(workflow.TransitionRefused, match="requires a community meeting"):
        step("approve", request, city, D(2026, 5, 20), votes_yes=6, votes_no=3)

    step(
        "record_community_meeting",
        request,
        city,
        D(2026, 5, 12),
        held_on=D(2026, 5, 11),
        place="Central Library",
    )
    step("approve", request, city, D(2026, 5, 20), votes_yes=6, votes_no=3)

    request.refresh_from_db()
    assert request.status == Request.Status.APPROVED
    assert path_of(request) == [
        "submit",
        "begin_review",
        "refer_to_advisory",
        "record_advisory_opinion",
        "record_community_meeting",
        "approve",
    ]
    assert request.events.get(action="record_advisory_opinion").data == {
        "body": "Community Surveillance Working Group",
        "opinion": "recommends_changes",
    }


def test_seattle_quarterly_reports_fall_due_30_days_after_each_quarter():
    law = load("seattle")

    assert deadlines.due_on(law, "quarterly_report", D(2026, 5, 10)) == D(2026, 7, 30)
    assert deadlines.due_on(law, "quarterly_report", D(2026, 12, 31)) == D(2027, 1, 30)


# ---------------------------------------------------------------------------
# Oakland, OMC 9.64: the Privacy Advisory Commission (90 days' silence), 15 days' notice
# ---------------------------------------------------------------------------


def test_oakland_goes_on_after_the_commissions_silence_then_hears_and_votes(city):
    law = load("oakland")
    request = draft(city, law, Category.DRONES, requested_term_days=730, on=D(2026, 1, 5))
    step("submit", request, city, D(2026, 1, 5))
    step("begin_review", request, city, D(2026, 1, 6))
    step("refer_to_advisory", request, city, D(2026, 1, 7))
    assert request.events.get(action="refer_to_advisory").data["respond_by"] == "2026-04-07"

    with pytest.raises(workflow.TransitionRefused, match="until 2026-04-07"):
        step("proceed_after_silence", request, city, D(2026, 4, 7))
    step("proceed_after_silence", request, city, D(2026, 4, 8))

    with pytest.raises(ValidationError) as short_notice:
        step(
            "schedule_hearing",
            request,
            city,
            D(2026, 4, 9),
            hearing_at=at(D(2026, 4, 23), 18),
            hearing_address="1 Frank H. Ogawa Plaza",
        )
    assert "2026-04-24" in short_notice.value.message_dict["hearing_at"][0]
    step(
        "schedule_hearing",
        request,
        city,
        D(2026, 4, 9),
        hearing_at=at(D(2026, 4, 24), 18),
        hearing_address="1 Frank H. Ogawa Plaza",
    )

    with pytest.raises(workflow.TransitionRefused, match="has not taken place"):
        step("approve", request, city, D(2026, 4, 24), hour=12, votes_yes=5, votes_no=3)
    step("approve", request, city, D(2026, 4, 24), hour=21, votes_yes=5, votes_no=3)

    request.refresh_from_db()
    assert request.status == Request.Status.APPROVED
    assert path_of(request) == [
        "submit",
        "begin_review",
        "refer_to_advisory",
        "proceed_after_silence",
        "schedule_hearing",
        "approve",
    ]


def test_oakland_annual_reports_fall_due_on_15_march_with_60_days_extension():
    law = load("oakland")

    assert deadlines.due_on(law, "annual_report", D(2026, 4, 1)) == D(2027, 3, 15)
    assert deadlines.due_on(law, "annual_report", D(2026, 3, 1)) == D(2026, 3, 15)
    assert deadlines.due_on(law, "annual_report", D(2026, 4, 1), extended=True) == D(2027, 5, 14)


def test_oakland_refuses_a_public_comment_step_it_does_not_have(city):
    law = load("oakland")
    request = draft(city, law, Category.DRONES, on=D(2026, 1, 5))
    step("submit", request, city, D(2026, 1, 5))
    step("begin_review", request, city, D(2026, 1, 6))

    with pytest.raises(workflow.TransitionRefused, match="has no public comment step"):
        step("open_comment_period", request, city, D(2026, 1, 7))


# ---------------------------------------------------------------------------
# San Francisco, Admin. Code 19B: COIT's review, the Board of Supervisors' vote
# ---------------------------------------------------------------------------


def test_san_francisco_reviews_with_coit_then_the_board_votes_and_a_report_falls_due_in_12_months(city):
    law = load("san-francisco")
    request = draft(city, law, Category.GUNSHOT_DETECTION, requested_term_days=3650, on=D(2026, 2, 2))
    step("submit", request, city, D(2026, 2, 2))
    step("begin_review", request, city, D(2026, 2, 3))
    step("refer_to_advisory", request, city, D(2026, 2, 4))
    step("record_advisory_opinion", request, city, D(2026, 3, 4), opinion=workflow.Opinion.SUPPORTS)
    step("approve", request, city, D(2026, 3, 31), votes_yes=8, votes_no=1)

    request.refresh_from_db()
    assert request.status == Request.Status.APPROVED
    assert path_of(request) == [
        "submit",
        "begin_review",
        "refer_to_advisory",
        "record_advisory_opinion",
        "approve",
    ]
    dues = {due.kind: due.due_on for due in deadlines.for_request(request)}
    assert dues["annual_report"] == D(2027, 3, 31)


def test_san_francisco_allows_only_an_exception_request_for_facial_recognition(city):
    law = load("san-francisco")

    with pytest.raises(ValidationError) as refused:
        draft(city, law, Category.FACIAL_RECOGNITION, on=D(2026, 2, 2))

    assert "only an exception request" in refused.value.message_dict["kind"][0]


# ---------------------------------------------------------------------------
# New York City, the POST Act: disclosure, 45 days' comment, no vote
# ---------------------------------------------------------------------------


def test_new_york_publishes_the_final_policy_with_no_vote_and_use_waits_90_days(city):
    law = load("new-york")
    request = draft(city, law, Category.VIDEO_ANALYTICS, on=D(2026, 1, 5))
    step("submit", request, city, D(2026, 1, 5))
    step("begin_review", request, city, D(2026, 1, 6))
    step("open_comment_period", request, city, D(2026, 1, 10))
    request.refresh_from_db()
    assert request.comment_period_ends_on == D(2026, 2, 24)

    with pytest.raises(workflow.TransitionRefused, match="has no vote of the deciding body step"):
        step("approve", request, city, D(2026, 3, 1), votes_yes=1, votes_no=0)
    with pytest.raises(workflow.TransitionRefused, match="open until 2026-02-24"):
        step("publish_policy", request, city, D(2026, 2, 24))
    step("publish_policy", request, city, D(2026, 3, 1))

    request.refresh_from_db()
    assert request.status == Request.Status.PUBLISHED
    assert (request.decision.outcome, request.decision.votes_yes) == (Decision.Outcome.PUBLISHED, None)
    # Posted on 10 January: use may begin 90 days later, on 10 April.
    assert request.decision.effective_on == D(2026, 4, 10)
    assert path_of(request) == ["submit", "begin_review", "open_comment_period", "publish_policy"]


def test_new_york_refuses_a_comment_period_shorter_than_45_days(city):
    law = load("new-york")
    request = draft(city, law, Category.VIDEO_ANALYTICS, on=D(2026, 1, 5))
    step("submit", request, city, D(2026, 1, 5))
    step("begin_review", request, city, D(2026, 1, 6))

    with pytest.raises(ValidationError) as refused:
        step("open_comment_period", request, city, D(2026, 1, 10), comment_period_ends_on=D(2026, 2, 1))

    assert "2026-02-24" in refused.value.message_dict["comment_period_ends_on"][0]
    request.refresh_from_db()
    assert request.status == Request.Status.IN_REVIEW


# ---------------------------------------------------------------------------
# Boston, §16-62 / §16-63: a face surveillance ban; approval by the council's vote
# ---------------------------------------------------------------------------


def test_boston_approves_a_drone_by_the_councils_vote(city):
    law = load("boston")
    request = draft(city, law, Category.DRONES, requested_term_days=365, on=D(2026, 6, 1))
    step("submit", request, city, D(2026, 6, 1))
    step("begin_review", request, city, D(2026, 6, 2))
    step("approve", request, city, D(2026, 6, 30), votes_yes=7, votes_no=6)

    request.refresh_from_db()
    assert request.status == Request.Status.APPROVED
    assert path_of(request) == ["submit", "begin_review", "approve"]


def test_boston_refuses_an_exception_that_is_not_its_own_for_facial_recognition(city):
    boston, minneapolis = load("boston"), load("minneapolis")

    with pytest.raises(ValidationError) as refused:
        draft(
            city,
            boston,
            Category.FACIAL_RECOGNITION,
            kind=Request.Kind.EXCEPTION,
            exception=minneapolis.exceptions.get(slug="secure-building-access"),
            on=D(2026, 6, 1),
        )

    assert refused.value.message_dict["exception"] == ["This exception belongs to another ordinance."]


def test_every_shipped_law_is_in_force_for_an_agency_it_covers():
    assert Agency.objects.count() == 0  # the files carry laws, never agencies
    for name in ("minneapolis", "seattle", "oakland", "san-francisco", "new-york", "boston"):
        assert load(name).status in Ordinance.IN_FORCE, name


def test_each_laws_path_lists_only_the_rows_its_steps_open():
    names = {
        law: [t.name for t in workflow.path_transitions(load(law))]
        for law in ("minneapolis", "new-york", "oakland")
    }

    assert "record_advisory_opinion" not in names["minneapolis"]
    assert "open_comment_period" not in names["minneapolis"]
    assert {"open_comment_period", "publish_policy"} <= set(names["new-york"])
    assert "approve" not in names["new-york"]
    assert names["oakland"].index("refer_to_advisory") < names["oakland"].index("schedule_hearing")
    assert names["oakland"].index("schedule_hearing") < names["oakland"].index("approve")


def test_san_francisco_cannot_go_on_without_coits_opinion_because_it_sets_no_silence_period(city):
    law = load("san-francisco")
    request = draft(city, law, Category.GUNSHOT_DETECTION, requested_term_days=365, on=D(2026, 2, 2))
    step("submit", request, city, D(2026, 2, 2))
    step("begin_review", request, city, D(2026, 2, 3))
    step("refer_to_advisory", request, city, D(2026, 2, 4))

    with pytest.raises(workflow.TransitionRefused, match="sets no advisory body's time to respond"):
        step("proceed_after_silence", request, city, D(2027, 2, 4))
    assert "proceed_after_silence" not in [t.name for t in workflow.path_transitions(law)]


def test_the_next_quarterly_report_after_a_quarter_whose_report_is_past_counts_from_the_next_quarter():
    row = load("seattle").deadline("quarterly_report")

    # Q3's report fell due on 30 October; on 23 November the next is Q4's, on 30 January.
    assert deadlines.next_due(row, D(2026, 11, 23)) == D(2027, 1, 30)
    assert deadlines.next_due(row, D(2026, 10, 15)) == D(2026, 10, 30)


def test_the_oakland_page_shows_when_the_next_annual_report_is_due(client):
    law = load("oakland")

    response = client.get(law.get_absolute_url())

    assert deadlines.next_due(law.deadline("annual_report")) is not None
    expected = deadlines.next_due(law.deadline("annual_report"))
    assert f'(next: <time datetime="{expected.isoformat()}">' in response.content.decode()


def test_a_request_page_lists_the_deadlines_running_under_its_law(client, city):
    law = load("oakland")
    request = draft(city, law, Category.DRONES, on=D(2026, 1, 5))
    step("submit", request, city, D(2026, 1, 5))
    step("begin_review", request, city, D(2026, 1, 6))
    step("refer_to_advisory", request, city, D(2026, 1, 7))

    response = client.get(request.get_absolute_url())

    page = response.content.decode()
    assert "Deadlines under OMC 9.64" in page
    assert 'Advisory body&#x27;s time to respond</dt><dd><time datetime="2026-04-07">' in page
