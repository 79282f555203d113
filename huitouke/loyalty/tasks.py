"""Background jobs of the loyalty app (run by `huitouke worker`)."""

from __future__ import annotations

from django_tasks import task

from huitouke.core.models import Shop
from huitouke.loyalty.services.coupons import issue_birthday_coupons
from huitouke.loyalty.services.points import expire_points


@task()
def daily_loyalty(shop_id: int) -> dict:
    """The daily round for one shop: expire points, issue birthday coupons."""
    shop = Shop.objects.get(pk=shop_id)
    return {"expired_points": expire_points(shop=shop), "birthday_coupons": issue_birthday_coupons(shop=shop)}
