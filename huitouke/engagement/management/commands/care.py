"""`huitouke care plan --shop SLUG --date YYYY-MM-DD [--json]`: what the care rules would send that day
(customer, rule, channel, text, or why suppressed), without sending or saving anything;
`huitouke care run --shop SLUG [--date YYYY-MM-DD]`: enqueue those messages (`huitouke worker` delivers them)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.core.cliargs import iso_date
from huitouke.core.errors import DomainError
from huitouke.core.selectors import shop_by_slug
from huitouke.core.timeutil import today
from huitouke.engagement.services.care import run_rules
from huitouke.engagement.tasks import schedule_delivery


class Command(BaseCommand):
    help = "Care messages: `plan` lists what the rules would send on a day; `run` enqueues it."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for name, text in (("plan", "list what the rules would send (nothing is saved or sent)"),
                           ("run", "enqueue the day's messages for the worker")):
            action = sub.add_parser(name, help=text)
            action.add_argument("--shop", required=True, help="the shop's slug")
            action.add_argument("--date", help="the day (YYYY-MM-DD, Shanghai; default today)")
            action.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            shop = shop_by_slug(opts["shop"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        day = iso_date(opts["date"], option="--date") if opts.get("date") else today()
        planned = run_rules(shop=shop, day=day, dry_run=opts["action"] == "plan")
        if opts["action"] == "run":
            schedule_delivery()
        if opts["json"]:
            self.stdout.write(json.dumps({"shop": shop.slug, "date": day.isoformat(), "dry_run": opts["action"] == "plan",
                                          "messages": [p.as_dict() for p in planned]}, ensure_ascii=False, indent=2))
            return
        for p in planned:
            outcome = f"{p.status}: {p.reason}" if p.reason else p.status
            self.stdout.write(f"{p.customer_id}\t{p.rule}\t{p.channel}\t{outcome}\t{p.text}")
        counts = Counter(p.status for p in planned)
        verb = "would queue" if opts["action"] == "plan" else "queued"
        others = "".join(f", {status} {n}" for status, n in sorted(counts.items()) if status != "queued")
        self.stdout.write(f"{shop.slug} {day}: {verb} {counts['queued']}{others}")
