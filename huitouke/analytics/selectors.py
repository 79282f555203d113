"""Reads of the analytics app; every one takes the shop."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db import models
from django.db.models import Count

from huitouke.analytics.models.cohorts import cohorts, monthly_repeat
from huitouke.analytics.models.scores import CustomerScore, ModelRun
from huitouke.core.errors import Invalid
from huitouke.core.models import Shop
from huitouke.core.money import from_fen
from huitouke.core.timeutil import today
from huitouke.customers.models import Customer
from huitouke.orders.models import Order

DEFAULT_COHORT_MONTHS = 12
MAX_COHORT_MONTHS = 36


def score_of(*, shop: Shop, customer: Customer) -> CustomerScore | None:
    """The customer's latest score in this shop, or None when they have not bought (or no refresh ran)."""
    return CustomerScore.objects.filter(shop=shop, customer=customer).first()


def segment_counts(*, shop: Shop) -> dict[str, int]:
    """Customers per segment value, largest segment first."""
    rows = (
        CustomerScore.objects.filter(shop=shop)
        .values("segment")
        .annotate(n=Count("id"))
        .order_by("-n", "segment")
    )
    return {row["segment"]: row["n"] for row in rows}


def latest_run(*, shop: Shop) -> ModelRun | None:
    return ModelRun.objects.filter(shop=shop).order_by("-created_at", "-id").first()


# Cohorts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortRow:
    """One acquisition month; list position k is k months after it (None: that month has not come yet)."""

    month: str  # YYYY-MM of the first purchase
    size: int
    revenue: Decimal  # the cohort's revenue within the report's months
    active: list[int | None]
    repeat_customers: list[int | None]
    repeat_rate: list[float | None]  # repeat customers in month k ÷ cohort size
    revenue_by_month: list[Decimal | None]


@dataclass(frozen=True)
class MonthRepeat:
    month: str
    buyers: int
    repeat_buyers: int
    repeat_rate: float | None  # buyers with a repeat purchase ÷ buyers
    revenue: Decimal
    repeat_revenue: Decimal
    repeat_revenue_share: float | None  # revenue of purchases flagged repeat ÷ revenue


@dataclass(frozen=True)
class CohortReport:
    as_of: dt.date
    months: list[str]
    cohorts: list[CohortRow]
    monthly: list[MonthRepeat]


def _month_label(number: int) -> str:
    return str(np.datetime64(int(number), "M"))


def _purchase_arrays(*, shop: Shop, since: dt.date, until: dt.date) -> tuple[np.ndarray, ...]:
    """(customer or -1 for guests, month number, fen, repeat flag) per purchase in the days, in one query.

    Read through the (shop, is_purchase, customer, purchase_day, is_repeat, net_amount) covering index;
    fen come as plain integers (not Decimals) so a million rows convert quickly.
    """
    rows = (
        Order.objects.filter(shop=shop, is_purchase=True, purchase_day__gte=since, purchase_day__lte=until)
        .annotate(fen=models.ExpressionWrapper(models.F("net_amount"), output_field=models.BigIntegerField()))
        .values_list("customer_id", "purchase_day", "fen", "is_repeat")
        .order_by()
    )
    ids, days, fen, repeat = [], [], [], []
    for customer_id, day, amount, is_repeat in rows.iterator(chunk_size=20000):
        ids.append(-1 if customer_id is None else customer_id)
        days.append(day)
        fen.append(amount)
        repeat.append(is_repeat)
    month = np.array(days, dtype="datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return (
        np.array(ids, dtype=np.int64), month, np.array(fen, dtype=np.int64), np.array(repeat, dtype=bool),
    )


def cohort_report(*, shop: Shop, months: int = DEFAULT_COHORT_MONTHS, as_of: dt.date | None = None) -> CohortReport:
    """Acquisition cohorts of the last `months` calendar months up to `as_of` and repeat figures per month.

    A cohort is the month of a customer's first purchase ever (customers who first bought before the
    window are in no cohort here, but their purchases count per month). One query, then numpy.
    """
    if not 1 <= months <= MAX_COHORT_MONTHS:
        raise Invalid(f"months must be between 1 and {MAX_COHORT_MONTHS}", field="months")
    as_of = as_of or today()
    last = int(np.datetime64(as_of, "M").astype(np.int64))
    first = last - months + 1
    since = np.datetime64(first, "M").astype("datetime64[D]").astype(dt.date)
    customer, month, fen, repeat = _purchase_arrays(shop=shop, since=since, until=as_of)
    arrays = {"customer": customer, "month": month, "fen": fen, "is_repeat": repeat, "first_month": first,
              "months": months}
    return CohortReport(
        as_of=as_of,
        months=[_month_label(first + i) for i in range(months)],
        cohorts=_cohort_rows(cohorts(**arrays), months),
        monthly=_monthly_rows(monthly_repeat(**arrays), months),
    )


def _cohort_rows(table, months: int) -> list[CohortRow]:
    rows = []
    for c in range(months):
        size, seen = int(table.size[c]), months - c  # months observed for this cohort
        rows.append(CohortRow(
            month=_month_label(table.first_month + c), size=size,
            revenue=from_fen(int(table.revenue_fen[c].sum())),
            active=[int(v) for v in table.active[c, :seen]] + [None] * c,
            repeat_customers=[int(v) for v in table.repeat[c, :seen]] + [None] * c,
            repeat_rate=[round(int(v) / size, 4) if size else None for v in table.repeat[c, :seen]] + [None] * c,
            revenue_by_month=[from_fen(int(v)) for v in table.revenue_fen[c, :seen]] + [None] * c,
        ))
    return rows


def _monthly_rows(table, months: int) -> list[MonthRepeat]:
    rows = []
    for i in range(months):
        buyers, revenue = int(table.buyers[i]), int(table.revenue_fen[i])
        repeat_buyers, repeat_revenue = int(table.repeat_buyers[i]), int(table.repeat_revenue_fen[i])
        rows.append(MonthRepeat(
            month=_month_label(table.first_month + i), buyers=buyers, repeat_buyers=repeat_buyers,
            repeat_rate=round(repeat_buyers / buyers, 4) if buyers else None,
            revenue=from_fen(revenue), repeat_revenue=from_fen(repeat_revenue),
            repeat_revenue_share=round(repeat_revenue / revenue, 4) if revenue > 0 else None,
        ))
    return rows
