"""`huitouke points expire --shop SLUG [--on YYYY-MM-DD] [--json]`: write off expired points (also daily
from the job queue: `loyalty.tasks.expire_all_points`)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.core.cliargs import iso_date
from huitouke.core.errors import DomainError
from huitouke.core.selectors import shop_by_slug
from huitouke.loyalty.services.points import expire_points


class Command(BaseCommand):
    help = "Points ledger jobs: `expire` writes off every lot past its last day (first in, first out)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        expire = sub.add_parser("expire", help="write off expired points")
        expire.add_argument("--shop", required=True, help="shop slug")
        expire.add_argument("--on", default=None, help="the day to expire as of (default: today)")
        expire.add_argument("--json", action="store_true", help="print the count as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        on = iso_date(opts["on"], option="--on") if opts["on"] else None
        try:
            expired = expire_points(shop=shop_by_slug(opts["shop"]), on=on)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(json.dumps({"expired_points": expired}) if opts["json"] else f"expired points: {expired}")
