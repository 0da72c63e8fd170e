"""
Documents filed with requests: the form that takes them and the view that serves them.

Every document is served by `document` (never straight from MEDIA_ROOT, in development as
in production), to whoever may see its request (`Request.objects.visible_to`: the public
for a submitted request, the agency's own liaisons for a draft), always as a download: a
browser never renders an upload inside the portal's origin, whatever it holds.
"""

from __future__ import annotations

import os
from typing import Any

from django import forms
from django.core.exceptions import SuspiciousFileOperation
from django.db import models
from django.http import FileResponse, Http404, HttpRequest
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from ordinances import uploads
from ordinances.models import Attachment, Request

# A policy for the file itself, should anything render it anyway: no script, no requests,
# a unique origin.
DOCUMENT_CSP = "default-src 'none'; sandbox"


class DocumentLink:
    """The "currently" link of the admin's file input: the document's address, not MEDIA_URL."""

    def __init__(self, attachment: Attachment) -> None:
        self.url = attachment.href
        self.name = attachment.file.name

    def __str__(self) -> str:
        return os.path.basename(self.name)


class DocumentInput(forms.ClearableFileInput):
    def format_value(self, value: Any) -> Any:
        instance = getattr(value, "instance", None)
        if isinstance(instance, Attachment) and instance.pk and value:
            return DocumentLink(instance)
        return super().format_value(value)


def _formfield(field: models.Field, **kwargs: Any) -> forms.Field | None:
    # Links typed without a scheme are taken as https, as everywhere in the workspace.
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class AttachmentForm(forms.ModelForm):
    """
    A document filed with a request (the admin's inline). The file is checked by content in
    `Attachment.clean`, which the form runs, so every way in meets the same check, once.
    """

    class Meta:
        model = Attachment
        formfield_callback = _formfield
        fields = ("title", "file", "url")
        widgets = {"file": DocumentInput(attrs={"accept": ",".join(uploads.ALLOWED_EXTENSIONS)})}


def _served_kind(attachment: Attachment) -> uploads.Kind | None:
    """The kind of the stored file, looked at again: a file stored before the check is not trusted."""
    name = attachment.file.name
    with attachment.file.storage.open(name, "rb") as stored:
        code = uploads.detect(stored, name)
    kind = uploads.KINDS.get(code or "")
    if kind is None or os.path.splitext(name)[1].lower() not in kind.extensions:
        return None
    return kind


@require_safe
def document(request: HttpRequest, pk: int, filename: str) -> FileResponse:
    attachment = (
        Attachment.objects.filter(pk=pk, request__in=Request.objects.visible_to(request.user))
        .select_related("request")
        .first()
    )
    if attachment is None or not attachment.file or os.path.basename(attachment.file.name) != filename:
        raise Http404("No such document, or not one you can see.")
    try:
        kind = _served_kind(attachment)
        handle = attachment.file.storage.open(attachment.file.name, "rb")
    except (OSError, SuspiciousFileOperation) as exc:
        raise Http404("The document's file is missing.") from exc
    # FileResponse streams from the app server; X-Sendfile/X-Accel-Redirect or signed URLs
    # of an object store are the scale-out path (docs/deployment.md, "Uploaded documents").
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=filename,
        content_type=kind.content_type if kind else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOCUMENT_CSP
    # A draft's document is for its agency alone: no shared cache may keep it.
    if attachment.request.is_public:
        patch_cache_control(response, public=True, max_age=300)
    else:
        patch_cache_control(response, private=True, no_store=True)
    return response
