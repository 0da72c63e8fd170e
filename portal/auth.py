"""
Signing in to the review workspace: lockout after failed passwords, session lifetimes, and
asking for the password again before a decision is recorded.

- django-axes counts failed sign-ins per (login name, address) and refuses that pair for a
  cool-off once it reaches the limit (settings AXES_*). `client_ip` gives it the client's
  address as the API's throttle reads it, and `lockout_response` the page a refused
  sign-in gets: in the site's frame, 429 with Retry-After, never a bare string or a 500.
- `SessionTimeoutMiddleware` ends a signed-in session after PORTAL_SESSION_IDLE_MINUTES
  without a request, or PORTAL_SESSION_MAX_HOURS after sign-in however busy. It looks only
  at requests that bring a session cookie, so an anonymous reader's page never opens a
  session, sets a cookie or varies by one (ordinances/page_cache.py relies on that).
- Entering the password, at sign-in or again on a decision's form (`confirm_password`),
  stamps the session; `password_is_recent` says whether that was within PORTAL_REAUTH_MINUTES.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth import authenticate, logout
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from rest_framework.throttling import BaseThrottle

# Seconds since the epoch, kept in the session.
SIGNED_IN_AT = "portal_signed_in_at"
SEEN_AT = "portal_seen_at"
PASSWORD_AT = "portal_password_at"
# The last-seen stamp is rewritten at most this often: every request of a busy session would
# otherwise be a session write, and the idle limit is counted in minutes.
SEEN_RESOLUTION = 60


def client_ip(request: HttpRequest) -> str | None:
    """
    The client's address: the connection's, or the one DJANGO_NUM_PROXIES proxies added.
    None without one (a sign-in made in code): PostgreSQL's inet column takes no "None".
    """
    remote = request.META.get("REMOTE_ADDR") or None
    forwarded = str(BaseThrottle().get_ident(request))
    try:
        # A forged X-Forwarded-For may hold anything; PostgreSQL would refuse it with a 500.
        return str(ipaddress.ip_address(forwarded))
    except ValueError:
        return remote


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """The page for a sign-in refused by the lockout, with how long until the next try."""
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else 0
    context = {"minutes": max(1, -(-seconds // 60)) if seconds else 0}
    response = HttpResponse(render_to_string("registration/locked_out.html", context, request), status=429)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response


def _now() -> int:
    return int(time.time())


def stamp_sign_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """On sign-in (`user_logged_in`): the session starts now, and the password was just entered."""
    if request is None or not hasattr(request, "session"):
        return
    now = _now()
    request.session[SIGNED_IN_AT] = now
    request.session[SEEN_AT] = now
    request.session[PASSWORD_AT] = now


def connect() -> None:
    user_logged_in.connect(stamp_sign_in, dispatch_uid="portal.auth.stamp_sign_in")


def session_expired(request: HttpRequest, now: int | None = None) -> bool:
    """Whether a signed-in session has been idle too long, or has lived too long in all."""
    now = _now() if now is None else now
    signed_in = request.session.get(SIGNED_IN_AT)
    seen = request.session.get(SEEN_AT)
    if not isinstance(signed_in, int) or not isinstance(seen, int):
        # A session from before these stamps: its age is unknown, so it is over.
        return True
    return (
        now - seen > settings.PORTAL_SESSION_IDLE_MINUTES * 60
        or now - signed_in > settings.PORTAL_SESSION_MAX_HOURS * 3600
    )


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # No session cookie, no session to end: and not touching `request.user` keeps an
        # anonymous reader's answer free of a session read and its Vary: Cookie.
        if settings.SESSION_COOKIE_NAME in request.COOKIES and request.user.is_authenticated:
            now = _now()
            if session_expired(request, now):
                logout(request)
            elif now - request.session[SEEN_AT] >= SEEN_RESOLUTION:
                # Saving the session also renews its cookie for SESSION_COOKIE_AGE (the idle limit).
                request.session[SEEN_AT] = now
        return self.get_response(request)


def password_is_recent(request: HttpRequest) -> bool:
    """Whether the signed-in person entered their password within PORTAL_REAUTH_MINUTES."""
    entered = request.session.get(PASSWORD_AT)
    return isinstance(entered, int) and _now() - entered <= settings.PORTAL_REAUTH_MINUTES * 60


def confirm_password(request: HttpRequest, password: str) -> bool:
    """
    Check the signed-in person's password again and, if right, stamp the session. Through
    `authenticate`, so a wrong one counts towards the lockout and is logged like any other.
    """
    user = request.user
    if not user.is_authenticated or not password:
        return False
    confirmed = authenticate(request, username=user.get_username(), password=password)
    if confirmed is None or confirmed.pk != user.pk:
        return False
    request.session[PASSWORD_AT] = _now()
    return True
