"""
The benchmark's floor: the fastest any page of this portal can be on the same server.

`make bench` (tests/bench_pages.py) measures every page's throughput as a share of this view's,
in the same run, because absolute numbers on a shared machine are noise. It does no work of
its own, but goes through the whole middleware stack, as every page does, so the share says
what a page costs beyond what every answer pays anyway. Routed only when
settings.PORTAL_BENCHMARK is on (portal/urls.py): production never has it.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def floor(request: HttpRequest) -> HttpResponse:
    """Two bytes, no template, no query of its own."""
    return HttpResponse("ok")
