"""Ship and delivery times of orders (imported or recorded), for the delivery promise."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext_lazy

from huitouke.core.errors import Invalid, NotFound
from huitouke.core.models import Shop
from huitouke.orders.models import Order
from huitouke.quality.models import Shipment


@transaction.atomic
def record_shipment(
    *, shop: Shop, order: Order, shipped_at: dt.datetime, delivered_at: dt.datetime | None = None,
) -> Shipment:
    if order.shop_id != shop.pk:
        raise NotFound(gettext_lazy("no such order"), field="order")
    for name, moment in (("shipped_at", shipped_at), ("delivered_at", delivered_at)):
        if moment is not None and moment.tzinfo is None:
            raise Invalid(gettext_lazy("give the time with its time zone"), field=name)
    if delivered_at is not None and delivered_at < shipped_at:
        raise Invalid(gettext_lazy("an order cannot arrive before it ships"), field="delivered_at")
    shipment, _ = Shipment.objects.update_or_create(
        shop=shop, order=order, defaults={"shipped_at": shipped_at, "delivered_at": delivered_at},
    )
    return shipment
