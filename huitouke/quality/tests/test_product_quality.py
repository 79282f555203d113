"""Quality-OK rate per product on a hand-computed example, partial refunds included; refund reasons API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huitouke.core.timeutil import SHANGHAI
from huitouke.orders.models import OrderStatus
from huitouke.quality import selectors
from huitouke.quality.models import RefundReason
from huitouke.quality.services import refunds
from huitouke.quality.services.refunds import code_from_platform_text
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db

MARCH = dt.datetime(2025, 3, 10, 12, 0, tzinfo=SHANGHAI)


def sale(tenant, lines, *, paid="100.00", refunded="0", at=MARCH, status=OrderStatus.COMPLETED):
    order = OrderFactory(shop=tenant.shop, store=tenant.store, ordered_at=at, paid_at=at, status=status,
                         paid_amount=Decimal(paid), refunded_amount=Decimal(refunded))
    made = [OrderLineFactory(order=order, sku=sku, title=sku, quantity=qty, unit_price=Decimal(price),
                             line_amount=Decimal(price) * qty) for sku, qty, price in lines]
    return order, made


@pytest.fixture
def march(tenant_a):
    t = tenant_a
    shop = t.shop
    # A: one of 4 refunded for quality (partial refund ¥100 of a ¥100 item → 1 unit)
    o1, (l1,) = sale(t, [("A", 4, "100")], paid="400", refunded="100")
    refunds.set_refund_reason(shop=shop, order=o1, line_id=l1.pk, code="quality", amount=Decimal("100"),
                              comment="开线")
    # A: 2 of 2 not as described (units given)
    o2, (l2,) = sale(t, [("A", 2, "100")], paid="200", refunded="200", status=OrderStatus.REFUNDED)
    refunds.set_refund_reason(shop=shop, order=o2, line_id=l2.pk, code="not_as_described", units=2,
                              comment="色差大")
    # A: 1 of 3 back for size: not a quality refund
    o3, (l3,) = sale(t, [("A", 3, "100")], paid="300", refunded="100")
    refunds.set_refund_reason(shop=shop, order=o3, line_id=l3.pk, code="size", units=1)
    # A 1 + B 2, half the order refunded for quality, reason for the whole order:
    # A counts round(1 × 0.5) = 1 (half up, at least 1), B counts round(2 × 0.5) = 1
    o4, _ = sale(t, [("A", 1, "100"), ("B", 2, "100")], paid="300", refunded="150")
    refunds.set_refund_reason(shop=shop, order=o4, code="quality")
    sale(t, [("A", 10, "100")], paid="1000")
    sale(t, [("B", 8, "100")], paid="800")
    # April: outside the month, must not count
    o7, (l7,) = sale(t, [("A", 5, "100")], paid="500", refunded="500", at=MARCH + dt.timedelta(days=30))
    refunds.set_refund_reason(shop=shop, order=o7, line_id=l7.pk, code="quality")
    return t


def test_quality_ok_rate_hand_computed_with_partial_refunds(march):
    rows = {row["sku"]: row for row in selectors.product_quality(
        shop=march.shop, period=selectors.month_period("2025-03"))}
    # A: sold 4 + 2 + 3 + 1 + 10 = 20; quality/not-as-described units 1 + 2 + 1 = 4 → 1 − 4/20 = 0.80
    assert (rows["A"]["sold"], rows["A"]["quality_refunds"], rows["A"]["quality_ok_rate"]) == (20, 4, 0.8)
    assert rows["A"]["below"] is True
    assert rows["A"]["reasons"] == {"quality": 2, "not_as_described": 2, "size": 1}
    assert set(rows["A"]["comments"]) == {"开线", "色差大"}
    # B: sold 2 + 8 = 10; 1 unit → 0.90, exactly the threshold: not below
    assert (rows["B"]["sold"], rows["B"]["quality_refunds"], rows["B"]["quality_ok_rate"]) == (10, 1, 0.9)
    assert rows["B"]["below"] is False
    report = selectors.quality_report(shop=march.shop, month="2025-03")
    assert report["products_below_threshold"] == [{"sku": "A", "sold": 20, "quality_refunds": 4,
                                                   "quality_ok_rate": 0.8}]
    # all time, April's 5 units of A (all refunded for quality) join: 1 − 9/25 = 0.64
    all_time = {row["sku"]: row for row in selectors.product_quality(shop=march.shop)}
    assert (all_time["A"]["sold"], all_time["A"]["quality_refunds"], all_time["A"]["quality_ok_rate"]) == (25, 9, 0.64)


def test_platform_refund_texts_map_to_codes():
    assert code_from_platform_text("质量问题") == "quality"
    assert code_from_platform_text("与商品描述不符") == "not_as_described"
    assert code_from_platform_text("尺码拍错/不喜欢/效果不好") == "size"
    assert code_from_platform_text("七天无理由退换货") == "changed_mind"
    assert code_from_platform_text("快递一直未送到") == "logistics"
    assert code_from_platform_text("其他") == "other"


def test_refund_reason_over_the_api(march):
    client = client_for(march.token)
    order, (line,) = sale(march, [("C", 2, "50")], paid="100", refunded="50")
    response = client.put("/api/v1/quality/refund-reasons", {
        "order": order.pk, "line": line.pk, "platform_reason": "商品有破洞，质量问题"}, content_type=JSON)
    assert response.status_code == 200, response.content
    assert response.json()["code"] == "quality" and response.json()["source"] == "api"
    # setting it again replaces it
    client.put("/api/v1/quality/refund-reasons", {"order": order.pk, "line": line.pk, "code": "size"},
               content_type=JSON)
    assert list(RefundReason.objects.filter(order=order).values_list("code", flat=True)) == ["size"]
    assert client.get(f"/api/v1/quality/refund-reasons?order={order.pk}").json()[0]["code"] == "size"


@pytest.mark.parametrize(("body", "status", "code", "field"), [
    ({"code": "bogus"}, 422, "invalid", "code"),
    ({}, 422, "invalid", "code"),
    ({"code": "quality", "units": 3}, 422, "invalid", "units"),
    ({"code": "quality", "line": 999999}, 404, "not_found", "line"),
    ({"code": "quality", "amount": "-5"}, 422, "invalid", "amount"),
])
def test_bad_refund_reasons_are_4xx(march, body, status, code, field):
    order, (line,) = sale(march, [("C", 2, "50")], paid="100", refunded="50")
    body = {"order": order.pk, "line": line.pk, **body}
    response = client_for(march.token).put("/api/v1/quality/refund-reasons", body, content_type=JSON)
    assert_error(response, status, code, field)


def test_another_shops_order_is_unknown(march, tenant_b):
    order, _ = sale(tenant_b, [("X", 1, "10")], paid="10", refunded="10")
    response = client_for(march.token).put("/api/v1/quality/refund-reasons", {"order": order.pk, "code": "quality"},
                                           content_type=JSON)
    assert_error(response, 404, "not_found", "order")
