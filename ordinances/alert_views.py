"""
The pages of the email alerts (`ordinances.alerts`): the "Get email alerts" form, the "check
your inbox" answer, and the confirm and unsubscribe pages the emails link to.

A link in an email is only ever read with GET, which changes nothing: mail scanners fetch
links before people do. Confirming and unsubscribing are POSTs from a button on the page,
and unsubscribing is also the POST a mail provider sends for RFC 8058's one-click
unsubscribe (`List-Unsubscribe-Post: List-Unsubscribe=One-Click`). That POST carries no CSRF
token, so that view alone is exempt from the CSRF check; it can do nothing but stop the one
subscription whose secret token is in its address.
"""

from __future__ import annotations

import contextlib

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe
from rest_framework.throttling import BaseThrottle

from ordinances import alerts
from ordinances.alert_forms import AlertForm, resolve
from ordinances.models import Subscription
from ordinances.workflow import TransitionRefused

# Sign-ups one network address may make in RATE_WINDOW before it is answered 429, and
# confirmation emails one email address may be sent; past that, the form answers as usual
# and sends nothing, so the limit tells nobody whether an address is known.
RATE_PER_CLIENT = 10
RATE_PER_ADDRESS = 5
RATE_WINDOW = 60 * 60


def _within_rate(key: str, limit: int) -> bool:
    """Count one more use of `key` in the shared cache; False once it passes `limit` this window."""
    cache.add(key, 0, timeout=RATE_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:  # Expired between add and incr.
        cache.set(key, 1, timeout=RATE_WINDOW)
        count = 1
    return count <= limit


def _client_key(request: HttpRequest) -> str:
    # The client's address as the API's rate limit finds it (DJANGO_NUM_PROXIES), hashed.
    return "alerts:client:" + alerts.address_key(BaseThrottle().get_ident(request))


def _topic_context(subscription: Subscription) -> dict[str, object]:
    terms = alerts.search_terms(subscription.query) if subscription.query else []
    return {
        "subscription": subscription,
        "search_summary": "; ".join(f"{label}: {value}" for label, value in terms),
    }


def _subscribe_page(
    request: HttpRequest, form: AlertForm, *, status: int = 200, limited: bool = False
) -> HttpResponse:
    topic, target = str(form["topic"].value() or ""), str(form["target"].value() or "")
    follows = resolve(topic, target) or {}
    context = {
        **_topic_context(Subscription(topic=topic, **follows)),
        "alert_form": form,
        "topic": topic,
        "target": target,
        "limited": limited,
    }
    return render(request, "alerts/subscribe.html", context, status=status)


# Without a CSRF token, so the public pages that carry this form are the same for every
# reader and may be cached (ordinances/page_cache.py). A forged post can do no more than the
# forger could do directly: ask for a confirmation email, which starts nothing until the
# address's owner confirms, under the same rate limits; it touches no session or account.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def alert_subscribe(request: HttpRequest) -> HttpResponse:
    """The form alone (GET ?topic=&target=), and where every "Get email alerts" form posts."""
    if request.method != "POST":
        topic, target = request.GET.get("topic", ""), request.GET.get("target", "")
        if resolve(topic, target) is None:
            raise Http404("Nothing to follow there.")
        return _subscribe_page(request, AlertForm(initial={"topic": topic, "target": target}))
    form = AlertForm(request.POST)
    if form.is_robot:
        return redirect("ordinances:alert_sent")
    if not form.is_valid():
        return _subscribe_page(request, form, status=400)
    if not _within_rate(_client_key(request), RATE_PER_CLIENT):
        return _subscribe_page(request, form, status=429, limited=True)
    email = form.cleaned_data["email"]
    if not _within_rate("alerts:address:" + alerts.address_key(email), RATE_PER_ADDRESS):
        return redirect("ordinances:alert_sent")
    try:
        alerts.subscribe(
            email, form.cleaned_data["topic"], language=get_language(), **form.cleaned_data["follows"]
        )
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            form.add_error("email" if field == "email" else None, messages)
        return _subscribe_page(request, form, status=400)
    return redirect("ordinances:alert_sent")


@require_safe
def alert_sent(request: HttpRequest) -> HttpResponse:
    """The same answer whether or not the address was known, confirmed or new."""
    return render(request, "alerts/sent.html")


def _subscription_or_404(token: str) -> Subscription:
    subscription = alerts.by_token(token)
    if subscription is None:
        raise Http404("This link is not valid.")
    return subscription


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def alert_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button; only its POST starts the alerts."""
    subscription = _subscription_or_404(token)
    if request.method == "POST":
        # A stopped alert is not started again by its old link; the page says it was stopped.
        with contextlib.suppress(TransitionRefused):
            alerts.confirm(token)
        return redirect("ordinances:alert_confirm", token=token)
    return render(request, "alerts/confirm.html", _topic_context(subscription))


@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def alert_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """
    GET shows a button; a POST, from that button or a mail provider's one-click
    unsubscribe, stops the subscription and answers 200. Any number of times.
    """
    subscription = _subscription_or_404(token)
    if request.method == "POST":
        subscription.unsubscribed_at = alerts.unsubscribe(token).unsubscribed_at
    return render(request, "alerts/unsubscribe.html", _topic_context(subscription))
