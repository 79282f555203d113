"""Days overdue, segment overview, customer lists by segment and risk, the win-back rule, CLV histogram."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from huitouke.analytics.selectors import (
    clv_histogram,
    score_of,
    scored_customers,
    segment_overview,
    win_back,
)
from huitouke.analytics.services import days_overdue, refresh_scores
from huitouke.analytics.tests.test_refresh import AS_OF, small_shop  # noqa: F401 - the fixture
from huitouke.core.errors import Invalid
from huitouke.testing.factories import CustomerFactory, CustomerScoreFactory


def scored(tenant, *, net_spend: str = "100.00", **fields):
    customer = CustomerFactory(shop=tenant.shop, net_spend=Decimal(net_spend))
    return CustomerScoreFactory(customer=customer, **fields)


def test_days_overdue_is_days_since_last_purchase_minus_the_customers_mean_gap():
    overdue = days_overdue(
        recency_days=np.array([5, 145, 10, 20]), first_to_last_days=np.array([24.0, 31.0, 0.0, 25.0]),
        frequency=np.array([2.0, 1.0, 0.0, 2.0]),
    )
    assert overdue[[0, 1, 3]].tolist() == [5 - 12, 145 - 31, 20 - 12.5]
    assert np.isnan(overdue[2])  # a one-time buyer has no gap of her own


def test_refresh_stores_days_overdue_and_null_for_one_time_buyers(tenant_a, small_shop):  # noqa: F811
    refresh_scores(shop=tenant_a.shop, as_of=AS_OF)

    def overdue(key: str) -> float | None:
        return score_of(shop=tenant_a.shop, customer=small_shop[key]).days_overdue

    assert overdue("A") == -7.0  # bought 06-01, 06-10, 06-25: gap 12 days, last 5 days ago
    assert overdue("D") == 114.0  # 01-05 and 02-05: gap 31 days, last 145 days ago
    assert (overdue("B"), overdue("C"), overdue("E")) == (None, None, None)


def test_segment_overview_counts_shares_revenue_and_mean_clv_per_segment(tenant_a, tenant_b):
    scored(tenant_a, segment="champions", net_spend="900.00", clv_12m=Decimal("300.00"))
    scored(tenant_a, segment="champions", net_spend="100.00", clv_12m=Decimal("101.01"))
    scored(tenant_a, segment="lost", net_spend="50.00", clv_12m=None)
    scored(tenant_b, segment="lost", net_spend="7777.00")
    rows = {row.segment: row for row in segment_overview(shop=tenant_a.shop)}
    assert len(rows) == 10  # every segment, empty ones too
    champions, lost = rows["champions"], rows["lost"]
    assert (champions.name_zh, champions.name_en) == ("重要价值客户", "Champions")
    assert (champions.customers, champions.share, champions.revenue) == (2, 0.6667, Decimal("1000.00"))
    assert champions.average_clv == Decimal("200.51")  # (30000 + 10101) / 2 = 20050.5 fen, half up
    assert (lost.customers, lost.revenue, lost.average_clv) == (1, Decimal("50.00"), None)
    assert rows["new"].customers == 0 and rows["new"].share == 0.0


def test_customer_list_filters_by_segment_and_risk_and_sorts(tenant_a, tenant_b):
    rich = scored(tenant_a, segment="champions", clv_12m=Decimal("900.00"), p_alive=0.9, recency_days=3)
    fading = scored(tenant_a, segment="champions", clv_12m=Decimal("50.00"), p_alive=0.2, recency_days=200,
                    days_overdue=150.0)
    lost = scored(tenant_a, segment="lost", clv_12m=None, p_alive=0.01, recency_days=400)
    scored(tenant_b, segment="champions", p_alive=0.1)
    shop = tenant_a.shop
    assert list(scored_customers(shop=shop, order="clv")) == [rich, fading, lost]
    assert list(scored_customers(shop=shop, order="p_alive")) == [lost, fading, rich]
    assert list(scored_customers(shop=shop, order="recency")) == [rich, fading, lost]
    assert list(scored_customers(shop=shop, order="overdue"))[0] == fading
    assert list(scored_customers(shop=shop, segment="champions")) == [rich, fading]
    assert list(scored_customers(shop=shop, at_risk=True)) == [fading, lost]
    assert list(scored_customers(shop=shop, segment="champions", at_risk=True, risk_below=0.1)) == []


def test_erased_and_merged_away_customers_leave_the_lists(tenant_a):
    keep = scored(tenant_a)
    erased = scored(tenant_a)
    erased.customer.erased_at = timezone.now()
    erased.customer.save(update_fields=["erased_at"])
    gone = scored(tenant_a)
    gone.customer.merged_into = keep.customer
    gone.customer.save(update_fields=["merged_into"])
    assert list(scored_customers(shop=tenant_a.shop)) == [keep]


@pytest.mark.parametrize("kwargs, field", [
    ({"segment": "vip"}, "segment"), ({"order": "name"}, "order"), ({"risk_below": 0.0}, "risk_below"),
    ({"risk_below": 1.5}, "risk_below"),
])
def test_bad_list_parameters_are_refused_by_name(tenant_a, kwargs, field):
    with pytest.raises(Invalid) as exc:
        scored_customers(shop=tenant_a.shop, **kwargs)
    assert exc.value.field == field


def test_win_back_takes_high_past_value_with_falling_p_alive_and_respects_do_not_contact(tenant_a, tenant_b):
    top = 4  # the default win-back minimum score
    big_spender = scored(tenant_a, m_score=5, f_score=1, p_alive=0.2, net_spend="5000.00")
    frequent = scored(tenant_a, m_score=1, f_score=top, p_alive=0.4, net_spend="800.00")
    scored(tenant_a, m_score=5, f_score=5, p_alive=0.6)  # still likely alive
    scored(tenant_a, m_score=top - 1, f_score=top - 1, p_alive=0.1)  # not high value
    scored(tenant_a, m_score=5, f_score=5, p_alive=None)  # no model: no verdict
    quiet = scored(tenant_a, m_score=5, f_score=5, p_alive=0.1)
    quiet.customer.do_not_contact = True
    quiet.customer.save(update_fields=["do_not_contact"])
    scored(tenant_b, m_score=5, f_score=5, p_alive=0.1)
    assert list(win_back(shop=tenant_a.shop)) == [big_spender, frequent]


def test_clv_histogram_has_readable_ranges_and_an_open_top_bucket(tenant_a):
    for yuan in range(1, 21):
        scored(tenant_a, clv_12m=Decimal(yuan))
    scored(tenant_a, clv_12m=Decimal("10000.00"))  # one whale: above the 95th percentile
    scored(tenant_a, clv_12m=None)
    buckets = clv_histogram(shop=tenant_a.shop, buckets=10)
    # 95th percentile 20 yuan / 9 ranges -> 2.22 -> 5 yuan wide.
    assert [b.customers for b in buckets] == [4, 5, 5, 5, 1, 0, 0, 0, 0, 1]
    assert (buckets[0].low, buckets[0].high) == (Decimal("0.00"), Decimal("5.00"))
    assert (buckets[-1].low, buckets[-1].high) == (Decimal("45.00"), None)


def test_clv_histogram_is_empty_without_clv(tenant_a):
    scored(tenant_a, clv_12m=None)
    assert clv_histogram(shop=tenant_a.shop) == []



def test_a_shops_own_thresholds_move_the_risk_and_win_back_lists(tenant_a):
    from huitouke.analytics.services import update_thresholds

    wavering = scored(tenant_a, m_score=3, f_score=3, p_alive=0.6, net_spend="900.00")
    assert wavering not in win_back(shop=tenant_a.shop)
    assert wavering not in scored_customers(shop=tenant_a.shop, at_risk=True)
    update_thresholds(shop=tenant_a.shop, staff=tenant_a.owner, risk_p_alive=0.7, win_back_min_score=3)
    assert wavering in scored_customers(shop=tenant_a.shop, at_risk=True)
    assert list(win_back(shop=tenant_a.shop)) == [wavering]
