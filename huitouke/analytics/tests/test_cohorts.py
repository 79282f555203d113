"""Cohorts and repeat figures per month, on a shop small enough to work out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from huitouke.analytics.models.cohorts import cohorts
from huitouke.analytics.selectors import cohort_report
from huitouke.analytics.tests.test_refresh import buy
from huitouke.core.errors import Invalid
from huitouke.testing.factories import CustomerFactory

AS_OF = dt.date(2025, 2, 28)


@pytest.fixture
def two_months(tenant_a):
    """January and February 2025: cohort January = A, B; cohort February = C; D first bought in 2024."""
    a, b, c, d = (CustomerFactory(shop=tenant_a.shop) for _ in range(4))
    buy(tenant_a, a, dt.date(2025, 1, 5), "100.00")
    buy(tenant_a, a, dt.date(2025, 1, 20), "50.00")  # repeat within the first month
    buy(tenant_a, a, dt.date(2025, 2, 10), "30.00")
    buy(tenant_a, b, dt.date(2025, 1, 10), "200.00")
    buy(tenant_a, c, dt.date(2025, 2, 3), "80.00")
    buy(tenant_a, c, dt.date(2025, 2, 3), "20.00")  # same day: no repeat
    buy(tenant_a, d, dt.date(2024, 12, 1), "10.00")
    buy(tenant_a, d, dt.date(2025, 2, 15), "40.00")
    buy(tenant_a, None, dt.date(2025, 2, 20), "60.00")  # a guest: revenue, no customer
    buy(tenant_a, a, dt.date(2025, 3, 2), "999.00")  # after the as-of day: ignored
    return {"a": a, "b": b, "c": c, "d": d}


def test_cohort_matrix_cells_match_the_hand_worked_shop(tenant_a, two_months):
    report = cohort_report(shop=tenant_a.shop, months=2, as_of=AS_OF)
    assert report.months == ["2025-01", "2025-02"]
    january, february = report.cohorts
    assert (january.month, january.size, january.revenue) == ("2025-01", 2, Decimal("380.00"))
    assert january.active == [2, 1]
    assert january.repeat_customers == [1, 1]
    assert january.repeat_rate == [0.5, 0.5]
    assert january.revenue_by_month == [Decimal("350.00"), Decimal("30.00")]
    assert (february.month, february.size, february.revenue) == ("2025-02", 1, Decimal("100.00"))
    assert february.active == [1, None]
    assert february.repeat_rate == [0.0, None]
    assert february.revenue_by_month == [Decimal("100.00"), None]


def test_repeat_rate_and_repeat_revenue_share_per_month(tenant_a, two_months):
    jan, feb = cohort_report(shop=tenant_a.shop, months=2, as_of=AS_OF).monthly
    assert (jan.buyers, jan.repeat_buyers, jan.repeat_rate) == (2, 1, 0.5)
    assert (jan.revenue, jan.repeat_revenue, jan.repeat_revenue_share) == (
        Decimal("350.00"), Decimal("50.00"), round(50 / 350, 4)
    )
    # D (first bought in 2024) and A bought again; the guest's 60 is revenue but no buyer.
    assert (feb.buyers, feb.repeat_buyers, feb.repeat_rate) == (3, 2, round(2 / 3, 4))
    assert (feb.revenue, feb.repeat_revenue, feb.repeat_revenue_share) == (
        Decimal("230.00"), Decimal("70.00"), round(70 / 230, 4)
    )


def test_a_customer_who_first_bought_before_the_window_is_in_no_cohort(tenant_a, two_months):
    report = cohort_report(shop=tenant_a.shop, months=3, as_of=AS_OF)
    assert [row.month for row in report.cohorts] == ["2024-12", "2025-01", "2025-02"]
    december = report.cohorts[0]
    assert (december.size, december.active, december.repeat_rate) == (1, [1, 0, 1], [0.0, 0.0, 1.0])


def test_another_shops_purchases_never_enter_the_cohorts(tenant_a, tenant_b, two_months):
    buy(tenant_b, CustomerFactory(shop=tenant_b.shop), dt.date(2025, 1, 7), "5000.00")
    report = cohort_report(shop=tenant_a.shop, months=2, as_of=AS_OF)
    assert [row.size for row in report.cohorts] == [2, 1]
    assert report.monthly[0].revenue == Decimal("350.00")
    empty = cohort_report(shop=tenant_b.shop, months=2, as_of=AS_OF)
    assert [row.size for row in empty.cohorts] == [1, 0]
    assert empty.cohorts[1].repeat_rate == [None, None]


@pytest.mark.parametrize("months", [0, 37, -1])
def test_months_out_of_range_is_refused(tenant_a, months):
    with pytest.raises(Invalid) as exc:
        cohort_report(shop=tenant_a.shop, months=months, as_of=AS_OF)
    assert exc.value.field == "months"


def test_cohorts_need_no_loop_per_customer_and_handle_many_customers():
    # 200,000 customers who each bought twice, one month apart: every observed cohort is fully active in month 1.
    rng = np.random.default_rng(3)
    n = 200_000
    first = rng.integers(0, 6, n)
    customer = np.concatenate([np.arange(n), np.arange(n)])
    month = np.concatenate([first, first + 1])
    table = cohorts(
        customer=customer, month=month, fen=np.full(2 * n, 100), is_repeat=np.repeat([False, True], n),
        first_month=0, months=6,
    )
    assert table.size.tolist() == np.bincount(first, minlength=6).tolist()
    assert (table.active[:, 1][:5] == table.size[:5]).all()
    assert table.repeat[:, 0].sum() == 0
    assert table.revenue_fen.sum() == 100 * (2 * n - (first == 5).sum())
