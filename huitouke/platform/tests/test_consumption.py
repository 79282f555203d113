"""Recording a consumption: eligibility under the terms in force, points (10 per yuan) in the platform's
ledger, idempotency, and corrections as reversal + new record."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.platform.models import Consumption, Member, MemberPoints, Merchant
from huitouke.platform.services import actors, consumption, verification
from huitouke.platform.tests.helpers import at, signed, terms

pytestmark = pytest.mark.django_db
PHONE = "13812345678"
RECORDED = at(2026, 3, 10, 20)


@pytest.fixture
def merchant(tenant_a):
    merchant = signed(tenant_a.shop, excluded_items=("酒水",))
    actors.record_group_buy(shop=tenant_a.shop, merchant=merchant, phone=PHONE, day=dt.date(2026, 2, 1))
    return merchant


def record(shop, merchant, amount="128.50", key="k1", now=RECORDED, **kwargs):
    return consumption.record_consumption(shop=shop, merchant=merchant, phone=PHONE, amount=amount,
                                          idempotency_key=key, now=now, **kwargs)


def test_recording_awards_10_points_per_yuan_and_a_retry_has_one_effect(tenant_a, merchant):
    first = record(tenant_a.shop, merchant)
    assert record(tenant_a.shop, merchant) == first
    assert (first.amount, first.points, first.month) == (Decimal("128.50"), 1285, dt.date(2026, 3, 1))
    member = Member.objects.get()
    assert member.points_balance == 1285 == consumption.points_from_entries(shop=tenant_a.shop, member=member)
    with pytest.raises(Conflict):
        record(tenant_a.shop, merchant, amount="99")  # same key, different request
    assert consumption.points_for(Decimal("12.34")) == 123


def test_recording_links_the_verification_and_refuses_ineligible_or_excluded(tenant_a, merchant):
    shop = tenant_a.shop
    checked = verification.verify(shop=shop, merchant=merchant, phone=PHONE, now=at(2026, 3, 10, 19))
    assert record(shop, merchant, verification=checked.verification.pk).verification_id == checked.verification.pk
    with pytest.raises(Invalid) as exc:
        record(shop, merchant, key="k2", items=["锅底", "酒水"])
    assert exc.value.field == "items"
    with pytest.raises(Conflict) as exc:
        record(shop, merchant, key="k3", now=at(2027, 1, 2))  # validity ended 2026-12-31
    assert exc.value.code == "expired"
    with pytest.raises(NotFound):
        consumption.record_consumption(shop=shop, merchant=merchant, phone="13900000000", amount="1",
                                       idempotency_key="k4", now=at(2026, 3, 10))
    with pytest.raises(Invalid):
        record(shop, merchant, key="k5", amount="0")


def test_consumption_spanning_a_month_boundary_counts_in_the_month_it_completed(tenant_a, merchant):
    spanning = record(tenant_a.shop, merchant, started_at=at(2026, 3, 31, 23, 30), completed_at=at(2026, 4, 1, 0, 40),
                      now=at(2026, 4, 1, 0, 45))
    assert spanning.month == dt.date(2026, 4, 1)


def test_a_correction_is_a_reversal_plus_a_new_record_never_an_edit(tenant_a, merchant):
    shop = tenant_a.shop
    original = record(shop, merchant, amount="200")
    reversal, replacement = consumption.correct_consumption(
        shop=shop, merchant=merchant, consumption=original, amount=Decimal("180"), reason="typo",
        idempotency_key="fix1", now=at(2026, 3, 11))
    assert (reversal.amount, reversal.points, reversal.reverses_id) == (Decimal("-200.00"), -2000, original.pk)
    assert (replacement.amount, replacement.points) == (Decimal("180.00"), 1800)
    original.refresh_from_db()
    assert original.amount == Decimal("200.00")
    again = consumption.correct_consumption(shop=shop, merchant=merchant, consumption=original, amount=Decimal("180"),
                                            reason="typo", idempotency_key="fix1", now=at(2026, 3, 11))
    assert again == (reversal, replacement)
    with pytest.raises(Conflict):
        consumption.correct_consumption(shop=shop, merchant=merchant, consumption=original, amount=None,
                                        reason="again", idempotency_key="fix2", now=at(2026, 3, 11))
    member = Member.objects.get()
    assert member.points_balance == 1800 == sum(MemberPoints.objects.values_list("delta", flat=True))
    assert Consumption.objects.count() == 3


def test_another_merchant_cannot_correct_or_see_a_record(tenant_a, merchant):
    original = record(tenant_a.shop, merchant)
    other = signed(tenant_a.shop, "别家")
    with pytest.raises(NotFound):
        consumption.correct_consumption(shop=tenant_a.shop, merchant=other, consumption=original, amount=None,
                                        reason="x", idempotency_key="z", now=at(2026, 3, 11))


def test_a_verification_before_a_new_version_takes_effect_does_not_carry_the_old_terms(tenant_a, merchant):
    shop = tenant_a.shop
    change = actors.submit_agreement(shop=shop, merchant=merchant, terms=terms(discount_rate=Decimal("0.80")),
                                     effective_from=at(2026, 3, 10, 15), now=at(2026, 3, 8, 9))
    checked = verification.verify(shop=shop, merchant=merchant, phone=PHONE, now=at(2026, 3, 10, 14, 59))
    earlier = record(shop, merchant, key="before", verification=checked.verification, now=at(2026, 3, 10, 14, 59))
    later = record(shop, merchant, key="after", verification=checked.verification, now=at(2026, 3, 10, 15, 1))
    assert (earlier.agreement_id, later.agreement_id) == (checked.eligibility.agreement.pk, change.pk)


def test_a_verification_from_another_day_is_checked_again(tenant_a, merchant):
    checked = verification.verify(shop=tenant_a.shop, merchant=merchant, phone=PHONE, now=at(2026, 12, 31, 23, 50))
    with pytest.raises(Conflict) as exc:
        record(tenant_a.shop, merchant, key="late", verification=checked.verification, now=at(2027, 1, 1, 0, 10))
    assert exc.value.code == "expired"


def test_a_retry_after_the_merchant_was_suspended_still_answers_with_the_first_record(tenant_a, merchant):
    first = record(tenant_a.shop, merchant)
    Merchant.objects.filter(pk=merchant.pk).update(status=Merchant.Status.SUSPENDED, suspended_reason="test")
    assert record(tenant_a.shop, merchant) == first
    with pytest.raises(Conflict) as exc:
        record(tenant_a.shop, merchant, key="new")
    assert exc.value.code == "suspended"
