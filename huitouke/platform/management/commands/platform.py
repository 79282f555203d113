"""`huitouke platform daily [--shop SLUG]`: the daily cron (suspensions past the deadline; last month's
statements, issued once from the 1st); `huitouke platform balances [--shop SLUG] [--json]`: balances, top-up deadlines and suspensions (also
suspends merchants past their deadline); `huitouke platform statements --month YYYY-MM [--shop SLUG] [--json]`:
issue the month's statements (commission deducted from each prepaid balance)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.core.errors import DomainError
from huitouke.core.models import Shop
from huitouke.core.money import fmt
from huitouke.core.selectors import shop_by_slug
from huitouke.core.timeutil import local_day
from huitouke.platform import selectors
from huitouke.platform.models import Merchant
from huitouke.platform.services import statements
from huitouke.platform.services.balance import enforce_deadlines
from huitouke.platform.services.common import moment


def _shops(slug: str | None) -> list[Shop]:
    if slug:
        return [shop_by_slug(slug)]
    return list(Shop.objects.filter(pk__in=Merchant.objects.values("shop_id")).order_by("slug"))


class Command(BaseCommand):
    help = "Platform mode: `balances` (prepaid balances, deadlines, suspensions), `statements` (monthly)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        balances = sub.add_parser("balances", help="list balances, top-up deadlines and suspensions")
        daily = sub.add_parser("daily", help="cron once a day: suspend merchants past their top-up deadline and, "
                               "from the 1st, issue last month's statements (a rerun changes nothing)")
        daily.add_argument("--shop", default=None, help="operator shop slug (default: every operator)")
        statements = sub.add_parser("statements", help="issue the month's statements")
        statements.add_argument("--month", required=True, help="YYYY-MM")
        for command in (balances, statements):
            command.add_argument("--shop", default=None, help="operator shop slug (default: every operator)")
            command.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            shops = _shops(opts["shop"])
            if opts["action"] == "daily":
                self._daily(shops)
                return
            rows = self._statements(shops, opts["month"]) if opts["action"] == "statements" else self._balances(shops)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if opts["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1))
            return
        for row in rows:
            self.stdout.write("  ".join(f"{key}={value}" for key, value in row.items()))

    def _balances(self, shops: list[Shop]) -> list[dict[str, Any]]:
        now = moment(None)
        rows = []
        for shop in shops:
            enforce_deadlines(shop=shop, now=now)
            for row in selectors.balances(shop=shop, at=now):
                rows.append({
                    "shop": shop.slug, "merchant_id": row.merchant_id, "merchant": row.name,
                    "balance": fmt(row.balance), "status": row.status, "suspended_reason": row.suspended_reason,
                    "low_since": row.low_since and row.low_since.isoformat(),
                    "topup_deadline": row.topup_deadline and row.topup_deadline.isoformat(), "overdue": row.overdue,
                })
        return rows

    def _daily(self, shops: list[Shop]) -> None:
        now = moment(None)
        last_month = statements.previous_month(local_day(now))
        for shop in shops:
            suspended = enforce_deadlines(shop=shop, now=now)
            issued = statements.issue_statements(shop=shop, month=last_month, now=now)
            self.stdout.write(f"{shop.slug}: {len(suspended)} suspended, {len(issued)} statements for {last_month:%Y-%m}")

    def _statements(self, shops: list[Shop], month: str) -> list[dict[str, Any]]:
        first = statements.parse_month(month)
        rows = []
        for shop in shops:
            for statement in statements.issue_statements(shop=shop, month=first):
                rows.append({
                    "shop": shop.slug, "statement_id": statement.pk, "merchant_id": statement.merchant_id,
                    "merchant": statement.merchant.name, "month": f"{statement.month:%Y-%m}",
                    "consumptions": statement.consumptions, "spend": fmt(statement.spend), "rate": str(statement.rate),
                    "commission": fmt(statement.commission), "due_on": statement.due_on.isoformat(),
                })
        return rows
