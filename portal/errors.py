"""
The refusal page (HTTP 403): why, in the site's own style. Public pages get `403.html`
(the portal's frame); the review workspace gets `admin/403.html` (the admin's frame), so
a liaison refused a page of the workspace stays in the workspace and reads why.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponseForbidden
from django.template.loader import render_to_string
from django.urls import reverse

# A reason longer than this is not one written for a person.
REASON_MAX = 300


def refusal_reason(exception: Exception | None) -> str:
    """
    The message a `PermissionDenied` was raised with, when one was written for the person
    refused (a single short sentence, as the admin and the workflow give); otherwise "".
    The templates escape it.
    """
    if exception is None or len(exception.args) != 1 or not isinstance(exception.args[0], str):
        return ""
    reason = exception.args[0].strip()
    return reason if len(reason) <= REASON_MAX and "\n" not in reason else ""


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponseForbidden:
    reason = refusal_reason(exception)
    if request.path.startswith(reverse("admin:index")):
        context = {**admin.site.each_context(request), "title": "You cannot open this page", "reason": reason}
        return HttpResponseForbidden(render_to_string("admin/403.html", context, request))
    return HttpResponseForbidden(render_to_string("403.html", {"reason": reason}, request))
