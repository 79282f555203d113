"""The headline definitions (README "Definitions"), one rule per test."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huitouke.core.timeutil import SHANGHAI
from huitouke.orders.models import OrderStatus
from huitouke.orders.selectors import headline, revenue_by_month
from huitouke.testing.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


def _at(day: int, hour: int = 10, month: int = 3) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, tzinfo=SHANGHAI)


def test_pending_closed_and_fully_refunded_orders_are_not_purchases(tenant_a):
    shop, store = tenant_a.shop, tenant_a.store
    customer = CustomerFactory(shop=shop)
    for status in (OrderStatus.PENDING, OrderStatus.CLOSED):
        OrderFactory(shop=shop, store=store, customer=customer, status=status)
    OrderFactory(shop=shop, store=store, customer=customer, status=OrderStatus.REFUNDED,
                 refunded_amount=Decimal("100.00"))
    OrderFactory(shop=shop, store=store, customer=customer, status=OrderStatus.COMPLETED,
                 refunded_amount=Decimal("100.00"))  # completed but fully refunded: net 0
    figures = headline(shop=shop)
    assert (figures.buyers, figures.purchases, figures.net_revenue) == (0, 0, Decimal("0.00"))


def test_two_orders_on_the_same_shanghai_day_do_not_make_a_repeat_customer(tenant_a):
    shop, store = tenant_a.shop, tenant_a.store
    customer = CustomerFactory(shop=shop)
    OrderFactory(shop=shop, store=store, customer=customer, ordered_at=_at(1, 1))
    # 23:30 in Shanghai on the same day is 15:30 UTC: still day 1 locally.
    OrderFactory(shop=shop, store=store, customer=customer, ordered_at=_at(1, 23))
    figures = headline(shop=shop)
    assert figures.buyers == 1 and figures.repeat_customers == 0 and figures.repeat_rate == 0.0
    assert figures.repeat_revenue == Decimal("0.00")


def test_repeat_revenue_counts_purchases_after_the_first_purchase_day(tenant_a):
    shop, store = tenant_a.shop, tenant_a.store
    loyal, once = CustomerFactory(shop=shop), CustomerFactory(shop=shop)
    OrderFactory(shop=shop, store=store, customer=loyal, ordered_at=_at(1), paid_amount=Decimal("100.00"))
    OrderFactory(shop=shop, store=store, customer=loyal, ordered_at=_at(1, 15), paid_amount=Decimal("50.00"))
    OrderFactory(shop=shop, store=store, customer=loyal, ordered_at=_at(8), paid_amount=Decimal("80.00"),
                 refunded_amount=Decimal("30.00"))
    OrderFactory(shop=shop, store=store, customer=once, ordered_at=_at(2), paid_amount=Decimal("70.00"))
    figures = headline(shop=shop)
    assert figures.buyers == 2 and figures.repeat_customers == 1 and figures.repeat_rate == 0.5
    assert figures.purchases == 4
    assert figures.net_revenue == Decimal("270.00")
    assert figures.repeat_revenue == Decimal("50.00")
    assert figures.repeat_revenue_share == round(50 / 270, 4)


def test_as_of_ignores_later_purchases_and_registrations(tenant_a):
    shop, store = tenant_a.shop, tenant_a.store
    customer = CustomerFactory(shop=shop, registered_at=_at(1))
    CustomerFactory(shop=shop, registered_at=_at(20))
    OrderFactory(shop=shop, store=store, customer=customer, ordered_at=_at(1))
    OrderFactory(shop=shop, store=store, customer=customer, ordered_at=_at(10))
    figures = headline(shop=shop, as_of=dt.date(2025, 3, 5))
    assert (figures.customers, figures.purchases, figures.repeat_customers) == (1, 1, 0)


def test_headline_json_prints_money_as_two_decimal_strings(tenant_a):
    OrderFactory(shop=tenant_a.shop, store=tenant_a.store, customer=CustomerFactory(shop=tenant_a.shop),
                 paid_amount=Decimal("99.9"))
    data = headline(shop=tenant_a.shop).as_json()
    assert data["net_revenue"] == "99.90" and data["repeat_revenue"] == "0.00"
    assert set(data) >= {"customers", "buyers", "repeat_customers", "repeat_rate", "purchases",
                         "net_revenue", "repeat_revenue", "repeat_revenue_share"}


def test_other_shops_orders_never_count(tenant_a, tenant_b):
    OrderFactory(shop=tenant_b.shop, store=tenant_b.store, customer=CustomerFactory(shop=tenant_b.shop))
    assert headline(shop=tenant_a.shop).purchases == 0


def test_revenue_by_month_splits_first_day_from_returning(tenant_a):
    shop, store = tenant_a.shop, tenant_a.store
    customer = CustomerFactory(shop=shop)
    OrderFactory(shop=shop, store=store, customer=customer, ordered_at=_at(30, month=3), paid_amount=Decimal("10"))
    OrderFactory(shop=shop, store=store, customer=customer, ordered_at=_at(2, month=4), paid_amount=Decimal("20"))
    months = revenue_by_month(shop=shop, since=dt.date(2025, 1, 1))
    assert [(m.month, m.new_revenue, m.returning_revenue) for m in months] == [
        ("2025-03", Decimal("10.00"), Decimal("0.00")),
        ("2025-04", Decimal("0.00"), Decimal("20.00")),
    ]


def test_refunding_the_first_purchase_moves_the_first_day_and_the_repeat_flags(tenant_a):
    from huitouke.orders.services import refresh_customer_stats

    shop, store = tenant_a.shop, tenant_a.store
    customer = CustomerFactory(shop=shop)
    first = OrderFactory(shop=shop, store=store, customer=customer, ordered_at=_at(1))
    second = OrderFactory(shop=shop, store=store, customer=customer, ordered_at=_at(5))
    assert headline(shop=shop).repeat_customers == 1
    first.refunded_amount, first.status = first.paid_amount, OrderStatus.REFUNDED
    first.save()
    refresh_customer_stats(shop=shop, customer_ids=[customer.pk])
    second.refresh_from_db()
    assert second.is_repeat is False
    figures = headline(shop=shop)
    assert (figures.buyers, figures.repeat_customers, figures.repeat_revenue) == (1, 0, Decimal("0.00"))


def test_guest_orders_count_as_purchases_but_not_as_buyers(tenant_a):
    OrderFactory(shop=tenant_a.shop, store=tenant_a.store, customer=None, paid_amount=Decimal("40.00"))
    figures = headline(shop=tenant_a.shop)
    assert (figures.buyers, figures.purchases, figures.net_revenue) == (0, 1, Decimal("40.00"))
