"""Monthly statements: per merchant per month, the repeat-customer spend (after discount), the commission
rate the agreement gives for that volume, the commission, and one line per consumption record.

A statement for month M takes every record completed (Shanghai time) in M or earlier that is on no statement
yet: a purchase started in one month and completed in the next counts in the month it completed, and a
record written after its month's statement was issued lands on the next one. Issuing deducts the
commission from the prepaid balance in the same transaction, under the merchant's row lock.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import Count, Sum

from huitouke.core.dblock import write_turn
from huitouke.core.errors import Invalid
from huitouke.core.models import Shop
from huitouke.core.money import CENT, ZERO, fmt
from huitouke.core.pii import mask_phone
from huitouke.core.timeutil import day_start
from huitouke.platform.models import Agreement, Consumption, Merchant, Statement, StatementLine
from huitouke.platform.services.balance import deduct_commission
from huitouke.platform.services.common import locked_merchant, moment

SETTLE_BY_DAY = 5


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def previous_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def parse_month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError as exc:
        raise Invalid(f"{text!r} is not a month: write YYYY-MM", field="month") from exc


def rate_for(agreement: Agreement, spend: Decimal) -> Decimal:
    """Flat: the rate. Tiered: the rate of the highest threshold the month's whole volume reaches."""
    if agreement.commission != Agreement.Commission.TIERED:
        return agreement.commission_rate
    rate = Decimal(0)
    for threshold, tier_rate in agreement.commission_tiers:
        if spend >= Decimal(threshold):
            rate = Decimal(tier_rate)
    return rate


def commission_for(spend: Decimal, rate: Decimal) -> Decimal:
    return (spend * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def _terms_at_month_end(shop: Shop, merchant: Merchant, end: dt.datetime) -> Agreement | None:
    return (Agreement.objects.for_shop(shop).filter(merchant=merchant, effective_from__lt=end)
            .order_by("-effective_from", "-version").first())


def issue_statement(*, shop: Shop, merchant: Merchant | int, month: dt.date, now: dt.datetime | None = None
                    ) -> Statement | None:
    """The merchant's statement for the month (issued once; a rerun returns it), or None if no agreement
    was in force by the month's end."""
    now, month = moment(now), month.replace(day=1)
    end = day_start(next_month(month))
    if now < end:
        raise Invalid(f"{month:%Y-%m} is not over yet: statements are issued from the 1st of the next month",
                      field="month")
    with write_turn(), transaction.atomic():
        merchant = locked_merchant(shop, merchant)
        existing = Statement.objects.filter(shop=shop, merchant=merchant, month=month).first()
        if existing is not None:
            return existing
        agreement = _terms_at_month_end(shop, merchant, end)
        if agreement is None:
            return None
        statement = Statement.objects.create(
            shop=shop, merchant=merchant, month=month, agreement=agreement, spend=ZERO, rate=Decimal(0),
            commission=ZERO, issued_at=now, due_on=next_month(month).replace(day=SETTLE_BY_DAY),
        )
        _attach_lines(statement, month)
        totals = StatementLine.objects.filter(shop=shop, statement=statement).aggregate(s=Sum("amount"), n=Count("id"))
        statement.spend, statement.consumptions = totals["s"] or ZERO, totals["n"]
        statement.rate = rate_for(agreement, statement.spend)
        statement.commission = commission_for(statement.spend, statement.rate)
        statement.save(update_fields=["spend", "consumptions", "rate", "commission"])
        if statement.commission != ZERO:
            deduct_commission(merchant=merchant, amount=statement.commission, statement=statement, at=now)
    return statement


def _attach_lines(statement: Statement, month: dt.date) -> None:
    """One line per record of the merchant completed in or before the month and on no statement yet, in one
    INSERT … SELECT (10,000 records are one statement, not 10,000 round trips). The totals are then read back
    from the lines themselves, so a record committed meanwhile is either on the statement and in its sum or on
    neither."""
    line, record = StatementLine._meta, Consumption._meta
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {line.db_table} (shop_id, statement_id, consumption_id, amount) "
            f"SELECT c.shop_id, %s, c.id, c.amount FROM {record.db_table} c "
            f"WHERE c.shop_id = %s AND c.merchant_id = %s AND c.month <= %s "
            f"AND NOT EXISTS (SELECT 1 FROM {line.db_table} l WHERE l.consumption_id = c.id)",
            [statement.pk, statement.shop_id, statement.merchant_id, month],
        )


def issue_statements(*, shop: Shop, month: dt.date, now: dt.datetime | None = None) -> list[Statement]:
    """Every merchant's statement for the month, each in its own transaction (a rerun completes a partial run)."""
    issued = []
    for merchant_id in Merchant.objects.for_shop(shop).order_by("name").values_list("id", flat=True):
        statement = issue_statement(shop=shop, merchant=merchant_id, month=month, now=now)
        if statement is not None:
            issued.append(statement)
    return issued


def lines_total(statement: Statement) -> Decimal:
    return StatementLine.objects.filter(statement=statement).aggregate(s=Sum("amount"))["s"] or ZERO


CSV_HEADER = ["statement", "merchant", "month", "line", "consumption_id", "kind", "completed_at", "member", "store",
              "amount"]


@dataclass(frozen=True)
class Row:
    """One statement line as the exports show it (the member masked)."""

    index: int
    consumption_id: int
    kind: str
    completed_at: dt.datetime
    member: str
    store: str
    amount: Decimal


def statement_rows(statement: Statement) -> Iterator[Row]:
    """The statement's lines in the order they happened, one per consumption record."""
    lines = (StatementLine.objects.filter(shop_id=statement.shop_id, statement=statement)
             .select_related("consumption__member", "consumption__store").order_by("consumption__completed_at", "id"))
    for index, line in enumerate(lines.iterator(chunk_size=2000), start=1):
        record = line.consumption
        yield Row(index=index, consumption_id=record.pk, kind=record.kind, completed_at=record.completed_at,
                  member=mask_phone(record.member.phone_e164), store=record.store.name if record.store else "",
                  amount=line.amount)


def statement_csv(statement: Statement) -> str:
    """The statement as CSV: one row per consumption record (members masked), then the totals."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    head = [statement.pk, statement.merchant.name, f"{statement.month:%Y-%m}"]
    for row in statement_rows(statement):
        writer.writerow([*head, row.index, row.consumption_id, row.kind, row.completed_at.isoformat(), row.member,
                         row.store, fmt(row.amount)])
    writer.writerow([*head, "spend", "", "", "", "", "", fmt(statement.spend)])
    writer.writerow([*head, "rate", "", "", "", "", "", str(statement.rate)])
    writer.writerow([*head, "commission", "", "", "", "", "", fmt(statement.commission)])
    return out.getvalue()
