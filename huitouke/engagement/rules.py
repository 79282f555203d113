"""Care rules: who is due for which care message on a day (reads only; services.care enqueues).

Rules run in priority order (birthday, holiday, season, milestone thanks, post-delivery feedback, miss-you), so with
the default cap of one message a day a birthday wins over a festival. Each rule is on by default and configurable
per shop (RuleSetting).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum
from lunar_python import Solar

from huitouke.analytics.selectors import score_of
from huitouke.core.models import Shop
from huitouke.core.timeutil import day_start, local_day
from huitouke.customers.models import Calendar, Customer
from huitouke.engagement import calendar as cal
from huitouke.engagement.extensions import delivered_order_ids
from huitouke.engagement.library import Kind
from huitouke.engagement.models import Message, RuleSetting, TaskKind
from huitouke.engagement.policy import COUNTED, Suppression
from huitouke.orders.models import Order, OrderStatus


@dataclass(frozen=True)
class Rule:
    key: str
    kind: str
    defaults: dict[str, Any] = field(default_factory=dict)


RULES: dict[str, Rule] = {
    rule.key: rule for rule in (
        Rule("birthday", Kind.BIRTHDAY, {"days_before": 0}),
        Rule("holiday", Kind.HOLIDAY, {"festivals": [key for key, *_ in cal.LUNAR_FESTIVALS + cal.SOLAR_FESTIVALS]
                                       + ["mothers_day", "fathers_day"], "buyers_only": True}),
        Rule("season", Kind.SEASON, {"terms": list(cal.SEASON_TERMS), "buyers_only": True}),
        Rule("thanks_milestone", Kind.THANKS_MILESTONE, {
            "milestones": [1000, 3000, 5000, 10000, 20000],  # cumulative net spend, yuan
            "within_days": 3,  # the purchase that crossed it was this recent
        }),
        Rule("feedback", Kind.FEEDBACK, {
            "within_days": 14,  # completed (purchased) or delivered this recently; older orders are not asked
        }),
        Rule("miss_you", Kind.MISS_YOU, {
            "overdue_days": 14,  # days past her own usual gap
            "p_alive_below": 0.8,  # with a model score: the model, too, must see her drifting
            "one_time_after_days": 60,  # one-time buyers: days since the purchase
            "not_after_days": 365,  # a year gone: lost, not missed (win-back is a campaign's job)
            "repeat_after_days": 90,  # at most one miss-you in this many days
        }),
        # follow-up rules: they create tasks for the associate, not messages (services.followups)
        Rule("big_purchase", "", {"min_amount": 2000, "due_days": 7, "within_days": 3}),
        Rule("top_spender", "", {"month": 1, "day": 2, "due_days": 14}),
    )
}
# Rules that create follow-up tasks. A referral → thank-you + call task needs to know who referred whom, and the
# customer archive has no referral field yet, so that rule cannot exist until it does.
TASK_RULES = ("big_purchase", "top_spender")


@dataclass(frozen=True)
class TaskDue:
    """One follow-up task a rule wants created."""

    customer: Customer
    rule: str
    kind: str  # a TaskKind value
    title: str
    due_on: dt.date
    source_key: str


@dataclass(frozen=True)
class Due:
    """One customer due for one rule's message on the day."""

    customer: Customer
    rule: str  # the outbox rule key, e.g. "holiday:mid_autumn"
    kind: str
    occasion: str = ""  # fills {节日} / {节气}
    order: Order | None = None  # the order a feedback message asks about


def rule_settings(*, shop: Shop) -> dict[str, tuple[bool, dict[str, Any]]]:
    """Each rule's on/off and parameters: the shop's own over the defaults."""
    stored = {row.rule: row for row in RuleSetting.objects.for_shop(shop)}
    result = {}
    for key, rule in RULES.items():
        row = stored.get(key)
        result[key] = (row.enabled if row else True, {**rule.defaults, **(row.params if row else {})})
    return result


def _customers(shop: Shop, *, buyers_only: bool = False) -> QuerySet[Customer]:
    rows = Customer.objects.for_shop(shop).filter(erased_at__isnull=True).select_related("registered_by")
    return (rows.filter(orders_count__gt=0) if buyers_only else rows).order_by("id")


def birthdays(*, shop: Shop, day: dt.date, days_before: int = 0) -> Iterator[Due]:
    """Customers whose birthday (solar, or lunar converted to this year's solar day) is `days_before` away."""
    target = day + dt.timedelta(days=days_before)
    lunar_month = abs(Solar.fromYmd(target.year, target.month, target.day).getLunar().getMonth())
    candidates = _customers(shop).filter(birth_month__isnull=False, birth_day__isnull=False)
    solar = candidates.filter(birthday_calendar=Calendar.SOLAR, birth_month=target.month)
    lunar = candidates.filter(birthday_calendar=Calendar.LUNAR, birth_month=lunar_month)
    for customer in (*solar, *lunar):
        birthday = cal.next_birthday(calendar=customer.birthday_calendar, month=customer.birth_month,
                                     day=customer.birth_day, leap_month=customer.birth_leap_month, on_or_after=target)
        if birthday == target:
            yield Due(customer, "birthday", Kind.BIRTHDAY)


def holidays(*, shop: Shop, day: dt.date, festivals: list[str], buyers_only: bool = True) -> Iterator[Due]:
    for festival in cal.festivals_on(day):
        if festival.key in festivals:
            for customer in _customers(shop, buyers_only=buyers_only):
                yield Due(customer, f"holiday:{festival.key}", Kind.HOLIDAY, festival.name)


def season_changes(*, shop: Shop, day: dt.date, terms: list[str], buyers_only: bool = True) -> Iterator[Due]:
    term = cal.season_change_on(day)
    if term and term in terms:
        for customer in _customers(shop, buyers_only=buyers_only):
            yield Due(customer, f"season:{term}", Kind.SEASON, term)


def milestones_passed(*, shop: Shop, day: dt.date, milestones: list[int], within_days: int) -> Iterator[Due]:
    """A recent purchase took her cumulative spend past a milestone she was never thanked for: thank her once,
    for the highest one (rule key thanks_milestone:<yuan>)."""
    if not milestones:
        return
    since = day_start(day - dt.timedelta(days=within_days))
    thanked: dict[int, set[str]] = {}
    for customer_id, rule in Message.objects.for_shop(shop).filter(
            kind=Kind.THANKS_MILESTONE, status__in=COUNTED).values_list("customer_id", "rule"):
        thanked.setdefault(customer_id, set()).add(rule)
    buyers = _customers(shop, buyers_only=True).filter(
        net_spend__gte=Decimal(min(milestones)), last_purchase_at__gte=since, last_purchase_at__lt=day_start(
            day + dt.timedelta(days=1)))
    for customer in buyers:
        passed = max(m for m in milestones if customer.net_spend >= Decimal(m))
        rule = f"thanks_milestone:{passed}"
        if rule not in thanked.get(customer.pk, set()):
            yield Due(customer, rule, Kind.THANKS_MILESTONE)


def feedback_rule(order_id: int) -> str:
    """The outbox rule key of an order's feedback request: one per order, whatever the day."""
    return f"feedback:order:{order_id}"


def delivered(*, shop: Shop, day: dt.date, within_days: int) -> Iterator[Due]:
    """Orders whose delivery became known in the last `within_days` days up to yesterday (completed, or delivered
    per a delivery source), so the ask comes the day after. Each customer is asked about her latest such order,
    once per order: an earlier order she was not asked about is not asked any more (one request for several
    parcels is enough). A request held back only by the daily cap is tried again the next day."""
    since, until = day - dt.timedelta(days=within_days), day - dt.timedelta(days=1)
    known = Q(status=OrderStatus.COMPLETED, purchase_day__gte=since, purchase_day__lte=until)
    for arrived in delivered_order_ids(shop=shop, since=day_start(since), until=day_start(day)):
        known |= Q(pk__in=arrived, status__in=(OrderStatus.SHIPPED, OrderStatus.COMPLETED))
    orders = (Order.objects.for_shop(shop).filter(known, is_purchase=True, customer__isnull=False,
                                                  customer__erased_at__isnull=True)
              .select_related("customer", "customer__registered_by").order_by("customer_id", "-ordered_at", "-id"))
    asked = set(Message.objects.for_shop(shop).filter(kind=Kind.FEEDBACK, customer__in=orders.values("customer_id"))
                .exclude(reason=Suppression.DAILY_CAP).values_list("rule", flat=True))
    seen: set[int] = set()
    for order in orders:
        if order.customer_id in seen:
            continue
        seen.add(order.customer_id)
        if feedback_rule(order.pk) not in asked:
            yield Due(order.customer, feedback_rule(order.pk), Kind.FEEDBACK, order=order)


def overdue_reason(*, customer: Customer, day: dt.date, score, params: dict[str, Any]) -> str | None:
    """Why she is missed (for the plan), or None: late against her own rhythm, not yet lost."""
    if customer.last_purchase_at is None:
        return None
    since = (day - local_day(customer.last_purchase_at)).days
    if since > params["not_after_days"]:
        return None
    if score is not None and score.days_overdue is not None:
        drifting = score.p_alive is None or score.p_alive < params["p_alive_below"]
        if score.days_overdue >= params["overdue_days"] and drifting:
            return f"{score.days_overdue:.0f} days past her usual gap (P(alive) {score.p_alive or 0:.2f})"
        return None
    if customer.purchase_days >= 2 and customer.first_purchase_at is not None:
        gap = (local_day(customer.last_purchase_at) - local_day(customer.first_purchase_at)).days / (
            customer.purchase_days - 1)
        if since - gap >= params["overdue_days"]:
            return f"{since} days since her last purchase, usually every {gap:.1f}"
        return None
    if since >= params["one_time_after_days"]:
        return f"one purchase, {since} days ago"
    return None


def missed(*, shop: Shop, day: dt.date, **params: Any) -> Iterator[Due]:
    recent = set(Message.objects.for_shop(shop).filter(
        kind=Kind.MISS_YOU, day__gt=day - dt.timedelta(days=params["repeat_after_days"]), day__lte=day,
        status__in=COUNTED,
    ).values_list("customer_id", flat=True))
    for customer in _customers(shop, buyers_only=True):
        if customer.pk in recent:
            continue
        if overdue_reason(customer=customer, day=day, score=score_of(shop=shop, customer=customer), params=params):
            yield Due(customer, "miss_you", Kind.MISS_YOU)


def due_on(*, shop: Shop, day: dt.date) -> Iterator[Due]:
    """Everything the shop's enabled rules want to send on the day, in priority order."""
    settings = rule_settings(shop=shop)
    finders = {"birthday": birthdays, "holiday": holidays, "season": season_changes,
               "thanks_milestone": milestones_passed, "feedback": delivered, "miss_you": missed}
    for key, finder in finders.items():
        enabled, params = settings[key]
        if enabled:
            yield from finder(shop=shop, day=day, **params)


def big_purchases(*, shop: Shop, day: dt.date, min_amount: int, due_days: int, within_days: int) -> Iterator[TaskDue]:
    """A single purchase of at least `min_amount` yuan in the last `within_days` days: phone her `due_days`
    after the purchase (one task per order, however often the rule runs)."""
    orders = (Order.objects.for_shop(shop).filter(
        is_purchase=True, net_amount__gte=Decimal(min_amount), customer__isnull=False,
        purchase_day__gt=day - dt.timedelta(days=within_days), purchase_day__lte=day,
        customer__erased_at__isnull=True,
    ).select_related("customer", "customer__registered_by").order_by("purchase_day", "id"))
    for order in orders:
        yield TaskDue(order.customer, "big_purchase", TaskKind.CALL,
                      f"回访：{order.purchase_day:%m-%d} 单笔消费 ¥{order.net_amount:.0f}",
                      order.purchase_day + dt.timedelta(days=due_days), f"big_purchase:order:{order.pk}")


def top_spenders(*, shop: Shop, day: dt.date, month: int, day_of_month: int, due_days: int) -> Iterator[TaskDue]:
    """On the set day of the year, the previous year's top spender (net purchases) gets a personal visit."""
    if (day.month, day.day) != (month, day_of_month):
        return
    year = day.year - 1
    top = (Order.objects.for_shop(shop).filter(
        is_purchase=True, customer__isnull=False, customer__erased_at__isnull=True,
        purchase_day__gte=dt.date(year, 1, 1), purchase_day__lte=dt.date(year, 12, 31),
    ).values("customer_id").annotate(total=Sum("net_amount")).order_by("-total", "customer_id").first())
    if top is None:
        return
    customer = Customer.objects.for_shop(shop).select_related("registered_by").get(pk=top["customer_id"])
    yield TaskDue(customer, "top_spender", TaskKind.VISIT, f"{year} 年度消费冠军：登门拜访（带花）",
                  day + dt.timedelta(days=due_days), f"top_spender:{year}")


def tasks_due_on(*, shop: Shop, day: dt.date) -> Iterator[TaskDue]:
    """The follow-up tasks the shop's enabled rules want created on the day."""
    settings = rule_settings(shop=shop)
    enabled, params = settings["big_purchase"]
    if enabled:
        yield from big_purchases(shop=shop, day=day, **params)
    enabled, params = settings["top_spender"]
    if enabled:
        yield from top_spenders(shop=shop, day=day, month=params["month"], day_of_month=params["day"],
                                due_days=params["due_days"])
