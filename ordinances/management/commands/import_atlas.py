"""
Seed a city's inventory from the EFF Atlas of Surveillance's CSV (or from our own
`/data/atlas.csv`): `python manage.py import_atlas FILE --city Minneapolis`.

The columns and what each becomes are in `ordinances/atlas.py` and docs/api.md. A file
without the Atlas's core columns is refused whole, nothing written, exit status 1. A
malformed row is refused on its own, with its row number and the reason, and the others
are imported, each in a transaction of its own. Running it again on the same file changes
nothing.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ordinances import atlas


class Command(BaseCommand):
    help = "Create or update agencies, technologies, the inventory and its sources from an Atlas of Surveillance CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE", help="The Atlas CSV (the whole file or a slice of it).")
        parser.add_argument(
            "--city", required=True, help="Import the rows whose City is this name (any letter case)."
        )
        parser.add_argument(
            "--state",
            default=settings.PORTAL_STATE,
            help="The city's state, as its postal code; rows of another state are refused (default: PORTAL_STATE).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["file"]
        city: str = options["city"].strip()
        state: str = options["state"].strip().upper()
        if state not in atlas.US_STATES:
            raise CommandError(f"--state {state!r} is not a U.S. state's postal code.")
        try:
            with Path(name).open(encoding="utf-8-sig", newline="") as file:
                reader = csv.DictReader(file)
                missing = atlas.missing_columns(reader.fieldnames or [])
                if missing:
                    raise CommandError(
                        f"{name} is not an Atlas of Surveillance CSV: it has no {', '.join(missing)} "
                        f"column{'s' if len(missing) > 1 else ''}. Nothing was imported."
                    )
                reader.fieldnames = [column.strip() for column in reader.fieldnames or []]
                report = atlas.run(reader, city=city, state=state, dry_run=options["dry_run"])
        except OSError as error:
            raise CommandError(f"Cannot read {name}: {error.strerror or error}") from error
        except UnicodeDecodeError as error:
            raise CommandError(f"{name} is not UTF-8 text ({error.reason} at byte {error.start}).") from error
        except csv.Error as error:
            raise CommandError(
                f"{name} could not be read as CSV at line {reader.line_num}: {error}. "
                "Rows before that line were imported (none with --dry-run)."
            ) from error
        self.write_report(name, city, report, dry_run=options["dry_run"])

    def write_report(self, name: str, city: str, report: atlas.Report, *, dry_run: bool) -> None:
        rows = report.created + report.updated + report.unchanged + len(report.refused)
        self.stdout.write(
            f"{name}: {rows} row{'s' if rows != 1 else ''} for {city}"
            f" ({report.other_places} for other places left alone)"
            + (" (dry run: nothing was written)" if dry_run else "")
        )
        for label in ("created", "updated", "unchanged"):
            self.stdout.write(f"  {label}: {getattr(report, label)}")
        self.stdout.write(f"  refused: {len(report.refused)}")
        for number, reason in report.refused:
            self.stdout.write(f"    row {number}: {reason}")
        new = report.new
        self.stdout.write(
            f"  new records: {new.agencies} agencies, {new.technologies} technologies, {new.sources} sources"
        )
