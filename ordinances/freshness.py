"""
When the public record last changed: the `Last-Modified` of every public answer (pages,
downloads, feeds, the API, `/data.json`) and the `modified` of each dataset in `/data.json`.

Every moment comes from the record itself, never from a clock of our own:

- an ordinance's change history (`OrdinanceChange`: every admin save and file load);
- a public request's `updated_at` (every workflow step and edit saves it);
- the public timeline (`Event.objects.public()` of public requests: notes, documents,
  conditions); internal notes are left out, so no header tells when staff wrote one;
- the admin's log (`LogEntry`): agencies, technologies, the inventory and sources have no
  time of their own, and the admin logs every edit a clerk makes to them.

A page also changes with the calendar: public comment closes at the end of a day, an
approval takes effect or ends on a date, a hearing is held at its moment. So the moment of
a page (`Changes.page`) is never earlier than the start of today in the city's time zone
nor than the last hearing already held. Records written by management commands without the
admin (`seed_demo`) carry no moment of their own; the start of the next day covers them.

Four queries, however many rows (`latest`).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.admin.models import LogEntry
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Max, Model, Q
from django.http import HttpRequest
from django.utils import timezone

from ordinances.models import Event, OrdinanceChange, Request


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
    admin: datetime.datetime | None  # the latest admin log entry of any record
    # The latest admin log entry of each model, by "app_label.model".
    admin_by_model: dict[str, datetime.datetime] = field(default_factory=dict)

    def edited(self, *models: type[Model]) -> datetime.datetime | None:
        """The latest admin edit of a record of `models`."""
        return newest(*(self.admin_by_model.get(model._meta.label_lower) for model in models))

    @property
    def record(self) -> datetime.datetime | None:
        """The latest change of any source."""
        return newest(self.ordinances, self.requests, self.timeline, self.admin)

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


def latest(now: datetime.datetime | None = None) -> Changes:
    """The latest moment of each source, in four queries."""
    now = now or timezone.now()
    requests = Request.objects.public().aggregate(
        updated=Max("updated_at"), hearing=Max("hearing_at", filter=Q(hearing_at__lte=now))
    )
    timeline = (
        Event.objects.public()
        .exclude(request__status=Request.Status.DRAFT)
        .aggregate(latest=Max("created_at"))["latest"]
    )
    ordinances = OrdinanceChange.objects.aggregate(latest=Max("created_at"))["latest"]
    # The admin's log by model: the datasets of /data.json each draw on a few models.
    rows: Iterable[tuple[str, str, datetime.datetime]] = (
        LogEntry.objects.order_by()
        .values_list("content_type__app_label", "content_type__model")
        .annotate(latest=Max("action_time"))
    )
    admin_by_model = {f"{app}.{model}": moment for app, model, moment in rows}
    return Changes(
        now=now,
        ordinances=ordinances,
        requests=requests["updated"],
        timeline=timeline,
        hearing_held=requests["hearing"],
        admin=newest(*admin_by_model.values()),
        admin_by_model=admin_by_model,
    )


def for_request(request: HttpRequest) -> Changes:
    """`latest()`, read once for one HTTP request (the middleware and the view share it)."""
    changes: Changes | None = getattr(request, "_public_record_changes", None)
    if changes is None:
        changes = latest()
        request._public_record_changes = changes  # type: ignore[attr-defined]
    return changes


def database_set_up_at() -> datetime.datetime | None:
    """When the database was last migrated: the floor for a record with no moment at all."""
    return MigrationRecorder.Migration.objects.aggregate(latest=Max("applied"))["latest"]
