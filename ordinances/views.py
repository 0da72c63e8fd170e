"""
Public pages. Anyone may read them without an account; they work without JavaScript.

Views stay thin: visibility comes from the querysets (`Request.objects.public()`),
filtering from `ordinances.filters`, statuses from the models.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import DatabaseError, connection
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_filters import FilterSet

from ordinances import board, filters, progress
from ordinances import search as site_search
from ordinances.models import (
    Agency,
    Event,
    Ordinance,
    Request,
    RequestQuerySet,
    Technology,
    TechnologyUse,
    rule_in_force_subquery,
)

RECENT = 10


def _filtered_page(
    request: HttpRequest, filterset_class: type[FilterSet], queryset: QuerySet
) -> tuple[FilterSet, Page, int]:
    """Filter and paginate a list. Bad filter values give a 400 and no rows, not a 500."""
    filterset = filterset_class(request.GET or None, queryset=queryset, request=request)
    if filterset.is_bound and not filterset.is_valid():
        rows, status = queryset.none(), 400
    else:
        rows, status = filterset.qs, 200
    page = Paginator(rows, settings.PORTAL_PAGE_SIZE).get_page(request.GET.get("page"))
    return filterset, page, status


def _without_empty_parameters(request: HttpRequest) -> str | None:
    """
    The same list's address without the empty parameters a submitted filter form sends
    (`?q=&status=approved` becomes `?status=approved`), or None when there are none, so
    every filtered list has one clean address to share.
    """
    sent = [(key, value) for key, values in request.GET.lists() for value in values]
    kept = [(key, value) for key, value in sent if value.strip()]
    if len(kept) == len(sent):
        return None
    return f"{request.path}?{urlencode(kept)}" if kept else request.path


def _list(request: HttpRequest, template: str, filterset_class: type[FilterSet], queryset: QuerySet, **extra):
    if clean := _without_empty_parameters(request):
        return redirect(clean)
    filterset, page, status = _filtered_page(request, filterset_class, queryset)
    context = {"filter": filterset, "page": page, **extra}
    return render(request, template, context, status=status)


def count_where(queryset: QuerySet) -> Coalesce:
    """COUNT(*) of `queryset` (which filters on an OuterRef) as a subquery annotation."""
    counted = (
        queryset.order_by().annotate(_group=Value(1)).values("_group").annotate(n=Count("*")).values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _public_requests() -> RequestQuerySet:
    return Request.objects.public().for_list()


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    public = _public_requests()
    context = {
        "ordinances": Ordinance.objects.in_force().filter(is_demo=False),
        "prohibitions": board.prohibitions(),
        # Each row shows its next deadline, computed from its ordinance's deadline rows.
        "awaiting": public.awaiting_decision()
        .prefetch_related("ordinance__deadlines")
        .order_by("-submitted_at", "-pk")[:RECENT],
        "decided": public.filter(decision__isnull=False).order_by("-decision__decided_on", "-pk")[:RECENT],
        "open_for_comment": public.open_for_comment(timezone.localdate(now))[:RECENT],
        "hearings": public.hearings_ahead(now)[:RECENT],
    }
    return render(request, "ordinances/home.html", context)


@require_safe
def ordinance_list(request: HttpRequest) -> HttpResponse:
    queryset = Ordinance.objects.annotate(
        request_count=count_where(Request.objects.public().filter(ordinance=OuterRef("pk")))
    ).order_by("-adopted_on", "file_number")
    return _list(request, "ordinances/ordinance_list.html", filters.OrdinanceFilter, queryset)


@require_safe
def ordinance_detail(request: HttpRequest, slug: str) -> HttpResponse:
    ordinance = get_object_or_404(
        Ordinance.objects.prefetch_related("rules", "exceptions", "sources", "steps", "deadlines", "changes"),
        slug=slug,
    )
    requests, demo_requests = _split_demo(_public_requests().filter(ordinance=ordinance), ordinance.is_demo)
    context = {
        "ordinance": ordinance,
        "path": progress.path_of(ordinance),
        "requests": requests,
        "demo_requests": demo_requests,
    }
    return render(request, "ordinances/ordinance_detail.html", context)


@require_safe
def agency_list(request: HttpRequest) -> HttpResponse:
    # Two correlated counts: joining both tables at once would multiply their rows.
    queryset = Agency.objects.annotate(
        use_count=count_where(TechnologyUse.objects.filter(agency=OuterRef("pk"))),
        request_count=count_where(Request.objects.public().filter(agency=OuterRef("pk"))),
    ).order_by("name")
    return _list(request, "ordinances/agency_list.html", filters.AgencyFilter, queryset)


def _split_demo(requests: RequestQuerySet, page_is_demo: bool) -> tuple[list[Request], list[Request]]:
    """
    The recent requests of a page, real ones apart from demo ones (a request is a demo when
    it, its agency or its technology is). A demo record's page shows them all together.
    """
    if page_is_demo:
        return list(requests[:RECENT]), []
    demo = Q(is_demo=True) | Q(agency__is_demo=True) | Q(technology__is_demo=True)
    return list(requests.exclude(demo)[:RECENT]), list(requests.filter(demo)[:RECENT])


@require_safe
def agency_detail(request: HttpRequest, slug: str) -> HttpResponse:
    agency = get_object_or_404(Agency, slug=slug)
    requests, demo_requests = _split_demo(_public_requests().filter(agency=agency), agency.is_demo)
    context = {
        "agency": agency,
        "board": board.for_agency(agency),
        "requests": requests,
        "demo_requests": demo_requests,
    }
    return render(request, "ordinances/agency_detail.html", context)


@require_safe
def technology_list(request: HttpRequest) -> HttpResponse:
    queryset = Technology.objects.annotate(
        governing_rule=rule_in_force_subquery("category", "is_demo"),
        agency_count=Count("uses", distinct=True),
    ).order_by("name")
    return _list(
        request,
        "ordinances/technology_list.html",
        filters.TechnologyFilter,
        queryset,
    )


@require_safe
def technology_detail(request: HttpRequest, slug: str) -> HttpResponse:
    technology = get_object_or_404(Technology, slug=slug)
    # The rules speak about categories, so every request under them for this category
    # matters here, not only those naming this exact record.
    same_category = _public_requests().filter(technology__category=technology.category)
    requests, demo_requests = _split_demo(same_category, technology.is_demo)
    context = {
        "technology": technology,
        "board": board.for_technology(technology),
        "requests": requests,
        "demo_requests": demo_requests,
    }
    return render(request, "ordinances/technology_detail.html", context)


@require_safe
def request_list(request: HttpRequest) -> HttpResponse:
    return _list(request, "ordinances/request_list.html", filters.RequestFilter, _public_requests())


@require_safe
def request_detail(request: HttpRequest, reference: str) -> HttpResponse:
    queryset = (
        Request.objects.visible_to(request.user)
        .for_list()
        .select_related("exception", "renews")
        .prefetch_related(
            "ordinance__steps",
            "ordinance__deadlines",
            "ordinance__sources",
            "attachments",
            "decision__conditions",
            Prefetch("events", queryset=Event.objects.public(), to_attr="public_events"),
        )
    )
    obj = get_object_or_404(queryset, reference=reference)
    context = {"req": obj, "progress": progress.for_request(obj, obj.public_events)}  # type: ignore[attr-defined]
    return render(request, "ordinances/request_detail.html", context)


@require_safe
def how_it_works(request: HttpRequest) -> HttpResponse:
    # The city's own laws first, demo ordinances after them.
    ordinances = (
        Ordinance.objects.in_force()
        .order_by("is_demo", "-adopted_on", "file_number")
        .prefetch_related("steps", "deadlines")
    )
    # Drafts are never public, so residents meet every status but that one.
    public_statuses = [status for status in Request.Status if status != Request.Status.DRAFT]
    context = {
        "paths": [progress.path_of(ordinance) for ordinance in ordinances],
        "statuses": [(status, progress.ways_into(status)) for status in public_statuses],
    }
    return render(request, "ordinances/how_it_works.html", context)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 when it does not. For load balancers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    """One box across ordinances, agencies, technologies and public requests."""
    outcome = site_search.run(request.GET)
    return render(request, "ordinances/search.html", {"search": outcome}, status=outcome.status)
