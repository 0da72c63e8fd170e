"""
Signing in to the review workspace: the lockout after wrong passwords (django-axes), the
password rules for staff, the idle and total session limits, the password asked again
before a decision, and the public record naming people, never their logins.
"""

from __future__ import annotations

import datetime
import logging
import time

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone

from ordinances import roles, workflow
from ordinances.models import Decision, Event, Request
from portal import auth
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
ADMIN = reverse("admin:index")
WRONG = "not-the-password-at-all"


def sign_in(client, username: str, password: str, address: str = "203.0.113.5"):
    return client.post(
        LOGIN, {"username": username, "password": password, "next": ADMIN}, REMOTE_ADDR=address
    )


def fail_until_locked(client, username: str, address: str = "203.0.113.5") -> None:
    from django.conf import settings

    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, username, WRONG, address)


def is_signed_in(client) -> bool:
    return client.get(ADMIN).status_code == 200


# ---------------------------------------------------------------------------
# Lockout
# ---------------------------------------------------------------------------


def test_a_wrong_password_below_the_limit_shows_the_login_form_again(client, staff):
    response = sign_in(client, "staff", WRONG)

    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_after_the_limit_of_wrong_passwords_the_right_one_is_refused_with_the_lockout_page(client, staff):
    fail_until_locked(client, "staff")

    response = sign_in(client, "staff", PASSWORD)

    assert response.status_code == 429
    assert int(response["Retry-After"]) == 15 * 60
    page = response.content.decode()
    assert "Too many attempts to sign in" in page
    assert "Try again in 15 minutes" in page
    assert 'class="usa-header' in page  # the site's own frame, not a bare string
    assert not is_signed_in(client)


def test_after_the_cool_off_the_right_password_signs_in_again(client, staff, monkeypatch):
    fail_until_locked(client, "staff")
    later = timezone.now() + datetime.timedelta(minutes=16)
    monkeypatch.setattr("axes.handlers.proxy.now", lambda: later)

    response = sign_in(client, "staff", PASSWORD)

    assert response.status_code == 302
    assert is_signed_in(client)


def test_a_lockout_of_one_account_from_one_address_leaves_another_account_free(client, staff, clerk):
    fail_until_locked(client, "staff")

    response = sign_in(client, "clerk", PASSWORD)

    assert response.status_code == 302
    assert is_signed_in(client)


def test_a_lockout_of_an_account_from_one_address_leaves_it_free_from_another(client, staff):
    fail_until_locked(client, "staff", address="203.0.113.5")

    response = sign_in(client, "staff", PASSWORD, address="198.51.100.7")

    assert response.status_code == 302


def test_a_failed_sign_in_is_logged_as_a_warning_with_the_address_not_the_login(client, staff, caplog):
    with caplog.at_level(logging.WARNING, logger="axes"):
        sign_in(client, "staff", WRONG, address="203.0.113.5")

    failures = [r for r in caplog.records if r.name.startswith("axes") and r.levelno == logging.WARNING]
    assert failures, "no warning logged for a failed sign-in"
    message = failures[0].getMessage()
    assert "login failure" in message
    assert "203.0.113.5" in message
    assert '"staff"' not in message


def test_a_failed_sign_in_reaches_the_console_handler(client, staff, monkeypatch):
    console = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    assert console, "settings.LOGGING has no console handler on the root logger"
    emitted: list[logging.LogRecord] = []
    monkeypatch.setattr(console[0], "emit", emitted.append)

    sign_in(client, "staff", WRONG)

    assert any(r.name.startswith("axes") and r.levelno == logging.WARNING for r in emitted)


def test_behind_a_proxy_the_lockout_counts_the_clients_forwarded_address(client, staff, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            LOGIN,
            {"username": "staff", "password": WRONG},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="203.0.113.5",
        )

    # The same proxy, another client: not locked out.
    response = client.post(
        LOGIN,
        {"username": "staff", "password": PASSWORD, "next": ADMIN},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )

    assert response.status_code == 302


def test_a_forged_forwarded_address_that_is_no_address_counts_against_the_connections(
    client, staff, settings
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    response = client.post(
        LOGIN,
        {"username": "staff", "password": WRONG},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="<script>, ' OR 1=1",
    )

    assert response.status_code == 200
    assert AccessAttempt.objects.get().ip_address == "10.0.0.1"


# ---------------------------------------------------------------------------
# Password rules for staff
# ---------------------------------------------------------------------------

PASSWORD_CHANGE = reverse("admin:password_change")


@pytest.mark.parametrize(
    "new_password",
    ["Tr0ub4dor&3", "password1234", "123456789012"],
    ids=["eleven-characters", "common", "numeric"],
)
def test_the_admins_password_change_refuses_a_short_or_common_password(client, staff, new_password):
    client.force_login(staff)

    response = client.post(
        PASSWORD_CHANGE,
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]
    staff.refresh_from_db()
    assert staff.check_password(PASSWORD)


def test_the_admins_password_change_accepts_a_long_uncommon_password(client, staff):
    client.force_login(staff)
    new_password = "lantern-orchard-quietly-47"

    response = client.post(
        PASSWORD_CHANGE,
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )

    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.check_password(new_password)


# ---------------------------------------------------------------------------
# Session lifetimes
# ---------------------------------------------------------------------------


def at(monkeypatch, seconds_from_now: int) -> None:
    later = int(time.time()) + seconds_from_now
    monkeypatch.setattr(auth, "_now", lambda: later)


def test_a_session_used_within_the_idle_limit_stays_signed_in(client, staff, monkeypatch):
    client.force_login(staff)
    at(monkeypatch, 29 * 60)

    assert is_signed_in(client)


def test_a_session_idle_past_the_limit_is_signed_out(client, staff, monkeypatch):
    client.force_login(staff)
    at(monkeypatch, 31 * 60)

    response = client.get(ADMIN)

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_each_request_moves_the_idle_limit_on(client, staff, monkeypatch):
    client.force_login(staff)
    for minutes in (20, 40, 60):
        at(monkeypatch, minutes * 60)
        assert is_signed_in(client), f"signed out at {minutes} minutes despite a request every 20"


def test_a_busy_session_ends_after_its_total_lifetime(client, staff, monkeypatch):
    client.force_login(staff)
    for minutes in range(20, 12 * 60, 20):
        at(monkeypatch, minutes * 60)
        assert is_signed_in(client)
    at(monkeypatch, 12 * 3600 + 60)

    assert not is_signed_in(client)


def test_the_session_cookie_lives_as_long_as_the_idle_limit(client, staff):
    response = sign_in(client, "staff", PASSWORD)

    assert response.cookies["sessionid"]["max-age"] == 30 * 60


def test_a_request_without_a_session_cookie_is_passed_on_without_opening_the_session(rf):
    # No `session` and no `user` on the request: touching either would raise here, as it
    # would mark an anonymous reader's answer as varying by its (absent) session.
    request = rf.get("/")
    answered = HttpResponse("ok")

    response = auth.SessionTimeoutMiddleware(lambda _request: answered)(request)

    assert response is answered


def test_an_anonymous_reader_gets_no_session_cookie(client, ordinance):
    response = client.get(reverse("ordinances:home"))

    assert response.status_code == 200
    assert "sessionid" not in response.cookies


# ---------------------------------------------------------------------------
# The password again before a decision
# ---------------------------------------------------------------------------

APPROVAL = {
    "votes_yes": "9",
    "votes_no": "3",
    "votes_abstain": "0",
    "votes_absent": "1",
    "effective_on": "",
    "expires_on": "",
    "summary": "Approved for one year.",
}


def approve_url(obj: Request) -> str:
    return reverse("admin:ordinances_request_transition", args=[obj.pk, "approve"])


def password_entered_minutes_ago(client, minutes: int) -> None:
    session = client.session
    session[auth.PASSWORD_AT] = int(time.time()) - minutes * 60
    session.save()


def test_a_decision_soon_after_signing_in_is_recorded_without_asking_again(client, staff, make_request):
    hearing = make_request("hearing_scheduled")
    client.force_login(staff)

    response = client.post(approve_url(hearing), APPROVAL)

    assert response.status_code == 302
    hearing.refresh_from_db()
    assert hearing.status == Request.Status.APPROVED


def test_the_decision_form_asks_for_the_password_when_it_was_entered_long_ago(client, staff, make_request):
    hearing = make_request("hearing_scheduled")
    client.force_login(staff)
    password_entered_minutes_ago(client, 16)

    response = client.get(approve_url(hearing))

    assert 'name="password"' in response.content.decode()


def test_a_decision_without_recent_authentication_is_refused_and_nothing_changes(client, staff, make_request):
    hearing = make_request("hearing_scheduled")
    events = Event.objects.count()
    client.force_login(staff)
    password_entered_minutes_ago(client, 16)

    response = client.post(approve_url(hearing), APPROVAL)

    assert response.status_code == 200
    assert response.context["form"].errors["password"] == ["Enter your password to record this decision."]
    hearing.refresh_from_db()
    assert hearing.status == Request.Status.HEARING_SCHEDULED
    assert not Decision.objects.filter(request=hearing).exists()
    assert Event.objects.count() == events


def test_a_decision_with_a_wrong_password_is_refused_and_nothing_changes(client, staff, make_request):
    hearing = make_request("hearing_scheduled")
    client.force_login(staff)
    password_entered_minutes_ago(client, 16)

    response = client.post(approve_url(hearing), {**APPROVAL, "password": WRONG})

    assert response.context["form"].errors["password"] == ["That is not your password."]
    hearing.refresh_from_db()
    assert hearing.status == Request.Status.HEARING_SCHEDULED
    assert not Decision.objects.filter(request=hearing).exists()


def test_a_decision_with_the_password_entered_again_is_recorded(client, staff, make_request):
    hearing = make_request("hearing_scheduled")
    client.force_login(staff)
    password_entered_minutes_ago(client, 16)

    response = client.post(approve_url(hearing), {**APPROVAL, "password": PASSWORD})

    assert response.status_code == 302
    hearing.refresh_from_db()
    assert hearing.status == Request.Status.APPROVED
    assert Decision.objects.filter(request=hearing).exists()
    assert auth.password_is_recent(response.wsgi_request)


def test_a_step_that_is_no_decision_never_asks_for_the_password(client, staff, make_request):
    submitted = make_request("submitted")
    client.force_login(staff)
    password_entered_minutes_ago(client, 60)

    response = client.post(
        reverse("admin:ordinances_request_transition", args=[submitted.pk, "begin_review"]), {}
    )

    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == Request.Status.IN_REVIEW


# ---------------------------------------------------------------------------
# The public record names people, never their logins
# ---------------------------------------------------------------------------


@pytest.fixture
def jane(db) -> User:
    return make_user("jsmith-admin", roles.STAFF, first_name="Jane", last_name="Smith")


def public_views_of(client, obj: Request) -> dict[str, str]:
    return {
        "page": client.get(reverse("ordinances:request_detail", args=[obj.reference])).content.decode(),
        "feed": client.get(reverse("ordinances:request_events_feed", args=[obj.reference])).content.decode(),
        "api": client.get(
            reverse("api:request-timeline", kwargs={"reference": obj.reference})
        ).content.decode(),
    }


def test_a_transition_by_a_named_staff_member_shows_their_name_never_their_login(client, jane, make_request):
    submitted = make_request("submitted")
    workflow.perform("begin_review", submitted, by=jane)
    workflow.perform("open_comment_period", submitted, by=jane)

    views = public_views_of(client, submitted)

    assert "Jane Smith" in views["page"]
    assert "Jane Smith" in views["api"]
    assert "Council staff" in views["feed"]  # a feed names the role only
    for name, body in views.items():
        assert "jsmith-admin" not in body, f"the login name is on the public {name}"


def test_a_transition_by_a_staff_member_without_a_name_shows_the_role(client, make_request):
    nameless = make_user("jsmith-admin", roles.STAFF)
    submitted = make_request("submitted")
    workflow.perform("begin_review", submitted, by=nameless)
    workflow.perform("open_comment_period", submitted, by=nameless)

    views = public_views_of(client, submitted)

    assert "by Council staff" in views["page"]
    for name, body in views.items():
        assert "jsmith-admin" not in body, f"the login name is on the public {name}"
