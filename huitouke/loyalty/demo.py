"""The demo shop's loyalty programme: members by their history, opening points, coupons, gifts.

Synthetic, like the rest of the demo: opening balances stand for points earned on past orders, and a
share of the issued coupons is marked used so the redemption rates have something to show.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.db.models import IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from huitouke.core.bulk import date_adapter, datetime_adapter, insert_rows
from huitouke.core.models import Shop
from huitouke.core.timeutil import day_start
from huitouke.customers.models import Customer
from huitouke.loyalty.models import Coupon, Membership, PointsEntry
from huitouke.loyalty.services import coupons, gifts, programme

TEMPLATES = (
    coupons.TemplateInput(name="好评返10元", kind="amount_off", value=Decimal("10"), min_spend=Decimal("99"),
                          valid_days=30, trigger="good_review", per_customer_limit=3),
    coupons.TemplateInput(name="收藏送5元", kind="amount_off", value=Decimal("5"), min_spend=Decimal("59"),
                          valid_days=60, trigger="favourite"),
    coupons.TemplateInput(name="生日月85折", kind="percent_off", value=Decimal("15"), valid_days=31,
                          trigger="birthday"),
    coupons.TemplateInput(name="老客回购满200减30", kind="amount_off", value=Decimal("30"), min_spend=Decimal("200"),
                          valid_days=14, trigger="batch"),
)
GIFTS = (("真丝小方巾", 120, 0), ("手写感谢卡", 500, 0), ("香薰蜡烛", 60, 1500), ("护手霜礼盒", 80, 800))


@transaction.atomic
def seed_demo_loyalty(*, shop: Shop, on: dt.date, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    outcome = programme.review_tiers(shop=shop, on=on)  # enrols every buyer and moves her up by her spend
    opening = _opening_points(shop, on)
    issued = _coupons(shop, rng, on)
    for name, stock, points_cost in GIFTS:
        gifts.create_gift(shop=shop, name=name, stock=stock, points_cost=points_cost)
    return {"members": outcome.enrolled, "promoted": outcome.promoted, "points_entries": opening, "coupons": issued}


def _opening_points(shop: Shop, on: dt.date) -> int:
    """One earn entry per member: 10 points per yuan of her past net spend, valid to the end of next year.

    Written column-wise (core.bulk): for a 100k demo the ORM's bulk_create took longer than the rest."""
    rows = [
        (customer_id, int(net_spend * 10))
        for customer_id, net_spend in Membership.objects.filter(shop=shop, customer__net_spend__gte=1)
        .values_list("customer_id", "customer__net_spend").order_by("customer_id")
    ]
    n = len(rows)
    expires, at = date_adapter()(dt.date(on.year + 1, 12, 31)), datetime_adapter()(day_start(on))
    insert_rows(PointsEntry, {
        "shop": [shop.pk] * n, "customer": [r[0] for r in rows], "kind": [PointsEntry.Kind.EARN] * n,
        "delta": [r[1] for r in rows], "expires_on": [expires] * n,
        "reason": ["opening balance from order history"] * n,
        "idempotency_key": [f"demo-opening:{r[0]}" for r in rows], "created_at": [at] * n,
    }, n)
    total = (
        PointsEntry.objects.filter(shop=shop, customer_id=OuterRef("customer_id")).order_by()
        .values("customer_id").annotate(s=Sum("delta")).values("s")[:1]
    )
    Membership.objects.filter(shop=shop).update(
        points_balance=Coalesce(Subquery(total, output_field=IntegerField()), Value(0))
    )
    return n


def _coupons(shop: Shop, rng: random.Random, on: dt.date) -> int:
    templates = [coupons.create_template(shop=shop, data=data) for data in TEMPLATES]
    buyers = list(Customer.objects.for_shop(shop).filter(orders_count__gt=0).order_by("id"))
    issued = 0
    # Capped: the demo shows coupons at work, a 100k-customer shop does not need 10,000 of them.
    for customer in rng.sample(buyers, k=min(len(buyers) // 10, 800)):
        issued += len(coupons.record_good_review(shop=shop, customer=customer, review_id=f"demo-{customer.pk}", stars=5))
    for customer in rng.sample(buyers, k=min(len(buyers) // 20, 400)):
        issued += len(coupons.record_favourite(shop=shop, customer=customer))
    lapsed = [c.pk for c in buyers if c.purchase_days >= 2 and c.last_purchase_at
              and c.last_purchase_at < day_start(on - dt.timedelta(days=120))][:300]
    if lapsed:
        batch = coupons.issue_batch(shop=shop, template=templates[3], customer_ids=lapsed,
                                    audience=f"{len(lapsed)} lapsed repeat customers", announcement="")
        issued += batch.issued
    used = [c.pk for c in Coupon.objects.filter(shop=shop) if rng.random() < 0.3]
    Coupon.objects.filter(pk__in=used).update(status=Coupon.Status.REDEEMED, redeemed_at=timezone.now())
    return issued
