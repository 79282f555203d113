"""`huitouke platform sign|topup|group-buy|link-login --shop SLUG …`: the operator's writes from the shell;
`huitouke platform daily [--shop SLUG]`: the daily cron (suspensions past the deadline; last month's
statements, issued once from the 1st); `huitouke platform balances [--shop SLUG] [--json]`: balances, top-up deadlines and suspensions (also
suspends merchants past their deadline); `huitouke platform statements --month YYYY-MM [--shop SLUG] [--json] [--pdf DIR] [--csv DIR]`:
issue the month's statements (commission deducted from each prepaid balance), and write them as files."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.core.cliargs import iso_date
from huitouke.core.errors import DomainError
from huitouke.core.models import Shop
from huitouke.core.money import fmt
from huitouke.core.selectors import shop_by_slug, staff_by_username
from huitouke.core.timeutil import local_day
from huitouke.platform import qr, selectors
from huitouke.platform.models import Merchant
from huitouke.platform.pdf import require_font, statement_pdf
from huitouke.platform.services import actors, statements
from huitouke.platform.services.actors import Terms
from huitouke.platform.services.balance import enforce_deadlines, sign_merchant, top_up
from huitouke.platform.services.common import moment, own_merchant


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
        statements.add_argument("--pdf", type=Path, metavar="DIR", help="also write each statement as PDF into DIR")
        statements.add_argument("--csv", type=Path, metavar="DIR", help="also write each statement as CSV into DIR")
        sign = sub.add_parser("sign", help="sign a merchant: stores, first agreement (in force at once), 5000 deposit")
        sign.add_argument("--name", required=True)
        sign.add_argument("--store", action="append", default=[], help="a store name (repeat for more)")
        sign.add_argument("--discount", required=True, help="share of the price paid, e.g. 0.85 for 8.5折")
        sign.add_argument("--valid-until", required=True, help="last day of the discount, YYYY-MM-DD")
        sign.add_argument("--commission", default="0.05", help="flat commission rate (default 0.05)")
        sign.add_argument("--deposit", default="5000")
        topup = sub.add_parser("topup", help="record a top-up of at least 5000 yuan (lifts a balance suspension)")
        topup.add_argument("--merchant", type=int, required=True, help="merchant id")
        topup.add_argument("--amount", required=True)
        topup.add_argument("--key", required=True, help="idempotency key, e.g. the bank transfer reference")
        group_buy = sub.add_parser("group-buy", help="a member took part in a merchant's group-buy")
        group_buy.add_argument("--merchant", type=int, required=True, help="merchant id")
        group_buy.add_argument("--phone", required=True)
        group_buy.add_argument("--day", required=True, help="YYYY-MM-DD")
        login = sub.add_parser("link-login", help="make a staff login act for one merchant (its till and portal)")
        login.add_argument("--merchant", type=int, required=True, help="merchant id")
        login.add_argument("--user", required=True, help="username of a staff account of the operator's shop")
        for command in (sign, topup, group_buy, login):
            command.add_argument("--shop", required=True, help="operator shop slug")
            command.add_argument("--json", action="store_true", help="print JSON")
        for command in (balances, statements):
            command.add_argument("--shop", default=None, help="operator shop slug (default: every operator)")
            command.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            shops = _shops(opts["shop"])
            if opts["action"] in ("sign", "topup", "group-buy", "link-login"):
                rows = [self._write(shops[0], opts)]
            elif opts["action"] == "daily":
                self._daily(shops)
                return
            elif opts["action"] == "statements":
                rows = self._statements(shops, opts["month"], pdf_dir=opts["pdf"], csv_dir=opts["csv"])
            else:
                rows = self._balances(shops)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        except InvalidOperation as exc:
            raise CommandError("--discount and --commission are decimal numbers, e.g. 0.85") from exc
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

    def _write(self, shop: Shop, opts: dict[str, Any]) -> dict[str, Any]:
        if opts["action"] == "sign":
            terms = Terms(discount_rate=Decimal(opts["discount"]), valid_from=local_day(moment(None)),
                          valid_until=iso_date(opts["valid_until"], option="--valid-until"),
                          commission_rate=Decimal(opts["commission"]))
            merchant = sign_merchant(shop=shop, name=opts["name"], stores=tuple(opts["store"]), terms=terms,
                                     deposit=opts["deposit"])
            return {"merchant_id": merchant.pk, "merchant": merchant.name, "balance": fmt(merchant.balance)}
        merchant = own_merchant(shop, opts["merchant"])
        if opts["action"] == "topup":
            entry = top_up(shop=shop, merchant=merchant, amount=opts["amount"], idempotency_key=opts["key"])
            merchant.refresh_from_db()
            return {"merchant_id": merchant.pk, "entry_id": entry.pk, "balance": fmt(merchant.balance),
                    "status": merchant.status}
        if opts["action"] == "group-buy":
            bought = actors.record_group_buy(shop=shop, merchant=merchant, phone=opts["phone"],
                                             day=iso_date(opts["day"], option="--day"))
            return {"merchant_id": merchant.pk, "group_buy_id": bought.pk, "member": str(bought.member),
                    "member_page": f"/platform/m/{qr.page_token(bought.member)}/"}
        staff = staff_by_username(shop=shop, username=opts["user"])
        actors.link_login(shop=shop, merchant=merchant, staff=staff)
        return {"merchant_id": merchant.pk, "login": opts["user"]}

    def _daily(self, shops: list[Shop]) -> None:
        now = moment(None)
        last_month = statements.previous_month(local_day(now))
        for shop in shops:
            suspended = enforce_deadlines(shop=shop, now=now)
            issued = statements.issue_statements(shop=shop, month=last_month, now=now)
            self.stdout.write(f"{shop.slug}: {len(suspended)} suspended, {len(issued)} statements for {last_month:%Y-%m}")

    def _statements(self, shops: list[Shop], month: str, *, pdf_dir: Path | None, csv_dir: Path | None
                    ) -> list[dict[str, Any]]:
        first = statements.parse_month(month)
        for folder in (pdf_dir, csv_dir):
            if folder is not None and not folder.is_dir():
                raise CommandError(f"{folder} is not a directory")
        if pdf_dir is not None:
            require_font()  # before issuing anything: refuse at once when the PDFs cannot be written
        rows = []
        for shop in shops:
            for statement in statements.issue_statements(shop=shop, month=first):
                row = {
                    "shop": shop.slug, "statement_id": statement.pk, "merchant_id": statement.merchant_id,
                    "merchant": statement.merchant.name, "month": f"{statement.month:%Y-%m}",
                    "consumptions": statement.consumptions, "spend": fmt(statement.spend), "rate": str(statement.rate),
                    "commission": fmt(statement.commission), "due_on": statement.due_on.isoformat(),
                }
                name = f"statement-{statement.pk}-{statement.month:%Y-%m}"
                if csv_dir is not None:
                    row["csv"] = str(csv_dir / f"{name}.csv")
                    Path(row["csv"]).write_text(statements.statement_csv(statement), encoding="utf-8")
                if pdf_dir is not None:
                    row["pdf"] = str(pdf_dir / f"{name}.pdf")
                    Path(row["pdf"]).write_bytes(statement_pdf(statement))
                rows.append(row)
        return rows
