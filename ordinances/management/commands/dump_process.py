"""Write an ordinance's process as a JSON process file (the format `load_process` reads)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ordinances import process
from ordinances.models import Ordinance


class Command(BaseCommand):
    help = "Print an ordinance's process file (JSON), or write it to a file with -o."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", metavar="SLUG", help="The ordinance's slug.")
        parser.add_argument(
            "-o", "--output", metavar="FILE", help="Write to FILE instead of standard output."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug: str = options["slug"]
        try:
            ordinance = Ordinance.objects.get(slug=slug)
        except Ordinance.DoesNotExist:
            raise CommandError(f"No ordinance has the slug {slug!r}.") from None
        text = process.dumps(process.snapshot(ordinance))
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")
