"""The commit's lean path (a few plain statements) keeps every rule the ORM services keep: her purchase
figures and repeat flags, FIFO expiry before a redemption, one order per order number, one member row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum

from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.core.timeutil import SHANGHAI
from huitouke.customers.models import Customer
from huitouke.loyalty.models import Checkout, Membership, PointsEntry
from huitouke.loyalty.services import checkout
from huitouke.loyalty.services import points as points_service
from huitouke.orders.models import Order, ProductRole
from huitouke.orders.services import PURCHASE_STAT_FIELDS, refresh_customer_stats
from huitouke.testing.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db
DAY_ONE = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def till(tenant_a):
    ProductFactory(shop=tenant_a.shop, sku="TEA", title="龙井", price=Decimal("88.00"), role=ProductRole.EDGE)
    return tenant_a, CustomerFactory(shop=tenant_a.shop)


def sale(tenant, customer, *, quantity: int = 1, **extra) -> checkout.CheckoutRequest:
    extra.setdefault("store", tenant.store.slug)
    return checkout.CheckoutRequest(customer_id=customer.pk, lines=(checkout.CartLine(sku="TEA", quantity=quantity),),
                                    **extra)


def stored_figures(customer_id: int) -> tuple:
    customer = Customer.objects.get(pk=customer_id)
    flags = tuple(Order.objects.filter(customer_id=customer_id).order_by("id").values_list("is_repeat", flat=True))
    return tuple(getattr(customer, name) for name in PURCHASE_STAT_FIELDS), flags


def balance_is_the_sum_of_entries(customer) -> bool:
    total = PointsEntry.objects.filter(customer=customer).aggregate(s=Sum("delta"))["s"] or 0
    return Membership.objects.get(customer=customer).points_balance == total


def test_her_figures_after_commits_equal_a_full_recount_even_for_a_back_dated_sale(till):
    tenant, customer = till
    moments = [DAY_ONE, DAY_ONE + dt.timedelta(hours=2), DAY_ONE + dt.timedelta(days=3),
               DAY_ONE + dt.timedelta(days=1)]  # the last is earlier than the one before: the recount path
    for index, moment in enumerate(moments):
        checkout.commit(shop=tenant.shop, request=sale(tenant, customer, quantity=index + 1),
                        idempotency_key=f"fig-{index}", now=moment)
    quick = stored_figures(customer.pk)
    refresh_customer_stats(shop=tenant.shop, customer_ids=[customer.pk])
    assert quick == stored_figures(customer.pk)
    assert quick[1] == (False, False, True, True)
    assert quick[0][:3] == (4, 10, 3)  # purchases, items, distinct days


def test_expired_points_are_written_off_before_a_commit_spends_points(till):
    tenant, customer = till
    points_service.earn_points(shop=tenant.shop, customer=customer, points=3000, idempotency_key="old",
                               on=dt.date(2024, 5, 1))  # last valid day 2025-12-31
    points_service.earn_points(shop=tenant.shop, customer=customer, points=1000, idempotency_key="new",
                               on=dt.date(2026, 3, 1))
    with pytest.raises(Conflict) as refused:
        checkout.commit(shop=tenant.shop, request=sale(tenant, customer, points=2000), idempotency_key="too-much",
                        now=DAY_ONE)
    assert refused.value.code == "insufficient_points"
    result = checkout.commit(shop=tenant.shop, request=sale(tenant, customer, points=800), idempotency_key="ok",
                             now=DAY_ONE)
    kinds = dict(PointsEntry.objects.filter(customer=customer).values_list("kind", "delta").order_by("id")[2:])
    assert kinds == {"expiry": -3000, "redeem": -800, "earn": result["points_earned"]}
    assert result["points_balance"] == 1000 - 800 + result["points_earned"]
    assert balance_is_the_sum_of_entries(customer)


def test_an_order_number_the_store_already_has_is_refused_and_writes_nothing(till):
    tenant, customer = till
    checkout.commit(shop=tenant.shop, request=sale(tenant, customer, order_number="T-0001"), idempotency_key="a")
    with pytest.raises(Conflict) as refused:
        checkout.commit(shop=tenant.shop, request=sale(tenant, customer, order_number="T-0001", quantity=2),
                        idempotency_key="b")
    assert refused.value.field == "order_number"
    assert Order.objects.count() == 1 and Checkout.objects.count() == 1
    assert PointsEntry.objects.count() == 1 and balance_is_the_sum_of_entries(customer)


def test_a_first_visit_enrols_her_once_in_the_entry_tier(till):
    tenant, customer = till
    assert not Membership.objects.filter(customer=customer).exists()
    checkout.quote(shop=tenant.shop, request=sale(tenant, customer))
    checkout.commit(shop=tenant.shop, request=sale(tenant, customer), idempotency_key="first")
    membership = Membership.objects.get(customer=customer)
    assert membership.tier.rank == 0 and balance_is_the_sum_of_entries(customer)


def test_a_commit_to_an_unknown_or_missing_store_is_refused(till, tenant_b):
    tenant, customer = till
    with pytest.raises(NotFound) as unknown:
        checkout.commit(shop=tenant.shop, request=sale(tenant_b, customer), idempotency_key="elsewhere")
    assert unknown.value.field == "store"
    with pytest.raises(Invalid) as missing:
        checkout.commit(shop=tenant.shop, request=sale(tenant, customer, store=""), idempotency_key="nowhere")
    assert missing.value.field == "store"
    assert not Order.objects.exists()


def test_a_retry_after_she_was_merged_away_gets_the_first_answer(till):
    tenant, customer = till
    first = checkout.commit(shop=tenant.shop, request=sale(tenant, customer), idempotency_key="before-merge")
    survivor = CustomerFactory(shop=tenant.shop)
    Customer.objects.filter(pk=customer.pk).update(merged_into=survivor)
    again = checkout.commit(shop=tenant.shop, request=sale(tenant, customer), idempotency_key="before-merge")
    assert again["order_id"] == first["order_id"] and again["replayed"] is True
