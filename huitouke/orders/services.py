"""Writes for products and orders. Orders are idempotent by (shop, store, external order ID)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Q, Subquery

from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.core.models import Shop, Store
from huitouke.core.money import ZERO, MoneyError, money
from huitouke.core.timeutil import local_day
from huitouke.customers.models import Customer
from huitouke.customers.services import PURCHASE_STAT_FIELDS, STATS_CHUNK, update_purchase_stats
from huitouke.orders.models import Order, OrderLine, OrderStatus, Product, ProductRole


def _money(value: Any, field_name: str, *, allow_negative: bool = False) -> Decimal:
    try:
        amount = money(value if value is not None else 0)
    except MoneyError as exc:
        raise Invalid(f"{field_name}: {exc}", field=field_name) from exc
    if amount < 0 and not allow_negative:
        raise Invalid(f"{field_name} cannot be negative", field=field_name)
    return amount


@transaction.atomic
def create_product(
    *, shop: Shop, sku: str, title: str, price: Any, cost: Any = None,
    role: str = ProductRole.EDGE, category: str = "",
) -> Product:
    sku, title = (sku or "").strip(), (title or "").strip()
    if not sku:
        raise Invalid("SKU is required", field="sku")
    if not title:
        raise Invalid("title is required", field="title")
    if role not in ProductRole.values:
        raise Invalid(f"role must be one of {', '.join(ProductRole.values)}", field="role")
    if Product.objects.for_shop(shop).filter(sku=sku).exists():
        raise Conflict(f"a product with SKU '{sku}' already exists", field="sku")
    return Product.objects.create(
        shop=shop, sku=sku, title=title[:200], category=category.strip()[:50], role=role,
        price=_money(price, "price"), cost=None if cost in (None, "") else _money(cost, "cost"),
    )


@dataclass
class LineInput:
    title: str = ""
    sku: str = ""
    quantity: int = 1
    unit_price: Any = 0
    line_amount: Any = None
    product: Product | None = None  # already looked up by the caller (must be this shop's); saves a query


@dataclass
class OrderInput:
    external_id: str
    status: str
    ordered_at: dt.datetime
    paid_at: dt.datetime | None = None
    goods_amount: Any = None
    shipping_amount: Any = 0
    discount_amount: Any = 0
    paid_amount: Any = 0
    refunded_amount: Any = 0
    note: str = ""
    lines: Sequence[LineInput] = field(default_factory=list)


def _validated_lines(shop: Shop, lines: Sequence[LineInput]) -> list[OrderLine]:
    given = {line.product.sku: line.product for line in lines if line.product is not None and line.product.shop_id == shop.pk}
    skus = {line.sku.strip() for line in lines if line.sku and line.sku.strip() not in given}
    products = {**given, **({p.sku: p for p in Product.objects.for_shop(shop).filter(sku__in=skus)} if skus else {})}
    result = []
    for index, line in enumerate(lines):
        where = f"lines[{index}]"
        if not isinstance(line.quantity, int) or line.quantity <= 0:
            raise Invalid(f"{where}.quantity must be a whole number above 0", field=f"{where}.quantity")
        product = products.get(line.sku.strip()) if line.sku else None
        title = (line.title or (product.title if product else "")).strip()
        if not title:
            raise Invalid(f"{where} needs a title or a known SKU", field=f"{where}.title")
        unit_price = _money(line.unit_price, f"{where}.unit_price")
        amount = unit_price * line.quantity if line.line_amount is None else _money(line.line_amount, f"{where}.line_amount")
        result.append(OrderLine(
            shop=shop, product=product, sku=line.sku.strip()[:64], title=title[:200], quantity=line.quantity,
            unit_price=unit_price, line_amount=amount,
        ))
    return result


def _validated_order(shop: Shop, store: Store, customer: Customer | None, data: OrderInput) -> Order:
    external_id = (data.external_id or "").strip()
    if not external_id:
        raise Invalid("external order ID is required", field="external_id")
    if data.status not in OrderStatus.values:
        raise Invalid(f"status must be one of {', '.join(OrderStatus.values)}", field="status")
    for name in ("ordered_at", "paid_at"):
        moment = getattr(data, name)
        if moment is not None and (not isinstance(moment, dt.datetime) or moment.tzinfo is None):
            raise Invalid(f"{name} must be a date-time with a time zone", field=name)
    if data.ordered_at is None:
        raise Invalid("ordered_at is required", field="ordered_at")
    order = Order(
        shop=shop, store=store, customer=customer, external_id=external_id[:64], status=data.status,
        ordered_at=data.ordered_at, paid_at=data.paid_at, note=(data.note or "")[:300],
        shipping_amount=_money(data.shipping_amount, "shipping_amount"),
        discount_amount=_money(data.discount_amount, "discount_amount"),
        paid_amount=_money(data.paid_amount, "paid_amount"),
        refunded_amount=_money(data.refunded_amount, "refunded_amount"),
    )
    if order.refunded_amount > order.paid_amount:
        raise Invalid("refunded amount is larger than the paid amount", field="refunded_amount")
    return order


# No savepoint of its own inside a caller's transaction (two round trips per order saved): any error
# here aborts the caller's transaction anyway, as both callers (the orders API, the checkout) want.
@transaction.atomic(savepoint=False)
def record_order(
    *, shop: Shop, store: Store, customer: Customer | None, data: OrderInput
) -> tuple[Order, bool]:
    """Record an order; a retry with the same store + external ID returns the first one (created=False)."""
    if store.shop_id != shop.pk:
        raise NotFound("no such store", field="store")
    if customer is not None and customer.shop_id != shop.pk:
        raise NotFound("no such customer", field="customer")
    order = _validated_order(shop, store, customer, data)
    existing = Order.objects.for_shop(shop).filter(store=store, external_id=order.external_id).first()
    if existing is not None:
        return existing, False
    lines = _validated_lines(shop, data.lines)
    lines_total = sum((line.line_amount for line in lines), ZERO)
    order.goods_amount = lines_total if data.goods_amount is None else _money(data.goods_amount, "goods_amount")
    order.items_count = sum(line.quantity for line in lines)
    try:
        with transaction.atomic():
            order.save()
    except IntegrityError:  # a concurrent retry won the race: same answer as above
        return Order.objects.for_shop(shop).get(store=store, external_id=order.external_id), False
    for line in lines:
        line.order = order
    OrderLine.objects.bulk_create(lines)
    if customer is not None and not _add_latest_purchase(shop, customer.pk, order):
        refresh_customer_stats(shop=shop, customer_ids=[customer.pk])
    return order, True


def _add_latest_purchase(shop: Shop, customer_id: int, order: Order) -> bool:
    """Add a purchase later than all the customer's others to her stored figures; False when the order is
    not such a purchase (then the full recomputation runs).

    The till's case (a new sale now) needs no re-read of her history: no other order's repeat flag can
    change, and each figure moves by this order alone. One row lock, one UPDATE per table.
    """
    moment = order.paid_at or order.ordered_at
    if not order.is_purchase:
        return False
    customer = (
        Customer.objects.including_merged(shop).select_for_update()
        .filter(pk=customer_id).only(*PURCHASE_STAT_FIELDS).first()
    )
    if customer is None or (customer.last_purchase_at is not None and moment < customer.last_purchase_at):
        return False
    first_day = local_day(customer.first_purchase_at) if customer.first_purchase_at else None
    last_day = local_day(customer.last_purchase_at) if customer.last_purchase_at else None
    if first_day is not None and order.purchase_day > first_day:
        Order.objects.filter(pk=order.pk).update(is_repeat=True)
        order.is_repeat = True
    customer.orders_count += 1
    customer.items_count += order.items_count
    customer.purchase_days += 0 if last_day == order.purchase_day else 1
    customer.net_spend += order.net_amount
    customer.first_purchase_at = customer.first_purchase_at or moment
    customer.last_purchase_at = moment
    customer.save(update_fields=list(PURCHASE_STAT_FIELDS))
    return True


@transaction.atomic
def record_refund(*, shop: Shop, order_id: int, refunded_amount: Any) -> Order:
    """Set the order's refunded total (it only grows); a full refund marks the order refunded.

    Idempotent: the amount is the total refunded so far, not an increment, so a retry changes nothing.
    """
    order = Order.objects.select_for_update().filter(shop=shop, pk=order_id).first()
    if order is None:
        raise NotFound(f"no order {order_id}", field="order_id")
    amount = _money(refunded_amount, "refunded_amount")
    if amount > order.paid_amount:
        raise Invalid(f"refunded_amount {amount} is more than the {order.paid_amount} paid", field="refunded_amount")
    if amount < order.refunded_amount:
        raise Conflict(
            f"¥{order.refunded_amount} was already refunded; send the new total refunded, not less",
            field="refunded_amount",
        )
    if amount != order.refunded_amount:
        order.refunded_amount = amount
        if amount == order.paid_amount:
            order.status = OrderStatus.REFUNDED
        order.save()
        if order.customer_id is not None:
            refresh_customer_stats(shop=shop, customer_ids=[order.customer_id])
    return order


# `is_purchase=True` is written as a bare column on SQLite, which cannot seek an index on it; `IN (1)`
# can, so the per-customer subqueries below walk (shop, is_purchase, customer, …) instead of the shop.
PURCHASE = [True]


def _purchase_figures(shop: Shop) -> tuple[str, list[Any]]:
    """The customer's stored figures (PURCHASE_STAT_FIELDS, in order) as ONE row subquery over her
    purchases, correlated to the customer row being updated: one index walk per customer instead of one
    per figure (six correlated subqueries cost ~4× as much over 300k customers)."""
    quote = connection.ops.quote_name
    column = {name: quote(Order._meta.get_field(name).column) for name in (
        "shop", "is_purchase", "customer", "items_count", "purchase_day", "net_amount", "paid_at", "ordered_at")}
    moment = f"COALESCE({column['paid_at']}, {column['ordered_at']})"
    customer_id = f"{quote(Customer._meta.db_table)}.{quote(Customer._meta.pk.column)}"
    sql = (
        f"SELECT COUNT(*), COALESCE(SUM({column['items_count']}), 0), COUNT(DISTINCT {column['purchase_day']}), "
        f"COALESCE(SUM({column['net_amount']}), 0), MIN({moment}), MAX({moment}) "
        f"FROM {quote(Order._meta.db_table)} WHERE {column['shop']} = %s AND {column['is_purchase']} IN (%s) "
        f"AND {column['customer']} = {customer_id}"
    )
    return sql, [shop.pk, *PURCHASE]


def mark_repeat_purchases(*, shop: Shop, customer_ids: Iterable[int] | None = None) -> int:
    """Flag each purchase made after its customer's first purchase day (README: repeat revenue).

    Per chunk of customers, two UPDATEs that match only the wrong flags: SQLite rewrites every row an
    UPDATE matches, and the flag sits in two covering indexes, so re-setting a million unchanged flags
    would cost ten seconds on every re-import (and an import that wrote most flags right would pay for
    all of them). The updates walk the orders in customer order, which keeps the index writes local.
    """
    first_day = (
        Order.objects.filter(shop=shop, is_purchase__in=PURCHASE, customer_id=OuterRef("customer_id"))
        .order_by("purchase_day").values("purchase_day")[:1]
    )
    repeat = Q(is_purchase__in=PURCHASE, purchase_day__gt=Subquery(first_day))
    orders = Order.objects.for_shop(shop)
    if customer_ids is None:
        chunks = [orders.filter(customer__isnull=False)]
        orders.filter(customer__isnull=True, is_repeat__in=[True]).update(is_repeat=False)
    else:
        ids = sorted(set(customer_ids))
        chunks = [orders.filter(customer_id__in=ids[i:i + STATS_CHUNK]) for i in range(0, len(ids), STATS_CHUNK)]
    changed = 0
    for chunk in chunks:
        changed += chunk.filter(repeat, is_repeat__in=[False]).update(is_repeat=True)
        # `is_purchase IN (1, 0)` matches every row but lets SQLite seek (shop, is_purchase, customer …).
        changed += chunk.filter(is_purchase__in=[True, False], is_repeat__in=[True]).exclude(repeat).update(
            is_repeat=False)
    return changed


def refresh_customer_stats(*, shop: Shop, customer_ids: Iterable[int] | None = None) -> int:
    """Recompute the stored purchase figures and repeat flags of these customers (all when None).

    Set-based: two UPDATE statements per 10,000 customers, whatever the number of orders.
    """
    ids = list(customer_ids) if customer_ids is not None else None
    mark_repeat_purchases(shop=shop, customer_ids=ids)
    return update_purchase_stats(shop=shop, customer_ids=ids, figures=_purchase_figures(shop))
