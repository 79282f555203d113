"""The points ledger: balance = sum of entries, never negative, FIFO expiry, idempotent writes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huitouke.core.errors import Conflict, Forbidden, Invalid
from huitouke.core.models import Role
from huitouke.loyalty import ledger
from huitouke.loyalty.models import Membership, PointsEntry
from huitouke.loyalty.services import points as service
from huitouke.loyalty.services.programme import update_programme
from huitouke.orders.models import Order
from huitouke.testing.factories import CustomerFactory, OrderFactory, StaffFactory

pytestmark = pytest.mark.django_db
START = dt.date(2025, 11, 1)


def entries_sum(customer) -> int:
    return PointsEntry.objects.filter(customer=customer).aggregate(s=Sum("delta"))["s"] or 0


def cached_balance(customer) -> int:
    return Membership.objects.get(customer=customer).points_balance


# --- a reference model, written plainly, that the database must agree with -----------------------
@dataclass
class Lot:
    points: int
    expires_on: dt.date
    order_id: int | None = None


@dataclass
class Reference:
    lots: list[Lot] = field(default_factory=list)

    @property
    def balance(self) -> int:
        return sum(lot.points for lot in self.lots)

    def expire(self, on: dt.date) -> int:
        gone = sum(lot.points for lot in self.lots if lot.expires_on < on)
        for lot in self.lots:
            if lot.expires_on < on:
                lot.points = 0
        return gone

    def take(self, points: int, first_order: int | None = None) -> None:
        ordered = sorted(self.lots, key=lambda lot: lot.order_id != first_order or first_order is None)
        for lot in ordered:
            taken = min(points, lot.points)
            lot.points -= taken
            points -= taken
        assert points == 0


def take_points(kind: str, *, customer, points: int, key: str, on: dt.date, staff) -> None:
    if kind == "redeem":
        service.redeem_points(shop=customer.shop, customer=customer, points=points, idempotency_key=key, on=on)
    else:
        service.adjust_points(shop=customer.shop, customer=customer, delta=-points, reason="fix", staff=staff,
                              idempotency_key=key, on=on)


operations = st.lists(
    st.tuples(
        st.sampled_from(["earn", "redeem", "adjust_up", "adjust_down", "refund", "expire"]),
        st.integers(1, 5000),  # points, or per-mille refunded
        st.integers(0, 200),  # days that pass before the operation
    ),
    min_size=1, max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_random_sequences_keep_the_ledger_consistent(tenant_a, ops):
    shop = tenant_a.shop
    update_programme(shop=shop, expiry_policy="end_of_next_year")
    customer = CustomerFactory(shop=shop)
    manager = StaffFactory(shop=shop, role=Role.MANAGER)
    reference, day, orders = Reference(), START, []
    for step, (kind, amount, days) in enumerate(ops):
        day += dt.timedelta(days=days)
        expired_now = reference.expire(day)  # every write first writes off what expired before `day`
        key = f"k{customer.pk}-{step}"
        if kind == "earn":
            order = OrderFactory(shop=shop, store=tenant_a.store, customer=customer, paid_amount=Decimal("100.00"))
            service.earn_points(shop=shop, customer=customer, points=amount, idempotency_key=key, order=order, on=day)
            reference.lots.append(Lot(amount, dt.date(day.year + 1, 12, 31), order.pk))
            orders.append((order, amount))
        elif kind == "adjust_up":
            service.adjust_points(shop=shop, customer=customer, delta=amount, reason="goodwill", staff=manager,
                                  idempotency_key=key, on=day)
            reference.lots.append(Lot(amount, dt.date(day.year + 1, 12, 31)))
        elif kind in ("redeem", "adjust_down"):
            if amount > reference.balance:
                with pytest.raises(Conflict):
                    take_points(kind, customer=customer, points=amount, key=key, on=day, staff=manager)
            else:
                take_points(kind, customer=customer, points=amount, key=key, on=day, staff=manager)
                reference.take(amount)
        elif kind == "refund" and orders:
            order, earned = orders[step % len(orders)]
            share = Decimal(min(amount, 1000)) / 1000
            order.refunded_amount = (order.paid_amount * share).quantize(Decimal("0.01"))
            order.save()
            before = sum(-e.delta for e in PointsEntry.objects.filter(order=order, kind="reversal"))
            exact = Decimal(earned) * order.refunded_amount / order.paid_amount
            target = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
            service.reverse_for_refund(shop=shop, order=order, on=day)
            reference.take(min(max(target - before, 0), reference.balance), first_order=order.pk)
        elif kind == "expire":
            assert service.expire_points(shop=shop, on=day) >= expired_now
        if Membership.objects.filter(customer=customer).exists():
            service.expire_points(shop=shop, on=day)
            assert cached_balance(customer) == entries_sum(customer) == reference.balance >= 0


def test_replaying_entries_gives_fifo_lots():
    entries = [
        ledger.Entry(1, 100, dt.date(2026, 12, 31)),
        ledger.Entry(2, 50, dt.date(2027, 12, 31)),
        ledger.Entry(3, -120),  # takes all of lot 1, then 20 of lot 2
    ]
    assert ledger.remaining_by_lot(entries) == {1: 0, 2: 30}
    assert ledger.due_for_expiry(entries, today=dt.date(2028, 1, 1)) == [(2, 30)]
    with pytest.raises(ledger.LedgerError):
        ledger.remaining_by_lot([*entries, ledger.Entry(4, -31)])


def test_points_earned_in_2025_expire_after_the_end_of_2026_first_in_first_out(tenant_a):
    shop, customer = tenant_a.shop, CustomerFactory(shop=tenant_a.shop)
    service.earn_points(shop=shop, customer=customer, points=300, idempotency_key="a", on=dt.date(2025, 3, 1))
    service.earn_points(shop=shop, customer=customer, points=200, idempotency_key="b", on=dt.date(2026, 2, 1))
    service.redeem_points(shop=shop, customer=customer, points=100, idempotency_key="c", on=dt.date(2026, 6, 1))
    assert service.expire_points(shop=shop, on=dt.date(2026, 12, 31)) == 0  # the last valid day
    assert service.expire_points(shop=shop, on=dt.date(2027, 1, 1)) == 200  # 300 − 100 taken first from it
    assert service.expire_points(shop=shop, on=dt.date(2027, 1, 1)) == 0  # one expiry per lot, ever
    assert cached_balance(customer) == entries_sum(customer) == 200
    assert service.expire_points(shop=shop, on=dt.date(2028, 1, 1)) == 200
    assert cached_balance(customer) == 0


def test_a_redemption_cannot_spend_points_that_have_expired(tenant_a):
    shop, customer = tenant_a.shop, CustomerFactory(shop=tenant_a.shop)
    service.earn_points(shop=shop, customer=customer, points=300, idempotency_key="a", on=dt.date(2024, 3, 1))
    with pytest.raises(Conflict) as refused:
        service.redeem_points(shop=shop, customer=customer, points=100, idempotency_key="b", on=dt.date(2026, 1, 5))
    assert refused.value.code == "insufficient_points"
    # A refused write leaves nothing behind, not even the expiry it wrote first (the daily job writes that).
    assert cached_balance(customer) == entries_sum(customer) == 300
    assert PointsEntry.objects.filter(customer=customer, kind="expiry").count() == 0


def test_the_same_key_has_one_effect_and_a_different_request_under_it_is_refused(tenant_a):
    shop, customer = tenant_a.shop, CustomerFactory(shop=tenant_a.shop)
    first = service.earn_points(shop=shop, customer=customer, points=10, idempotency_key="once")
    again = service.earn_points(shop=shop, customer=customer, points=10, idempotency_key="once")
    assert first.pk == again.pk and cached_balance(customer) == 10
    with pytest.raises(Conflict):
        service.redeem_points(shop=shop, customer=customer, points=5, idempotency_key="once")


def test_adjustments_need_a_manager_and_a_reason(tenant_a):
    shop, customer = tenant_a.shop, CustomerFactory(shop=tenant_a.shop)
    associate = StaffFactory(shop=shop, role=Role.ASSOCIATE)
    with pytest.raises(Forbidden):
        service.adjust_points(shop=shop, customer=customer, delta=10, reason="x", staff=associate, idempotency_key="1")
    with pytest.raises(Invalid):
        service.adjust_points(shop=shop, customer=customer, delta=10, reason=" ", staff=tenant_a.owner,
                              idempotency_key="2")
    entry = service.adjust_points(shop=shop, customer=customer, delta=10, reason="店庆补偿", staff=tenant_a.owner,
                                  idempotency_key="3")
    assert (entry.kind, entry.delta, entry.staff_id, entry.reason) == ("adjustment", 10, tenant_a.owner.pk, "店庆补偿")


def test_refund_reversal_is_proportional_and_idempotent(tenant_a):
    shop, customer = tenant_a.shop, CustomerFactory(shop=tenant_a.shop)
    order = OrderFactory(shop=shop, store=tenant_a.store, customer=customer, paid_amount=Decimal("200.00"))
    service.earn_points(shop=shop, customer=customer, points=2000, idempotency_key="e", order=order)
    order.refunded_amount = Decimal("50.00")
    order.save()
    assert service.reverse_for_refund(shop=shop, order=order).delta == -500
    assert service.reverse_for_refund(shop=shop, order=order) is None  # the same refund again: nothing
    order.refunded_amount = Decimal("200.00")
    order.save()
    assert service.reverse_for_refund(shop=shop, order=order).delta == -1500
    assert cached_balance(customer) == entries_sum(customer) == 0


def test_a_refund_after_the_points_were_spent_stops_at_zero_and_says_so(tenant_a):
    shop, customer = tenant_a.shop, CustomerFactory(shop=tenant_a.shop)
    order = OrderFactory(shop=shop, store=tenant_a.store, customer=customer, paid_amount=Decimal("100.00"))
    service.earn_points(shop=shop, customer=customer, points=1000, idempotency_key="e", order=order)
    service.redeem_points(shop=shop, customer=customer, points=800, idempotency_key="r")
    order.refunded_amount = Decimal("100.00")
    order.save()
    reversal = service.reverse_for_refund(shop=shop, order=order)
    assert reversal.delta == -200 and "800 already spent" in reversal.reason
    assert cached_balance(customer) == 0


def test_another_shops_customer_is_refused(tenant_a, tenant_b):
    theirs = CustomerFactory(shop=tenant_b.shop)
    with pytest.raises(Invalid):
        service.earn_points(shop=tenant_a.shop, customer=theirs, points=10, idempotency_key="x")


def test_refunds_that_arrive_by_import_are_reversed_by_the_daily_reconciliation(tenant_a):
    shop, customer = tenant_a.shop, CustomerFactory(shop=tenant_a.shop)
    refunded = OrderFactory(shop=shop, store=tenant_a.store, customer=customer, paid_amount=Decimal("100.00"))
    kept = OrderFactory(shop=shop, store=tenant_a.store, customer=customer, paid_amount=Decimal("100.00"))
    for order in (refunded, kept):
        service.earn_points(shop=shop, customer=customer, points=1000, idempotency_key=f"e{order.pk}", order=order)
    # What a re-imported export does: a new refunded amount on the order row, nobody calls the refund API.
    Order.objects.filter(pk=refunded.pk).update(refunded_amount=Decimal("40.00"))
    assert service.reverse_refunded_orders(shop=shop) == 1
    assert service.reverse_refunded_orders(shop=shop) == 0  # the next day: nothing new
    assert cached_balance(customer) == entries_sum(customer) == 2000 - 400


def test_a_refund_stopped_at_zero_takes_the_rest_later_without_a_key_clash(tenant_a):
    """Found by hypothesis: each reversal's key is the order's reversed total after it, which only grows."""
    shop, customer = tenant_a.shop, CustomerFactory(shop=tenant_a.shop)
    order = OrderFactory(shop=shop, store=tenant_a.store, customer=customer, paid_amount=Decimal("100.00"))
    service.earn_points(shop=shop, customer=customer, points=2, idempotency_key="e1", order=order)
    service.redeem_points(shop=shop, customer=customer, points=1, idempotency_key="r1")
    order.refunded_amount = Decimal("75.00")
    order.save()
    assert service.reverse_for_refund(shop=shop, order=order).delta == -1  # 2 due, only 1 left
    service.earn_points(shop=shop, customer=customer, points=1, idempotency_key="e2")
    assert service.reverse_for_refund(shop=shop, order=order).delta == -1  # the rest, once there is some
    assert service.reverse_for_refund(shop=shop, order=order) is None
    assert cached_balance(customer) == entries_sum(customer) == 0
