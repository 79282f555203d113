"""Reads of the analytics app; every one takes the shop."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Avg, Count, F, Q, QuerySet, Sum

from huitouke.analytics import arrays, reports
from huitouke.analytics.models import lookalike
from huitouke.analytics.models.cohorts import cohorts, monthly_repeat
from huitouke.analytics.models.scores import SEGMENT_NAMES_EN, CustomerScore, ModelRun, Segment
from huitouke.analytics.models.settings import AnalyticsSettings
from huitouke.core.errors import Invalid, NotFound
from huitouke.core.idsets import distinct
from huitouke.core.models import Shop
from huitouke.core.money import ZERO, MoneyField, from_fen, money
from huitouke.core.timeutil import today
from huitouke.customers.models import Customer, CustomerPhone
from huitouke.customers.selectors import customers_with_tag
from huitouke.orders.models import OrderLine, ProductRole

DEFAULT_COHORT_MONTHS = 12
MAX_COHORT_MONTHS = 36
# "At risk" and the win-back list follow the shop's thresholds (AnalyticsSettings, /analytics/settings/).
# At risk: the purchase model gives less than the risk bound (default: an even chance) that the customer
# still buys here. Win-back list: customers worth winning back (spend or frequency score at least the
# minimum, default 4: the top two quintiles) who are at risk. Lower the score to widen the list, raise
# the P(alive) bound to reach customers earlier.
CLV_BUCKETS = 10
# The histogram's last bucket starts at this share of customers, so one very large CLV cannot squash
# every other customer into the first bucket.
CLV_TOP_QUANTILE = 0.95
SCORE_ORDERS: dict[str, tuple] = {
    "clv": (F("clv_12m").desc(nulls_last=True), "id"),
    "p_alive": (F("p_alive").asc(nulls_last=True), "id"),
    "recency": ("recency_days", "id"),
    "overdue": (F("days_overdue").desc(nulls_last=True), "id"),
}


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


def cohort_report(*, shop: Shop, months: int = DEFAULT_COHORT_MONTHS, as_of: dt.date | None = None) -> CohortReport:
    """Acquisition cohorts of the last `months` calendar months up to `as_of` and repeat figures per month.

    A cohort is the month of a customer's first purchase ever (customers who first bought before the
    window are in no cohort here, but their purchases count per month). Stored (analytics.reports) until the
    purchases change: the computation reads every purchase of the window.
    """
    if not 1 <= months <= MAX_COHORT_MONTHS:
        raise Invalid(f"months must be between 1 and {MAX_COHORT_MONTHS}", field="months")
    as_of = as_of or today()
    return reports.stored(
        shop=shop, kind="cohorts", key=cohort_key(months, as_of),
        compute=lambda: compute_cohort_report(
            arrays.purchases(shop=shop, as_of=as_of, since=cohort_window(months, as_of)[0]), months=months, as_of=as_of,
        ),
        encode=jsonable, decode=_cohort_report_from,
    )


def cohort_key(months: int, as_of: dt.date) -> str:
    return f"{as_of.isoformat()} months={months}"


def cohort_window(months: int, as_of: dt.date) -> tuple[dt.date, int]:
    """The first day of the report's first month, and that month's number (months since 1970-01)."""
    first = int(np.datetime64(as_of, "M").astype(np.int64)) - months + 1
    return np.datetime64(first, "M").astype("datetime64[D]").astype(dt.date), first


def compute_cohort_report(bought: arrays.Purchases, *, months: int, as_of: dt.date) -> CohortReport:
    """The report from the purchases (guests' too) of the window, or of any longer span up to `as_of`."""
    since, first = cohort_window(months, as_of)
    inside = bought.day >= since.toordinal()
    epoch = dt.date(1970, 1, 1).toordinal()
    month = (bought.day[inside] - epoch).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    arrays_of = {"customer": bought.customer[inside], "month": month, "fen": bought.fen[inside],
                 "is_repeat": bought.repeat[inside], "first_month": first, "months": months}
    return CohortReport(
        as_of=as_of,
        months=[_month_label(first + i) for i in range(months)],
        cohorts=_cohort_rows(cohorts(**arrays_of), months),
        monthly=_monthly_rows(monthly_repeat(**arrays_of), months),
    )


def jsonable(report: Any) -> dict[str, Any]:
    """A report dataclass as JSON data (Decimals as text, dates in ISO form) for analytics.reports."""
    return json.loads(json.dumps(asdict(report), cls=DjangoJSONEncoder))


def _cohort_report_from(data: dict[str, Any]) -> CohortReport:
    def amount(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    return CohortReport(
        as_of=dt.date.fromisoformat(data["as_of"]), months=data["months"],
        cohorts=[
            CohortRow(**{**row, "revenue": Decimal(row["revenue"]),
                         "revenue_by_month": [amount(v) for v in row["revenue_by_month"]]})
            for row in data["cohorts"]
        ],
        monthly=[
            MonthRepeat(**{**row, "revenue": Decimal(row["revenue"]), "repeat_revenue": Decimal(row["repeat_revenue"])})
            for row in data["monthly"]
        ],
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


# Segments, customer lists, win-back, CLV distribution -------------------------------------------


@dataclass(frozen=True)
class SegmentSummary:
    segment: str
    name_zh: str
    name_en: str
    customers: int
    share: float  # of all scored customers
    revenue: Decimal  # the customers' lifetime net spend
    average_clv: Decimal | None  # None when no CLV could be computed; rounded half up like all money


def segment_name_en(segment: str) -> str:
    return SEGMENT_NAMES_EN[segment]


def _current_scores(shop: Shop) -> QuerySet[CustomerScore]:
    """Scores of customers still in the archive (a merge after the refresh leaves the merged-away row)."""
    return CustomerScore.objects.for_shop(shop).filter(
        customer__merged_into__isnull=True, customer__erased_at__isnull=True
    )


def segment_overview(*, shop: Shop) -> list[SegmentSummary]:
    """Every segment (empty ones too, in the Segment order) with count, share, revenue and mean CLV."""
    rows = {
        row["segment"]: row
        for row in _current_scores(shop).values("segment").order_by().annotate(
            n=Count("id"), revenue=Sum("customer__net_spend", output_field=MoneyField()), clv=Avg("clv_12m"),
        )
    }
    total = sum(row["n"] for row in rows.values())
    out = []
    for segment in Segment:
        row = rows.get(segment.value, {"n": 0, "revenue": ZERO, "clv": None})
        out.append(SegmentSummary(
            segment=segment.value, name_zh=segment.label, name_en=SEGMENT_NAMES_EN[segment], customers=row["n"],
            share=round(row["n"] / total, 4) if total else 0.0, revenue=row["revenue"] or ZERO,
            average_clv=None if row["clv"] is None else money(Decimal(str(row["clv"])) / 100),
        ))
    return out


def thresholds_of(*, shop: Shop) -> AnalyticsSettings:
    """The shop's analytics thresholds; the defaults (unsaved) when it never changed them."""
    return AnalyticsSettings.objects.filter(shop=shop).first() or AnalyticsSettings(shop=shop)


def scored_customers(
    *, shop: Shop, segment: str | None = None, at_risk: bool = False, risk_below: float | None = None,
    order: str = "clv", tag: str = "",
) -> QuerySet[CustomerScore]:
    """Scores with their customers, filtered by segment, P(alive) below `risk_below` (default: the shop's
    threshold) and/or a tag, in `order`."""
    risk_below = thresholds_of(shop=shop).risk_p_alive if risk_below is None else risk_below
    if segment and segment not in Segment.values:
        raise Invalid(f"unknown segment {segment!r}: use one of {', '.join(Segment.values)}", field="segment")
    if order not in SCORE_ORDERS:
        raise Invalid(f"unknown order {order!r}: use one of {', '.join(SCORE_ORDERS)}", field="order")
    if not 0 < risk_below <= 1:
        raise Invalid("the risk threshold is a probability above 0 and at most 1", field="risk_below")
    scores = _current_scores(shop)
    if segment:
        scores = scores.filter(segment=segment)
    if at_risk:
        scores = scores.filter(p_alive__lt=risk_below)
    if tag:
        scores = scores.filter(customer__in=customers_with_tag(shop=shop, tag_name=tag))
    return _with_customers(scores).order_by(*SCORE_ORDERS[order])


def win_back(*, shop: Shop) -> QuerySet[CustomerScore]:
    """High past value, falling P(alive), may be contacted; biggest lifetime spend first (rules above)."""
    limits = thresholds_of(shop=shop)
    top = Q(m_score__gte=limits.win_back_min_score) | Q(f_score__gte=limits.win_back_min_score)
    scores = _current_scores(shop).filter(top, p_alive__lt=limits.risk_p_alive, customer__do_not_contact=False)
    return _with_customers(scores).order_by("-customer__net_spend", "p_alive", "id")


def _with_customers(scores: QuerySet[CustomerScore]) -> QuerySet[CustomerScore]:
    phones = models.Prefetch("customer__phones", queryset=CustomerPhone.objects.order_by("-is_primary", "id"))
    return scores.select_related("customer").prefetch_related(phones)


@dataclass(frozen=True)
class ClvBucket:
    low: Decimal
    high: Decimal | None  # None: the open last bucket
    customers: int


def clv_histogram(*, shop: Shop, buckets: int = CLV_BUCKETS) -> list[ClvBucket]:
    """Customers per 12-month CLV range: equal ranges from 0 up to the 95th percentile, then one open range.

    Two queries: the percentile (one sorted read) and all bucket counts in one aggregate.
    """
    if buckets < 2:
        raise Invalid("a histogram needs at least 2 buckets", field="buckets")
    scores = _current_scores(shop).filter(clv_12m__isnull=False)
    n = scores.count()
    if n == 0:
        return []
    top_fen = int(scores.order_by("clv_12m").values_list("clv_12m", flat=True)[int(n * CLV_TOP_QUANTILE)] * 100)
    width = _nice_width(max(top_fen, 1) / (buckets - 1))  # the open last bucket starts at or above the top
    edges = [i * width for i in range(buckets + 1)]
    counts = scores.aggregate(**{
        f"b{i}": Count("id", filter=Q(clv_12m__gte=from_fen(low)) & (
            Q(clv_12m__lt=from_fen(edges[i + 1])) if i < buckets - 1 else Q()
        ))
        for i, low in enumerate(edges[:-1])
    })
    return [
        ClvBucket(low=from_fen(edges[i]), high=from_fen(edges[i + 1]) if i < buckets - 1 else None,
                  customers=counts[f"b{i}"])
        for i in range(buckets)
    ]


def _nice_width(raw_fen: float) -> int:
    """The smallest of 1, 2, 5 × 10^k yuan at least `raw_fen` (bucket edges people can read)."""
    step = 100
    while True:
        for factor in (1, 2, 5):
            if step * factor >= raw_fen:
                return step * factor
        step *= 10


# Lift: what a segment buys compared with everybody else -------------------------------------------

WIN_BACK_GROUP = "win-back-list"  # the win-back list as a group (its customers span several segments)
UNKNOWN = ""  # lines without a product, or products without a category


@dataclass(frozen=True)
class LiftSide:
    items: int
    revenue: Decimal  # line amounts
    customers: int  # who bought any of it
    item_share: float | None  # of the side's items
    revenue_share: float | None


@dataclass(frozen=True)
class LiftRow:
    key: str  # product role or category; "" = unknown
    group: LiftSide
    others: LiftSide
    item_lift: float | None  # group's item share ÷ others' item share; None when the others bought none
    revenue_lift: float | None


@dataclass(frozen=True)
class LiftTable:
    group: str
    customers: int  # group customers with a purchase line
    other_customers: int
    roles: list[LiftRow]
    categories: list[LiftRow]


def lift_groups() -> list[str]:
    return [*Segment.values, WIN_BACK_GROUP]


def segment_lift(*, shop: Shop, segment: str, categories: int | None = None) -> LiftTable:
    """Product roles and categories bought by a segment's customers (or the win-back list's) vs all others.

    Shares are of each side's purchased items and line revenue; lift = group share ÷ others' share, so 2.0
    means the group puts twice the share of its buying into it. One aggregate query (lines summed per
    customer, role and category) and one for the group's ids, then numpy; `categories` keeps the group's
    top categories by items.
    """
    if segment not in lift_groups():
        raise NotFound(f"no segment {segment!r}: use one of {', '.join(lift_groups())}", field="segment")
    members = win_back(shop=shop) if segment == WIN_BACK_GROUP else _current_scores(shop).filter(segment=segment)
    group_ids = np.fromiter(members.order_by().values_list("customer_id", flat=True).iterator(chunk_size=20000),
                            dtype=np.int64)
    bought = _bought_by_role_and_category(shop)
    in_group = np.isin(bought["customer"], group_ids)
    category_rows = _lift_rows(bought["category"], bought, in_group)
    roles = {row.key: row for row in _lift_rows(bought["role"], bought, in_group)}
    return LiftTable(
        group=segment, customers=distinct(bought["customer"][in_group]).size,
        other_customers=distinct(bought["customer"][~in_group]).size,
        roles=[roles[key] for key in [*ProductRole.values, UNKNOWN] if key in roles],
        categories=category_rows if categories is None else category_rows[:categories],
    )


def _bought_by_role_and_category(shop: Shop) -> dict[str, np.ndarray]:
    """Purchased items and line revenue (fen) per customer, product role and category, in one query."""
    rows = OrderLine.objects.filter(
        shop=shop, order__is_purchase=True, order__customer__isnull=False,
        order__customer__merged_into__isnull=True, order__customer__erased_at__isnull=True,
    ).values("order__customer_id", "product__role", "product__category").order_by().annotate(
        items=Sum("quantity"), fen=Sum("line_amount", output_field=models.BigIntegerField()),
    ).values_list("order__customer_id", "product__role", "product__category", "items", "fen")
    columns: list[list] = [[], [], [], [], []]
    for row in rows.iterator(chunk_size=20000):
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    customer, role, category, items, fen = columns
    return {
        "customer": np.array(customer, dtype=np.int64), "items": np.array(items, dtype=np.int64),
        "fen": np.array(fen, dtype=np.int64), "role": np.array([r or UNKNOWN for r in role], dtype=object),
        "category": np.array([c or UNKNOWN for c in category], dtype=object),
    }


def _lift_rows(keys: np.ndarray, bought: dict[str, np.ndarray], in_group: np.ndarray) -> list[LiftRow]:
    """Rows per distinct key (role or category), the group's biggest item count first."""
    if keys.size == 0:
        return []
    names, index = np.unique(keys.astype(str), return_inverse=True)
    customer = bought["customer"]
    width = int(customer.max()) + 1  # (key, customer) pairs as one int64: key · width + customer
    cells: dict[tuple[bool, str], tuple[int, int, int]] = {}
    for side in (True, False):
        mask = in_group == side
        items = np.bincount(index[mask], weights=bought["items"][mask], minlength=names.size)
        fen = np.bincount(index[mask], weights=bought["fen"][mask], minlength=names.size)
        pairs = distinct(index[mask].astype(np.int64) * width + customer[mask])
        buyers = np.bincount(pairs // width, minlength=names.size)  # distinct customers per key
        for k, name in enumerate(names.tolist()):
            if items[k] or fen[k] or buyers[k]:
                cells[(side, name)] = (int(items[k]), int(fen[k]), int(buyers[k]))
    totals = {side: [sum(v[i] for k, v in cells.items() if k[0] == side) for i in (0, 1)] for side in (True, False)}
    order = sorted({key for _side, key in cells}, key=lambda k: (-cells.get((True, k), (0,))[0], k))
    out = []
    for key in order:
        mine, theirs = cells.get((True, key), (0, 0, 0)), cells.get((False, key), (0, 0, 0))
        out.append(LiftRow(
            key=key, group=_lift_side(mine, totals[True]), others=_lift_side(theirs, totals[False]),
            item_lift=_lift(mine[0], totals[True][0], theirs[0], totals[False][0]),
            revenue_lift=_lift(mine[1], totals[True][1], theirs[1], totals[False][1]),
        ))
    return out


def _lift_side(cell: tuple[int, int, int], total: list[int]) -> LiftSide:
    items, fen, customers = cell
    return LiftSide(
        items=items, revenue=from_fen(fen), customers=customers,
        item_share=round(items / total[0], 4) if total[0] else None,
        revenue_share=round(fen / total[1], 4) if total[1] > 0 else None,
    )


def _lift(part: int, total: int, other_part: int, other_total: int) -> float | None:
    """(part ÷ total) ÷ (other part ÷ other total), to 3 places; None when a side has nothing to compare."""
    if total <= 0 or other_total <= 0 or other_part <= 0:
        return None
    return round((part * other_total) / (total * other_part), 3)


# Look-alikes: one-time buyers who resemble the gold customers -------------------------------------

GOLD_GROUPS = ("champions", "top_clv")
TOP_CLV_SHARE = 0.10  # "top_clv" gold: the customers with the highest 12-month value, this share of those with one
DEFAULT_LOOK_ALIKES = 50
MAX_LOOK_ALIKES = 1000
LOOK_ALIKE_K = 5
ROLE_ORDER = tuple(ProductRole.values)


@dataclass(frozen=True)
class LookAlike:
    rank: int
    score: CustomerScore  # with the customer and their phones
    distance: float  # mean distance to the nearest gold customers, in standard deviations
    role_shares: dict[str, float]  # share of the customer's items per product role


@dataclass(frozen=True)
class LookAlikes:
    gold: str
    gold_customers: int
    candidates: int
    items: list[LookAlike]


def look_alikes(*, shop: Shop, gold: str = "champions", limit: int = DEFAULT_LOOK_ALIKES) -> LookAlikes:
    """One-time buyers (one purchase day, may be contacted) nearest to the gold customers, nearest first.

    Features, standardised over the gold and the candidates: log mean spend per purchase day, log days
    since the last purchase, and the share of items per product role. Frequency is left out on purpose:
    every candidate has none, so it would only measure how unlike the gold they all are. Distance: the
    mean over the 5 nearest gold customers (k-NN in numpy). Two queries load the arrays, one the rows shown.
    """
    if gold not in GOLD_GROUPS:
        raise Invalid(f"unknown gold group {gold!r}: use one of {', '.join(GOLD_GROUPS)}", field="gold")
    if not 1 <= limit <= MAX_LOOK_ALIKES:
        raise Invalid(f"limit is between 1 and {MAX_LOOK_ALIKES}", field="limit")
    table = _look_alike_arrays(shop)
    is_gold = _gold_mask(table, gold)
    is_candidate = (table["frequency"] == 0) & ~table["do_not_contact"] & ~is_gold
    empty = LookAlikes(gold=gold, gold_customers=int(is_gold.sum()), candidates=int(is_candidate.sum()), items=[])
    if not is_gold.any() or not is_candidate.any():
        return empty
    shares = _role_shares(shop, table["customer"])
    features = np.column_stack([np.log1p(table["monetary_fen"] / 100.0), np.log1p(table["recency_days"]), shares])
    rows = np.flatnonzero(is_gold | is_candidate)
    z = lookalike.standardise(features[rows])
    gold_rows = np.flatnonzero(is_gold[rows])[lookalike.gold_sample(int(is_gold.sum()))]
    candidate_rows = np.flatnonzero(is_candidate[rows])
    distance = lookalike.distance_to_gold(z[gold_rows], z[candidate_rows], k=LOOK_ALIKE_K)
    best = candidate_rows[np.lexsort((table["customer"][rows][candidate_rows], distance))[:limit]]
    distance_of = dict(zip(rows[candidate_rows].tolist(), distance.tolist(), strict=True))
    return LookAlikes(**{**empty.__dict__, "items": _look_alike_items(shop, rows[best], table, shares, distance_of)})


def _look_alike_arrays(shop: Shop) -> dict[str, np.ndarray]:
    """Per scored customer still in the archive: id, frequency, mean spend (fen), recency, CLV (fen, −1 if
    none), segment is champions, do-not-contact; ordered by customer id. One query."""
    rows = _current_scores(shop).annotate(
        monetary_fen=models.ExpressionWrapper(F("monetary"), output_field=models.BigIntegerField()),
        clv_fen=models.ExpressionWrapper(F("clv_12m"), output_field=models.BigIntegerField()),
    ).values_list(
        "customer_id", "frequency", "monetary_fen", "recency_days", "clv_fen", "segment", "customer__do_not_contact",
    ).order_by("customer_id")
    columns: list[list] = [[] for _ in range(7)]
    for row in rows.iterator(chunk_size=20000):
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    customer, frequency, fen, recency, clv, segment, blocked = columns
    return {
        "customer": np.array(customer, dtype=np.int64), "frequency": np.array(frequency, dtype=np.int64),
        "monetary_fen": np.array(fen, dtype=np.int64), "recency_days": np.array(recency, dtype=np.int64),
        "clv_fen": np.array([-1 if v is None else v for v in clv], dtype=np.int64),
        "champion": np.array(segment, dtype=object) == Segment.CHAMPIONS.value if segment else np.zeros(0, bool),
        "do_not_contact": np.array(blocked, dtype=bool),
    }


def _gold_mask(table: dict[str, np.ndarray], gold: str) -> np.ndarray:
    if gold == "champions":
        return table["champion"]
    clv = table["clv_fen"]
    known = clv >= 0
    if not known.any():
        return np.zeros(clv.size, dtype=bool)
    ranked = np.sort(clv[known])[::-1]
    edge = ranked[max(1, int(np.ceil(round(ranked.size * TOP_CLV_SHARE, 9)))) - 1]
    return known & (clv >= edge)


def _role_shares(shop: Shop, customers: np.ndarray) -> np.ndarray:
    """customers × roles: share of each customer's purchased items per product role (0 without product lines).
    One aggregate query over the shop's purchase lines; `customers` is sorted."""
    rows = OrderLine.objects.filter(
        shop=shop, order__is_purchase=True, order__customer__isnull=False, product__isnull=False,
    ).values("order__customer_id", "product__role").order_by().annotate(items=Sum("quantity")).values_list(
        "order__customer_id", "product__role", "items",
    )
    role_index = {role: i for i, role in enumerate(ROLE_ORDER)}
    ids, roles, items = [], [], []
    for customer_id, role, n in rows.iterator(chunk_size=20000):
        ids.append(customer_id)
        roles.append(role_index.get(role, -1))
        items.append(n)
    counts = np.zeros((customers.size, len(ROLE_ORDER)))
    if customers.size == 0 or not ids:
        return counts
    ids_array, role_array = np.array(ids, dtype=np.int64), np.array(roles, dtype=np.int64)
    at = np.minimum(np.searchsorted(customers, ids_array), customers.size - 1)
    known = (customers[at] == ids_array) & (role_array >= 0)  # scored customers, known roles
    np.add.at(counts, (at[known], role_array[known]), np.array(items, dtype=float)[known])
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def _look_alike_items(
    shop: Shop, best: np.ndarray, table: dict[str, np.ndarray], shares: np.ndarray, distance_of: dict[int, float],
) -> list[LookAlike]:
    ids = table["customer"][best].tolist()
    scores = {s.customer_id: s for s in _with_customers(_current_scores(shop).filter(customer_id__in=ids))}
    return [
        LookAlike(
            rank=rank, score=scores[customer_id], distance=round(distance_of[int(row)], 4),
            role_shares={role: round(float(shares[row, i]), 4) for i, role in enumerate(ROLE_ORDER)},
        )
        for rank, (row, customer_id) in enumerate(zip(best.tolist(), ids, strict=True), start=1)
        if customer_id in scores  # a merge between the two reads drops the row rather than failing
    ]
