"""
Public comments in the review workspace: council staff read them (email included) and
publish them or decline to, with a reason, through `ordinances.participation`. Nobody adds,
edits or deletes a comment here; liaisons and clerks do not see this list at all (a
request's page shows them its published comments, without emails).

Imported at the end of `ordinances/admin.py`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.text import Truncator

from ordinances import participation, roles, workflow
from ordinances.admin import add_messages
from ordinances.models import Comment


class RejectCommentsForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="Why these comments are not published. Kept on the internal record; the commenter is not told.",
        error_messages={"required": participation.REASON_REQUIRED},
    )


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("request", "submitted_at", "status", "position", "name", "excerpt")
    list_filter = ("status", ("request", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("request",)
    search_fields = ("request__reference", "name", "email", "body")
    date_hierarchy = "submitted_at"
    ordering = ("-submitted_at", "-pk")
    fields = (
        "request",
        "submitted_at",
        "status",
        "position",
        "name",
        "email",
        "body",
        "language",
        "moderated_at",
        "moderated_by",
    )
    readonly_fields = fields
    actions = ("publish_selected", "reject_selected")
    reject_template = "admin/ordinances/comment/reject.html"

    # -- staff only; nobody writes a comment here -----------------------------

    def _is_staff(self, request: HttpRequest) -> bool:
        return roles.is_staff_reviewer(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._is_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_staff(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return self._is_staff(request)

    @admin.display(description="Comment")
    def excerpt(self, obj: Comment) -> str:
        return Truncator(obj.body).chars(80)

    # -- moderation, through ordinances.participation -------------------------

    def _moderate(self, request: HttpRequest, queryset: QuerySet[Comment], verb: str, **kwargs: Any) -> None:
        function = participation.publish_comment if verb == "published" else participation.reject_comment
        done = 0
        for comment in queryset.select_related("request"):
            try:
                function(comment, by=request.user, **kwargs)
            except (ValidationError, workflow.TransitionRefused) as exc:
                add_messages(request, exc)
            else:
                done += 1
        if done:
            noun = "comment" if done == 1 else "comments"
            self.message_user(request, f"{verb.capitalize()} {done} {noun}.", messages.SUCCESS)

    @admin.action(description="Publish selected comments", permissions=["moderate"])
    def publish_selected(self, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
        self._moderate(request, queryset, "published")

    @admin.action(description="Do not publish selected comments…", permissions=["moderate"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Comment]) -> HttpResponse | None:
        """Asks for the reason on a page of its own, then declines to publish each comment."""
        form = RejectCommentsForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._moderate(request, queryset, "rejected", reason=form.cleaned_data["reason"])
            return None
        opts = self.opts
        context = {
            **self.admin_site.each_context(request),
            "title": "Do not publish these comments",
            "opts": opts,
            "app_label": opts.app_label,
            "comments": list(queryset.select_related("request")),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action": "reject_selected",
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.reject_template, context)
