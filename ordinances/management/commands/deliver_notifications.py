"""
Send the emails waiting in the outbox (`ordinances.outbox`). Run it every minute from cron
or a systemd timer, or keep one running with `--loop`. Safe to run several at once: each
email is claimed by exactly one of them before it is sent.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from ordinances import outbox


class Command(BaseCommand):
    help = (
        "Send due notifications (alerts, confirmations, notices to agencies), retrying failures with backoff."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--loop", action="store_true", help="Keep running: send, wait, send again (until stopped)."
        )
        parser.add_argument(
            "--sleep", type=float, default=30.0, help="With --loop: seconds to wait when nothing is due."
        )
        parser.add_argument("--limit", type=int, default=100, help="At most this many emails a pass.")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            result = outbox.deliver(limit=options["limit"])
            if result.claimed or result.taken_by_another or not options["loop"]:
                self.stdout.write(
                    f"{result.sent} sent, {result.retrying} to retry, {result.failed} failed, "
                    f"{result.dropped} no longer needed, {result.taken_by_another} taken by another worker."
                )
            if not options["loop"]:
                return
            # A full pass means more may be waiting: go on at once.
            if result.claimed + result.taken_by_another < options["limit"]:
                time.sleep(options["sleep"])
            # A long-running process drops database connections that broke or grew old.
            close_old_connections()
