"""End every approval whose term is over. Run it daily (cron, a systemd timer)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from ordinances import workflow


class Command(BaseCommand):
    help = "Mark approved requests expired once their expiry date has passed."

    def handle(self, *args: object, **options: object) -> None:
        expired = workflow.expire_due()
        for request in expired:
            self.stdout.write(f"{request.reference} expired")
        self.stdout.write(self.style.SUCCESS(f"{len(expired)} approval(s) expired."))
