"""Writes for products and orders. Orders are idempotent by (shop, store, external order ID)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils.translation import gettext_lazy as _

from huitouke.core.bulk import (
    date_adapter,
    datetime_adapter,
    datetime_reader,
    hot_cursor,
    insert_few,
    lock_rows,
    pipelined,
)
from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.core.models import Shop, Store
from huitouke.core.money import ZERO, MoneyError, from_fen, money, to_fen
from huitouke.core.timeutil import local_day
from huitouke.customers.models import Customer
from huitouke.customers.services import PURCHASE_STAT_FIELDS, STATS_CHUNK, update_purchase_stats
from huitouke.orders.extensions import order_packed, purchases_changed
from huitouke.orders.models import Order, OrderLine, OrderStatus, Product, ProductRole, derived_figures


def _money(value: Any, field_name: str, *, allow_negative: bool = False) -> Decimal:
    try:
        amount = money(value if value is not None else 0)
    except MoneyError as exc:
        raise Invalid(_("%(field)s: %(reason)s"), field=field_name, params={"field": field_name, "reason": exc}) from exc
    if amount < 0 and not allow_negative:
        raise Invalid(_("%(field)s cannot be negative"), field=field_name, params={"field": field_name})
    return amount


@transaction.atomic
def create_product(
    *, shop: Shop, sku: str, title: str, price: Any, cost: Any = None,
    role: str = ProductRole.EDGE, category: str = "",
) -> Product:
    sku, title = (sku or "").strip(), (title or "").strip()
    if not sku:
        raise Invalid(_("SKU is required"), field="sku")
    if not title:
        raise Invalid(_("title is required"), field="title")
    if role not in ProductRole.values:
        raise Invalid(_("role must be one of %(choices)s"), field="role", params={"choices": ", ".join(ProductRole.values)})
    if Product.objects.for_shop(shop).filter(sku=sku).exists():
        raise Conflict(_("a product with SKU '%(sku)s' already exists"), field="sku", params={"sku": sku})
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
            raise Invalid(_("%(line)s.quantity must be a whole number above 0"), field=f"{where}.quantity",
                          params={"line": where})
        product = products.get(line.sku.strip()) if line.sku else None
        title = (line.title or (product.title if product else "")).strip()
        if not title:
            raise Invalid(_("%(line)s needs a title or a known SKU"), field=f"{where}.title", params={"line": where})
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
        raise Invalid(_("external order ID is required"), field="external_id")
    if data.status not in OrderStatus.values:
        raise Invalid(_("status must be one of %(choices)s"), field="status", params={"choices": ", ".join(OrderStatus.values)})
    for name in ("ordered_at", "paid_at"):
        moment = getattr(data, name)
        if moment is not None and (not isinstance(moment, dt.datetime) or moment.tzinfo is None):
            raise Invalid(_("%(field)s must be a date-time with a time zone"), field=name, params={"field": name})
    if data.ordered_at is None:
        raise Invalid(_("ordered_at is required"), field="ordered_at")
    order = Order(
        shop=shop, store=store, customer=customer, external_id=external_id[:64], status=data.status,
        ordered_at=data.ordered_at, paid_at=data.paid_at, note=(data.note or "")[:300],
        shipping_amount=_money(data.shipping_amount, "shipping_amount"),
        discount_amount=_money(data.discount_amount, "discount_amount"),
        paid_amount=_money(data.paid_amount, "paid_amount"),
        refunded_amount=_money(data.refunded_amount, "refunded_amount"),
    )
    if order.refunded_amount > order.paid_amount:
        raise Invalid(_("refunded amount is larger than the paid amount"), field="refunded_amount")
    return order


# No savepoint of its own inside a caller's transaction (two round trips per order saved): any error
# here aborts the caller's transaction anyway, as both callers (the orders API, the checkout) want.
@transaction.atomic(savepoint=False)
def record_order(
    *, shop: Shop, store: Store, customer: Customer | None, data: OrderInput
) -> tuple[Order, bool]:
    """Record an order; a retry with the same store + external ID returns the first one (created=False)."""
    if store.shop_id != shop.pk:
        raise NotFound(_("no such store"), field="store")
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
    if order.status == OrderStatus.SHIPPED:  # recorded already packed: her figures above count this order
        order_packed(shop=shop, order=order)
    return order, True


@transaction.atomic
def mark_packed(*, shop: Shop, order_id: int) -> tuple[Order, dict[str, Any]]:
    """The warehouse packed a paid order: it moves to `shipped` and the packed listeners run, once per order.

    Returns the order and the listeners' proposals for the packer ({} when it was packed before).
    """
    order = Order.objects.select_for_update().filter(shop=shop, pk=order_id).first()
    if order is None:
        raise NotFound(_("no order %(id)s"), field="order", params={"id": order_id})
    if order.status == OrderStatus.SHIPPED:
        return order, {}
    if order.status != OrderStatus.PAID:
        raise Conflict(_("order %(number)s is %(status)s: only a paid order can be packed"), field="status",
                       code="not_packable", params={"number": order.external_id, "status": order.status})
    order.status = OrderStatus.SHIPPED
    order.save(update_fields=["status"])  # still a purchase: no figure changes
    return order, order_packed(shop=shop, order=order)


@dataclass(frozen=True)
class PurchaseFigures:
    """A customer's stored purchase figures (customers.services.PURCHASE_STAT_FIELDS)."""

    orders_count: int
    items_count: int
    purchase_days: int
    net_spend: Decimal
    first_purchase_at: dt.datetime | None
    last_purchase_at: dt.datetime | None


def with_latest_purchase(
    figures: PurchaseFigures, *, moment: dt.datetime, day: dt.date, items: int, net: Decimal,
) -> tuple[PurchaseFigures, bool] | None:
    """Her figures after a purchase later than all her others, and whether it is a repeat purchase; None
    when it is not such a purchase (then the full recomputation runs).

    The till's case (a new sale now) needs no re-read of her history: no other order's repeat flag can
    change, and each figure moves by this order alone.
    """
    if figures.last_purchase_at is not None and moment < figures.last_purchase_at:
        return None
    first_day = local_day(figures.first_purchase_at) if figures.first_purchase_at else None
    last_day = local_day(figures.last_purchase_at) if figures.last_purchase_at else None
    after = PurchaseFigures(
        orders_count=figures.orders_count + 1, items_count=figures.items_count + items,
        purchase_days=figures.purchase_days + (0 if last_day == day else 1), net_spend=figures.net_spend + net,
        first_purchase_at=figures.first_purchase_at or moment, last_purchase_at=moment,
    )
    return after, first_day is not None and day > first_day


def _add_latest_purchase(shop: Shop, customer_id: int, order: Order) -> bool:
    """Add a purchase later than all the customer's others to her stored figures (one row lock, one UPDATE
    per table); False when the order is not such a purchase (then the full recomputation runs)."""
    if not order.is_purchase:
        return False
    customer = (
        Customer.objects.including_merged(shop).select_for_update()
        .filter(pk=customer_id).only(*PURCHASE_STAT_FIELDS).first()
    )
    if customer is None:
        return False
    added = with_latest_purchase(
        PurchaseFigures(*(getattr(customer, name) for name in PURCHASE_STAT_FIELDS)),
        moment=order.paid_at or order.ordered_at, day=order.purchase_day, items=order.items_count,
        net=order.net_amount,
    )
    if added is None:
        return False
    figures, is_repeat = added
    if is_repeat:
        Order.objects.filter(pk=order.pk).update(is_repeat=True)
        order.is_repeat = True
    for name in PURCHASE_STAT_FIELDS:
        setattr(customer, name, getattr(figures, name))
    customer.save(update_fields=list(PURCHASE_STAT_FIELDS))
    return True


@dataclass(frozen=True)
class SaleLine:
    product_id: int
    sku: str
    title: str
    quantity: int
    unit_price_fen: int
    line_amount_fen: int


@dataclass(frozen=True)
class Sale:
    """A paid sale at the till, already priced and checked by the caller (amounts in fen)."""

    external_id: str
    at: dt.datetime
    goods_fen: int
    shipping_fen: int
    discount_fen: int
    paid_fen: int
    lines: Sequence[SaleLine]


@dataclass(frozen=True)
class RecordedSale:
    order_id: int
    is_repeat: bool
    figures: PurchaseFigures  # the customer's, with this sale


_FIGURE_COLUMNS = [Customer._meta.get_field(name).column for name in PURCHASE_STAT_FIELDS]
# Her figures as columns of customers_customer aliased `c`: a caller that locks her row in its own statement
# selects these and hands figures_from_row(...) to record_sale, saving the sale a round trip.
FIGURES_SELECT = ", ".join(f"c.{column}" for column in _FIGURE_COLUMNS)
_LOCK_FIGURES_SQL = f"SELECT {FIGURES_SELECT} FROM {Customer._meta.db_table} c WHERE c.shop_id = %s AND c.id = %s"
_STORE_FIGURES_SQL = "UPDATE {} SET {} WHERE shop_id = %s AND id = %s".format(
    Customer._meta.db_table, ", ".join(f"{column} = %s" for column in _FIGURE_COLUMNS))
_SALE_ORDER_FIELDS = (
    "shop", "store", "external_id", "customer", "status", "ordered_at", "paid_at", "goods_amount",
    "shipping_amount", "discount_amount", "paid_amount", "refunded_amount", "net_amount", "is_purchase",
    "purchase_day", "is_repeat", "items_count", "note", "state_digest",
)
_SALE_LINE_FIELDS = ("shop", "order", "product", "sku", "title", "quantity", "unit_price", "line_amount")


def record_sale(
    *, shop: Shop, store_id: int, customer_id: int, sale: Sale, figures: PurchaseFigures | None = None,
) -> RecordedSale | None:
    """record_order's lean path for the till (caller holds a transaction): a new paid sale of one of the
    shop's customers, in three round trips with no model instances — lock her figures (unless the caller
    passes them, read under her row lock), insert the order, then its lines and her new figures together.
    None (nothing written) when the store already has this order number.
    """
    figures = figures if figures is not None else _locked_figures(shop, customer_id)
    items = sum(line.quantity for line in sale.lines)
    net, is_purchase, day = derived_figures(
        status=OrderStatus.PAID, paid_amount=from_fen(sale.paid_fen), refunded_amount=ZERO,
        paid_at=sale.at, ordered_at=sale.at,
    )
    added = with_latest_purchase(figures, moment=sale.at, day=day, items=items, net=net) if is_purchase else None
    at, on = datetime_adapter()(sale.at), date_adapter()(day)
    order_ids = insert_few(Order, _SALE_ORDER_FIELDS, [(
        shop.pk, store_id, sale.external_id[:64], customer_id, OrderStatus.PAID, at, at, sale.goods_fen,
        sale.shipping_fen, sale.discount_fen, sale.paid_fen, 0, to_fen(net), is_purchase, on,
        added is not None and added[1], items, "", 0,
    )], skip_conflicts=True)
    if not order_ids:
        return None
    lines = [
        (shop.pk, order_ids[0], line.product_id, line.sku[:64], line.title[:200], line.quantity,
         line.unit_price_fen, line.line_amount_fen)
        for line in sale.lines
    ]
    if added is None:  # not her latest purchase (a back-dated sale): recount her history
        insert_few(OrderLine, _SALE_LINE_FIELDS, lines, returning=False)
        refresh_customer_stats(shop=shop, customer_ids=[customer_id])
        return RecordedSale(order_ids[0], Order.objects.get(pk=order_ids[0]).is_repeat,
                            _locked_figures(shop, customer_id))
    after, is_repeat = added
    adapt = datetime_adapter()
    with pipelined(), hot_cursor() as cursor:  # two writes, one round trip
        insert_few(OrderLine, _SALE_LINE_FIELDS, lines, returning=False)
        cursor.execute(_STORE_FIGURES_SQL, [
            after.orders_count, after.items_count, after.purchase_days, to_fen(after.net_spend),
            adapt(after.first_purchase_at), adapt(after.last_purchase_at), shop.pk, customer_id,
        ])
    return RecordedSale(order_ids[0], is_repeat, after)


def _locked_figures(shop: Shop, customer_id: int) -> PurchaseFigures:
    """Her stored figures, with her row locked until the transaction ends (merged records included: their
    figures are kept like anyone's)."""
    with hot_cursor() as cursor:
        cursor.execute(_LOCK_FIGURES_SQL + lock_rows("c"), [shop.pk, customer_id])
        row = cursor.fetchone()
    if row is None:
        raise NotFound("no such customer", field="customer")
    return figures_from_row(row)


def figures_from_row(row: Sequence[Any]) -> PurchaseFigures:
    """PurchaseFigures from the raw values of FIGURES_SELECT."""
    orders_count, items_count, purchase_days, net_spend, first_at, last_at = row
    read = datetime_reader()
    return PurchaseFigures(orders_count, items_count, purchase_days, from_fen(net_spend), read(first_at), read(last_at))


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

    Set-based: two UPDATE statements per 10,000 customers, whatever the number of orders. Then tells the
    purchases listeners (orders.extensions).
    """
    ids = list(customer_ids) if customer_ids is not None else None
    mark_repeat_purchases(shop=shop, customer_ids=ids)
    updated = update_purchase_stats(shop=shop, customer_ids=ids, figures=_purchase_figures(shop))
    purchases_changed(shop=shop)
    return updated
