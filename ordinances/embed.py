"""
Status widgets other sites may embed: a news story about a technology or a request shows
where it stands today, from the record, in a small page framed on their site.

- `/embed/technologies/<slug>/`: the rule in force for the technology's kind and where each
  agency stands with it (the status board's words).
- `/embed/requests/<reference>/`: the request's status and the next date ahead of it.

Each widget is its own small page (templates/ordinances/embed/, static/css/embed.css; no
JavaScript) that any site may frame (`ordinances.middleware.frameable`); every other page
keeps `X-Frame-Options: DENY`. It links the full record, opening in a new tab. Only public
records: a draft is a 404, as on its page. In every language (`/es/embed/...`).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from ordinances import board, progress
from ordinances.middleware import frameable
from ordinances.models import Request, Technology

# Agencies a technology's widget lists before it sends the reader to the full page.
AGENCIES_SHOWN = 5


@frameable
@require_safe
def technology_status(request: HttpRequest, slug: str) -> HttpResponse:
    technology = get_object_or_404(Technology, slug=slug)
    entries = board.for_technology(technology)
    context = {
        "technology": technology,
        "board": entries,
        "shown": entries.entries[:AGENCIES_SHOWN],
        "more": max(len(entries.entries) - AGENCIES_SHOWN, 0),
        "today": timezone.localdate(),
    }
    return render(request, "ordinances/embed/technology.html", context)


@frameable
@require_safe
def request_status(request: HttpRequest, reference: str) -> HttpResponse:
    req = get_object_or_404(
        Request.objects.public().for_list().prefetch_related("ordinance__deadlines"), reference=reference
    )
    context = {"req": req, "next": progress.next_date(req), "today": timezone.localdate()}
    return render(request, "ordinances/embed/request.html", context)
