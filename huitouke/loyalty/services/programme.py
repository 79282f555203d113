"""The programme's settings and tier ladder; memberships; moving customers up and down the ladder.

Customers move up at once after a qualifying purchase, and down only at the yearly review: a review
that finds a member below her tier gives her `demotion_grace_days` to requalify; the first review on or
after that day moves her to the tier she qualifies for. Every move is a TierChange with its reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.bulk import datetime_adapter, insert_few
from huitouke.core.errors import Invalid
from huitouke.core.models import Shop
from huitouke.core.money import ZERO, money
from huitouke.core.timeutil import today
from huitouke.customers.models import Customer
from huitouke.loyalty.models import ExpiryPolicy, Membership, Programme, Tier, TierBasis, TierChange
from huitouke.loyalty.pricing import pct
from huitouke.orders.models import Order

# DOMAIN §3: 普通会员 (one purchase: free shipping), 高级会员 (spend ≥ X: 5% off), VIP会员, 至尊VIP会员.
DEFAULT_LADDER: tuple[dict[str, Any], ...] = (
    {"name": "普通会员", "min_spend": Decimal("0"), "min_purchases": 1, "discount_percent": Decimal("0"),
     "free_shipping": True, "birthday_extra_percent": Decimal("0"), "points_multiplier": Decimal("1")},
    {"name": "高级会员", "min_spend": Decimal("1000"), "min_purchases": 3, "discount_percent": Decimal("5"),
     "free_shipping": True, "birthday_extra_percent": Decimal("0"), "points_multiplier": Decimal("1.2")},
    {"name": "VIP会员", "min_spend": Decimal("5000"), "min_purchases": 6, "discount_percent": Decimal("8"),
     "free_shipping": True, "birthday_extra_percent": Decimal("5"), "points_multiplier": Decimal("1.5")},
    {"name": "至尊VIP会员", "min_spend": Decimal("20000"), "min_purchases": 12, "discount_percent": Decimal("12"),
     "free_shipping": True, "birthday_extra_percent": Decimal("5"), "points_multiplier": Decimal("2")},
)


def programme_of(*, shop: Shop) -> Programme:
    """The shop's programme, created with the default settings and ladder on first use."""
    programme = Programme.objects.filter(shop=shop).first()
    if programme is not None:
        return programme
    with transaction.atomic():
        programme, _ = Programme.objects.get_or_create(shop=shop)
        if not Tier.objects.filter(shop=shop).exists():
            Tier.objects.bulk_create([Tier(shop=shop, rank=rank, **fields) for rank, fields in enumerate(DEFAULT_LADDER)])
    return programme


def ladder(*, shop: Shop) -> list[Tier]:
    tiers = list(Tier.objects.filter(shop=shop).order_by("rank"))
    if not tiers:  # a shop's first use: programme_of creates the default ladder
        programme_of(shop=shop)
        tiers = list(Tier.objects.filter(shop=shop).order_by("rank"))
    return tiers


SETTINGS_FIELDS = (
    "tier_basis", "points_per_yuan", "expiry_policy", "expiry_days", "points_per_yuan_redeemed",
    "max_discount_percent", "demotion_grace_days",
)


@transaction.atomic
def update_programme(*, shop: Shop, **changes: Any) -> Programme:
    programme = programme_of(shop=shop)
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise Invalid(_("unknown setting(s): %(unknown)s"), field=sorted(unknown)[0],
                      params={"unknown": ", ".join(sorted(unknown))})
    for name, value in changes.items():
        setattr(programme, name, value)
    _check_programme(programme)
    programme.save()
    _check_ladder_within_guard(programme, ladder(shop=shop))
    return programme


def _check_programme(programme: Programme) -> None:
    if programme.tier_basis not in TierBasis.values:
        raise Invalid(_("tier_basis must be one of %(choices)s"), field="tier_basis",
                      params={"choices": ", ".join(TierBasis.values)})
    if programme.expiry_policy not in ExpiryPolicy.values:
        raise Invalid(_("expiry_policy must be one of %(choices)s"), field="expiry_policy",
                      params={"choices": ", ".join(ExpiryPolicy.values)})
    if not Decimal(0) <= Decimal(programme.max_discount_percent) <= Decimal(100):
        raise Invalid(_("the margin guard is a percentage from 0 to 100"), field="max_discount_percent")


@dataclass(frozen=True)
class TierInput:
    name: str
    min_spend: Decimal = ZERO
    min_purchases: int = 0
    discount_percent: Decimal = Decimal(0)
    free_shipping: bool = False
    birthday_extra_percent: Decimal = Decimal(0)
    points_multiplier: Decimal = Decimal(1)


@transaction.atomic
def set_ladder(*, shop: Shop, tiers: list[TierInput]) -> list[Tier]:
    """Replace the ladder's rungs in place (rank by rank); members of removed rungs drop to the top one left."""
    programme = programme_of(shop=shop)
    if not tiers:
        raise Invalid(_("a ladder needs at least one tier"), field="tiers")
    _check_rungs(tiers)
    current = {tier.rank: tier for tier in Tier.objects.select_for_update().filter(shop=shop)}
    kept = []
    for rank, rung in enumerate(tiers):
        tier = current.get(rank) or Tier(shop=shop, rank=rank)
        for name, value in vars(rung).items():
            setattr(tier, name, money(value) if name == "min_spend" else value)
        tier.save()
        kept.append(tier)
    removed = [tier for rank, tier in current.items() if rank >= len(tiers)]
    if removed:
        Membership.objects.filter(shop=shop, tier__in=removed).update(tier=kept[-1])
        TierChange.objects.filter(shop=shop, from_tier__in=removed).update(from_tier=kept[-1])
        TierChange.objects.filter(shop=shop, to_tier__in=removed).update(to_tier=kept[-1])
        Tier.objects.filter(pk__in=[t.pk for t in removed]).delete()
    _check_ladder_within_guard(programme, kept)
    return kept


def _check_rungs(tiers: list[TierInput]) -> None:
    for index, rung in enumerate(tiers):
        where = f"tiers[{index}]"
        if not rung.name.strip():
            raise Invalid(_("%(where)s.name is required"), field=f"{where}.name", params={"where": where})
        for name in ("discount_percent", "birthday_extra_percent"):
            if not Decimal(0) <= Decimal(getattr(rung, name)) < Decimal(100):
                raise Invalid(_("%(where)s.%(name)s must be from 0 to 99.99"), field=f"{where}.{name}",
                              params={"where": where, "name": name})
        if not Decimal(0) < Decimal(rung.points_multiplier) <= Decimal(10):
            raise Invalid(_("%(where)s.points_multiplier must be above 0 and at most 10"),
                          field=f"{where}.points_multiplier",
                          params={"where": where})
        if index and (rung.min_spend < tiers[index - 1].min_spend or rung.min_purchases < tiers[index - 1].min_purchases):
            raise Invalid(_("%(where)s must not ask for less than the tier below it"),
                          field=f"{where}.min_spend",
                          params={"where": where})


def _check_ladder_within_guard(programme: Programme, tiers: list[Tier]) -> None:
    """A tier whose own benefits break the margin guard would make every quote fail: refuse it here."""
    for tier in tiers:
        given = Decimal(tier.discount_percent) + Decimal(tier.birthday_extra_percent)
        if given > Decimal(programme.max_discount_percent):
            raise Invalid(
                _("%(tier)s gives %(given)s%% off, more than the margin guard's "
                  "%(max_discount_percent)s%%"),
                field="max_discount_percent",
                params={"tier": tier.name, "given": pct(given),
                        "max_discount_percent": pct(programme.max_discount_percent)},
            )


def membership_of(*, shop: Shop, customer: Customer, lock: bool = False) -> Membership:
    """The customer's membership (joined in the entry tier on first use); `lock` takes its row lock,
    which every points write holds, so one customer's writes run one at a time."""
    members = Membership.objects.filter(shop=shop, customer=customer).select_related("tier")
    if lock:
        members = members.select_for_update(of=("self",))  # the member's row, not her tier's
    membership = members.first()
    if membership is None:
        Membership.objects.get_or_create(shop=shop, customer=customer, defaults={"tier": ladder(shop=shop)[0]})
        membership = members.get()
    return membership


def join_programme(*, shop: Shop, customer_id: int, entry_tier: Tier | None = None) -> None:
    """Enrol the shop's customer in the entry tier, unless she is a member already (also when a concurrent
    request enrols her at the same moment)."""
    entry_tier = entry_tier or ladder(shop=shop)[0]
    now = datetime_adapter()(timezone.now())
    insert_few(Membership, ("shop", "customer", "tier", "tier_since", "points_balance", "joined_at"),
               [(shop.pk, customer_id, entry_tier.pk, now, 0, now)], skip_conflicts=True)


def qualifying_figure(*, shop: Shop, customer: Customer, basis: str, as_of: dt.date) -> Decimal | int:
    return figure_for_basis(shop=shop, customer_id=customer.pk, basis=basis, as_of=as_of,
                            orders_count=customer.orders_count, net_spend=customer.net_spend)


def figure_for_basis(
    *, shop: Shop, customer_id: int, basis: str, as_of: dt.date, orders_count: int, net_spend: Decimal,
) -> Decimal | int:
    """The figure the ladder is climbed by: her stored purchase count or net spend, or (trailing basis) her
    net spend of the last 365 days."""
    if basis == TierBasis.PURCHASES:
        return orders_count
    if basis == TierBasis.LIFETIME_SPEND:
        return net_spend
    since = as_of - dt.timedelta(days=365)
    total = Order.objects.filter(
        shop=shop, customer_id=customer_id, is_purchase=True, purchase_day__gt=since, purchase_day__lte=as_of,
    ).aggregate(total=Sum("net_amount"))["total"]
    return total or ZERO


def qualifying_tier(tiers: list[Tier], *, basis: str, figure: Decimal | int) -> Tier:
    """The highest rung the figure reaches (the entry tier when none)."""
    reached = tiers[0]
    for tier in tiers:
        threshold = tier.min_purchases if basis == TierBasis.PURCHASES else tier.min_spend
        if figure >= threshold:
            reached = tier
    return reached


def promotion(tiers: list[Tier], *, basis: str, figure: Decimal | int, current_rank: int) -> tuple[Tier, str] | None:
    """The higher rung a purchase lifted her to, with the reason to record; None when she stays."""
    target = qualifying_tier(tiers, basis=basis, figure=figure)
    if target.rank <= current_rank:
        return None
    return target, f"purchase: {_describe(basis, figure, target)}"


def _describe(basis: str, figure: Decimal | int, tier: Tier) -> str:
    if basis == TierBasis.PURCHASES:
        return f"{figure} purchases, {tier.name} needs {tier.min_purchases}"
    label = "lifetime net spend" if basis == TierBasis.LIFETIME_SPEND else "net spend in 12 months"
    return f"{label} ¥{figure}, {tier.name} needs ¥{tier.min_spend}"


def move_up_after_purchase(
    *, shop: Shop, membership: Membership, order: Order | None = None, programme: Programme | None = None,
) -> TierChange | None:
    """Promote at once when the customer's figures reach a higher rung (never demotes)."""
    programme = programme or programme_of(shop=shop)
    customer = Customer.objects.get(pk=membership.customer_id)
    figure = qualifying_figure(shop=shop, customer=customer, basis=programme.tier_basis, as_of=today())
    found = promotion(ladder(shop=shop), basis=programme.tier_basis, figure=figure, current_rank=membership.tier.rank)
    if found is None:
        return None
    return _move(shop, membership, found[0], found[1], order)


def _move(shop: Shop, membership: Membership, target: Tier, reason: str, order: Order | None = None) -> TierChange:
    change = record_promotion(shop=shop, membership_id=membership.pk, customer_id=membership.customer_id,
                              from_tier=membership.tier, to_tier=target, reason=reason,
                              order_id=order.pk if order else None)
    membership.tier, membership.tier_since, membership.demotion_due_on = target, change.at, None
    return change


def record_promotion(
    *, shop: Shop, membership_id: int, customer_id: int, from_tier: Tier, to_tier: Tier, reason: str,
    order_id: int | None = None,
) -> TierChange:
    """Move the member (caller holds her lock) to another rung and record why."""
    change = TierChange.objects.create(
        shop=shop, customer_id=customer_id, from_tier=from_tier, to_tier=to_tier, reason=reason[:300],
        order_id=order_id,
    )
    Membership.objects.filter(pk=membership_id).update(tier=to_tier, tier_since=change.at, demotion_due_on=None)
    return change


def enrol_buyers(*, shop: Shop) -> int:
    """Every customer who has bought is a member (普通会员: one purchase); enrol those who are not yet."""
    entry_tier = ladder(shop=shop)[0]
    members = Membership.objects.filter(shop=shop).values("customer_id")
    buyers = Customer.objects.for_shop(shop).filter(orders_count__gt=0).exclude(pk__in=members)
    new = [Membership(shop=shop, customer_id=pk, tier=entry_tier) for pk in buyers.values_list("pk", flat=True)]
    Membership.objects.bulk_create(new, batch_size=5000)
    return len(new)


@dataclass
class ReviewOutcome:
    enrolled: int = 0
    reviewed: int = 0
    promoted: int = 0
    demoted: int = 0
    grace_started: int = 0
    grace_cleared: int = 0


@transaction.atomic
def review_tiers(*, shop: Shop, on: dt.date | None = None, promotions_only: bool = False) -> ReviewOutcome:
    """The yearly review: promote whoever qualifies higher, start the grace period of members below their
    tier, and move down those whose grace period has ended and who still fall short.

    `promotions_only` is the daily catch-up: purchases that did not come through the checkout (imports,
    the orders API) move their customers up within a day; nobody moves down outside the yearly review.

    Set-based for a million members: every figure comes from one aggregate query, each decision is
    made in memory, and the writes go out as one UPDATE per (tier, kind of change) plus bulk inserts.
    """
    on = on or today()
    programme = programme_of(shop=shop)
    tiers = ladder(shop=shop)
    by_id = {tier.pk: tier for tier in tiers}
    outcome = ReviewOutcome(enrolled=enrol_buyers(shop=shop))
    figures = _figures(shop, programme.tier_basis, on)
    plan = _ReviewPlan(promotions_only=promotions_only)
    members = (
        Membership.objects.select_for_update().filter(shop=shop).order_by("id")
        .values_list("id", "customer_id", "tier_id", "demotion_due_on")
    )
    for member_id, customer_id, tier_id, due_on in members.iterator(chunk_size=10_000):
        outcome.reviewed += 1
        figure = figures.get(customer_id, 0)
        target = qualifying_tier(tiers, basis=programme.tier_basis, figure=figure)
        plan.decide(member_id, customer_id, by_id[tier_id], target, figure, due_on, on, programme)
    plan.apply(shop, on, programme.demotion_grace_days, outcome)
    return outcome


def _figures(shop: Shop, basis: str, on: dt.date) -> dict[int, Decimal | int]:
    """Each customer's qualifying figure, in one query."""
    if basis == TierBasis.PURCHASES:
        return dict(Customer.objects.including_merged(shop).values_list("id", "orders_count"))
    if basis == TierBasis.LIFETIME_SPEND:
        return dict(Customer.objects.including_merged(shop).values_list("id", "net_spend"))
    rows = (
        Order.objects.filter(shop=shop, is_purchase=True, purchase_day__gt=on - dt.timedelta(days=365),
                             purchase_day__lte=on, customer__isnull=False)
        .values("customer_id").annotate(total=Sum("net_amount")).values_list("customer_id", "total").order_by()
    )
    return {customer_id: total or ZERO for customer_id, total in rows}


@dataclass
class _ReviewPlan:
    """The review's decisions, kept until they are written in bulk."""

    promotions_only: bool = False
    moves: list[tuple[int, int, Tier, Tier, str]] = field(default_factory=list)  # member, customer, from, to, why
    start_grace: list[int] = field(default_factory=list)
    clear_grace: list[int] = field(default_factory=list)

    def decide(
        self, member_id: int, customer_id: int, current: Tier, target: Tier, figure: Decimal | int,
        due_on: dt.date | None, on: dt.date, programme: Programme,
    ) -> None:
        basis = programme.tier_basis
        if target.rank > current.rank:
            occasion = "purchases recorded by" if self.promotions_only else "yearly review"
            self.moves.append((member_id, customer_id, current, target,
                               f"{occasion} {on}: {_describe(basis, figure, target)}"))
        elif self.promotions_only:
            return
        elif target.rank == current.rank:
            if due_on is not None:
                self.clear_grace.append(member_id)
        elif due_on is None:
            self.start_grace.append(member_id)
        elif due_on <= on:
            self.moves.append((member_id, customer_id, current, target, (
                f"yearly review {on}: {_describe(basis, figure, current)}; grace period ended {due_on}"
            )))

    def apply(self, shop: Shop, on: dt.date, grace_days: int, outcome: ReviewOutcome) -> None:
        members = Membership.objects.filter(shop=shop)
        for ids in _chunks(self.clear_grace):
            members.filter(pk__in=ids).update(demotion_due_on=None)
        for ids in _chunks(self.start_grace):
            members.filter(pk__in=ids).update(demotion_due_on=on + dt.timedelta(days=grace_days))
        now = timezone.now()
        for target in {move[3] for move in self.moves}:
            ids = [move[0] for move in self.moves if move[3] == target]
            for chunk in _chunks(ids):
                members.filter(pk__in=chunk).update(tier=target, tier_since=now, demotion_due_on=None)
        TierChange.objects.bulk_create([
            TierChange(shop=shop, customer_id=customer_id, from_tier=current, to_tier=target, reason=why[:300], at=now)
            for _, customer_id, current, target, why in self.moves
        ], batch_size=5000)
        outcome.promoted = sum(1 for move in self.moves if move[3].rank > move[2].rank)
        outcome.demoted = len(self.moves) - outcome.promoted
        outcome.grace_started, outcome.grace_cleared = len(self.start_grace), len(self.clear_grace)


def _chunks(ids: list[int], size: int = 10_000) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def is_birthday_month(customer: Customer, *, on: dt.date) -> bool:
    """Solar birthdays by month; a lunar birthday by the solar month its day falls in (a late lunar-year
    birthday lands in the next solar year, so both lunar years that touch `on` are asked)."""
    if not customer.birth_month or not customer.birth_day:
        return False
    if customer.birthday_calendar != "lunar":
        return customer.birth_month == on.month
    return any(
        (day.year, day.month) == (on.year, on.month)
        for day in (_lunar_birthday_in(year, customer) for year in (on.year - 1, on.year))
    )


def _lunar_birthday_in(lunar_year: int, customer: Customer) -> dt.date:
    from lunar_python import Lunar

    month = -customer.birth_month if customer.birth_leap_month else customer.birth_month
    try:
        solar = Lunar.fromYmd(lunar_year, month, customer.birth_day).getSolar()
    except Exception:  # noqa: BLE001 - lunar-python raises bare Exception: no leap month or no day 30 this year
        solar = Lunar.fromYmd(lunar_year, abs(month), min(customer.birth_day, 29)).getSolar()
    return dt.date(solar.getYear(), solar.getMonth(), solar.getDay())
