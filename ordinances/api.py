"""
The public, read-only REST API under `/api/v1/` (docs/api.md), its OpenAPI 3.1 schema
(`/api/schema/`) and its documentation page (`/api/docs/`; `/api/redoc/` leads there).

Nothing here decides anything on its own:

- what the public may see comes from `Request.objects.public()` and `Event.objects.public()`;
- the filters are the FilterSets of `ordinances.filters`, the ones the HTML lists use;
- the CSV of a list that has an open-data dataset is written by `ordinances.downloads.stream`,
  with the columns of `downloads.DATASETS`, exactly as the HTML downloads write it; other
  lists (decisions, timelines, change histories, boards) flatten their JSON rows;
- the status board comes from `ordinances.board`, deadlines from `ordinances.deadlines`.

Every view is read-only for everyone: the API authenticates nobody, so a signed-in user
sees exactly what an anonymous one sees, and a write gets 405 whoever sends it. Lists are
cursor-paginated (stable while rows are added, constant cost at any depth) and run a fixed
number of queries however many rows there are.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from csp.decorators import csp_update
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request as ApiRequest
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.routers import DefaultRouter
from rest_framework.views import APIView

from ordinances import board, downloads, filters
from ordinances.models import (
    Agency,
    CategoryRule,
    Decision,
    Event,
    Ordinance,
    Request,
    Technology,
    governing_rule,
)
from ordinances.serializers import (
    CONDITION_LIST,
    DOCUMENT_LIST,
    AgencySerializer,
    BoardEntrySerializer,
    DecisionSerializer,
    EventSerializer,
    OrdinanceChangeSerializer,
    OrdinanceSerializer,
    RequestSerializer,
    TechnologySerializer,
)

# Rows a page holds unless the client asks for another number, and the most it may ask for.
PAGE_SIZE = 25
MAX_PAGE_SIZE = 100

# What a slug or a request reference can look like. Anything else is answered 404 before it
# reaches the database (PostgreSQL refuses text with a NUL character, for one).
LOOKUP = re.compile(r"[-A-Za-z0-9_]{1,80}")


# ---------------------------------------------------------------------------
# Pagination, ordering, filtering
# ---------------------------------------------------------------------------


class Pagination(CursorPagination):
    """
    Cursor pagination: `next` and `previous` are addresses with an opaque `cursor`. A row
    added between two fetches never makes a row of the list appear twice or go missing, and
    a page deep in the list costs what the first one does (the cursor is a WHERE on an
    indexed column, not an OFFSET).
    """

    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    page_size_query_description = f"Rows a page, 1 to {MAX_PAGE_SIZE}; {PAGE_SIZE} when not given."

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        """DRF's cursor, refused with 404 when its position cannot be a value of the ordering column."""
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        name = self.ordering[0].lstrip("-")
        try:
            if "\x00" in cursor.position:
                raise ValueError("A position never holds a NUL character.")
            field = self._model._meta.pk if name == "pk" else self._model._meta.get_field(name)
            field.to_python(cursor.position)
        except (FieldDoesNotExist, ValidationError, ValueError, TypeError):
            raise exceptions.NotFound(self.invalid_cursor_message) from None
        return cursor

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": MAX_PAGE_SIZE})
        return parameters


class TimelinePagination(Pagination):
    """A request's timeline, oldest first: new entries only ever join its end."""

    ordering = ("created_at", "pk")


class ChangesPagination(Pagination):
    """An ordinance's change history, newest first."""

    ordering = ("-created_at", "-pk")


class StrictOrderingFilter(OrderingFilter):
    """
    `?ordering=` on the fields a view declares (each backed by a unique constraint or an
    index), refusing any other with 400 rather than ignoring it. A tie-breaker on the primary
    key keeps the order total, which cursor pagination needs.
    """

    def get_ordering(self, request, queryset, view):
        params = request.query_params.get(self.ordering_param)
        if not params:
            return self.get_default_ordering(view)
        fields = [param.strip() for param in params.split(",")]
        valid = self.remove_invalid_fields(queryset, fields, view, request)
        if len(valid) != len(fields) or len({field.lstrip("-") for field in fields}) != len(fields):
            allowed = ", ".join(self._choices(view))
            raise exceptions.ValidationError({self.ordering_param: [f"Order by one of: {allowed}."]})
        tie_breaker = "-pk" if valid[0].startswith("-") else "pk"
        return (*valid, tie_breaker)

    def _choices(self, view: Any) -> list[str]:
        fields = [field for field in getattr(view, "ordering_fields", ())]
        return [value for field in fields for value in (field, f"-{field}")]

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "The order of the rows: a field name, or a field name after `-` for descending.",
                "schema": {"type": "string", "enum": self._choices(view)},
            }
        ]


class FilterBackend(DjangoFilterBackend):
    """
    The FilterSet of the view (one of `ordinances.filters`): a value it refuses gives 400 with
    the errors keyed by parameter (a NUL character included: Django's form fields refuse it,
    so it never reaches PostgreSQL).
    """

    def filter_queryset(self, request, queryset, view):
        # An address that names none of the filters selects every row: building the FilterSet
        # and its form to find that out cost more than a page of rows.
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and not any(
            name in request.query_params for name in filterset_class.base_filters
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)


class FilterExtension(DjangoFilterExtension):
    """The schema of `FilterBackend`: django-filter's, with each year filter's range."""

    target_class = "ordinances.api.FilterBackend"
    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(
            auto_schema, model, filterset_class, field_name, filter_field
        )
        if isinstance(filter_field, filters.YearFilter):
            for parameter in parameters:
                parameter["schema"] = {"type": "integer", "minimum": 1900, "maximum": 2100}
        return parameters


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------


class CSVRenderer(BaseRenderer):
    """
    `text/csv` (`?format=csv` or `Accept: text/csv`) for list endpoints. The list views
    answer CSV themselves, streamed; this renderer is what content negotiation picks.
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        rows = data.get("results", [data]) if isinstance(data, dict) else list(data or [])
        return "".join(flat_csv_lines(rows, None)).encode()


def _cell(value: object) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return downloads.csv_cell(value)


def _flat(fields: Any) -> list[tuple[str, tuple[str, ...]]]:
    """The columns of a serializer: its fields, a nested object's own fields as `name_field`."""
    columns: list[tuple[str, tuple[str, ...]]] = []
    for name, field in fields.items():
        if isinstance(field, serializers.Serializer):
            columns += [(f"{name}_{sub}", (name, *path)) for sub, path in _flat(field.fields)]
        else:
            columns.append((name, (name,)))
    return columns


def flat_csv_lines(
    rows: Iterable[dict[str, Any]], serializer: serializers.Serializer | None
) -> Iterator[str]:
    """
    JSON rows as CSV: one column per field, a nested object's fields as `object_field`, lists
    and free-form facts as JSON text in one cell; the same cell rules as the downloads.
    """
    writer = csv.writer(downloads._Echo())
    columns: list[tuple[str, tuple[str, ...]]] | None = (
        _flat(serializer.fields) if serializer is not None else None
    )
    if columns is not None:
        yield writer.writerow([name for name, _ in columns])
    for row in rows:
        if columns is None:
            columns = [(name, (name,)) for name in row]
            yield writer.writerow([name for name, _ in columns])
        cells = []
        for _, keys in columns:
            value: Any = row
            for key in keys:
                value = value.get(key) if isinstance(value, dict) else None
            cells.append(_cell(value))
        yield writer.writerow(cells)


def csv_response(lines: Iterable[str], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(downloads.batched(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


# Documented on every operation that can answer CSV.
FORMAT = OpenApiParameter(
    "format",
    str,
    enum=["json", "csv"],
    description="`csv` for every row the filters select, streamed as CSV (same as `Accept: text/csv`).",
)


# ---------------------------------------------------------------------------
# The views
# ---------------------------------------------------------------------------


class PublicViewSet(viewsets.GenericViewSet):
    """
    What every endpoint shares: no authentication (the public record is the same for all),
    JSON, CSV on the actions in `csv_actions`, errors always in JSON, lookups by slug.
    """

    authentication_classes = ()
    permission_classes = (AllowAny,)
    pagination_class = Pagination
    filter_backends = (FilterBackend, StrictOrderingFilter)
    lookup_field = "slug"
    csv_actions: tuple[str, ...] = ("list",)
    # The open-data dataset this list matches, if any: its CSV is the download's.
    dataset: downloads.Dataset | None = None

    def get_renderers(self):
        renderers: list[BaseRenderer] = [JSONRenderer()]
        if self.action in self.csv_actions:
            renderers.append(CSVRenderer())
        return renderers

    def wants_csv(self) -> bool:
        return self.request.accepted_renderer.format == "csv"

    def finalize_response(self, request, response, *args, **kwargs):
        # An error is JSON even when CSV was asked for: a CSV reader could not say what went wrong.
        if (
            isinstance(response, Response)
            and response.status_code >= 400
            and getattr(request, "accepted_renderer", None) is not None
            and request.accepted_renderer.format == "csv"
        ):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    def get_object(self):
        value = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        if not LOOKUP.fullmatch(value):
            raise exceptions.NotFound()
        # The list's filters do not apply to one record.
        try:
            obj = self.get_queryset().get(**{self.lookup_field: value})
        except self.get_queryset().model.DoesNotExist:
            raise exceptions.NotFound() from None
        return obj

    def list(self, request: ApiRequest, *args: Any, **kwargs: Any) -> Response | StreamingHttpResponse:
        if self.wants_csv():
            return self.list_csv()
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: ApiRequest, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def list_csv(self) -> StreamingHttpResponse:
        """
        Every row the filters select (not one page), streamed: with the dataset's columns and
        code when the list has one, else its JSON rows flattened.
        """
        if self.dataset is not None:
            rows = FilterBackend().filter_queryset(self.request, self.dataset.rows(), self)
            if self.request.query_params.get("ordering"):
                rows = StrictOrderingFilter().filter_queryset(self.request, rows, self)
            return downloads.stream(self.dataset, rows, "csv", self.request.build_absolute_uri)
        rows = self.filter_queryset(self.get_queryset())
        return self.rows_csv(rows, self.get_serializer(), self.basename or "rows")

    def rows_csv(
        self, rows: Iterable[Any], serializer: serializers.Serializer, filename: str
    ) -> StreamingHttpResponse:
        if isinstance(rows, QuerySet):
            rows = rows.iterator(chunk_size=downloads.CHUNK_SIZE)
        represented = (serializer.to_representation(row) for row in rows)
        return csv_response(flat_csv_lines(represented, serializer), filename)


@extend_schema_view(
    list=extend_schema(summary="Ordinances", parameters=[FORMAT]),
    retrieve=extend_schema(summary="One ordinance with its process"),
)
class OrdinanceViewSet(PublicViewSet):
    """Ordinances with their process: rules per category, named exceptions, steps, deadlines, sources."""

    serializer_class = OrdinanceSerializer
    filterset_class = filters.OrdinanceFilter
    ordering = ("file_number",)
    ordering_fields = ("file_number", "slug")
    dataset = downloads.ORDINANCES
    csv_actions = ("list", "changes")

    def get_queryset(self) -> QuerySet[Ordinance]:
        if self.action == "changes":
            return Ordinance.objects.all()
        return Ordinance.objects.prefetch_related("sources", "rules", "exceptions", "steps", "deadlines")

    @extend_schema(
        summary="An ordinance's change history",
        responses=OrdinanceChangeSerializer(many=True),
        parameters=[FORMAT],
    )
    @action(
        detail=True,
        serializer_class=OrdinanceChangeSerializer,
        pagination_class=ChangesPagination,
        filter_backends=(),
    )
    def changes(self, request: ApiRequest, slug: str) -> Response | StreamingHttpResponse:
        """Every change to the ordinance's process, newest first: each value's path, old and new."""
        ordinance = self.get_object()
        rows = ordinance.changes.all()
        if self.wants_csv():
            return self.rows_csv(
                rows.order_by("-created_at", "-pk"), self.get_serializer(), f"{slug}-changes"
            )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


def board_docs(of: str, row: str) -> Any:
    return extend_schema(
        summary=f"{of} status board",
        description=(
            f"One row per {row}: the status code derived from the rule in force and the public "
            "requests, the rule and its ordinance, the approvals in effect with their dates, the "
            "pending requests. Demo rows carry `is_demo`."
        ),
        responses=BoardEntrySerializer(many=True),
        parameters=[FORMAT],
    )


def _board_response(view: PublicViewSet, entries: tuple[board.BoardEntry, ...], filename: str):
    serializer = BoardEntrySerializer(context=view.get_serializer_context())
    if view.wants_csv():
        return view.rows_csv(entries, serializer, filename)
    return Response([serializer.to_representation(entry) for entry in entries])


@extend_schema_view(
    list=extend_schema(summary="Agencies", parameters=[FORMAT]),
    retrieve=extend_schema(summary="One agency"),
)
class AgencyViewSet(PublicViewSet):
    """City departments and outside bodies that may use surveillance technology."""

    serializer_class = AgencySerializer
    filterset_class = filters.AgencyFilter
    ordering = ("name",)
    ordering_fields = ("name", "slug")
    dataset = downloads.AGENCIES
    csv_actions = ("list", "board")

    def get_queryset(self) -> QuerySet[Agency]:
        return Agency.objects.all()

    @board_docs("An agency's", "technology")
    @action(detail=True, pagination_class=None, filter_backends=(), serializer_class=BoardEntrySerializer)
    def board(self, request: ApiRequest, slug: str) -> Response | StreamingHttpResponse:
        agency = self.get_object()
        return _board_response(self, board.for_agency(agency).all_entries, f"{slug}-board")


def with_governing_rules(technologies: list[Technology]) -> None:
    """
    Set each technology's `governing_rule` (the code of the rule in force for its category,
    or None), as `rule_in_force_subquery` would annotate it, from one query of the rules in
    force and `models.governing_rule`, the same choice in Python: building and planning the
    subquery cost more than the rest of a page of technologies.
    """
    if not technologies:
        return
    rules = list(
        CategoryRule.objects.filter(ordinance__status__in=Ordinance.IN_FORCE).select_related("ordinance")
    )
    found: dict[tuple[str, bool], str | None] = {}
    for technology in technologies:
        key = (technology.category, technology.is_demo)
        if key not in found:
            rule = governing_rule(rules, technology.category, is_demo=technology.is_demo)
            found[key] = rule.rule if rule is not None else None
        technology.governing_rule = found[key]  # type: ignore[attr-defined]


@extend_schema_view(
    list=extend_schema(summary="Technologies", parameters=[FORMAT]),
    retrieve=extend_schema(summary="One technology"),
)
class TechnologyViewSet(PublicViewSet):
    """Surveillance technologies, each with the rule in force for its category."""

    serializer_class = TechnologySerializer
    filterset_class = filters.TechnologyFilter
    ordering = ("name",)
    ordering_fields = ("name", "slug")
    dataset = downloads.TECHNOLOGIES
    csv_actions = ("list", "board")

    def get_queryset(self) -> QuerySet[Technology]:
        return Technology.objects.all()

    def paginate_queryset(self, queryset: QuerySet[Technology]) -> list[Technology] | None:
        page = super().paginate_queryset(queryset)
        if page is not None:
            with_governing_rules(page)
        return page

    def get_object(self) -> Technology:
        technology = super().get_object()
        if self.action == "retrieve":
            with_governing_rules([technology])
        return technology

    @board_docs("A technology's", "agency")
    @action(detail=True, pagination_class=None, filter_backends=(), serializer_class=BoardEntrySerializer)
    def board(self, request: ApiRequest, slug: str) -> Response | StreamingHttpResponse:
        technology = self.get_object()
        return _board_response(self, board.for_technology(technology).all_entries, f"{slug}-board")


@extend_schema_view(
    list=extend_schema(summary="Requests", parameters=[FORMAT]),
    retrieve=extend_schema(summary="One request"),
)
class RequestViewSet(PublicViewSet):
    """Every request an agency has submitted, never a draft, with its decision and its dates."""

    serializer_class = RequestSerializer
    filterset_class = filters.RequestFilter
    lookup_field = "reference"
    # Newest first by reference (REQ-<year>-<number>): unique, indexed, never changes.
    ordering = ("-reference",)
    ordering_fields = ("reference",)
    dataset = downloads.REQUESTS
    csv_actions = ("list", "timeline")

    def get_queryset(self) -> QuerySet[Request]:
        if self.action == "timeline":
            return Request.objects.public()
        # The records a row names come by their own queries, not joins: PostgreSQL took longer
        # to plan a join of seven tables (10-17 ms) than to run every query of the page. Of an
        # agency, a technology and a renewed request only the columns their references show
        # (`AgencyRefSerializer` and the rest): loading whole rows cost more than the query.
        return (
            Request.objects.public()
            .select_related("decision")
            .prefetch_related(
                Prefetch("agency", Agency._base_manager.only("slug", "name")),
                Prefetch("technology", Technology._base_manager.only("slug", "name", "category")),
                "ordinance__deadlines",
                "exception",
                Prefetch("renews", Request._base_manager.only("reference", "status")),
                # Lists (`to_attr`), not managers: a manager's queryset made for every row to
                # hold its prefetched rows cost more than reading them.
                Prefetch("attachments", to_attr=DOCUMENT_LIST),
                Prefetch("decision__conditions", to_attr=CONDITION_LIST),
            )
        )

    @extend_schema(
        summary="A request's public timeline",
        responses=EventSerializer(many=True),
        parameters=[FORMAT],
    )
    @action(
        detail=True,
        serializer_class=EventSerializer,
        pagination_class=TimelinePagination,
        filter_backends=(),
    )
    def timeline(self, request: ApiRequest, reference: str) -> Response | StreamingHttpResponse:
        """The public timeline, oldest first: action codes, status codes, facts. Internal notes never appear."""
        events = Event.objects.public().filter(request=self.get_object())
        if self.wants_csv():
            return self.rows_csv(
                events.order_by("created_at", "pk"), self.get_serializer(), f"{reference}-timeline"
            )
        page = self.paginate_queryset(events)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="Decisions", parameters=[FORMAT]),
    retrieve=extend_schema(summary="The decision on one request"),
)
class DecisionViewSet(PublicViewSet):
    """Decisions on public requests with their votes and conditions, found by the request's reference."""

    serializer_class = DecisionSerializer
    filterset_class = filters.DecisionFilter
    lookup_field = "request__reference"
    lookup_url_kwarg = "reference"
    # Latest decided first (indexed, `decision_decided_on`).
    ordering = ("-decided_on", "-pk")
    ordering_fields = ("decided_on",)

    def get_queryset(self) -> QuerySet[Decision]:
        # Of the request, only what a decision shows of it (`RequestRefSerializer`): loading
        # its whole row cost more than the query did.
        return (
            Decision.objects.filter(request__in=Request.objects.public())
            .select_related("request")
            .only(
                *(field.name for field in Decision._meta.concrete_fields),
                "request__reference",
                "request__status",
            )
            .prefetch_related(Prefetch("conditions", to_attr=CONDITION_LIST))
        )


# ---------------------------------------------------------------------------
# The index, unknown addresses, the router
# ---------------------------------------------------------------------------

# The index's entries: name, URL name.
INDEX = (
    ("ordinances", "api:ordinance-list"),
    ("agencies", "api:agency-list"),
    ("technologies", "api:technology-list"),
    ("requests", "api:request-list"),
    ("decisions", "api:decision-list"),
    ("schema", "api-schema"),
    ("docs", "api-docs"),
)


class Index(APIView):
    """`/api/v1/`: the address of every list, of the schema and of the docs."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    renderer_classes = (JSONRenderer,)

    @extend_schema(
        summary="Index of the API",
        tags=["index"],
        responses=inline_serializer(
            "Index", {name: serializers.URLField(read_only=True) for name, _ in INDEX}
        ),
    )
    def get(self, request: ApiRequest) -> Response:
        return Response({name: reverse(url_name, request=request) for name, url_name in INDEX})


def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """An address under /api/v1/ that names no endpoint: 404 in JSON, like every API error."""
    return JsonResponse({"detail": str(exceptions.NotFound.default_detail)}, status=404)


class Router(DefaultRouter):
    include_root_view = False
    include_format_suffixes = False


router = Router()
router.register("ordinances", OrdinanceViewSet, basename="ordinance")
router.register("agencies", AgencyViewSet, basename="agency")
router.register("technologies", TechnologyViewSet, basename="technology")
router.register("requests", RequestViewSet, basename="request")
router.register("decisions", DecisionViewSet, basename="decision")

# `/api/v1/...` in the `api` namespace (its answers are the public record); the schema and its
# documentation pages beside it, under names of their own: they change with a release, not
# with the record.
v1_patterns = [
    path("", Index.as_view(), name="index"),
    path("", include(router.urls)),
    re_path(r"^(?P<rest>.*)$", not_found),
]

urlpatterns = [
    path("v1/", include((v1_patterns, "api"))),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The docs under the site's Content-Security-Policy: Swagger UI's start-up script from its own
    # address (the split view serves it at ?script) rather than inline, the pages' styles from
    # static/css/api-docs.css (templates/api/), and Swagger UI's icons, which are data: images.
    path(
        "docs/",
        csp_update({"img-src": ["data:"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html")
        ),
        name="api-docs",
    ),
    # Redoc is retired: its bundle writes <style> elements as it loads and cannot be given a
    # nonce from outside it, so it cannot run under a policy without 'unsafe-inline'. Its address
    # leads to Swagger UI, which documents the same schema. Not permanent, so a browser that
    # followed it once would find Redoc again if it came back.
    path("redoc/", RedirectView.as_view(pattern_name="api-docs", permanent=False), name="api-redoc"),
]


# ---------------------------------------------------------------------------
# The schema: every error the API gives, and CSV as text
# ---------------------------------------------------------------------------

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
    "description": "What went wrong, in words.",
}
FIELD_ERRORS = {
    "type": "object",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "description": "Each query parameter that could not be applied, with what was wrong with its value.",
}
ERROR_RESPONSES = {
    "400": ("FieldErrors", "A query parameter has a value that cannot be applied; each is named."),
    "404": ("Error", "No such record, or a cursor that is not one this API gave."),
    "406": ("Error", "The `Accept` header names no format this endpoint gives."),
    "429": ("Error", "Too many requests; `Retry-After` says how many seconds to wait."),
}


def document_errors_and_csv(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """
    drf-spectacular postprocessing hook: every operation lists the errors any endpoint can
    give (400, 404, 406, 429) in JSON, and 304 for a conditional GET; a CSV body is text.
    """
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR
    schemas["FieldErrors"] = FIELD_ERRORS
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for ok in responses.values():
                if "text/csv" in ok.get("content", {}):
                    ok["content"]["text/csv"] = {"schema": {"type": "string"}}
            # Answered before the view runs when the record has not changed (conditional GET).
            responses.setdefault(
                "304",
                {"description": "Not modified since `If-Modified-Since`, or still `If-None-Match`; no body."},
            )
            for status, (component, description) in ERROR_RESPONSES.items():
                response: dict[str, Any] = {
                    "description": description,
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}
                    },
                }
                if status == "429":
                    response["headers"] = {
                        "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
                    }
                responses.setdefault(status, response)
    return result
