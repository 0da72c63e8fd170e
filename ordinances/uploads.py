"""
What a document filed with a request may be: recognised by its content, never by the name
or the content type the browser claimed.

An upload is served back to council staff (ordinances/documents.py), so a file a browser
would run (HTML, SVG, script) must never get in, whatever it is called. Each allowed kind
is recognised by its first bytes (and, for the zip-based office formats, by the parts the
zip holds); the file's extension must name the same kind, so a reader's operating system
opens it with the program its content is for. Anything else is refused with a form error.

No dependency: libmagic would recognise more kinds than the few the portal accepts, and
each kind here is a few bytes of a published format.
"""

from __future__ import annotations

import codecs
import os
import zipfile
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.utils.translation import gettext_lazy as _

# Enough of a file to recognise every kind below.
HEAD_BYTES = 64
# The parts of an office document read to tell its kind; a larger one is not what it says.
MAX_PART_BYTES = 256 * 1024
TEXT_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Kind:
    code: str
    content_type: str
    extensions: tuple[str, ...]


KINDS = {
    kind.code: kind
    for kind in (
        Kind("pdf", "application/pdf", (".pdf",)),
        Kind("png", "image/png", (".png",)),
        Kind("jpeg", "image/jpeg", (".jpg", ".jpeg")),
        Kind("gif", "image/gif", (".gif",)),
        Kind("webp", "image/webp", (".webp",)),
        Kind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)),
        Kind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)),
        Kind("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", (".pptx",)),
        Kind("odt", "application/vnd.oasis.opendocument.text", (".odt",)),
        Kind("ods", "application/vnd.oasis.opendocument.spreadsheet", (".ods",)),
        Kind("odp", "application/vnd.oasis.opendocument.presentation", (".odp",)),
        Kind("txt", "text/plain; charset=utf-8", (".txt",)),
        Kind("csv", "text/csv; charset=utf-8", (".csv",)),
    )
}

ALLOWED_EXTENSIONS = sorted({ext for kind in KINDS.values() for ext in kind.extensions})

# Office Open XML: the part each kind's main document is; ODF: the `mimetype` entry.
OOXML_MAIN_PARTS = {
    "word/document.xml": "docx",
    "xl/workbook.xml": "xlsx",
    "ppt/presentation.xml": "pptx",
}
ODF_MIMETYPES = {KINDS[code].content_type.encode(): code for code in ("odt", "ods", "odp")}

# Text a browser or an office program would take for markup or a script, at the start of a
# "plain text" file.
MARKUP_STARTS = (b"<", b"\xef\xbb\xbf<", b"#!")

ERRORS = {
    "too_large": _("The file is %(size)s MB; documents may be at most %(limit)s MB."),
    "not_allowed": _(
        "This kind of file cannot be filed. Upload a PDF, an image (PNG, JPEG, GIF or WebP), "
        "an office document (Word, Excel, PowerPoint or OpenDocument) or plain text or CSV."
    ),
    "extension": _("The file's name ends in %(extension)s, but its content is a %(kind)s file."),
    "macros": _(
        "Office documents with macros cannot be filed; save it without macros (.docx, .xlsx, .pptx)."
    ),
}


def max_bytes() -> int:
    return int(settings.PORTAL_UPLOAD_MAX_MB) * 1024 * 1024


def _read_part(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_PART_BYTES:
        return None
    with archive.open(info) as part:
        return part.read(MAX_PART_BYTES)


def _zip_kind(stream: IO[bytes]) -> str | None:
    """An office document's kind from the zip's parts; "macros" for a macro-enabled one."""
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
            odf_type = _read_part(archive, "mimetype")
            if odf_type is not None:
                return ODF_MIMETYPES.get(odf_type.strip())
            types = _read_part(archive, "[Content_Types].xml")
            if types is None:
                return None
            if b"macroEnabled" in types or any(name.endswith("vbaProject.bin") for name in names):
                return "macros"
            found = [code for part, code in OOXML_MAIN_PARTS.items() if part in names]
            return found[0] if len(found) == 1 else None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError):
        return None


def _text_kind(stream: IO[bytes], extension: str) -> str | None:
    """UTF-8 text with no NUL byte that does not open as markup or a script."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    first = True
    while chunk := stream.read(TEXT_CHUNK):
        if first and chunk.lstrip(b" \t\r\n").startswith(MARKUP_STARTS):
            return None
        first = False
        if b"\x00" in chunk:
            return None
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError:
            return None
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    if first:  # empty
        return None
    return "csv" if extension == ".csv" else "txt"


def detect(stream: IO[bytes], name: str = "") -> str | None:
    """
    The kind of the file in `stream` (a code of KINDS, or "macros"), or None for anything
    the portal does not accept. Only text is told apart by `name` (.txt or .csv): the two
    are the same bytes. Leaves the stream at its start.
    """
    extension = os.path.splitext(name)[1].lower()
    stream.seek(0)
    head = stream.read(HEAD_BYTES)
    stream.seek(0)
    try:
        if head.startswith(b"%PDF-"):
            return "pdf"
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return "png"
        if head.startswith(b"\xff\xd8\xff"):
            return "jpeg"
        if head.startswith((b"GIF87a", b"GIF89a")):
            return "gif"
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return "webp"
        if head.startswith(b"PK\x03\x04"):
            return _zip_kind(stream)
        if extension in (".txt", ".csv"):
            return _text_kind(stream, extension)
        return None
    finally:
        stream.seek(0)


def validate_upload(upload: File) -> str:
    """
    Refuse a file too large or of a kind the portal does not accept (ValidationError with
    the code of ERRORS); return its kind's code.
    """
    limit = max_bytes()
    size = upload.size
    if size is not None and size > limit:
        raise ValidationError(
            ERRORS["too_large"],
            code="too_large",
            params={"size": f"{size / 1024 / 1024:.1f}", "limit": settings.PORTAL_UPLOAD_MAX_MB},
        )
    name = os.path.basename(upload.name or "")
    upload.open("rb")
    kind = detect(upload, name)
    if kind == "macros":
        raise ValidationError(ERRORS["macros"], code="macros")
    if kind is None:
        raise ValidationError(ERRORS["not_allowed"], code="not_allowed")
    extension = os.path.splitext(name)[1].lower()
    if extension not in KINDS[kind].extensions:
        raise ValidationError(
            ERRORS["extension"],
            code="extension",
            params={"extension": extension or _("no extension"), "kind": kind.upper()},
        )
    return kind
