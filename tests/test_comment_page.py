"""
Public comment on the site and in the review workspace: the form at
/requests/<reference>/comment/ (open, closed, not yet open, spam refused), the published
comments on the request's page, emails never public, and staff's moderation in the admin.
"""

from __future__ import annotations

import datetime
import html
import itertools
import re

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ordinances import comment_forms, participation, workflow
from ordinances.models import Comment, Event, Request

pytestmark = pytest.mark.django_db

EMAIL = "private.resident@example.org"


@pytest.fixture
def open_request(make_request, staff) -> Request:
    """A request whose public comment opened today and stays open 30 days."""
    request = make_request("in_review")
    workflow.perform("open_comment_period", request, by=staff)
    request.refresh_from_db()
    return request


def comment_url(request: Request) -> str:
    return reverse("ordinances:request_comment", args=[request.reference])


def form_data(request: Request, *, seconds_ago: float = 10, **overrides) -> dict[str, str]:
    """What the form posts, its timing token issued `seconds_ago`."""
    issued = timezone.now() - datetime.timedelta(seconds=seconds_ago)
    data = {
        "name": "Ana Resident",
        "email": EMAIL,
        "position": "opposes",
        "body": "Please do not approve this.",
        "website": "",
        "issued": comment_forms.issue_token(request.reference, issued),
    }
    data.update(overrides)
    return data


def comment_from(address: str, request: Request, **fields) -> Comment:
    values = {"name": "", "email": EMAIL, "position": "", "body": "A comment."}
    values.update(fields)
    return participation.submit_comment(request, address=address, language="en", **values)


_senders = itertools.count(1)


def published(request: Request, staff, **fields) -> Comment:
    # Each from its own address, so the rate limit stays out of the way.
    comment = comment_from(f"198.51.100.{next(_senders)}", request, **fields)
    return participation.publish_comment(comment, by=staff)


def text_of(response) -> str:
    return response.content.decode()


# -- the form ---------------------------------------------------------------


def test_the_form_shows_the_request_its_closing_date_and_what_happens_to_a_comment(client, open_request):
    response = client.get(comment_url(open_request))

    page = text_of(response)
    assert response.status_code == 200
    assert open_request.title in page
    assert (
        f'Public comment is open until <time datetime="{open_request.comment_period_ends_on.isoformat()}">'
        in page
    )
    assert "held for moderation" in page
    assert "Your email address is never published" in page
    assert "with your name, or as “Anonymous”" in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'name="website"' in page and 'name="issued"' in page


def test_the_form_page_is_never_stored_by_a_cache(client, open_request):
    response = client.get(comment_url(open_request))

    assert "no-store" in response["Cache-Control"]


def test_the_form_has_no_inline_styles_or_scripts(client, open_request):
    page = text_of(client.get(comment_url(open_request)))
    main = page.split('id="main-content"', 1)[1].split("</main>", 1)[0]

    assert "style=" not in main
    assert "<script" not in main


def test_a_comment_sent_while_open_is_held_and_the_sender_is_thanked(client, open_request):
    response = client.post(comment_url(open_request), form_data(open_request))

    thanks = reverse("ordinances:request_comment_thanks", args=[open_request.reference])
    assert response.status_code == 302
    assert response["Location"] == thanks
    comment = Comment.objects.get()
    assert (comment.status, comment.name, comment.email, comment.position) == (
        Comment.Status.HELD,
        "Ana Resident",
        EMAIL,
        "opposes",
    )
    assert comment.address_hash == participation.address_hash("127.0.0.1")
    page = text_of(client.get(thanks))
    assert "held for moderation" in page


def test_a_comment_sent_from_a_language_page_is_in_that_language(client, open_request):
    client.post(f"/es{comment_url(open_request)}", form_data(open_request))

    assert Comment.objects.get().language == "es"


def test_a_comment_needs_a_csrf_token(open_request):
    strict = Client(enforce_csrf_checks=True)

    response = strict.post(comment_url(open_request), form_data(open_request))

    assert response.status_code == 403
    assert not Comment.objects.exists()


def test_bad_input_rerenders_with_uswds_errors_and_keeps_what_was_typed(client, open_request):
    response = client.post(
        comment_url(open_request), form_data(open_request, body="  ", email="ana at example", name="Ana <b>")
    )

    page = text_of(response)
    assert response.status_code == 400
    assert not Comment.objects.exists()
    assert "usa-alert--error" in page
    assert page.count("usa-form-group--error") == 2
    assert 'class="usa-textarea usa-input--error"' in page
    assert "Write your comment." in page
    assert 'value="ana at example"' in page
    assert 'value="Ana &lt;b&gt;"' in page
    assert 'value="opposes" checked' in page


def test_a_comment_too_long_is_refused_with_a_field_error(client, open_request):
    response = client.post(comment_url(open_request), form_data(open_request, body="x" * 5001))

    assert response.status_code == 400
    assert 'id="id_body-error"' in text_of(response)
    assert not Comment.objects.exists()


# -- spam protection --------------------------------------------------------


def test_the_honeypot_refuses_and_writes_nothing(client, open_request):
    response = client.post(comment_url(open_request), form_data(open_request, website="http://spam.example"))

    assert response.status_code == 400
    assert str(comment_forms.REFUSED) in text_of(response)
    assert not Comment.objects.exists()


def test_a_form_sent_too_fast_is_refused_and_writes_nothing(client, open_request):
    # Sent the moment the page was made: the whole of MIN_SECONDS for the test client's
    # request, which a loaded machine can stretch past a second or two.
    response = client.post(comment_url(open_request), form_data(open_request, seconds_ago=0))

    assert response.status_code == 400
    assert "That was very quick" in text_of(response)
    assert not Comment.objects.exists()


@pytest.mark.parametrize(
    "token",
    ["", "not-a-token", "tampered:" + "x" * 30],
    ids=["missing", "garbage", "tampered"],
)
def test_a_bad_timing_token_is_refused_and_writes_nothing(client, open_request, token):
    response = client.post(comment_url(open_request), form_data(open_request, issued=token))

    assert response.status_code == 400
    assert "This form has expired" in text_of(response)
    assert not Comment.objects.exists()


def test_a_token_with_a_forged_signature_is_refused(client, open_request):
    token = comment_forms.issue_token(open_request.reference, timezone.now() - datetime.timedelta(minutes=5))
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")

    response = client.post(comment_url(open_request), form_data(open_request, issued=forged))

    assert response.status_code == 400
    assert not Comment.objects.exists()


def test_a_token_older_than_a_day_is_refused_and_replaced(client, open_request):
    old = form_data(open_request, seconds_ago=comment_forms.MAX_AGE.total_seconds() + 60)

    response = client.post(comment_url(open_request), old)

    assert response.status_code == 400
    assert not Comment.objects.exists()
    fresh = re.search(r'name="issued" value="([^"]+)"', text_of(response))
    assert fresh is not None and fresh.group(1) != old["issued"]


def test_a_token_made_for_another_request_is_refused(client, open_request):
    data = form_data(open_request)
    data["issued"] = comment_forms.issue_token(
        "REQ-1999-0001", timezone.now() - datetime.timedelta(minutes=1)
    )

    response = client.post(comment_url(open_request), data)

    assert response.status_code == 400
    assert not Comment.objects.exists()


def test_the_rate_limit_refuses_with_429_and_writes_nothing(client, open_request):
    for _ in range(participation.RATE_LIMIT):
        assert client.post(comment_url(open_request), form_data(open_request)).status_code == 302

    response = client.post(comment_url(open_request), form_data(open_request))

    assert response.status_code == 429
    assert "Please wait an hour" in text_of(response)
    assert Comment.objects.count() == participation.RATE_LIMIT


# -- closed, not yet open, not public -----------------------------------------


def test_a_closed_period_shows_the_day_it_closed_and_no_form(client, make_request):
    request = make_request("public_comment")  # opened 48 days ago for 30 days
    closed_on = request.comment_period_ends_on + datetime.timedelta(days=1)

    response = client.get(comment_url(request))

    page = text_of(response)
    assert response.status_code == 200
    assert f'Public comment on this request closed on <time datetime="{closed_on.isoformat()}">' in page
    assert 'name="body"' not in page


def test_a_comment_sent_to_a_closed_period_gets_409_and_writes_nothing(client, make_request):
    request = make_request("public_comment")

    response = client.post(comment_url(request), form_data(request))

    assert response.status_code == 409
    assert "closed on" in text_of(response)
    assert "Your comment was not sent." in text_of(response)
    assert not Comment.objects.exists()


def test_a_period_closed_on_the_record_refuses_the_form(client, open_request):
    Request.objects.filter(pk=open_request.pk).update(comment_period_closed_on=timezone.localdate())

    response = client.post(comment_url(open_request), form_data(open_request))

    assert response.status_code == 409
    assert not Comment.objects.exists()


def test_a_request_in_review_says_comment_has_not_opened(client, make_request):
    request = make_request("in_review")

    response = client.get(comment_url(request))

    assert response.status_code == 200
    assert "has not opened yet" in text_of(response)
    assert 'name="body"' not in text_of(response)


def test_a_draft_has_no_comment_page(client, make_request):
    request = make_request("draft")

    assert client.get(comment_url(request)).status_code == 404
    assert client.post(comment_url(request), form_data(request)).status_code == 404
    assert not Comment.objects.exists()


# -- the request's page -----------------------------------------------------


def request_page(client, request: Request) -> str:
    response = client.get(request.get_absolute_url())
    assert response.status_code == 200
    return text_of(response)


def test_the_request_page_invites_comment_while_open_with_the_closing_date(client, open_request):
    page = request_page(client, open_request)

    assert f'href="{comment_url(open_request)}"' in page
    assert "Comment on this request" in page
    assert f'<time datetime="{open_request.comment_period_ends_on.isoformat()}">' in page


def test_the_request_page_does_not_invite_comment_once_closed(client, make_request):
    request = make_request("public_comment")

    page = request_page(client, request)

    assert f'href="{comment_url(request)}"' not in page
    assert "Public comment on this request closed on" in page


def test_published_comments_appear_with_their_count_and_held_and_rejected_ones_do_not(
    client, open_request, staff
):
    published(open_request, staff, name="Ana Resident", position="supports", body="Published one.")
    published(open_request, staff, body="Published two.")
    comment_from("192.0.2.2", open_request, body="Held one.")
    rejected = comment_from("192.0.2.3", open_request, body="Rejected one.")
    participation.reject_comment(rejected, by=staff, reason="Spam.")

    page = request_page(client, open_request)
    comments = page.split('id="comments-heading"', 1)[1].split("</section>", 1)[0]

    assert "2 public comments" in comments
    assert "Published one." in comments and "Published two." in comments
    assert "Ana Resident" in comments and "Supports the request" in comments
    assert "Anonymous" in comments
    assert "Held one." not in page
    assert "Rejected one." not in page


def test_one_published_comment_is_counted_in_the_singular(client, open_request, staff):
    published(open_request, staff)

    assert "1 public comment<" in request_page(client, open_request).replace("\n", "")


def test_a_comment_body_is_escaped_and_its_line_breaks_kept(client, open_request, staff):
    published(open_request, staff, name="<i>Eve</i>", body="<script>alert(1)</script>\nSecond line")

    page = request_page(client, open_request)

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>Second line" in page
    assert "&lt;i&gt;Eve&lt;/i&gt;" in page


def test_the_request_page_runs_the_same_queries_however_many_comments(client, open_request, staff):
    published(open_request, staff)
    client.get(open_request.get_absolute_url())  # warm any per-process caches
    with CaptureQueriesContext(connection) as few:
        client.get(open_request.get_absolute_url())
    for n in range(15):
        published(open_request, staff, body=f"Comment {n}")
    with CaptureQueriesContext(connection) as many:
        response = client.get(open_request.get_absolute_url())

    assert "16 public comments" in text_of(response)
    assert len(many.captured_queries) == len(few.captured_queries)


# -- emails never public ----------------------------------------------------


def test_the_email_appears_on_no_public_page_feed_or_api_answer(client, open_request, staff):
    published(open_request, staff, name="Ana Resident", body="Published.")
    comment_from("192.0.2.9", open_request, body="Held.")
    reference = open_request.reference
    urls = [
        open_request.get_absolute_url(),
        comment_url(open_request),
        reverse("ordinances:request_comment_thanks", args=[reference]),
        reverse("ordinances:request_list"),
        reverse("ordinances:home"),
        reverse("ordinances:request_feed"),
        reverse("ordinances:request_events_feed", args=[reference]),
        reverse("ordinances:request_calendar", args=[reference]),
        f"/api/v1/requests/{reference}/",
        f"/api/v1/requests/{reference}/timeline/",
        "/api/v1/requests/",
        reverse("ordinances:download", kwargs={"dataset": "requests", "fmt": "csv"}),
        f"/es{open_request.get_absolute_url()}",
    ]

    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert EMAIL.encode() not in body, url
        assert b"private.resident" not in body, url


# -- the review workspace -----------------------------------------------------


def changelist() -> str:
    return reverse("admin:ordinances_comment_changelist")


def test_staff_see_the_comments_with_their_emails_in_the_admin(client, open_request, staff):
    comment_from("192.0.2.1", open_request, name="Ana Resident", body="Held for staff.")
    client.force_login(staff)

    page = text_of(client.get(changelist()))

    assert "Held for staff." in page
    assert "Ana Resident" in page
    client.force_login(staff)
    detail = text_of(client.get(reverse("admin:ordinances_comment_change", args=[Comment.objects.get().pk])))
    assert EMAIL in detail


@pytest.mark.parametrize("persona", ["liaison_a", "liaison_b", "clerk"])
def test_liaisons_and_clerks_cannot_open_the_comments(client, open_request, request, persona):
    comment = comment_from("192.0.2.1", open_request)
    client.force_login(request.getfixturevalue(persona))

    assert client.get(changelist()).status_code == 403
    assert client.get(reverse("admin:ordinances_comment_change", args=[comment.pk])).status_code == 403
    assert changelist() not in text_of(client.get(reverse("admin:index")))


def test_anonymous_visitors_are_sent_to_sign_in(client, open_request):
    response = client.get(changelist())

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_nobody_adds_or_deletes_comments_in_the_admin(client, open_request, staff):
    comment = comment_from("192.0.2.1", open_request)
    client.force_login(staff)

    assert client.get(reverse("admin:ordinances_comment_add")).status_code == 403
    assert client.post(reverse("admin:ordinances_comment_delete", args=[comment.pk])).status_code == 403
    assert Comment.objects.filter(pk=comment.pk).exists()


def test_staff_publish_comments_with_the_admin_action(client, open_request, staff):
    comment = comment_from("192.0.2.1", open_request)
    client.force_login(staff)

    response = client.post(changelist(), {"action": "publish_selected", "_selected_action": [comment.pk]})

    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PUBLISHED
    assert Event.objects.filter(action=Event.Action.COMMENT_PUBLISHED, is_public=True).count() == 1


def test_the_reject_action_asks_for_a_reason_first(client, open_request, staff):
    comment = comment_from("192.0.2.1", open_request, body="Off-topic text.")
    client.force_login(staff)

    asked = client.post(changelist(), {"action": "reject_selected", "_selected_action": [comment.pk]})
    empty = client.post(
        changelist(),
        {"action": "reject_selected", "_selected_action": [comment.pk], "apply": "1", "reason": " "},
    )

    assert asked.status_code == 200
    assert 'name="reason"' in text_of(asked) and "Off-topic text." in text_of(asked)
    assert empty.status_code == 200
    assert participation.REASON_REQUIRED in text_of(empty)
    comment.refresh_from_db()
    assert comment.status == Comment.Status.HELD
    assert not Event.objects.filter(action=Event.Action.COMMENT_REJECTED).exists()


def test_staff_reject_comments_with_a_reason_in_the_admin(client, open_request, staff):
    comment = comment_from("192.0.2.1", open_request)
    client.force_login(staff)

    response = client.post(
        changelist(),
        {"action": "reject_selected", "_selected_action": [comment.pk], "apply": "1", "reason": "Spam."},
    )

    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.status == Comment.Status.REJECTED
    event = Event.objects.get(action=Event.Action.COMMENT_REJECTED)
    assert (event.is_public, event.note, event.data) == (False, "Spam.", {"comment": comment.pk})


def test_moderating_twice_in_the_admin_gives_a_message_not_an_error(client, open_request, staff):
    comment = published(open_request, staff)
    client.force_login(staff)

    response = client.post(changelist(), {"action": "publish_selected", "_selected_action": [comment.pk]})

    assert response.status_code == 302
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("already published" in m for m in messages)


def test_the_council_sees_the_comments_on_the_requests_review_page(client, open_request, staff):
    published(open_request, staff, body="Published for the council.")
    comment_from("192.0.2.2", open_request, body="Waiting for moderation.")
    rejected = comment_from("192.0.2.3", open_request, body="Not published text.")
    participation.reject_comment(rejected, by=staff, reason="Spam.")
    client.force_login(staff)

    page = text_of(client.get(reverse("admin:ordinances_request_change", args=[open_request.pk])))
    panel = page.split('id="review-comments"', 1)[1].split('id="review-timeline"', 1)[0]

    assert "Held for moderation: <strong>1</strong>" in panel
    assert "Published: <strong>1</strong>" in panel
    assert "Not published: <strong>1</strong>" in panel
    assert "Published for the council." in panel and "Waiting for moderation." in panel
    assert "Not published text." not in panel
    assert EMAIL in panel


def test_a_liaison_sees_published_comments_on_the_review_page_without_emails(
    client, open_request, staff, liaison_a
):
    published(open_request, staff, body="Published for the agency.")
    comment_from("192.0.2.2", open_request, body="Waiting for moderation.")
    client.force_login(liaison_a)

    page = text_of(client.get(reverse("admin:ordinances_request_change", args=[open_request.pk])))

    assert "Published for the agency." in page
    assert "Waiting for moderation." not in page
    assert EMAIL not in page


def test_a_published_comment_on_the_timeline_adds_no_empty_list_of_facts(client, open_request, staff):
    published(open_request, staff)
    page = text_of(client.get(open_request.get_absolute_url()))
    assert "Public comment published" in page
    assert not re.search(r'<ul class="usa-list timeline__facts">\s*</ul>', page)


def test_a_published_comment_in_the_request_feed_has_no_empty_list_of_facts(client, open_request, staff):
    published(open_request, staff)
    feed = text_of(client.get(reverse("ordinances:request_events_feed", args=[open_request.reference])))
    assert "Public comment published" in feed
    # The summaries are HTML written as text in the XML.
    assert not re.search(r'<ul class="usa-list timeline__facts">\s*</ul>', html.unescape(feed))
