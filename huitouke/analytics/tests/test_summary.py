"""The customer summary equals lifetimes' summary_data_from_transaction_data/calibration_and_holdout_data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from huitouke.analytics.models.errors import InvalidSummary
from huitouke.analytics.models.summary import customer_summary

EPOCH_DAY = 19_000  # 2022-01-08


def _transactions(seed: int, size: int = 6_000, customers: int = 700, days: int = 400, spread: int = 1):
    """Random transactions, several per customer and often several on one day; integer fen amounts."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, customers, size) * spread + 17
    day = EPOCH_DAY + rng.integers(0, days, size)
    amount = rng.integers(100, 90_000, size)
    return ids, day, amount


def _lifetimes_summary(ids, day, amount, as_of: int, multiplier: int) -> pd.DataFrame:
    from lifetimes.utils import summary_data_from_transaction_data

    frame = pd.DataFrame({"id": ids, "date": day.astype("datetime64[D]"), "amount": amount})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return summary_data_from_transaction_data(
            frame,
            "id",
            "date",
            monetary_value_col="amount",
            observation_period_end=pd.Timestamp(as_of, unit="D"),
            freq="D",
            freq_multiplier=multiplier,
        ).sort_index()


@pytest.mark.parametrize(("unit", "multiplier"), [("days", 1), ("weeks", 7)])
@pytest.mark.parametrize("spread", [1, 10**9])  # dense ids, and ids too sparse for a direct index
def test_summary_equals_lifetimes_exactly(unit, multiplier, spread):
    ids, day, amount = _transactions(seed=multiplier + spread % 97, spread=spread)
    as_of = EPOCH_DAY + 380  # the last 20 days fall after as_of and are ignored
    ours = customer_summary(customer=ids, day=day, amount=amount, as_of=as_of, unit=unit)
    theirs = _lifetimes_summary(ids, day, amount, as_of, multiplier)
    np.testing.assert_array_equal(ours.customer, theirs.index.to_numpy())
    for column in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_array_equal(getattr(ours, column), theirs[column].to_numpy(), err_msg=column)


def test_calibration_and_holdout_equal_lifetimes():
    from lifetimes.utils import calibration_and_holdout_data

    ids, day, amount = _transactions(seed=5)
    frame = pd.DataFrame({"id": ids, "date": day.astype("datetime64[D]"), "amount": amount})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = calibration_and_holdout_data(
            frame,
            "id",
            "date",
            calibration_period_end=pd.Timestamp(EPOCH_DAY + 250, unit="D"),
            observation_period_end=pd.Timestamp(EPOCH_DAY + 380, unit="D"),
            monetary_value_col="amount",
            freq="D",
            freq_multiplier=7,
        ).sort_index()
    ours = customer_summary(
        customer=ids,
        day=day,
        amount=amount,
        as_of=EPOCH_DAY + 380,
        calibration_end=EPOCH_DAY + 250,
        unit="weeks",
    )
    np.testing.assert_array_equal(ours.customer, theirs.index.to_numpy())
    pairs = {
        "frequency": "frequency_cal",
        "recency": "recency_cal",
        "T": "T_cal",
        "monetary_value": "monetary_value_cal",
        "frequency_holdout": "frequency_holdout",
    }
    for mine, column in pairs.items():
        np.testing.assert_array_equal(getattr(ours, mine), theirs[column].to_numpy(), err_msg=mine)
    assert ours.duration_holdout == theirs["duration_holdout"].iloc[0]


def test_holdout_spend_is_the_mean_per_purchase_day():
    ours = customer_summary(
        customer=np.array([1, 1, 1, 1]),
        day=np.array([0, 5, 12, 12]),
        amount=np.array([10, 20, 30, 50]),
        as_of=20,
        calibration_end=10,
    )
    assert ours.frequency.tolist() == [1.0]
    assert ours.frequency_holdout.tolist() == [1.0]
    assert ours.monetary_value_holdout.tolist() == [80.0]


def test_same_day_purchases_are_one_purchase_day_and_first_day_spend_is_left_out():
    ours = customer_summary(
        customer=np.array([3, 3, 3, 3, 8]),
        day=np.array([10, 10, 14, 14, 12]),
        amount=np.array([100, 1, 7, 3, 55]),
        as_of=20,
    )
    assert ours.customer.tolist() == [3, 8]
    assert ours.frequency.tolist() == [1.0, 0.0]
    assert ours.recency.tolist() == [4.0, 0.0]
    assert ours.T.tolist() == [10.0, 8.0]
    assert ours.monetary_value.tolist() == [10.0, 0.0]


def test_customers_who_first_bought_after_the_calibration_end_are_left_out():
    ours = customer_summary(customer=np.array([1, 2]), day=np.array([3, 9]), as_of=10, calibration_end=5)
    assert ours.customer.tolist() == [1]
    assert ours.monetary_value.tolist() == [0.0]


def test_empty_and_all_future_transactions_give_an_empty_summary():
    for day in (np.array([], dtype=np.int64), np.array([50, 60])):
        ours = customer_summary(customer=np.arange(day.size), day=day, amount=np.ones(day.size), as_of=10)
        assert len(ours) == 0


def test_negative_customer_ids_work():
    ours = customer_summary(customer=np.array([-5, -5, 7]), day=np.array([1, 4, 2]), as_of=4)
    assert ours.customer.tolist() == [-5, 7]
    assert ours.frequency.tolist() == [1.0, 0.0]


def test_bad_input_is_refused_with_a_reason():
    with pytest.raises(InvalidSummary, match="integers"):
        customer_summary(customer=np.array([1.5]), day=np.array([1]), as_of=3)
    with pytest.raises(InvalidSummary, match="calibration end"):
        customer_summary(customer=np.array([1]), day=np.array([1]), as_of=3, calibration_end=4)
    with pytest.raises(InvalidSummary, match="time unit"):
        customer_summary(customer=np.array([1]), day=np.array([1]), as_of=3, unit="months")  # type: ignore
