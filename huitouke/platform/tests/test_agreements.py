"""Actors and agreement versions: the 24-hour notice and the terms in force at a moment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.platform import selectors
from huitouke.platform.models import Agreement, GroupBuy, Member
from huitouke.platform.services import actors
from huitouke.platform.tests.helpers import SIGNED, at, signed, terms
from huitouke.testing.fixtures import make_tenant

pytestmark = pytest.mark.django_db


def test_signing_puts_the_first_agreement_in_force_at_once(tenant_a):
    merchant = signed(tenant_a.shop)
    agreement = selectors.agreement_in_force(shop=tenant_a.shop, merchant=merchant, at=SIGNED)
    assert agreement.version == 1 and agreement.discount_rate == Decimal("0.85")
    assert sorted(s.name for s in merchant.stores.all()) == ["朝阳店", "海淀店"]


def test_a_change_inside_the_24_hour_notice_is_refused(tenant_a):
    merchant = signed(tenant_a.shop)
    submitted = at(2026, 3, 1, 10)
    with pytest.raises(Invalid) as exc:
        actors.submit_agreement(shop=tenant_a.shop, merchant=merchant, terms=terms(discount_rate=Decimal("0.80")),
                                effective_from=submitted + dt.timedelta(hours=23, minutes=59), now=submitted)
    assert exc.value.field == "effective_from" and exc.value.code == "notice_period"
    assert Agreement.objects.filter(merchant=merchant).count() == 1


def test_a_change_takes_effect_24_hours_after_submission_and_members_see_the_terms_then_in_force(tenant_a):
    merchant = signed(tenant_a.shop)
    submitted = at(2026, 3, 1, 10)
    change = actors.submit_agreement(
        shop=tenant_a.shop, merchant=merchant, terms=terms(discount_rate=Decimal("0.80")), now=submitted)
    assert change.version == 2 and change.effective_from == submitted + dt.timedelta(hours=24)
    in_force = lambda moment: selectors.agreement_in_force(shop=tenant_a.shop, merchant=merchant, at=moment)  # noqa: E731
    assert in_force(submitted + dt.timedelta(hours=23, minutes=59)).version == 1
    assert list(selectors.pending_changes(shop=tenant_a.shop, merchant=merchant, at=submitted)) == [change]
    assert in_force(submitted + dt.timedelta(hours=24)).discount_rate == Decimal("0.80")


@pytest.mark.parametrize("changes, field", [
    ({"discount_rate": Decimal("1.5")}, "discount_rate"),
    ({"methods": ("fax",)}, "methods"),
    ({"valid_until": dt.date(2025, 1, 1)}, "valid_until"),
    ({"validity": "after_group_buy", "valid_days": 0}, "valid_days"),
    ({"commission": "tiered", "commission_tiers": ((Decimal(100), Decimal("0.05")),)}, "commission_tiers"),
    ({"store_names": ("不存在店",)}, "stores"),
])
def test_invalid_terms_are_refused_with_the_field(tenant_a, changes, field):
    merchant = signed(tenant_a.shop)
    with pytest.raises(Invalid) as exc:
        actors.submit_agreement(shop=tenant_a.shop, merchant=merchant, terms=terms(**changes), now=at(2026, 3, 1))
    assert exc.value.field == field


def test_members_are_platform_level_by_e164_and_group_buys_are_idempotent(tenant_a):
    merchant = signed(tenant_a.shop)
    first = actors.record_group_buy(shop=tenant_a.shop, merchant=merchant, phone="138 1234 5678", day=dt.date(2026, 2, 1))
    again = actors.record_group_buy(shop=tenant_a.shop, merchant=merchant, phone="+8613812345678", day=dt.date(2026, 2, 1))
    assert first == again and GroupBuy.objects.count() == 1
    assert Member.objects.get().phone_e164 == "+8613812345678" and str(Member.objects.get()) == "138****5678"
    with pytest.raises(Invalid):
        actors.enrol_member(shop=tenant_a.shop, phone="138****5678")


def test_another_operators_merchant_is_not_found(tenant_a):
    merchant = signed(tenant_a.shop)
    other = make_tenant("op-b")
    with pytest.raises(NotFound):
        actors.record_group_buy(shop=other.shop, merchant=merchant, phone="13812345678", day=dt.date(2026, 2, 1))
    with pytest.raises(Conflict):
        signed(tenant_a.shop)  # same name twice
