"""
Workspace polish: the admin's timeline in words, refusals as pages with their reason, and
"not yours" for a record of another agency (never "Perhaps it was deleted?").
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ordinances import dashboard, oversight, workflow
from ordinances.admin import NOT_SUBMITTED, NOT_YOURS
from ordinances.models import Condition, Event, Request
from portal.errors import permission_denied

pytestmark = pytest.mark.django_db

NOT_YOURS_REQUEST = NOT_YOURS.format(noun="request")


def change_url(obj: Request) -> str:
    return reverse("admin:ordinances_request_change", args=[obj.pk])


def timeline_of(page: str) -> str:
    return page.split('id="review-timeline"')[1].split('id="review-note"')[0]


# ---------------------------------------------------------------------------
# The timeline in words
# ---------------------------------------------------------------------------


@pytest.fixture
def decided(make_request, staff) -> Request:
    request = make_request("approved_with_conditions")
    condition = Condition.objects.get(decision__request=request)
    workflow.set_condition_status(condition, by=staff, status=Condition.Status.MET, note="Filed.")
    return request


def test_the_request_pages_timeline_shows_labels_not_codes(client, staff, decided):
    client.force_login(staff)

    timeline = timeline_of(client.get(change_url(decided)).content.decode())

    assert "Approved with conditions" in timeline
    assert "Hearing scheduled" in timeline
    assert "(Council staff)" in timeline
    assert "Condition “Publish an annual report” marked met." in timeline
    for code in ("approve_with_conditions", "hearing_scheduled", "public_comment", "(staff)", ">met<"):
        assert code not in timeline, code


def test_the_event_list_shows_actions_statuses_and_roles_in_words(client, staff, decided):
    client.force_login(staff)

    page = client.get(reverse("admin:ordinances_event_changelist")).content.decode()

    assert '<td class="field-role">Council staff</td>' in page
    assert '<td class="field-role">Agency liaison</td>' in page
    assert '<td class="field-action">Approved with conditions</td>' in page
    assert '<td class="field-to_status">Hearing scheduled</td>' in page
    cells = re.findall(r'<td class="field-(?:action|to_status|from_status|role)">([^<]*)</td>', page)
    assert cells
    assert not [cell for cell in cells if "_" in cell or cell in {"staff", "liaison", "system"}]


def test_the_event_lists_role_filter_offers_labels(client, staff, decided):
    client.force_login(staff)

    page = client.get(reverse("admin:ordinances_event_changelist")).content.decode()
    filtered = client.get(reverse("admin:ordinances_event_changelist") + "?actor_role=liaison")

    assert "The portal, on schedule" in page
    assert set(filtered.context["cl"].result_list) == set(decided.events.filter(actor_role="liaison"))


def test_an_events_page_shows_what_it_produced_in_words(client, staff, decided):
    event = decided.events.get(action=Event.Action.CONDITION)
    client.force_login(staff)

    page = client.get(reverse("admin:ordinances_event_change", args=[event.pk])).content.decode()

    assert "Condition updated" in page
    assert "Condition “Publish an annual report” marked met." in page
    assert "Council staff" in page
    assert '"new": "met"' not in page


# ---------------------------------------------------------------------------
# The queue: status, deadline and overdue at a glance
# ---------------------------------------------------------------------------

QUEUE = "admin:ordinances_request_changelist"


def overdue_column(client) -> dict[str, bool]:
    """The queue's Overdue column, by reference, as the page computes it."""
    response = client.get(reverse(QUEUE))
    assert response.status_code == 200
    request_admin = admin.site._registry[Request]
    return {row.reference: request_admin.is_overdue(row) for row in response.context["cl"].result_list}


def test_the_queue_shows_status_deadline_and_overdue_columns(client, staff, make_request):
    make_request("submitted")
    client.force_login(staff)

    page = client.get(reverse(QUEUE)).content.decode()

    for column in ("column-status", "column-deadline", "column-overdue", "column-submitted_on"):
        assert column in page, column


def test_the_queues_deadline_is_the_next_date_due(client, staff, make_request):
    today = timezone.localdate()
    in_comment = make_request("in_review")
    workflow.perform(
        "open_comment_period", in_comment, by=staff, now=timezone.now() - datetime.timedelta(days=20)
    )
    client.force_login(staff)

    page = client.get(reverse(QUEUE)).content.decode()

    ends = (today + datetime.timedelta(days=10)).isoformat()
    assert f'<td class="field-deadline"><time datetime="{ends}">{ends}</time></td>' in page


def test_a_request_with_an_overdue_condition_is_overdue_in_the_queue(client, staff, make_request):
    approved = make_request("approved_with_conditions")
    on_time = make_request("approved_with_conditions")
    condition = Condition.objects.get(decision__request=approved)
    workflow.set_condition_status(condition, by=staff, status=Condition.Status.OVERDUE, note="Not filed.")
    client.force_login(staff)

    overdue = overdue_column(client)
    page = client.get(reverse(QUEUE)).content.decode()

    assert overdue[approved.reference] is True
    assert overdue[on_time.reference] is False
    assert page.count('<td class="field-overdue"><span class="overdue-flag">Overdue</span></td>') == 1


def test_the_report_of_an_emergency_use_marked_overdue_is_overdue_in_the_queue(
    client, staff, liaison_a, agency_a, drone, ordinance, make_request
):
    used_on = timezone.localdate() - datetime.timedelta(days=20)
    oversight.record_emergency_use(liaison_a, agency_a, drone, ordinance, used_on, "A flood.")
    oversight.mark_emergency_reports_overdue()
    report = make_request("submitted", kind=Request.Kind.EMERGENCY_REPORT, emergency_used_on=used_on)
    client.force_login(staff)

    assert overdue_column(client)[report.reference] is True
    annotated = Request.objects.annotate(**dashboard.overdue_annotations(timezone.localdate())).get(
        pk=report.pk
    )
    assert annotated.has_overdue_emergency_use


def test_the_queue_runs_the_same_queries_for_2_and_6_approvals_with_conditions(client, staff, make_request):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse(QUEUE)).status_code == 200
        return len(captured.captured_queries)

    client.force_login(staff)
    for _ in range(2):
        make_request("approved_with_conditions")
    small = queries()
    for _ in range(4):
        make_request("approved_with_conditions")

    assert queries() == small


# ---------------------------------------------------------------------------
# Refusals: pages with the reason
# ---------------------------------------------------------------------------


def test_a_public_refusal_is_the_portals_page_with_the_reason(client, monkeypatch):
    def refused(*args, **kwargs):
        raise PermissionDenied("Only council staff can see this.")

    monkeypatch.setattr("ordinances.views.render", refused)

    response = client.get(reverse("ordinances:home"))

    page = response.content.decode()
    assert response.status_code == 403
    assert "You cannot open this page" in page
    assert "Only council staff can see this." in page
    assert "css/portal.css" in page  # the site's own style, base.html
    assert reverse("ordinances:home") in page
    assert f"{reverse('admin:login')}?next=/" in page
    assert "style=" not in page


def test_a_refusal_without_a_reason_says_so_plainly():
    request = RequestFactory().get("/requests/")
    request.user = AnonymousUser()

    page = permission_denied(request, PermissionDenied()).content.decode()

    assert "Your account is not allowed to see this page, or you need to sign in first." in page


def test_a_reason_is_escaped_and_one_not_written_for_people_is_not_shown():
    request = RequestFactory().get("/requests/")
    request.user = AnonymousUser()

    escaped = permission_denied(request, PermissionDenied("<b>No</b>")).content.decode()
    internal = permission_denied(request, PermissionDenied("Traceback\n  line 1")).content.decode()

    assert "&lt;b&gt;No&lt;/b&gt;" in escaped
    assert "Traceback" not in internal


def test_a_refusal_in_the_workspace_is_an_admin_page_with_the_reason(client, liaison_a):
    client.force_login(liaison_a)

    response = client.get(reverse("admin:ordinances_decision_changelist"))

    page = response.content.decode()
    assert response.status_code == 403
    assert "admin/css/base.css" in page
    assert "css/admin.css" in page
    assert "Surveillance Oversight Portal: review workspace" in page
    assert "Your account is not allowed to open this page." in page
    assert reverse("admin:index") in page
    assert "403 Forbidden" not in page


# ---------------------------------------------------------------------------
# Not yours, or not there
# ---------------------------------------------------------------------------


def test_another_agencys_request_answers_not_yours(client, liaison_b, make_request):
    request_a = make_request("submitted")
    client.force_login(liaison_b)

    response = client.get(change_url(request_a))

    page = response.content.decode()
    assert response.status_code == 403
    assert NOT_YOURS_REQUEST in page
    assert "not yours" in page
    assert "deleted" not in page
    assert request_a.title not in page


def test_another_agencys_draft_answers_not_yours_too(client, liaison_b, make_request):
    draft = make_request("draft")
    client.force_login(liaison_b)

    response = client.get(change_url(draft))

    assert response.status_code == 403
    assert NOT_YOURS_REQUEST in response.content.decode()


def test_staff_opening_a_draft_are_told_it_is_not_submitted_yet(client, staff, make_request):
    draft = make_request("draft")
    client.force_login(staff)

    response = client.get(change_url(draft))

    assert response.status_code == 403
    assert NOT_SUBMITTED in response.content.decode()


def test_a_request_that_does_not_exist_still_says_so(client, liaison_b):
    client.force_login(liaison_b)

    response = client.get(reverse("admin:ordinances_request_change", args=[987654]))

    assert response.status_code == 302
    assert "doesn’t exist" in " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_a_malformed_id_is_not_found_not_an_error(client, liaison_b):
    client.force_login(liaison_b)

    response = client.get("/admin/ordinances/request/not-a-number/change/")

    assert response.status_code == 302


def test_another_agencys_transition_and_history_pages_answer_not_yours(client, liaison_b, make_request):
    request_a = make_request("submitted")
    client.force_login(liaison_b)

    for url in (
        reverse("admin:ordinances_request_transition", args=[request_a.pk, "withdraw"]),
        reverse("admin:ordinances_request_history", args=[request_a.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert NOT_YOURS_REQUEST in response.content.decode()


def test_the_owner_still_opens_their_request(client, liaison_a, make_request):
    request_a = make_request("submitted")
    client.force_login(liaison_a)

    assert client.get(change_url(request_a)).status_code == 200
