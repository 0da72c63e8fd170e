"""
The outbox: every email the portal sends is first a `Notification` row, written in the same
transaction as the change it reports, so a change that rolls back sends nothing and a change
that commits is never forgotten.

- `enqueue_for_event(event)`: called by the workflow (`workflow._record`) inside its
  transaction for every Event. For a public event it writes one alert per address following
  the request (the request itself, its agency, its technology, every decision when the event
  is one, or a saved search the request matches), and a notice to each liaison of the agency
  when the request is returned or decided. A fixed number of queries per event, plus the
  saved searches' own (one to match each distinct search, and the filter's look-up of each
  agency, technology or ordinance it names).
- `deliver()`: run by `manage.py deliver_notifications` (cron every minute, or `--loop`).
  It claims each due row with a conditional UPDATE (pending to sending) before sending it,
  so of two workers at once exactly one wins each row, on SQLite and PostgreSQL alike; it
  renders the email in the recipient's language, sends it, and marks it sent, or on failure
  schedules another attempt after a growing delay (`BACKOFF`) and gives up after
  `MAX_ATTEMPTS`.

The one case where an email can go out twice: a worker that dies after the mail server
accepted a message but before it marked the row sent. After `LEASE` another worker takes
the row up again and sends it once more (at-least-once delivery). The Message-ID is made
from the row's key, so the resend carries the same Message-ID and mail systems that
de-duplicate by it show it once.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db.models import F, Q
from django.http import QueryDict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from ordinances import alerts
from ordinances.filters import RequestFilter
from ordinances.models import Event, Notification, Request, Subscription

logger = logging.getLogger(__name__)

A = Event.Action
Topic = Subscription.Topic
Kind = Notification.Kind
Status = Notification.Status

# A row claimed longer ago than this by a worker that never finished is taken up again.
LEASE = datetime.timedelta(minutes=15)
# The wait before each new attempt after a failed one; after the last, the row is failed.
BACKOFF = (
    datetime.timedelta(minutes=1),
    datetime.timedelta(minutes=5),
    datetime.timedelta(minutes=30),
    datetime.timedelta(hours=2),
    datetime.timedelta(hours=12),
)
MAX_ATTEMPTS = len(BACKOFF) + 1

# Events that are decisions, for those following every decision.
DECISION_ACTIONS = frozenset({A.APPROVE, A.APPROVE_WITH_CONDITIONS, A.DENY, A.PUBLISH_POLICY})
# Events the agency's liaisons are told of: their request returned to them, or decided.
LIAISON_ACTIONS = frozenset(
    {
        A.RETURN_TO_AGENCY,
        *DECISION_ACTIONS,
        A.EXPIRE,
        A.REVOKE,
        A.ACCEPT_REPORT,
        A.REFER_TO_FULL_REVIEW,
    }
)
# An address following one event several ways gets one email, under its most specific
# subscription (whose unsubscribe link it carries).
SPECIFICITY = (Topic.REQUEST, Topic.SEARCH, Topic.AGENCY, Topic.TECHNOLOGY, Topic.DECISIONS)


# ---------------------------------------------------------------------------
# Writing: in the transaction of the change
# ---------------------------------------------------------------------------


def _search_matches(query: str, request: Request) -> bool:
    filterset = RequestFilter(QueryDict(query), queryset=Request.objects.public().filter(pk=request.pk))
    return filterset.is_valid() and filterset.qs.exists()


def _alerts(event: Event, request: Request, now: datetime.datetime) -> list[Notification]:
    follows = (
        Q(topic=Topic.REQUEST, request_id=request.pk)
        | Q(topic=Topic.AGENCY, agency_id=request.agency_id)
        | Q(topic=Topic.TECHNOLOGY, technology_id=request.technology_id)
        | Q(topic=Topic.SEARCH)
    )
    if event.action in DECISION_ACTIONS:
        follows |= Q(topic=Topic.DECISIONS)
    candidates = list(
        Subscription.objects.filter(
            follows, confirmed_at__isnull=False, unsubscribed_at__isnull=True
        ).order_by("pk")
    )
    # Each distinct saved search is matched once, however many follow it.
    searches = {sub.query for sub in candidates if sub.topic == Topic.SEARCH}
    matching = {query for query in searches if _search_matches(query, request)}
    chosen: dict[str, Subscription] = {}
    for sub in sorted(candidates, key=lambda s: (SPECIFICITY.index(Topic(s.topic)), s.pk)):
        if sub.topic != Topic.SEARCH or sub.query in matching:
            chosen.setdefault(sub.email.lower(), sub)
    return [
        Notification(
            kind=Kind.ALERT,
            to=sub.email,
            language=sub.language,
            subscription=sub,
            event=event,
            key=f"event:{event.pk}:sub:{sub.pk}",
            next_attempt_at=now,
            created_at=now,
        )
        for sub in sorted(chosen.values(), key=lambda s: s.pk)
    ]


def _liaison_notices(event: Event, request: Request, now: datetime.datetime) -> list[Notification]:
    if event.action not in LIAISON_ACTIONS:
        return []
    liaisons = (
        User.objects.filter(liaison_agencies=request.agency_id, is_active=True)
        .exclude(email="")
        .order_by("pk")
    )
    return [
        Notification(
            kind=Kind.LIAISON,
            to=user.email,
            # Liaisons work in the review workspace, which is in the site's default language.
            language=settings.LANGUAGE_CODE,
            event=event,
            key=f"event:{event.pk}:user:{user.pk}",
            next_attempt_at=now,
            created_at=now,
        )
        for user in liaisons
    ]


def enqueue_for_event(event: Event) -> list[Notification]:
    """
    The emails `event` calls for, written now, in the caller's transaction (see the module's
    docstring). Internal events and drafts call for none. Writing the same event twice
    adds nothing: each row's key names the event and its recipient.
    """
    request = event.request
    if not event.is_public or not request.is_public:
        return []
    now = timezone.now()
    rows = [*_alerts(event, request, now), *_liaison_notices(event, request, now)]
    if rows:
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return rows


# ---------------------------------------------------------------------------
# Sending: outside any transaction, one claimed row at a time
# ---------------------------------------------------------------------------


@dataclass
class DeliveryResult:
    """What one pass of `deliver` did."""

    sent: int = 0
    # Failed this time; another attempt is scheduled.
    retrying: int = 0
    # Failed for the last time.
    failed: int = 0
    # Not sent because there is nothing to send any more: the subscription was stopped
    # (or, for a confirmation, already confirmed) after the row was written.
    dropped: int = 0
    # Due when listed, but another worker claimed it first.
    taken_by_another: int = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.retrying + self.failed + self.dropped


def _due(at: datetime.datetime) -> Q:
    return Q(status=Status.PENDING, next_attempt_at__lte=at) | Q(
        status=Status.SENDING, claimed_at__lt=at - LEASE
    )


def _due_ids(at: datetime.datetime, limit: int) -> list[int]:
    return list(
        Notification.objects.filter(_due(at))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def _claim(pk: int, at: datetime.datetime) -> bool:
    """
    Take the row for this worker: one UPDATE that succeeds only while the row is still due.
    PostgreSQL makes a second UPDATE of the same row wait for the first and then re-check
    its WHERE clause; SQLite runs one writer at a time. Either way one worker wins.
    """
    return Notification.objects.filter(_due(at), pk=pk).update(status=Status.SENDING, claimed_at=at) == 1


def _absolute(path: str) -> str:
    return settings.PORTAL_BASE_URL + path


def message_id(key: str) -> str:
    """The same Message-ID for every attempt at one row, so a rare resend is recognised."""
    domain = urlsplit(settings.PORTAL_BASE_URL).hostname or "localhost"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def _subscription_context(subscription: Subscription) -> dict[str, Any]:
    terms = alerts.search_terms(subscription.query) if subscription.topic == Topic.SEARCH else []
    search_url = ""
    if subscription.topic == Topic.SEARCH:
        search_url = _absolute(f"{reverse('ordinances:request_list')}?{subscription.query}")
    return {
        "subscription": subscription,
        "search_summary": "; ".join(f"{label}: {value}" for label, value in terms),
        "search_url": search_url,
        "unsubscribe_url": _absolute(reverse("ordinances:alert_unsubscribe", args=[subscription.token])),
        "confirm_url": _absolute(reverse("ordinances:alert_confirm", args=[subscription.token])),
    }


def _context(notification: Notification) -> dict[str, Any]:
    context: dict[str, Any] = {"notification": notification, "portal_city": settings.PORTAL_CITY}
    if notification.subscription is not None:
        context.update(_subscription_context(notification.subscription))
    event = notification.event
    if event is not None:
        request = event.request
        context.update(
            {
                "event": event,
                "req": request,
                "request_url": _absolute(request.get_absolute_url()),
                "admin_url": _absolute(reverse("admin:ordinances_request_change", args=[request.pk])),
            }
        )
    return context


def render(notification: Notification) -> EmailMessage:
    """
    The email for `notification`, in its recipient's language, from `templates/email/`:
    `<kind>_subject.txt` and `<kind>.txt`.
    """
    with translation.override(notification.language):
        context = _context(notification)
        subject = " ".join(render_to_string(f"email/{notification.kind}_subject.txt", context).split())
        body = render_to_string(f"email/{notification.kind}.txt", context)
    headers = {
        "Message-ID": message_id(notification.key),
        # RFC 3834: written by a machine, so auto-responders should not answer it.
        "Auto-Submitted": "auto-generated",
    }
    if notification.kind in (Kind.ALERT, Kind.CONFIRM_SUBSCRIPTION):
        # RFC 8058 one-click unsubscribe: the mail provider POSTs "List-Unsubscribe=One-Click"
        # to this address (ordinances.views.alert_unsubscribe). Liaison notices carry none:
        # they are service mail about the liaison's own agency's request, sent because of
        # their role, not because they signed up.
        headers["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [notification.to], headers=headers)


def _nothing_to_send(notification: Notification) -> str:
    """Why a claimed row should not be sent after all, or "" to send it."""
    subscription = notification.subscription
    if notification.kind == Kind.ALERT and (subscription is None or not subscription.is_active):
        return "Not sent: the subscription was stopped before delivery."
    if notification.kind == Kind.CONFIRM_SUBSCRIPTION:
        if subscription is None or subscription.unsubscribed_at is not None:
            return "Not sent: the subscription was stopped before delivery."
        if subscription.confirmed_at is not None:
            return "Not sent: the subscription was already confirmed."
    return ""


def _close_quietly(connection: BaseEmailBackend) -> None:
    try:
        connection.close()
    except Exception:  # A broken connection is dropped either way; the next send opens a new one.
        logger.debug("Closing the mail connection failed", exc_info=True)


def _send_one(
    notification: Notification, connection: BaseEmailBackend, at: datetime.datetime, result: DeliveryResult
) -> None:
    mine = Notification.objects.filter(pk=notification.pk, status=Status.SENDING, claimed_at=at)
    if reason := _nothing_to_send(notification):
        mine.update(status=Status.CANCELLED, last_error=reason)
        result.dropped += 1
        return
    try:
        message = render(notification)
        message.connection = connection
        # Kept open across the rows of one pass; reopened after a failure closed it.
        connection.open()
        if connection.send_messages([message]) != 1:
            raise RuntimeError("The mail backend accepted no message.")
    except Exception as error:  # Any failure, the server's or ours, is recorded and retried.
        _close_quietly(connection)
        attempts = notification.attempts + 1
        failed = attempts >= MAX_ATTEMPTS
        mine.update(
            status=Status.FAILED if failed else Status.PENDING,
            attempts=attempts,
            next_attempt_at=at if failed else at + BACKOFF[attempts - 1],
            last_error=f"{type(error).__name__}: {error}"[:2000],
        )
        if failed:
            result.failed += 1
            logger.warning(
                "Gave up on notification %s after %s attempts: %s", notification.pk, attempts, error
            )
        else:
            result.retrying += 1
        return
    mine.update(status=Status.SENT, sent_at=at, attempts=F("attempts") + 1, last_error="")
    result.sent += 1


def deliver(
    *, now: datetime.datetime | None = None, limit: int = 100, connection: BaseEmailBackend | None = None
) -> DeliveryResult:
    """
    Send up to `limit` due notifications: pending ones whose time has come, and ones a
    worker claimed more than `LEASE` ago and never finished. Safe to run in several
    processes at once: each row is claimed before it is sent (`_claim`). `now` fixes the
    clock (tests); `connection` is a mail backend to use instead of settings.EMAIL_BACKEND's.
    Must run outside a transaction, so that each claim and each outcome is committed at once.
    """
    clock: Callable[[], datetime.datetime] = (lambda: now) if now is not None else timezone.now
    result = DeliveryResult()
    mail = connection or get_connection()
    related = (
        "subscription__request",
        "subscription__agency",
        "subscription__technology",
        "event__request__agency",
        "event__request__technology",
    )
    try:
        for pk in _due_ids(clock(), limit):
            at = clock()
            if not _claim(pk, at):
                result.taken_by_another += 1
                continue
            notification = Notification.objects.select_related(*related).get(pk=pk)
            _send_one(notification, mail, at, result)
    finally:
        if connection is None:
            _close_quietly(mail)
    return result
