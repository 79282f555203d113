"""Ledgers under real concurrency: threads, each with its own database connection, started together.

Run on PostgreSQL (row locks, READ COMMITTED) in CI's second pass, and on SQLite in the first.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from django.db.models import Sum

from huitouke.loyalty.models import Checkout, Coupon, Membership, PointsEntry
from huitouke.loyalty.services import checkout, coupons
from huitouke.loyalty.services import points as points_service
from huitouke.orders.models import Order, ProductRole
from huitouke.testing.concurrency import run_together
from huitouke.testing.factories import CustomerFactory, ProductFactory
from huitouke.testing.fixtures import make_tenant

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def till():
    tenant = make_tenant("conc")
    ProductFactory(shop=tenant.shop, sku="DRESS", price=Decimal("300.00"), role=ProductRole.EDGE)
    return tenant, CustomerFactory(shop=tenant.shop)


def basket(tenant, customer, **extra) -> checkout.CheckoutRequest:
    return checkout.CheckoutRequest(
        customer_id=customer.pk, lines=(checkout.CartLine(sku="DRESS", quantity=1),), store=tenant.store.slug, **extra
    )


def test_fifty_concurrent_commits_with_one_single_use_coupon_use_it_once(till):
    tenant, customer = till
    template = coupons.create_template(shop=tenant.shop, data=coupons.TemplateInput(
        name="满200减30", kind="amount_off", value=Decimal("30"), min_spend=Decimal("200")))
    coupon, _ = coupons.issue_coupon(shop=tenant.shop, template=template, customer=customer, issue_key="one")
    results = run_together(50, lambda i: checkout.commit(
        shop=tenant.shop, request=basket(tenant, customer, coupon_code=coupon.code), idempotency_key=f"k{i}"))
    outcomes = Counter(type(r).__name__ if isinstance(r, Exception) else "ok" for r in results)
    assert outcomes == {"ok": 1, "Conflict": 49}
    assert all(r.code == "coupon_used" for r in results if isinstance(r, Exception))
    assert Coupon.objects.get(pk=coupon.pk).status == "redeemed"
    assert Order.objects.count() == 1 and Checkout.objects.count() == 1


def test_twenty_concurrent_redemptions_beyond_the_balance_never_go_negative(till):
    tenant, customer = till
    points_service.earn_points(shop=tenant.shop, customer=customer, points=1000, idempotency_key="seed")
    results = run_together(20, lambda i: points_service.redeem_points(
        shop=tenant.shop, customer=customer, points=150, idempotency_key=f"r{i}"))
    succeeded = [r for r in results if not isinstance(r, Exception)]
    assert len(succeeded) == 6  # 6 × 150 = 900 ≤ 1000 < 7 × 150
    balance = Membership.objects.get(customer=customer).points_balance
    total = PointsEntry.objects.filter(customer=customer).aggregate(s=Sum("delta"))["s"]
    assert balance == total == 100


def test_the_same_commit_retried_ten_times_at_once_has_one_effect(till):
    tenant, customer = till
    points_service.earn_points(shop=tenant.shop, customer=customer, points=500, idempotency_key="seed")
    results = run_together(10, lambda i: checkout.commit(
        shop=tenant.shop, request=basket(tenant, customer, points=500), idempotency_key="same-key"))
    assert not [r for r in results if isinstance(r, Exception)]
    assert len({r["order_id"] for r in results}) == 1
    assert Order.objects.count() == 1
    assert Counter(PointsEntry.objects.filter(customer=customer).values_list("kind", flat=True)) == {
        "earn": 2, "redeem": 1}
    assert Membership.objects.get(customer=customer).points_balance == 500 - 500 + 2950



def test_one_key_sent_at_once_for_two_customers_commits_once(till):
    tenant, customer = till
    other = CustomerFactory(shop=tenant.shop)
    buyers = (customer, other)
    results = run_together(2, lambda i: checkout.commit(
        shop=tenant.shop, request=basket(tenant, buyers[i], order_number=f"TILL-{i}"), idempotency_key="shared"))
    outcomes = Counter(getattr(r, "code", "ok") for r in results)
    assert outcomes == {"ok": 1, "idempotency_key_reused": 1}, results
    assert Order.objects.count() == 1 and Checkout.objects.count() == 1
    assert PointsEntry.objects.count() == 1
