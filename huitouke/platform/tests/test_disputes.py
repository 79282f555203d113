"""Disputes: a merchant contests a line of its own statement; the operator rejects it (the record stands) or
settles it with an adjustment entry in the balance ledger. Nothing is edited; each decision happens once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huitouke.core.errors import Conflict, Forbidden, Invalid, NotFound
from huitouke.core.models import Role
from huitouke.platform.models import BalanceEntry, Consumption, Dispute, Merchant, Statement
from huitouke.platform.services import actors, balance, consumption, disputes, statements
from huitouke.platform.tests.helpers import at, signed
from huitouke.platform.tests.test_pages import logged_in
from huitouke.testing.factories import StaffFactory

pytestmark = pytest.mark.django_db
PHONE = "13812345678"
SETTLED = at(2026, 4, 3, 10)


@pytest.fixture
def billed(tenant_a):
    """A's March statement (¥128.50 + ¥300.00 at 6%), B signed, both with a login."""
    shop = tenant_a.shop
    a, b = signed(shop, "A店", commission_rate=Decimal("0.06")), signed(shop, "B店")
    actors.record_group_buy(shop=shop, merchant=a, phone=PHONE, day=dt.date(2026, 2, 1))
    for index, amount in enumerate(["128.50", "300.00"]):
        moment = at(2026, 3, 10 + index, 19)
        consumption.record_consumption(shop=shop, merchant=a, phone=PHONE, amount=amount, idempotency_key=f"k{index}",
                                       completed_at=moment, now=moment)
    statement = statements.issue_statement(shop=shop, merchant=a, month=dt.date(2026, 3, 1), now=at(2026, 4, 1, 2))
    logins = {}
    for merchant in (a, b):
        staff = StaffFactory(shop=shop, user__username=f"login-{merchant.pk}", role=Role.ASSOCIATE)
        actors.link_login(shop=shop, merchant=merchant, staff=staff)
        logins[merchant.name] = staff
    return tenant_a, a, b, statement, logins


def first_line(statement: Statement):
    return statement.lines.order_by("consumption__completed_at").first()


def test_settling_credits_the_commission_on_the_spend_taken_off_as_an_adjustment_never_an_edit(billed):
    tenant, a, _, statement, logins = billed
    line = first_line(statement)
    raised = disputes.raise_dispute(shop=tenant.shop, merchant=a, line=line, reason="客人未用回头客折扣",
                                    staff=logins["A店"], now=at(2026, 4, 2))
    settled = disputes.settle_dispute(shop=tenant.shop, dispute=raised, spend=Decimal("128.50"), note="核实属实",
                                      staff=tenant.owner, now=SETTLED)
    assert settled.status == "adjusted" and settled.adjustment.amount == Decimal("7.71")  # 128.50 × 6% = 7.71
    assert (settled.adjustment.kind, settled.adjustment.statement_id) == ("adjustment", statement.pk)
    again = disputes.settle_dispute(shop=tenant.shop, dispute=raised, spend=Decimal("128.50"), note="核实属实",
                                    staff=tenant.owner, now=SETTLED)
    assert again.adjustment_id == settled.adjustment_id and BalanceEntry.objects.filter(kind="adjustment").count() == 1
    a.refresh_from_db()
    assert a.balance == Decimal("5000") - Decimal("25.71") + Decimal("7.71")  # commission on 428.50, then the credit
    assert a.balance == balance.balance_from_entries(shop=tenant.shop, merchant=a)
    statement.refresh_from_db()
    assert (statement.spend, statement.commission) == (Decimal("428.50"), Decimal("25.71"))  # the record stands
    assert Consumption.objects.get(pk=line.consumption_id).amount == Decimal("128.50")


def test_a_rejected_dispute_changes_no_money_and_cannot_then_be_settled(billed):
    tenant, a, _, statement, logins = billed
    raised = disputes.raise_dispute(shop=tenant.shop, merchant=a, line=first_line(statement), reason="金额不对")
    rejected = disputes.reject_dispute(shop=tenant.shop, dispute=raised, note="以平台记录为准", staff=tenant.owner)
    assert rejected.status == "rejected" and rejected.adjustment is None
    with pytest.raises(Conflict) as exc:
        disputes.settle_dispute(shop=tenant.shop, dispute=raised, spend=Decimal("10"), note="x", staff=tenant.owner)
    assert exc.value.code == "already_resolved"
    assert not BalanceEntry.objects.filter(kind="adjustment").exists()


def test_bad_disputes_and_settlements_are_refused(billed):
    tenant, a, b, statement, logins = billed
    line = first_line(statement)
    with pytest.raises(NotFound):  # B cannot dispute A's line
        disputes.raise_dispute(shop=tenant.shop, merchant=b, line=line, reason="x")
    with pytest.raises(Invalid) as exc:
        disputes.raise_dispute(shop=tenant.shop, merchant=a, line=line, reason="  ")
    assert exc.value.field == "reason"
    raised = disputes.raise_dispute(shop=tenant.shop, merchant=a, line=line, reason="重复录入")
    assert disputes.raise_dispute(shop=tenant.shop, merchant=a, line=line, reason="重复录入") == raised  # a retry
    with pytest.raises(Conflict):
        disputes.raise_dispute(shop=tenant.shop, merchant=a, line=line, reason="another reason")
    with pytest.raises(Forbidden):  # a merchant login cannot decide its own dispute
        disputes.settle_dispute(shop=tenant.shop, dispute=raised, spend=Decimal("1"), note="x", staff=logins["A店"])
    for spend in (Decimal("0"), Decimal("128.51")):
        with pytest.raises(Invalid) as exc:
            disputes.settle_dispute(shop=tenant.shop, dispute=raised, spend=spend, note="x", staff=tenant.owner)
        assert exc.value.field == "spend"
    with pytest.raises(Invalid) as exc:
        disputes.settle_dispute(shop=tenant.shop, dispute=raised, spend=Decimal("0.05"), note="x", staff=tenant.owner)
    assert "rounds to 0.00" in exc.value.message  # 0.05 × 6% = 0.003
    assert Dispute.objects.get().status == "open" and Merchant.objects.get(pk=a.pk).balance == Decimal("4974.29")


def test_merchant_raises_in_its_portal_and_the_operator_settles_in_the_console(billed):
    tenant, a, b, statement, logins = billed
    line = first_line(statement)
    merchant_a, merchant_b = logged_in(logins["A店"]), logged_in(logins["B店"])
    portal = merchant_a.get("/platform/merchant/").content.decode()
    assert 'data-testid="dispute-form"' in portal
    assert merchant_b.post("/platform/disputes/", {"line": line.pk, "reason": "x"}).status_code == 404
    sent = merchant_a.post("/platform/disputes/", {"line": line.pk, "reason": "客人未出示会员"}, follow=True)
    assert "客人未出示会员" in sent.content.decode()
    dispute = Dispute.objects.get()
    operator = logged_in(tenant.owner)
    assert "客人未出示会员" in operator.get("/platform/").content.decode()
    assert merchant_a.post(f"/platform/disputes/{dispute.pk}/resolve/",
                           {"action": "settle", "spend": "128.50", "note": "x"}).status_code == 403
    bad = operator.post(f"/platform/disputes/{dispute.pk}/resolve/", {"action": "settle", "spend": "abc", "note": "x"},
                        follow=True)
    assert bad.status_code == 200 and Dispute.objects.get().status == "open"
    operator.post(f"/platform/disputes/{dispute.pk}/resolve/", {"action": "settle", "spend": "128.50", "note": "属实"})
    assert Dispute.objects.get().status == "adjusted"
    history = merchant_a.get("/platform/merchant/").content.decode()
    assert "¥7.71" in history  # the credit, in the balance history and the dispute
    assert f'name="line" value="{line.pk}"' not in history  # disputed once
    assert 'data-testid="dispute-form"' in history  # the other line still can be
