"""
The oversight workspace in the admin: emergency uses, the violations register and annual
surveillance reports, with each record's timeline (`OversightEvent`, read-only).

As for requests (`ordinances.admin`), nothing here sets a status, a due date or an
overdue mark, nor writes an event: saving a form calls `ordinances.oversight`, and the
buttons on a record's page open small forms that call it too. Its refusals come back as
form errors or messages, never a 500.

Who sees what: a liaison their own agencies' emergency uses and annual reports (drafts
included), never a violation; council staff every emergency use, every violation and
every report submitted or overdue; clerks read what staff read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import widgets as admin_widgets
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from ordinances import oversight, roles, workflow
from ordinances.admin import ReadOnlyAdmin, WorkflowRejected, add_messages
from ordinances.admin_forms import WorkflowErrorsMixin
from ordinances.models import (
    Agency,
    AnnualReport,
    EmergencyUse,
    Ordinance,
    OversightEvent,
    Request,
    Violation,
)

Refusal = ValidationError | workflow.TransitionRefused

# The words for `oversight.emergency_report_state` codes (the public pages make their own).
EMERGENCY_REPORT_STATES = {
    "filed_on_time": "Filed on time",
    "filed_late": "Filed late",
    "overdue": "Overdue",
    "due": "Due",
    "no_deadline": "Not filed (no deadline)",
}


def _status_label(record: models.Model | None, code: str) -> str:
    """A stored status code of an oversight record in words; "" for none."""
    if not code:
        return ""
    choices = getattr(type(record), "Status", None)
    if choices is not None and code in choices.values:
        return str(choices(code).label)
    return code


def _fact_label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _fact_value(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, list):
        return ", ".join(_fact_label(str(item)).lower() for item in value)
    return str(value)


# ---------------------------------------------------------------------------
# Forms
# ---------------------------------------------------------------------------


class OversightModelForm(WorkflowErrorsMixin, forms.ModelForm):
    """A record's form; the admin saves it through `ordinances.oversight`."""

    # Set per request by OversightAdmin.get_form: a refusal from a first attempt to save,
    # shown on the re-rendered form (as RequestAdminForm does).
    workflow_errors: ClassVar[Refusal | None] = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.workflow_errors is not None:
            self.add_workflow_errors(self.workflow_errors)
        return cleaned


class EmergencyUseForm(OversightModelForm):
    class Meta:
        model = EmergencyUse
        fields = ("agency", "technology", "ordinance", "used_on", "ended_on", "circumstances", "language")


class ViolationForm(OversightModelForm):
    class Meta:
        model = Violation
        fields = (
            "agency",
            "technology",
            "ordinance",
            "request",
            "description",
            "occurred_on",
            "found_on",
            "how_found",
            "investigation",
            "language",
        )


class AnnualReportStartForm(OversightModelForm):
    class Meta:
        model = AnnualReport
        fields = ("agency", "technology", "ordinance", "year", "language")


class AnnualReportContentForm(OversightModelForm):
    class Meta:
        model = AnnualReport
        fields = AnnualReport.CONTENT_FIELDS


def _textarea() -> forms.Textarea:
    return forms.Textarea(attrs={"rows": 3, "cols": 60})


class ActionForm(WorkflowErrorsMixin, forms.Form):
    """What one action on an oversight record takes; nothing is required here, the function says."""

    def __init__(self, obj: models.Model, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.obj = obj


class NoteForm(ActionForm):
    note = forms.CharField(
        label="Note", required=False, widget=_textarea(), help_text="Optional; shown on the timeline."
    )


class ReasonForm(ActionForm):
    reason = forms.CharField(
        label="Reason", required=False, widget=_textarea(), help_text="Part of the public record."
    )


class ViolationUpdateForm(ActionForm):
    status = forms.ChoiceField(label="Status", choices=Violation.Status.choices)
    investigation = forms.CharField(
        label="Investigation", required=False, widget=_textarea(), help_text="What the investigation found."
    )
    remedy = forms.CharField(label="Remedy", required=False, widget=_textarea(), help_text="What was done.")
    remedied_on = forms.DateField(
        label="Remedied on",
        required=False,
        widget=admin_widgets.AdminDateWidget,
        help_text="Only for a remedied violation.",
    )
    note = forms.CharField(label="Note", required=False, widget=_textarea(), help_text="Optional.")

    def __init__(self, obj: models.Model, *args: Any, **kwargs: Any) -> None:
        assert isinstance(obj, Violation)
        kwargs.setdefault(
            "initial",
            {
                "status": obj.status,
                "investigation": obj.investigation,
                "remedy": obj.remedy,
                "remedied_on": obj.remedied_on,
            },
        )
        super().__init__(obj, *args, **kwargs)


@dataclass(frozen=True)
class Action:
    """A button on a record's page: its form, who is offered it, and the oversight function it runs."""

    name: str
    label: str
    description: str
    form_class: type[ActionForm]
    offered: Callable[[Any, Any], bool]
    run: Callable[[Any, Any, dict[str, Any]], Any]


# ---------------------------------------------------------------------------
# What the three admins share
# ---------------------------------------------------------------------------


class OversightAdmin(admin.ModelAdmin):
    """Saves through `ordinances.oversight`, shows the record's timeline and its action buttons."""

    change_form_template = "admin/ordinances/oversight/change_form.html"
    action_template = "admin/ordinances/oversight/action_form.html"
    actions_offered: ClassVar[tuple[Action, ...]] = ()
    list_per_page = 50

    class Media:
        css = {"all": ["admin_portal.css"]}

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The record of oversight is never deleted.
        return False

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        form.workflow_errors = getattr(request, "_workflow_errors", None)  # type: ignore[attr-defined]
        return form

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except WorkflowRejected as rejected:
            # The first attempt rolled back; validate the same data again with the refusal
            # on the form, and show it.
            request._workflow_errors = rejected.error  # type: ignore[attr-defined]
            try:
                return super().changeform_view(request, object_id, form_url, extra_context)
            except WorkflowRejected:  # pragma: no cover - the form is invalid the second time
                add_messages(request, rejected.error)
                return HttpResponseRedirect(request.get_full_path())

    def _adopt(self, obj: models.Model, saved: models.Model) -> None:
        """Give the admin (logging, redirect) the record the oversight function saved."""
        for field in type(obj)._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False
        obj._state.db = saved._state.db

    def timeline(self, request: HttpRequest, obj: Any) -> list[dict[str, Any]]:
        events = obj.events.order_by("created_at", "pk")
        return [
            {
                "created_at": event.created_at,
                "action": event.get_action_display(),
                "from_status": _status_label(obj, event.from_status),
                "to_status": _status_label(obj, event.to_status),
                "who": event.actor_name,
                "role": event.actor_role_label,
                "facts": [(_fact_label(key), _fact_value(value)) for key, value in event.data.items()],
                "note": event.note,
                "is_public": event.is_public,
            }
            for event in events
        ]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if obj is not None and obj.pk:
            context["oversight_timeline"] = self.timeline(request, obj)
            context["oversight_actions"] = [
                {
                    "label": action.label,
                    "description": action.description,
                    "url": self._action_url(obj, action.name),
                    "name": action.name,
                }
                for action in self.actions_offered
                if action.offered(obj, request.user)
            ]
            context["oversight_status"] = self.status_words(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def status_words(self, obj: Any) -> str:
        return ""

    # -- the action pages --------------------------------------------------

    def get_urls(self) -> list[Any]:
        info = self.opts.app_label, self.opts.model_name
        custom = [
            path(
                "<path:object_id>/do/<str:name>/",
                self.admin_site.admin_view(self.action_view),
                name="{}_{}_action".format(*info),
            )
        ]
        return custom + super().get_urls()

    def _action_url(self, obj: Any, name: str) -> str:
        info = self.opts.app_label, self.opts.model_name
        return reverse(f"{self.admin_site.name}:{info[0]}_{info[1]}_action", args=[quote(obj.pk), name])

    def _change_url(self, obj: Any) -> str:
        info = self.opts.app_label, self.opts.model_name
        return reverse(f"{self.admin_site.name}:{info[0]}_{info[1]}_change", args=[quote(obj.pk)])

    def action_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        action = next((a for a in self.actions_offered if a.name == name), None)
        if action is None:
            raise Http404(f"No action called {name!r}.")
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404("No such record, or not one you can see.")
        change_url = self._change_url(obj)
        if not action.offered(obj, request.user):
            messages.error(request, f"You cannot {action.label.lower()} this record as it stands.")
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            form = action.form_class(obj, request.POST)
            if form.is_valid():
                try:
                    action.run(obj, request.user, form.cleaned_data)
                except workflow.TransitionRefused as exc:
                    messages.error(request, exc.message)
                    return HttpResponseRedirect(change_url)
                except ValidationError as exc:
                    form.add_workflow_errors(exc)
                else:
                    messages.success(request, f"{action.label}: done.")
                    return HttpResponseRedirect(change_url)
        elif request.method == "GET":
            form = action.form_class(obj)
        else:
            return HttpResponse(status=405, headers={"Allow": "GET, POST"})
        context = {
            **self.admin_site.each_context(request),
            "title": f"{action.label}: {obj}",
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "original": obj,
            "action": action,
            "form": form,
            "media": self.media + form.media,
            "change_url": change_url,
            "status_words": self.status_words(obj),
            "has_view_permission": self.has_view_permission(request, obj),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.action_template, context)


def _is_staff(obj: Any, user: Any) -> bool:
    return roles.is_staff_reviewer(user)


# ---------------------------------------------------------------------------
# Emergency uses
# ---------------------------------------------------------------------------


@admin.register(EmergencyUse)
class EmergencyUseAdmin(OversightAdmin):
    """Recorded by the agency's liaison or by staff; not changed afterwards (the report is a request)."""

    form = EmergencyUseForm
    list_display = ("used_on", "agency", "technology", "report_due_on", "report_state", "is_demo")
    list_filter = (("agency", admin.RelatedOnlyFieldListFilter), "technology__category", "is_demo")
    search_fields = ("agency__name", "technology__name", "circumstances")
    date_hierarchy = "used_on"
    list_select_related = ("agency", "technology", "report")
    record_fields = (
        "agency",
        "technology",
        "ordinance",
        "used_on",
        "ended_on",
        "circumstances",
        "language",
        "report_due_on",
        "report_link",
        "report_state",
        "overdue_since",
        "recorded_at",
        "is_demo",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[EmergencyUse]:
        queryset = super().get_queryset(request).filter(oversight.visible_in_workspace(request.user))
        return queryset.select_related("agency", "technology", "ordinance", "report")

    def has_add_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return super().has_add_permission(request) and (
            roles.is_staff_reviewer(user) or bool(roles.liaison_agency_ids(user))
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A recorded use is a fact; its report is filed as an emergency-use request.
        return obj is None and super().has_change_permission(request, obj)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return EmergencyUseForm.Meta.fields if obj is None else self.record_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.record_fields

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "agency" and not roles.is_staff_reviewer(request.user):
            kwargs["queryset"] = Agency.objects.filter(pk__in=roles.liaison_agency_ids(request.user))
        elif db_field.name == "ordinance":
            kwargs["queryset"] = Ordinance.objects.in_force()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: EmergencyUse, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            saved = oversight.record_emergency_use(
                request.user,
                data["agency"],
                data["technology"],
                data["ordinance"],
                data["used_on"],
                data["circumstances"],
                ended_on=data.get("ended_on"),
                language=data.get("language") or None,
            )
        except (ValidationError, workflow.TransitionRefused) as exc:
            raise WorkflowRejected(exc) from exc
        self._adopt(obj, saved)

    @admin.display(description="Report")
    def report_state(self, obj: EmergencyUse) -> str:
        return EMERGENCY_REPORT_STATES[oversight.emergency_report_state(obj)]

    @admin.display(description="Report request")
    def report_link(self, obj: EmergencyUse) -> str:
        if obj.report is None:
            return "Not filed yet"
        url = reverse(f"{self.admin_site.name}:ordinances_request_change", args=[quote(obj.report.pk)])
        return format_html('<a href="{}">{}</a>', url, obj.report.reference)

    def status_words(self, obj: EmergencyUse) -> str:
        return f"Report: {self.report_state(obj).lower()}"

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if (
            obj is not None
            and obj.pk
            and obj.report is None
            and roles.is_liaison_for(request.user, obj.agency)
        ):
            # The report is an emergency-use request; start it with this use's facts filled in.
            query = {
                "kind": Request.Kind.EMERGENCY_REPORT,
                "agency": obj.agency_id,
                "technology": obj.technology_id,
                "ordinance": obj.ordinance_id,
                "emergency_used_on": obj.used_on.isoformat(),
            }
            add_url = reverse(f"{self.admin_site.name}:ordinances_request_add")
            context["file_report_url"] = add_url + "?" + "&".join(f"{k}={v}" for k, v in query.items())
        return super().render_change_form(request, context, add, change, form_url, obj)


# ---------------------------------------------------------------------------
# Violations
# ---------------------------------------------------------------------------


def _update_violation(obj: Violation, user: Any, data: dict[str, Any]) -> Violation:
    return oversight.update_violation(
        obj,
        user,
        status=data.get("status") or None,
        investigation=data.get("investigation", ""),
        remedy=data.get("remedy", ""),
        remedied_on=data.get("remedied_on"),
        note=data.get("note", ""),
    )


@admin.register(Violation)
class ViolationAdmin(OversightAdmin):
    """Council staff record a violation, its investigation and remedy, and publish it."""

    form = ViolationForm
    list_display = ("found_on", "agency", "technology", "how_found", "status", "is_published", "is_demo")
    list_filter = ("status", "how_found", ("agency", admin.RelatedOnlyFieldListFilter), "is_demo")
    search_fields = ("agency__name", "technology__name", "description")
    date_hierarchy = "found_on"
    list_select_related = ("agency", "technology")
    record_fields = (
        "agency",
        "technology",
        "ordinance",
        "request",
        "description",
        "occurred_on",
        "found_on",
        "how_found",
        "status",
        "investigation",
        "remedy",
        "remedied_on",
        "published_at",
        "created_at",
        "language",
        "is_demo",
    )
    actions_offered = (
        Action(
            "update",
            "Update the investigation",
            "Record the status, what the investigation found and what was done about it.",
            ViolationUpdateForm,
            _is_staff,
            _update_violation,
        ),
        Action(
            "publish",
            "Publish",
            "Make the violation public: anyone can then read it on the portal. This cannot be undone.",
            NoteForm,
            lambda obj, user: roles.is_staff_reviewer(user) and obj.published_at is None,
            lambda obj, user, data: oversight.publish_violation(obj, user, data.get("note", "")),
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Violation]:
        user = request.user
        if roles.is_staff_reviewer(user) or roles.in_group(user, roles.CLERKS):
            queryset = super().get_queryset(request)
        else:
            # Anyone else sees only what the public sees.
            queryset = Violation.objects.public()
        return queryset.select_related("agency", "technology", "ordinance")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The record is changed through the buttons on its page, never by editing it.
        return obj is None and super().has_change_permission(request, obj)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ViolationForm.Meta.fields if obj is None else self.record_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.record_fields

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "request":
            kwargs["queryset"] = Request.objects.filter(status__in=oversight.EVER_APPROVED)
        elif db_field.name == "ordinance":
            kwargs["queryset"] = Ordinance.objects.in_force()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Violation, form: Any, change: bool) -> None:
        fields = {name: form.cleaned_data.get(name) for name in ViolationForm.Meta.fields}
        try:
            saved = oversight.record_violation(request.user, **fields)
        except (ValidationError, workflow.TransitionRefused) as exc:
            raise WorkflowRejected(exc) from exc
        self._adopt(obj, saved)

    @admin.display(boolean=True, description="Published")
    def is_published(self, obj: Violation) -> bool:
        return obj.is_public

    def status_words(self, obj: Violation) -> str:
        public = "published" if obj.is_public else "not published"
        return f"{obj.get_status_display()}, {public}"


# ---------------------------------------------------------------------------
# Annual reports
# ---------------------------------------------------------------------------


def _report_editable(obj: AnnualReport, user: Any) -> bool:
    return oversight.report_may_edit(obj, user)


def _submitted(obj: AnnualReport, user: Any) -> bool:
    return roles.is_staff_reviewer(user) and obj.status == AnnualReport.Status.SUBMITTED


@admin.register(AnnualReport)
class AnnualReportAdmin(OversightAdmin):
    """Started, written and submitted by the agency's liaison; returned or accepted by staff."""

    list_display = ("year", "agency", "technology", "status", "due_on", "overdue", "submitted_at", "is_demo")
    list_filter = ("status", "year", ("agency", admin.RelatedOnlyFieldListFilter), "is_demo")
    search_fields = ("agency__name", "technology__name")
    list_select_related = ("agency", "technology")
    record_fields = (
        "agency",
        "technology",
        "ordinance",
        "year",
        "status",
        "due_on",
        "overdue_since",
        "submitted_at",
        "accepted_on",
        "language",
        "is_demo",
    )
    actions_offered = (
        Action(
            "submit",
            "Submit to the council",
            "Submit the report as it stands (save your changes first). From now on it is public.",
            NoteForm,
            _report_editable,
            lambda obj, user, data: oversight.submit_report(obj, user, data.get("note", "")),
        ),
        Action(
            "return",
            "Return to the agency",
            "Send the report back for more information; the agency changes and resubmits it.",
            ReasonForm,
            _submitted,
            lambda obj, user, data: oversight.return_report(obj, user, data.get("reason", "")),
        ),
        Action(
            "accept",
            "Accept the report",
            "Accept the report as the annual report the law requires.",
            NoteForm,
            _submitted,
            lambda obj, user, data: oversight.accept_report(obj, user, data.get("note", "")),
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[AnnualReport]:
        queryset = super().get_queryset(request).select_related("agency", "technology", "ordinance")
        user = request.user
        own = Q(agency_id__in=roles.liaison_agency_ids(user))
        if roles.is_staff_reviewer(user) or roles.in_group(user, roles.CLERKS):
            # Reviewers see what the agency has submitted (or failed to), not its drafts.
            return queryset.filter(Q(submitted_at__isnull=False) | Q(overdue_since__isnull=False) | own)
        return queryset.filter(own)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and bool(roles.liaison_agency_ids(request.user))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or oversight.report_may_edit(obj, request.user)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = AnnualReportStartForm if obj is None else AnnualReportContentForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ((None, {"fields": AnnualReportStartForm.Meta.fields}),)
        return (
            ("Report", {"fields": self.record_fields}),
            ("Contents", {"fields": AnnualReport.CONTENT_FIELDS}),
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        if oversight.report_may_edit(obj, request.user):
            return self.record_fields
        return (*self.record_fields, *AnnualReport.CONTENT_FIELDS)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "agency":
            kwargs["queryset"] = Agency.objects.filter(pk__in=roles.liaison_agency_ids(request.user))
        elif db_field.name == "ordinance":
            kwargs["queryset"] = Ordinance.objects.in_force()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: AnnualReport, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            if change:
                values = {name: data[name] for name in AnnualReport.CONTENT_FIELDS if name in data}
                saved = oversight.update_report(obj, request.user, values)
            else:
                saved = oversight.start_report(
                    request.user,
                    data["agency"],
                    data["technology"],
                    data["ordinance"],
                    data["year"],
                    language=data.get("language") or None,
                )
        except (ValidationError, workflow.TransitionRefused) as exc:
            raise WorkflowRejected(exc) from exc
        self._adopt(obj, saved)

    @admin.display(boolean=True, description="Overdue")
    def overdue(self, obj: AnnualReport) -> bool:
        return obj.is_overdue

    def status_words(self, obj: AnnualReport) -> str:
        words = obj.get_status_display()
        return f"{words} (overdue)" if obj.is_overdue else words

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # The reports the law expects of the liaison's agencies that nobody has started.
        agency_ids = roles.liaison_agency_ids(request.user)
        expected = [
            e
            for e in oversight.expected_reports(timezone.localdate())
            if e.agency.pk in agency_ids and e.report is None
        ]
        return super().add_view(request, form_url, {**(extra_context or {}), "expected_reports": expected})


# ---------------------------------------------------------------------------
# The oversight timeline: read-only, like the request timeline
# ---------------------------------------------------------------------------


@admin.register(OversightEvent)
class OversightEventAdmin(ReadOnlyAdmin):
    """The append-only record of emergency uses, violations and annual reports. Nobody edits it."""

    list_display = ("created_at", "record", "action", "actor_name", "actor_role", "is_public")
    list_filter = ("action", "is_public", "actor_role")
    search_fields = ("actor_name", "note")
    date_hierarchy = "created_at"
    list_select_related = (
        "emergency_use__agency",
        "emergency_use__technology",
        "violation__agency",
        "violation__technology",
        "annual_report__agency",
        "annual_report__technology",
    )
    fields = (
        "created_at",
        "emergency_use",
        "violation",
        "annual_report",
        "action",
        "from_status",
        "to_status",
        "actor_name",
        "actor_role",
        "data",
        "note",
        "is_public",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[OversightEvent]:
        queryset = super().get_queryset(request)
        user = request.user
        if roles.is_staff_reviewer(user) or roles.in_group(user, roles.CLERKS):
            return queryset
        agency_ids = roles.liaison_agency_ids(user)
        return queryset.filter(
            Q(emergency_use__agency_id__in=agency_ids) | Q(annual_report__agency_id__in=agency_ids)
        )

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}

    @admin.display(description="Record")
    def record(self, obj: OversightEvent) -> str:
        return str(obj.emergency_use or obj.violation or obj.annual_report)
