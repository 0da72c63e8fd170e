"""
Forms for the review workspace.

`TransitionForm` asks exactly what a workflow transition needs (`Transition.needs`) and
runs it through `ordinances.workflow`; `RequestAdminForm` is the agency's own form for a
request. Neither writes a Request itself: the workflow does, and its refusals come back
here as form errors.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.contrib.admin import widgets as admin_widgets
from django.core.exceptions import ValidationError
from django.utils import timezone

from ordinances import workflow
from ordinances.models import Condition, Decision, Request

if TYPE_CHECKING:
    from ordinances.roles import AnyUser

# Transition name -> outcome for workflow.decide.
DECISION_OUTCOMES: dict[str, str] = {name: outcome for outcome, name in workflow.DECISION_TRANSITIONS.items()}
# Transitions whose workflow function takes an optional `note`.
NOTE_TRANSITIONS = ("submit", "begin_review", "open_comment_period", "schedule_hearing", "accept_report")


def error_messages(exc: ValidationError | workflow.TransitionRefused) -> dict[str | None, list[str]]:
    """A workflow refusal as {field name or None: [messages]}."""
    if isinstance(exc, workflow.TransitionRefused):
        return {None: [exc.message]}
    if hasattr(exc, "error_dict"):
        return {
            (None if name == "__all__" else name): list(ValidationError(errors).messages)
            for name, errors in exc.error_dict.items()
        }
    return {None: list(exc.messages)}


def field_label(name: str | None) -> str:
    """The label of a Request field named in a workflow error, or "" if it is not one."""
    return Request.field_label(name) if name else ""


class WorkflowErrorsMixin:
    """Put a workflow refusal onto a form: known field names on fields, the rest on top."""

    def add_workflow_errors(self, exc: ValidationError | workflow.TransitionRefused) -> None:
        for name, messages in error_messages(exc).items():
            target = name if name in self.fields else None  # type: ignore[attr-defined]
            self.add_error(target, messages)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------
# The agency's request form
# ---------------------------------------------------------------------------


class RequestAdminForm(WorkflowErrorsMixin, forms.ModelForm):
    """The agency's fields of a request. The admin saves it through the workflow."""

    # Set per request by RequestAdmin.get_form: a refusal from a first attempt to save,
    # shown on the re-rendered form.
    workflow_errors: ClassVar[ValidationError | workflow.TransitionRefused | None] = None

    class Meta:
        model = Request
        fields = list(Request.AGENCY_FIELDS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.workflow_errors is not None:
            self.add_workflow_errors(self.workflow_errors)
        return cleaned

    def agency_values(self) -> dict[str, Any]:
        """The cleaned agency fields, as keyword arguments for the workflow."""
        return {name: self.cleaned_data[name] for name in Request.AGENCY_FIELDS if name in self.cleaned_data}


# ---------------------------------------------------------------------------
# Transition pages
# ---------------------------------------------------------------------------


class ConditionForm(forms.Form):
    text = forms.CharField(
        label="Condition", required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60})
    )
    due_on = forms.DateField(label="Due on", required=False, widget=admin_widgets.AdminDateWidget)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("due_on") and not (cleaned.get("text") or "").strip():
            self.add_error("text", "Write the condition, or clear its due date.")
        return cleaned


ConditionFormSet = forms.formset_factory(ConditionForm, extra=5, max_num=20, validate_max=True)


class TransitionForm(WorkflowErrorsMixin, forms.Form):
    """
    What one transition needs, built from `Transition.needs`:

    - reason: a textarea, required; it becomes the public record.
    - comment_period_ends_on: a date, prefilled from the ordinance's comment period.
    - hearing_at: a date and time.
    - votes: yes, no, abstaining and absent.
    - dates: when an approval takes effect and when it expires.
    - conditions: a formset of condition text and due date.

    Decisions also carry a summary (required to deny); the other transitions an optional note.
    """

    def __init__(
        self,
        transition: workflow.Transition,
        request_obj: Request,
        data: Any = None,
        *,
        today: datetime.date | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.transition = transition
        self.request_obj = request_obj
        self.conditions: forms.BaseFormSet | None = None
        self.conditions_errors = self.error_class()
        today = today or timezone.localdate()
        needs = transition.needs
        ordinance = request_obj.ordinance

        if "reason" in needs:
            self.fields["reason"] = forms.CharField(
                label="Reason",
                widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
                required=False,  # the workflow says why it is needed, and the error lands here
                help_text="Part of the public record.",
            )
        if "comment_period_ends_on" in needs:
            days = ordinance.comment_period_days
            self.fields["comment_period_ends_on"] = forms.DateField(
                label="Public comment closes on",
                required=False,
                widget=admin_widgets.AdminDateWidget,
                initial=today + datetime.timedelta(days=days) if days is not None else None,
                help_text=(
                    f"The ordinance sets a comment period of {days} days."
                    if days is not None
                    else "The ordinance sets no comment period; enter the closing date."
                ),
            )
        if "hearing_at" in needs:
            notice = ordinance.hearing_notice_days
            self.fields["hearing_at"] = forms.SplitDateTimeField(
                label="Hearing at",
                required=False,
                widget=admin_widgets.AdminSplitDateTime,
                help_text=(f"The ordinance requires {notice} days' notice." if notice is not None else ""),
            )
        if "votes" in needs:
            for name, label, initial in (
                ("votes_yes", "Votes yes", None),
                ("votes_no", "Votes no", None),
                ("votes_abstain", "Abstaining", 0),
                ("votes_absent", "Absent", 0),
            ):
                self.fields[name] = forms.IntegerField(
                    label=label, min_value=0, initial=initial, required=initial is None
                )
        if "dates" in needs:
            term = ordinance.approval_term_days or request_obj.requested_term_days
            self.fields["effective_on"] = forms.DateField(
                label="Effective on",
                required=False,
                widget=admin_widgets.AdminDateWidget,
                help_text="Blank means the day of the decision.",
            )
            self.fields["expires_on"] = forms.DateField(
                label="Expires on",
                required=False,
                widget=admin_widgets.AdminDateWidget,
                help_text=(
                    f"Blank means {term} days after it takes effect."
                    if term
                    else "Neither the ordinance nor the request sets a term; enter the expiry date."
                ),
            )
        if "conditions" in needs:
            self.conditions = ConditionFormSet(data, prefix="conditions")
        if transition.name in DECISION_OUTCOMES:
            deny = DECISION_OUTCOMES[transition.name] == Decision.Outcome.DENIED
            self.fields["summary"] = forms.CharField(
                label="Reasons for the decision" if deny else "Summary",
                widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
                required=False,
                help_text="Required for a denial. Part of the public record."
                if deny
                else "Optional. Part of the public record.",
            )
        if transition.name in NOTE_TRANSITIONS:
            self.fields["note"] = forms.CharField(
                label="Note",
                widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                required=False,
                help_text="Optional; shown on the public timeline."
                if transition.public
                else "Optional; kept internal.",
            )

    # -- validation ---------------------------------------------------------

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if self.conditions is not None:
            valid = self.conditions.is_valid() and valid
        return valid

    def add_workflow_errors(self, exc: ValidationError | workflow.TransitionRefused) -> None:
        for name, messages in error_messages(exc).items():
            if name == "conditions" and self.conditions is not None:
                self.conditions_errors.extend(messages)
            elif name in self.fields:
                self.add_error(name, messages)
            else:
                # E.g. submit's full_clean of the agency's fields: say which field is meant.
                label = field_label(name)
                self.add_error(None, [f"{label}: {m}" if label else m for m in messages])

    @property
    def has_errors(self) -> bool:
        formset_errors = (
            self.conditions is not None
            and self.conditions.is_bound
            and (any(self.conditions.errors) or self.conditions.non_form_errors())
        )
        return bool(self.errors or self.conditions_errors or formset_errors)

    @property
    def media(self) -> forms.Media:
        media = super().media
        if self.conditions is not None:
            media += self.conditions.media
        return media

    # -- running the transition ---------------------------------------------

    def condition_inputs(self) -> list[workflow.ConditionInput]:
        if self.conditions is None:
            return []
        return [
            workflow.ConditionInput(text=form.cleaned_data["text"], due_on=form.cleaned_data.get("due_on"))
            for form in self.conditions.forms
            if form.cleaned_data.get("text", "").strip()
        ]

    def run(self, by: AnyUser) -> Request:
        """Call the workflow function for this transition. Raises what the workflow raises."""
        name = self.transition.name
        data = self.cleaned_data
        obj = self.request_obj
        if name in DECISION_OUTCOMES:
            return workflow.decide(
                obj,
                by=by,
                outcome=DECISION_OUTCOMES[name],
                votes_yes=data["votes_yes"],
                votes_no=data["votes_no"],
                votes_abstain=data.get("votes_abstain") or 0,
                votes_absent=data.get("votes_absent") or 0,
                effective_on=data.get("effective_on"),
                expires_on=data.get("expires_on"),
                conditions=self.condition_inputs(),
                summary=data.get("summary", ""),
            )
        if name == "open_comment_period":
            return workflow.open_comment_period(
                obj, by=by, ends_on=data.get("comment_period_ends_on"), note=data.get("note", "")
            )
        if name == "schedule_hearing":
            return workflow.schedule_hearing(
                obj, by=by, hearing_at=data.get("hearing_at"), note=data.get("note", "")
            )
        function = getattr(workflow, name)
        if "reason" in self.transition.needs:
            return function(obj, by=by, reason=data.get("reason", ""))
        if name in NOTE_TRANSITIONS:
            return function(obj, by=by, note=data.get("note", ""))
        return function(obj, by=by)


# ---------------------------------------------------------------------------
# Notes and conditions on the request page
# ---------------------------------------------------------------------------


class NoteForm(WorkflowErrorsMixin, forms.Form):
    note = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))
    public = forms.BooleanField(
        label="Public",
        required=False,
        help_text="Leave unticked to keep the note internal to council staff.",
    )


class ConditionStatusForm(forms.Form):
    status = forms.ChoiceField(label="Status", choices=Condition.Status.choices)
    note = forms.CharField(label="Note", required=False, max_length=500)
