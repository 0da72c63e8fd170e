"""The daily `expire_approvals` command ends approvals whose term is over, and only those."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from ordinances.models import Event, Request

pytestmark = pytest.mark.django_db


def run_command() -> str:
    out = StringIO()
    call_command("expire_approvals", stdout=out)
    return out.getvalue()


def backdate_expiry(request: Request, days_ago: int) -> None:
    # The decision row is not append-only; moving its date is how a term "passes" in a test.
    request.decision.expires_on = timezone.localdate() - datetime.timedelta(days=days_ago)
    request.decision.effective_on = request.decision.expires_on - datetime.timedelta(days=30)
    request.decision.save()


def test_it_expires_an_approval_past_its_term(make_request):
    request = make_request("approved")
    backdate_expiry(request, days_ago=1)
    output = run_command()
    request.refresh_from_db()
    assert request.status == Request.Status.EXPIRED
    assert f"{request.reference} expired" in output


def test_it_records_the_expiry_as_a_public_system_event(make_request):
    request = make_request("approved_with_conditions")
    backdate_expiry(request, days_ago=3)
    run_command()
    event = Event.objects.filter(request=request).last()
    assert (event.action, event.actor_name, event.is_public) == ("expire", "", True)


def test_it_leaves_an_approval_still_in_its_term_alone(make_request):
    request = make_request("approved")
    output = run_command()
    request.refresh_from_db()
    assert request.status == Request.Status.APPROVED
    assert "0 approval(s) expired." in output


def test_it_leaves_an_approval_expiring_today_alone(make_request):
    request = make_request("approved")
    backdate_expiry(request, days_ago=0)
    run_command()
    request.refresh_from_db()
    assert request.status == Request.Status.APPROVED
