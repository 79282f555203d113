"""Lift: what a segment's customers buy compared with everybody else, on a shop worked out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huitouke.analytics.selectors import WIN_BACK_GROUP, segment_lift
from huitouke.core.errors import NotFound
from huitouke.core.timeutil import SHANGHAI
from huitouke.orders.models import OrderStatus, ProductRole
from huitouke.testing.api import assert_error, client_for
from huitouke.testing.factories import (
    CustomerFactory,
    CustomerScoreFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db


def bought(tenant, customer, *items: tuple, **order) -> None:
    """One order with a line per (product, quantity, line amount)."""
    placed = OrderFactory(shop=tenant.shop, store=tenant.store, customer=customer,
                          ordered_at=dt.datetime(2025, 6, 1, 10, tzinfo=SHANGHAI), **order)
    for product, quantity, amount in items:
        OrderLineFactory(order=placed, product=product, quantity=quantity, line_amount=Decimal(amount))


@pytest.fixture
def shop(tenant_a, tenant_b):
    return make_lift_shop(tenant_a, tenant_b)


def make_lift_shop(tenant_a, tenant_b) -> dict:
    """Champions A, B; others C (lost) and D (never scored). Dresses are profit products, tees traffic.

    group:  dresses 3 items / ¥300 (A, B), tees 1 / ¥50 (A)      → 4 items, ¥350
    others: dresses 1 item / ¥100 (C),   tees 5 / ¥250 (C, D)    → 6 items, ¥350
    """
    dress = ProductFactory(shop=tenant_a.shop, category="连衣裙", role=ProductRole.PROFIT)
    tee = ProductFactory(shop=tenant_a.shop, category="T恤", role=ProductRole.TRAFFIC)
    a, b, c, d = (CustomerFactory(shop=tenant_a.shop) for _ in range(4))
    for customer, segment in ((a, "champions"), (b, "champions"), (c, "lost")):
        CustomerScoreFactory(customer=customer, segment=segment, m_score=5 if customer == a else 3, p_alive=0.1)
    bought(tenant_a, a, (dress, 2, "200.00"), (tee, 1, "50.00"))
    bought(tenant_a, b, (dress, 1, "100.00"))
    bought(tenant_a, b, (tee, 10, "500.00"), status=OrderStatus.CLOSED)  # no purchase
    bought(tenant_a, c, (dress, 1, "100.00"), (tee, 3, "150.00"))
    bought(tenant_a, d, (tee, 2, "100.00"))
    other_shop = ProductFactory(shop=tenant_b.shop, category="连衣裙", role=ProductRole.PROFIT)
    bought(tenant_b, CustomerFactory(shop=tenant_b.shop), (other_shop, 9, "900.00"))
    return {"a": a}


def test_lift_of_the_champions_matches_the_hand_worked_shop(tenant_a, shop):
    table = segment_lift(shop=tenant_a.shop, segment="champions")
    assert (table.customers, table.other_customers) == (2, 2)
    dress, tee = table.categories  # the group's biggest category first
    assert dress.key == "连衣裙" and tee.key == "T恤"
    assert (dress.group.items, dress.group.revenue, dress.group.customers) == (3, Decimal("300.00"), 2)
    assert (dress.others.items, dress.others.revenue, dress.others.customers) == (1, Decimal("100.00"), 1)
    assert (dress.group.item_share, dress.others.item_share) == (0.75, 0.1667)
    assert (dress.group.revenue_share, dress.others.revenue_share) == (0.8571, 0.2857)
    assert (dress.item_lift, dress.revenue_lift) == (4.5, 3.0)  # (3/4)/(1/6), (300/350)/(100/350)
    assert (tee.item_lift, tee.revenue_lift) == (0.3, 0.2)  # (1/4)/(5/6), (50/350)/(250/350)
    assert (tee.others.items, tee.others.customers) == (5, 2)
    assert [row.key for row in table.roles] == ["traffic", "profit"]  # in the roles' order
    assert (table.roles[1].item_lift, table.roles[0].revenue_lift) == (4.5, 0.2)


def test_the_win_back_list_is_a_group_too(tenant_a, shop):
    table = segment_lift(shop=tenant_a.shop, segment=WIN_BACK_GROUP)  # only A: M score 5, P(alive) 0.1
    assert (table.customers, table.other_customers) == (1, 3)
    dress = next(row for row in table.categories if row.key == "连衣裙")
    assert (dress.group.items, dress.others.items, dress.item_lift) == (2, 2, 2.333)  # (2/3)/(2/7)


def test_an_empty_segment_has_no_lift(tenant_a, shop):
    table = segment_lift(shop=tenant_a.shop, segment="new")
    assert table.customers == 0 and table.other_customers == 4
    assert all(row.group.items == 0 and row.item_lift is None for row in table.categories)


def test_an_unknown_segment_is_not_found(tenant_a):
    with pytest.raises(NotFound):
        segment_lift(shop=tenant_a.shop, segment="vip")


def test_lift_api_returns_the_table(tenant_a, shop):
    body = client_for(tenant_a.token).get("/api/v1/analytics/segments/champions/lift?categories=1").json()
    assert (body["segment"], body["customers"], body["other_customers"]) == ("champions", 2, 2)
    [dress] = body["categories"]
    assert (dress["key"], dress["item_lift"], dress["group"]["revenue"]) == ("连衣裙", 4.5, "300.00")
    assert [row["key"] for row in body["roles"]] == ["traffic", "profit"]


def test_lift_api_404_for_an_unknown_segment_and_422_for_a_bad_limit(tenant_a):
    client = client_for(tenant_a.token)
    assert_error(client.get("/api/v1/analytics/segments/vip/lift"), 404, "not_found", "segment")
    assert_error(client.get("/api/v1/analytics/segments/champions/lift?categories=0"), 422, "invalid", "categories")


def test_lift_api_shows_only_the_callers_shop(tenant_b, shop):
    body = client_for(tenant_b.token).get("/api/v1/analytics/segments/champions/lift").json()
    assert (body["customers"], body["other_customers"]) == (0, 1)
    [dress] = body["categories"]
    assert (dress["others"]["items"], dress["group"]["items"]) == (9, 0)
