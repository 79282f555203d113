"""Quality's side of engagement's post-delivery feedback rule (engagement.rules.delivered).

Registered in QualityConfig.ready(): recorded delivery times (Shipment.delivered_at) tell the rule which shipped
orders have arrived, and the feedback message carries the order's signed satisfaction link.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse

from huitouke.core.models import Shop
from huitouke.orders.models import Order
from huitouke.quality.models import Shipment
from huitouke.quality.services.satisfaction import survey_for_order


def orders_delivered(*, shop: Shop, since: dt.datetime, until: dt.datetime) -> QuerySet:
    return Shipment.objects.for_shop(shop).filter(delivered_at__gte=since, delivered_at__lt=until).values_list(
        "order_id", flat=True)


def satisfaction_link(*, shop: Shop, order: Order) -> str:
    """The absolute link to the order's satisfaction page (one survey per order, see survey_for_order)."""
    _survey, token = survey_for_order(shop=shop, order=order)
    return settings.PUBLIC_URL + reverse("satisfaction_survey", args=[token])
