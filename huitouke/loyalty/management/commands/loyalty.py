"""`huitouke loyalty review-tiers --shop SLUG [--on YYYY-MM-DD] [--json]`: the yearly tier review;
`huitouke loyalty birthday-coupons --shop SLUG [--on YYYY-MM-DD]`: issue the day's birthday coupons;
`huitouke loyalty daily-all`: queue every shop's daily round (points expiry, birthday coupons) for the worker."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.core.cliargs import iso_date
from huitouke.core.errors import DomainError
from huitouke.core.selectors import shop_by_slug
from huitouke.loyalty.services.coupons import issue_birthday_coupons
from huitouke.loyalty.services.programme import review_tiers
from huitouke.loyalty.tasks import enqueue_daily_all


class Command(BaseCommand):
    help = "Loyalty programme jobs: `review-tiers` (yearly review with grace), `birthday-coupons` (daily)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        review = sub.add_parser("review-tiers", help="promote, start grace periods, demote after grace")
        birthday = sub.add_parser("birthday-coupons", help="issue birthday coupons for the day")
        sub.add_parser("daily-all", help="queue every shop's daily round for `huitouke worker` (run daily from cron)")
        for command in (review, birthday):
            command.add_argument("--shop", required=True, help="shop slug")
            command.add_argument("--on", default=None, help="review day (default: today)")
            command.add_argument("--json", action="store_true", help="print the counts as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "daily-all":
            shops = enqueue_daily_all()
            self.stdout.write(f"queued the daily loyalty round for {len(shops)} shop(s)")
            return
        on = iso_date(opts["on"], option="--on") if opts["on"] else None
        try:
            shop = shop_by_slug(opts["shop"])
            if opts["action"] == "review-tiers":
                counts = asdict(review_tiers(shop=shop, on=on))
            else:
                counts = {"issued": issue_birthday_coupons(shop=shop, on=on)}
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if opts["json"]:
            self.stdout.write(json.dumps(counts))
        else:
            self.stdout.write(", ".join(f"{name.replace('_', ' ')}: {value}" for name, value in counts.items()))
