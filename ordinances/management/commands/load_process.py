"""
Load ordinances' processes from JSON files (`ordinances/laws/*.json`, see docs/process-format.md).

All files are read and checked before anything is written, and all are loaded in one
transaction: a bad file anywhere means nothing is written, and every error is printed
with the file and the field it is about.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from ordinances import process
from ordinances.roles import Role


class Command(BaseCommand):
    help = "Create or update ordinances from process files (JSON); rows a file does not list are removed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="Process files to load.")
        parser.add_argument("--actor-name", default="", help="Who is loading, for the change history.")
        parser.add_argument(
            "--actor-role",
            default="",
            choices=["", *Role],
            help="The role they load in, for the change history.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        files: list[str] = options["files"]
        parsed: list[tuple[str, Any]] = []
        errors: list[str] = []
        for name in files:
            data, file_errors = self.read(name)
            errors += [f"{name}: {message}" for message in file_errors]
            if not file_errors:
                errors += [f"{name}: {message}" for message in process.validate(data)]
            parsed.append((name, data))
        if errors:
            self.fail(errors)

        results = []
        try:
            with transaction.atomic():
                for name, data in parsed:
                    try:
                        ordinance, created, changes = process.load(
                            data,
                            actor_name=options["actor_name"],
                            actor_role=options["actor_role"],
                            via="file",
                        )
                    except process.ProcessFileError as error:
                        raise _Refused([f"{name}: {message}" for message in error.messages]) from error
                    results.append((name, ordinance.file_number, created, len(changes)))
        except _Refused as refused:
            self.fail(refused.messages)

        # Reported only once the transaction has committed.
        for name, file_number, created, count in results:
            if created:
                outcome = "created"
            elif count:
                outcome = f"updated ({count} change{'s' if count != 1 else ''})"
            else:
                outcome = "unchanged"
            self.stdout.write(f"{name} ({file_number}): {outcome}")

    def read(self, name: str) -> tuple[Any, list[str]]:
        """The file's JSON, or why it cannot be read."""
        try:
            text = Path(name).read_text(encoding="utf-8")
        except OSError as error:
            return None, [f"cannot read the file: {error.strerror or error}"]
        except UnicodeDecodeError as error:
            return None, [f"not UTF-8 text: {error.reason} at byte {error.start}"]
        try:
            return json.loads(text), []
        except json.JSONDecodeError as error:
            return None, [f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"]

    def fail(self, messages: list[str]) -> None:
        for message in messages:
            self.stderr.write(message)
        raise CommandError(f"{len(messages)} error(s); nothing was loaded.")


class _Refused(Exception):
    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        super().__init__("\n".join(messages))
