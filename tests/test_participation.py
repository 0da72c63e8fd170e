"""
Public comment's rules (ordinances/participation.py): a comment is accepted only while the
request's period is open, is validated, rate-limited per address and held for moderation;
council staff alone publish it or decline to, once, and each decision is on the record.
"""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from ordinances import participation, workflow
from ordinances.models import Comment, Event, Request

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.7"


@pytest.fixture
def open_request(make_request, staff) -> Request:
    """A request whose public comment opened today and stays open 30 days."""
    request = make_request("in_review")
    workflow.perform("open_comment_period", request, by=staff)
    request.refresh_from_db()
    return request


def comment_on(request: Request, *, address: str = ADDRESS, now=None, **fields) -> Comment:
    values = {"name": "Ana Resident", "email": "ana@example.org", "position": "opposes", "body": "No drones."}
    values.update(fields)
    return participation.submit_comment(request, address=address, language="en", now=now, **values)


# -- the period -------------------------------------------------------------


def test_an_open_period_accepts_a_comment_and_holds_it_for_moderation(open_request):
    comment = comment_on(open_request)

    assert comment.status == Comment.Status.HELD
    assert comment.request == open_request
    assert (comment.name, comment.email, comment.position, comment.body) == (
        "Ana Resident",
        "ana@example.org",
        "opposes",
        "No drones.",
    )
    assert comment.moderated_at is None


def test_the_last_day_of_the_period_still_accepts_comments(open_request):
    last_day = datetime.datetime.combine(open_request.comment_period_ends_on, datetime.time(23, 0))

    comment = comment_on(open_request, now=timezone.make_aware(last_day))

    assert comment.pk is not None


def test_a_period_past_its_last_day_refuses_with_the_day_it_closed(open_request):
    after = timezone.now() + datetime.timedelta(days=31)
    closed_on = open_request.comment_period_ends_on + datetime.timedelta(days=1)

    with pytest.raises(workflow.TransitionRefused) as refused:
        comment_on(open_request, now=after)

    assert refused.value.message == participation.CLOSED.format(
        reference=open_request.reference, date=closed_on.isoformat()
    )
    assert not Comment.objects.exists()


def test_a_period_closed_on_the_record_refuses_even_before_its_last_day(open_request):
    # Closing early is a fact the workflow records; written here directly to test the rule alone.
    closed_on = timezone.localdate()
    Request.objects.filter(pk=open_request.pk).update(comment_period_closed_on=closed_on)

    with pytest.raises(workflow.TransitionRefused) as refused:
        comment_on(open_request)

    assert (
        str(refused.value) == f"Public comment on {open_request.reference} closed on {closed_on.isoformat()}."
    )
    assert not Comment.objects.exists()


def test_a_period_closed_by_the_workflow_refuses(open_request):
    after = timezone.now() + datetime.timedelta(days=31)
    workflow.perform("close_comment_period", open_request, by=None, now=after)

    with pytest.raises(workflow.TransitionRefused, match="closed on"):
        comment_on(open_request, now=after)


def test_a_request_in_review_refuses_as_not_yet_open(make_request):
    request = make_request("in_review")

    with pytest.raises(workflow.TransitionRefused) as refused:
        comment_on(request)

    assert refused.value.message == participation.NOT_YET.format(reference=request.reference)
    assert not Comment.objects.exists()


def test_a_draft_refuses_as_not_open_for_comment(make_request):
    request = make_request("draft")

    with pytest.raises(workflow.TransitionRefused) as refused:
        comment_on(request)

    assert refused.value.message == participation.NOT_OPEN.format(reference=request.reference)


def test_a_withdrawn_request_without_a_period_refuses_as_not_open_for_comment(make_request):
    request = make_request("withdrawn")

    with pytest.raises(workflow.TransitionRefused) as refused:
        comment_on(request)

    assert refused.value.message == participation.NOT_OPEN.format(reference=request.reference)


def test_a_request_that_moved_on_from_public_comment_refuses_as_closed(open_request, liaison_a):
    workflow.perform("withdraw", open_request, by=liaison_a, reason="No longer needed.")

    with pytest.raises(workflow.TransitionRefused) as refused:
        comment_on(open_request)

    assert refused.value.message == participation.CLOSED_UNDATED.format(reference=open_request.reference)


# -- what was typed ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"body": "   "}, "body"),
        ({"body": "x" * (participation.BODY_MAX + 1)}, "body"),
        ({"name": "n" * (participation.NAME_MAX + 1)}, "name"),
        ({"email": "not an address"}, "email"),
        ({"position": "maybe"}, "position"),
    ],
)
def test_bad_input_gives_a_field_error_and_writes_nothing(open_request, fields, field):
    with pytest.raises(ValidationError) as refused:
        comment_on(open_request, **fields)

    assert set(refused.value.message_dict) == {field}
    assert not Comment.objects.exists()


def test_name_email_and_position_are_optional(open_request):
    comment = comment_on(open_request, name="", email="", position="")

    assert (comment.name, comment.email, comment.position) == ("", "", "")


def test_a_comment_of_exactly_the_longest_length_is_accepted(open_request):
    comment = comment_on(open_request, body="x" * participation.BODY_MAX)

    assert len(comment.body) == participation.BODY_MAX


def test_the_address_is_kept_only_as_a_keyed_hash(open_request):
    comment = comment_on(open_request)

    assert comment.address_hash == participation.address_hash(ADDRESS)
    assert len(comment.address_hash) == 64
    assert ADDRESS not in comment.address_hash
    assert participation.address_hash(ADDRESS) != participation.address_hash("203.0.113.8")


def test_the_address_hash_depends_on_the_secret_key(settings):
    before = participation.address_hash(ADDRESS)
    settings.SECRET_KEY = "another-secret-key-for-this-test-only"

    assert participation.address_hash(ADDRESS) != before


# -- the rate limit ---------------------------------------------------------


def test_an_address_past_the_rate_limit_is_refused_and_nothing_is_written(open_request):
    for _ in range(participation.RATE_LIMIT):
        comment_on(open_request)

    with pytest.raises(workflow.TransitionRefused) as refused:
        comment_on(open_request)

    assert refused.value.code == "rate_limit"
    assert Comment.objects.count() == participation.RATE_LIMIT


def test_the_rate_limit_counts_one_address_across_requests(open_request, make_request, staff):
    other = make_request("in_review", title="Another drone")
    workflow.perform("open_comment_period", other, by=staff)
    for _ in range(participation.RATE_LIMIT):
        comment_on(open_request)

    with pytest.raises(workflow.TransitionRefused):
        comment_on(other)


def test_the_rate_limit_does_not_touch_another_address(open_request):
    for _ in range(participation.RATE_LIMIT):
        comment_on(open_request)

    assert comment_on(open_request, address="198.51.100.1").pk is not None


def test_the_rate_limit_lifts_after_its_window(open_request):
    # Opened the day before, so comments made more than the window ago fall inside the period
    # even when the test runs just after midnight in the city's time zone.
    open_request.comment_period_opened_on -= datetime.timedelta(days=1)
    open_request.save(update_fields=["comment_period_opened_on"])
    earlier = timezone.now() - participation.RATE_WINDOW - datetime.timedelta(minutes=1)
    for _ in range(participation.RATE_LIMIT):
        comment_on(open_request, now=earlier)

    assert comment_on(open_request).pk is not None


# -- moderation -------------------------------------------------------------


def test_staff_publish_a_held_comment_with_a_public_event(open_request, staff):
    comment = comment_on(open_request)

    participation.publish_comment(comment, by=staff, note="Thank you.")

    comment.refresh_from_db()
    assert comment.status == Comment.Status.PUBLISHED
    assert comment.moderated_by == staff
    assert comment.moderated_at is not None
    event = Event.objects.get(action=Event.Action.COMMENT_PUBLISHED)
    assert (event.request, event.is_public, event.data, event.note) == (
        open_request,
        True,
        {"comment": comment.pk},
        "Thank you.",
    )
    assert event.actor_role == "staff"
    assert event.from_status == event.to_status == Request.Status.PUBLIC_COMMENT


def test_staff_reject_a_held_comment_with_an_internal_event(open_request, staff):
    comment = comment_on(open_request)

    participation.reject_comment(comment, by=staff, reason="Abusive language.")

    comment.refresh_from_db()
    assert comment.status == Comment.Status.REJECTED
    assert comment.moderated_by == staff
    event = Event.objects.get(action=Event.Action.COMMENT_REJECTED)
    assert (event.is_public, event.data, event.note) == (False, {"comment": comment.pk}, "Abusive language.")


def test_rejecting_needs_a_reason(open_request, staff):
    comment = comment_on(open_request)

    with pytest.raises(ValidationError) as refused:
        participation.reject_comment(comment, by=staff, reason="  ")

    assert refused.value.message_dict == {"reason": [participation.REASON_REQUIRED]}
    comment.refresh_from_db()
    assert comment.status == Comment.Status.HELD
    assert not Event.objects.filter(action=Event.Action.COMMENT_REJECTED).exists()


@pytest.mark.parametrize("persona", ["anonymous", "liaison_a", "liaison_b", "clerk"])
@pytest.mark.parametrize("verb", ["publish", "reject"])
def test_only_staff_moderate_comments(open_request, request, persona, verb):
    user = AnonymousUser() if persona == "anonymous" else request.getfixturevalue(persona)
    comment = comment_on(open_request)
    events = Event.objects.count()

    with pytest.raises(workflow.TransitionRefused) as refused:
        if verb == "publish":
            participation.publish_comment(comment, by=user)
        else:
            participation.reject_comment(comment, by=user, reason="Spam.")

    assert refused.value.code == "permission"
    comment.refresh_from_db()
    assert comment.status == Comment.Status.HELD
    assert Event.objects.count() == events


def test_the_portal_itself_does_not_moderate(open_request):
    comment = comment_on(open_request)

    with pytest.raises(workflow.TransitionRefused):
        participation.publish_comment(comment, by=None)


@pytest.mark.parametrize("first", ["publish", "reject"])
def test_a_comment_is_moderated_once(open_request, staff, first):
    comment = comment_on(open_request)
    if first == "publish":
        participation.publish_comment(comment, by=staff)
    else:
        participation.reject_comment(comment, by=staff, reason="Off topic.")
    events = Event.objects.count()

    with pytest.raises(workflow.TransitionRefused, match="already"):
        participation.publish_comment(comment, by=staff)
    with pytest.raises(workflow.TransitionRefused, match="only a comment held for moderation"):
        participation.reject_comment(comment, by=staff, reason="Again.")

    assert Event.objects.count() == events


def test_a_stale_copy_of_a_comment_cannot_be_moderated_twice(open_request, staff):
    comment = comment_on(open_request)
    stale = Comment.objects.get(pk=comment.pk)
    participation.publish_comment(comment, by=staff)

    with pytest.raises(workflow.TransitionRefused):
        participation.reject_comment(stale, by=staff, reason="Changed my mind.")


def test_comments_can_be_published_after_the_period_closes(open_request, staff):
    comment = comment_on(open_request)
    later = timezone.now() + datetime.timedelta(days=40)

    participation.publish_comment(comment, by=staff, now=later)

    assert comment.status == Comment.Status.PUBLISHED


# -- what the council sees ----------------------------------------------------


def test_staff_see_counts_and_held_and_published_comments_for_review(open_request, staff, liaison_a):
    held, published, rejected = comment_on(open_request), comment_on(open_request), comment_on(open_request)
    participation.publish_comment(published, by=staff)
    participation.reject_comment(rejected, by=staff, reason="Spam.")

    review = participation.for_review(open_request, staff)
    agency_view = participation.for_review(open_request, liaison_a)

    assert [(code, n) for code, _label, n in review["comment_counts"]] == [
        ("held", 1),
        ("published", 1),
        ("rejected", 1),
    ]
    assert review["comments"] == [held, published]
    assert review["can_moderate_comments"] is True
    assert agency_view["comments"] == [published]
    assert agency_view["can_moderate_comments"] is False


# -- two workers at once (PostgreSQL) -------------------------------------------


@pytest.mark.postgresql
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL advisory locks")
@pytest.mark.django_db(transaction=True)
def test_two_comments_at_once_from_one_address_cannot_both_pass_the_rate_limit(
    make_request, staff, monkeypatch
):
    first = make_request("in_review")
    second = make_request("in_review", title="Another drone")
    for each in (first, second):
        workflow.perform("open_comment_period", each, by=staff)
    for _ in range(participation.RATE_LIMIT - 1):
        comment_on(first)
    barrier = threading.Barrier(2, timeout=10)
    outcomes: list[object] = []

    # Hold the transaction open a moment after writing, so the other worker must wait for it.
    create = Comment.objects.create

    def slow_create(**kwargs):
        comment = create(**kwargs)
        time.sleep(0.3)
        return comment

    monkeypatch.setattr(Comment.objects, "create", slow_create)

    def send(request: Request) -> None:
        try:
            mine = Request.objects.get(pk=request.pk)
            barrier.wait()
            outcomes.append(comment_on(mine))
        except Exception as error:
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(r,)) for r in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    refused = [o for o in outcomes if isinstance(o, workflow.TransitionRefused)]
    assert len(outcomes) == 2
    assert len(refused) == 1 and refused[0].code == "rate_limit"
    assert Comment.objects.count() == participation.RATE_LIMIT
