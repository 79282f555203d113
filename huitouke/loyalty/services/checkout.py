"""Checkout for the till, a shop plug-in or the staff UI: quote a basket, then commit it.

`quote` prices the basket (pricing.py holds every rule) and writes nothing. `commit` prices it again
under the customer's membership lock and, in one transaction, records the order, uses the coupon,
writes the points entries and any tier change. It is kept under its Idempotency-Key: the same key
with the same request returns the first answer; with a different request it is refused (409).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from huitouke.core.dblock import write_turn
from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.core.models import Shop
from huitouke.core.money import ZERO, fmt, from_fen, money, to_fen
from huitouke.core.selectors import store_by_slug
from huitouke.core.timeutil import local_day
from huitouke.customers.models import Customer
from huitouke.customers.selectors import customer_by_id
from huitouke.loyalty import ledger, pricing
from huitouke.loyalty.models import Checkout, Coupon, Membership, PointsEntry, Programme, Tier, TierChange
from huitouke.loyalty.services import points as points_service
from huitouke.loyalty.services.coupons import normalise_code
from huitouke.loyalty.services.programme import (
    is_birthday_month,
    membership_of,
    move_up_after_purchase,
    programme_of,
)
from huitouke.orders.models import Order, OrderStatus, Product
from huitouke.orders.services import LineInput, OrderInput, record_order

MAX_LINES = 200


@dataclass(frozen=True)
class CartLine:
    sku: str
    quantity: int
    unit_price: Decimal | None = None  # the product's price when not given


@dataclass(frozen=True)
class CheckoutRequest:
    customer_id: int
    lines: tuple[CartLine, ...]
    coupon_code: str = ""
    points: int = 0
    shipping: Decimal = ZERO
    store: str = ""  # commit only: the store the order is recorded in
    order_number: str = ""  # commit only: the till's own order number, when it has one


@dataclass
class Priced:
    customer: Customer
    tier: Tier
    birthday_month: bool
    coupon: Coupon | None
    quote: pricing.Quote
    points_available: int
    lines: list[tuple[Product, pricing.LineIn]] = field(default_factory=list)


def quote(*, shop: Shop, request: CheckoutRequest, now: dt.datetime | None = None) -> dict[str, Any]:
    """The priced basket as JSON-ready data; raises a DomainError (4xx) naming the input to change."""
    customer = customer_by_id(shop=shop, customer_id=request.customer_id)
    membership = membership_of(shop=shop, customer=customer)
    priced = _price(shop, request, customer, membership, local_day(now or timezone.now()))
    return _as_json(priced)


def commit(*, shop: Shop, request: CheckoutRequest, idempotency_key: str, now: dt.datetime | None = None) -> dict:
    """Record the checkout once; a retry with the same key and request gets the first answer back."""
    key = (idempotency_key or "").strip()
    if not key or len(key) > 100:
        raise Invalid("send an Idempotency-Key header of 1 to 100 characters", field="Idempotency-Key")
    digest = _digest(request)
    try:
        return _commit_once(shop, request, key, digest, now or timezone.now())
    except IntegrityError:
        # A concurrent request with the same key (for another customer, so not serialised by her lock) won.
        earlier = Checkout.objects.filter(shop=shop, idempotency_key=key).first()
        if earlier is None:
            raise
        return _replay(earlier, digest)


def _commit_once(shop: Shop, request: CheckoutRequest, key: str, digest: str, now: dt.datetime) -> dict:
    earlier = Checkout.objects.filter(shop=shop, idempotency_key=key).first()
    if earlier is not None:
        return _replay(earlier, digest)
    customer = customer_by_id(shop=shop, customer_id=request.customer_id)
    if not request.store:
        raise Invalid("store is required to record the order", field="store")
    store = store_by_slug(shop=shop, slug=request.store)
    programme, on = programme_of(shop=shop), local_day(now)
    # Priced before the lock, so the lock is held only for the writes (on SQLite it is the whole database's).
    seen = membership_of(shop=shop, customer=customer)
    priced = _price(shop, request, customer, seen, on, programme)
    with write_turn(), transaction.atomic():
        membership = membership_of(shop=shop, customer=customer, lock=True)
        earlier = Checkout.objects.filter(shop=shop, idempotency_key=key).first()
        if earlier is not None:  # the first attempt finished while this one waited for the lock
            return _replay(earlier, digest)
        if (membership.tier_id, membership.points_balance) != (seen.tier_id, seen.points_balance):
            priced = _price(shop, request, customer, membership, on, programme)  # she changed meanwhile
        order = _record(shop, store, request, priced, key, now)
        _use_coupon(priced.coupon, order, now)
        _write_points(membership, priced, order, key, on, programme)
        change = move_up_after_purchase(shop=shop, membership=membership, order=order, programme=programme)
        response = _committed_json(priced, order, membership, change)
        Checkout.objects.create(
            shop=shop, idempotency_key=key, request_digest=digest, order=order, customer=customer,
            coupon=priced.coupon, response=response,
        )
    return response


def _committed_json(priced: Priced, order: Order, membership: Membership, change: TierChange | None) -> dict:
    return {
        **_as_json(priced), "order_id": order.pk, "order_number": order.external_id,
        "points_balance": membership.points_balance,
        "tier_change": None if change is None else {
            "from": change.from_tier.name, "to": change.to_tier.name, "reason": change.reason,
        },
    }


def _digest(request: CheckoutRequest) -> str:
    canonical = json.dumps(asdict(request), sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(earlier: Checkout, digest: str) -> dict:
    if earlier.request_digest != digest:
        raise Conflict(
            "this Idempotency-Key was already used for a different checkout; use a new key for a new order",
            field="Idempotency-Key", code="idempotency_key_reused",
        )
    return {**earlier.response, "replayed": True}


def _price(
    shop: Shop, request: CheckoutRequest, customer: Customer, membership: Membership, on: dt.date,
    programme: Programme | None = None,
) -> Priced:
    programme = programme or programme_of(shop=shop)
    lines = _lines(shop, request.lines)
    tier = membership.tier
    birthday = is_birthday_month(customer, on=on)
    coupon = _coupon(shop, request.coupon_code, customer, on) if request.coupon_code else None
    available = _available_points(membership, on)
    if request.points > available:
        raise Conflict(
            f"the customer has {available} points to spend, fewer than the {request.points} asked for",
            field="points", code="insufficient_points",
        )
    try:
        quoted = pricing.price(
            [line for _, line in lines], member=_member_terms(tier, birthday), rules=_rules(programme),
            shipping_fen=to_fen(_amount(request.shipping, "shipping")),
            coupon=_coupon_terms(coupon) if coupon else None, points=request.points,
        )
    except pricing.PricingError as exc:
        raise Invalid(exc.message, field=exc.field, code=exc.rule) from exc
    return Priced(customer, tier, birthday, coupon, quoted, available, lines)


def _amount(value: Any, name: str) -> Decimal:
    amount = money(value if value is not None else 0)
    if amount < ZERO:
        raise Invalid(f"{name} cannot be negative", field=name)
    return amount


def _lines(shop: Shop, cart: tuple[CartLine, ...]) -> list[tuple[Product, pricing.LineIn]]:
    if not cart:
        raise Invalid("the basket is empty: send at least one line", field="lines")
    if len(cart) > MAX_LINES:
        raise Invalid(f"a basket has at most {MAX_LINES} lines", field="lines")
    products = {p.sku: p for p in Product.objects.for_shop(shop).filter(sku__in={line.sku for line in cart})}
    result = []
    for index, line in enumerate(cart):
        where = f"lines[{index}]"
        product = products.get(line.sku)
        if product is None:
            raise Invalid(f"{where}.sku: no product with SKU '{line.sku}' in this shop", field=f"{where}.sku")
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or not 0 < line.quantity <= 10_000:
            raise Invalid(f"{where}.quantity must be a whole number from 1 to 10000", field=f"{where}.quantity")
        price = product.price if line.unit_price is None else _amount(line.unit_price, f"{where}.unit_price")
        result.append((product, pricing.LineIn(product.sku, product.title, product.role, line.quantity, to_fen(price))))
    return result


def _coupon(shop: Shop, code: str, customer: Customer, on: dt.date) -> Coupon:
    coupon = Coupon.objects.filter(shop=shop, code=normalise_code(code)).select_related("template").first()
    if coupon is None:
        raise NotFound(f"no coupon with code {code} in this shop", field="coupon_code")
    if coupon.customer_id != customer.pk:
        raise Invalid(f"coupon {coupon.code} was issued to another customer", field="coupon_code", code="coupon_not_hers")
    if coupon.status == Coupon.Status.REDEEMED:
        raise Conflict(f"coupon {coupon.code} was already used", field="coupon_code", code="coupon_used")
    if coupon.status == Coupon.Status.VOID or not coupon.template.is_active:
        raise Invalid(f"coupon {coupon.code} has been withdrawn", field="coupon_code", code="coupon_void")
    if on < coupon.valid_from:
        raise Invalid(f"coupon {coupon.code} is valid from {coupon.valid_from}", field="coupon_code",
                      code="coupon_not_yet_valid")
    if coupon.valid_until is not None and on > coupon.valid_until:
        raise Invalid(f"coupon {coupon.code} expired on {coupon.valid_until}", field="coupon_code",
                      code="coupon_expired")
    return coupon


def _coupon_terms(coupon: Coupon) -> pricing.CouponTerms:
    template = coupon.template
    value = template.amount_off if template.kind == "amount_off" else template.percent_off
    return pricing.CouponTerms(
        code=coupon.code, name=template.name, kind=template.kind, value=Decimal(value),
        min_spend_fen=to_fen(template.min_spend), roles=frozenset(template.eligible_roles),
        allow_profit=template.allow_profit_products, stackable=template.stackable,
    )


def _member_terms(tier: Tier, birthday: bool) -> pricing.MemberTerms:
    return pricing.MemberTerms(
        tier_name=tier.name, discount_percent=Decimal(tier.discount_percent),
        birthday_extra_percent=Decimal(tier.birthday_extra_percent) if birthday else Decimal(0),
        free_shipping=tier.free_shipping, points_multiplier=Decimal(tier.points_multiplier),
    )


def _rules(programme: Programme) -> pricing.ShopRules:
    return pricing.ShopRules(
        max_discount_percent=Decimal(programme.max_discount_percent), points_per_yuan=programme.points_per_yuan,
        points_per_yuan_redeemed=programme.points_per_yuan_redeemed,
    )


def _available_points(membership: Membership, on: dt.date) -> int:
    """The balance less what expires before `on` but has not been written off yet."""
    rows = PointsEntry.objects.filter(shop_id=membership.shop_id, customer_id=membership.customer_id)
    entries = [ledger.Entry(*row) for row in rows.values_list("id", "delta", "expires_on", "lot_id")]
    return membership.points_balance - sum(points for _, points in ledger.due_for_expiry(entries, today=on))


def _record(shop, store, request: CheckoutRequest, priced: Priced, key: str, now: dt.datetime) -> Order:
    q = priced.quote
    number = request.order_number.strip() or "HTK-" + hashlib.sha256(key.encode()).hexdigest()[:16].upper()
    waived = sum(d.fen for d in q.discounts if d.kind == "free_shipping")
    order, created = record_order(shop=shop, store=store, customer=priced.customer, data=OrderInput(
        external_id=number, status=OrderStatus.PAID, ordered_at=now, paid_at=now,
        goods_amount=from_fen(q.goods_fen), shipping_amount=from_fen(q.shipping_fen - waived),
        discount_amount=from_fen(q.discount_fen - waived), paid_amount=from_fen(q.total_fen),
        lines=[
            LineInput(title=p.line.title, sku=p.line.sku, quantity=p.line.quantity, product=product,
                      unit_price=from_fen(p.line.unit_price_fen), line_amount=from_fen(p.net_fen))
            for p, (product, _) in zip(q.lines, priced.lines, strict=True)
        ],
    ))
    if not created:
        raise Conflict(f"order {number} is already recorded in store {store.slug}", field="order_number")
    return order


def _use_coupon(coupon: Coupon | None, order: Order, now: dt.datetime) -> None:
    if coupon is None:
        return
    # The conditional UPDATE is the race's referee: of any number of concurrent commits, one changes the row.
    used = Coupon.objects.filter(pk=coupon.pk, status=Coupon.Status.ISSUED).update(
        status=Coupon.Status.REDEEMED, redeemed_at=now, order=order,
    )
    if not used:
        raise Conflict(f"coupon {coupon.code} was already used", field="coupon_code", code="coupon_used")


def _write_points(
    membership: Membership, priced: Priced, order: Order, key: str, on: dt.date, programme: Programme
) -> None:
    q = priced.quote
    if q.points_redeemed:
        points_service.debit(
            membership, kind=PointsEntry.Kind.REDEEM, points=q.points_redeemed, key=f"checkout:{key}:redeem",
            on=on, order=order, reason=f"paid with points on order {order.external_id}",
        )
    if q.points_earned:
        points_service.credit(
            membership, kind=PointsEntry.Kind.EARN, points=q.points_earned, key=f"checkout:{key}:earn",
            earned_on=on, programme=programme, order=order, reason=f"order {order.external_id}",
        )


def _as_json(priced: Priced) -> dict[str, Any]:
    q = priced.quote

    def discounts(found: list[pricing.Discount]) -> list[dict[str, str]]:
        return [{"kind": d.kind, "reason": d.reason, "amount": fmt(from_fen(d.fen))} for d in found]

    return {
        "customer_id": priced.customer.pk,
        "tier": priced.tier.name,
        "birthday_month": priced.birthday_month,
        "coupon_code": priced.coupon.code if priced.coupon else None,
        "lines": [
            {
                "sku": p.line.sku, "title": p.line.title, "role": p.line.role, "quantity": p.line.quantity,
                "unit_price": fmt(from_fen(p.line.unit_price_fen)), "gross": fmt(from_fen(p.gross_fen)),
                "discounts": discounts(p.discounts), "net": fmt(from_fen(p.net_fen)),
            }
            for p in q.lines
        ],
        "goods_total": fmt(from_fen(q.goods_fen)),
        "shipping": fmt(from_fen(q.shipping_fen)),
        "discounts": discounts(q.discounts),
        "discount_total": fmt(from_fen(q.discount_fen)),
        "total": fmt(from_fen(q.total_fen)),
        "points_available": priced.points_available,
        "points_redeemed": q.points_redeemed,
        "points_earned": q.points_earned,
        "warnings": q.warnings,
    }
