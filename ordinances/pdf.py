"""
HTML pages as PDF, with WeasyPrint (which draws text with Debian's Pango: `make` installs it).

A page's stylesheets, fonts and images are read from the static files on disk, through
Django's static files finders (or the collected files), never over the network: the PDF
needs no server running and leaks no request to anyone.
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage


class _CssNotes(logging.Filter):
    """
    Drops WeasyPrint's notes on CSS it does not apply: the site's stylesheets are written for
    screens too (media queries by width, properties it lacks), so every PDF would log dozens.
    What matters, such as a file it could not read, still reaches the log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(
            ("Ignored `", "Invalid media type", "Expected a media type")
        )


logging.getLogger("weasyprint").addFilter(_CssNotes())
# Its progress steps (parsing, layout, each page) are for debugging WeasyPrint itself.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def static_file(url: str) -> Path | None:
    """The file on disk a static URL (`/static/css/portal.css`, any host) names, or None."""
    path = unquote(urlsplit(url).path)
    prefix = "/" + urlsplit(settings.STATIC_URL).path.strip("/") + "/"
    if not path.startswith(prefix):
        return None
    name = path.removeprefix(prefix)
    if ".." in Path(name).parts:
        return None
    found = finders.find(name)
    if isinstance(found, list):
        found = found[0] if found else None
    if found:
        return Path(found)
    # A hashed name from the production manifest exists only among the collected files.
    try:
        collected = Path(staticfiles_storage.path(name))
    except NotImplementedError:
        return None
    return collected if collected.is_file() else None


def render(html: str, *, base_url: str) -> bytes:
    """`html` as a PDF; relative and absolute URLs of the site resolve against `base_url`."""
    # Imported here: WeasyPrint loads Pango when imported, and only this page needs it.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticFilesFetcher(URLFetcher):
        """Static files from disk, `data:` URLs as they are, and nothing else."""

        def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            path = static_file(url)
            if path is None:
                raise ValueError(f"Only the site's static files are read for a PDF, not {url}")
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})

    document = HTML(string=html, base_url=base_url, url_fetcher=StaticFilesFetcher())
    return document.write_pdf()
