"""`huitouke citus sql|convert [--distribute]`: move a PostgreSQL database to shop-distributed keys (Citus)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from huitouke.core import citus


class Command(BaseCommand):
    help = "Rewrite primary, unique and foreign keys to include shop_id, and distribute the tables on Citus."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for name, text in (("sql", "print the statements, change nothing"), ("convert", "run them in one transaction")):
            action = sub.add_parser(name, help=text)
            action.add_argument(
                "--distribute", action="store_true",
                help="also create the reference and distributed tables (needs the citus extension)",
            )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            if opts["action"] == "sql":
                for statement in citus.plan().statements(with_distribution=opts["distribute"]):
                    self.stdout.write(statement + ";")
                return
            statements = citus.convert(with_distribution=opts["distribute"])
        except citus.CitusConversionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"ran {len(statements)} statement(s)" if statements else "nothing to do: converted already")
        if not settings.CITUS_KEYS:
            self.stdout.write("now run huitouke with HUITOUKE_CITUS_KEYS=1: the converted keys need it")
