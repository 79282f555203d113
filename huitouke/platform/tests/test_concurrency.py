"""Platform ledgers under real concurrency: threads with their own connections, released together.

Runs on SQLite (writer turn) and on PostgreSQL (row locks) in the second pass.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum

from huitouke.platform.models import BalanceEntry, Consumption, Member, MemberPoints, Merchant
from huitouke.platform.services import actors, balance, consumption, statements
from huitouke.platform.tests.helpers import at, signed
from huitouke.testing.concurrency import run_together
from huitouke.testing.fixtures import make_tenant

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "13812345678"


def test_concurrent_recordings_keep_points_exact_and_retries_have_one_effect():
    shop = make_tenant("plat-conc").shop
    merchant = signed(shop)
    actors.record_group_buy(shop=shop, merchant=merchant, phone=PHONE, day=dt.date(2026, 2, 1))
    moment = at(2026, 3, 10, 19)
    results = run_together(16, lambda i: consumption.record_consumption(
        shop=shop, merchant=merchant, phone=PHONE, amount=Decimal("10.10"), idempotency_key=f"k{i % 8}", now=moment))
    assert not [r for r in results if isinstance(r, Exception)]
    assert Consumption.objects.count() == 8
    member = Member.objects.get()
    assert member.points_balance == 8 * 101 == MemberPoints.objects.aggregate(s=Sum("delta"))["s"]


def test_concurrent_top_ups_adjustments_and_statement_issue_keep_the_balance_exact():
    shop = make_tenant("plat-bal").shop
    merchant = signed(shop)
    actors.record_group_buy(shop=shop, merchant=merchant, phone=PHONE, day=dt.date(2026, 2, 1))
    consumption.record_consumption(shop=shop, merchant=merchant, phone=PHONE, amount="1000",
                                   idempotency_key="c", now=at(2026, 3, 10))

    def work(index: int):
        if index == 0:
            return statements.issue_statement(shop=shop, merchant=merchant, month=dt.date(2026, 3, 1),
                                              now=at(2026, 4, 1))
        if index % 2:
            return balance.top_up(shop=shop, merchant=merchant, amount="5000", idempotency_key=f"t{index}")
        return balance.adjust_balance(shop=shop, merchant=merchant, amount="-0.01", reason="r",
                                      idempotency_key=f"a{index}")

    results = run_together(12, work)
    assert not [r for r in results if isinstance(r, Exception)]
    merchant = Merchant.objects.get()
    # 5000 deposit + 6 top-ups − 5 × 0.01 − 50.00 commission (1000 × 5%)
    assert merchant.balance == Decimal("34949.95") == BalanceEntry.objects.aggregate(s=Sum("amount"))["s"]
