"""
The review workspace in the Django admin: who sees which requests, how the agency's form
and the transition pages go through the workflow, and what stays read-only.
"""

from __future__ import annotations

import datetime
import io

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from ordinances import workflow
from ordinances.models import Condition, Event, Request

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:ordinances_request_changelist"


def change_url(obj: Request) -> str:
    return reverse("admin:ordinances_request_change", args=[obj.pk])


def transition_url(obj: Request, name: str) -> str:
    return reverse("admin:ordinances_request_transition", args=[obj.pk, name])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def agency_form_data(obj: Request | None = None, **overrides) -> dict[str, str]:
    """What the agency's request form posts, taken from `obj` when given."""
    data = {
        "kind": obj.kind if obj else Request.Kind.APPROVAL,
        "agency": str(obj.agency_id) if obj else "",
        "technology": str(obj.technology_id) if obj else "",
        "ordinance": str(obj.ordinance_id) if obj else "",
        "exception": "",
        "renews": "",
        "title": obj.title if obj else "",
        "purpose": obj.purpose if obj else "",
        "justification": "",
        "alternatives_considered": "",
        "data_collected": "",
        "retention": "",
        "sharing": "",
        "requested_term_days": "",
        "emergency_used_on": "",
        "language": obj.language if obj else "en",
    }
    if obj is not None:
        # The attachments inline on the change form.
        data.update(
            {
                "attachments-TOTAL_FORMS": "0",
                "attachments-INITIAL_FORMS": "0",
                "attachments-MIN_NUM_FORMS": "0",
                "attachments-MAX_NUM_FORMS": "1000",
            }
        )
    data.update({key: str(value) for key, value in overrides.items()})
    return data


def conditions_management(total: int = 5) -> dict[str, str]:
    return {
        "conditions-TOTAL_FORMS": str(total),
        "conditions-INITIAL_FORMS": "0",
        "conditions-MIN_NUM_FORMS": "0",
        "conditions-MAX_NUM_FORMS": "20",
    }


# ---------------------------------------------------------------------------
# The queue: who sees what
# ---------------------------------------------------------------------------


def test_staff_sees_the_queue_without_drafts(client, staff, make_request):
    submitted = make_request("submitted", title="Submitted drone request")
    draft = make_request("draft", title="Unsubmitted draft")
    client.force_login(staff)

    response = client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    shown = set(response.context["cl"].result_list)
    assert submitted in shown
    assert draft not in shown


def test_staff_cannot_open_a_draft_change_page(client, staff, make_request):
    draft = make_request("draft")
    client.force_login(staff)

    response = client.get(change_url(draft))

    # Refused as not yet theirs (tests/test_admin_polish.py), not "perhaps it was deleted".
    assert response.status_code == 403


def test_liaison_sees_only_their_own_agency_requests_including_drafts(
    client, liaison_a, liaison_b, agency_b, make_request
):
    draft_a = make_request("draft", title="A's draft")
    submitted_a = make_request("submitted", title="A's submitted request")
    submitted_b = make_request("submitted", agency=agency_b, liaison=liaison_b, title="B's submitted request")
    client.force_login(liaison_a)

    response = client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    shown = set(response.context["cl"].result_list)
    assert shown == {draft_a, submitted_a}
    assert submitted_b not in shown


def test_liaison_of_another_agency_cannot_open_a_request_change_page(client, liaison_b, make_request):
    request_a = make_request("submitted")
    client.force_login(liaison_b)

    response = client.get(change_url(request_a))

    assert response.status_code == 403
    assert b"Drone for search and rescue" not in response.content


def test_liaison_of_another_agency_cannot_open_a_transition_page(client, liaison_b, make_request):
    request_a = make_request("submitted")
    client.force_login(liaison_b)

    response = client.get(transition_url(request_a, "withdraw"))

    assert response.status_code == 403
    assert b"Drone for search and rescue" not in response.content


# ---------------------------------------------------------------------------
# The agency's form goes through create_draft and update_draft
# ---------------------------------------------------------------------------


def test_liaison_adds_a_draft_through_the_admin_add_form(client, liaison_a, agency_a, drone, ordinance):
    client.force_login(liaison_a)
    data = agency_form_data(
        agency=agency_a.pk,
        technology=drone.pk,
        ordinance=ordinance.pk,
        title="Drone for bridge inspections",
        purpose="Inspect the undersides of bridges.",
    )

    response = client.post(reverse("admin:ordinances_request_add"), data)

    assert response.status_code == 302
    created = Request.objects.get(title="Drone for bridge inspections")
    assert created.reference.startswith(f"REQ-{timezone.now().year}-")
    assert created.status == Request.Status.DRAFT
    assert created.created_by == liaison_a
    event = created.events.get()
    assert event.action == "create"
    assert not event.is_public


def test_add_form_offers_only_the_liaisons_own_agencies(client, liaison_a, agency_a, agency_b):
    client.force_login(liaison_a)

    response = client.get(reverse("admin:ordinances_request_add"))

    assert response.status_code == 200
    choices = list(response.context["adminform"].form.fields["agency"].queryset)
    assert choices == [agency_a]


def test_liaison_cannot_add_a_request_for_another_agency(client, liaison_a, agency_b, drone, ordinance):
    client.force_login(liaison_a)
    data = agency_form_data(
        agency=agency_b.pk, technology=drone.pk, ordinance=ordinance.pk, title="Sneaky", purpose="Not ours."
    )

    response = client.post(reverse("admin:ordinances_request_add"), data)

    assert response.status_code == 200
    assert "agency" in response.context["adminform"].form.errors
    assert not Request.objects.filter(title="Sneaky").exists()


def test_staff_cannot_add_requests(client, staff):
    client.force_login(staff)

    response = client.get(reverse("admin:ordinances_request_add"))

    assert response.status_code == 403


def test_liaison_edits_a_draft_through_update_draft(client, liaison_a, make_request):
    draft = make_request("draft")
    client.force_login(liaison_a)

    response = client.post(change_url(draft), agency_form_data(draft, title="A clearer title"))

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.title == "A clearer title"
    assert draft.events.filter(action="edit").count() == 1


def test_status_is_not_editable_in_the_change_form(client, liaison_a, make_request):
    draft = make_request("draft")
    client.force_login(liaison_a)

    response = client.post(
        change_url(draft),
        agency_form_data(draft, status="approved", reference="REQ-1999-9999", title="Edited title"),
    )

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Request.Status.DRAFT
    assert draft.reference != "REQ-1999-9999"
    assert draft.title == "Edited title"
    assert not Event.objects.filter(request=draft, to_status="approved").exists()


def test_a_submitted_request_is_read_only_for_its_liaison(client, liaison_a, make_request):
    submitted = make_request("submitted")
    client.force_login(liaison_a)

    page = client.get(change_url(submitted))
    post = client.post(change_url(submitted), agency_form_data(submitted, title="Changed after submitting"))

    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert post.status_code == 403
    submitted.refresh_from_db()
    assert submitted.title == "Drone for search and rescue"


def test_a_workflow_refusal_on_save_is_shown_on_the_form_not_a_500(
    client, liaison_a, make_request, monkeypatch
):
    draft = make_request("draft")
    client.force_login(liaison_a)

    def refuse(*args, **kwargs):
        raise workflow.TransitionRefused("Someone submitted this request a moment ago.")

    monkeypatch.setattr(workflow, "update_draft", refuse)
    response = client.post(change_url(draft), agency_form_data(draft, title="Too late"))

    assert response.status_code == 200
    assert (
        "Someone submitted this request a moment ago."
        in response.context["adminform"].form.non_field_errors()
    )
    draft.refresh_from_db()
    assert draft.title == "Drone for search and rescue"


def test_a_workflow_validation_error_on_save_lands_on_its_field(client, liaison_a, make_request, monkeypatch):
    draft = make_request("draft")
    client.force_login(liaison_a)

    def invalid(*args, **kwargs):
        raise workflow.ValidationError({"purpose": "Say what the technology is for."})

    monkeypatch.setattr(workflow, "update_draft", invalid)
    response = client.post(change_url(draft), agency_form_data(draft, title="Whatever"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["purpose"] == ["Say what the technology is for."]


# ---------------------------------------------------------------------------
# The change page
# ---------------------------------------------------------------------------


def test_change_page_links_to_the_transitions_the_user_can_make(client, staff, make_request):
    in_review = make_request("in_review")
    client.force_login(staff)

    response = client.get(change_url(in_review))

    assert response.status_code == 200
    names = [t["name"] for t in response.context["transitions"]]
    assert names == ["return_to_agency", "open_comment_period"]
    assert transition_url(in_review, "open_comment_period").encode() in response.content


def test_change_page_shows_the_timeline_with_internal_events_marked(client, staff, make_request):
    in_review = make_request("in_review")
    workflow.add_note(in_review, by=staff, note="Call the vendor about retention.")
    client.force_login(staff)

    response = client.get(change_url(in_review))

    actions = [event.action for event in response.context["timeline"]]
    assert actions == ["create", "submit", "begin_review", "note"]
    content = response.content.decode()
    assert "Call the vendor about retention." in content
    assert 'class="event-internal"' in content
    assert "internal</span>" in content


def test_liaison_does_not_see_staff_internal_notes(client, staff, liaison_a, make_request):
    in_review = make_request("in_review")
    workflow.add_note(in_review, by=staff, note="Internal: agency seems evasive.")
    client.force_login(liaison_a)

    response = client.get(change_url(in_review))

    assert response.status_code == 200
    assert b"agency seems evasive" not in response.content


def test_change_page_shows_the_decision_with_votes_and_conditions(client, staff, make_request):
    approved = make_request("approved_with_conditions")
    client.force_login(staff)

    response = client.get(change_url(approved))

    content = response.content.decode()
    assert "Approved with conditions" in content
    assert "9-3" in content
    assert "Publish an annual report" in content


def test_staff_adds_an_internal_note_from_the_change_page(client, staff, make_request):
    submitted = make_request("submitted")
    client.force_login(staff)

    response = client.post(
        reverse("admin:ordinances_request_note", args=[submitted.pk]), {"note": "Asked IT for the contract."}
    )

    assert response.status_code == 302
    note = submitted.events.get(action="note")
    assert note.note == "Asked IT for the contract."
    assert not note.is_public


def test_staff_can_make_a_note_public(client, staff, make_request):
    submitted = make_request("submitted")
    client.force_login(staff)

    client.post(
        reverse("admin:ordinances_request_note", args=[submitted.pk]),
        {"note": "Hearing materials posted.", "public": "on"},
    )

    assert submitted.events.get(action="note").is_public


def test_liaison_cannot_add_a_note(client, liaison_a, make_request):
    submitted = make_request("submitted")
    client.force_login(liaison_a)

    response = client.post(reverse("admin:ordinances_request_note", args=[submitted.pk]), {"note": "Hello."})

    assert response.status_code == 302
    assert not submitted.events.filter(action="note").exists()
    assert any("not allowed" in m for m in messages_of(response))


# ---------------------------------------------------------------------------
# Transition pages
# ---------------------------------------------------------------------------


def test_staff_opens_the_begin_review_transition_page(client, staff, make_request):
    submitted = make_request("submitted")
    client.force_login(staff)

    response = client.get(transition_url(submitted, "begin_review"))

    assert response.status_code == 200
    assert list(response.context["form"].fields) == ["note"]
    assert b"Begin review" in response.content


def test_staff_posting_begin_review_moves_the_request_in_review_with_an_event(client, staff, make_request):
    submitted = make_request("submitted")
    client.force_login(staff)

    response = client.post(transition_url(submitted, "begin_review"), {"note": "Complete on first read."})

    assert response.status_code == 302
    assert response["Location"] == change_url(submitted)
    submitted.refresh_from_db()
    assert submitted.status == Request.Status.IN_REVIEW
    event = submitted.events.get(action="begin_review")
    assert event.actor == staff
    assert event.note == "Complete on first read."
    assert any("in review" in m for m in messages_of(response))


def test_missing_reason_rerenders_with_a_field_error_and_changes_nothing(client, staff, make_request):
    in_review = make_request("in_review")
    events_before = in_review.events.count()
    client.force_login(staff)

    response = client.post(transition_url(in_review, "return_to_agency"), {"reason": "  "})

    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == [workflow.REASON_REQUIRED]
    in_review.refresh_from_db()
    assert in_review.status == Request.Status.IN_REVIEW
    assert in_review.events.count() == events_before


def test_staff_returns_a_request_to_the_agency_with_a_reason(client, staff, make_request):
    in_review = make_request("in_review")
    client.force_login(staff)

    client.post(transition_url(in_review, "return_to_agency"), {"reason": "Attach the use policy."})

    in_review.refresh_from_db()
    assert in_review.status == Request.Status.RETURNED
    assert in_review.events.get(action="return_to_agency").note == "Attach the use policy."


def test_comment_period_end_is_prefilled_from_the_ordinance(client, staff, make_request):
    in_review = make_request("in_review")
    client.force_login(staff)

    response = client.get(transition_url(in_review, "open_comment_period"))

    field = response.context["form"].fields["comment_period_ends_on"]
    assert field.initial == timezone.localdate() + datetime.timedelta(days=30)


def test_a_too_short_comment_period_is_a_field_error(client, staff, make_request):
    in_review = make_request("in_review")
    client.force_login(staff)

    response = client.post(
        transition_url(in_review, "open_comment_period"),
        {"comment_period_ends_on": (timezone.localdate() + datetime.timedelta(days=3)).isoformat()},
    )

    assert response.status_code == 200
    assert "comment_period_ends_on" in response.context["form"].errors
    in_review.refresh_from_db()
    assert in_review.status == Request.Status.IN_REVIEW


def test_staff_schedules_the_hearing(client, staff, make_request):
    in_comment = make_request("public_comment")
    client.force_login(staff)
    day = timezone.localdate() + datetime.timedelta(days=60)

    response = client.post(
        transition_url(in_comment, "schedule_hearing"),
        {"hearing_at_0": day.isoformat(), "hearing_at_1": "18:30", "hearing_address": "350 South 5th Street"},
    )

    assert response.status_code == 302
    in_comment.refresh_from_db()
    assert in_comment.status == Request.Status.HEARING_SCHEDULED
    assert timezone.localtime(in_comment.hearing_at).date() == day


def test_staff_records_approval_with_conditions_through_the_formset(client, staff, make_request):
    hearing = make_request("hearing_scheduled")
    client.force_login(staff)
    data = {
        "votes_yes": "8",
        "votes_no": "4",
        "votes_abstain": "1",
        "votes_absent": "0",
        "effective_on": "",
        "expires_on": "",
        "summary": "Approved for one year.",
        **conditions_management(),
        "conditions-0-text": "Publish flight logs monthly",
        "conditions-0-due_on": "2031-01-31",
    }

    response = client.post(transition_url(hearing, "approve_with_conditions"), data)

    assert response.status_code == 302
    hearing.refresh_from_db()
    assert hearing.status == Request.Status.APPROVED_WITH_CONDITIONS
    decision = hearing.decision
    assert (decision.votes_yes, decision.votes_no, decision.votes_abstain) == (8, 4, 1)
    condition = decision.conditions.get()
    assert condition.text == "Publish flight logs monthly"
    assert condition.due_on == datetime.date(2031, 1, 31)
    assert hearing.events.filter(action="approve_with_conditions").exists()


def test_approval_with_conditions_but_none_given_shows_the_conditions_error(client, staff, make_request):
    hearing = make_request("hearing_scheduled")
    client.force_login(staff)
    data = {
        "votes_yes": "8",
        "votes_no": "4",
        "votes_abstain": "0",
        "votes_absent": "0",
        **conditions_management(),
    }

    response = client.post(transition_url(hearing, "approve_with_conditions"), data)

    assert response.status_code == 200
    assert response.context["form"].conditions_errors
    hearing.refresh_from_db()
    assert hearing.status == Request.Status.HEARING_SCHEDULED


def test_an_approval_without_a_majority_puts_the_error_on_votes_yes(client, staff, make_request):
    hearing = make_request("hearing_scheduled")
    client.force_login(staff)

    response = client.post(
        transition_url(hearing, "approve"),
        {"votes_yes": "3", "votes_no": "9", "votes_abstain": "0", "votes_absent": "0"},
    )

    assert response.status_code == 200
    assert "votes_yes" in response.context["form"].errors
    hearing.refresh_from_db()
    assert hearing.status == Request.Status.HEARING_SCHEDULED


def test_a_denial_needs_a_summary(client, staff, make_request):
    hearing = make_request("hearing_scheduled")
    client.force_login(staff)

    response = client.post(
        transition_url(hearing, "deny"),
        {"votes_yes": "2", "votes_no": "10", "votes_abstain": "0", "votes_absent": "0"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["summary"] == [workflow.REASON_REQUIRED]


def test_liaison_cannot_reach_staff_transitions(client, liaison_a, make_request):
    submitted = make_request("submitted")
    client.force_login(liaison_a)

    response = client.post(transition_url(submitted, "begin_review"), {"note": "Let me in."})

    assert response.status_code == 302
    assert response["Location"] == change_url(submitted)
    assert workflow.NOT_PERMITTED.format(action="begin review") in messages_of(response)
    submitted.refresh_from_db()
    assert submitted.status == Request.Status.SUBMITTED
    assert not submitted.events.filter(action="begin_review").exists()


def test_liaison_withdraws_their_request_from_the_transition_page(client, liaison_a, make_request):
    submitted = make_request("submitted")
    client.force_login(liaison_a)

    client.post(transition_url(submitted, "withdraw"), {"reason": "Project cancelled."})

    submitted.refresh_from_db()
    assert submitted.status == Request.Status.WITHDRAWN


def test_a_transition_from_the_wrong_state_is_refused_with_a_message(client, staff, make_request):
    in_review = make_request("in_review")
    client.force_login(staff)

    response = client.post(transition_url(in_review, "begin_review"))

    assert response.status_code == 302
    assert any("is in review" in m for m in messages_of(response))


def test_a_workflow_error_on_a_field_the_page_does_not_ask_for_is_shown_on_top(
    client, liaison_a, make_request
):
    draft = make_request("draft", justification="")
    client.force_login(liaison_a)

    response = client.post(transition_url(draft, "submit"), {"note": ""})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Justification: An approval request must fill this in before it is submitted."
    ]
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_transition_page_for_an_unknown_name_is_404(client, staff, make_request):
    submitted = make_request("submitted")
    client.force_login(staff)

    response = client.get(transition_url(submitted, "approve_everything"))

    assert response.status_code == 404


# ---------------------------------------------------------------------------
# Clerks, and the read-only record
# ---------------------------------------------------------------------------


def test_clerk_can_edit_an_agency(client, clerk, agency_a):
    client.force_login(clerk)
    data = {
        "name": "Agency A Police Department",
        "slug": agency_a.slug,
        "kind": agency_a.kind,
        "covered": "on",
        "website": "",
        "description": "Renamed.",
        "language": "en",
    }

    response = client.post(reverse("admin:ordinances_agency_change", args=[agency_a.pk]), data)

    assert response.status_code == 302
    agency_a.refresh_from_db()
    assert agency_a.name == "Agency A Police Department"


def test_clerk_cannot_run_transitions(client, clerk, make_request):
    submitted = make_request("submitted")
    client.force_login(clerk)

    page = client.get(change_url(submitted))
    response = client.post(transition_url(submitted, "begin_review"))

    assert page.status_code == 200
    assert page.context["transitions"] == []
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == Request.Status.SUBMITTED


@pytest.mark.parametrize("persona", ["staff", "superuser"])
def test_event_admin_has_no_add_change_or_delete(client, persona, staff, make_request, rf):
    from django.contrib import admin

    user = staff if persona == "staff" else User.objects.create_superuser("root", "root@example.org", "pw")
    make_request("submitted")
    event = Event.objects.first()
    model_admin = admin.site._registry[Event]
    http_request = rf.get("/")
    http_request.user = user
    client.force_login(user)

    assert not model_admin.has_add_permission(http_request)
    assert not model_admin.has_change_permission(http_request, event)
    assert not model_admin.has_delete_permission(http_request, event)
    assert client.get(reverse("admin:ordinances_event_add")).status_code == 403
    assert client.get(reverse("admin:ordinances_event_delete", args=[event.pk])).status_code == 403
    post = client.post(reverse("admin:ordinances_event_change", args=[event.pk]), {"note": "rewritten"})
    assert post.status_code == 403


def test_decision_admin_is_read_only_even_for_superusers(make_request, rf):
    from django.contrib import admin

    from ordinances.models import Decision

    root = User.objects.create_superuser("root", "root@example.org", "pw")
    decision = make_request("approved").decision
    http_request = rf.get("/")
    http_request.user = root
    model_admin = admin.site._registry[Decision]

    assert not model_admin.has_add_permission(http_request)
    assert not model_admin.has_change_permission(http_request, decision)
    assert not model_admin.has_delete_permission(http_request, decision)


def test_condition_cannot_be_saved_raw_from_its_change_form(client, staff, make_request):
    condition = Condition.objects.get(decision__request=make_request("approved_with_conditions"))
    client.force_login(staff)

    response = client.post(
        reverse("admin:ordinances_condition_change", args=[condition.pk]), {"status": "met"}
    )

    assert response.status_code == 403
    condition.refresh_from_db()
    assert condition.status == Condition.Status.OPEN


def test_the_admin_action_asks_for_a_note_before_marking_conditions(client, staff, make_request):
    request = make_request("approved_with_conditions")
    condition = Condition.objects.get(decision__request=request)
    client.force_login(staff)

    response = client.post(
        reverse("admin:ordinances_condition_changelist"),
        {"action": "mark_met", "_selected_action": [condition.pk], "index": "0"},
    )

    assert response.status_code == 200
    assert b'name="note"' in response.content
    assert b'name="apply"' in response.content
    condition.refresh_from_db()
    assert condition.status == Condition.Status.OPEN
    assert not request.events.filter(action="condition").exists()


def test_staff_marks_a_condition_met_with_the_admin_action_and_a_note(client, staff, make_request):
    request = make_request("approved_with_conditions")
    condition = Condition.objects.get(decision__request=request)
    client.force_login(staff)

    response = client.post(
        reverse("admin:ordinances_condition_changelist"),
        {
            "action": "mark_met",
            "_selected_action": [condition.pk],
            "apply": "Mark met",
            "note": "Report filed.",
        },
    )

    assert response.status_code == 302
    condition.refresh_from_db()
    assert condition.status == Condition.Status.MET
    assert request.events.get(action="condition").note == "Report filed."


def test_the_admin_action_with_a_blank_note_changes_nothing_and_says_why(client, staff, make_request):
    request = make_request("approved_with_conditions")
    condition = Condition.objects.get(decision__request=request)
    client.force_login(staff)

    response = client.post(
        reverse("admin:ordinances_condition_changelist"),
        {"action": "mark_waived", "_selected_action": [condition.pk], "apply": "Mark waived", "note": "  "},
    )

    assert response.status_code == 200
    assert workflow.CONDITION_NOTE_REQUIRED in response.content.decode()
    condition.refresh_from_db()
    assert condition.status == Condition.Status.OPEN
    assert not request.events.filter(action="condition").exists()


def test_clerk_has_no_condition_actions(client, clerk, make_request):
    make_request("approved_with_conditions")
    client.force_login(clerk)

    response = client.get(reverse("admin:ordinances_condition_changelist"))

    assert response.status_code == 200
    assert "mark_met" not in response.context["cl"].model_admin.get_actions(response.wsgi_request)


def test_staff_marks_a_condition_from_the_request_page(client, staff, make_request):
    request = make_request("approved_with_conditions")
    condition = Condition.objects.get(decision__request=request)
    client.force_login(staff)

    response = client.post(
        reverse("admin:ordinances_request_condition", args=[request.pk, condition.pk]),
        {"status": "overdue", "note": "No report filed."},
    )

    assert response.status_code == 302
    condition.refresh_from_db()
    assert condition.status == Condition.Status.OVERDUE
    assert "No report filed." in request.events.get(action="condition").note


def test_marking_a_condition_from_the_request_page_without_a_note_changes_nothing(
    client, staff, make_request
):
    request = make_request("approved_with_conditions")
    condition = Condition.objects.get(decision__request=request)
    client.force_login(staff)

    response = client.post(
        reverse("admin:ordinances_request_condition", args=[request.pk, condition.pk]),
        {"status": "met", "note": ""},
        follow=True,
    )

    assert f"Condition not changed: {workflow.CONDITION_NOTE_REQUIRED}" in [
        str(m) for m in response.context["messages"]
    ]
    condition.refresh_from_db()
    assert condition.status == Condition.Status.OPEN
    assert not request.events.filter(action="condition").exists()


def test_every_admin_page_of_a_request_renders_for_each_persona(
    client, staff, clerk, liaison_a, make_request
):
    requests = [make_request(state) for state in ("draft", "in_review", "approved_with_conditions", "denied")]
    for user in (staff, clerk, liaison_a):
        client.force_login(user)
        assert client.get(reverse(CHANGELIST)).status_code == 200
        for obj in requests:
            # A draft is its agency's alone: staff and clerks are refused it ("not yours").
            assert client.get(change_url(obj)).status_code in (200, 403)


def test_liaison_submits_a_draft_from_the_transition_page(client, liaison_a, make_request):
    draft = make_request("draft")
    client.force_login(liaison_a)

    response = client.post(transition_url(draft, "submit"), {"note": "Ready for the council."})

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Request.Status.SUBMITTED
    assert draft.submitted_at is not None
    assert draft.events.get(action="submit").note == "Ready for the council."


def test_every_registered_admin_page_renders_for_a_superuser(client, make_request):
    from django.contrib import admin
    from django.core.management import call_command

    from ordinances.models import AnnualReport, Comment, Decision, OversightEvent, Source

    # The demo records hold a row of every model the admin shows, each written the way the
    # portal writes it (requests, comments, emergency uses, violations, annual reports).
    call_command("seed_demo", stdout=io.StringIO())
    Source.objects.create(url="https://example.org/a", title="A report", publisher="Example")
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    # Started only through the workflow, by the person whose record it is (a liaison's report).
    written_by_the_workflow = {Request, Event, Decision, Condition, Comment, AnnualReport, OversightEvent}

    for model in admin.site._registry:
        if model._meta.app_label != "ordinances":
            continue
        name = f"admin:ordinances_{model._meta.model_name}"
        # Drafts stay with their agency until submitted, superusers included.
        obj = Request.objects.public().first() if model is Request else model.objects.first()
        assert client.get(reverse(f"{name}_changelist")).status_code == 200, model
        assert client.get(reverse(f"{name}_change", args=[obj.pk])).status_code == 200, model
        expected_add = 403 if model in written_by_the_workflow else 200
        assert client.get(reverse(f"{name}_add")).status_code == expected_add, model


# ---------------------------------------------------------------------------
# "Save and submit": the typed text is never lost
# ---------------------------------------------------------------------------

COMPLETE = {
    "justification": "Searches by boat take hours.",
    "alternatives_considered": "Boats and divers.",
    "data_collected": "Video of the river.",
    "retention": "30 days.",
    "sharing": "No outside body.",
}


def test_the_change_page_offers_submit_as_a_button_that_saves_the_form_first(client, liaison_a, make_request):
    draft = make_request("draft")
    client.force_login(liaison_a)

    response = client.get(change_url(draft))

    assert b'form="request_form" name="_save_and_transition" value="submit"' in response.content


def test_save_and_submit_saves_the_typed_text_then_submits(client, liaison_a, make_request):
    draft = make_request("draft")
    client.force_login(liaison_a)

    data = agency_form_data(draft, title="Typed just now", **COMPLETE, _save_and_transition="submit")
    response = client.post(change_url(draft), data)

    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.title, draft.status) == ("Typed just now", Request.Status.SUBMITTED)


def test_a_refused_save_and_submit_keeps_the_typed_text_and_says_why(client, liaison_a, make_request):
    draft = make_request("draft")
    client.force_login(liaison_a)

    data = agency_form_data(draft, title="Typed just now", _save_and_transition="submit")
    response = client.post(change_url(draft), data)

    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.title, draft.status) == ("Typed just now", Request.Status.DRAFT)
    assert any("must fill this in" in m for m in messages_of(response))
    assert any("were saved, but it was not submitted" in m for m in messages_of(response))


def test_adding_a_document_writes_it_on_the_record(client, liaison_a, make_request):
    returned = make_request("returned")
    client.force_login(liaison_a)

    data = agency_form_data(returned, **COMPLETE)
    data.update(
        {
            "attachments-TOTAL_FORMS": "1",
            "attachments-0-title": "Use policy",
            "attachments-0-url": "https://example.org/policy.pdf",
        }
    )
    response = client.post(change_url(returned), data)

    assert response.status_code == 302
    event = returned.events.get(action=Event.Action.DOCUMENT_ADDED)
    assert event.data["title"] == "Use policy"
    assert event.is_public


def test_the_workspace_timeline_shows_what_each_step_produced_in_words(client, staff, make_request):
    approved = make_request("approved")
    client.force_login(staff)

    response = client.get(change_url(approved))

    page = response.content.decode()
    assert "Test City Council voted 9–3 (13 seats)" in page
    assert "Public comment open from" in page
    assert "(Council staff)" in page


def test_the_approval_page_asks_for_the_vote_with_the_deciding_bodys_seats_and_majority(
    client, staff, make_request
):
    hearing = make_request("hearing_scheduled")
    client.force_login(staff)

    response = client.get(transition_url(hearing, "approve"))

    form = response.context["form"]
    assert list(form.fields) == [
        "decided_on",
        "votes_yes",
        "votes_no",
        "votes_abstain",
        "votes_absent",
        "effective_on",
        "expires_on",
        "summary",
    ]
    assert form.fields["votes_yes"].help_text == (
        "Test City Council: 13 seats; an approval needs more yes than no votes."
    )
    assert form.fields["decided_on"].initial == timezone.localdate()


def test_a_vote_over_the_seats_comes_back_on_the_votes_field_and_nothing_is_decided(
    client, staff, make_request
):
    hearing = make_request("hearing_scheduled")
    client.force_login(staff)

    response = client.post(transition_url(hearing, "approve"), {"votes_yes": "55", "votes_no": "0"})

    assert response.status_code == 200
    assert response.context["form"].errors["votes_yes"] == [
        "The Test City Council has 13 seats; these counts add up to 55."
    ]
    hearing.refresh_from_db()
    assert hearing.status == Request.Status.HEARING_SCHEDULED


def test_the_queue_runs_the_same_queries_for_2_and_8_emergency_reports(client, staff, make_request):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queue_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse(CHANGELIST)).status_code == 200
        return len(captured.captured_queries)

    client.force_login(staff)
    for _ in range(2):
        make_request("submitted", kind=Request.Kind.EMERGENCY_REPORT)
    small = queue_queries()
    for _ in range(6):
        make_request("submitted", kind=Request.Kind.EMERGENCY_REPORT)

    assert queue_queries() == small
