"""
Email alerts with no account (ordinances/alerts.py, alert_views.py, the outbox's matching).

Stories: a resident (no account) asks for alerts from a page, confirms from the email's
link, and stops them with one click; council staff move requests along; liaison A hears of
its own agency's requests, liaison B never of A's. Emails go through Django's in-memory
outbox here; tests/test_outbox.py delivers through a real SMTP server.
"""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from model_bakery import baker

from ordinances import alert_views, alerts, outbox, workflow
from ordinances.models import Notification, Request, Subscription, Technology

pytestmark = pytest.mark.django_db

S = Request.Status
N = Notification.Kind
RESIDENT = "resident@example.org"


def follow(email: str = RESIDENT, **target) -> Subscription:
    topic = "search" if "query" in target else next(iter(target), "decisions")
    subscription = alerts.subscribe(email, topic, language="en", **target)
    outbox.deliver()  # the confirmation email
    return alerts.confirm(subscription.token)


def alerts_for(subscription: Subscription) -> list[Notification]:
    return list(Notification.objects.filter(kind=N.ALERT, subscription=subscription))


def return_to_agency(request: Request, staff) -> None:
    workflow.perform("return_to_agency", request, by=staff, reason="Add the use policy.")


def post_form(client: Client, topic: str, target: str = "", email: str = RESIDENT, **extra):
    data = {"email": email, "topic": topic, "target": target, "website": "", **extra}
    return client.post(reverse("ordinances:alert_subscribe"), data)


# ---------------------------------------------------------------------------
# Double opt-in
# ---------------------------------------------------------------------------


def test_subscribing_writes_an_unconfirmed_subscription_and_its_confirmation_email(make_request):
    request = make_request(S.IN_REVIEW)

    subscription = alerts.subscribe(RESIDENT, "request", request=request, language="en")
    outbox.deliver()

    assert subscription.confirmed_at is None
    assert len(subscription.token) >= 40
    [confirmation] = mail.outbox
    assert confirmation.to == [RESIDENT]
    assert reverse("ordinances:alert_confirm", args=[subscription.token]) in confirmation.body
    assert request.reference in confirmation.body


def test_nothing_is_sent_about_a_request_before_the_subscription_is_confirmed(make_request, staff):
    request = make_request(S.IN_REVIEW)
    subscription = alerts.subscribe(RESIDENT, "request", request=request, language="en")

    return_to_agency(request, staff)

    assert alerts_for(subscription) == []


def test_once_confirmed_the_next_step_is_an_alert(make_request, staff):
    request = make_request(S.IN_REVIEW)
    subscription = follow(request=request)

    return_to_agency(request, staff)

    [alert] = alerts_for(subscription)
    assert alert.to == RESIDENT
    assert alert.key == f"event:{alert.event_id}:sub:{subscription.pk}"


def test_opening_the_confirm_link_changes_nothing(client, make_request):
    subscription = alerts.subscribe(RESIDENT, "request", request=make_request(S.SUBMITTED), language="en")

    response = client.get(reverse("ordinances:alert_confirm", args=[subscription.token]))

    assert response.status_code == 200
    assert b"Start my alerts" in response.content
    subscription.refresh_from_db()
    assert subscription.confirmed_at is None


def test_pressing_the_confirm_button_starts_the_alerts(client, make_request):
    subscription = alerts.subscribe(RESIDENT, "request", request=make_request(S.SUBMITTED), language="en")
    url = reverse("ordinances:alert_confirm", args=[subscription.token])

    response = client.post(url)

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.is_active
    assert b"Your alerts are on." in client.get(url).content


def test_the_confirm_button_needs_the_pages_csrf_token(make_request):
    subscription = alerts.subscribe(RESIDENT, "request", request=make_request(S.SUBMITTED), language="en")

    response = Client(enforce_csrf_checks=True).post(
        reverse("ordinances:alert_confirm", args=[subscription.token])
    )

    assert response.status_code == 403
    subscription.refresh_from_db()
    assert subscription.confirmed_at is None


def test_a_stopped_alert_is_not_started_again_by_its_old_confirm_link(client, make_request):
    subscription = alerts.subscribe(RESIDENT, "request", request=make_request(S.SUBMITTED), language="en")
    alerts.unsubscribe(subscription.token)

    with pytest.raises(workflow.TransitionRefused, match="stopped"):
        alerts.confirm(subscription.token)
    response = client.post(reverse("ordinances:alert_confirm", args=[subscription.token]), follow=True)

    subscription.refresh_from_db()
    assert subscription.confirmed_at is None
    assert b"These alerts were stopped." in response.content


def test_an_unknown_token_is_not_found(client):
    for name in ("alert_confirm", "alert_unsubscribe"):
        assert client.get(reverse(f"ordinances:{name}", args=["no-such-token"])).status_code == 404
        assert client.post(reverse(f"ordinances:{name}", args=["no-such-token"])).status_code == 404


# ---------------------------------------------------------------------------
# Unsubscribing
# ---------------------------------------------------------------------------


def test_opening_the_unsubscribe_link_changes_nothing(client, make_request):
    subscription = follow(request=make_request(S.SUBMITTED))

    response = client.get(reverse("ordinances:alert_unsubscribe", args=[subscription.token]))

    assert response.status_code == 200
    assert b"Stop these alerts" in response.content
    subscription.refresh_from_db()
    assert subscription.is_active


def test_the_one_click_unsubscribe_post_works_without_a_csrf_token(make_request):
    subscription = follow(request=make_request(S.SUBMITTED))
    mail_provider = Client(enforce_csrf_checks=True)

    response = mail_provider.post(
        reverse("ordinances:alert_unsubscribe", args=[subscription.token]),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    subscription.refresh_from_db()
    assert subscription.unsubscribed_at is not None
    assert not subscription.is_active


def test_unsubscribing_twice_answers_the_same_and_keeps_the_first_time(client, make_request):
    subscription = follow(request=make_request(S.SUBMITTED))
    url = reverse("ordinances:alert_unsubscribe", args=[subscription.token])

    first = client.post(url)
    subscription.refresh_from_db()
    stopped_at = subscription.unsubscribed_at
    second = client.post(url)

    assert first.status_code == second.status_code == 200
    assert b"These alerts are stopped." in second.content
    subscription.refresh_from_db()
    assert subscription.unsubscribed_at == stopped_at


def test_an_unsubscribed_address_gets_no_more_alerts(make_request, staff):
    request = make_request(S.IN_REVIEW)
    subscription = follow(request=request)
    alerts.unsubscribe(subscription.token)

    return_to_agency(request, staff)

    assert alerts_for(subscription) == []


# ---------------------------------------------------------------------------
# What a subscription may follow
# ---------------------------------------------------------------------------


def test_a_draft_cannot_be_followed(make_request):
    draft = make_request(S.DRAFT)

    with pytest.raises(ValidationError) as refused:
        alerts.subscribe(RESIDENT, "request", request=draft, language="en")

    assert set(refused.value.message_dict) == {"request"}
    assert not Subscription.objects.exists()
    assert not Notification.objects.exists()


def test_a_bad_address_gives_an_email_error_and_writes_nothing(make_request):
    with pytest.raises(ValidationError) as refused:
        alerts.subscribe("not an address", "decisions", language="en")

    assert set(refused.value.message_dict) == {"email"}
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    "query",
    ["", "status=not-a-status", "agency=no-such-agency", "page=2", "year=1066", "status=approved&page=2"],
)
def test_a_saved_search_must_be_a_valid_filter_of_the_request_list(query):
    with pytest.raises(ValidationError) as refused:
        alerts.subscribe(RESIDENT, "search", query=query, language="en")

    assert set(refused.value.message_dict) == {"query"}
    assert not Subscription.objects.exists()


def test_a_topic_takes_only_its_own_target(agency_a, drone):
    with pytest.raises(ValidationError) as refused:
        alerts.subscribe(RESIDENT, "agency", agency=agency_a, technology=drone, language="en")

    assert set(refused.value.message_dict) == {"technology"}


def test_subscribing_again_reuses_the_row_and_resends_the_confirmation_at_most_once_an_hour(agency_a):
    start = timezone.now()

    first = alerts.subscribe(RESIDENT, "agency", agency=agency_a, language="en", now=start)
    soon = alerts.subscribe(
        "resident@EXAMPLE.org",
        "agency",
        agency=agency_a,
        language="es",
        now=start + datetime.timedelta(minutes=5),
    )
    later = alerts.subscribe(
        RESIDENT, "agency", agency=agency_a, language="es", now=start + datetime.timedelta(hours=2)
    )

    assert first.pk == soon.pk == later.pk
    assert Subscription.objects.count() == 1
    assert Subscription.objects.get().language == "es"
    assert Notification.objects.filter(kind=N.CONFIRM_SUBSCRIPTION).count() == 2


def test_subscribing_again_once_confirmed_sends_nothing(agency_a):
    subscription = follow(agency=agency_a)
    mail.outbox.clear()

    again = alerts.subscribe(RESIDENT, "agency", agency=agency_a, language="en")
    outbox.deliver()

    assert again.pk == subscription.pk
    assert mail.outbox == []


# ---------------------------------------------------------------------------
# Who is alerted of what
# ---------------------------------------------------------------------------


def test_a_saved_search_only_alerts_for_matching_requests(make_request, staff, face_recognition):
    drone_request = make_request(S.IN_REVIEW)
    face_request = make_request(S.IN_REVIEW, kind=Request.Kind.EXCEPTION, technology=face_recognition)
    subscription = follow(query="technology=test-face")

    return_to_agency(drone_request, staff)
    return_to_agency(face_request, staff)

    [alert] = alerts_for(subscription)
    assert alert.event.request == face_request


def test_a_saved_search_on_a_status_alerts_when_a_request_enters_that_status(make_request, staff):
    opened = make_request(S.IN_REVIEW)
    returned = make_request(S.IN_REVIEW)
    subscription = follow(query="status=returned")

    workflow.perform("open_comment_period", opened, by=staff)
    return_to_agency(returned, staff)

    [alert] = alerts_for(subscription)
    assert alert.event.request == returned


def test_following_every_decision_alerts_on_decisions_only(make_request, staff):
    request = make_request(S.HEARING_SCHEDULED)
    subscription = follow()

    workflow.perform("approve", request, by=staff, votes_yes=9, votes_no=3)
    workflow.perform("revoke", request, by=staff, reason="Conditions breached.")

    [alert] = alerts_for(subscription)
    assert alert.event.action == "approve"


def test_following_an_agency_and_a_technology_alerts_for_their_requests_only(
    make_request, staff, agency_a, agency_b, liaison_b, drone
):
    own = make_request(S.IN_REVIEW)
    other = make_request(S.IN_REVIEW, agency=agency_b, liaison=liaison_b)
    by_agency = follow("a@example.org", agency=agency_a)
    other_technology = baker.make(Technology, slug="other-drone", name="Other drone", category="drones")
    by_technology = follow("b@example.org", technology=other_technology)

    return_to_agency(own, staff)
    return_to_agency(other, staff)

    assert [a.event.request for a in alerts_for(by_agency)] == [own]
    assert alerts_for(by_technology) == []


def test_an_address_following_a_request_several_ways_gets_one_email(make_request, staff, agency_a):
    request = make_request(S.IN_REVIEW)
    by_request = follow(request=request)
    follow(agency=agency_a)
    follow(query="status=returned")

    return_to_agency(request, staff)

    alerts_sent = Notification.objects.filter(kind=N.ALERT)
    assert [a.subscription for a in alerts_sent] == [by_request]


def test_an_internal_note_alerts_nobody(make_request, staff, agency_a):
    request = make_request(S.IN_REVIEW)
    follow(request=request)

    workflow.add_note(request, by=staff, note="Internal: call the vendor.")

    assert not Notification.objects.filter(kind=N.ALERT).exists()


def test_liaisons_are_emailed_when_their_request_is_returned(make_request, staff, liaison_a):
    liaison_a.email = "liaison.a@example.org"
    liaison_a.save(update_fields=["email"])
    request = make_request(S.IN_REVIEW)

    return_to_agency(request, staff)
    outbox.deliver()

    [notice] = mail.outbox
    assert notice.to == ["liaison.a@example.org"]
    assert "Add the use policy." in notice.body
    assert "List-Unsubscribe" not in notice.extra_headers


@pytest.mark.parametrize("outcome", ["approved", "denied"])
def test_liaisons_are_emailed_when_their_request_is_decided(make_request, liaison_a, outcome):
    liaison_a.email = "liaison.a@example.org"
    liaison_a.save(update_fields=["email"])

    request = make_request(outcome)

    decided = Notification.objects.filter(kind=N.LIAISON, event__request=request)
    assert [n.event.action for n in decided] == ["approve" if outcome == "approved" else "deny"]
    assert decided.get().to == "liaison.a@example.org"


def test_another_agencys_liaison_is_not_emailed(make_request, staff, liaison_b):
    liaison_b.email = "liaison.b@example.org"
    liaison_b.save(update_fields=["email"])
    request = make_request(S.IN_REVIEW)

    return_to_agency(request, staff)

    assert not Notification.objects.filter(to="liaison.b@example.org").exists()


def test_a_liaison_is_not_emailed_of_steps_that_are_not_returns_or_decisions(make_request, liaison_a):
    liaison_a.email = "liaison.a@example.org"
    liaison_a.save(update_fields=["email"])

    make_request(S.HEARING_SCHEDULED)

    assert not Notification.objects.filter(kind=N.LIAISON).exists()


def test_writing_the_alerts_of_an_event_runs_the_same_queries_for_1_and_6_followers(make_request, staff):
    def queries_for_one_return(count: int) -> int:
        request = make_request(S.IN_REVIEW)
        for number in range(count):
            follow(f"r{count}-{number}@example.org", request=request)
        with CaptureQueriesContext(connection) as captured:
            return_to_agency(request, staff)
        assert Notification.objects.filter(event__request=request, kind=N.ALERT).count() == count
        return len(captured.captured_queries)

    assert queries_for_one_return(1) == queries_for_one_return(6)


def test_each_distinct_saved_search_costs_one_query(make_request, staff):
    def queries_with_searches(queries: list[str]) -> int:
        request = make_request(S.IN_REVIEW)
        for number, query in enumerate(queries):
            follow(f"s{len(queries)}-{number}@example.org", query=query)
        with CaptureQueriesContext(connection) as captured:
            return_to_agency(request, staff)
        for subscription in Subscription.objects.filter(topic="search"):
            alerts.unsubscribe(subscription.token)
        return len(captured.captured_queries)

    one = queries_with_searches(["status=returned"])
    three = queries_with_searches(["status=returned", "status=returned", "kind=approval", "q=drone"])

    assert three == one + 2


# ---------------------------------------------------------------------------
# The form and its pages
# ---------------------------------------------------------------------------


def test_the_form_is_on_the_request_agency_technology_and_list_pages(client, make_request, agency_a, drone):
    request = make_request(S.SUBMITTED)
    pages = {
        request.get_absolute_url(): ('value="request"', f'value="{request.reference}"'),
        agency_a.get_absolute_url(): ('value="agency"', 'value="agency-a"'),
        drone.get_absolute_url(): ('value="technology"', 'value="test-drone"'),
        reverse("ordinances:request_list"): ('value="decisions"',),
        reverse("ordinances:request_list") + "?status=submitted&page=1": ('value="search"',),
        reverse("ordinances:home"): ('value="decisions"',),
    }
    for url, expected in pages.items():
        html = client.get(url).content.decode()
        assert 'action="/alerts/"' in html, url
        for fragment in expected:
            assert fragment in html, (url, fragment)


def test_a_draft_page_offers_no_alerts(client, make_request, liaison_a):
    draft = make_request(S.DRAFT)
    client.force_login(liaison_a)

    assert 'action="/alerts/"' not in client.get(draft.get_absolute_url()).content.decode()


def test_the_form_answers_check_your_inbox_for_a_new_and_a_known_address(client, make_request):
    request = make_request(S.SUBMITTED)
    follow(request=request)

    known = post_form(client, "request", request.reference)
    new = post_form(client, "request", request.reference, email="someone.new@example.org")

    assert known.status_code == new.status_code == 302
    assert known["Location"] == new["Location"] == reverse("ordinances:alert_sent")
    assert client.get(known["Location"]).status_code == 200
    assert Subscription.objects.filter(email="someone.new@example.org", confirmed_at__isnull=True).exists()


def test_the_form_saves_a_filtered_list_as_a_saved_search_without_its_page(client):
    response = post_form(client, "search", "page=3&q=&status=approved")

    assert response.status_code == 302
    assert Subscription.objects.get().query == "status=approved"


def test_the_form_in_spanish_subscribes_in_spanish(client, agency_a):
    client.post("/es/alerts/", {"email": RESIDENT, "topic": "agency", "target": "agency-a", "website": ""})

    assert Subscription.objects.get().language == "es"


def test_a_bad_address_on_the_form_is_shown_as_its_error(client, agency_a):
    response = post_form(client, "agency", "agency-a", email="not an address")

    assert response.status_code == 400
    assert 'id="alert-email-error"' in response.content.decode()
    assert not Subscription.objects.exists()


def test_the_form_for_a_draft_is_refused(client, make_request):
    draft = make_request(S.DRAFT)

    response = post_form(client, "request", draft.reference)

    assert response.status_code == 400
    assert not Subscription.objects.exists()


def test_the_honeypot_sends_nothing(client, agency_a):
    response = post_form(client, "agency", "agency-a", website="https://spam.example")

    assert response.status_code == 302
    assert not Subscription.objects.exists()


def test_a_connection_signing_up_too_often_is_told_to_wait(client, agency_a):
    for number in range(alert_views.RATE_PER_CLIENT):
        assert post_form(client, "agency", "agency-a", email=f"r{number}@example.org").status_code == 302

    response = post_form(client, "agency", "agency-a", email="one.more@example.org")

    assert response.status_code == 429
    assert not Subscription.objects.filter(email="one.more@example.org").exists()


def test_an_address_signed_up_too_often_gets_no_more_confirmations_and_the_same_answer(
    client, agency_a, agency_b, drone, face_recognition
):
    targets = [("agency", "agency-a"), ("agency", "agency-b"), ("technology", "test-drone"),
               ("technology", "test-face"), ("decisions", ""), ("search", "status=approved")]  # fmt: skip

    answers = [post_form(client, topic, target) for topic, target in targets]

    assert {a.status_code for a in answers} == {302}
    assert Subscription.objects.count() == alert_views.RATE_PER_ADDRESS


def test_the_form_page_alone_names_what_it_follows(client, agency_a):
    response = client.get(reverse("ordinances:alert_subscribe") + "?topic=agency&target=agency-a")

    assert response.status_code == 200
    assert "Alerts about requests by Agency A Police." in response.content.decode()
    assert client.get(reverse("ordinances:alert_subscribe") + "?topic=agency&target=nope").status_code == 404


def test_no_page_shows_a_subscribers_address(client, make_request):
    request = make_request(S.SUBMITTED)
    subscription = follow(request=request)

    pages = [
        request.get_absolute_url(),
        reverse("ordinances:alert_confirm", args=[subscription.token]),
        reverse("ordinances:alert_unsubscribe", args=[subscription.token]),
    ]
    for url in pages:
        assert RESIDENT not in client.get(url).content.decode()
