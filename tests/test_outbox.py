"""
The outbox (ordinances/outbox.py) delivering through a real SMTP server: each test starts
aiosmtpd on loopback, points Django's SMTP backend at it, and reads what the server received.

Stories: a resident follows a request; council staff return it to the agency (one public
event); `deliver` sends the alert. The mail server may refuse, be down, or two workers may
run at once.

The tests run inside the test's transaction, like the app's own code: the outbox rows are
written in the transaction of the change, with no on-commit hook, so a savepoint rolled back
proves what a real rollback does. Only the parallel workers need real commits
(`transaction=True`), and only on PostgreSQL (see that test).
"""

from __future__ import annotations

import datetime
import email
import logging
import socket
import threading
from email import policy
from email.message import EmailMessage as ParsedMessage
from io import StringIO

import pytest
from aiosmtpd.controller import Controller
from django.core.mail import get_connection
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from ordinances import alerts, outbox, workflow
from ordinances.models import Notification, Request, Subscription

S = Request.Status
FOLLOWER = "resident@example.org"


class Recorder:
    """An SMTP server's DATA handler: keeps each accepted message; refuses the next `refuse` with 451."""

    def __init__(self) -> None:
        self.messages: list[ParsedMessage] = []
        self.refuse = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            if self.refuse:
                self.refuse -= 1
                return "451 4.3.0 Try again later"
            self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 2.0.0 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """A real SMTP server on 127.0.0.1, and Django's SMTP backend pointed at it."""
    recorder = Recorder()
    # aiosmtpd logs every SMTP command at INFO; keep the test output to what matters.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.PORTAL_BASE_URL = "https://portal.example.org"
    yield recorder
    controller.stop()


def follow(*, email_address: str = FOLLOWER, language: str = "en", **target) -> Subscription:
    """A confirmed subscription, made the way a resident makes one."""
    topic = "search" if "query" in target else next(iter(target), "decisions")
    subscription = alerts.subscribe(email_address, topic, language=language, **target)
    # The confirmation email goes out (not to the test's SMTP server), then the link is followed.
    outbox.deliver(connection=get_connection("django.core.mail.backends.locmem.EmailBackend"))
    return alerts.confirm(subscription.token)


def return_to_agency(request: Request, staff) -> None:
    workflow.perform("return_to_agency", request, by=staff, reason="Add the use policy.")


def alerts_to(address: str, recorder: Recorder) -> list[ParsedMessage]:
    return [m for m in recorder.messages if m["To"] == address]


@pytest.mark.django_db
def test_a_committed_change_gives_exactly_one_email(smtp, make_request, staff):
    request = make_request(S.IN_REVIEW)
    follow(request=request)

    return_to_agency(request, staff)
    first = outbox.deliver()
    again = outbox.deliver()

    assert first.sent == 1
    assert again.sent == 0
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == FOLLOWER
    assert message["Subject"] == f"{request.reference}: Returned to the agency"
    body = message.get_content()
    assert "Add the use policy." in body
    assert f"https://portal.example.org/requests/{request.reference}/" in body


@pytest.mark.django_db
def test_a_rolled_back_change_sends_nothing(smtp, make_request, staff):
    request = make_request(S.IN_REVIEW)
    follow(request=request)

    with pytest.raises(RuntimeError), transaction.atomic():
        return_to_agency(request, staff)
        raise RuntimeError("something after the change failed")

    assert not Notification.objects.filter(kind=Notification.Kind.ALERT).exists()
    assert outbox.deliver().sent == 0
    assert smtp.messages == []
    assert Request.objects.get(pk=request.pk).status == S.IN_REVIEW


@pytest.mark.django_db
def test_a_refused_send_is_retried_after_its_backoff_and_then_sent_once(smtp, make_request, staff):
    request = make_request(S.IN_REVIEW)
    follow(request=request)
    return_to_agency(request, staff)
    smtp.refuse = 1
    start = timezone.now()

    refused = outbox.deliver(now=start)
    alert = Notification.objects.get(kind=Notification.Kind.ALERT)
    too_soon = outbox.deliver(now=start + datetime.timedelta(seconds=30))
    retried = outbox.deliver(now=start + outbox.BACKOFF[0])
    after = outbox.deliver(now=start + datetime.timedelta(days=1))

    assert refused.retrying == 1
    assert alert.status == Notification.Status.PENDING
    assert alert.attempts == 1
    assert alert.next_attempt_at == start + outbox.BACKOFF[0]
    assert "451" in alert.last_error
    assert too_soon.claimed == 0
    assert retried.sent == 1
    assert after.claimed == 0
    assert len(smtp.messages) == 1
    alert.refresh_from_db()
    assert alert.status == Notification.Status.SENT
    assert alert.attempts == 2
    assert alert.last_error == ""


@pytest.mark.django_db
def test_a_mail_server_that_is_down_is_retried_and_then_sent_once(smtp, settings, make_request, staff):
    request = make_request(S.IN_REVIEW)
    follow(request=request)
    return_to_agency(request, staff)
    start = timezone.now()
    working_port, settings.EMAIL_PORT = settings.EMAIL_PORT, free_port()

    down = outbox.deliver(now=start)
    error = Notification.objects.get(kind=Notification.Kind.ALERT).last_error
    settings.EMAIL_PORT = working_port
    back = outbox.deliver(now=start + outbox.BACKOFF[0])

    assert down.retrying == 1
    assert error.startswith("ConnectionRefusedError")
    assert back.sent == 1
    assert len(smtp.messages) == 1


@pytest.mark.django_db
def test_a_notification_is_failed_after_its_last_attempt(smtp, make_request, staff):
    request = make_request(S.IN_REVIEW)
    follow(request=request)
    return_to_agency(request, staff)
    smtp.refuse = 100
    moment = timezone.now()

    for _ in range(outbox.MAX_ATTEMPTS):
        outbox.deliver(now=moment)
        moment += outbox.BACKOFF[-1]
    alert = Notification.objects.get(kind=Notification.Kind.ALERT)

    assert alert.status == Notification.Status.FAILED
    assert alert.attempts == outbox.MAX_ATTEMPTS
    assert outbox.deliver(now=moment + datetime.timedelta(days=30)).claimed == 0
    assert smtp.messages == []


@pytest.mark.django_db
def test_a_worker_that_lists_a_row_another_worker_sent_does_not_send_it_again(
    smtp, make_request, staff, monkeypatch
):
    """Two workers interleaved: the second runs a whole pass between the first's listing and its claims."""
    request = make_request(S.IN_REVIEW)
    for number in range(3):
        follow(email_address=f"resident{number}@example.org", request=request)
    return_to_agency(request, staff)
    listed = outbox._due_ids
    other: list[outbox.DeliveryResult] = []

    def list_then_let_the_other_worker_run(at, limit):
        ids = listed(at, limit)
        if not other:
            monkeypatch.setattr(outbox, "_due_ids", listed)
            other.append(outbox.deliver())
        return ids

    monkeypatch.setattr(outbox, "_due_ids", list_then_let_the_other_worker_run)
    first = outbox.deliver()

    assert other[0].sent == 3
    assert first.sent == 0
    assert first.taken_by_another == 3
    assert len(smtp.messages) == 3
    assert len({m["Message-ID"] for m in smtp.messages}) == 3


@pytest.mark.postgresql
@pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="SQLite's shared-cache test database refuses concurrent writers outright "
    "(database table is locked), so threads cannot race there; the interleaved test covers SQLite",
)
@pytest.mark.django_db(transaction=True)
def test_two_delivery_workers_in_parallel_send_each_email_once(smtp, make_request, staff):
    request = make_request(S.IN_REVIEW)
    for number in range(30):
        follow(email_address=f"resident{number}@example.org", request=request)
    return_to_agency(request, staff)
    barrier = threading.Barrier(2, timeout=10)
    results: list[outbox.DeliveryResult] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(outbox.deliver())
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(r.sent for r in results) == 30
    assert len(smtp.messages) == 30
    assert len({m["To"] for m in smtp.messages}) == 30
    assert set(Notification.objects.values_list("status", flat=True)) == {Notification.Status.SENT}


@pytest.mark.django_db
def test_alerts_carry_one_click_unsubscribe_headers_and_a_stable_message_id(smtp, make_request, staff):
    request = make_request(S.IN_REVIEW)
    subscription = follow(request=request)
    return_to_agency(request, staff)

    outbox.deliver()
    message = smtp.messages[0]
    alert = Notification.objects.get(kind=Notification.Kind.ALERT)

    unsubscribe = f"https://portal.example.org/alerts/unsubscribe/{subscription.token}/"
    # Folded onto its own line by the mail library (it is longer than 78 characters).
    assert message["List-Unsubscribe"].strip() == f"<{unsubscribe}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"] == outbox.message_id(alert.key)
    assert message["Message-ID"].endswith("@portal.example.org>")
    assert unsubscribe in message.get_content()


@pytest.mark.django_db
def test_a_row_left_sending_by_a_dead_worker_is_sent_again_after_the_lease_with_the_same_message_id(
    smtp, make_request, staff
):
    request = make_request(S.IN_REVIEW)
    follow(request=request)
    return_to_agency(request, staff)
    alert = Notification.objects.get(kind=Notification.Kind.ALERT)
    claimed = timezone.now()
    Notification.objects.filter(pk=alert.pk).update(status=Notification.Status.SENDING, claimed_at=claimed)

    within_lease = outbox.deliver(now=claimed + outbox.LEASE - datetime.timedelta(seconds=1))
    after_lease = outbox.deliver(now=claimed + outbox.LEASE + datetime.timedelta(seconds=1))

    assert within_lease.claimed == 0
    assert after_lease.sent == 1
    assert smtp.messages[0]["Message-ID"] == outbox.message_id(alert.key)


@pytest.mark.django_db
def test_unsubscribing_stops_alerts_including_those_already_queued(smtp, make_request, staff, liaison_a):
    request = make_request(S.IN_REVIEW)
    subscription = follow(request=request)
    return_to_agency(request, staff)

    alerts.unsubscribe(subscription.token)
    queued = outbox.deliver()
    workflow.perform("submit", request, by=liaison_a)
    later = outbox.deliver()

    assert queued.dropped == 1  # the alert written before the unsubscribe
    assert queued.sent == 0
    assert later.claimed == 0
    assert smtp.messages == []
    assert Notification.objects.filter(kind=Notification.Kind.ALERT).count() == 1


@pytest.mark.django_db
def test_a_liaison_notice_carries_no_unsubscribe_header(smtp, make_request, staff, liaison_a):
    liaison_a.email = "liaison.a@example.org"
    liaison_a.save(update_fields=["email"])
    request = make_request(S.IN_REVIEW)

    return_to_agency(request, staff)
    outbox.deliver()

    [notice] = smtp.messages
    assert notice["To"] == "liaison.a@example.org"
    assert notice["List-Unsubscribe"] is None
    assert f"https://portal.example.org/admin/ordinances/request/{request.pk}/change/" in notice.get_content()


@pytest.mark.django_db
def test_a_confirmation_is_sent_in_the_language_the_resident_asked_in(smtp, make_request, staff):
    request = make_request(S.IN_REVIEW)
    alerts.subscribe(FOLLOWER, "request", request=request, language="es")

    outbox.deliver()

    [confirmation] = smtp.messages
    assert "https://portal.example.org/es/alerts/confirm/" in confirmation.get_content()
    assert (
        confirmation["List-Unsubscribe"]
        .strip()
        .startswith("<https://portal.example.org/es/alerts/unsubscribe/")
    )


@pytest.mark.django_db
def test_an_alert_names_the_step_in_the_followers_language(smtp, make_request, staff):
    request = make_request(S.IN_REVIEW)
    follow(request=request, language="es")

    return_to_agency(request, staff)
    outbox.deliver()

    assert smtp.messages[0]["Subject"] == f"{request.reference}: Devuelta a la dependencia"


@pytest.mark.django_db
def test_the_command_sends_what_is_due_and_says_what_it_did(smtp, make_request, staff):
    request = make_request(S.IN_REVIEW)
    follow(request=request)
    return_to_agency(request, staff)
    printed = StringIO()
    call_command("deliver_notifications", stdout=printed)

    assert len(smtp.messages) == 1
    assert printed.getvalue().startswith("1 sent, 0 to retry, 0 failed, 0 no longer needed")


@pytest.mark.django_db
def test_the_command_with_loop_sends_then_waits_for_more(smtp, make_request, staff, monkeypatch):
    request = make_request(S.IN_REVIEW)
    follow(request=request)
    return_to_agency(request, staff)
    waits: list[float] = []

    def stop_at_the_first_wait(seconds: float) -> None:
        waits.append(seconds)
        raise KeyboardInterrupt

    monkeypatch.setattr(
        "ordinances.management.commands.deliver_notifications.time.sleep", stop_at_the_first_wait
    )
    with pytest.raises(KeyboardInterrupt):
        call_command("deliver_notifications", "--loop", "--sleep", "5", stdout=StringIO())

    assert len(smtp.messages) == 1
    assert waits == [5.0]
