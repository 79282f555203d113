"""POST /api/v1/loyalty/quote and /commit end to end: pricing, one transaction, idempotency, clear 4xx."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huitouke.loyalty.models import Checkout, Coupon, Membership, PointsEntry, TierChange
from huitouke.loyalty.services import coupons
from huitouke.loyalty.services import points as points_service
from huitouke.orders.models import Order, ProductRole
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop_setup(tenant_a):
    ProductFactory(shop=tenant_a.shop, sku="DRESS", title="真丝连衣裙", price=Decimal("300.00"), role=ProductRole.EDGE)
    ProductFactory(shop=tenant_a.shop, sku="BAG", title="手袋", price=Decimal("500.00"), role=ProductRole.PROFIT)
    customer = CustomerFactory(shop=tenant_a.shop, name="王小芳")
    return tenant_a, customer


def basket(customer, **overrides) -> dict:
    return {"customer_id": customer.pk, "lines": [{"sku": "DRESS", "quantity": 1}], **overrides}


def post(tenant, path: str, body: dict, key: str | None = None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client_for(tenant.token).post(f"/api/v1/loyalty/{path}", body, content_type=JSON, **headers)


def make_coupon(tenant, customer, **overrides) -> Coupon:
    data = {"name": "满200减30", "kind": "amount_off", "value": Decimal("30"), "min_spend": Decimal("200"), **overrides}
    template = coupons.create_template(shop=tenant.shop, data=coupons.TemplateInput(**data))
    coupon, _ = coupons.issue_coupon(shop=tenant.shop, template=template, customer=customer, issue_key=f"t{template.pk}")
    return coupon


def test_quote_prices_the_basket_and_writes_nothing(shop_setup):
    tenant, customer = shop_setup
    coupon = make_coupon(tenant, customer)
    response = post(tenant, "quote", basket(customer, coupon_code=coupon.code.lower(), shipping="10"))
    assert response.status_code == 200, response.content
    quote = response.json()
    assert quote["tier"] == "普通会员"
    assert quote["discounts"] == [
        {"kind": "coupon", "reason": "coupon 满200减30: ¥30.00 off", "amount": "30.00"},
        {"kind": "free_shipping", "reason": "普通会员: free shipping", "amount": "10.00"},
    ]
    assert (quote["goods_total"], quote["total"], quote["points_earned"]) == ("300.00", "270.00", 2700)
    assert not Order.objects.exists() and not PointsEntry.objects.exists()
    assert Coupon.objects.get(pk=coupon.pk).status == "issued"


def test_commit_records_order_coupon_points_and_tier_in_one_go(shop_setup):
    tenant, customer = shop_setup
    coupon = make_coupon(tenant, customer)
    points_service.earn_points(shop=tenant.shop, customer=customer, points=5000, idempotency_key="seed")
    body = basket(customer, coupon_code=coupon.code, points=2000, store=tenant.store.slug,
                  lines=[{"sku": "DRESS", "quantity": 4}])  # ¥1200: reaches 高级会员 (¥1000)
    response = post(tenant, "commit", body, key="till-1-0001")
    assert response.status_code == 200, response.content
    result = response.json()
    order = Order.objects.get(pk=result["order_id"])
    assert (order.goods_amount, order.discount_amount, order.paid_amount) == (
        Decimal("1200.00"), Decimal("50.00"), Decimal("1150.00"))  # ¥30 coupon + ¥20 of points
    assert Coupon.objects.get(pk=coupon.pk).status == "redeemed"
    assert [(line.product.sku, line.quantity, line.line_amount) for line in order.lines.all()] == [
        ("DRESS", 4, Decimal("1150.00"))]
    entries = {e.kind: e.delta for e in PointsEntry.objects.filter(order=order)}
    assert entries == {"redeem": -2000, "earn": 11500}
    assert result["points_balance"] == 5000 - 2000 + 11500 == Membership.objects.get(customer=customer).points_balance
    assert result["tier_change"]["to"] == "高级会员" and "¥1150.00" in result["tier_change"]["reason"]
    assert TierChange.objects.filter(customer=customer, order=order).count() == 1


def test_a_retried_commit_has_one_effect(shop_setup):
    tenant, customer = shop_setup
    body = basket(customer, store=tenant.store.slug)
    first = post(tenant, "commit", body, key="retry-me").json()
    for _ in range(3):
        again = post(tenant, "commit", body, key="retry-me")
        assert again.status_code == 200 and again.json()["order_id"] == first["order_id"]
        assert again.json()["replayed"] is True
    assert Order.objects.count() == 1 and Checkout.objects.count() == 1
    assert PointsEntry.objects.filter(kind="earn").count() == 1


def test_the_same_key_for_another_basket_is_a_conflict(shop_setup):
    tenant, customer = shop_setup
    post(tenant, "commit", basket(customer, store=tenant.store.slug), key="k1")
    response = post(tenant, "commit", basket(customer, store=tenant.store.slug, lines=[{"sku": "BAG", "quantity": 1}]),
                    key="k1")
    assert_error(response, 409, "idempotency_key_reused", "Idempotency-Key")


def test_commit_without_an_idempotency_key_is_refused(shop_setup):
    tenant, customer = shop_setup
    assert_error(post(tenant, "commit", basket(customer, store=tenant.store.slug)), 422, "invalid", "Idempotency-Key")


@pytest.mark.parametrize(("change", "status", "code", "field"), [
    ({"lines": [{"sku": "NOPE", "quantity": 1}]}, 422, "invalid", "lines[0].sku"),
    ({"lines": [{"sku": "DRESS", "quantity": -1}]}, 422, "invalid", "lines[0].quantity"),
    ({"lines": [{"sku": "DRESS", "quantity": 1, "unit_price": "-5"}]}, 422, "invalid", "lines[0].unit_price"),
    ({"lines": []}, 422, "invalid", "lines"),
    ({"points": 10}, 409, "insufficient_points", "points"),
    ({"coupon_code": "NOSUCHCODE"}, 404, "not_found", "coupon_code"),
    ({"customer_id": 999999}, 404, "not_found", "customer"),
    ({"surprise": 1}, 422, "invalid", "surprise"),
])
def test_bad_quotes_get_a_clear_4xx(shop_setup, change, status, code, field):
    tenant, customer = shop_setup
    assert_error(post(tenant, "quote", basket(customer, **change)), status, code, field)


def test_another_shops_customer_and_coupon_are_not_found(shop_setup, tenant_b):
    tenant, customer = shop_setup
    theirs = CustomerFactory(shop=tenant_b.shop)
    assert_error(post(tenant, "quote", basket(theirs)), 404, "not_found", "customer")
    foreign = make_coupon(tenant_b, theirs)
    assert_error(post(tenant, "quote", basket(customer, coupon_code=foreign.code)), 404, "not_found", "coupon_code")


def test_coupon_rules_expired_used_and_someone_elses(shop_setup):
    tenant, customer = shop_setup
    expired = make_coupon(tenant, customer)
    expired.valid_until = dt.date(2024, 1, 31)
    expired.save()
    body = assert_error(post(tenant, "quote", basket(customer, coupon_code=expired.code)), 422, "coupon_expired",
                        "coupon_code")
    assert "2024-01-31" in body["message"]
    sister = CustomerFactory(shop=tenant.shop)
    hers = make_coupon(tenant, sister, name="别人的券")
    assert_error(post(tenant, "quote", basket(customer, coupon_code=hers.code)), 422, "coupon_not_hers", "coupon_code")
    mine = make_coupon(tenant, customer, name="我的券")
    post(tenant, "commit", basket(customer, coupon_code=mine.code, store=tenant.store.slug), key="use-it")
    assert_error(post(tenant, "quote", basket(customer, coupon_code=mine.code)), 409, "coupon_used", "coupon_code")


def test_the_margin_guard_refuses_with_the_rule_and_the_excess(shop_setup):
    tenant, customer = shop_setup
    points_service.earn_points(shop=tenant.shop, customer=customer, points=20000, idempotency_key="seed")
    coupon = make_coupon(tenant, customer)
    body = assert_error(post(tenant, "quote", basket(customer, coupon_code=coupon.code, points=8000)),
                        422, "margin_guard", None)
    assert "36.7%" in body["message"] and "30%" in body["message"] and "¥20.00 too much" in body["message"]


def test_refund_reverses_the_orders_points_in_proportion(shop_setup):
    tenant, customer = shop_setup
    result = post(tenant, "commit", basket(customer, store=tenant.store.slug), key="r1").json()
    assert result["points_earned"] == 3000
    response = client_for(tenant.token).post(
        f"/api/v1/loyalty/orders/{result['order_id']}/refund", {"refunded_amount": "100.00"}, content_type=JSON)
    assert response.status_code == 200, response.content
    assert (response.json()["points_reversed"], response.json()["points_balance"]) == (1000, 2000)
    again = client_for(tenant.token).post(
        f"/api/v1/loyalty/orders/{result['order_id']}/refund", {"refunded_amount": "100.00"}, content_type=JSON)
    assert again.json()["points_balance"] == 2000
    too_much = client_for(tenant.token).post(
        f"/api/v1/loyalty/orders/{result['order_id']}/refund", {"refunded_amount": "999"}, content_type=JSON)
    assert_error(too_much, 422, "invalid", "refunded_amount")


def test_member_endpoint_shows_tier_points_coupons_and_the_way_up(shop_setup):
    tenant, customer = shop_setup
    make_coupon(tenant, customer)
    post(tenant, "commit", basket(customer, store=tenant.store.slug), key="m1")
    member = client_for(tenant.token).get(f"/api/v1/loyalty/members/{customer.pk}").json()
    assert member["tier"]["name"] == "普通会员" and member["points"] == 3000
    assert member["next_tier"] == {"name": "高级会员", "missing": "700.00", "basis": "lifetime_spend"}
    assert len(member["coupons"]) == 1
    page = client_for(tenant.token).get(member["card_url"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "普通会员" in html and "3000" in html and "<svg" in html and "王小芳" not in html
    assert client_for(tenant.token).get(member["card_url"][:-5] + "xx/").status_code == 404
