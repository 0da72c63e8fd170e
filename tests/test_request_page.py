"""
A request's page reads as a story: who asks for what under which law and where it stands,
what happens next on its ordinance's path (with the date), how to take part, then its
timeline, documents, decision and the law's sources.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone
from model_bakery import baker

from ordinances import workflow
from ordinances.models import Event, Source

pytestmark = pytest.mark.django_db


def page_of(client, request) -> str:
    response = client.get(request.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def section(page: str, heading_id: str) -> str:
    """The part of the page from one heading to the end of its section."""
    return page.split(f'id="{heading_id}"', 1)[1].split("</section>", 1)[0]


def segments(page: str) -> list[tuple[str, str]]:
    """The step indicator's segments as (state, label): complete, current or blank for to come."""
    found = re.findall(
        r'<li class="usa-step-indicator__segment(?: usa-step-indicator__segment--(\w+))?"[^>]*>\s*'
        r'<span class="usa-step-indicator__segment-label">([^<]+)',
        page,
    )
    return [(state, label.strip()) for state, label in found]


def test_the_summary_says_who_asks_for_what_under_which_law_and_where_it_stands(client, make_request):
    request = make_request("in_review")

    summary = page_of(client, request).split('id="summary-heading"', 1)[1].split("</div>", 1)[0]

    assert "Agency A Police asks for approval under TEST-0001 to use Test drone." in summary
    assert "Where it stands: In review, since <time" in summary


def test_the_step_indicator_shows_where_the_request_is_on_its_ordinances_path(client, make_request, staff):
    request = make_request("in_review")
    workflow.perform("open_comment_period", request, by=staff)

    assert segments(page_of(client, request)) == [
        ("complete", "Submitted"),
        ("complete", "Staff review"),
        ("current", "Public comment"),
        ("", "Public hearing"),
        ("", "Vote"),
    ]


def test_a_request_in_public_comment_says_comment_is_open_until_its_end_date(client, make_request, staff):
    request = make_request("in_review")
    workflow.perform("open_comment_period", request, by=staff)
    request.refresh_from_db()

    next_step = section(page_of(client, request), "next-heading")

    ends = request.comment_period_ends_on.isoformat()
    assert f'Public comment is open until <time datetime="{ends}">' in next_step
    assert f'Comment on it: public comment is open until <time datetime="{ends}">' in next_step
    assert "The public has at least 30 days to comment after the comment period opens." in next_step


def test_a_request_whose_comment_has_closed_waits_for_its_hearing(client, make_request):
    request = make_request("public_comment")

    page = page_of(client, request)

    assert ("current", "Public hearing") in segments(page)
    assert "Next, council staff schedule the public hearing." in page
    assert "The hearing takes place at least 10 days after the hearing is announced." in page


def test_a_request_with_a_hearing_scheduled_shows_the_hearing_time(client, make_request, staff):
    request = make_request("public_comment")
    hearing_at = timezone.now() + datetime.timedelta(days=12)
    workflow.perform(
        "schedule_hearing", request, by=staff, hearing_at=hearing_at, hearing_address="350 South 5th Street"
    )

    next_step = section(page_of(client, request), "next-heading")

    moment = timezone.localtime(hearing_at).isoformat()
    assert f'The public hearing is on <time datetime="{moment}">' in next_step
    assert f'Attend the public hearing on <time datetime="{moment}">' in next_step


def test_a_request_whose_hearing_was_held_waits_for_the_vote(client, make_request):
    request = make_request("hearing_scheduled")

    page = page_of(client, request)

    assert ("current", "Vote") in segments(page)
    assert (
        "Next, the Test City Council decides. It has 13 seats; an approval needs more yes than no votes."
        in page
    )


def test_a_returned_request_says_it_waits_on_the_agency(client, make_request):
    request = make_request("returned")

    assert "Its review goes on when the agency resubmits it." in page_of(client, request)


def test_an_approved_request_says_when_its_approval_expires(client, make_request):
    request = make_request("approved")

    next_step = section(page_of(client, request), "next-heading")

    expires = request.decision.expires_on.isoformat()
    assert f'The approval expires on <time datetime="{expires}">' in next_step
    assert "unless it is renewed." in next_step
    assert all(state == "complete" for state, _ in segments(next_step))


def test_a_withdrawn_request_says_so_plainly_and_marks_no_step_current(client, make_request):
    request = make_request("withdrawn")

    next_step = section(page_of(client, request), "next-heading")

    assert "The agency withdrew this request on <time" in next_step
    assert "Its review is over." in next_step
    assert segments(next_step) == [
        ("complete", "Submitted"),
        ("", "Staff review"),
        ("", "Public comment"),
        ("", "Public hearing"),
        ("", "Vote"),
    ]


def test_an_expired_approval_says_the_agency_may_ask_to_renew_it(client, make_request, staff):
    request = make_request("approved")
    expired_at = timezone.make_aware(
        datetime.datetime.combine(request.decision.expires_on + datetime.timedelta(days=1), datetime.time(9))
    )
    workflow.perform("expire", request, by=None, now=expired_at)

    page = page_of(client, request)

    assert f'The approval ended on <time datetime="{request.decision.expires_on.isoformat()}">' in page
    assert "The agency may ask to renew it" in page


def test_a_decided_request_shows_the_vote_of_the_seats_and_the_deciding_body(client, make_request):
    request = make_request("approved")

    decision = section(page_of(client, request), "decision-heading")

    assert "9–3 of 13 seats, Test City Council" in decision
    assert f'<time datetime="{request.decision.decided_on.isoformat()}">' in decision


def test_conditions_show_their_due_dates_and_status(client, make_request):
    request = make_request("approved_with_conditions")

    decision = section(page_of(client, request), "decision-heading")

    assert "Publish an annual report" in decision
    assert '<td data-label="Due"><time datetime="2030-01-01">1 January 2030</time></td>' in decision
    assert ">Open</span>" in decision


def test_the_page_shows_its_full_public_timeline(client, make_request, staff):
    request = make_request("approved")
    workflow.add_note(request, by=staff, note="Chief called about budget.")

    page = page_of(client, request)

    public_events = Event.objects.filter(request=request, is_public=True).count()
    assert public_events == 5
    assert page.count("usa-process-list__item timeline__item") == public_events
    assert "Chief called about budget." not in page


def test_the_timeline_words_the_facts_each_step_recorded(client, make_request):
    request = make_request("approved_with_conditions")
    event = request.events.get(action="approve_with_conditions")
    hearing = request.events.get(action="schedule_hearing")

    timeline = section(page_of(client, request), "timeline-heading")

    decided, effective, expires = (event.data[k] for k in ("decided_on", "effective_on", "expires_on"))
    assert f'Test City Council voted 9–3 (13 seats) on <time datetime="{decided}">' in timeline
    assert f'In effect from <time datetime="{effective}">' in timeline
    assert f'until <time datetime="{expires}">' in timeline
    assert (
        'Condition: Publish an annual report (due <time datetime="2030-01-01">1 January 2030</time>)'
        in timeline
    )
    hearing_at = timezone.localtime(datetime.datetime.fromisoformat(hearing.data["hearing_at"])).isoformat()
    assert f'Public hearing on <time datetime="{hearing_at}">' in timeline


def test_the_page_lists_its_documents(client, make_request, liaison_a):
    request = make_request("in_review")
    baker.make(
        "ordinances.Attachment", request=request, title="Use policy", url="https://example.org/policy.pdf"
    )

    documents = section(page_of(client, request), "attachments-heading")

    assert (
        '<a class="usa-link" href="https://example.org/policy.pdf" rel="noopener noreferrer">Use policy</a>'
        in documents
    )


def test_the_page_lists_the_sources_of_its_ordinance(client, make_request, ordinance):
    source = Source.objects.create(
        url="https://example.org/ordinance", title="The ordinance", publisher="City"
    )
    ordinance.sources.add(source)
    request = make_request("in_review")

    assert 'href="https://example.org/ordinance"' in section(page_of(client, request), "sources-heading")
