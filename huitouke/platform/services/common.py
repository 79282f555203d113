"""Helpers shared by the platform services: keys, scope checks, clocks."""

from __future__ import annotations

import datetime as dt

from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import Invalid, NotFound
from huitouke.core.models import Shop
from huitouke.core.prepared import Prepared
from huitouke.platform.models import Merchant


def check_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > 120:
        raise Invalid(_("an idempotency key of 1 to 120 characters is required"), field="idempotency_key")
    return key


def moment(now: dt.datetime | None) -> dt.datetime:
    """The injected clock, or now; always aware."""
    if now is None:
        return timezone.now()
    if now.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime")
    return now


_MERCHANT = Prepared(lambda shop_id, pk: Merchant.objects.filter(shop_id=shop_id, pk=pk).order_by())


def id_of(value: Model | int | str) -> int | None:
    """The id of an object, or of an id given as a number or text (a form, a URL); None when it is none."""
    if isinstance(value, Model):
        return value.pk
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def own_merchant(shop: Shop, merchant: Merchant | int) -> Merchant:
    """The merchant if it belongs to the operator's shop, read afresh (its status may have changed); another
    operator's is a 404."""
    merchant_id = id_of(merchant)
    found = None if merchant_id is None else _MERCHANT.first(shop_id=shop.pk, pk=merchant_id)
    if found is None:
        raise NotFound(_("no such merchant"), field="merchant")
    return found


def locked_merchant(shop: Shop, merchant: Merchant | int) -> Merchant:
    merchant_id = own_merchant(shop, merchant).pk
    return Merchant.objects.select_for_update().get(shop=shop, pk=merchant_id)
