"""
The choices endpoints of the agency and technology filters: `/choices/agencies/?q=pol`
answers the names the type-ahead box (`static/js/combobox.js`) suggests, as
`{"results": [{"value": slug, "label": name}]}`.

They read only what the lists show (`filters.RecordKind.records`), in one query
(`filters.suggest`), so they are a public read like any list: the conditional GET and the
anonymous page cache apply (`ordinances` namespace), and browsers and proxies may keep an
answer a little while (`Cache-Control: public`), since every keystroke of every reader asks.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from ordinances import filters

# How long a browser or a shared cache may reuse an answer: a new agency shows within a minute.
MAX_AGE = 60


def _choices(request: HttpRequest, kind: filters.RecordKind) -> JsonResponse:
    text = request.GET.get("q", "")
    if len(text) > filters.SUGGESTION_QUERY_MAX:
        message = gettext("Type at most %(max)d characters.") % {"max": filters.SUGGESTION_QUERY_MAX}
        return JsonResponse({"errors": {"q": [message]}}, status=400)
    # No name holds a NUL, and PostgreSQL refuses one in a query: nothing to ask.
    results = [] if "\x00" in text else filters.suggest(kind, text)
    return JsonResponse({"results": results})


@require_safe
@cache_control(public=True, max_age=MAX_AGE)
def agency_choices(request: HttpRequest) -> JsonResponse:
    return _choices(request, filters.AGENCIES)


@require_safe
@cache_control(public=True, max_age=MAX_AGE)
def technology_choices(request: HttpRequest) -> JsonResponse:
    return _choices(request, filters.TECHNOLOGIES)
