"""
Public pages. Anyone may read them without an account; they work without JavaScript.

Views stay thin: visibility comes from the querysets (`Request.objects.public()`),
filtering from `ordinances.filters`, statuses from the models.
"""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import DatabaseError, connection
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_filters import FilterSet

from ordinances import board, filters
from ordinances.models import (
    Agency,
    CategoryRule,
    Event,
    Ordinance,
    Request,
    RequestQuerySet,
    Technology,
    TechnologyUse,
    rule_in_force_subquery,
)
from ordinances.workflow import TRANSITIONS, path_transitions

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


def _list(request: HttpRequest, template: str, filterset_class: type[FilterSet], queryset: QuerySet, **extra):
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
    prohibited = (
        CategoryRule.objects.filter(
            rule=CategoryRule.Rule.PROHIBITED,
            ordinance__status__in=Ordinance.IN_FORCE,
            ordinance__is_demo=False,
        )
        .select_related("ordinance")
        .order_by("category")
    )
    context = {
        "prohibited": prohibited,
        "pending": _public_requests().pending().order_by("-submitted_at")[:RECENT],
        "decided": _public_requests()
        .filter(decision__isnull=False)
        .order_by("-decision__decided_on", "-pk")[:RECENT],
        "ordinances": Ordinance.objects.in_force(),
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
        "path": path_transitions(ordinance),
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
            "ordinance__deadlines",
            "attachments",
            "decision__conditions",
            Prefetch("events", queryset=Event.objects.public(), to_attr="public_events"),
        )
    )
    obj = get_object_or_404(queryset, reference=reference)
    return render(request, "ordinances/request_detail.html", {"req": obj})


@require_safe
def how_it_works(request: HttpRequest) -> HttpResponse:
    ordinances = Ordinance.objects.in_force().prefetch_related("rules", "exceptions", "steps", "deadlines")
    context = {
        "transitions": TRANSITIONS.values(),
        "states": Request.Status.choices,
        "paths": [(ordinance, path_transitions(ordinance)) for ordinance in ordinances],
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
