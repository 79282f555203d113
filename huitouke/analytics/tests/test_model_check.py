"""Model check: BG/NBD fitted on a calibration period, its holdout predictions against what happened."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
import pytest

from huitouke.analytics.models.holdout import by_calibration_frequency
from huitouke.analytics.services import model_check
from huitouke.analytics.tests.test_refresh import AS_OF, buy, draw_bgnbd_shop
from huitouke.core.errors import Invalid
from huitouke.orders.models import Order
from huitouke.testing.factories import CustomerFactory


def test_groups_average_actual_and_predicted_by_capped_calibration_frequency():
    groups = by_calibration_frequency(
        frequency=np.array([0, 0, 1, 9, 7]), actual=np.array([0, 2, 1, 4, 2]),
        predicted=np.array([0.5, 0.5, 1.0, 3.0, 2.0]), max_frequency=7,
    )
    assert groups.customers.tolist() == [2, 1, 0, 0, 0, 0, 0, 2]
    assert groups.actual_mean[[0, 1, 7]].tolist() == [1.0, 1.0, 3.0]
    assert groups.predicted_mean[[0, 1, 7]].tolist() == [0.5, 1.0, 2.5]
    assert np.isnan(groups.actual_mean[2])


def _holdout_counts(shop, calibration_end: dt.date) -> dict[int, tuple[int, int]]:
    """Per customer who bought by the calibration end: (calibration repeat days, holdout purchase days)."""
    days = defaultdict(set)
    for customer_id, day in Order.objects.filter(shop=shop, is_purchase=True, purchase_day__lte=AS_OF).values_list(
        "customer_id", "purchase_day"
    ):
        days[customer_id].add(day)
    out = {}
    for customer_id, bought in days.items():
        before = [d for d in bought if d <= calibration_end]
        if before:
            out[customer_id] = (len(before) - 1, len([d for d in bought if d > calibration_end]))
    return out


def test_model_check_compares_holdout_purchases_with_the_calibration_fit(tenant_a):
    draw_bgnbd_shop(tenant_a, seed=1)  # a seed whose calibration period the model fits
    check = model_check(shop=tenant_a.shop, as_of=AS_OF, holdout_days=120)
    assert (check.calibration_end, check.holdout_days, check.message) == (dt.date(2025, 3, 2), 120, "")
    assert set(check.params) == {"r", "alpha", "a", "b", "loglik"}
    counts = _holdout_counts(tenant_a.shop, dt.date(2025, 3, 2))
    assert check.customers == len(counts)
    assert check.actual_total == sum(held for _, held in counts.values())
    for group in check.groups:
        members = [held for freq, held in counts.values() if min(freq, 7) == int(group.label.rstrip("+"))]
        assert group.customers == len(members)
        assert group.actual == (round(sum(members) / len(members), 4) if members else None)
        assert (group.predicted is None) == (not members)
    assert [g.label for g in check.groups] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    # Drawn from the model itself, so the fitted model predicts the holdout well: 35.4 predicted, 36 seen.
    assert check.actual_total == 36
    assert check.predicted_total == pytest.approx(check.actual_total, rel=0.1)


def test_default_holdout_is_the_last_quarter_of_the_span(tenant_a):
    customer = CustomerFactory(shop=tenant_a.shop)
    buy(tenant_a, customer, AS_OF - dt.timedelta(days=400), "10.00")
    check = model_check(shop=tenant_a.shop, as_of=AS_OF)
    assert check.holdout_days == 100
    assert check.groups == [] and "customers" in check.message  # too little data to fit: says why


@pytest.mark.parametrize("holdout_days", [0, 400, 10_000])
def test_holdout_longer_than_the_history_is_refused(tenant_a, holdout_days):
    buy(tenant_a, CustomerFactory(shop=tenant_a.shop), AS_OF - dt.timedelta(days=400), "10.00")
    with pytest.raises(Invalid) as exc:
        model_check(shop=tenant_a.shop, as_of=AS_OF, holdout_days=holdout_days)
    assert exc.value.field == "holdout_days"


@pytest.mark.parametrize("holdout_days", [None, 30])
def test_a_shop_without_purchases_cannot_be_checked(tenant_a, holdout_days):
    with pytest.raises(Invalid) as exc:
        model_check(shop=tenant_a.shop, as_of=AS_OF, holdout_days=holdout_days)
    assert "no purchases" in exc.value.message
