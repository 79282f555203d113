"""Verification at the till: masked member, eligibility or the reason why not, QR tokens, enumeration
lockout (clock injected), and a log row for every attempt."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import signing

from huitouke.core.errors import Invalid, NotFound
from huitouke.platform import qr
from huitouke.platform.models import Merchant, Verification
from huitouke.platform.services import actors, balance, verification
from huitouke.platform.tests.helpers import at, signed
from huitouke.testing.fixtures import make_tenant

pytestmark = pytest.mark.django_db
PHONE = "13812345678"
NOW = at(2026, 3, 10, 19)


@pytest.fixture
def merchant(tenant_a):
    merchant = signed(tenant_a.shop)
    actors.record_group_buy(shop=tenant_a.shop, merchant=merchant, phone=PHONE, day=dt.date(2026, 2, 1))
    return merchant


def check(shop, merchant, now=NOW, **kwargs):
    return verification.verify(shop=shop, merchant=merchant, now=now, **kwargs)


def test_an_eligible_member_is_shown_masked_with_the_discount_and_logged(tenant_a, merchant):
    result = check(tenant_a.shop, merchant, phone=PHONE)
    assert result.eligible and result.member_masked == "138****5678"
    assert verification.discount_of(result) == Decimal("0.85")
    logged = Verification.objects.get()
    assert (logged.outcome, logged.phone_masked, logged.discount_rate) == ("eligible", "138****5678", Decimal("0.85"))
    assert PHONE not in str(logged.__dict__)


def test_refusals_say_why_expired_excluded_store_suspended(tenant_a):
    shop = tenant_a.shop
    merchant = signed(shop, validity="after_group_buy", valid_days=30, valid_from=None, valid_until=None,
                      store_names=("朝阳店",))
    actors.record_group_buy(shop=shop, merchant=merchant, phone=PHONE, day=dt.date(2026, 2, 1))
    chaoyang, haidian = (merchant.stores.get(name=n) for n in ("朝阳店", "海淀店"))
    assert check(shop, merchant, phone=PHONE, store=chaoyang, now=at(2026, 3, 3)).eligible  # day 30
    expired = check(shop, merchant, phone=PHONE, store=chaoyang, now=at(2026, 3, 4))
    assert expired.eligibility.outcome == "expired" and "2026-03-03" in expired.eligibility.reason
    assert check(shop, merchant, phone=PHONE, store=haidian, now=at(2026, 2, 5)).eligibility.outcome == "excluded_store"
    Merchant.objects.filter(pk=merchant.pk).update(status="suspended", suspended_reason="agreement breached")
    suspended = check(shop, merchant, phone=PHONE, store=chaoyang, now=at(2026, 2, 5))
    assert suspended.eligibility.outcome == "suspended" and "agreement breached" in suspended.eligibility.reason
    assert Verification.objects.count() == 4


def test_a_merchant_past_its_top_up_deadline_is_refused_with_the_reason_and_resumes_after_a_top_up(tenant_a, merchant):
    shop = tenant_a.shop
    balance.adjust_balance(shop=shop, merchant=merchant, amount="-4600", reason="r", idempotency_key="a",
                           now=at(2026, 9, 29))
    merchant.refresh_from_db()
    refused = check(shop, merchant, phone=PHONE, now=at(2026, 10, 13, 9))  # before the daily job ran
    assert refused.eligibility.outcome == "suspended" and "top-up deadline" in refused.eligibility.reason
    balance.top_up(shop=shop, merchant=merchant, amount="5000", idempotency_key="t", now=at(2026, 10, 13, 10))
    merchant.refresh_from_db()
    assert check(shop, merchant, phone=PHONE, now=at(2026, 10, 13, 11)).eligible


def test_method_not_allowed_by_the_agreement_is_refused(tenant_a):
    merchant = signed(tenant_a.shop, methods=("phone",))
    assert check(tenant_a.shop, merchant, method="qr", token="x").eligibility.outcome == "bad_token"
    member = actors.enrol_member(shop=tenant_a.shop, phone=PHONE)
    token = qr.member_token(member, now=NOW)
    assert check(tenant_a.shop, merchant, method="qr", token=token).eligibility.outcome == "method_not_allowed"


def test_qr_tokens_expired_forged_or_another_operators_are_refused(tenant_a, merchant):
    member = actors.enrol_member(shop=tenant_a.shop, phone=PHONE)
    token = qr.member_token(member, now=NOW)
    assert check(tenant_a.shop, merchant, method="qr", token=token).eligible
    assert check(tenant_a.shop, merchant, method="qr", token=token, now=NOW + dt.timedelta(seconds=119)).eligible
    expired = check(tenant_a.shop, merchant, method="qr", token=token, now=NOW + dt.timedelta(minutes=2, seconds=1))
    assert expired.eligibility.outcome == "bad_token"
    forged = signing.dumps([tenant_a.shop.pk, member.pk, int(NOW.timestamp())], salt="another-salt", compress=True)
    assert check(tenant_a.shop, merchant, method="qr", token=forged).eligibility.outcome == "bad_token"
    assert check(tenant_a.shop, merchant, method="qr", token=token[:-2] + "xx").eligibility.outcome == "bad_token"
    other = make_tenant("op-b")
    assert qr.member_from_token(shop=other.shop, token=token, now=NOW) is None
    assert "<svg" in qr.qr_svg(token)


def test_enumeration_locks_the_login_out_after_five_misses_until_the_lockout_ends(tenant_a, merchant):
    shop, staff = tenant_a.shop, tenant_a.owner
    for index in range(verification.MAX_MISSES):
        miss = check(shop, merchant, phone=f"1391234{index:04d}", staff=staff, now=NOW + dt.timedelta(seconds=index))
        assert miss.eligibility.outcome == "not_member"
    locked = check(shop, merchant, phone=PHONE, staff=staff, now=NOW + dt.timedelta(minutes=1))
    assert locked.eligibility.outcome == "locked" and not locked.eligible
    assert check(shop, merchant, phone=PHONE, staff=None, now=NOW + dt.timedelta(minutes=1)).eligible  # other login
    later = NOW + dt.timedelta(seconds=4) + verification.LOCKOUT + dt.timedelta(seconds=1)
    assert check(shop, merchant, phone=PHONE, staff=staff, now=later).eligible
    assert Verification.objects.filter(outcome="locked").count() == 1
    assert Verification.objects.count() == verification.MAX_MISSES + 3


def test_lookups_beyond_the_window_limit_are_throttled_and_the_window_resets(tenant_a, merchant, monkeypatch):
    monkeypatch.setattr(verification, "MAX_LOOKUPS", 3)
    results = [check(tenant_a.shop, merchant, phone=PHONE, now=NOW + dt.timedelta(seconds=i)) for i in range(4)]
    assert [r.eligibility.outcome for r in results] == ["eligible"] * 3 + ["throttled"]
    assert check(tenant_a.shop, merchant, phone=PHONE, now=NOW + verification.WINDOW).eligible


def test_bad_input_and_another_merchants_store_are_errors_not_refusals(tenant_a, merchant):
    other = signed(tenant_a.shop, "别家")
    with pytest.raises(NotFound):
        check(tenant_a.shop, merchant, phone=PHONE, store=other.stores.first())
    with pytest.raises(Invalid):
        check(tenant_a.shop, merchant, phone="138****5678")
    with pytest.raises(NotFound):
        check(make_tenant("op-b").shop, merchant, phone=PHONE)


@pytest.mark.parametrize("bad", ["abc", "", 10**9])
def test_an_unknown_or_malformed_merchant_store_or_verification_id_is_a_404_and_logs_nothing(tenant_a, merchant, bad):
    from huitouke.platform.models import Consumption
    from huitouke.platform.services import consumption

    with pytest.raises(NotFound, match="no such merchant"):
        verification.verify(shop=tenant_a.shop, merchant=bad, phone=PHONE, now=NOW)
    with pytest.raises(NotFound, match="no such store"):
        verification.verify(shop=tenant_a.shop, merchant=merchant, phone=PHONE, store=bad, now=NOW)
    with pytest.raises(NotFound, match="no such verification"):
        consumption.record_consumption(shop=tenant_a.shop, merchant=merchant, phone=PHONE, amount="10",
                                       idempotency_key="k", verification=bad, now=NOW)
    assert not Verification.objects.exists() and not Consumption.objects.exists()
