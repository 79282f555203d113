"""Monthly statements: a month of consumption with a known commission (flat and tiered), cross-month
consumption, lines traceable to records, the commission deducted from the prepaid balance, CSV and CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from huitouke.core.errors import Invalid
from huitouke.platform.models import BalanceEntry, Statement
from huitouke.platform.services import actors, consumption, statements
from huitouke.platform.tests.helpers import at, signed

pytestmark = pytest.mark.django_db
PHONES = ["13812345678", "13912345678", "13712345678"]
MARCH = dt.date(2026, 3, 1)
ISSUE = at(2026, 4, 1, 2)
TIERS = ((Decimal(0), Decimal("0.03")), (Decimal(1000), Decimal("0.05")), (Decimal(5000), Decimal("0.08")))


def merchant_with_members(shop, name="老王火锅", **terms):
    merchant = signed(shop, name, **terms)
    for phone in PHONES:
        actors.record_group_buy(shop=shop, merchant=merchant, phone=phone, day=dt.date(2026, 2, 1))
    return merchant


def spend(shop, merchant, amounts, *, day=10):
    """Record each amount on March `day` + i, cycling through the members."""
    for index, amount in enumerate(amounts):
        moment = at(2026, 3, day + index % 15, 19)
        consumption.record_consumption(shop=shop, merchant=merchant, phone=PHONES[index % 3], amount=amount,
                                       idempotency_key=f"{merchant.pk}-{day}-{index}", completed_at=moment,
                                       now=moment)


def test_a_month_with_a_flat_rate_has_the_known_commission_traceable_to_its_records(tenant_a):
    shop = tenant_a.shop
    merchant = merchant_with_members(shop, commission_rate=Decimal("0.06"))
    spend(shop, merchant, ["128.50", "99.99", "1000.00", "0.01"])  # 1228.50
    statement = statements.issue_statement(shop=shop, merchant=merchant, month=MARCH, now=ISSUE)
    assert (statement.spend, statement.rate, statement.commission) == (Decimal("1228.50"), Decimal("0.06"),
                                                                      Decimal("73.71"))
    assert statement.consumptions == 4 == statement.lines.count()
    assert statements.lines_total(statement) == statement.spend
    assert statement.due_on == dt.date(2026, 4, 5)
    merchant.refresh_from_db()
    assert merchant.balance == Decimal("4926.29")
    entry = BalanceEntry.objects.get(kind="commission")
    assert (entry.amount, entry.statement_id) == (Decimal("-73.71"), statement.pk)
    again = statements.issue_statement(shop=shop, merchant=merchant, month=MARCH, now=ISSUE)
    assert again == statement and BalanceEntry.objects.filter(kind="commission").count() == 1


@pytest.mark.parametrize("amounts, rate, commission", [
    (["300", "399.99"], "0.03", "21.00"),           # 699.99 × 3% = 20.9997
    (["600", "400"], "0.05", "50.00"),              # exactly 1000 reaches the 5% tier
    (["2000", "2000", "1000.10"], "0.08", "400.01"),  # the whole 5000.10 at 8% = 400.008
])
def test_tiered_commission_takes_the_rate_of_the_tier_the_months_volume_reaches(tenant_a, amounts, rate, commission):
    shop = tenant_a.shop
    merchant = merchant_with_members(shop, commission="tiered", commission_tiers=TIERS)
    spend(shop, merchant, amounts)
    statement = statements.issue_statement(shop=shop, merchant=merchant, month=MARCH, now=ISSUE)
    total = sum(Decimal(a) for a in amounts)
    assert statement.rate == Decimal(rate)
    assert statement.commission == statements.commission_for(total, Decimal(rate)) == Decimal(commission)


def test_consumption_spanning_the_month_boundary_counts_in_the_next_month(tenant_a):
    shop = tenant_a.shop
    merchant = merchant_with_members(shop)
    spend(shop, merchant, ["100"])
    consumption.record_consumption(shop=shop, merchant=merchant, phone=PHONES[0], amount="50", idempotency_key="span",
                                   started_at=at(2026, 3, 31, 22), completed_at=at(2026, 4, 1, 0, 30),
                                   now=at(2026, 4, 1, 0, 31))
    march = statements.issue_statement(shop=shop, merchant=merchant, month=MARCH, now=ISSUE)
    april = statements.issue_statement(shop=shop, merchant=merchant, month=dt.date(2026, 4, 1), now=at(2026, 5, 1, 1))
    assert (march.spend, april.spend) == (Decimal("100.00"), Decimal("50.00"))


def test_a_record_written_after_its_months_statement_lands_on_the_next_one_and_reversals_count(tenant_a):
    shop = tenant_a.shop
    merchant = merchant_with_members(shop)
    spend(shop, merchant, ["100", "200"])
    march = statements.issue_statement(shop=shop, merchant=merchant, month=MARCH, now=ISSUE)
    first = march.lines.order_by("id").first().consumption
    consumption.correct_consumption(shop=shop, merchant=merchant, consumption=first, amount=Decimal("90"),
                                    reason="dispute", idempotency_key="fix", now=at(2026, 4, 2))
    consumption.record_consumption(shop=shop, merchant=merchant, phone=PHONES[0], amount="10", idempotency_key="late",
                                   completed_at=at(2026, 3, 31, 20), now=at(2026, 4, 2))
    april = statements.issue_statement(shop=shop, merchant=merchant, month=dt.date(2026, 4, 1), now=at(2026, 5, 1, 1))
    assert april.spend == Decimal("-100.00") + Decimal("90.00") + Decimal("10.00")
    assert april.consumptions == 3 and march.spend == Decimal("300.00")


def test_a_month_not_over_cannot_be_issued(tenant_a):
    merchant = merchant_with_members(tenant_a.shop)
    with pytest.raises(Invalid):
        statements.issue_statement(shop=tenant_a.shop, merchant=merchant, month=MARCH, now=at(2026, 3, 31, 23, 59))
    with pytest.raises(Invalid):
        statements.parse_month("2026-13")


def test_statement_csv_lists_each_record_with_the_member_masked_and_the_totals(tenant_a):
    shop = tenant_a.shop
    merchant = merchant_with_members(shop)
    spend(shop, merchant, ["128.50", "71.50"])
    statement = statements.issue_statement(shop=shop, merchant=merchant, month=MARCH, now=ISSUE)
    rows = list(csv.reader(io.StringIO(statements.statement_csv(statement))))
    assert rows[0] == statements.CSV_HEADER
    assert [row[7] for row in rows[1:3]] == ["138****5678", "139****5678"]
    assert [row[-1] for row in rows[1:]] == ["128.50", "71.50", "200.00", "0.0500", "10.00"]
    assert "13812345678" not in statements.statement_csv(statement)


def test_statements_command_issues_the_month_for_every_merchant_as_json(tenant_a, capsys):
    shop = tenant_a.shop
    a = merchant_with_members(shop, "A店")
    b = merchant_with_members(shop, "B店", commission_rate=Decimal("0.10"))
    spend(shop, a, ["100"])
    spend(shop, b, ["300"])
    call_command("platform", "statements", "--month", "2026-03", "--json")
    rows = {row["merchant"]: row for row in json.loads(capsys.readouterr().out)}
    assert (rows["A店"]["commission"], rows["B店"]["commission"]) == ("5.00", "30.00")
    assert Statement.objects.count() == 2


def test_the_daily_cron_issues_last_months_statements_once(tenant_a, capsys):
    shop = tenant_a.shop
    merchant = merchant_with_members(shop)
    consumption.record_consumption(shop=shop, merchant=merchant, phone=PHONES[0], amount="100", idempotency_key="x",
                                   now=at(2026, 3, 3))
    call_command("platform", "daily")
    call_command("platform", "daily")
    assert "1 statements" in capsys.readouterr().out
    assert Statement.objects.count() == 1  # last month's (the clock's), issued once
    assert statements.previous_month(dt.date(2026, 1, 15)) == dt.date(2025, 12, 1)


def test_issuing_a_month_in_batches_completes_a_partial_run_and_changes_nothing_on_a_rerun(tenant_a, monkeypatch):
    shop = tenant_a.shop
    monkeypatch.setattr(statements, "BATCH", 2)  # three merchants: two transactions
    merchants = [merchant_with_members(shop, name) for name in ("A店", "B店", "C店")]
    for index, merchant in enumerate(merchants):
        spend(shop, merchant, [str(100 * (index + 1))])
    early = statements.issue_statement(shop=shop, merchant=merchants[1], month=MARCH, now=ISSUE)  # a partial run
    issued = statements.issue_statements(shop=shop, month=MARCH, now=ISSUE)
    assert [s.merchant.name for s in issued] == ["A店", "B店", "C店"] and issued[1].pk == early.pk
    assert [s.commission for s in issued] == [Decimal("5.00"), Decimal("10.00"), Decimal("15.00")]
    assert [s.pk for s in statements.issue_statements(shop=shop, month=MARCH, now=ISSUE)] == [s.pk for s in issued]
    assert BalanceEntry.objects.filter(kind="commission").count() == 3
    for statement in issued:
        assert statement.consumptions == 1 == statement.lines.count()
        assert statements.lines_total(statement) == statement.spend
