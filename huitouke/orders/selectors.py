"""Reads for products and orders, and the shop's headline figures (one definition, used everywhere)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Prefetch, QuerySet

from huitouke.core.errors import NotFound
from huitouke.core.models import Shop
from huitouke.core.money import ZERO, fmt, from_fen
from huitouke.core.timeutil import day_start
from huitouke.customers.extensions import TimelineEntry
from huitouke.customers.models import Customer
from huitouke.orders.models import Order, OrderLine, Product


def order_by_id(*, shop: Shop, order_id: int) -> Order:
    order = (
        Order.objects.for_shop(shop).select_related("store", "customer")
        .prefetch_related("lines").filter(pk=order_id).first()
    )
    if order is None:
        raise NotFound(f"no order {order_id}", field="order")
    return order


def list_orders(
    *, shop: Shop, customer_id: int | None = None, store_id: int | None = None, status: str | None = None
) -> QuerySet[Order]:
    qs = Order.objects.for_shop(shop).select_related("store")
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if store_id is not None:
        qs = qs.filter(store_id=store_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-ordered_at", "-id")


def product_by_id(*, shop: Shop, product_id: int) -> Product:
    product = Product.objects.for_shop(shop).filter(pk=product_id).first()
    if product is None:
        raise NotFound(f"no product {product_id}", field="product")
    return product


def list_products(*, shop: Shop, query: str = "", role: str | None = None) -> QuerySet[Product]:
    qs = Product.objects.for_shop(shop)
    if query:
        qs = qs.filter(title__icontains=query) | qs.filter(sku__icontains=query)
    if role:
        qs = qs.filter(role=role)
    return qs.order_by("sku")


def customer_orders(*, shop: Shop, customer: Customer) -> QuerySet[Order]:
    lines = Prefetch("lines", queryset=OrderLine.objects.order_by("id"))
    return (
        Order.objects.for_shop(shop).filter(customer=customer)
        .select_related("store").prefetch_related(lines).order_by("-ordered_at", "-id")
    )


def order_timeline_entries(*, shop: Shop, customer: Customer) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            at=order.paid_at or order.ordered_at, kind="order", title=order.external_id,
            amount=order.net_amount, detail={"order": order, "lines": list(order.lines.all())},
            template="orders/_timeline_order.html",
        )
        for order in customer_orders(shop=shop, customer=customer)
    ]


def orders_export_data(*, shop: Shop, customer: Customer) -> list[dict[str, Any]]:
    return [
        {
            "store": order.store.slug, "external_id": order.external_id, "status": order.status,
            "ordered_at": order.ordered_at.isoformat(), "paid_at": order.paid_at.isoformat() if order.paid_at else None,
            "paid_amount": fmt(order.paid_amount), "refunded_amount": fmt(order.refunded_amount),
            "lines": [
                {"sku": line.sku, "title": line.title, "quantity": line.quantity, "line_amount": fmt(line.line_amount)}
                for line in order.lines.all()
            ],
        }
        for order in customer_orders(shop=shop, customer=customer)
    ]


@dataclass(frozen=True)
class Headline:
    """The shop's headline figures; definitions in the README ("Definitions")."""

    customers: int
    buyers: int
    repeat_customers: int
    repeat_rate: float
    purchases: int
    net_revenue: Decimal
    repeat_revenue: Decimal
    repeat_revenue_share: float

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("net_revenue", "repeat_revenue"):
            data[key] = fmt(data[key])
        return data


# One pass over the purchases (covered by the order_purchases index): per-customer first day and
# number of purchase days, then the totals. Plain SQL that SQLite and PostgreSQL both run.
_HEADLINE_SQL = """
WITH p AS (
    SELECT customer_id, purchase_day, net_amount FROM orders_order
    WHERE shop_id = %s AND is_purchase = %s AND purchase_day <= %s
),
f AS (
    SELECT customer_id, MIN(purchase_day) AS first_day, COUNT(DISTINCT purchase_day) AS days
    FROM p WHERE customer_id IS NOT NULL GROUP BY customer_id
)
SELECT
    (SELECT COUNT(*) FROM f),
    (SELECT COUNT(*) FROM f WHERE days >= 2),
    (SELECT COUNT(*) FROM p),
    (SELECT COALESCE(SUM(net_amount), 0) FROM p),
    (SELECT COALESCE(SUM(p.net_amount), 0) FROM p JOIN f ON p.customer_id = f.customer_id
        WHERE p.purchase_day > f.first_day)
"""


def headline(*, shop: Shop, as_of: dt.date | None = None) -> Headline:
    """Figures as of the end of `as_of` (Shanghai day); today's when None."""
    as_of = as_of or dt.date.max
    with connection.cursor() as cursor:
        cursor.execute(_HEADLINE_SQL, [shop.pk, True, as_of])
        buyers, repeaters, purchases, revenue_fen, repeat_fen = cursor.fetchone()
    registered = Customer.objects.for_shop(shop)
    if as_of != dt.date.max:
        registered = registered.filter(registered_at__lt=day_start(as_of + dt.timedelta(days=1)))
    revenue, repeat_revenue = from_fen(revenue_fen), from_fen(repeat_fen)
    return Headline(
        customers=registered.count(), buyers=buyers, repeat_customers=repeaters,
        repeat_rate=round(repeaters / buyers, 4) if buyers else 0.0,
        purchases=purchases, net_revenue=revenue, repeat_revenue=repeat_revenue,
        repeat_revenue_share=round(float(repeat_revenue / revenue), 4) if revenue > ZERO else 0.0,
    )


@dataclass(frozen=True)
class MonthRevenue:
    month: str  # YYYY-MM
    new_revenue: Decimal  # purchases on the customer's first purchase day
    returning_revenue: Decimal  # purchases on later days
    new_buyers: int
    returning_buyers: int


def _month_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"to_char({column}, 'YYYY-MM')"
    return f"strftime('%%Y-%%m', {column})"


def revenue_by_month(*, shop: Shop, since: dt.date, until: dt.date | None = None) -> list[MonthRevenue]:
    """Net revenue per month split into first-day (new) and later (returning) purchases."""
    until = until or dt.date.max
    month = _month_sql("p.purchase_day")
    sql = f"""
    WITH f AS (
        SELECT customer_id, MIN(purchase_day) AS first_day FROM orders_order
        WHERE shop_id = %s AND is_purchase = %s AND customer_id IS NOT NULL GROUP BY customer_id
    )
    SELECT {month} AS month,
        SUM(CASE WHEN f.first_day IS NULL OR p.purchase_day = f.first_day THEN p.net_amount ELSE 0 END),
        SUM(CASE WHEN p.purchase_day > f.first_day THEN p.net_amount ELSE 0 END),
        COUNT(DISTINCT CASE WHEN p.purchase_day = f.first_day THEN p.customer_id END),
        COUNT(DISTINCT CASE WHEN p.purchase_day > f.first_day THEN p.customer_id END)
    FROM orders_order p LEFT JOIN f ON p.customer_id = f.customer_id
    WHERE p.shop_id = %s AND p.is_purchase = %s AND p.purchase_day >= %s AND p.purchase_day <= %s
    GROUP BY 1 ORDER BY 1
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [shop.pk, True, shop.pk, True, since, until])
        rows = cursor.fetchall()
    return [
        MonthRevenue(month=m, new_revenue=from_fen(n), returning_revenue=from_fen(r), new_buyers=nb, returning_buyers=rb)
        for m, n, r, nb, rb in rows
    ]
