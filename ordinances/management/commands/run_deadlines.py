"""
Keep every deadline the laws set, on schedule: safe every few minutes from cron or a
systemd timer, and safe twice at once.

Each step selects what has fallen due, then changes each record through the workflow
(`ordinances.workflow`, `ordinances.oversight`) as the portal itself, with its Event. The
workflow locks each row and checks it again, so a record another run (or a person) has
just dealt with is skipped: each record changes once and gets one Event.

    python manage.py run_deadlines
    python manage.py run_deadlines --now 2026-05-01T06:00   # as if it were then (tests, backfill)
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ordinances import workflow


def parse_now(value: str) -> datetime.datetime:
    """An ISO 8601 date or date and time; without an offset it is in the city's time zone."""
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(
            f"--now takes an ISO 8601 date and time, such as 2026-05-01T06:00; not {value!r}."
        ) from exc
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _iso(day: datetime.date | None) -> str:
    return day.isoformat() if day else "-"


class Command(BaseCommand):
    help = (
        "Expire approvals past their term, close public comment after its last day, go on where "
        "an advisory body's time to respond has run out, and mark conditions, emergency-use "
        "reports and annual reports overdue. Idempotent: run it every few minutes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now",
            type=parse_now,
            default=None,
            help="Run as if it were this moment (ISO 8601), for tests and backfills. Default: now.",
        )

    def handle(self, *args: object, **options: Any) -> None:
        now: datetime.datetime = options["now"] or timezone.now()
        # Imported here: the oversight rules load only when the command runs.
        from ordinances import oversight

        steps: list[tuple[str, Callable[[], list[Any]], Callable[[Any], str]]] = [
            (
                "approval(s) expired",
                lambda: workflow.expire_due(now),
                lambda r: f"{r.reference} expired: its term ended on {_iso(r.decision.expires_on)}",
            ),
            (
                "comment period(s) closed",
                lambda: workflow.close_comment_periods_due(now),
                lambda r: (
                    f"{r.reference} public comment closed: its last day was {_iso(r.comment_period_ends_on)}"
                ),
            ),
            (
                "request(s) went on after the advisory body's silence",
                lambda: workflow.proceed_after_silence_due(now),
                lambda r: f"{r.reference} went on without the advisory opinion",
            ),
            (
                "condition(s) overdue",
                lambda: workflow.mark_conditions_overdue(now),
                lambda c: f"{c.decision.request.reference} condition {c.pk} overdue: due {_iso(c.due_on)}",
            ),
            (
                "emergency-use report(s) overdue",
                lambda: oversight.mark_emergency_reports_overdue(now=now),
                lambda u: f"emergency-use report overdue: {u} (due {_iso(u.report_due_on)})",
            ),
            (
                "annual report(s) overdue",
                lambda: oversight.mark_annual_reports_overdue(now=now),
                lambda r: f"annual report overdue: {r} (due {_iso(r.due_on)})",
            ),
        ]
        counts: list[tuple[int, str]] = []
        for label, run, describe in steps:
            changed = run()
            for record in changed:
                self.stdout.write(describe(record))
            counts.append((len(changed), label))
        total = sum(n for n, _label in counts)
        summary = "; ".join(f"{n} {label}" for n, label in counts)
        self.stdout.write(
            self.style.SUCCESS(f"{total} change(s) as of {timezone.localtime(now).isoformat()}: {summary}.")
        )
