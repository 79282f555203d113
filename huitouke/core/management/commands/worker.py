"""`huitouke worker`: the persistent background-job worker (django-tasks-db, no Redis)."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run background jobs from the database queue until stopped (Ctrl-C)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--queue", default="*", help="queues to process, comma separated (default: all)")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls when idle")
        parser.add_argument("--batch", action="store_true", help="run what is queued, then exit")

    def handle(self, *args: Any, **opts: Any) -> None:
        call_command(
            "db_worker", queue_name=opts["queue"], interval=opts["interval"], batch=opts["batch"],
            reload=False, startup_delay=False,
        )
