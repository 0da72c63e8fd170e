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
from django.conf import settings
from django.contrib.admin import widgets as admin_widgets
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ordinances import deadlines, workflow
from ordinances.models import Condition, Deadline, ProcessStep, Request
from portal import auth

if TYPE_CHECKING:
    from ordinances.roles import AnyUser


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

# The transitions that record or undo a decision of the deciding body: someone who walks up
# to a signed-in screen must not be able to record one (portal/auth.py, PORTAL_REAUTH_MINUTES).
DECISIONS = frozenset({"approve", "approve_with_conditions", "deny", "publish_policy", "revoke"})


class TransitionForm(WorkflowErrorsMixin, forms.Form):
    """
    What one transition takes, built from its row's `inputs` (see `workflow.Input`), with
    default dates from the ordinance's deadline rows; `run` passes them to `workflow.perform`.
    """

    def __init__(
        self,
        transition: workflow.Transition,
        request_obj: Request,
        data: Any = None,
        *,
        today: datetime.date | None = None,
        reauth: HttpRequest | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.transition = transition
        self.request_obj = request_obj
        # The HTTP request whose signed-in person must enter their password again, if any.
        self.reauth = reauth
        self.conditions: forms.BaseFormSet | None = None
        self.conditions_errors = self.error_class()
        today = today or timezone.localdate()
        for spec in transition.inputs:
            if spec.kind == "conditions":
                self.conditions = ConditionFormSet(data, prefix="conditions")
                continue
            self.fields[spec.name] = self.field_for(spec)
        if reauth is not None:
            self.fields["password"] = forms.CharField(
                label=_("Your password"),
                strip=False,
                widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
                help_text=_(
                    "You have not entered your password for %(minutes)d minutes; enter it to record this decision."
                )
                % {"minutes": settings.PORTAL_REAUTH_MINUTES},
                error_messages={"required": _("Enter your password to record this decision.")},
            )
        self.explain(today)

    @staticmethod
    def field_for(spec: workflow.Input) -> forms.Field:
        # Nothing is required here: the workflow says what is missing, and why, on the field.
        common: dict[str, Any] = {"label": spec.label, "required": False, "help_text": spec.help_text}
        if spec.kind == "date":
            return forms.DateField(widget=admin_widgets.AdminDateWidget, **common)
        if spec.kind == "datetime":
            return forms.SplitDateTimeField(widget=admin_widgets.AdminSplitDateTime, **common)
        if spec.kind == "count":
            return forms.IntegerField(min_value=0, **common)
        if spec.kind == "choice":
            return forms.ChoiceField(choices=[("", "---------"), *spec.choices], **common)
        if spec.kind == "line":
            return forms.CharField(widget=forms.TextInput(attrs={"size": 60}), **common)
        if spec.kind == "url":
            # A link typed without its scheme is taken as https; the workflow accepts only
            # http and https, so a javascript: or ftp: address never reaches a public page.
            return forms.URLField(
                assume_scheme="https", max_length=500, widget=forms.URLInput(attrs={"size": 60}), **common
            )
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), **common)

    def explain(self, today: datetime.date) -> None:
        """Default dates and help from the ordinance's deadlines, computed by `ordinances.deadlines`."""
        obj = self.request_obj
        ordinance = obj.ordinance
        if "comment_period_ends_on" in self.fields:
            closes = deadlines.due_on(ordinance, Deadline.Kind.COMMENT_PERIOD, today)
            field = self.fields["comment_period_ends_on"]
            field.initial = closes
            field.help_text = (
                f"The ordinance keeps comment open until at least {closes.isoformat()}."
                if closes
                else "The ordinance sets no comment period; enter the closing date."
            )
        if "hearing_at" in self.fields:
            earliest = deadlines.due_on(ordinance, Deadline.Kind.HEARING_NOTICE, today)
            if earliest:
                self.fields[
                    "hearing_at"
                ].help_text = (
                    f"With the notice the ordinance requires, {earliest.isoformat()} at the earliest."
                )
        if "expires_on" in self.fields:
            term = deadlines.approval_expires_on(ordinance, today, obj.requested_term_days)
            self.fields["expires_on"].help_text = (
                f"Blank means the shorter of the law's longest term and the term requested ({term.isoformat()} for an approval in effect today)."
                if term
                else "Neither the ordinance nor the request sets a term; enter the expiry date."
            )
        if "votes_abstain" in self.fields:
            self.fields["votes_abstain"].initial = 0
            self.fields["votes_absent"].initial = 0
            step = ordinance.step(ProcessStep.Kind.VOTE)
            if step is not None:
                self.fields[
                    "votes_yes"
                ].help_text = f"{step.body}: {step.seats} seats; an approval needs {step.get_majority_display().lower()}."
        if "decided_on" in self.fields:
            self.fields["decided_on"].initial = today

    # -- validation ---------------------------------------------------------

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password", "")
        if self.reauth is not None and not auth.confirm_password(self.reauth, password):
            raise ValidationError(_("That is not your password."), code="password")
        return ""

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
                # E.g. submit's check of the agency's fields: say which field is meant.
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

    def inputs(self) -> dict[str, Any]:
        """The cleaned values as `workflow.perform` takes them; blank values are left out."""
        values: dict[str, Any] = {
            name: value
            for name, value in self.cleaned_data.items()
            if value not in (None, "") and name != "password"
        }
        if self.conditions is not None:
            values["conditions"] = self.condition_inputs()
        return values

    def run(self, by: AnyUser) -> Request:
        """Run the transition. Raises what the workflow raises."""
        return workflow.perform(self.transition.name, self.request_obj, by=by, **self.inputs())


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


class ConditionStatusForm(WorkflowErrorsMixin, forms.Form):
    """A condition's new status and why; the note is required by the workflow, not here."""

    status = forms.ChoiceField(label="Status", choices=Condition.Status.choices)
    note = forms.CharField(
        label="Note",
        required=False,
        help_text="Required. Say why; it goes on the public timeline with the change.",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )


class ConditionNoteForm(WorkflowErrorsMixin, forms.Form):
    """The note a bulk change of conditions' status takes (the status is the action's)."""

    note = forms.CharField(
        label="Note",
        required=False,
        help_text="Required. Say why; it goes on each request's public timeline with the change.",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )
