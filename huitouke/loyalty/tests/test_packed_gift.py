"""Issue 6 part 4: when a repeat customer's order is packed, a gift she has never had is proposed and recorded.

Packing is an orders event (orders.extensions packed listeners): `POST /api/v1/orders/{id}/packed`, or an
order recorded already shipped. Loyalty listens and picks the gift.
"""

from __future__ import annotations

import pytest

from huitouke.loyalty.models import Gift, GiftGiven
from huitouke.loyalty.services import gifts
from huitouke.orders.services import mark_packed
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.concurrency import run_together
from huitouke.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def record(tenant, customer, number: str, day: int, status: str = "paid"):
    moment = f"2026-03-{day:02d}T10:00:00+08:00"
    return client_for(tenant.token).post("/api/v1/orders", {
        "store": tenant.store.slug, "external_id": number, "status": status, "ordered_at": moment,
        "paid_at": None if status == "pending" else moment, "paid_amount": "99.00", "customer_id": customer.pk,
        "lines": [{"title": "龙井", "quantity": 1, "unit_price": "99.00"}],
    }, content_type=JSON)


def pack(tenant, order_id: int):
    return client_for(tenant.token).post(f"/api/v1/orders/{order_id}/packed", content_type=JSON)


@pytest.fixture
def catalogue(tenant_a):
    return [gifts.create_gift(shop=tenant_a.shop, name=name, stock=3) for name in ("丝巾", "香囊")]


def test_packing_a_repeat_customers_order_records_a_gift_she_never_had(tenant_a, catalogue):
    customer = CustomerFactory(shop=tenant_a.shop)
    first = record(tenant_a, customer, "A-1", day=1).json()
    assert pack(tenant_a, first["id"]).json()["proposals"] == {}  # her first purchase: not a repeat customer
    proposals = []
    for number, day in (("A-2", 5), ("A-3", 9), ("A-4", 12)):
        packed = pack(tenant_a, record(tenant_a, customer, number, day=day).json()["id"])
        assert packed.status_code == 200 and packed.json()["status"] == "shipped"
        proposals.append(packed.json()["proposals"].get("parcel_gift"))
    assert {p["gift"] for p in proposals[:2]} == {"丝巾", "香囊"}
    assert proposals[2] is None  # she has had every gift in stock: nobody gets the same surprise twice
    assert GiftGiven.objects.filter(customer=customer, way="parcel").count() == 2
    assert sorted(Gift.objects.values_list("stock", flat=True)) == [2, 2]


def test_packing_an_order_again_proposes_nothing_new(tenant_a, catalogue):
    customer = CustomerFactory(shop=tenant_a.shop)
    record(tenant_a, customer, "B-1", day=1)
    second = record(tenant_a, customer, "B-2", day=3).json()
    assert "parcel_gift" in pack(tenant_a, second["id"]).json()["proposals"]
    again = pack(tenant_a, second["id"])
    assert again.status_code == 200 and again.json()["proposals"] == {}
    assert GiftGiven.objects.filter(customer=customer).count() == 1


def test_an_order_recorded_already_shipped_gets_its_gift_once(tenant_a, catalogue):
    customer = CustomerFactory(shop=tenant_a.shop)
    record(tenant_a, customer, "C-1", day=1)
    shipped = record(tenant_a, customer, "C-2", day=4, status="shipped")
    assert shipped.status_code == 201
    retried = record(tenant_a, customer, "C-2", day=4, status="shipped")
    assert retried.status_code == 200
    given = GiftGiven.objects.get(customer=customer)
    assert given.order_id == shipped.json()["id"] and given.way == "parcel"


def test_only_a_paid_order_of_this_shop_can_be_packed(tenant_a, tenant_b, catalogue):
    customer = CustomerFactory(shop=tenant_a.shop)
    pending = record(tenant_a, customer, "D-1", day=1, status="pending").json()
    assert_error(pack(tenant_a, pending["id"]), 409, "not_packable", "status")
    paid = record(tenant_a, customer, "D-2", day=2).json()
    assert_error(pack(tenant_b, paid["id"]), 404, "not_found", "order")
    assert not GiftGiven.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_packers_at_once_give_one_gift(tenant_a, catalogue):
    customer = CustomerFactory(shop=tenant_a.shop)
    record(tenant_a, customer, "E-1", day=1)
    order_id = record(tenant_a, customer, "E-2", day=6).json()["id"]
    results = run_together(6, lambda i: mark_packed(shop=tenant_a.shop, order_id=order_id))
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(1 for _, proposals in results if proposals) == 1
    assert GiftGiven.objects.filter(customer=customer).count() == 1
    assert sum(Gift.objects.values_list("stock", flat=True)) == 5
