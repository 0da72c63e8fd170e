"""
Open data: every public list as CSV and JSON, and the columns of each, in one place.

A `Dataset` names its rows (a queryset of what the public may see), the FilterSet its
HTML list uses (so `?status=...` means the same on the page, in the download and, later,
in the API) and its `Column`s. A column is a name, a description residents read on the
data dictionary page (`/data/`), a type and a function from a row to a value. Values are
facts: codes, numbers, dates and text as stored. The `*_label` columns are the only words,
made when the file is written, in the language of the page it was downloaded from.

Downloads stream: rows come from the database in chunks (`QuerySet.iterator`) and leave
as text in batches, so memory stays flat however many rows a list has.
"""

from __future__ import annotations

import csv
import datetime
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe
from django_filters import FilterSet

from ordinances import filters
from ordinances.models import (
    Agency,
    Category,
    CategoryRule,
    Decision,
    Ordinance,
    Request,
    Technology,
    rule_in_force_subquery,
)

# Rows fetched from the database at a time, and rows written out per chunk of the response.
CHUNK_SIZE = 500
BATCH_ROWS = 100


class Type:
    """What kind of value a column holds; the data dictionary explains each."""

    TEXT = "text"
    CODE = "code"
    LABEL = "label"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    URL = "url"


TYPE_DESCRIPTIONS: dict[str, Promise] = {
    Type.TEXT: _("Text as the agency or the clerk wrote it."),
    Type.CODE: _(
        "A fixed code; its meanings are listed with the column. Codes never change with the language."
    ),
    Type.LABEL: _("The code of the column before it in words, in the language of the download."),
    Type.INTEGER: _("A whole number; empty when not recorded."),
    Type.BOOLEAN: _("true or false."),
    Type.DATE: _("A date, YYYY-MM-DD; empty when not recorded."),
    Type.DATETIME: _("A moment in UTC, ISO 8601 (YYYY-MM-DDTHH:MM:SSZ); empty when not recorded."),
    Type.URL: _("The address of the record's page on this portal."),
}


@dataclass(frozen=True)
class Column:
    """One column of a dataset: its name in files, what it means, and how to read it off a row."""

    name: str
    description: Promise | str
    value: Callable[[Any], object]
    type: str = Type.TEXT
    # For a CODE column: the codes and their labels, listed on the data dictionary page.
    choices: tuple[tuple[str, Any], ...] = ()


def field(name: str) -> Callable[[Any], object]:
    """A value read by attribute path, e.g. `field("agency.slug")`; empty where a link is missing."""
    parts = name.split(".")

    def read(row: Any) -> object:
        value = row
        for part in parts:
            value = getattr(value, part, None)
            if value is None:
                return None
        return value

    return read


def coded(name: str, description: Promise, choices: Iterable[tuple[str, Any]]) -> tuple[Column, Column]:
    """A code column and its `_label` column, whose words come from the same choices at render."""
    labels = dict(choices)
    read = field(name)

    def label(row: Any) -> str:
        code = read(row)
        return "" if code in (None, "") else str(labels.get(str(code), code))

    return (
        Column(name.replace(".", "_"), description, read, Type.CODE, tuple(labels.items())),
        Column(f"{name.replace('.', '_')}_label", _("The code before it in words."), label, Type.LABEL),
    )


def url_of(row: Any) -> str:
    return row.get_absolute_url()


@dataclass(frozen=True)
class Dataset:
    """A public list offered as a download: its rows, its FilterSet and its columns."""

    slug: str
    title: Promise
    description: Promise
    list_url_name: str
    filterset_class: type[FilterSet]
    rows: Callable[[], QuerySet]
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


def _ordinance_rows() -> QuerySet:
    return Ordinance.objects.order_by("-adopted_on", "file_number", "pk")


def _agency_rows() -> QuerySet:
    return Agency.objects.order_by("name", "pk")


def _technology_rows() -> QuerySet:
    return Technology.objects.annotate(governing_rule=rule_in_force_subquery("category", "is_demo")).order_by(
        "name", "pk"
    )


def _request_rows() -> QuerySet:
    # Only what anyone may see: `public()` never yields a draft.
    return (
        Request.objects.public()
        .for_list()
        .select_related("exception", "renews")
        .order_by("-created_at", "-pk")
    )


DEMO = Column(
    "is_demo", _("true for a fictional record made for demonstration."), field("is_demo"), Type.BOOLEAN
)

# The language staff wrote the record's text in (its code, then the language's name).
LANGUAGE = coded("language", _("The language the record's text is written in."), settings.LANGUAGES)

ORDINANCES = Dataset(
    slug="ordinances",
    title=_("Ordinances"),
    description=_("Every surveillance-technology ordinance the portal follows."),
    list_url_name="ordinances:ordinance_list",
    filterset_class=filters.OrdinanceFilter,
    rows=_ordinance_rows,
    columns=(
        Column("file_number", _("The council's file number, e.g. 2020-00681."), field("file_number")),
        Column("slug", _("The ordinance's short name in this portal's addresses."), field("slug"), Type.CODE),
        Column("title", _("The ordinance's title."), field("title")),
        Column("jurisdiction", _("The government that adopted it."), field("jurisdiction")),
        Column("code_citation", _("Where it sits in the city code."), field("code_citation")),
        *coded("status", _("Where the ordinance stands."), Ordinance.Status.choices),
        Column("introduced_on", _("When it was introduced."), field("introduced_on"), Type.DATE),
        Column("adopted_on", _("When it was adopted."), field("adopted_on"), Type.DATE),
        Column("effective_on", _("When it took effect."), field("effective_on"), Type.DATE),
        Column("votes_yes", _("Council votes for it."), field("votes_yes"), Type.INTEGER),
        Column("votes_no", _("Council votes against it."), field("votes_no"), Type.INTEGER),
        Column("votes_abstain", _("Council members abstaining."), field("votes_abstain"), Type.INTEGER),
        Column("votes_absent", _("Council members absent."), field("votes_absent"), Type.INTEGER),
        Column("summary", _("A plain-language summary."), field("summary")),
        Column(
            "unverified_note",
            _("What in the record could not be checked against the primary text; empty when all was."),
            field("unverified_note"),
        ),
        *LANGUAGE,
        DEMO,
        Column("url", _("The ordinance's page."), url_of, Type.URL),
    ),
)

AGENCIES = Dataset(
    slug="agencies",
    title=_("Agencies"),
    description=_("City departments and outside bodies that may use surveillance technology."),
    list_url_name="ordinances:agency_list",
    filterset_class=filters.AgencyFilter,
    rows=_agency_rows,
    columns=(
        Column("name", _("The agency's name."), field("name")),
        Column("slug", _("The agency's short name in this portal's addresses."), field("slug"), Type.CODE),
        *coded("kind", _("What kind of agency it is."), Agency.Kind.choices),
        Column(
            "covered", _("true when the city's ordinances bind this agency."), field("covered"), Type.BOOLEAN
        ),
        Column("website", _("The agency's own website."), field("website")),
        Column("description", _("What the agency does."), field("description")),
        *LANGUAGE,
        DEMO,
        Column("url", _("The agency's page."), url_of, Type.URL),
    ),
)

TECHNOLOGIES = Dataset(
    slug="technologies",
    title=_("Technologies"),
    description=_("Surveillance technologies, with the rule in force for each one's category."),
    list_url_name="ordinances:technology_list",
    filterset_class=filters.TechnologyFilter,
    rows=_technology_rows,
    columns=(
        Column("name", _("The technology's name."), field("name")),
        Column(
            "slug", _("The technology's short name in this portal's addresses."), field("slug"), Type.CODE
        ),
        *coded("category", _("Its category; ordinances set their rules per category."), Category.choices),
        *coded(
            "governing_rule",
            _(
                "The rule in force for its category (the strictest of the ordinances in force); empty when none."
            ),
            CategoryRule.Rule.choices,
        ),
        Column("description", _("What it does."), field("description")),
        Column("civil_liberties_concerns", _("Concerns it raises."), field("civil_liberties_concerns")),
        Column("vendors", _("Known vendors, comma separated."), field("vendors")),
        *LANGUAGE,
        DEMO,
        Column("url", _("The technology's page."), url_of, Type.URL),
    ),
)

REQUESTS = Dataset(
    slug="requests",
    title=_("Requests"),
    description=_(
        "Every request an agency has submitted (exceptions, approvals, renewals and reports of "
        "emergency use) with where it stands and its decision. Drafts are never included."
    ),
    list_url_name="ordinances:request_list",
    filterset_class=filters.RequestFilter,
    rows=_request_rows,
    columns=(
        Column("reference", _("The request's public reference, e.g. REQ-2026-0007."), field("reference")),
        *coded("kind", _("What the agency asks for or reports."), Request.Kind.choices),
        *coded("status", _("Where the request stands."), Request.Status.choices),
        Column("title", _("The request's title, as the agency wrote it."), field("title")),
        Column(
            "agency",
            _("The agency's short name (see the agencies dataset)."),
            field("agency.slug"),
            Type.CODE,
        ),
        Column("agency_name", _("The agency's name."), field("agency.name")),
        Column(
            "technology",
            _("The technology's short name (see the technologies dataset)."),
            field("technology.slug"),
            Type.CODE,
        ),
        Column("technology_name", _("The technology's name."), field("technology.name")),
        *coded("technology.category", _("The technology's category."), Category.choices),
        Column(
            "ordinance",
            _("The file number of the ordinance it is made under (see the ordinances dataset)."),
            field("ordinance.file_number"),
        ),
        Column(
            "exception", _("The ordinance's named exception it relies on, if any."), field("exception.title")
        ),
        Column("renews", _("The reference of the request it renews, if any."), field("renews.reference")),
        Column("purpose", _("What the technology would be used for."), field("purpose")),
        Column("justification", _("Why the agency says it is needed."), field("justification")),
        Column(
            "alternatives_considered", _("What else the agency considered."), field("alternatives_considered")
        ),
        Column("data_collected", _("What data would be collected."), field("data_collected")),
        Column("retention", _("How long the data would be kept."), field("retention")),
        Column("sharing", _("Every outside body that would receive data."), field("sharing")),
        Column(
            "requested_term_days",
            _("How many days the agency asks the approval to last."),
            field("requested_term_days"),
            Type.INTEGER,
        ),
        Column(
            "emergency_used_on",
            _("For a report of emergency use: the day of the use."),
            field("emergency_used_on"),
            Type.DATE,
        ),
        Column("submitted_at", _("When it was first submitted."), field("submitted_at"), Type.DATETIME),
        Column(
            "comment_period_opened_on",
            _("When public comment opened."),
            field("comment_period_opened_on"),
            Type.DATE,
        ),
        Column(
            "comment_period_ends_on",
            _("The last day of public comment."),
            field("comment_period_ends_on"),
            Type.DATE,
        ),
        Column(
            "hearing_at", _("When the public hearing is or was held."), field("hearing_at"), Type.DATETIME
        ),
        *coded("decision.outcome", _("The decision, once made."), Decision.Outcome.choices),
        Column("decided_on", _("When it was decided."), field("decision.decided_on"), Type.DATE),
        Column("votes_yes", _("Votes for."), field("decision.votes_yes"), Type.INTEGER),
        Column("votes_no", _("Votes against."), field("decision.votes_no"), Type.INTEGER),
        Column(
            "effective_on", _("When an approval takes effect."), field("decision.effective_on"), Type.DATE
        ),
        Column("expires_on", _("When an approval ends."), field("decision.expires_on"), Type.DATE),
        *LANGUAGE,
        DEMO,
        Column("url", _("The request's page, with its full public timeline."), url_of, Type.URL),
    ),
)

DATASETS: dict[str, Dataset] = {
    dataset.slug: dataset for dataset in (ORDINANCES, AGENCIES, TECHNOLOGIES, REQUESTS)
}
# The list page each dataset is the download of, by URL name (for links on those pages).
DATASET_OF_LIST: dict[str, Dataset] = {
    dataset.list_url_name.split(":")[1]: dataset for dataset in DATASETS.values()
}
FORMATS = ("csv", "json")


# ---------------------------------------------------------------------------
# Writing values
# ---------------------------------------------------------------------------

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Google
# Sheets ("CSV injection"): text an agency typed, such as =HYPERLINK(...), could then send
# a resident's data elsewhere or run a command. A leading apostrophe makes the spreadsheet
# show the cell as text. OWASP's advice; JSON needs no such care and is left exact.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def plain(value: object) -> object:
    """A value as JSON holds it: dates as ISO text, moments in UTC with a Z, words as text."""
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Promise):
        return str(value)
    return value


def csv_cell(value: object) -> str:
    """A value as one CSV cell: empty for none, true/false, and text that cannot run as a formula."""
    value = plain(value)
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    # Numbers (a negative one too) are numbers, not formulas: they stay as they are.
    return str(value)


def record(dataset: Dataset, row: Any, absolute: Callable[[str], str]) -> dict[str, object]:
    """One row as a mapping of column name to plain value (the JSON object of a row)."""
    values = {}
    for column in dataset.columns:
        value = column.value(row)
        if column.type == Type.URL and value:
            value = absolute(str(value))
        values[column.name] = plain(value)
    return values


class _Echo:
    """A file-like object whose `write` hands the text back, for `csv.writer` to stream."""

    def write(self, value: str) -> str:
        return value


def batched(lines: Iterable[str]) -> Iterator[str]:
    """Lines joined into chunks of `BATCH_ROWS`, so a streamed response is not one write per row."""
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= BATCH_ROWS:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def csv_lines(dataset: Dataset, rows: Iterable[Any], absolute: Callable[[str], str]) -> Iterator[str]:
    """A header line, then one line per row."""
    writer = csv.writer(_Echo())
    yield writer.writerow(dataset.column_names)
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in record(dataset, row, absolute).values()])


def json_pieces(dataset: Dataset, rows: Iterable[Any], absolute: Callable[[str], str]) -> Iterator[str]:
    """A JSON array of one object per row, written piece by piece."""
    yield "["
    separator = "\n"
    for row in rows:
        yield separator + json.dumps(record(dataset, row, absolute), ensure_ascii=False)
        separator = ",\n"
    yield "\n]\n"


# ---------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------


def _errors_response(filterset: FilterSet, fmt: str) -> HttpResponse:
    errors = filterset.errors.get_json_data()
    if fmt == "json":
        return JsonResponse({"errors": errors}, status=400)
    lines = [f"{name}: {error['message']}" for name, items in errors.items() for error in items]
    return HttpResponse(
        "\n".join([str(_("These filters could not be applied:")), *lines]) + "\n",
        content_type="text/plain; charset=utf-8",
        status=400,
    )


@require_safe
def download(request: HttpRequest, dataset: str, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """
    Exactly the rows the list page shows for the same query string (all pages of it), as
    CSV or JSON. A filter value the FilterSet refuses gives 400 with the errors, never a 500.
    """
    spec = DATASETS[dataset]
    filterset = spec.filterset_class(request.GET or None, queryset=spec.rows(), request=request)
    if filterset.is_bound and not filterset.is_valid():
        return _errors_response(filterset, fmt)
    return stream(spec, filterset.qs, fmt, request.build_absolute_uri)


def stream(spec: Dataset, rows: QuerySet, fmt: str, absolute: Callable[[str], str]) -> StreamingHttpResponse:
    """
    `rows` of `spec` as a streamed CSV or JSON file. The downloads and the API's CSV
    (`ordinances.api`) both answer with it, so their columns cannot drift apart.
    """
    chunked = rows.iterator(chunk_size=CHUNK_SIZE)
    if fmt == "json":
        pieces = json_pieces(spec, chunked, absolute)
        content_type = "application/json"
    else:
        pieces = csv_lines(spec, chunked, absolute)
        content_type = "text/csv; charset=utf-8"
    response = StreamingHttpResponse(batched(pieces), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{spec.slug}.{fmt}"'
    return response


@require_safe
def data_dictionary(request: HttpRequest) -> HttpResponse:
    """Every dataset with its download links, and every column with what it means."""
    context = {
        "datasets": DATASETS.values(),
        "types": [(name, TYPE_DESCRIPTIONS[name]) for name in TYPE_DESCRIPTIONS],
    }
    return render(request, "ordinances/data_dictionary.html", context)
