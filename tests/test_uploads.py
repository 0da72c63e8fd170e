"""
Documents filed with requests: only the kinds the portal accepts, checked by content and
size before anything is stored, and served by a view that checks who may see the request,
always as a download (ordinances/uploads.py, ordinances/documents.py).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ordinances import uploads, workflow
from ordinances.models import Attachment

from .test_admin_review import agency_form_data, change_url

PDF = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
    b"3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 72 72]>> endobj\n"
    b"trailer <</Root 1 0 R>>\n%%EOF\n"
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="4"/></svg>'


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png() -> bytes:
    """A real 1 x 1 pixel PNG."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + _png_chunk(b"IEND", b"")
    )


def office(main_part: str, content_types: str = "application/xml") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", f'<Types><Override ContentType="{content_types}"/></Types>')
        archive.writestr(main_part, "<document/>")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media_root) -> list[str]:
    return [str(path.relative_to(media_root)) for path in media_root.rglob("*") if path.is_file()]


def upload_through_workspace(client, liaison, request, name: str, content: bytes):
    client.force_login(liaison)
    data: dict[str, Any] = {**agency_form_data(request)}
    data.update(
        {
            "attachments-TOTAL_FORMS": "1",
            "attachments-0-title": "Use policy",
            "attachments-0-url": "",
            "attachments-0-file": SimpleUploadedFile(name, content, content_type="application/pdf"),
        }
    )
    return client.post(change_url(request), data)


def file_on(request, name: str, content: bytes) -> Attachment:
    """A document on record as an agency files it, through the workflow."""
    attachment = Attachment(request=request, title="Use policy", file=ContentFile(content, name=name))
    return workflow.save_document(attachment, by=request.agency.liaisons.get())


def filed_then_submitted(make_request, name: str = "policy.pdf", content: bytes = PDF) -> Attachment:
    """A document filed with a draft that its agency then submits: public from then on."""
    draft = make_request("draft")
    attachment = file_on(draft, name, content)
    workflow.perform("submit", draft, by=draft.agency.liaisons.get())
    return attachment


# -- what is refused, and nothing stored -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        pytest.param("policy.html", HTML, "This kind of file cannot be filed", id="html"),
        pytest.param("diagram.svg", SVG, "This kind of file cannot be filed", id="svg"),
        pytest.param("policy.pdf", HTML, "This kind of file cannot be filed", id="html-named-pdf"),
        pytest.param("policy.txt", HTML, "This kind of file cannot be filed", id="html-named-txt"),
        pytest.param(
            "run.exe", b"MZ\x90\x00\x03" + b"\x00" * 60, "This kind of file cannot be filed", id="exe"
        ),
        pytest.param("photo.pdf", png(), "ends in .pdf, but its content is a PNG file", id="png-named-pdf"),
        pytest.param(
            "report.docm",
            office("word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml"),
            "Office documents with macros cannot be filed",
            id="macro-document",
        ),
    ],
)
def test_a_file_of_a_refused_kind_gets_a_form_error_and_nothing_is_stored(
    client, liaison_a, make_request, media_root, name, content, error
):
    draft = make_request("draft")

    response = upload_through_workspace(client, liaison_a, draft, name, content)

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Attachment.objects.filter(request=draft).exists()
    assert stored_files(media_root) == []


def test_a_file_over_the_size_limit_gets_a_form_error_and_nothing_is_stored(
    client, settings, liaison_a, make_request, media_root
):
    settings.PORTAL_UPLOAD_MAX_MB = 1
    draft = make_request("draft")
    content = PDF + b"%" * (1024 * 1024)

    response = upload_through_workspace(client, liaison_a, draft, "policy.pdf", content)

    assert response.status_code == 200
    assert "documents may be at most 1 MB" in response.content.decode()
    assert not Attachment.objects.filter(request=draft).exists()
    assert stored_files(media_root) == []


def test_the_workflow_refuses_a_refused_kind_however_it_is_called(make_request, media_root):
    draft = make_request("draft")

    with pytest.raises(ValidationError) as refused:
        file_on(draft, "policy.pdf", HTML)

    assert refused.value.error_dict["file"][0].code == "not_allowed"
    assert not Attachment.objects.filter(request=draft).exists()
    assert stored_files(media_root) == []


# -- what is accepted ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [pytest.param("policy.pdf", PDF, id="pdf"), pytest.param("camera.png", png(), id="png")],
)
def test_a_small_pdf_or_png_is_filed_with_the_request(
    client, liaison_a, make_request, media_root, name, content
):
    draft = make_request("draft")

    response = upload_through_workspace(client, liaison_a, draft, name, content)

    assert response.status_code == 302
    attachment = Attachment.objects.get(request=draft)
    assert attachment.file.read() == content
    assert stored_files(media_root) == [attachment.file.name]


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        pytest.param("policy.docx", office("word/document.xml"), "docx", id="docx"),
        pytest.param("costs.xlsx", office("xl/workbook.xml"), "xlsx", id="xlsx"),
        pytest.param("photo.JPG", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "jpeg", id="jpeg-upper-case"),
        pytest.param("counts.csv", "site,cameras\nNorth,4\nSödra,2\n".encode(), "csv", id="csv"),
    ],
)
def test_office_documents_images_and_text_are_recognised_by_content(name, content, kind):
    assert uploads.validate_upload(SimpleUploadedFile(name, content)) == kind


# -- how documents are served ----------------------------------------------------------------


def test_an_uploaded_document_is_linked_through_the_document_view(make_request):
    attachment = file_on(make_request("draft"), "policy.pdf", PDF)

    assert attachment.href == reverse("document", args=[attachment.pk, "policy.pdf"])


def test_the_public_downloads_a_public_requests_document_as_an_attachment_never_sniffed(client, make_request):
    attachment = filed_then_submitted(make_request)

    response = client.get(attachment.href)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"] == 'attachment; filename="policy.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_a_public_requests_page_links_its_document_to_the_view(client, make_request):
    attachment = filed_then_submitted(make_request)

    response = client.get(attachment.request.get_absolute_url())

    assert f'href="{attachment.href}"' in response.content.decode()


def test_a_file_stored_before_the_check_is_served_as_opaque_bytes(client, make_request):
    submitted = make_request("submitted")
    # As an old upload would be: written straight to storage, never through the check.
    attachment = Attachment.objects.create(
        request=submitted, title="Old page", file=ContentFile(HTML, name="old.html")
    )

    response = client.get(attachment.href)

    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="old.html"'


def test_a_document_is_not_found_under_another_file_name(client, make_request):
    attachment = filed_then_submitted(make_request)

    response = client.get(reverse("document", args=[attachment.pk, "other.pdf"]))

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("who", "status"),
    [
        pytest.param(None, 404, id="anonymous"),
        pytest.param("liaison_b", 404, id="other-agencys-liaison"),
        pytest.param("liaison_a", 200, id="owning-liaison"),
        # Staff do not see a draft until its agency submits it (Request.objects.in_workspace_of).
        pytest.param("staff", 404, id="staff"),
        pytest.param("clerk", 404, id="clerk"),
    ],
)
def test_a_drafts_document_is_for_its_agency_alone(client, request, make_request, who, status):
    attachment = file_on(make_request("draft"), "policy.pdf", PDF)
    if who:
        client.force_login(request.getfixturevalue(who))

    response = client.get(attachment.href)

    assert response.status_code == status
    if status == 200:
        assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("who", ["liaison_a", "staff", "clerk", "liaison_b"])
def test_a_submitted_requests_document_is_served_to_every_signed_in_role(client, request, make_request, who):
    attachment = filed_then_submitted(make_request)
    client.force_login(request.getfixturevalue(who))

    response = client.get(attachment.href)

    assert response.status_code == 200


def test_a_document_cannot_be_posted_to(client, make_request):
    attachment = filed_then_submitted(make_request)

    response = client.post(attachment.href)

    assert response.status_code == 405


def test_the_workspace_links_a_filed_document_to_the_document_view(client, liaison_a, make_request):
    draft = make_request("draft")
    attachment = file_on(draft, "policy.pdf", PDF)
    client.force_login(liaison_a)

    page = client.get(change_url(draft)).content.decode()

    assert f'href="{attachment.href}"' in page
    assert "/media/" not in page
