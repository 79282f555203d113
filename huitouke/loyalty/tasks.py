"""Background jobs of the loyalty app (run by `huitouke worker`)."""

from __future__ import annotations

from django_tasks import task

from huitouke.core.models import Shop
from huitouke.core.services import enqueue_for_every_shop
from huitouke.loyalty.services.coupons import issue_birthday_coupons
from huitouke.loyalty.services.points import expire_points, reverse_refunded_orders
from huitouke.loyalty.services.programme import review_tiers


@task()
def daily_loyalty(shop_id: int) -> dict:
    """The daily round for one shop: move up (and enrol) buyers whose purchases came in by import or the
    orders API, reverse points of refunded orders, expire points, birthday coupons."""
    shop = Shop.objects.get(pk=shop_id)
    moved = review_tiers(shop=shop, promotions_only=True)
    return {
        "enrolled": moved.enrolled, "promoted": moved.promoted,
        "refund_reversals": reverse_refunded_orders(shop=shop), "expired_points": expire_points(shop=shop),
        "birthday_coupons": issue_birthday_coupons(shop=shop),
    }


def enqueue_daily_all() -> list[int]:
    """Queue the daily round for every shop; the ids of the shops queued, in id order."""
    return enqueue_for_every_shop(daily_loyalty)
