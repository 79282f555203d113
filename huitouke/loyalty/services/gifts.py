"""The gift catalogue: exchanging points for a gift, and a surprise in a repeat customer's parcel.

Stock is taken with a conditional UPDATE (`stock > 0`), so two packers or two exchanges can never hand
out the last gift twice. A parcel gift is one this customer has never received (a unique row per
customer and gift makes sure of it).
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.core.models import Shop
from huitouke.customers.models import Customer
from huitouke.loyalty.models import Gift, GiftGiven, PointsEntry
from huitouke.loyalty.services import points as points_service
from huitouke.orders.models import Order


@transaction.atomic
def create_gift(*, shop: Shop, name: str, stock: int, points_cost: int = 0, for_parcels: bool = True) -> Gift:
    if not (name or "").strip():
        raise Invalid(_("a gift needs a name"), field="name")
    if stock < 0 or points_cost < 0:
        raise Invalid(_("stock and points_cost cannot be negative"),
                      field="stock" if stock < 0 else "points_cost")
    return Gift.objects.create(
        shop=shop, name=name.strip()[:80], stock=stock, points_cost=points_cost, for_parcels=for_parcels
    )


@transaction.atomic
def restock(*, shop: Shop, gift_id: int, add: int) -> Gift:
    gift = gift_by_id(shop=shop, gift_id=gift_id)
    if add <= 0:
        raise Invalid(_("add a positive number of gifts"), field="add")
    Gift.objects.filter(pk=gift.pk).update(stock=F("stock") + add)
    gift.refresh_from_db()
    return gift


def gift_by_id(*, shop: Shop, gift_id: int) -> Gift:
    gift = Gift.objects.filter(shop=shop, pk=gift_id).first()
    if gift is None:
        raise NotFound(_("no such gift"), field="gift_id")
    return gift


def take_from_stock(*, shop: Shop, gift_id: int) -> Gift:
    """One gift out of stock for a use decided elsewhere (e.g. a complaint's compensation); Conflict when none left."""
    gift = gift_by_id(shop=shop, gift_id=gift_id)
    _take_one(gift)
    return gift


def _take_one(gift: Gift) -> None:
    if not Gift.objects.filter(pk=gift.pk, stock__gt=0, is_active=True).update(stock=F("stock") - 1):
        raise Conflict(_("%(gift)s is out of stock"), field="gift_id", code="out_of_stock",
                       params={"gift": gift.name})


@transaction.atomic
def exchange_for_points(*, shop: Shop, customer: Customer, gift_id: int, idempotency_key: str) -> PointsEntry:
    """Spend the gift's points on it; a retry with the same key returns the first redemption."""
    gift = gift_by_id(shop=shop, gift_id=gift_id)
    if not gift.points_cost:
        raise Invalid(_("%(gift)s cannot be exchanged for points"), field="gift_id",
                      params={"gift": gift.name})
    key = f"gift:{idempotency_key}"
    earlier = PointsEntry.objects.filter(shop=shop, idempotency_key=key).first()
    if earlier is None:
        _take_one(gift)
        GiftGiven.objects.create(shop=shop, customer=customer, gift=gift, way=GiftGiven.Way.POINTS)
    return points_service.redeem_points(
        shop=shop, customer=customer, points=gift.points_cost, idempotency_key=key, gift=gift,
        reason=f"exchanged for {gift.name}",
    )


def propose_parcel_gift(*, shop: Shop, order: Order) -> GiftGiven | None:
    """When a repeat customer's order is packed: a gift she has never had, recorded so it never repeats.

    None when the order is not a repeat customer's or every gift in stock was given to her before.
    Calling it again for the same order returns the gift already chosen.
    """
    if order.shop_id != shop.pk:
        raise NotFound(_("no such order"), field="order_id")
    if order.customer_id is None:
        return None
    chosen = GiftGiven.objects.filter(shop=shop, order=order, way=GiftGiven.Way.PARCEL).select_related("gift").first()
    if chosen is not None:
        return chosen
    customer = Customer.objects.including_merged(shop).get(pk=order.customer_id)
    if customer.purchase_days < 2:
        return None
    had = GiftGiven.objects.filter(shop=shop, customer=customer).values("gift_id")
    candidates = Gift.objects.filter(shop=shop, for_parcels=True, is_active=True, stock__gt=0).exclude(pk__in=had)
    for gift in candidates.order_by("-stock", "id"):
        try:
            with transaction.atomic():
                _take_one(gift)
                return GiftGiven.objects.create(
                    shop=shop, customer=customer, gift=gift, way=GiftGiven.Way.PARCEL, order=order
                )
        except (Conflict, IntegrityError):
            continue  # just ran out, or a concurrent packer gave her this one: try the next
    return None


def gift_for_packed_order(*, shop: Shop, order: Order) -> dict[str, Any] | None:
    """Packed listener (orders.extensions): the parcel gift chosen for a repeat customer's order, for the packer."""
    given = propose_parcel_gift(shop=shop, order=order)
    if given is None:
        return None
    return {"gift_id": given.gift_id, "gift": given.gift.name, "message": f"put {given.gift.name} in the parcel"}
