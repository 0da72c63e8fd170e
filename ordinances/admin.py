"""
The review workspace: council staff review requests here, agencies' liaisons draft them,
clerks keep the ordinances, agencies and inventory up to date.

Nothing here writes a Request's state, a Decision, a Condition's status or an Event
itself: every such change goes through `ordinances.workflow`, and its refusals come back
as form errors or admin messages.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, strip_spaces_between_tags
from django.utils.safestring import mark_safe

from ordinances import dashboard, participation, process, roles, workflow
from ordinances.admin_forms import (
    DECISIONS,
    ConditionNoteForm,
    ConditionStatusForm,
    NoteForm,
    RequestAdminForm,
    TransitionForm,
    error_messages,
)
from ordinances.documents import AttachmentForm
from ordinances.models import (
    Agency,
    Attachment,
    CategoryRule,
    Condition,
    Deadline,
    Decision,
    Event,
    Ordinance,
    ProcessStep,
    Request,
    Source,
    StatutoryException,
    Technology,
    TechnologyUse,
)
from ordinances.templatetags.portal import event_facts
from portal import auth

# Links typed without a scheme are taken as https (Django 6's default, and the portal's).
URL_FIELDS: dict[type[models.Field], dict[str, Any]] = {models.URLField: {"assume_scheme": "https"}}

WORKFLOW_FIELDS = (
    "reference",
    "status",
    "created_by",
    "created_at",
    "submitted_at",
    "comment_period_ends_on",
    "hearing_at",
    "updated_at",
    "is_demo",
)


def add_messages(request: HttpRequest, exc: ValidationError | workflow.TransitionRefused) -> None:
    for messages_ in error_messages(exc).values():
        for message in messages_:
            messages.error(request, message)


NOT_YOURS = "This {noun} belongs to another agency, so it is not yours to open."


class NotYoursMixin:
    """
    For a ModelAdmin whose queryset keeps each person to their own records (a liaison to
    their agencies'): a record that exists but is someone else's answers 403 "not yours"
    (the portal's refusal page, `portal.errors`), not Django's "Perhaps it was deleted?";
    one that truly does not exist still says so. Put it before `admin.ModelAdmin`.
    """

    def not_yours_message(self, request: HttpRequest, obj: Any) -> str:
        return NOT_YOURS.format(noun=obj._meta.verbose_name)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)  # type: ignore[misc]
        if obj is None:
            model = self.model  # type: ignore[attr-defined]
            field = model._meta.pk if from_field is None else model._meta.get_field(from_field)
            try:
                other = model._default_manager.filter(**{field.name: field.to_python(object_id)}).first()
            except (ValidationError, ValueError):
                other = None
            if other is not None:
                raise PermissionDenied(self.not_yours_message(request, other))
        return obj


# ---------------------------------------------------------------------------
# Ordinances, agencies, technologies, the inventory and sources: clerks' records
# ---------------------------------------------------------------------------


class CategoryRuleInline(admin.TabularInline):
    model = CategoryRule
    extra = 0
    fields = ("category", "rule", "note")


class StatutoryExceptionInline(admin.StackedInline):
    model = StatutoryException
    extra = 0
    fields = ("title", "slug", "category", "description", "verified", "verification_note")
    prepopulated_fields = {"slug": ("title",)}


class ProcessStepFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        kinds = [
            form.cleaned_data.get("kind")
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if sum(kind in ProcessStep.DECISION_KINDS for kind in kinds) > 1:
            raise ValidationError("An ordinance decides one way: either a vote or publication, not both.")


class ProcessStepInline(admin.TabularInline):
    """The ordinance's review path; which steps it has opens the workflow's rows for them."""

    model = ProcessStep
    formset = ProcessStepFormSet
    extra = 0
    fields = ("kind", "body", "seats", "majority", "verified", "note")


class DeadlineInline(admin.TabularInline):
    """Every deadline the ordinance sets; `ordinances.deadlines` computes due dates from these."""

    model = Deadline
    extra = 0
    fields = (
        "kind",
        "amount",
        "unit",
        "counted_from",
        "month",
        "day",
        "extension_amount",
        "verified",
        "note",
    )


@admin.register(Ordinance)
class OrdinanceAdmin(admin.ModelAdmin):
    list_display = (
        "file_number",
        "title",
        "jurisdiction",
        "status",
        "adopted_on",
        "effective_on",
    )
    list_filter = ("status", "jurisdiction", "is_demo")
    search_fields = ("file_number", "title", "code_citation", "author")
    prepopulated_fields = {"slug": ("title",)}
    filter_horizontal = ("sources",)
    inlines = (CategoryRuleInline, StatutoryExceptionInline, ProcessStepInline, DeadlineInline)
    fieldsets = (
        (None, {"fields": ("file_number", "slug", "title", "jurisdiction", "code_citation", "status")}),
        ("Dates", {"fields": ("introduced_on", "adopted_on", "effective_on")}),
        ("Vote", {"fields": ("author", "votes_yes", "votes_no", "votes_abstain", "votes_absent")}),
        ("Text", {"fields": ("summary", "full_text", "unverified_note", "language")}),
        ("Sources", {"fields": ("sources", "is_demo")}),
    )

    # Every change to the process (rules, exceptions, steps, deadlines) is kept as the
    # ordinance's public change history: a snapshot before the save, a diff after it.
    def save_model(self, request: HttpRequest, obj: Ordinance, form: Any, change: bool) -> None:
        before = process.snapshot(Ordinance.objects.get(pk=obj.pk)) if change and obj.pk else {}
        request._process_before = before  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        user = request.user
        process.record_change(
            Ordinance.objects.get(pk=form.instance.pk),
            getattr(request, "_process_before", {}),
            # The display name only: the history is public and a login is half a credential.
            actor_name=user.get_full_name() if isinstance(user, get_user_model()) else "",
            actor_role=roles.role_label(user),
            via="admin",
        )


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "covered", "is_demo")
    list_filter = ("kind", "covered", "is_demo")
    search_fields = ("name", "description")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("liaisons",)
    formfield_overrides = URL_FIELDS
    fields = ("name", "slug", "kind", "covered", "website", "description", "language", "liaisons", "is_demo")

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "liaisons":
            # Only members of the liaisons group can act as one (see roles.is_liaison_for).
            kwargs["queryset"] = (
                get_user_model().objects.filter(groups__name=roles.LIAISONS).order_by("username").distinct()
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(Technology)
class TechnologyAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "vendors", "is_demo")
    list_filter = ("category", "is_demo")
    search_fields = ("name", "description", "vendors")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(TechnologyUse)
class TechnologyUseAdmin(admin.ModelAdmin):
    list_display = ("agency", "technology", "vendor_product", "in_use_since", "annual_cost", "is_demo")
    list_filter = (("agency", admin.RelatedOnlyFieldListFilter), "technology__category", "is_demo")
    search_fields = ("agency__name", "technology__name", "vendor_product", "data_sharing_recipients")
    list_select_related = ("agency", "technology")
    filter_horizontal = ("sources",)


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("title", "publisher", "published_on")
    list_filter = ("publisher",)
    search_fields = ("title", "publisher", "url")
    date_hierarchy = "published_on"
    formfield_overrides = URL_FIELDS


# ---------------------------------------------------------------------------
# Requests: the review queue
# ---------------------------------------------------------------------------


class AttachmentInline(admin.TabularInline):
    """Documents filed with a request; the agency adds them while the request is editable."""

    model = Attachment
    # Files are checked by content, and linked to the view that checks who may see them.
    form = AttachmentForm
    extra = 0
    fields = ("title", "file", "url", "uploaded_at")
    readonly_fields = ("uploaded_at",)
    formfield_overrides = URL_FIELDS

    def _agency_may_edit(self, request: HttpRequest, obj: Request | None) -> bool:
        return obj is not None and workflow.agency_may_edit(obj, request.user)

    def has_add_permission(self, request: HttpRequest, obj: Request | None = None) -> bool:
        return super().has_add_permission(request, obj) and self._agency_may_edit(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Request | None = None) -> bool:
        return super().has_change_permission(request, obj) and self._agency_may_edit(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Request | None = None) -> bool:
        # Once the council has seen a document it stays on the record.
        return (
            obj is not None
            and super().has_delete_permission(request, obj)
            and self._agency_may_edit(request, obj)
            and not obj.is_public
        )


NOT_SUBMITTED = (
    "This request is a draft its agency has not submitted, so it is not yours to open yet: "
    "it reaches council staff when the agency submits it."
)


def _short_date(day: datetime.date) -> str:
    return format_html('<time datetime="{}">{}</time>', day.isoformat(), day.isoformat())


class WorkflowRejected(Exception):
    """Raised from save_model so the admin rolls back and shows the form again with the refusal."""

    def __init__(self, error: ValidationError | workflow.TransitionRefused) -> None:
        super().__init__(str(error))
        self.error = error


@admin.register(Request)
class RequestAdmin(NotYoursMixin, admin.ModelAdmin):
    form = RequestAdminForm
    change_form_template = "admin/ordinances/request/change_form.html"
    transition_template = "admin/ordinances/request/transition_form.html"
    # Fits 1280 px between the admin's menu and the filters: the agency, kind and technology
    # go under the title, dates are short.
    list_display = (
        "reference",
        "title_and_subject",
        "status",
        "submitted_on",
        "deadline",
        "overdue",
    )
    list_display_links = ("reference", "title_and_subject")
    list_filter = (
        "status",
        "kind",
        ("agency", admin.RelatedOnlyFieldListFilter),
        "technology__category",
    )
    search_fields = ("reference", "title", "agency__name")
    date_hierarchy = "created_at"
    list_select_related = ("agency", "technology", "ordinance")
    list_per_page = 50
    readonly_fields = (*WORKFLOW_FIELDS, "is_overdue")
    agency_fieldsets = (
        (
            "Request",
            {
                "fields": (
                    "kind",
                    "agency",
                    "technology",
                    "ordinance",
                    "exception",
                    "renews",
                    "title",
                    "language",
                )
            },
        ),
        (
            "What the agency asks for",
            {
                "fields": (
                    "purpose",
                    "justification",
                    "alternatives_considered",
                    "data_collected",
                    "retention",
                    "sharing",
                    "requested_term_days",
                    "emergency_used_on",
                )
            },
        ),
    )
    record_fieldset = (
        "Record",
        {
            "fields": (
                "reference",
                "status",
                "created_by",
                "created_at",
                "submitted_at",
                "comment_period_ends_on",
                "hearing_at",
                "is_overdue",
                "updated_at",
                "is_demo",
            ),
            "description": "Kept by the workflow; use the buttons below to move the request on.",
        },
    )

    class Media:
        css = {"all": ["admin_portal.css"]}

    # -- who sees and changes what -----------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[Request]:
        # The Deadline and Overdue columns read each request's deadlines from its ordinance's
        # rows and its decision; overdue conditions and emergency reports come as annotations.
        queryset = (
            Request.objects.in_workspace_of(request.user)
            .annotate(**dashboard.overdue_annotations(timezone.localdate()))
            .select_related("agency", "technology", "ordinance", "decision")
            .prefetch_related("ordinance__deadlines")
        )
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    def _agency_may_edit(self, request: HttpRequest, obj: Request) -> bool:
        return workflow.agency_may_edit(obj, request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Only liaisons start requests, and only for their own agencies.
        return super().has_add_permission(request) and bool(roles.liaison_agency_ids(request.user))

    def has_change_permission(self, request: HttpRequest, obj: Request | None = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        if obj is None:
            return bool(roles.liaison_agency_ids(request.user))
        return self._agency_may_edit(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Request | None = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Request | None = None) -> tuple[str, ...]:
        if obj is not None and not self._agency_may_edit(request, obj):
            return (*WORKFLOW_FIELDS, "is_overdue", *Request.AGENCY_FIELDS)
        return (*WORKFLOW_FIELDS, "is_overdue")

    def get_fieldsets(self, request: HttpRequest, obj: Request | None = None) -> Any:
        if obj is None:
            return self.agency_fieldsets
        return (*self.agency_fieldsets, self.record_fieldset)

    def get_inlines(self, request: HttpRequest, obj: Request | None) -> list[type]:
        return [AttachmentInline] if obj is not None else []

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        agency_ids = roles.liaison_agency_ids(request.user)
        if db_field.name == "agency":
            kwargs["queryset"] = Agency.objects.filter(pk__in=agency_ids)
        elif db_field.name == "renews":
            kwargs["queryset"] = Request.objects.renewable().filter(agency_id__in=agency_ids)
        elif db_field.name == "exception":
            kwargs["queryset"] = StatutoryException.objects.select_related("ordinance")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request: HttpRequest, obj: Request | None = None, change: bool = False, **kwargs: Any):
        form = super().get_form(request, obj, change, **kwargs)
        # modelform_factory made a fresh class for this request; a refusal from a first
        # attempt to save is shown on it (see changeform_view).
        form.workflow_errors = getattr(request, "_workflow_errors", None)  # type: ignore[attr-defined]
        return form

    @admin.display(boolean=True, description="Overdue")
    def is_overdue(self, obj: Request) -> bool:
        # Its own report late, a condition overdue, or the report of an emergency use overdue.
        return dashboard.is_overdue(obj)

    @admin.display(description="Overdue")
    def overdue(self, obj: Request) -> str:
        # Words, not a red cross on every request that is on time.
        return format_html('<span class="overdue-flag">{}</span>', "Overdue") if self.is_overdue(obj) else ""

    @admin.display(description="Title", ordering="title")
    def title_and_subject(self, obj: Request) -> str:
        return format_html(
            '{}<span class="queue-subject">{} · {} · {}</span>',
            obj.title,
            obj.agency.name,
            obj.get_kind_display(),
            obj.technology.name,
        )

    @admin.display(description="Submitted", ordering="submitted_at")
    def submitted_on(self, obj: Request) -> str:
        if obj.submitted_at is None:
            return "-"
        return _short_date(timezone.localdate(obj.submitted_at))

    @admin.display(description="Deadline")
    def deadline(self, obj: Request) -> str:
        now = timezone.now()
        due = dashboard.next_deadline(obj, timezone.localdate(now), now)
        return _short_date(due) if due else "-"

    def not_yours_message(self, request: HttpRequest, obj: Request) -> str:
        # Staff see every request once it is submitted; before that it is the agency's alone.
        if obj.status == Request.Status.DRAFT and roles.is_staff_reviewer(request.user):
            return NOT_SUBMITTED
        return super().not_yours_message(request, obj)

    def view_on_site(self, obj: Request) -> str | None:
        # Drafts are not on the public site.
        return obj.get_absolute_url() if obj.is_public else None

    # -- saving through the workflow ---------------------------------------

    def save_model(self, request: HttpRequest, obj: Request, form: RequestAdminForm, change: bool) -> None:
        values = form.agency_values()
        try:
            if change:
                saved = workflow.update_draft(obj, by=request.user, fields=values)
            else:
                saved = workflow.create_draft(by=request.user, **values)
        except (ValidationError, workflow.TransitionRefused) as exc:
            raise WorkflowRejected(exc) from exc
        # The admin goes on with `obj` (logging, redirect): give it the saved record.
        for field in Request._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False
        obj._state.db = saved._state.db

    def delete_model(self, request: HttpRequest, obj: Request) -> None:
        raise PermissionDenied("Requests are never deleted; withdraw them instead.")

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        # Documents go on the record through the workflow, which writes their Events.
        if formset.model is not Attachment:
            return super().save_formset(request, form, formset, change)
        try:
            for attachment in formset.save(commit=False):
                attachment.request = form.instance
                workflow.save_document(attachment, by=request.user)
            for attachment in formset.deleted_objects:
                workflow.remove_document(attachment, by=request.user)
        except (ValidationError, workflow.TransitionRefused) as exc:
            raise WorkflowRejected(exc) from exc
        return None

    def _save_then_transition(self, request: HttpRequest, obj: Request) -> HttpResponse | None:
        """
        "Save and submit" on the change form: the typed text is saved first (save_model ran),
        then the transition; a refusal is shown on the saved request, so nothing typed is lost.
        """
        name = request.POST.get("_save_and_transition")
        if not name:
            return None
        try:
            workflow.perform(name, obj, by=request.user)
        except (ValidationError, workflow.TransitionRefused) as exc:
            messages.warning(
                request, f"Your changes to {obj.reference} were saved, but it was not submitted:"
            )
            add_messages(request, exc)
        else:
            messages.success(request, f"{obj.reference} is saved and now {obj.get_status_display().lower()}.")
        return HttpResponseRedirect(self._change_url(obj))

    def response_add(
        self, request: HttpRequest, obj: Request, post_url_continue: str | None = None
    ) -> HttpResponse:
        return self._save_then_transition(request, obj) or super().response_add(
            request, obj, post_url_continue
        )

    def response_change(self, request: HttpRequest, obj: Request) -> HttpResponse:
        return self._save_then_transition(request, obj) or super().response_change(request, obj)

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
            # The transaction of the first attempt is rolled back; validate the same data
            # again, this time with the workflow's refusal on the form, and show it.
            request._workflow_errors = rejected.error  # type: ignore[attr-defined]
            try:
                return super().changeform_view(request, object_id, form_url, extra_context)
            except WorkflowRejected:  # pragma: no cover - the form is invalid the second time
                add_messages(request, rejected.error)
                return HttpResponseRedirect(request.get_full_path())

    # -- the change page: transitions, timeline, decision, notes -----------

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Request | None = None,
    ) -> HttpResponse:
        if obj is not None and obj.pk:
            context.update(self.review_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def review_context(self, request: HttpRequest, obj: Request) -> dict[str, Any]:
        user = request.user
        events = obj.events.seen_in_workspace_by(user).select_related("actor").order_by("created_at", "pk")
        decision = Decision.objects.filter(request=obj).prefetch_related("conditions").first()
        can_review = roles.is_staff_reviewer(user)
        editable = workflow.agency_may_edit(obj, user)
        transitions = [
            {
                "name": t.name,
                "label": t.label,
                "description": t.description,
                "url": reverse(
                    f"{self.admin_site.name}:ordinances_request_transition", args=[quote(obj.pk), t.name]
                ),
                # While the agency's form is open above, a transition that takes no input
                # saves the form first (the button submits it), so typed text is never lost.
                "saves_first": editable and not t.inputs_required,
            }
            for t in workflow.available_transitions(obj, user)
        ]
        conditions = list(decision.conditions.all()) if decision else []
        for condition in conditions:
            condition.status_url = reverse(  # type: ignore[attr-defined]
                f"{self.admin_site.name}:ordinances_request_condition", args=[quote(obj.pk), condition.pk]
            )
        return {
            "transitions": transitions,
            "timeline": list(events),
            "decision": decision,
            "conditions": conditions,
            "can_add_note": can_review,
            "can_set_conditions": can_review,
            "note_form": NoteForm(auto_id="id_note_%s"),
            "note_url": reverse(f"{self.admin_site.name}:ordinances_request_note", args=[quote(obj.pk)]),
            "condition_status_choices": Condition.Status.choices,
            # Public comment: counts by status, and the comments themselves (ordinances/participation.py).
            **participation.for_review(obj, user),
            "comments_url": reverse(f"{self.admin_site.name}:ordinances_comment_changelist")
            + f"?request__id__exact={obj.pk}",
        }

    def get_urls(self) -> list[Any]:
        def wrap(view: Any) -> Any:
            return self.admin_site.admin_view(view)

        custom = [
            path(
                "<path:object_id>/transition/<str:name>/",
                wrap(self.transition_view),
                name="ordinances_request_transition",
            ),
            path("<path:object_id>/note/", wrap(self.note_view), name="ordinances_request_note"),
            path(
                "<path:object_id>/condition/<int:condition_id>/",
                wrap(self.condition_view),
                name="ordinances_request_condition",
            ),
        ]
        return custom + super().get_urls()

    def _visible_object(self, request: HttpRequest, object_id: str) -> Request:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404("No such request, or not one you can see.")
        return obj

    def _change_url(self, obj: Request) -> str:
        return reverse(f"{self.admin_site.name}:ordinances_request_change", args=[quote(obj.pk)])

    def transition_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        transition = workflow.TRANSITIONS.get(name)
        if transition is None:
            raise Http404(f"No transition called {name!r}.")
        obj = self._visible_object(request, object_id)
        change_url = self._change_url(obj)
        refused = workflow.refusal(transition, obj, request.user)
        if refused is not None:
            messages.error(request, refused.message)
            return HttpResponseRedirect(change_url)

        # A decision asks for the password again unless it was entered lately (portal/auth.py).
        reauth = request if name in DECISIONS and not auth.password_is_recent(request) else None
        if request.method == "POST":
            form = TransitionForm(transition, obj, request.POST, reauth=reauth)
            if form.is_valid():
                try:
                    form.run(request.user)
                except workflow.TransitionRefused as exc:
                    messages.error(request, exc.message)
                    return HttpResponseRedirect(change_url)
                except ValidationError as exc:
                    form.add_workflow_errors(exc)
                else:
                    obj.refresh_from_db()
                    messages.success(
                        request,
                        f"{transition.label}: {obj.reference} is now {obj.get_status_display().lower()}.",
                    )
                    return HttpResponseRedirect(change_url)
        elif request.method == "GET":
            form = TransitionForm(transition, obj, reauth=reauth)
        else:
            return HttpResponse(status=405, headers={"Allow": "GET, POST"})

        opts = self.opts
        context = {
            **self.admin_site.each_context(request),
            "title": f"{transition.label}: {obj.reference}",
            "subtitle": obj.title,
            "opts": opts,
            "app_label": opts.app_label,
            "original": obj,
            "transition": transition,
            "target_label": transition.target_label,
            "form": form,
            "conditions": form.conditions,
            "media": self.media + form.media,
            "change_url": change_url,
            "has_view_permission": self.has_view_permission(request, obj),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.transition_template, context)

    def note_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponse(status=405, headers={"Allow": "POST"})
        obj = self._visible_object(request, object_id)
        form = NoteForm(request.POST, auto_id="id_note_%s")
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, f"Note not added: {error}")
            return HttpResponseRedirect(self._change_url(obj))
        try:
            workflow.add_note(
                obj, by=request.user, note=form.cleaned_data["note"], public=form.cleaned_data["public"]
            )
        except (ValidationError, workflow.TransitionRefused) as exc:
            add_messages(request, exc)
        else:
            visibility = "public" if form.cleaned_data["public"] else "internal"
            messages.success(request, f"Added an {visibility} note to {obj.reference}.")
        return HttpResponseRedirect(self._change_url(obj))

    def condition_view(self, request: HttpRequest, object_id: str, condition_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponse(status=405, headers={"Allow": "POST"})
        obj = self._visible_object(request, object_id)
        condition = Condition.objects.filter(pk=condition_id, decision__request=obj).first()
        if condition is None:
            raise Http404("No such condition on this request.")
        form = ConditionStatusForm(request.POST)
        if not form.is_valid():
            labels = ", ".join(str(label).lower() for label in Condition.Status.labels)
            messages.error(request, f"Condition not changed: choose one of {labels}.")
            return HttpResponseRedirect(self._change_url(obj))
        try:
            workflow.set_condition_status(
                condition, by=request.user, status=form.cleaned_data["status"], note=form.cleaned_data["note"]
            )
        except (ValidationError, workflow.TransitionRefused) as exc:
            for messages_ in error_messages(exc).values():
                for message in messages_:
                    messages.error(request, f"Condition not changed: {message}")
        else:
            messages.success(request, f"Condition marked {condition.get_status_display().lower()}.")
        return HttpResponseRedirect(self._change_url(obj))


# ---------------------------------------------------------------------------
# The record: events, decisions and conditions are read-only here
# ---------------------------------------------------------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never written through the admin: the workflow writes these records."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EventRoleFilter(admin.SimpleListFilter):
    """The role that permitted each step, by its label."""

    title = "role"
    parameter_name = "actor_role"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(role), role.label) for role in roles.Role]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Event]) -> QuerySet[Event]:
        value = self.value()
        return queryset.filter(actor_role=value) if value else queryset


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    """The append-only timeline and audit record. Nobody, superusers included, edits it."""

    # Words, not codes: choices show their labels, the role and the facts are put in words here.
    list_display = (
        "created_at",
        "request",
        "action",
        "from_status",
        "to_status",
        "actor_name",
        "role",
        "is_public",
    )
    list_filter = ("action", "is_public", EventRoleFilter, "to_status")
    search_fields = ("request__reference", "actor_name", "note")
    date_hierarchy = "created_at"
    list_select_related = ("request",)
    fields = (
        "request",
        "created_at",
        "action",
        "from_status",
        "to_status",
        "actor",
        "actor_name",
        "role",
        "facts",
        "note",
        "is_public",
    )
    readonly_fields = fields

    @admin.display(description="Role", ordering="actor_role")
    def role(self, obj: Event) -> str:
        return obj.actor_role_label

    @admin.display(description="What it produced")
    def facts(self, obj: Event) -> str:
        # The same words as the timeline's (`event_facts`).
        html = event_facts(obj.data, obj.action, obj.request)
        # The admin turns line breaks into <br>; the list needs none. Escaped by `event_facts`.
        return mark_safe(strip_spaces_between_tags(html.strip()).replace("\n", " ") or "-")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Event]:
        return super().get_queryset(request).filter(request__in=Request.objects.in_workspace_of(request.user))

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ("request", "outcome", "decided_on", "vote_summary", "effective_on", "expires_on")
    list_filter = ("outcome",)
    search_fields = ("request__reference", "request__title", "summary")
    date_hierarchy = "decided_on"
    list_select_related = ("request",)
    fields = (
        "request",
        "outcome",
        "decided_on",
        "votes_yes",
        "votes_no",
        "votes_abstain",
        "votes_absent",
        "effective_on",
        "expires_on",
        "summary",
        "language",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Decision]:
        return super().get_queryset(request).filter(request__in=Request.objects.in_workspace_of(request.user))


@admin.register(Condition)
class ConditionAdmin(ReadOnlyAdmin):
    """
    Read-only, except that staff change conditions' status through the workflow, always
    with a note: each bulk action asks for the note on a page of its own before it runs.
    """

    list_display = (
        "text_excerpt",
        "request_reference",
        "due_on",
        "status",
        "status_changed_on",
        "is_overdue",
    )
    list_filter = ("status",)
    search_fields = ("text", "decision__request__reference")
    list_select_related = ("decision__request",)
    fields = ("decision", "text", "due_on", "status", "status_changed_on")
    readonly_fields = fields
    actions = ("mark_met", "mark_waived", "mark_overdue", "mark_open")
    set_status_template = "admin/ordinances/condition/set_status.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Condition]:
        return (
            super()
            .get_queryset(request)
            .filter(decision__request__in=Request.objects.in_workspace_of(request.user))
        )

    def has_set_condition_status_permission(self, request: HttpRequest) -> bool:
        return roles.is_staff_reviewer(request.user)

    @admin.display(description="Condition")
    def text_excerpt(self, obj: Condition) -> str:
        return str(obj)

    @admin.display(description="Request", ordering="decision__request__reference")
    def request_reference(self, obj: Condition) -> str:
        return obj.decision.request.reference

    @admin.display(boolean=True, description="Overdue")
    def is_overdue(self, obj: Condition) -> bool:
        return obj.is_overdue

    def _set_status(
        self, request: HttpRequest, queryset: QuerySet[Condition], status: str, action: str
    ) -> HttpResponse | None:
        """
        First the page asking for the note (the action's form posts back here with it),
        then the change, condition by condition through the workflow.
        """
        conditions = list(queryset.select_related("decision__request").order_by("due_on", "pk"))
        label = Condition.Status(status).label.lower()
        form = ConditionNoteForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done = 0
            for condition in conditions:
                try:
                    workflow.set_condition_status(
                        condition, by=request.user, status=status, note=form.cleaned_data["note"]
                    )
                except ValidationError as exc:
                    # Bad input is the same for every condition: say so on the form, change none.
                    form.add_workflow_errors(exc)
                    break
                except workflow.TransitionRefused as exc:
                    messages.error(request, f"{condition.decision.request.reference}: {exc.message}")
                else:
                    done += 1
            if not form.errors:
                if done:
                    noun = "condition" if done == 1 else "conditions"
                    self.message_user(request, f"Marked {done} {noun} {label}.", messages.SUCCESS)
                return None
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "title": f"Mark conditions {label}",
            "subtitle": None,
            "opts": opts,
            "app_label": opts.app_label,
            "conditions": conditions,
            "status_label": label,
            "form": form,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.set_status_template, context)

    @admin.action(description="Mark selected conditions met…", permissions=["set_condition_status"])
    def mark_met(self, request: HttpRequest, queryset: QuerySet[Condition]) -> HttpResponse | None:
        return self._set_status(request, queryset, Condition.Status.MET, "mark_met")

    @admin.action(description="Waive selected conditions…", permissions=["set_condition_status"])
    def mark_waived(self, request: HttpRequest, queryset: QuerySet[Condition]) -> HttpResponse | None:
        return self._set_status(request, queryset, Condition.Status.WAIVED, "mark_waived")

    @admin.action(description="Mark selected conditions overdue…", permissions=["set_condition_status"])
    def mark_overdue(self, request: HttpRequest, queryset: QuerySet[Condition]) -> HttpResponse | None:
        return self._set_status(request, queryset, Condition.Status.OVERDUE, "mark_overdue")

    @admin.action(description="Reopen selected conditions…", permissions=["set_condition_status"])
    def mark_open(self, request: HttpRequest, queryset: QuerySet[Condition]) -> HttpResponse | None:
        return self._set_status(request, queryset, Condition.Status.OPEN, "mark_open")


# Registered in their own modules: emergency uses, violations and annual reports
# (ordinances/admin_oversight.py); public comments, staff only (ordinances/admin_participation.py).
from ordinances import admin_oversight, admin_participation  # noqa: E402,F401
