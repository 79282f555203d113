"""Reads of the loyalty app; every one takes the shop."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from huitouke.core.models import Shop
from huitouke.core.money import ZERO
from huitouke.core.timeutil import today
from huitouke.customers.extensions import Panel, TimelineEntry
from huitouke.customers.models import Customer
from huitouke.loyalty.models import (
    Coupon,
    CouponTemplate,
    Gift,
    GiftGiven,
    Membership,
    PointsEntry,
    Tier,
    TierBasis,
    TierChange,
)
from huitouke.loyalty.services.programme import ladder, programme_of, qualifying_figure


def membership_or_none(*, shop: Shop, customer: Customer) -> Membership | None:
    return Membership.objects.filter(shop=shop, customer=customer).select_related("tier").first()


def points_history(*, shop: Shop, customer: Customer) -> QuerySet[PointsEntry]:
    return PointsEntry.objects.filter(shop=shop, customer=customer).select_related("order", "gift").order_by("-id")


def coupons_of(*, shop: Shop, customer: Customer) -> QuerySet[Coupon]:
    return Coupon.objects.filter(shop=shop, customer=customer).select_related("template").order_by("-issued_at", "-id")


def usable_coupons(*, shop: Shop, customer: Customer, on: dt.date | None = None) -> list[Coupon]:
    on = on or today()
    return [
        c for c in coupons_of(shop=shop, customer=customer).filter(status=Coupon.Status.ISSUED, valid_from__lte=on)
        if c.valid_until is None or c.valid_until >= on
    ]


@dataclass(frozen=True)
class NextTier:
    tier: Tier
    missing: Decimal | int  # yuan of spend, or purchases, still needed
    basis: str


@dataclass(frozen=True)
class MemberCard:
    customer: Customer
    tier: Tier
    points: int
    coupons: list[Coupon]
    next_tier: NextTier | None
    since: dt.datetime | None
    demotion_due_on: dt.date | None


def member_card(*, shop: Shop, customer: Customer) -> MemberCard:
    """What the customer-facing card shows: tier, benefits, points, coupons and the way to the next tier."""
    programme = programme_of(shop=shop)
    tiers = ladder(shop=shop)
    membership = membership_or_none(shop=shop, customer=customer)
    tier = membership.tier if membership else tiers[0]
    figure = qualifying_figure(shop=shop, customer=customer, basis=programme.tier_basis, as_of=today())
    return MemberCard(
        customer=customer, tier=tier, points=membership.points_balance if membership else 0,
        coupons=usable_coupons(shop=shop, customer=customer),
        next_tier=_next_tier(tiers, tier, programme.tier_basis, figure),
        since=membership.tier_since if membership else None,
        demotion_due_on=membership.demotion_due_on if membership else None,
    )


def _next_tier(tiers: list[Tier], tier: Tier, basis: str, figure: Decimal | int) -> NextTier | None:
    higher = [t for t in tiers if t.rank > tier.rank]
    if not higher:
        return None
    target = higher[0]
    if basis == TierBasis.PURCHASES:
        return NextTier(target, max(target.min_purchases - int(figure), 0), basis)
    return NextTier(target, max(target.min_spend - Decimal(figure), ZERO), basis)


def loyalty_panel(*, shop: Shop, customer: Customer) -> Panel | None:
    """The 360 page's loyalty section: card figures, the member-card link, recent points and tier changes;
    nothing for a customer who is neither a member nor holds a coupon."""
    from huitouke.loyalty.card import card_token

    membership = membership_or_none(shop=shop, customer=customer)
    if membership is None and not Coupon.objects.filter(shop=shop, customer=customer).exists():
        return None
    return Panel("loyalty/_panel.html", {
        "card": member_card(shop=shop, customer=customer),
        "card_token": card_token(customer),
        "entries": list(points_history(shop=shop, customer=customer)[:10]),
        "tier_changes": list(TierChange.objects.filter(shop=shop, customer=customer)
                             .select_related("from_tier", "to_tier").order_by("-at", "-id")[:5]),
        "coupons": list(coupons_of(shop=shop, customer=customer)[:10]),
    })


def tier_counts(*, shop: Shop) -> list[tuple[Tier, int]]:
    counts = dict(
        Membership.objects.filter(shop=shop).values_list("tier_id").annotate(n=Count("id")).order_by()
    )
    return [(tier, counts.get(tier.pk, 0)) for tier in ladder(shop=shop)]


def members(*, shop: Shop, tier_id: int | None = None) -> QuerySet[Membership]:
    qs = Membership.objects.filter(shop=shop).select_related("tier", "customer")
    if tier_id is not None:
        qs = qs.filter(tier_id=tier_id)
    return qs.order_by("-tier__rank", "-points_balance", "id")


def redemption_rates(*, shop: Shop) -> list[dict[str, Any]]:
    """Per coupon template: issued, redeemed and the redemption rate (None before any issue)."""
    live = ~Q(coupons__status=Coupon.Status.VOID)
    rows = CouponTemplate.objects.filter(shop=shop).annotate(
        issued=Count("coupons", filter=live),
        redeemed=Count("coupons", filter=Q(coupons__status=Coupon.Status.REDEEMED)),
    ).order_by("-created_at", "-id")
    return [
        {"template": t, "issued": t.issued, "redeemed": t.redeemed, "rate": t.redeemed / t.issued if t.issued else None}
        for t in rows
    ]


def gifts(*, shop: Shop) -> QuerySet[Gift]:
    return Gift.objects.filter(shop=shop).annotate(given_count=Count("given")).order_by("name")


def loyalty_timeline_entries(*, shop: Shop, customer: Customer) -> list[TimelineEntry]:
    """Points entries, coupons issued and used, tier changes and gifts on the customer 360 timeline."""
    entries = [
        TimelineEntry(at=e.created_at, kind="points", title=f"{e.get_kind_display()} {e.delta:+d}",
                      detail={"reason": e.reason})
        for e in PointsEntry.objects.filter(shop=shop, customer=customer).order_by("-id")[:200]
    ]
    for coupon in coupons_of(shop=shop, customer=customer)[:100]:
        entries.append(TimelineEntry(at=coupon.issued_at, kind="coupon",
                                     title=_("Coupon issued: %(name)s") % {"name": coupon.template.name},
                                     detail={"reason": coupon.get_trigger_display()}))
        if coupon.redeemed_at:
            entries.append(TimelineEntry(at=coupon.redeemed_at, kind="coupon",
                                         title=_("Coupon used: %(name)s") % {"name": coupon.template.name}))
    for change in TierChange.objects.filter(shop=shop, customer=customer).select_related("to_tier")[:50]:
        entries.append(TimelineEntry(at=change.at, kind="tier", title=_("Tier: %(name)s") % {"name": change.to_tier.name},
                                     detail={"reason": change.reason}))
    for given in GiftGiven.objects.filter(shop=shop, customer=customer).select_related("gift")[:50]:
        entries.append(TimelineEntry(at=given.at, kind="gift", title=_("Gift: %(name)s") % {"name": given.gift.name}))
    return entries


def loyalty_export_data(*, shop: Shop, customer: Customer) -> dict[str, Any]:
    membership = membership_or_none(shop=shop, customer=customer)
    return {
        "tier": membership.tier.name if membership else None,
        "points_balance": membership.points_balance if membership else 0,
        "points": [
            {"at": e.created_at.isoformat(), "kind": e.kind, "delta": e.delta, "reason": e.reason,
             "expires_on": e.expires_on.isoformat() if e.expires_on else None}
            for e in points_history(shop=shop, customer=customer)
        ],
        "coupons": [
            {"code": c.code, "name": c.template.name, "status": c.status, "issued_at": c.issued_at.isoformat()}
            for c in coupons_of(shop=shop, customer=customer)
        ],
        "gifts": [
            {"gift": g.gift.name, "at": g.at.isoformat(), "how": g.way}
            for g in GiftGiven.objects.filter(shop=shop, customer=customer).select_related("gift")
        ],
    }


def points_of_order(*, shop: Shop, order) -> QuerySet[PointsEntry]:
    return PointsEntry.objects.filter(shop=shop, order=order).order_by("id")


def balance_of(*, shop: Shop, customer_id: int | None) -> int:
    """The cached balance (tests check it equals the sum of the entries); 0 for a non-member."""
    if customer_id is None:
        return 0
    row = Membership.objects.filter(shop=shop, customer_id=customer_id).values_list("points_balance", flat=True)
    return row.first() or 0
