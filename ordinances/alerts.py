"""
Email alerts with no account: the one home of their rules.

Anyone may follow one public request, an agency, a technology, every decision, or a saved
search of the request list. `subscribe` writes an unconfirmed Subscription and, in the same
transaction, the confirmation email as a row of the outbox (`ordinances.outbox` sends it);
nothing is sent about the topic until the link in that email is followed and its button
pressed (`confirm`: double opt-in). `unsubscribe` ends a subscription, from its page or
from a mail provider's one-click POST (RFC 8058); it may be called any number of times.

Nothing here tells whether an address is subscribed: subscribing again to the same thing
reuses the row and at most re-sends the confirmation, once an hour; the page answers the
same in every case.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Model
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext

from ordinances.filters import RequestFilter
from ordinances.models import Agency, Notification, Request, Subscription, Technology
from ordinances.workflow import TransitionRefused

Topic = Subscription.Topic

# A confirmation is sent again for the same subscription at most this often.
RESEND_CONFIRMATION_AFTER = datetime.timedelta(hours=1)
QUERY_MAX = 500
# What a saved search may keep of a list's address: its filters, not its page.
SEARCH_PARAMETERS = tuple(RequestFilter.base_filters)

# Messages, kept here so tests can assert on them.
UNSUBSCRIBED = "This alert was stopped. Subscribe again from the page you want to follow."


def _target_errors(
    topic: str,
    request: Request | None,
    agency: Agency | None,
    technology: Technology | None,
    query: str,
) -> dict[str, str]:
    """What is wrong with what a subscription follows: exactly the record its topic names."""
    errors: dict[str, str] = {}
    wanted: dict[str, str | None] = {
        Topic.REQUEST: "request",
        Topic.AGENCY: "agency",
        Topic.TECHNOLOGY: "technology",
        Topic.SEARCH: "query",
        Topic.DECISIONS: None,
    }
    if topic not in wanted:
        return {"topic": f"Unknown topic {topic!r}."}
    given = {"request": request, "agency": agency, "technology": technology, "query": query}
    for name, value in given.items():
        if name == wanted[topic] and not value:
            errors[name] = gettext("Choose what to follow.")
        elif name != wanted[topic] and value:
            errors[name] = f"A {topic} alert does not follow a {name}."
    if topic == Topic.REQUEST and request is not None and not request.is_public:
        errors["request"] = gettext("This request is not public, so it cannot be followed.")
    if topic == Topic.SEARCH and query:
        errors.update(search_errors(query))
    return errors


def normalise_query(data: QueryDict | str) -> str:
    """
    A request list's address as a saved search: its filters only (no page), empty ones
    dropped, in the filter's own order, so one search has one spelling.
    """
    params = QueryDict(data) if isinstance(data, str) else data
    kept = [
        (name, value.strip()) for name in SEARCH_PARAMETERS for value in params.getlist(name) if value.strip()
    ]
    return urlencode(kept)


def search_errors(query: str) -> dict[str, str]:
    """Why `query` is not a saved search of the request list, keyed "query"; empty when it is."""
    if len(query) > QUERY_MAX:
        return {"query": gettext("This search is too long to save.")}
    if not query or normalise_query(query) != query:
        return {"query": gettext("Choose at least one filter of the request list to follow.")}
    filterset = RequestFilter(QueryDict(query), queryset=Request.objects.none())
    if not filterset.is_valid():
        return {"query": gettext("These filters could not be applied.")}
    return {}


def search_terms(query: str) -> list[tuple[str, str]]:
    """A saved search in words: each filter's label and the value chosen, in the reader's language."""
    filterset = RequestFilter(QueryDict(query), queryset=Request.objects.none())
    if not filterset.is_valid():
        return []
    terms = []
    for name, field in filterset.form.fields.items():
        value = filterset.form.cleaned_data.get(name)
        if value in (None, ""):
            continue
        if isinstance(value, Model):
            shown = str(value)
        else:
            shown = str(dict(getattr(field, "choices", ())).get(value, value))
        terms.append((str(field.label), shown))
    return terms


def address_key(email: str) -> str:
    """A keyed hash of an email address, for rate limits that must not store the address."""
    return hmac.new(
        settings.SECRET_KEY.encode(), f"alert-address:{email.strip().lower()}".encode(), hashlib.sha256
    ).hexdigest()


def _same_subscription(
    email: str,
    topic: str,
    request: Request | None,
    agency: Agency | None,
    technology: Technology | None,
    query: str,
) -> Subscription | None:
    """The live (not unsubscribed) subscription of this address to this very thing, locked."""
    return (
        Subscription.objects.select_for_update()
        .filter(
            email__iexact=email,
            topic=topic,
            request=request,
            agency=agency,
            technology=technology,
            query=query,
            unsubscribed_at__isnull=True,
        )
        .order_by("created_at", "pk")
        .first()
    )


def _send_confirmation(subscription: Subscription, now: datetime.datetime) -> Notification:
    sent = subscription.notifications.filter(kind=Notification.Kind.CONFIRM_SUBSCRIPTION).count()
    return Notification.objects.create(
        kind=Notification.Kind.CONFIRM_SUBSCRIPTION,
        to=subscription.email,
        language=subscription.language,
        subscription=subscription,
        key=f"subscription:{subscription.pk}:confirm:{sent + 1}",
        next_attempt_at=now,
        created_at=now,
    )


def subscribe(
    email: str,
    topic: str,
    *,
    request: Request | None = None,
    agency: Agency | None = None,
    technology: Technology | None = None,
    query: str = "",
    language: str,
    now: datetime.datetime | None = None,
) -> Subscription:
    """
    Ask for alerts on `topic` at `email`: an unconfirmed subscription and its confirmation
    email, written together. Subscribing again to the same thing reuses the live row (in the
    language asked last) and sends the confirmation again only while it is unconfirmed and
    the last one is more than `RESEND_CONFIRMATION_AFTER` old. `ValidationError` keyed by
    field (email, topic, request, agency, technology, query, language); writes nothing then.
    """
    now = now or timezone.now()
    email = email.strip()
    errors: dict[str, str] = {}
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = gettext("Enter an email address such as name@example.org.")
    if len(email) > 254:
        errors["email"] = gettext("Enter an email address such as name@example.org.")
    if language not in dict(settings.LANGUAGES):
        errors["language"] = f"Unknown language {language!r}."
    errors.update(_target_errors(topic, request, agency, technology, query))
    if errors:
        raise ValidationError(errors)
    # The domain is case-insensitive; the local part is kept as typed.
    local, _, domain = email.rpartition("@")
    email = f"{local}@{domain.lower()}"
    with transaction.atomic():
        existing = _same_subscription(email, topic, request, agency, technology, query)
        if existing is None:
            subscription = Subscription.objects.create(
                email=email,
                topic=topic,
                request=request,
                agency=agency,
                technology=technology,
                query=query,
                token=secrets.token_urlsafe(32),
                language=language,
                created_at=now,
            )
            _send_confirmation(subscription, now)
            return subscription
        if existing.language != language:
            existing.language = language
            existing.save(update_fields=["language"])
        if existing.confirmed_at is None:
            last = (
                existing.notifications.filter(kind=Notification.Kind.CONFIRM_SUBSCRIPTION)
                .order_by("-created_at")
                .values_list("created_at", flat=True)
                .first()
            )
            if last is None or now - last >= RESEND_CONFIRMATION_AFTER:
                _send_confirmation(existing, now)
        return existing


def by_token(token: str) -> Subscription | None:
    """The subscription a link's token names, or None (an unknown or mistyped link)."""
    if not token or len(token) > 64:
        return None
    return Subscription.objects.select_related("request", "agency", "technology").filter(token=token).first()


def _locked_by_token(token: str) -> Subscription:
    subscription = Subscription.objects.select_for_update().filter(token=token).first() if token else None
    if subscription is None:
        raise Subscription.DoesNotExist(f"No subscription has the token {token[:8]}….")
    return subscription


def confirm(token: str, *, now: datetime.datetime | None = None) -> Subscription:
    """
    The owner of the address confirms: alerts start. Confirming twice changes nothing; a
    stopped subscription is not started again by its old link (`TransitionRefused`).
    `Subscription.DoesNotExist` for an unknown token.
    """
    now = now or timezone.now()
    with transaction.atomic():
        subscription = _locked_by_token(token)
        if subscription.unsubscribed_at is not None:
            raise TransitionRefused(UNSUBSCRIBED)
        if subscription.confirmed_at is None:
            subscription.confirmed_at = now
            subscription.save(update_fields=["confirmed_at"])
    return subscription


def unsubscribe(token: str, *, now: datetime.datetime | None = None) -> Subscription:
    """
    Stop a subscription, confirmed or not. Idempotent: the first time counts, later calls
    change nothing. Alerts already in the outbox for it are not sent (`outbox.deliver`
    checks). `Subscription.DoesNotExist` for an unknown token.
    """
    now = now or timezone.now()
    with transaction.atomic():
        subscription = _locked_by_token(token)
        if subscription.unsubscribed_at is None:
            subscription.unsubscribed_at = now
            subscription.save(update_fields=["unsubscribed_at"])
    return subscription
