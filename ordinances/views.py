"""
Public pages. Anyone may read them without an account; they work without JavaScript.

Views stay thin: visibility comes from the querysets (`Request.objects.public()`),
filtering from `ordinances.filters`, statuses from the models.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db import DatabaseError, connection
from django.db.models import (
    BooleanField,
    Count,
    F,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe
from django_filters import FilterSet
from rest_framework.throttling import BaseThrottle

from ordinances import (
    board,
    charts,
    filters,
    oversight,
    pagination,
    participation,
    pdf,
    progress,
    report_pages,
    workflow,
)
from ordinances import search as site_search
from ordinances import summary as summaries
from ordinances.comment_forms import CommentForm
from ordinances.filters import AnnualReportFilter, EmergencyUseFilter, ViolationFilter
from ordinances.models import (
    Agency,
    AnnualReport,
    Comment,
    Condition,
    Deadline,
    Decision,
    EmergencyUse,
    Event,
    Ordinance,
    OversightEvent,
    ProcessStep,
    PublicRequestCount,
    Request,
    RequestQuerySet,
    Technology,
    TechnologyUse,
    Violation,
    constants,
    rule_in_force_subquery,
)
from portal import outage

RECENT = 10


def _filtered_page(
    request: HttpRequest,
    filterset_class: type[FilterSet],
    queryset: QuerySet,
    *,
    keyset: bool = False,
    annotate: Callable[[QuerySet], QuerySet] | None = None,
) -> tuple[FilterSet, Page | pagination.KeysetPage, int]:
    """
    Filter and paginate a list: numbered pages, or keyset pages (`ordinances.pagination`)
    for a list that grows with the city's history. Bad filter values give a 400 and no
    rows, not a 500.

    `annotate` adds what each row shows beyond its own columns (counts, the rule that
    governs it) to the page's rows alone, once they are chosen: annotated on the list
    itself, PostgreSQL works it out for every row an OFFSET skips, and for every row a
    filter's DISTINCT compares. The page's rows are then read in one query, `queryset`
    (its order included) narrowed to the primary keys the filtered, paginated list chose.
    """
    filterset = filterset_class(request.GET or None, queryset=queryset, request=request)
    filterset.form.renderer = filters.FILTER_FORM_RENDERER
    if filterset.is_bound and not filterset.is_valid():
        rows, status = queryset.none(), 400
    else:
        rows, status = filterset.qs, 200
    page: Page | pagination.KeysetPage
    if keyset:
        page = pagination.paginate(rows, request.GET, settings.PORTAL_PAGE_SIZE)
    else:
        page = Paginator(rows, settings.PORTAL_PAGE_SIZE).get_page(request.GET.get("page"))
    if annotate is not None:
        chosen = cast(QuerySet, page.object_list)
        page.object_list = list(annotate(queryset.filter(pk__in=chosen.values("pk"))))
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


def _list(
    request: HttpRequest,
    template: str,
    filterset_class: type[FilterSet],
    queryset: QuerySet,
    *,
    keyset: bool = False,
    annotate: Callable[[QuerySet], QuerySet] | None = None,
    **extra,
):
    if clean := _without_empty_parameters(request):
        return redirect(clean)
    filterset, page, status = _filtered_page(
        request, filterset_class, queryset, keyset=keyset, annotate=annotate
    )
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
    public = Request.objects.public()
    # Lists, not querysets: the template asks each whether it is empty, then shows it. Each
    # list joins only the records its rows name: the comment and hearing lists name none.
    context = {
        "ordinances": list(Ordinance.objects.in_force().filter(is_demo=False).for_links()),
        "prohibitions": board.prohibitions(),
        # Each row shows its next deadline, computed from its ordinance's deadline rows.
        "awaiting": list(
            public.for_awaiting_rows().awaiting_decision().order_by("-submitted_at", "-pk")[:RECENT]
        ),
        "decided": list(
            public.for_decided_rows()
            .filter(decision__isnull=False)
            .order_by("-decision__decided_on", "-pk")[:RECENT]
        ),
        "open_for_comment": list(public.for_items().open_for_comment(timezone.localdate(now))[:RECENT]),
        "hearings": list(public.for_items().hearings_ahead(now)[:RECENT]),
    }
    return render(request, "ordinances/home.html", context)


@require_safe
def ordinance_list(request: HttpRequest) -> HttpResponse:
    # Counted by agency as requests become public (`PublicRequestCount`), not from the
    # city's history on every view.
    def counted(ordinances: QuerySet[Ordinance]) -> QuerySet[Ordinance]:
        return ordinances.annotate(request_count=PublicRequestCount.total("ordinance"))

    return _list(
        request,
        "ordinances/ordinance_list.html",
        filters.OrdinanceFilter,
        Ordinance.objects.order_by("-adopted_on", "file_number"),
        annotate=counted,
    )


@require_safe
def ordinance_detail(request: HttpRequest, slug: str) -> HttpResponse:
    ordinance = get_object_or_404(
        Ordinance.objects.with_process().prefetch_related("rules", "exceptions", "sources", "changes"),
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
    # Correlated counts, not joins, which would multiply the rows; the public requests as
    # counted while they became public (`PublicRequestCount`), not from the city's history.
    def counted(agencies: QuerySet[Agency]) -> QuerySet[Agency]:
        return agencies.annotate(
            use_count=count_where(TechnologyUse.objects.filter(agency=OuterRef("pk"))),
            request_count=PublicRequestCount.total("agency"),
        )

    return _list(
        request,
        "ordinances/agency_list.html",
        filters.AgencyFilter,
        Agency.objects.order_by("name"),
        annotate=counted,
    )


def _split_demo(
    requests: RequestQuerySet, page_is_demo: bool, demo: _Demo | None = None
) -> tuple[list[Request], list[Request]]:
    """
    The recent requests of a page, real ones apart from demo ones (a request is a demo when
    it, its agency or its technology is). A demo record's page shows them all together.
    `demo` is `_demo_requests()` when the page has it already.
    """
    if page_is_demo:
        return list(requests[:RECENT]), []
    demo_rows = Q(is_demo=True) | Q(agency__is_demo=True) | Q(technology__is_demo=True)
    demo = _demo_requests() if demo is None else demo
    real = list(requests.exclude(demo_rows)[:RECENT])
    return real, list(requests.filter(demo.q)[:RECENT]) if demo.may_have("request") else []


@dataclass(frozen=True)
class _Demo:
    """
    The demo records a real page lists apart: `q` selects them among requests, emergency uses,
    violations or annual reports (it, its agency or its technology is a demo). `flagged` names
    the kinds of record with at least one demo row of their own in the city (inventory rows:
    of the page's record). With no demo agency or technology, a kind not flagged has no demo
    row at all, and its demo section is known empty without asking (the city's own data has none).
    """

    q: Q
    by_record: bool  # some agency or technology is a demo
    flagged: frozenset[str]

    def may_have(self, kind: str) -> bool:
        """
        Whether the demo rows of `kind` may exist: "request", "emergency_use", "violation",
        "annual_report", or "technology_use" (of the record `_demo_requests` was given only).
        """
        return self.by_record or kind in self.flagged

    @property
    def on_board(self) -> bool:
        """Whether the record's status board may have demo rows (of demo requests, inventory rows or records)."""
        return self.may_have("request") or self.may_have("technology_use")


def _demo_requests(**uses_of: Agency | Technology) -> _Demo:
    """
    The demo requests (it, its agency or its technology is a demo) named by the few demo
    agencies and technologies, read first in one query, rather than by a join: the database
    then finds them through indexes (request_demo_created and the foreign keys) instead of
    reading every request of a page's record to learn that none is a demo. The same query
    asks whether any request, emergency use, violation or annual report is a demo itself
    (one row at most each, through the `is_demo` indexes), and, given a record (`agency=` or
    `technology=`), whether one of its inventory rows is (through `technologyuse_demo`), so that a
    page need not ask for demo rows there are none of.
    """
    agencies = Agency.objects.filter(is_demo=True).order_by().values_list(Value("agency"), "pk")
    technologies = Technology.objects.filter(is_demo=True).order_by().values_list(Value("technology"), "pk")
    # The first demo row of each kind, if any (a LIMIT inside the union's parts, which SQLite
    # refuses, is written as a subquery of each part instead).
    flagged: list[QuerySet[Any]] = [
        model.objects.filter(pk=Subquery(model.objects.filter(is_demo=True).order_by().values("pk")[:1]))
        .order_by()
        .values_list(Value(kind), "pk")
        for kind, model in (
            ("request", Request),
            ("emergency_use", EmergencyUse),
            ("violation", Violation),
            ("annual_report", AnnualReport),
        )
    ]
    if uses_of:
        first_use = TechnologyUse.objects.filter(is_demo=True, **uses_of).order_by().values("pk")[:1]
        flagged.append(
            TechnologyUse.objects.filter(pk=Subquery(first_use))
            .order_by()
            .values_list(Value("technology_use"), "pk")
        )
    ids: dict[str, list[int]] = {"agency": [], "technology": []}
    kinds: set[str] = set()
    for kind, pk in agencies.union(technologies, *flagged, all=True):
        if kind in ids:
            ids[kind].append(pk)
        else:
            kinds.add(kind)
    return _Demo(
        q=Q(is_demo=True) | Q(agency_id__in=ids["agency"]) | Q(technology_id__in=ids["technology"]),
        by_record=bool(ids["agency"] or ids["technology"]),
        flagged=frozenset(kinds),
    )


class _AmongValuesOf(Func):
    """
    `expression` is one of the values `subquery` gives. On PostgreSQL written
    `expression = ANY(ARRAY(subquery))`: the subquery runs once, first (an InitPlan), and its
    values are then looked up through the index of `expression`, as a list sent with the query
    would be, without the cost of sending it. Written `IN (subquery)`, PostgreSQL would rather
    join the two tables, reading one of them whole. Elsewhere plain `IN`.
    """

    arg_joiner = " IN "
    template = "%(expressions)s"
    output_field = BooleanField()

    def __init__(self, expression: str, subquery: QuerySet[Any]) -> None:
        super().__init__(F(expression), Subquery(subquery))

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler, connection, arg_joiner=" = ANY(ARRAY", template="%(expressions)s)", **extra_context
        )


# What partials/conditions_table.html reads of a condition and the request it belongs to
# (`with_request`), and no more: the request's, its decision's, agency's and technology's
# other columns would be read and parsed for nothing.
STANDING_CONDITION_FIELDS = (
    "decision_id",
    "text",
    "due_on",
    "status",
    "status_changed_on",
    "decision__language",
    "decision__request__reference",
    "decision__request__agency__name",
    "decision__request__agency__language",
    "decision__request__technology__name",
    "decision__request__technology__language",
)


def _standing_conditions(demo: _Demo | None, **where: object) -> dict[str, object]:
    """
    The conditions of the approvals standing now (of the public requests `where` selects),
    real ones apart from demo ones (`demo`, from `_demo_requests`; None on a demo record's
    page, which shows them all together) as in `_split_demo`: what the agency must still do, has
    done, or is late with. Only the `RECENT` due soonest of each, with how many there are in
    all (counted in the query that chooses them), so the page does not grow with the years of
    approvals.

    Two queries for each of the real and the demo conditions (one when there are none): the
    keys of those shown and how many there are, then those shown. The standing approvals'
    decisions, found through the decision's unique index on its request among the approvals'
    keys (joined, PostgreSQL would read every decision in the city to find a few hundred;
    looked up one approval at a time, it ran a subquery for each), give the conditions through
    theirs, all in the database (`_AmongValuesOf`), so the page never reads the approvals
    themselves.
    """
    approvals = Request.objects.public().filter(status__in=constants(Request.ACTIVE_STATES), **where)
    standing_sets = {False: approvals} if demo is None else {False: approvals.exclude(demo.q)}
    if demo is not None and demo.may_have("request"):
        standing_sets[True] = approvals.filter(demo.q)
    due_soonest = (F("due_on").asc(nulls_last=True), "pk")

    def standing(approvals: RequestQuerySet) -> tuple[list[Condition], int]:
        # The conditions chosen and counted alone, in one pass (a window counts them all before
        # the limit keeps those shown: counted in a subquery of its own, the approvals'
        # decisions and their conditions were looked up twice, a few hundred probes each at
        # 100,000 requests), then only those shown joined to their requests: joined first,
        # every standing condition would be joined before the limit.
        keys = approvals.order_by().values("pk")
        decisions = Decision.objects.filter(_AmongValuesOf("request_id", keys)).values("pk")
        theirs = Condition.objects.filter(_AmongValuesOf("decision_id", decisions))
        shown = list(
            theirs.order_by(*due_soonest)
            .annotate(standing_count=Window(Count("pk")))
            .values_list("pk", "standing_count")[:RECENT]
        )
        if not shown:
            return [], 0
        conditions = list(
            Condition.objects.filter(pk__in=[pk for pk, _ in shown])
            .select_related("decision__request__agency", "decision__request__technology")
            .only(*STANDING_CONDITION_FIELDS)
            .order_by(*due_soonest)
        )
        return conditions, shown[0][1]

    rows = {in_demo: standing(approvals) for in_demo, approvals in standing_sets.items()}
    rows.setdefault(True, ([], 0))
    return {
        "conditions": rows[False][0],
        "condition_count": rows[False][1],
        "demo_conditions": rows[True][0],
        "demo_condition_count": rows[True][1],
    }


# The query parameters of a status board's pages: its main table's, and its demo rows'.
BOARD_PAGE = "board_page"
DEMO_BOARD_PAGE = "demo_board_page"


def _board_pages(request: HttpRequest, demo: _Demo | None) -> dict[str, Any]:
    """
    The board pages asked for, as sent (the board makes sense of any text), and their size;
    whether a real record's board may have demo rows (`demo`, None on a demo record's page).
    """
    return {
        "page": request.GET.get(BOARD_PAGE),
        "demo_page": request.GET.get(DEMO_BOARD_PAGE),
        "per_page": settings.PORTAL_PAGE_SIZE,
        "demo_rows": demo is None or demo.on_board,
    }


@require_safe
def agency_detail(request: HttpRequest, slug: str) -> HttpResponse:
    agency = get_object_or_404(Agency, slug=slug)
    # Read once for the page's sections: a real page shows demo rows apart.
    demo = None if agency.is_demo else _demo_requests(agency=agency)
    # The request table's columns only (`for_table`).
    own_requests = Request.objects.public().for_table().filter(agency=agency)
    requests, demo_requests = _split_demo(own_requests, agency.is_demo, demo)
    context = {
        "agency": agency,
        "board": board.page_for_agency(agency, **_board_pages(request, demo)),
        "requests": requests,
        "demo_requests": demo_requests,
        **_standing_conditions(demo, agency=agency),
        "oversight": oversight_sections(agency=agency, demo=demo),
    }
    return render(request, "ordinances/agency_detail.html", context)


@require_safe
def technology_list(request: HttpRequest) -> HttpResponse:
    # A correlated count (one use per agency and technology), not a join, which would
    # multiply the rows.
    def governed_and_counted(technologies: QuerySet[Technology]) -> QuerySet[Technology]:
        return technologies.annotate(
            governing_rule=rule_in_force_subquery("category", "is_demo"),
            agency_count=count_where(TechnologyUse.objects.filter(technology=OuterRef("pk"))),
        )

    return _list(
        request,
        "ordinances/technology_list.html",
        filters.TechnologyFilter,
        Technology.objects.order_by("name"),
        annotate=governed_and_counted,
    )


@require_safe
def technology_detail(request: HttpRequest, slug: str) -> HttpResponse:
    technology = get_object_or_404(Technology, slug=slug)
    # The rules speak about categories, so every request under them for this category
    # matters here, not only those naming this exact record. The request table's columns only.
    same_category = Request.objects.public().for_table().filter(technology__category=technology.category)
    demo = None if technology.is_demo else _demo_requests(technology=technology)
    requests, demo_requests = _split_demo(same_category, technology.is_demo, demo)
    context = {
        "technology": technology,
        "board": board.page_for_technology(technology, **_board_pages(request, demo)),
        "requests": requests,
        "demo_requests": demo_requests,
        **_standing_conditions(demo, technology=technology),
        "oversight": oversight_sections(technology=technology, demo=demo),
    }
    return render(request, "ordinances/technology_detail.html", context)


@require_safe
def request_list(request: HttpRequest) -> HttpResponse:
    return _list(
        request,
        "ordinances/request_list.html",
        filters.RequestFilter,
        Request.objects.public().for_table(),
        keyset=True,
    )


@require_safe
def request_detail(request: HttpRequest, reference: str) -> HttpResponse:
    # The exception and the renewed request are prefetched, not joined: most requests have
    # neither (a prefetch of an empty key runs no query), and two more joins cost PostgreSQL
    # ~2 ms to plan on every view. Steps and deadlines of the one ordinance are ordered by kind
    # alone, which is their models' order within an ordinance without joining it again.
    queryset = (
        Request.objects.visible_to(request.user)
        .for_list()
        .prefetch_related(
            "exception",
            "renews",
            Prefetch("ordinance__steps", queryset=ProcessStep.objects.order_by("kind")),
            Prefetch("ordinance__deadlines", queryset=Deadline.objects.order_by("kind")),
            "ordinance__sources",
            "attachments",
            "decision__conditions",
            Prefetch("events", queryset=Event.objects.public(), to_attr="public_events"),
            Prefetch("comments", queryset=Comment.objects.published(), to_attr="published_comments"),
        )
    )
    obj = get_object_or_404(queryset, reference=reference)
    context = {
        "req": obj,
        "progress": progress.for_request(obj, obj.public_events),  # type: ignore[attr-defined]
        "comment_period": participation.comment_period(obj),
        "comments": obj.published_comments,  # type: ignore[attr-defined]
    }
    return render(request, "ordinances/request_detail.html", context)


@require_safe
def how_it_works(request: HttpRequest) -> HttpResponse:
    # The city's own laws first, demo ordinances after them.
    ordinances = Ordinance.objects.in_force().order_by("is_demo", "-adopted_on", "file_number").with_process()
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
        unavailable = JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
        unavailable["Retry-After"] = str(outage.RETRY_AFTER_SECONDS)
        return unavailable
    return JsonResponse({"status": "ok", "database": "ok"})


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    """One box across ordinances, agencies, technologies and public requests."""
    outcome = site_search.run(request.GET)
    return render(request, "ordinances/search.html", {"search": outcome}, status=outcome.status)


# ---------------------------------------------------------------------------
# Public comment (ordinances/participation.py holds the rules, comment_forms.py the form)
# ---------------------------------------------------------------------------


def _client_address(request: HttpRequest) -> str:
    """The sender's address, read as the API's rate limit reads it (DJANGO_NUM_PROXIES)."""
    return BaseThrottle().get_ident(request) or ""


@never_cache  # the form carries the moment it was made (the timing check): never a stored copy
@require_http_methods(["GET", "HEAD", "POST"])
def request_comment(request: HttpRequest, reference: str) -> HttpResponse:
    """
    The comment form of a public request: 200 with the form while its period is open, 200
    with why not while it is not; a comment sent to a closed period gets 409, a refused one
    400 (429 past the rate limit), an accepted one a redirect to the thank-you page.
    """
    obj = get_object_or_404(_public_requests(), reference=reference)
    now = timezone.now()
    period = participation.comment_period(obj, timezone.localdate(now))
    status = 200
    if request.method == "POST":
        form = CommentForm(request.POST, reference=obj.reference, now=now)
        if not period.is_open:
            status = 409
        elif form.is_valid():
            try:
                participation.submit_comment(
                    obj,
                    **form.comment_values(),
                    address=_client_address(request),
                    language=get_language() or settings.LANGUAGE_CODE,
                    now=now,
                )
            except ValidationError as exc:
                form.add_refusal(exc)
                status = 400
            except workflow.TransitionRefused as exc:
                if exc.code == "rate_limit":
                    form.add_refusal(exc)
                    status = 429
                else:  # the period closed while the form was open
                    period = participation.comment_period(obj, timezone.localdate(now))
                    status = 409
            else:
                return redirect("ordinances:request_comment_thanks", reference=obj.reference)
        else:
            status = 400
    else:
        form = CommentForm(reference=obj.reference, now=now)
    context = {"req": obj, "period": period, "form": form}
    return render(request, "ordinances/request_comment.html", context, status=status)


@require_safe
def request_comment_thanks(request: HttpRequest, reference: str) -> HttpResponse:
    obj = get_object_or_404(_public_requests(), reference=reference)
    return render(request, "ordinances/request_comment_thanks.html", {"req": obj})


# ---------------------------------------------------------------------------
# The annual oversight summary (ordinances/summary.py counts, ordinances/charts.py lays out
# the charts, templates/partials/bar_chart.svg.html draws them)
# ---------------------------------------------------------------------------

# Each outcome's colour in the charts: USWDS palette values, each 4.5:1 or more against white.
OUTCOME_FILLS: dict[str, str] = {
    Decision.Outcome.APPROVED: "#00703c",
    Decision.Outcome.APPROVED_WITH_CONDITIONS: "#005ea2",
    Decision.Outcome.DENIED: "#b50909",
    Decision.Outcome.PUBLISHED: "#783cb9",
    Request.Status.WITHDRAWN: "#71767a",
    Request.Status.EXPIRED: "#c05600",
    Request.Status.REVOKED: "#1b1b1b",
}


def _outcome_label(code: str) -> str:
    if code in Decision.Outcome.values:
        return str(Decision.Outcome(code).label)
    return str(Request.Status(code).label)


def _summary_part(figures: summaries.Figures, year: int, prefix: str) -> dict[str, object]:
    """One set of figures (real or demo) as the rows and charts its part of the page shows."""
    series = [charts.Series(code, _outcome_label(code), OUTCOME_FILLS[code]) for code in summaries.OUTCOMES]
    outcomes = [(s, figures.outcomes[s.key]) for s in series]
    firsts = [datetime.date(year, month, 1) for month in summaries.MONTHS]
    outcome_chart = charts.bar_list(
        f"{prefix}-outcomes",
        title=gettext("What became of requests in %(year)s") % {"year": year},
        desc="; ".join(f"{s.label}: {value}" for s, value in outcomes),
        items=outcomes,
    )
    month_chart = charts.stacked_columns(
        f"{prefix}-months",
        title=gettext("Outcomes by month in %(year)s") % {"year": year},
        desc=gettext(
            "A column for each month, made of one part for each outcome, with the month's total above it. "
            "The table after the chart gives every number."
        ),
        categories=[date_format(first, "M") for first in firsts],
        series=series,
        values={s.key: [month[s.key] for month in figures.outcomes_by_month] for s in series},
    )
    return {
        "figures": figures,
        "prefix": prefix,
        "series": series,
        "kinds": [(label, figures.submitted_by_kind[code]) for code, label in Request.Kind.choices],
        "outcomes": outcomes,
        "months": [
            (first, [(s, month[s.key]) for s in series], sum(month.values()))
            for first, month in zip(firsts, figures.outcomes_by_month, strict=True)
        ],
        "violations": [
            (label, figures.violations_by_status[code]) for code, label in Violation.Status.choices
        ],
        "outcome_chart": outcome_chart,
        "month_chart": month_chart,
    }


def _summary_context(year: int) -> dict[str, object]:
    """Everything the page and the PDF of `year` show; 404 for a year before the first ordinance or after this one."""
    years = summaries.years_available()
    if year not in years:
        raise Http404("No summary for that year.")
    data = summaries.for_year(year)
    return {
        "summary": data,
        "year": year,
        "real": _summary_part(data.real, year, "summary"),
        "demo": _summary_part(data.demo, year, "summary-demo") if data.demo.has_records else None,
        "earlier_year": year - 1 if year - 1 in years else None,
        "later_year": year + 1 if year + 1 in years else None,
    }


@require_safe
def summary_index(request: HttpRequest) -> HttpResponse:
    return render(request, "ordinances/summary_index.html", {"years": summaries.years_available()})


@require_safe
def summary_year(request: HttpRequest, year: int) -> HttpResponse:
    return render(request, "ordinances/summary.html", _summary_context(year))


@require_safe
def summary_pdf(request: HttpRequest, year: int) -> HttpResponse:
    """The same summary as a printable PDF (Letter, numbered pages), shown in the browser."""
    context = _summary_context(year)
    context["page_address"] = request.build_absolute_uri(reverse("ordinances:summary_year", args=[year]))
    html = render_to_string("ordinances/summary_print.html", context, request=request)
    document = pdf.render(html, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(document, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="oversight-summary-{year}.pdf"'
    return response


# ---------------------------------------------------------------------------
# Oversight after the decision: emergency use, violations, annual reports
# (the rules live in ordinances/oversight.py; visibility in each model's `.public()`)
# ---------------------------------------------------------------------------


# The contents of an annual report, in the order the laws list them, with their labels as
# residents read them (the model's verbose names, for translation).
ANNUAL_REPORT_LABELS = {
    name: AnnualReport._meta.get_field(name).verbose_name  # type: ignore[union-attr]
    for name in AnnualReport.CONTENT_FIELDS
}


def _with_report_state(uses: Iterable[EmergencyUse]) -> list[EmergencyUse]:
    today = timezone.localdate()
    rows = list(uses)
    for use in rows:
        use.report_state = oversight.emergency_report_state(use, today)  # type: ignore[attr-defined]
    return rows


def _public_violations() -> QuerySet[Violation]:
    return Violation.objects.public().select_related("agency", "technology", "ordinance")


def _public_annual_reports() -> QuerySet[AnnualReport]:
    return AnnualReport.objects.public().select_related("agency", "technology", "ordinance")


def oversight_sections(
    *, agency: Agency | None = None, technology: Technology | None = None, demo: _Demo | None = None
) -> dict:
    """
    The emergency uses, published violations and public annual reports of one agency or
    one technology, the most recent first, real ones apart from demo ones (`demo`, from
    `_demo_requests`, read here when not given): six queries (seven when it is read here),
    however many rows, fewer when a kind has no demo rows (`_Demo.may_have`). For
    `partials/oversight_sections.html`.
    """
    record: Agency | Technology | None = agency or technology
    assert record is not None
    scope: dict[str, Agency | Technology] = {"agency": agency} if agency else {"technology": record}
    # Each set by the kind of record `_Demo.may_have` knows it as (less an "s"), with the
    # columns its table's rows read alone (`for_table`), as on the oversight lists.
    sets: dict[str, QuerySet[Any]] = {
        "emergency_uses": EmergencyUse.objects.public()
        .for_table()
        .filter(**scope)
        .order_by("-used_on", "-pk"),
        "violations": Violation.objects.public().for_table().filter(**scope).order_by("-found_on", "-pk"),
        "annual_reports": AnnualReport.objects.public()
        .for_table()
        .filter(**scope)
        .order_by("-year", "agency__name", "technology__name"),
    }
    sections: dict[str, object] = {
        "record": record,
        "scope": "agency" if agency else "technology",
        "filter": f"{'agency' if agency else 'technology'}={record.slug}",
    }
    # The demo rows by the few demo records' ids (`_demo_requests`, read here unless the page
    # has it), not by joins: found through indexes, not by reading every row of the record.
    if demo is None and not record.is_demo:
        demo = _demo_requests()
    for name, queryset in sets.items():
        real: list[Any]
        demo_rows: list[Any]
        if demo is None:
            real, demo_rows = list(queryset[:RECENT]), []
        else:
            real = list(queryset.exclude(demo.q)[:RECENT])
            demo_rows = (
                list(queryset.filter(demo.q)[:RECENT]) if demo.may_have(name.removesuffix("s")) else []
            )
        if name == "emergency_uses":
            real, demo_rows = _with_report_state(real), _with_report_state(demo_rows)
        sections[name] = real
        sections[f"demo_{name}"] = demo_rows
    sections["has_demo"] = any(sections[f"demo_{name}"] for name in sets)
    return sections


def _oversight_list(
    request: HttpRequest, template: str, filterset_class: type[FilterSet], queryset: QuerySet, **extra
) -> HttpResponse:
    """A filtered, paginated oversight list (as `_list`), its rows read once."""
    if clean := _without_empty_parameters(request):
        return redirect(clean)
    filterset, page, status = _filtered_page(request, filterset_class, queryset)
    rows: list[Any] = list(page.object_list)
    if filterset_class is EmergencyUseFilter:
        rows = _with_report_state(rows)
    page.object_list = rows
    return render(request, template, {"filter": filterset, "page": page, **extra}, status=status)


@require_safe
def emergency_use_list(request: HttpRequest) -> HttpResponse:
    queryset = EmergencyUse.objects.public().for_table().order_by("-used_on", "-pk")
    return _oversight_list(request, "ordinances/emergency_use_list.html", EmergencyUseFilter, queryset)


@require_safe
def violation_list(request: HttpRequest) -> HttpResponse:
    queryset = Violation.objects.public().for_table().order_by("-found_on", "-pk")
    return _oversight_list(request, "ordinances/violation_list.html", ViolationFilter, queryset)


@require_safe
def violation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    queryset = (
        _public_violations()
        .select_related("request")
        .prefetch_related(
            Prefetch("events", queryset=OversightEvent.objects.public(), to_attr="public_events")
        )
    )
    violation = get_object_or_404(queryset, pk=pk)
    approval = violation.request if violation.request is not None and violation.request.is_public else None
    context = {"violation": violation, "approval": approval, "events": violation.public_events}  # type: ignore[attr-defined]
    return render(request, "ordinances/violation_detail.html", context)


@require_safe
def annual_report_list(request: HttpRequest) -> HttpResponse:
    # Keyset pages a year at a time (`ordinances.report_pages`): the list grows every year,
    # and its order (latest year, then agency and technology by name) fits no single index.
    if clean := _without_empty_parameters(request):
        return redirect(clean)
    listed = AnnualReport.objects.public().for_table()
    filterset = AnnualReportFilter(request.GET or None, queryset=listed, request=request)
    if filterset.is_bound and not filterset.is_valid():
        rows, status = listed.none(), 400
    else:
        rows, status = filterset.qs, 200
    page = report_pages.paginate(rows, request.GET, settings.PORTAL_PAGE_SIZE)
    context = {"filter": filterset, "page": page}
    return render(request, "ordinances/annual_report_list.html", context, status=status)


@require_safe
def annual_report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    queryset = _public_annual_reports().prefetch_related(
        Prefetch("events", queryset=OversightEvent.objects.public(), to_attr="public_events")
    )
    report = get_object_or_404(queryset, pk=pk)
    # A report marked overdue before the agency submitted it is public, its draft is not.
    contents = (
        [
            {"name": name, "label": label, "value": getattr(report, name)}
            for name, label in ANNUAL_REPORT_LABELS.items()
        ]
        if report.submitted_at is not None
        else []
    )
    context = {
        "report": report,
        "state": oversight.public_report_state(report),
        "contents": contents,
        "events": report.public_events,  # type: ignore[attr-defined]
    }
    return render(request, "ordinances/annual_report_detail.html", context)
