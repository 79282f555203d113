"""Background jobs of the orders app (run by `huitouke worker`)."""

from __future__ import annotations

from django_tasks import task

from huitouke.core.models import Shop
from huitouke.orders.services import refresh_customer_stats


@task()
def refresh_shop_customer_stats(shop_id: int) -> int:
    """Recompute every customer's purchase figures of one shop; returns how many were updated."""
    return refresh_customer_stats(shop=Shop.objects.get(pk=shop_id))
