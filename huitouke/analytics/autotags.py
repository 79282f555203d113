"""Auto-tags: rule-made customer tags, recomputed for the whole shop on every analytics refresh.

Each enabled AutoTagRule says which customers should carry its tag (numpy over the shop's facts as arrays,
TagFacts); customers.services.replace_auto_tags then makes the shop's rule-made CustomerTag rows
(source "auto") exactly that set. Hand-made tags (source "manual") are never touched.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from huitouke.analytics import arrays
from huitouke.analytics.models.scores import CustomerScore
from huitouke.analytics.models.summary import dense_ids
from huitouke.analytics.models.tags import AutoTagRule, RuleKind
from huitouke.core.bulk import read_columns
from huitouke.core.errors import Invalid, NotFound
from huitouke.core.idsets import intersection, union
from huitouke.core.models import Shop, Staff
from huitouke.core.services import require_manager
from huitouke.core.timeutil import today
from huitouke.customers.services import replace_auto_tags

# F and M scores at or above this are "high" (as in the segments), so "was a champion or at risk"
# means F and M high; the lapsed-VIP rule asks for an even higher M (its min_m_score).
HIGH_SCORE = 3
CATEGORY = "{category}"


@dataclass(frozen=True)
class Param:
    """One rule parameter: its type and allowed range (text: the maximum length)."""

    kind: type
    low: float = 0
    high: float = 0


# Per rule: default tag name, default parameters, and the parameters' limits.
DEFAULTS: dict[str, tuple[str, dict[str, Any]]] = {
    # bought at least min_items items (quantities summed over purchases) of one category; "" = every category
    RuleKind.CATEGORY_FAN: ("{category}爱好者", {"min_items": 3, "category": ""}),
    # birthday (month and day known) in the refresh's month; lunar birthdays by the solar day they fall on
    RuleKind.BIRTHDAY_MONTH: ("生日月", {"lunar": True}),
    # lifetime net spend in the top top_percent of buying customers (ties at the edge included)
    RuleKind.BIG_SPENDER: ("高消费", {"top_percent": 5}),
    # at least min_purchases purchases, every one of them with a discount
    RuleKind.DISCOUNT_ONLY: ("只买折扣", {"min_purchases": 1}),
    # was valuable (F score ≥ 3 and M score ≥ min_m_score, as champions and at-risk customers are) and is
    # slipping: P(alive) below max_p_alive or no purchase for more than min_recency_days
    RuleKind.LAPSED_VIP: ("流失VIP", {"min_m_score": 4, "max_p_alive": 0.3, "min_recency_days": 180}),
}
LIMITS: dict[str, dict[str, Param]] = {
    RuleKind.CATEGORY_FAN: {"min_items": Param(int, 1, 10_000), "category": Param(str, 0, 50)},
    RuleKind.BIRTHDAY_MONTH: {"lunar": Param(bool)},
    RuleKind.BIG_SPENDER: {"top_percent": Param(float, 0.1, 50)},
    RuleKind.DISCOUNT_ONLY: {"min_purchases": Param(int, 1, 1000)},
    RuleKind.LAPSED_VIP: {
        "min_m_score": Param(int, 1, 5), "max_p_alive": Param(float, 0.01, 1), "min_recency_days": Param(int, 1, 3650),
    },
}


# Rules: read, defaults, edit -----------------------------------------------------------------


def rules_of(*, shop: Shop) -> list[AutoTagRule]:
    """The shop's rules in RuleKind order; the built-in defaults are created on first use."""
    have = {rule.kind: rule for rule in AutoTagRule.objects.for_shop(shop)}
    missing = [kind for kind in RuleKind.values if kind not in have]
    if missing:
        AutoTagRule.objects.bulk_create(
            [AutoTagRule(shop=shop, kind=kind, tag_name=DEFAULTS[kind][0], params=dict(DEFAULTS[kind][1]))
             for kind in missing],
            ignore_conflicts=True,  # a concurrent first use created them too
        )
        have = {rule.kind: rule for rule in AutoTagRule.objects.for_shop(shop)}
    return [have[kind] for kind in RuleKind.values]


def rule_of(*, shop: Shop, kind: str) -> AutoTagRule:
    if kind not in RuleKind.values:
        raise NotFound(f"no auto-tag rule {kind!r}: the rules are {', '.join(RuleKind.values)}", field="kind")
    return next(rule for rule in rules_of(shop=shop) if rule.kind == kind)


@transaction.atomic
def update_rule(
    *, shop: Shop, staff: Staff | None, kind: str, enabled: bool | None = None, tag_name: str | None = None,
    params: dict[str, Any] | None = None,
) -> AutoTagRule:
    """Change a rule (owner or manager; `staff=None` is the shell operator). Given params are merged into
    the current ones. The tags follow at the next refresh."""
    require_editor(shop=shop, staff=staff)
    rule = rule_of(shop=shop, kind=kind)
    if enabled is not None:
        rule.enabled = enabled
    if tag_name is not None:
        rule.tag_name = clean_tag_name(kind, tag_name)
    if params is not None:
        rule.params = clean_params(kind, {**rule.params, **params})
    rule.updated_at = timezone.now()
    rule.save()
    return rule


def require_editor(*, shop: Shop, staff: Staff | None) -> None:
    """Rules are the shop's policy: its owner and managers change or apply them (`None`: the shell operator)."""
    if staff is not None:
        require_manager(shop=shop, staff=staff, action="change or apply auto-tag rules")


def clean_tag_name(kind: str, name: str) -> str:
    name = name.strip()
    if not name or len(name) > 50:
        raise Invalid("a tag name has 1 to 50 characters", field="tag_name")
    if CATEGORY in name and kind != RuleKind.CATEGORY_FAN:
        raise Invalid(f"only the category-fan rule can put {CATEGORY} in its tag name", field="tag_name")
    return name


def clean_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters checked against LIMITS (unknown names, wrong types and out-of-range values are Invalid)."""
    limits = LIMITS[kind]
    clean: dict[str, Any] = {}
    for name, value in params.items():
        if name not in limits:
            raise Invalid(f"the {kind} rule has no parameter {name!r}: use {', '.join(limits)}", field=f"params.{name}")
        clean[name] = _checked(name, value, limits[name])
    return clean


def _checked(name: str, value: Any, limit: Param) -> Any:
    field = f"params.{name}"
    if limit.kind is bool:
        if not isinstance(value, bool):
            raise Invalid(f"{name} is true or false", field=field)
        return value
    if limit.kind is str:
        if not isinstance(value, str) or len(value.strip()) > limit.high:
            raise Invalid(f"{name} is a text of at most {int(limit.high)} characters", field=field)
        return value.strip()
    number_ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if limit.kind is int and not (number_ok and float(value).is_integer()):
        raise Invalid(f"{name} is a whole number", field=field)
    if not number_ok or not limit.low <= value <= limit.high:
        raise Invalid(f"{name} is a number from {limit.low:g} to {limit.high:g}", field=field)
    return int(value) if limit.kind is int else float(value)


# Who matches a rule: customer ids per tag name -------------------------------------------------
#
# The rules read arrays (TagFacts), not the database: the refresh already holds the shop's purchases and the
# new scores, and at 1,000,000 customers one aggregate query per rule took longer than the whole refresh may.


@dataclass(frozen=True)
class Scores:
    """The scores the lapsed-VIP rule reads, one entry per scored customer (p_alive NaN: no model)."""

    customer: np.ndarray
    f_score: np.ndarray
    m_score: np.ndarray
    p_alive: np.ndarray
    recency_days: np.ndarray


@dataclass(frozen=True)
class TagFacts:
    """Everything the rules look at, as of a day: purchases up to it, order lines, customers, scores."""

    as_of: dt.date
    purchases: arrays.Purchases
    lines: arrays.Lines
    customers: arrays.Customers
    scores: Scores


def load_facts(*, shop: Shop, as_of: dt.date) -> TagFacts:
    """The facts read from the database (outside a refresh: the stored scores)."""
    o = connection.ops.quote_name
    sql = (
        f"SELECT {o('customer_id')}, {o('f_score')}, {o('m_score')}, COALESCE({o('p_alive')}, -1), "
        f"{o('recency_days')} FROM {o(CustomerScore._meta.db_table)} WHERE {o('shop_id')} = %s"
    )
    customer, f_score, m_score, p_alive, recency = read_columns(sql, [shop.pk], 5, dtype=np.float64)
    scores = Scores(
        customer=customer.astype(np.int64), f_score=f_score, m_score=m_score,
        p_alive=np.where(p_alive < 0, np.nan, p_alive), recency_days=recency,
    )
    return TagFacts(
        as_of=as_of, purchases=arrays.purchases(shop=shop, as_of=as_of), lines=arrays.lines(shop=shop),
        customers=arrays.customers(shop=shop), scores=scores,
    )


def _live_ids(facts: TagFacts) -> np.ndarray:
    """Customers still in the archive: not merged away, not erased (ascending)."""
    return facts.customers.id[facts.customers.live]


def _only_live(facts: TagFacts, ids: np.ndarray) -> np.ndarray:
    return intersection(ids, _live_ids(facts))


def category_fans(facts: TagFacts, *, min_items: int, category: str = "") -> dict[str, np.ndarray]:
    """Category → live customers who bought at least `min_items` items of it in purchases up to as-of."""
    lines, bought = facts.lines, facts.purchases
    by_order = np.argsort(bought.order)
    orders = bought.order[by_order]
    at = np.minimum(np.searchsorted(orders, lines.order), orders.size - 1)
    purchased = (orders[at] == lines.order) if orders.size else np.zeros(lines.order.size, dtype=bool)
    width = max(len(lines.categories), 1)
    keys = bought.customer[by_order[at[purchased]]] * width + lines.category[purchased]  # customer · width + category
    order = np.argsort(keys, kind="stable")
    keys, quantity = keys[order], lines.quantity[purchased][order]
    new_key = np.ones(keys.size, dtype=bool)
    new_key[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(new_key)
    items = np.add.reduceat(quantity, starts) if keys.size else quantity
    fan_keys = keys[starts][items >= min_items]
    fans: dict[str, np.ndarray] = {}
    for index, name in enumerate(lines.categories):
        if category and name != category:
            continue
        ids = _only_live(facts, fan_keys[fan_keys % width == index] // width)
        if ids.size:
            fans[name] = ids
    return fans


def birthday_month(facts: TagFacts, *, lunar: bool) -> np.ndarray:
    """Live customers whose birthday (month and day known) falls in as-of's solar month."""
    people, as_of = facts.customers, facts.as_of
    known = people.live & (people.birth_month > 0) & (people.birth_day > 0)
    match = (people.birth_month == as_of.month) & ~people.lunar
    if lunar:
        for (month, leap), days in _lunar_birthdays_in(as_of.year, as_of.month).items():
            match |= people.lunar & (people.birth_month == month) & (people.leap == leap) & np.isin(people.birth_day, days)
    return people.id[known & match]


@lru_cache(maxsize=24)
def _lunar_birthdays_in(year: int, month: int) -> dict[tuple[int, bool], list[int]]:
    """(lunar month, leap) → lunar days whose birthday falls in this solar month. Same fallback as the
    loyalty birthday gift: a leap-month birthday in a lunar year without that leap month counts on the same
    day of the plain month, and a day 30 the month lacks counts on day 29 of the plain month.

    Walks the month's solar days (one conversion each) rather than converting every lunar date of two years
    (1,440 conversions, seconds on a busy machine)."""
    from lunar_python import LunarMonth, Solar

    found: dict[tuple[int, bool], list[int]] = {}

    def add(key: tuple[int, bool], day: int) -> None:
        days = found.setdefault(key, [])
        if day not in days:
            days.append(day)

    def day_count(lunar_year: int, lunar_month: int) -> int:  # 0: the year has no such (leap) month
        found_month = LunarMonth.fromYm(lunar_year, lunar_month)
        return found_month.getDayCount() if found_month else 0

    for day in range(1, calendar.monthrange(year, month)[1] + 1):
        lunar = Solar.fromYmd(year, month, day).getLunar()
        lunar_year, number, lunar_day = lunar.getYear(), abs(lunar.getMonth()), lunar.getDay()
        add((number, lunar.getMonth() < 0), lunar_day)
        if lunar.getMonth() < 0:
            continue  # fallbacks land on plain months only
        leap_days = day_count(lunar_year, -number)
        if leap_days == 0:
            add((number, True), lunar_day)
        if lunar_day == 29:
            if day_count(lunar_year, number) < 30:
                add((number, False), 30)
            if leap_days < 30:
                add((number, True), 30)
    return found


def big_spenders(facts: TagFacts, *, top_percent: float) -> np.ndarray:
    """Live buying customers whose lifetime net spend is at least the spend of the ⌈n · top%⌉-th highest."""
    people = facts.customers
    buyer = people.live & (people.net_spend > 0)
    spend = np.sort(people.net_spend[buyer])[::-1]
    if spend.size == 0:
        return np.zeros(0, dtype=np.int64)
    rank = max(1, math.ceil(round(spend.size * top_percent / 100, 9)))  # round: 20 × 5 / 100 is 1, not 1.0000000002
    return people.id[buyer & (people.net_spend >= spend[min(rank, spend.size) - 1])]


def discount_only(facts: TagFacts, *, min_purchases: int) -> np.ndarray:
    """Live customers with at least `min_purchases` purchases up to as-of, every one of them discounted."""
    bought = facts.purchases
    if bought.customer.size == 0:
        return np.zeros(0, dtype=np.int64)
    index, ids = dense_ids(bought.customer)  # ids without purchases count 0 and drop out below
    count = np.bincount(index, minlength=ids.size)
    discounted = np.bincount(index, weights=bought.discounted, minlength=ids.size)
    return _only_live(facts, ids[(count >= min_purchases) & (discounted == count)])


def lapsed_vips(facts: TagFacts, *, min_m_score: int, max_p_alive: float, min_recency_days: int) -> np.ndarray:
    """Scored live customers who were valuable (F high, M ≥ min_m_score) and are slipping."""
    s = facts.scores
    with np.errstate(invalid="ignore"):
        slipping = (s.p_alive < max_p_alive) | (s.recency_days > min_recency_days)
    valuable = (s.f_score >= HIGH_SCORE) & (s.m_score >= min_m_score)
    return _only_live(facts, s.customer[slipping & valuable])


def matches(*, rule: AutoTagRule, facts: TagFacts) -> dict[str, np.ndarray]:
    """Tag name → ids of the customers the rule gives it to."""
    p = {**DEFAULTS[rule.kind][1], **rule.params}
    if rule.kind == RuleKind.CATEGORY_FAN:
        fans = category_fans(facts, min_items=p["min_items"], category=p["category"])
        return {rule.tag_name.replace(CATEGORY, name)[:50]: ids for name, ids in fans.items()}
    ids = {
        RuleKind.BIRTHDAY_MONTH: lambda: birthday_month(facts, lunar=p["lunar"]),
        RuleKind.BIG_SPENDER: lambda: big_spenders(facts, top_percent=p["top_percent"]),
        RuleKind.DISCOUNT_ONLY: lambda: discount_only(facts, min_purchases=p["min_purchases"]),
        RuleKind.LAPSED_VIP: lambda: lapsed_vips(
            facts, min_m_score=p["min_m_score"], max_p_alive=p["max_p_alive"], min_recency_days=p["min_recency_days"],
        ),
    }[rule.kind]()
    return {rule.tag_name: ids}


# The refresh -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TagRefresh:
    added: int
    removed: int
    tags: dict[str, int]  # tag name → customers carrying it by rule after the refresh


def refresh_auto_tags(*, shop: Shop, as_of: dt.date | None = None, facts: TagFacts | None = None) -> TagRefresh:
    """Make the shop's rule-made tags exactly what the enabled rules say today (hand-made tags stay).

    The analytics refresh passes the facts it holds; otherwise they are read here."""
    as_of = as_of or today()
    rules = [rule for rule in rules_of(shop=shop) if rule.enabled]
    facts = facts or load_facts(shop=shop, as_of=as_of)
    wanted: dict[str, np.ndarray] = {}
    for rule in rules:
        for name, ids in matches(rule=rule, facts=facts).items():
            wanted[name] = union(wanted.get(name, np.zeros(0, dtype=np.int64)), ids)
    removed, added = replace_auto_tags(shop=shop, wanted=wanted)
    return TagRefresh(added=added, removed=removed, tags={name: int(ids.size) for name, ids in sorted(wanted.items())})


def apply_now(*, shop: Shop, staff: Staff | None) -> TagRefresh:
    """The rules applied on demand (after an edit), instead of waiting for the nightly refresh."""
    require_editor(shop=shop, staff=staff)
    return refresh_auto_tags(shop=shop)


def carried_by(rule: AutoTagRule, counts: dict[str, int]) -> dict[str, int]:
    """The part of auto_tag_counts that is this rule's: its tag, or each category's tag for {category} names."""
    if CATEGORY not in rule.tag_name:
        return {rule.tag_name: counts[rule.tag_name]} if rule.tag_name in counts else {}
    prefix, _sep, suffix = rule.tag_name.partition(CATEGORY)
    return {name: n for name, n in counts.items() if name.startswith(prefix) and name.endswith(suffix)}
