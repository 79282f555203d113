"""Reads for products and orders, and the shop's headline figures (one definition, used everywhere)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import NotFound
from huitouke.core.models import Shop
from huitouke.core.money import ZERO, MoneyField, fmt
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
        raise NotFound(_("no order %(id)s"), field="order", params={"id": order_id})
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
        raise NotFound(_("no product %(id)s"), field="product", params={"id": product_id})
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


def _purchases(shop: Shop, since: dt.date | None = None, until: dt.date | None = None) -> QuerySet[Order]:
    purchases = Order.objects.for_shop(shop).filter(is_purchase=True)
    if since is not None:
        purchases = purchases.filter(purchase_day__gte=since)
    if until is not None:
        purchases = purchases.filter(purchase_day__lte=until)
    return purchases


def headline(*, shop: Shop, as_of: dt.date | None = None) -> Headline:
    """Figures as of the end of `as_of` (Shanghai day); today's when None.

    One pass over the purchases (covered by an index): a customer with a repeat purchase up to
    `as_of` has purchases on 2+ days up to `as_of`, so the stored flag serves any cut-off.
    """
    repeat = Q(is_repeat=True)
    figures = _purchases(shop, until=as_of).aggregate(
        buyers=Count("customer", distinct=True),
        repeat_customers=Count("customer", filter=repeat, distinct=True),
        purchases=Count("id"),
        net_revenue=Coalesce(Sum("net_amount"), 0, output_field=MoneyField()),
        repeat_revenue=Coalesce(Sum("net_amount", filter=repeat), 0, output_field=MoneyField()),
    )
    registered = Customer.objects.for_shop(shop)
    if as_of is not None:
        registered = registered.filter(registered_at__lt=day_start(as_of + dt.timedelta(days=1)))
    buyers, revenue = figures["buyers"], figures["net_revenue"]
    return Headline(
        customers=registered.count(), buyers=buyers, repeat_customers=figures["repeat_customers"],
        repeat_rate=round(figures["repeat_customers"] / buyers, 4) if buyers else 0.0,
        purchases=figures["purchases"], net_revenue=revenue, repeat_revenue=figures["repeat_revenue"],
        repeat_revenue_share=round(float(figures["repeat_revenue"] / revenue), 4) if revenue > ZERO else 0.0,
    )


@dataclass(frozen=True)
class MonthRevenue:
    month: str  # YYYY-MM
    new_revenue: Decimal  # purchases on the customer's first purchase day (and guests' purchases)
    returning_revenue: Decimal  # purchases on later days


def revenue_by_month(*, shop: Shop, since: dt.date, until: dt.date | None = None) -> list[MonthRevenue]:
    """Net revenue per month split into first-day (new) and later (returning) purchases.

    Grouped by day in the database (an index range, at most a few hundred rows), by month here:
    portable, and no per-row date function in SQLite.
    """
    rows = (
        _purchases(shop, since=since, until=until).values("purchase_day", "is_repeat")
        .annotate(revenue=Sum("net_amount")).order_by()
    )
    months: dict[str, dict[bool, Decimal]] = {}
    for row in rows:
        bucket = months.setdefault(row["purchase_day"].strftime("%Y-%m"), {False: ZERO, True: ZERO})
        bucket[row["is_repeat"]] += row["revenue"]
    return [
        MonthRevenue(month=month, new_revenue=split[False], returning_revenue=split[True])
        for month, split in sorted(months.items())
    ]
