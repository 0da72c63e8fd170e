"""
When the public record last changed: the `Last-Modified` of every public answer (pages,
downloads, feeds, the API, `/data.json`) and the `modified` of each dataset in `/data.json`.

Every moment comes from the record itself, never from a clock of our own:

- an ordinance's change history (`OrdinanceChange`: every admin save and file load);
- a public request's `updated_at` (every workflow step and edit saves it);
- the public timeline (`Event.objects.public()` of public requests: notes, documents,
  conditions); internal notes are left out, so no header tells when staff wrote one;
- the `updated_at` of agencies, technologies, the inventory (`TechnologyUse`) and sources,
  which every save sets, however the row was written: the admin, `manage.py import_atlas`,
  `seed_demo` or a shell (a bulk `update()` or `bulk_create()` must set it itself);
- a deletion leaves no row to carry a moment: the admin's log of deletions (`LogEntry`)
  gives the moment of those of ordinances, agencies, technologies, the inventory and sources.

A page also changes with the calendar: public comment closes at the end of a day, an
approval takes effect or ends on a date, a hearing is held at its moment. So the moment of
a page (`Changes.page`) is never earlier than the start of today in the city's time zone
nor than the last hearing already held.

One query, however many rows (`latest`): the latest moment of each source, one row each,
joined by UNION ALL.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.contrib.admin.models import DELETION, LogEntry
from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Expression, Max, Model, QuerySet, Subquery, Value
from django.db.models.sql.compiler import SQLCompiler
from django.http import HttpRequest
from django.utils import timezone

from ordinances.models import (
    Agency,
    Event,
    Ordinance,
    OrdinanceChange,
    Request,
    Source,
    Technology,
    TechnologyUse,
)

# The public models whose rows keep their own `updated_at`.
UPDATED: tuple[type[Model], ...] = (Agency, Technology, TechnologyUse, Source)
# The public models whose deletions in the admin count as changes.
DELETED: tuple[type[Model], ...] = (Ordinance, *UPDATED)


def newest(*moments: datetime.datetime | None) -> datetime.datetime | None:
    """The latest of `moments` that are known, or None."""
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None


@dataclass(frozen=True)
class Changes:
    """The latest moment of each source of the public record (None where it has none)."""

    now: datetime.datetime
    ordinances: datetime.datetime | None  # the latest OrdinanceChange
    requests: datetime.datetime | None  # the latest `updated_at` of a public request
    timeline: datetime.datetime | None  # the latest public Event of a public request
    hearing_held: datetime.datetime | None  # the latest hearing already held
    set_up: datetime.datetime | None = None  # when the database was last migrated
    # The latest save or admin deletion of a row of each model, by `model._meta.model_name`.
    by_model: dict[str, datetime.datetime] = field(default_factory=dict)

    def changed(self, *models: type[Model]) -> datetime.datetime | None:
        """The latest save or admin deletion of a row of `models`."""
        return newest(*(self.by_model.get(model._meta.model_name or "") for model in models))

    @property
    def record(self) -> datetime.datetime | None:
        """The latest change of any source."""
        return newest(self.ordinances, self.requests, self.timeline, *self.by_model.values())

    @property
    def page(self) -> datetime.datetime:
        """
        The moment a public answer last changed: the record's latest change, the start of
        today in the city's time zone, or the last hearing held, whichever is latest.
        """
        midnight = timezone.make_aware(
            datetime.datetime.combine(timezone.localdate(self.now), datetime.time.min)
        )
        return newest(self.record, self.hearing_held, midnight) or midnight


def _latest(name: str, rows: QuerySet[Any], moment: str | Expression | Subquery) -> QuerySet[Any]:
    """One row, (`name`, the latest `moment` of `rows`), for the UNION of `latest`."""
    return (
        rows.order_by()
        .annotate(freshness_source=Value(name))
        .values("freshness_source")  # a constant: no GROUP BY, so one row even of no rows (NULL)
        .annotate(latest=Max(moment))
        .values_list("freshness_source", "latest")
    )


def _parts(now: datetime.datetime) -> list[QuerySet[Any]]:
    """The querysets of `latest`, one (or, for deletions, one per model) row each."""
    public_requests = Request.objects.public()
    return [
        _latest("requests", public_requests, "updated_at"),
        _latest("hearing_held", public_requests.filter(hearing_at__lte=now), "hearing_at"),
        # The newest public event of a public request, found from the newest event down
        # (index `event_created`), taken as a scalar over the migrations table (never empty):
        # a MAX over the join would read every event of the city's history on every page.
        _latest(
            "timeline",
            MigrationRecorder.Migration.objects.all(),
            Subquery(
                Event.objects.public()
                .exclude(request__status=Request.Status.DRAFT)
                .order_by("-created_at")
                .values("created_at")[:1]
            ),
        ),
        _latest("ordinances", OrdinanceChange.objects.all(), "created_at"),
        _latest("set_up", MigrationRecorder.Migration.objects.all(), "applied"),
        *(
            _latest(model._meta.model_name or "", model._default_manager.all(), "updated_at")
            for model in UPDATED
        ),
        # A deletion in the admin, by model (a row only for the models that had one).
        LogEntry.objects.filter(
            action_flag=DELETION,
            content_type__app_label=Ordinance._meta.app_label,
            content_type__model__in=[model._meta.model_name for model in DELETED],
        )
        .order_by()
        .values_list("content_type__model")
        .annotate(latest=Max("action_time")),
    ]


# A moment no record holds, compiled in the place of `now` and replaced by it on each run.
_NOW_STAND_IN = datetime.datetime(1999, 12, 31, 23, 59, 58, 987654, tzinfo=datetime.UTC)
# The name of `latest`'s prepared statement on each PostgreSQL connection.
STATEMENT = "portal_freshness"


@dataclass(frozen=True)
class _Compiled:
    """`latest`'s query as SQL for one database: only `now` (the parameter `now_at`) changes."""

    sql: str
    params: tuple[Any, ...]
    now_at: int
    compiler: SQLCompiler
    converters: dict[int, Any]

    def prepare_sql(self, connection: BaseDatabaseWrapper) -> str:
        """PostgreSQL's `PREPARE` of the query: its constants written in, `now` its one parameter."""
        pieces = self.sql.split("%s")
        if len(pieces) != len(self.params) + 1 or "%%" in self.sql:
            raise ValueError("The freshness query's placeholders cannot be told apart.")
        ops: Any = connection.ops  # PostgreSQL's, which composes SQL with its literals
        sql = [pieces[0]]
        for index, (param, piece) in enumerate(zip(self.params, pieces[1:], strict=True)):
            sql.append("$1" if index == self.now_at else ops.compose_sql("%s", [param]))
            sql.append(piece)
        return f"PREPARE {STATEMENT} (timestamptz) AS {''.join(sql)}"


# Built and compiled once per database and process: building the ten querysets and compiling
# their SQL cost several times what the database takes to answer (every public answer asks).
_compiled: dict[str, _Compiled] = {}


def _compile(alias: str) -> _Compiled:
    connection = connections[alias]
    parts = _parts(_NOW_STAND_IN)
    compiler = parts[0].union(*parts[1:], all=True).query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    stand_in = connection.ops.adapt_datetimefield_value(_NOW_STAND_IN)
    (now_at,) = (index for index, param in enumerate(params) if param == stand_in)
    columns = [selected[0] for selected in compiler.select[: compiler.col_count]]
    return _Compiled(sql, tuple(params), now_at, compiler, compiler.get_converters(columns))


def _prepares(connection: BaseDatabaseWrapper) -> bool:
    """
    Whether `latest` runs as a prepared statement on `connection`: on PostgreSQL, where
    planning the ten parts took longer than running them, unless a pooler in transaction
    mode (which needs DISABLE_SERVER_SIDE_CURSORS, docs/deployment.md) may hand each
    transaction another server session, which would not know the statement.
    """
    settings = connection.settings_dict
    return (
        connection.vendor == "postgresql"
        and not settings.get("DISABLE_SERVER_SIDE_CURSORS")
        # Binding on the client, as Django does by default: the one call below sends two statements.
        and not settings.get("OPTIONS", {}).get("server_side_binding")
    )


def _rows(now: datetime.datetime) -> list[tuple[str, datetime.datetime | None]]:
    """`_parts(now)`'s rows, from the SQL compiled for the database Django would read them from."""
    alias = router.db_for_read(Request)
    compiled = _compiled.get(alias)
    if compiled is None:
        compiled = _compiled[alias] = _compile(alias)
    connection = connections[alias]
    with connection.cursor() as cursor:
        if _prepares(connection):
            execute = f"EXECUTE {STATEMENT} (%s)"
            # Prepared once per server session, which keeps it as long as the connection, in
            # the same call as its first run: still one query.
            if getattr(connection, "portal_freshness_prepared_on", None) is not connection.connection:
                cursor.execute(f"{compiled.prepare_sql(connection)}; {execute}", [now])
                cursor.nextset()
                connection.portal_freshness_prepared_on = connection.connection  # type: ignore[attr-defined]
            else:
                cursor.execute(execute, [now])
        else:
            params = list(compiled.params)
            params[compiled.now_at] = connection.ops.adapt_datetimefield_value(now)
            cursor.execute(compiled.sql, params)
        rows = cursor.fetchall()
    if compiled.converters:
        rows = list(compiled.compiler.apply_converters(rows, compiled.converters))
    return [(name, moment) for name, moment in rows]


def latest(now: datetime.datetime | None = None) -> Changes:
    """The latest moment of each source, in one query."""
    now = now or timezone.now()
    moments: dict[str, datetime.datetime | None] = {}
    by_model: dict[str, datetime.datetime] = {}
    for name, moment in _rows(now):
        if name in ("requests", "hearing_held", "timeline", "ordinances", "set_up"):
            moments[name] = moment
        elif moment is not None:
            by_model[name] = newest(by_model.get(name), moment) or moment
    return Changes(
        now=now,
        ordinances=moments.get("ordinances"),
        requests=moments.get("requests"),
        timeline=moments.get("timeline"),
        hearing_held=moments.get("hearing_held"),
        set_up=moments.get("set_up"),
        by_model=by_model,
    )


def for_request(request: HttpRequest) -> Changes:
    """`latest()`, read once for one HTTP request (the middleware and the view share it)."""
    changes: Changes | None = getattr(request, "_public_record_changes", None)
    if changes is None:
        changes = latest()
        request._public_record_changes = changes  # type: ignore[attr-defined]
    return changes
