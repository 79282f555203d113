"""The orders and products API: idempotent order recording, buyer matching, money, tenancy, errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huitouke.core.timeutil import SHANGHAI
from huitouke.customers import services as customer_services
from huitouke.customers.models import Customer
from huitouke.orders.models import Order, OrderLine, OrderStatus, Product, ProductRole
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import OrderFactory, OrderLineFactory, ProductFactory

pytestmark = pytest.mark.django_db




def order_payload(tenant, **overrides) -> dict:
    payload = {
        "store": tenant.store.slug,
        "external_id": "T1001",
        "status": "completed",
        "ordered_at": "2025-03-01T10:00:00+08:00",
        "paid_at": "2025-03-01T10:05:00+08:00",
        "paid_amount": "188.50",
        "shipping_amount": 0,
        "lines": [
            {"sku": "A1", "title": "真丝围巾", "quantity": 2, "unit_price": "59.25"},
            {"title": "礼盒", "quantity": 1, "unit_price": 70},
        ],
    }
    return {**payload, **overrides}


def register(tenant, name: str = "王小芳", phone: str = "13812345678") -> Customer:
    return customer_services.register_customer(shop=tenant.shop, name=name, phone=phone)


def post_order(tenant, **overrides):
    return client_for(tenant.token).post("/api/v1/orders", order_payload(tenant, **overrides), content_type=JSON)


# --- create -----------------------------------------------------------------------------------


def test_create_order_returns_201_with_lines_and_money_as_strings(tenant_a):
    customer = register(tenant_a)
    response = post_order(tenant_a, customer_id=customer.pk)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created"] is True
    assert (body["store"], body["external_id"], body["customer_id"]) == (tenant_a.store.slug, "T1001", customer.pk)
    assert (body["goods_amount"], body["paid_amount"], body["net_amount"]) == ("188.50", "188.50", "188.50")
    assert body["shipping_amount"] == "0.00"
    assert body["is_purchase"] is True and body["purchase_day"] == "2025-03-01" and body["items_count"] == 3
    assert [(line["title"], line["quantity"], line["unit_price"], line["line_amount"]) for line in body["lines"]] == [
        ("真丝围巾", 2, "59.25", "118.50"), ("礼盒", 1, "70.00", "70.00"),
    ]
    order = Order.objects.get(pk=body["id"], shop=tenant_a.shop)
    assert order.paid_amount == Decimal("188.50")


def test_create_order_twice_returns_200_same_order_and_no_second_row(tenant_a):
    first = post_order(tenant_a)
    again = post_order(tenant_a, paid_amount="999.00")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["created"] is False
    assert again.json()["paid_amount"] == "188.50"
    assert Order.objects.filter(shop=tenant_a.shop).count() == 1
    assert OrderLine.objects.filter(shop=tenant_a.shop).count() == 2


def test_same_external_id_in_another_store_is_another_order(tenant_a):
    from huitouke.testing.factories import StoreFactory

    other_store = StoreFactory(shop=tenant_a.shop, slug="offline-1")
    assert post_order(tenant_a).status_code == 201
    assert post_order(tenant_a, store=other_store.slug).status_code == 201
    assert Order.objects.filter(shop=tenant_a.shop).count() == 2


def test_customer_stats_update_after_order_create(tenant_a):
    customer = register(tenant_a)
    client = client_for(tenant_a.token)
    post_order(tenant_a, customer_id=customer.pk)
    post_order(tenant_a, customer_id=customer.pk, external_id="T1002", paid_amount="100",
               ordered_at="2025-04-02T09:00:00+08:00", paid_at=None, lines=[])
    stats = client.get(f"/api/v1/customers/{customer.pk}").json()["stats"]
    assert stats["orders_count"] == 2
    assert stats["items_count"] == 3
    assert stats["purchase_days"] == 2
    assert stats["net_spend"] == "288.50"
    assert stats["average_order_value"] == "144.25"
    assert stats["first_purchase_at"].startswith("2025-03-01T02:05:00")
    assert stats["last_purchase_at"].startswith("2025-04-02T01:00:00")


def test_order_matches_existing_customer_by_phone_in_any_format(tenant_a):
    customer = register(tenant_a, phone="13812345678")
    response = post_order(tenant_a, phone="+86 138-1234-5678")
    assert response.status_code == 201, response.content
    assert response.json()["customer_id"] == customer.pk
    assert Customer.objects.filter(shop=tenant_a.shop).count() == 1


def test_order_with_unknown_phone_and_name_registers_the_customer(tenant_a):
    response = post_order(tenant_a, phone="13987654321", customer_name="李雷")
    assert response.status_code == 201, response.content
    customer = Customer.objects.get(shop=tenant_a.shop)
    assert (customer.name, response.json()["customer_id"]) == ("李雷", customer.pk)
    assert customer.registered_store == tenant_a.store and customer.orders_count == 1


def test_order_with_unknown_phone_and_no_name_is_422_and_records_nothing(tenant_a):
    assert_error(post_order(tenant_a, phone="13987654321"), 422, "invalid", "customer_name")
    assert not Order.objects.exists() and not Customer.objects.exists()


def test_retried_order_with_unknown_phone_does_not_register_a_customer(tenant_a):
    assert post_order(tenant_a).status_code == 201
    again = post_order(tenant_a, phone="13987654321", customer_name="李雷")
    assert again.status_code == 200 and again.json()["created"] is False
    assert not Customer.objects.exists()


def test_failed_order_does_not_leave_a_registered_customer(tenant_a):
    response = post_order(tenant_a, phone="13987654321", customer_name="李雷", paid_amount="-1")
    assert_error(response, 422, "invalid", "paid_amount")
    assert not Customer.objects.exists()


def test_order_with_invalid_or_masked_phone_is_422(tenant_a):
    assert_error(post_order(tenant_a, phone="12345"), 422, "invalid", "phone")
    assert_error(post_order(tenant_a, phone="138****5678", customer_name="x"), 422, "invalid", "phone")
    assert not Order.objects.exists()


def test_order_with_both_customer_id_and_phone_is_422(tenant_a):
    customer = register(tenant_a)
    assert_error(post_order(tenant_a, customer_id=customer.pk, phone="13812345678"), 422, "invalid", "phone")


def test_order_line_with_known_sku_takes_product_title(tenant_a):
    product = ProductFactory(shop=tenant_a.shop, sku="SILK-1", title="真丝连衣裙")
    response = post_order(tenant_a, lines=[{"sku": "SILK-1", "quantity": 1, "unit_price": "188.50"}])
    assert response.status_code == 201, response.content
    [line] = response.json()["lines"]
    assert (line["title"], line["product_id"]) == ("真丝连衣裙", product.pk)


def test_amounts_accept_shop_formats(tenant_a):
    response = post_order(tenant_a, paid_amount="¥1,299.00", lines=[])
    assert response.status_code == 201, response.content
    assert response.json()["paid_amount"] == "1299.00"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"paid_amount": "-5"}, "paid_amount"),
        ({"shipping_amount": -1}, "shipping_amount"),
        ({"paid_amount": "abc"}, "paid_amount"),
        ({"paid_amount": True}, "paid_amount"),
        ({"paid_amount": [1]}, "paid_amount"),
        ({"paid_amount": "1e99"}, "paid_amount"),
        ({"paid_amount": 10**30}, "paid_amount"),
        ({"refunded_amount": "500"}, "refunded_amount"),
        ({"lines": [{"title": "x", "quantity": 1, "unit_price": "-3"}]}, "lines[0].unit_price"),
        ({"lines": [{"title": "x", "quantity": 0, "unit_price": "3"}]}, "lines[0].quantity"),
        ({"lines": [{"title": "x", "quantity": "two"}]}, "lines[0].quantity"),
        ({"lines": [{"sku": "NOPE", "quantity": 1}]}, "lines[0].title"),
        ({"lines": [{"title": "x", "colour": "red"}]}, "lines[0].colour"),
        ({"status": "lost"}, "status"),
        ({"ordered_at": "yesterday"}, "ordered_at"),
        ({"ordered_at": "2025-03-01T10:00:00"}, "ordered_at"),
        ({"ordered_at": None}, "ordered_at"),
        ({"external_id": ""}, "external_id"),
        ({"external_id": 12345}, "external_id"),
        ({"customer_id": "abc"}, "customer_id"),
        ({"customer_id": 0}, "customer_id"),
        ({"coupon": "X"}, "coupon"),
        ({"note": "bad\x00byte"}, None),
    ],
)
def test_bad_order_input_is_422_naming_the_field(tenant_a, overrides, field):
    assert_error(post_order(tenant_a, **overrides), 422, "invalid", field)
    assert not Order.objects.exists()


def test_order_for_unknown_store_slug_is_404_on_store(tenant_a):
    assert_error(post_order(tenant_a, store="no-such-store"), 404, "not_found", "store")


def test_order_for_unknown_customer_id_is_404_on_customer(tenant_a):
    assert_error(post_order(tenant_a, customer_id=999999), 404, "not_found", "customer")


# --- read -------------------------------------------------------------------------------------


def test_get_order_has_lines_in_order(tenant_a):
    order = OrderFactory(shop=tenant_a.shop, store=tenant_a.store)
    OrderLineFactory(order=order, title="第一件")
    OrderLineFactory(order=order, title="第二件")
    body = client_for(tenant_a.token).get(f"/api/v1/orders/{order.pk}").json()
    assert [line["title"] for line in body["lines"]] == ["第一件", "第二件"]
    assert body["paid_amount"] == "100.00"


def test_list_orders_newest_first_with_filters(tenant_a):
    from huitouke.testing.factories import StoreFactory

    customer = register(tenant_a)
    offline = StoreFactory(shop=tenant_a.shop, slug="offline-1")
    day = dt.datetime(2025, 3, 1, 10, tzinfo=SHANGHAI)
    old = OrderFactory(shop=tenant_a.shop, store=tenant_a.store, customer=customer, ordered_at=day)
    new = OrderFactory(shop=tenant_a.shop, store=tenant_a.store, ordered_at=day + dt.timedelta(days=1),
                       status=OrderStatus.REFUNDED)
    elsewhere = OrderFactory(shop=tenant_a.shop, store=offline, ordered_at=day + dt.timedelta(days=2))
    client = client_for(tenant_a.token)

    def ids(**params) -> list[int]:
        return [item["id"] for item in client.get("/api/v1/orders", params).json()["items"]]

    assert ids() == [elsewhere.pk, new.pk, old.pk]
    assert ids(customer_id=customer.pk) == [old.pk]
    assert ids(store=offline.slug) == [elsewhere.pk]
    assert ids(status="refunded") == [new.pk]
    page = client.get("/api/v1/orders", {"page_size": 2, "page": 2}).json()
    assert ([item["id"] for item in page["items"]], page["count"], page["next_page"]) == ([old.pk], 3, None)


def test_list_orders_bad_filters(tenant_a):
    client = client_for(tenant_a.token)
    assert_error(client.get("/api/v1/orders", {"status": "lost"}), 422, "invalid", "status")
    assert_error(client.get("/api/v1/orders", {"customer_id": "x"}), 422, "invalid", "customer_id")
    assert_error(client.get("/api/v1/orders", {"store": "nope"}), 404, "not_found", "store")


# --- tenancy ----------------------------------------------------------------------------------


def test_other_shops_order_is_404_not_403(tenant_a, tenant_b):
    order = OrderFactory(shop=tenant_b.shop, store=tenant_b.store)
    assert_error(client_for(tenant_a.token).get(f"/api/v1/orders/{order.pk}"), 404, "not_found", "order")


def test_other_shops_orders_are_not_listed(tenant_a, tenant_b):
    OrderFactory(shop=tenant_b.shop, store=tenant_b.store)
    assert client_for(tenant_a.token).get("/api/v1/orders").json()["count"] == 0


def test_cannot_create_order_in_other_shops_store(tenant_a, tenant_b):
    assert_error(post_order(tenant_a, store=tenant_b.store.slug), 404, "not_found", "store")
    assert not Order.objects.exists()


def test_cannot_create_order_for_other_shops_customer(tenant_a, tenant_b):
    b_customer = register(tenant_b)
    assert_error(post_order(tenant_a, customer_id=b_customer.pk), 404, "not_found", "customer")
    assert not Order.objects.exists()
    b_customer.refresh_from_db()
    assert b_customer.orders_count == 0


def test_phone_of_other_shops_customer_does_not_match_across_shops(tenant_a, tenant_b):
    b_customer = register(tenant_b, phone="13812345678")
    response = post_order(tenant_a, phone="13812345678", customer_name="甲店新客")
    assert response.status_code == 201
    assert response.json()["customer_id"] != b_customer.pk
    assert Customer.objects.get(pk=response.json()["customer_id"]).shop == tenant_a.shop


# --- products ---------------------------------------------------------------------------------


def test_create_product_returns_201_with_money_strings(tenant_a):
    response = client_for(tenant_a.token).post(
        "/api/v1/products", {"sku": "SILK-1", "title": "真丝连衣裙", "price": "1,299", "cost": 400, "role": "profit"},
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["price"], body["cost"], body["role"]) == ("1299.00", "400.00", "profit")
    assert Product.objects.get(pk=body["id"]).shop == tenant_a.shop


def test_create_product_duplicate_sku_is_409(tenant_a):
    ProductFactory(shop=tenant_a.shop, sku="SILK-1")
    response = client_for(tenant_a.token).post(
        "/api/v1/products", {"sku": "SILK-1", "title": "x", "price": 1}, content_type=JSON
    )
    assert_error(response, 409, "conflict", "sku")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"sku": "A", "title": "x", "price": "-1"}, "price"),
        ({"sku": "A", "title": "x", "price": "free"}, "price"),
        ({"sku": "A", "title": "x", "price": 1, "role": "hero"}, "role"),
        ({"sku": "A", "title": "x"}, "price"),
        ({"sku": " ", "title": "x", "price": 1}, "sku"),
        ({"sku": "A", "title": "x", "price": 1, "stock": 3}, "stock"),
    ],
)
def test_bad_product_input_is_422_naming_the_field(tenant_a, payload, field):
    response = client_for(tenant_a.token).post("/api/v1/products", payload, content_type=JSON)
    assert_error(response, 422, "invalid", field)
    assert not Product.objects.exists()


def test_list_products_by_query_and_role(tenant_a, tenant_b):
    scarf = ProductFactory(shop=tenant_a.shop, sku="A-1", title="真丝围巾", role=ProductRole.TRAFFIC)
    dress = ProductFactory(shop=tenant_a.shop, sku="B-1", title="真丝连衣裙", role=ProductRole.PROFIT)
    ProductFactory(shop=tenant_b.shop, sku="A-2", title="真丝围巾")
    client = client_for(tenant_a.token)

    def ids(**params) -> list[int]:
        return [item["id"] for item in client.get("/api/v1/products", params).json()["items"]]

    assert ids() == [scarf.pk, dress.pk]
    assert ids(q="围巾") == [scarf.pk]
    assert ids(q="b-1") == [dress.pk]
    assert ids(role="profit") == [dress.pk]
    assert_error(client.get("/api/v1/products", {"role": "hero"}), 422, "invalid", "role")


def test_get_product(tenant_a):
    product = ProductFactory(shop=tenant_a.shop, price=Decimal("88.8"))
    body = client_for(tenant_a.token).get(f"/api/v1/products/{product.pk}").json()
    assert (body["sku"], body["price"], body["cost"]) == (product.sku, "88.80", None)


def test_other_shops_product_is_404_not_403(tenant_a, tenant_b):
    product = ProductFactory(shop=tenant_b.shop)
    assert_error(client_for(tenant_a.token).get(f"/api/v1/products/{product.pk}"), 404, "not_found", "product")
