"""A new order's quick update of the customer's figures equals the full recomputation, in any order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huitouke.core.timeutil import SHANGHAI
from huitouke.customers.models import Customer
from huitouke.orders.models import Order
from huitouke.orders.services import PURCHASE_STAT_FIELDS, OrderInput, record_order, refresh_customer_stats
from huitouke.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db
START = dt.datetime(2025, 1, 1, 9, 0, tzinfo=SHANGHAI)

orders = st.lists(
    st.tuples(
        st.integers(0, 60 * 24 * 20),  # minutes after START: several orders can share a day
        st.sampled_from(["paid", "completed", "pending", "closed"]),
        st.integers(1, 50_000),  # fen
    ),
    min_size=1, max_size=12,
)


def figures(customer_id: int) -> tuple:
    customer = Customer.objects.get(pk=customer_id)
    flags = tuple(Order.objects.filter(customer_id=customer_id).order_by("id").values_list("is_repeat", flat=True))
    return tuple(getattr(customer, name) for name in PURCHASE_STAT_FIELDS), flags


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=orders)
def test_recording_orders_one_by_one_matches_a_full_recomputation(tenant_a, history):
    customer = CustomerFactory(shop=tenant_a.shop)
    for index, (minutes, status, fen) in enumerate(history):
        moment = START + dt.timedelta(minutes=minutes)
        record_order(shop=tenant_a.shop, store=tenant_a.store, customer=customer, data=OrderInput(
            external_id=f"{customer.pk}-{index}", status=status, ordered_at=moment,
            paid_at=None if status == "pending" else moment, paid_amount=Decimal(fen) / 100,
        ))
        quick = figures(customer.pk)
        refresh_customer_stats(shop=tenant_a.shop, customer_ids=[customer.pk])
        assert quick == figures(customer.pk)
