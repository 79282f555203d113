"""The prepaid balance: append-only, exact, idempotent; low balance → deadline in Chinese working days →
suspension → resumption by a top-up."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import chinese_calendar
import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huitouke.core.errors import Conflict, Forbidden, Invalid
from huitouke.core.models import Role
from huitouke.platform.models import BalanceAlert, BalanceEntry, Merchant
from huitouke.platform.services import balance
from huitouke.platform.tests.helpers import at, signed
from huitouke.testing.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_signing_records_the_5000_deposit(tenant_a):
    merchant = signed(tenant_a.shop)
    assert merchant.balance == Decimal("5000.00")
    assert list(BalanceEntry.objects.values_list("kind", "amount")) == [("deposit", Decimal("5000.00"))]
    with pytest.raises(Invalid):
        balance.sign_merchant(shop=tenant_a.shop, name="小店", terms=None, deposit=Decimal("4999.99"))


def test_top_ups_are_at_least_5000_idempotent_and_by_the_operator_only(tenant_a):
    merchant = signed(tenant_a.shop)
    with pytest.raises(Invalid):
        balance.top_up(shop=tenant_a.shop, merchant=merchant, amount=Decimal("4999.99"), idempotency_key="t1")
    first = balance.top_up(shop=tenant_a.shop, merchant=merchant, amount="¥5,000", idempotency_key="t1")
    assert balance.top_up(shop=tenant_a.shop, merchant=merchant, amount="5000", idempotency_key="t1") == first
    with pytest.raises(Conflict):
        balance.adjust_balance(shop=tenant_a.shop, merchant=merchant, amount="-1", reason="x", idempotency_key="t1")
    associate = StaffFactory(shop=tenant_a.shop, role=Role.ASSOCIATE)
    with pytest.raises(Forbidden):
        balance.top_up(shop=tenant_a.shop, merchant=merchant, amount="5000", idempotency_key="t2", staff=associate)
    merchant.refresh_from_db()
    assert merchant.balance == Decimal("10000.00") == balance.balance_from_entries(shop=tenant_a.shop, merchant=merchant)


def test_low_balance_on_2026_09_29_gets_a_deadline_across_the_national_day_holiday(tenant_a):
    merchant = signed(tenant_a.shop)
    low_at = at(2026, 9, 29, 15)
    balance.adjust_balance(shop=tenant_a.shop, merchant=merchant, amount="-4600", reason="dispute settled",
                           idempotency_key="adj", now=low_at)
    # 5 working days after Tue 29 Sep: Wed 30 Sep, then the National Day holiday (1–7 Oct 2026 per
    # chinese-calendar), then the adjusted working days and the week after: the library says 2026-10-12.
    expected = chinese_calendar.find_workday(5, dt.date(2026, 9, 29))
    assert expected == dt.date(2026, 10, 12)
    merchant.refresh_from_db()
    assert merchant.balance == Decimal("400.00") and merchant.topup_deadline == expected
    alert = BalanceAlert.objects.get()
    assert (alert.balance, alert.deadline) == (Decimal("400.00"), expected)
    # still active on the deadline day; suspended the day after; a top-up resumes it
    assert balance.enforce_deadlines(shop=tenant_a.shop, now=at(2026, 10, 12, 23, 59)) == []
    assert balance.suspension_reason(merchant, at(2026, 10, 12, 23, 59)) is None
    assert [m.pk for m in balance.enforce_deadlines(shop=tenant_a.shop, now=at(2026, 10, 13, 0, 1))] == [merchant.pk]
    merchant.refresh_from_db()
    assert merchant.status == Merchant.Status.SUSPENDED
    assert balance.suspension_reason(merchant, at(2026, 10, 13)) == balance.SUSPENDED_FOR_BALANCE
    balance.top_up(shop=tenant_a.shop, merchant=merchant, amount="5000", idempotency_key="topup", now=at(2026, 10, 14))
    merchant.refresh_from_db()
    assert (merchant.status, merchant.topup_deadline, merchant.balance) == ("active", None, Decimal("5400.00"))


def test_a_second_drop_while_already_low_keeps_the_first_deadline(tenant_a):
    merchant = signed(tenant_a.shop)
    balance.adjust_balance(shop=tenant_a.shop, merchant=merchant, amount="-4600", reason="a", idempotency_key="a1",
                           now=at(2026, 9, 29))
    balance.adjust_balance(shop=tenant_a.shop, merchant=merchant, amount="-100", reason="b", idempotency_key="a2",
                           now=at(2026, 10, 9))
    merchant.refresh_from_db()
    assert merchant.topup_deadline == dt.date(2026, 10, 12) and BalanceAlert.objects.count() == 1


@pytest.mark.parametrize(("low_on", "deadline"), [
    (dt.date(2026, 11, 1), dt.date(2026, 11, 6)),  # a Sunday: Mon 2 … Fri 6 Nov are the five
    (dt.date(2026, 10, 1), dt.date(2026, 10, 13)),  # National Day: 8, 9, Sat 10 (a working day), 12, 13 Oct
    (dt.date(2026, 10, 10), dt.date(2026, 10, 16)),  # the adjusted working Saturday counts as a working day
    (dt.date(2026, 9, 29), dt.date(2026, 10, 12)),
])
def test_the_deadline_is_the_fifth_working_day_after_the_day_even_from_a_weekend_or_holiday(low_on, deadline):
    assert balance.topup_deadline(low_on) == deadline


def test_balances_command_lists_deadlines_and_suspensions_as_json(tenant_a, capsys):
    merchant = signed(tenant_a.shop)
    balance.adjust_balance(shop=tenant_a.shop, merchant=merchant, amount="-4900", reason="a", idempotency_key="a1",
                           now=at(2026, 1, 6))
    call_command("platform", "balances", "--json")
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["balance"] == "100.00" and rows[0]["status"] == "suspended" and rows[0]["overdue"] is True
    assert rows[0]["topup_deadline"] == "2026-01-13"  # Tue 6 Jan: Wed 7 … Tue 13


operations = st.lists(
    st.tuples(st.sampled_from(["topup", "adjust"]), st.integers(min_value=-900_000, max_value=2_000_000)),
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_balance_always_equals_the_sum_of_entries_and_a_plain_reference(tenant_a, ops):
    merchant = Merchant.objects.filter(shop=tenant_a.shop).first() or signed(tenant_a.shop)
    expected = balance.balance_from_entries(shop=tenant_a.shop, merchant=merchant)
    for index, (kind, fen) in enumerate(ops):
        amount = Decimal(fen) / 100
        key = f"{kind}-{BalanceEntry.objects.count()}-{index}"
        try:
            if kind == "topup":
                balance.top_up(shop=tenant_a.shop, merchant=merchant, amount=amount, idempotency_key=key)
            else:
                balance.adjust_balance(shop=tenant_a.shop, merchant=merchant, amount=amount, reason="r",
                                       idempotency_key=key)
            expected += amount
        except Invalid:
            assert (kind == "topup" and amount < 5000) or amount == 0
    merchant.refresh_from_db()
    assert merchant.balance == expected == balance.balance_from_entries(shop=tenant_a.shop, merchant=merchant)
    assert (merchant.topup_deadline is not None) == (merchant.balance < 500)


def test_the_operator_signs_tops_up_records_group_buys_and_links_logins_from_the_shell(tenant_a, capsys):
    slug = tenant_a.shop.slug
    call_command("platform", "sign", "--shop", slug, "--name", "老王", "--store", "朝阳店", "--discount", "0.85",
                 "--valid-until", "2099-12-31", "--json")
    signed_row = json.loads(capsys.readouterr().out)[0]
    assert signed_row["balance"] == "5000.00"
    merchant_id = str(signed_row["merchant_id"])
    call_command("platform", "topup", "--shop", slug, "--merchant", merchant_id, "--amount", "5000", "--key", "bank-1")
    call_command("platform", "topup", "--shop", slug, "--merchant", merchant_id, "--amount", "5000", "--key", "bank-1")
    call_command("platform", "group-buy", "--shop", slug, "--merchant", merchant_id, "--phone", "13812345678",
                 "--day", "2026-02-01")
    capsys.readouterr()
    call_command("platform", "group-buy", "--shop", slug, "--merchant", merchant_id, "--phone", "13812345678",
                 "--day", "2026-02-02", "--json")
    bought = json.loads(capsys.readouterr().out)[0]
    assert bought["member"] == "138****5678" and bought["member_page"].startswith("/platform/m/")
    from django.core.management.base import CommandError

    from huitouke.core.models import Role, Staff
    from huitouke.core.services import create_staff

    with pytest.raises(CommandError, match="owner's or manager's login cannot act for a merchant"):
        call_command("platform", "link-login", "--shop", slug, "--merchant", merchant_id, "--user", "shop-a-owner")
    create_staff(shop=tenant_a.shop, username="laowang-till", password=None)
    call_command("platform", "link-login", "--shop", slug, "--merchant", merchant_id, "--user", "laowang-till")
    assert Staff.objects.get(user__username="laowang-till").role == Role.MERCHANT
    assert Merchant.objects.get().balance == Decimal("10000.00")

    with pytest.raises(CommandError):
        call_command("platform", "topup", "--shop", slug, "--merchant", merchant_id, "--amount", "100", "--key", "x")
