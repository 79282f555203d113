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
from django.utils.translation import gettext_lazy as _

from huitouke.core.dblock import write_turn
from huitouke.core.errors import Invalid
from huitouke.core.models import Shop
from huitouke.core.money import CENT, ZERO, fmt
from huitouke.core.pii import mask_phone
from huitouke.core.timeutil import day_start
from huitouke.platform.models import Agreement, Consumption, Merchant, Statement, StatementLine
from huitouke.platform.services.balance import deduct_commission
from huitouke.platform.services.common import moment, own_merchant

SETTLE_BY_DAY = 5


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def previous_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def parse_month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError as exc:
        raise Invalid(_("%(text)r is not a month: write YYYY-MM"), field="month",
                      params={"text": text}) from exc


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


BATCH = 100  # merchants per transaction when issuing a month: one INSERT … SELECT writes all their lines


def _check_month_over(month: dt.date, now: dt.datetime) -> None:
    if now < day_start(next_month(month)):
        raise Invalid(_("%(month)s is not over yet: statements are issued from the 1st of the next month"),
                      field="month", params={"month": format(month, "%Y-%m")})


def _terms_at_month_end(shop: Shop, merchant_ids: list[int], end: dt.datetime) -> dict[int, Agreement]:
    """Each merchant's agreement version in force at the month's end (merchants without one are left out)."""
    terms: dict[int, Agreement] = {}
    for agreement in (Agreement.objects.for_shop(shop).filter(merchant_id__in=merchant_ids, effective_from__lt=end)
                      .order_by("merchant_id", "-effective_from", "-version")):
        terms.setdefault(agreement.merchant_id, agreement)
    return terms


def issue_statement(*, shop: Shop, merchant: Merchant | int, month: dt.date, now: dt.datetime | None = None
                    ) -> Statement | None:
    """The merchant's statement for the month (issued once; a rerun returns it), or None if no agreement
    was in force by the month's end."""
    now, month = moment(now), month.replace(day=1)
    _check_month_over(month, now)
    merchant_id = own_merchant(shop, merchant).pk
    return _issue_batch(shop, [merchant_id], month, now).get(merchant_id)


def issue_statements(*, shop: Shop, month: dt.date, now: dt.datetime | None = None) -> list[Statement]:
    """Every merchant's statement for the month, in merchant-name order. Merchants are issued BATCH to a
    transaction, so a rerun completes a partial run and returns what was issued before unchanged."""
    now, month = moment(now), month.replace(day=1)
    _check_month_over(month, now)
    ids = list(Merchant.objects.for_shop(shop).order_by("name").values_list("id", flat=True))
    issued: list[Statement] = []
    for start in range(0, len(ids), BATCH):
        batch = ids[start:start + BATCH]
        by_merchant = _issue_batch(shop, batch, month, now)
        issued += [by_merchant[merchant_id] for merchant_id in batch if merchant_id in by_merchant]
    return issued


def _issue_batch(shop: Shop, merchant_ids: list[int], month: dt.date, now: dt.datetime) -> dict[int, Statement]:
    """Issue the month's statement of each merchant that has none yet, under their row locks, and deduct each
    commission from its prepaid balance; returns every merchant's statement (new or earlier) by merchant id."""
    end = day_start(next_month(month))
    with write_turn(), transaction.atomic():
        merchants = {m.pk: m for m in Merchant.objects.select_for_update().filter(shop=shop, pk__in=merchant_ids)
                     .order_by("pk")}
        statements = {s.merchant_id: s for s in Statement.objects.filter(shop=shop, month=month,
                                                                          merchant_id__in=merchant_ids)}
        terms = _terms_at_month_end(shop, [m for m in merchant_ids if m not in statements], end)
        new = Statement.objects.bulk_create([
            Statement(shop=shop, merchant_id=merchant_id, month=month, agreement=agreement, spend=ZERO,
                      rate=Decimal(0), commission=ZERO, issued_at=now,
                      due_on=next_month(month).replace(day=SETTLE_BY_DAY))
            for merchant_id, agreement in terms.items()
        ])
        if new:
            _attach_lines(shop, [s.pk for s in new], month)
            _total(new, terms)
            for statement in new:
                merchant = merchants[statement.merchant_id]
                merchant.shop = shop
                statement.merchant = merchant
                statements[statement.merchant_id] = statement
                if statement.commission != ZERO:
                    deduct_commission(merchant=merchant, amount=statement.commission, statement=statement, at=now)
    return statements


def _attach_lines(shop: Shop, statement_ids: list[int], month: dt.date) -> None:
    """One line per record of each statement's merchant completed in or before the month and on no statement
    yet, for all the statements in one INSERT … SELECT (a million records are one statement, not a million
    round trips). The totals are then read back from the lines themselves, so a record committed meanwhile is
    either on a statement and in its sum or on neither."""
    line, record, statement = StatementLine._meta, Consumption._meta, Statement._meta
    marks = ", ".join(["%s"] * len(statement_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {line.db_table} (shop_id, statement_id, consumption_id, amount) "
            f"SELECT c.shop_id, s.id, c.id, c.amount FROM {statement.db_table} s "
            f"JOIN {record.db_table} c ON c.shop_id = s.shop_id AND c.merchant_id = s.merchant_id "
            f"WHERE s.id IN ({marks}) AND c.shop_id = %s AND c.month <= %s "
            f"AND NOT EXISTS (SELECT 1 FROM {line.db_table} l WHERE l.consumption_id = c.id)",
            [*statement_ids, shop.pk, month],
        )


def _total(statements: list[Statement], terms: dict[int, Agreement]) -> None:
    """Spend and count from the written lines, then the rate the agreement gives for that spend, the
    commission; one grouped read and one bulk write."""
    totals = {row["statement_id"]: row for row in StatementLine.objects.filter(
        statement_id__in=[s.pk for s in statements]).values("statement_id").annotate(s=Sum("amount"), n=Count("id"))
        .order_by()}
    for statement in statements:
        found = totals.get(statement.pk, {})
        statement.spend, statement.consumptions = found.get("s") or ZERO, found.get("n") or 0
        statement.rate = rate_for(terms[statement.merchant_id], statement.spend)
        statement.commission = commission_for(statement.spend, statement.rate)
    Statement.objects.bulk_update(statements, ["spend", "consumptions", "rate", "commission"])


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
