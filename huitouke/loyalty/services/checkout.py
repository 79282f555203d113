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
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.bulk import datetime_adapter, insert_few, pipelined
from huitouke.core.dblock import write_turn
from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.core.models import Shop
from huitouke.core.money import ZERO, fmt, from_fen, money, to_fen
from huitouke.core.timeutil import local_day, today
from huitouke.customers.models import Customer
from huitouke.loyalty import ledger, pricing
from huitouke.loyalty.models import Checkout, Coupon, Membership, PointsEntry, Programme, Tier, TierChange
from huitouke.loyalty.services import points as points_service
from huitouke.loyalty.services import till_reads
from huitouke.loyalty.services.coupons import normalise_code
from huitouke.loyalty.services.programme import (
    figure_for_basis,
    is_birthday_month,
    join_programme,
    promotion,
    record_promotion,
)
from huitouke.loyalty.services.till_reads import Member, Terms
from huitouke.orders.services import PurchaseFigures, RecordedSale, Sale, SaleLine, record_sale

MAX_LINES = 200
_CHECKOUT_FIELDS = ("shop", "idempotency_key", "request_digest", "order", "customer", "coupon", "response", "created_at")


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
    customer_id: int
    tier: Tier
    birthday_month: bool
    coupon: Coupon | None
    quote: pricing.Quote
    points_available: int
    lines: list[tuple[int, pricing.LineIn]] = field(default_factory=list)  # (product id, line)


def quote(*, shop: Shop, request: CheckoutRequest, now: dt.datetime | None = None) -> dict[str, Any]:
    """The priced basket as JSON-ready data; raises a DomainError (4xx) naming the input to change."""
    on, terms = local_day(now or timezone.now()), till_reads.terms(shop=shop)
    member = _member(shop, request.customer_id, on, terms)
    return _as_json(_price(shop, request, member, terms, on))


def commit(*, shop: Shop, request: CheckoutRequest, idempotency_key: str, now: dt.datetime | None = None) -> dict:
    """Record the checkout once; a retry with the same key and request gets the first answer back."""
    key = (idempotency_key or "").strip()
    if not key or len(key) > 100:
        raise Invalid(_("send an Idempotency-Key header of 1 to 100 characters"), field="Idempotency-Key")
    digest = _digest(request)
    try:
        return _commit_once(shop, request, key, digest, now or timezone.now())
    except IntegrityError:
        # A concurrent request with the same key (for another customer, so not serialised by her lock) won.
        earlier = Checkout.objects.filter(shop=shop, idempotency_key=key).first()
        if earlier is None:
            raise
        return _replay(earlier, digest)


def _member(shop: Shop, customer_id: int, on: dt.date, terms: Terms, *, store: str = "", key: str = "") -> Member:
    """The customer and her membership (she joins in the entry tier on her first visit), or NotFound."""
    found = till_reads.customer_at_till(shop=shop, customer_id=customer_id, on=on, store=store, key=key)
    if found is None:
        raise NotFound(_("no customer %(customer_id)s"), field="customer",
                       params={"customer_id": customer_id})
    if found.membership_id is None:
        join_programme(shop=shop, customer_id=customer_id, entry_tier=terms.tiers[0])
        found = till_reads.customer_at_till(shop=shop, customer_id=customer_id, on=on, store=store, key=key)
    return found


def _commit_once(shop: Shop, request: CheckoutRequest, key: str, digest: str, now: dt.datetime) -> dict:
    """Few statements, no model instances on the common path (issue 6: ≥ 500 commits/s on PostgreSQL):
    three reads (till_reads); then, in the transaction, her locks (membership and customer rows, one
    statement), the order, then its lines with her new figures, then the points entries, her balance and the
    key's record, each group in one round trip on PostgreSQL (core.bulk.pipelined)."""
    on, terms = local_day(now), till_reads.terms(shop=shop)
    try:
        member = _member(shop, request.customer_id, on, terms, store=request.store.strip(), key=key)
    except NotFound:
        if (earlier := Checkout.objects.filter(shop=shop, idempotency_key=key).first()) is not None:
            return _replay(earlier, digest)  # she was merged away since: the first answer still stands
        raise
    if member.earlier_checkout_id is not None:
        return _replay(Checkout.objects.get(pk=member.earlier_checkout_id), digest)
    if not request.store:
        raise Invalid(_("store is required to record the order"), field="store")
    if member.store_id is None:
        raise NotFound(_("shop '%(slug)s' has no store '%(store)s'"), field="store",
                       params={"slug": shop.slug, "store": request.store})
    # Priced before the lock, so the lock is held only for the writes (on SQLite it is the whole database's).
    priced = _price(shop, request, member, terms, on)
    with write_turn(), transaction.atomic():
        tier_id, balance, figures = till_reads.lock_member(shop=shop, membership_id=member.membership_id)
        if (tier_id, balance) != (member.tier_id, member.points_balance):  # she changed meanwhile
            earlier = Checkout.objects.filter(shop=shop, idempotency_key=key).first()
            if earlier is not None:  # the first attempt with this key finished while this one waited
                return _replay(earlier, digest)
            member = replace(member, tier_id=tier_id, points_balance=balance)
            priced = _price(shop, request, member, terms, on)
        number = request.order_number.strip() or "HTK-" + hashlib.sha256(key.encode()).hexdigest()[:16].upper()
        sale = _record(shop, member, number, priced, now, figures)
        if sale is None:
            earlier = Checkout.objects.filter(shop=shop, idempotency_key=key).first()
            if earlier is not None:
                return _replay(earlier, digest)
            raise Conflict(_("order %(number)s is already recorded in store %(store)s"), field="order_number",
                           params={"number": number, "store": request.store})
        _use_coupon(priced.coupon, sale.order_id, now)
        balance, entries = _points_entries(member, priced, number, key, on, terms.programme)
        change = _promote(shop, member, terms, sale, on)
        response = _committed_json(priced, sale.order_id, number, balance + sum(e.delta for e in entries), change)
        with pipelined():  # writes that read nothing back: one round trip (a duplicate key surfaces here)
            points_service.append_entries(shop=shop, customer_id=member.customer.pk,
                                          membership_id=member.membership_id, entries=entries, order_id=sale.order_id)
            insert_few(Checkout, _CHECKOUT_FIELDS, [(
                shop.pk, key, digest, sale.order_id, member.customer.pk, priced.coupon.pk if priced.coupon else None,
                connection.ops.adapt_json_value(response, None), datetime_adapter()(timezone.now()),
            )], returning=False)
    return response


def _committed_json(priced: Priced, order_id: int, number: str, balance: int, change: TierChange | None) -> dict:
    return {
        **_as_json(priced), "order_id": order_id, "order_number": number[:64], "points_balance": balance,
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
            _("this Idempotency-Key was already used for a different checkout; use a new key for a new order"),
            field="Idempotency-Key", code="idempotency_key_reused",
        )
    return {**earlier.response, "replayed": True}


def _price(shop: Shop, request: CheckoutRequest, member: Member, terms: Terms, on: dt.date) -> Priced:
    lines = _lines(shop, request.lines)
    tier = terms.tier(member.tier_id)
    birthday = is_birthday_month(member.customer, on=on)
    coupon = _coupon(shop, request.coupon_code, member.customer, on) if request.coupon_code else None
    available = _available_points(shop, member, on)
    if request.points > available:
        raise Conflict(
            _("the customer has %(available)s points to spend, fewer than the %(points)s asked for"),
            field="points", code="insufficient_points",
            params={"available": available, "points": request.points},
        )
    try:
        quoted = pricing.price(
            [line for _, line in lines], member=_member_terms(tier, birthday), rules=_rules(terms.programme),
            shipping_fen=to_fen(_amount(request.shipping, "shipping")),
            coupon=_coupon_terms(coupon) if coupon else None, points=request.points,
        )
    except pricing.PricingError as exc:
        # the template is marked (gettext_noop) in pricing.py, which stays free of the active language
        raise Invalid(_(exc.text), field=exc.field, code=exc.rule, params=exc.params) from exc
    return Priced(member.customer.pk, tier, birthday, coupon, quoted, available, lines)


def _amount(value: Any, name: str) -> Decimal:
    amount = money(value if value is not None else 0)
    if amount < ZERO:
        raise Invalid(_("%(name)s cannot be negative"), field=name, params={"name": name})
    return amount


def _lines(shop: Shop, cart: tuple[CartLine, ...]) -> list[tuple[int, pricing.LineIn]]:
    if not cart:
        raise Invalid(_("the basket is empty: send at least one line"), field="lines")
    if len(cart) > MAX_LINES:
        raise Invalid(_("a basket has at most %(max_lines)s lines"), field="lines",
                      params={"max_lines": MAX_LINES})
    products = till_reads.products(shop=shop, skus={line.sku for line in cart})
    result = []
    for index, line in enumerate(cart):
        where = f"lines[{index}]"
        product = products.get(line.sku)
        if product is None:
            raise Invalid(_("%(where)s.sku: no product with SKU '%(sku)s' in this shop"), field=f"{where}.sku",
                          params={"where": where, "sku": line.sku})
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or not 0 < line.quantity <= 10_000:
            raise Invalid(_("%(where)s.quantity must be a whole number from 1 to 10000"),
                          field=f"{where}.quantity",
                          params={"where": where})
        price = product.price_fen if line.unit_price is None else to_fen(_amount(line.unit_price, f"{where}.unit_price"))
        result.append((product.id, pricing.LineIn(product.sku, product.title, product.role, line.quantity, price)))
    return result


def _coupon(shop: Shop, code: str, customer: Customer, on: dt.date) -> Coupon:
    coupon = Coupon.objects.filter(shop=shop, code=normalise_code(code)).select_related("template").first()
    if coupon is None:
        raise NotFound(_("no coupon with code %(code)s in this shop"), field="coupon_code",
                       params={"code": code})
    if coupon.customer_id != customer.pk:
        raise Invalid(_("coupon %(coupon)s was issued to another customer"),
                      field="coupon_code", code="coupon_not_hers",
                      params={"coupon": coupon.code})
    if coupon.status == Coupon.Status.REDEEMED:
        raise Conflict(_("coupon %(coupon)s was already used"), field="coupon_code", code="coupon_used",
                       params={"coupon": coupon.code})
    if coupon.status == Coupon.Status.VOID or not coupon.template.is_active:
        raise Invalid(_("coupon %(coupon)s has been withdrawn"), field="coupon_code", code="coupon_void",
                      params={"coupon": coupon.code})
    if on < coupon.valid_from:
        raise Invalid(_("coupon %(coupon)s is valid from %(valid_from)s"), field="coupon_code",
                      code="coupon_not_yet_valid",
                      params={"coupon": coupon.code, "valid_from": coupon.valid_from})
    if coupon.valid_until is not None and on > coupon.valid_until:
        raise Invalid(_("coupon %(coupon)s expired on %(valid_until)s"), field="coupon_code",
                      code="coupon_expired", params={"coupon": coupon.code, "valid_until": coupon.valid_until})
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


def _available_points(shop: Shop, member: Member, on: dt.date) -> int:
    """The balance less what expires before `on` but has not been written off yet."""
    if not member.lots_to_expire:
        return member.points_balance
    rows = PointsEntry.objects.filter(shop=shop, customer_id=member.customer.pk)
    entries = [ledger.Entry(*row) for row in rows.values_list("id", "delta", "expires_on", "lot_id")]
    return member.points_balance - sum(points for _, points in ledger.due_for_expiry(entries, today=on))


def _record(
    shop: Shop, member: Member, number: str, priced: Priced, now: dt.datetime, figures: PurchaseFigures,
) -> RecordedSale | None:
    q = priced.quote
    waived = sum(d.fen for d in q.discounts if d.kind == "free_shipping")
    return record_sale(shop=shop, store_id=member.store_id, customer_id=member.customer.pk, figures=figures, sale=Sale(
        external_id=number, at=now, goods_fen=q.goods_fen, shipping_fen=q.shipping_fen - waived,
        discount_fen=q.discount_fen - waived, paid_fen=q.total_fen,
        lines=[
            SaleLine(product_id=product_id, sku=p.line.sku, title=p.line.title, quantity=p.line.quantity,
                     unit_price_fen=p.line.unit_price_fen, line_amount_fen=p.net_fen)
            for p, (product_id, _) in zip(q.lines, priced.lines, strict=True)
        ],
    ))


def _use_coupon(coupon: Coupon | None, order_id: int, now: dt.datetime) -> None:
    if coupon is None:
        return
    # The conditional UPDATE is the race's referee: of any number of concurrent commits, one changes the row.
    used = Coupon.objects.filter(pk=coupon.pk, status=Coupon.Status.ISSUED).update(
        status=Coupon.Status.REDEEMED, redeemed_at=now, order_id=order_id,
    )
    if not used:
        raise Conflict(_("coupon %(coupon)s was already used"), field="coupon_code", code="coupon_used",
                       params={"coupon": coupon.code})


def _points_entries(
    member: Member, priced: Priced, number: str, key: str, on: dt.date, programme: Programme,
) -> tuple[int, list[points_service.NewEntry]]:
    """Her balance before this order and the redemption and earning to append; lots past their last day are
    written off first, so points are never spent twice."""
    q, balance = priced.quote, member.points_balance
    if q.points_redeemed and member.lots_to_expire:
        balance = points_service.write_off_expired(Membership.objects.get(pk=member.membership_id), on)
    if q.points_redeemed > balance:
        raise Conflict(_("the customer has %(balance)s points, fewer than the "
                         "%(points_redeemed)s asked for"),
                       field="points", code="insufficient_points",
                       params={"balance": balance, "points_redeemed": q.points_redeemed})
    entries = []
    if q.points_redeemed:
        entries.append(points_service.NewEntry(PointsEntry.Kind.REDEEM, -q.points_redeemed, f"checkout:{key}:redeem",
                                               f"paid with points on order {number}"))
    if q.points_earned:
        entries.append(points_service.NewEntry(PointsEntry.Kind.EARN, q.points_earned, f"checkout:{key}:earn",
                                               f"order {number}", points_service.lot_expiry(programme, on)))
    return balance, entries


def _promote(shop: Shop, member: Member, terms: Terms, sale: RecordedSale, on: dt.date) -> TierChange | None:
    """Move her up at once when this sale lifts her figures to a higher rung (never down)."""
    basis, current = terms.programme.tier_basis, terms.tier(member.tier_id)
    figure = figure_for_basis(shop=shop, customer_id=member.customer.pk, basis=basis, as_of=today(),
                              orders_count=sale.figures.orders_count, net_spend=sale.figures.net_spend)
    found = promotion(terms.tiers, basis=basis, figure=figure, current_rank=current.rank)
    if found is None:
        return None
    return record_promotion(shop=shop, membership_id=member.membership_id, customer_id=member.customer.pk,
                            from_tier=current, to_tier=found[0], reason=found[1], order_id=sale.order_id)


def _as_json(priced: Priced) -> dict[str, Any]:
    q = priced.quote

    def discounts(found: list[pricing.Discount]) -> list[dict[str, str]]:
        return [{"kind": d.kind, "reason": d.reason, "amount": fmt(from_fen(d.fen))} for d in found]

    return {
        "customer_id": priced.customer_id,
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
