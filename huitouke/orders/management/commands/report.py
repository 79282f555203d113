"""`huitouke report --shop SLUG [--as-of YYYY-MM-DD] [--json]`: the headline figures."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huitouke.core.cliargs import iso_date
from huitouke.core.errors import DomainError
from huitouke.core.selectors import shop_by_slug
from huitouke.orders.selectors import headline


class Command(BaseCommand):
    help = "Print the shop's headline figures (customers, repeat rate, repeat revenue share …)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--shop", required=True)
        parser.add_argument("--as-of", help="figures as of the end of this day (Asia/Shanghai)")
        parser.add_argument("--json", action="store_true", help="one JSON object")

    def handle(self, *args: Any, **opts: Any) -> None:
        as_of = iso_date(opts["as_of"], option="--as-of") if opts["as_of"] else None
        try:
            shop = shop_by_slug(opts["shop"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        figures = headline(shop=shop, as_of=as_of).as_json()
        if opts["json"]:
            self.stdout.write(json.dumps(figures, ensure_ascii=False))
            return
        for key, value in figures.items():
            self.stdout.write(f"{key:<22}{value}")
