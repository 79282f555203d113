"""Per-customer (frequency, recency, T, monetary value) from raw transactions, with one sort and no loops.

The definitions are those of `lifetimes.utils.summary_data_from_transaction_data` with `freq="D"`:
purchases on the same day count as one purchase day (their amounts add up); frequency is the number
of purchase days after the first; recency is last minus first purchase day; T is `as_of` (or the
calibration end) minus the first purchase day; monetary value is the mean spend of the repeat
purchase days (0 without one). Recency and T are divided by the unit's length in days.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from huitouke.analytics.models.errors import InvalidSummary

Unit = Literal["days", "weeks"]
UNIT_DAYS: dict[str, int] = {"days": 1, "weeks": 7}


@dataclass(frozen=True)
class CustomerSummary:
    """Arrays aligned on `customer` (sorted ids of everyone who bought by the calibration end)."""

    customer: np.ndarray
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    monetary_value: np.ndarray
    unit: Unit
    # Filled only for a calibration/holdout split: purchase days in (calibration_end, as_of], the mean
    # spend of those days (0 without one) and the holdout length in units.
    frequency_holdout: np.ndarray | None = None
    monetary_value_holdout: np.ndarray | None = None
    duration_holdout: float | None = None

    def __len__(self) -> int:
        return int(self.customer.size)


def customer_summary(
    *,
    customer: ArrayLike,
    day: ArrayLike,
    amount: ArrayLike | None = None,
    as_of: int,
    calibration_end: int | None = None,
    unit: Unit = "days",
) -> CustomerSummary:
    """Summarise transactions (customer id, integer day, amount) up to `as_of`, optionally split at a day.

    With `calibration_end`, frequency/recency/T/monetary value describe transactions up to that day
    (T measured to it), and the holdout columns the transactions after it up to `as_of`; customers
    whose first purchase falls in the holdout are left out, as in `lifetimes`' calibration_and_holdout_data.
    Holdout monetary value is the mean spend per purchase day (lifetimes averages single transactions).
    """
    if unit not in UNIT_DAYS:
        raise InvalidSummary(f"unknown time unit {unit!r}: use one of {', '.join(UNIT_DAYS)}")
    ids = np.asarray(customer)
    days = np.asarray(day)
    if ids.ndim != 1 or days.shape != ids.shape:
        raise InvalidSummary("customer and day must be one-dimensional arrays of equal length")
    if not (np.issubdtype(ids.dtype, np.integer) and np.issubdtype(days.dtype, np.integer)):
        raise InvalidSummary("customer ids and days must be integers")
    spend = None if amount is None else np.asarray(amount)
    if spend is not None and (spend.shape != ids.shape or not np.issubdtype(spend.dtype, np.number)):
        raise InvalidSummary("amount must have one number per transaction")
    cut = as_of if calibration_end is None else calibration_end
    if cut > as_of:
        raise InvalidSummary("the calibration end must not be after the as-of day")
    length = float(UNIT_DAYS[unit])
    duration = None if calibration_end is None else float(as_of - calibration_end) / length

    if ids.size and int(days.max()) > as_of:
        keep = days <= as_of
        ids, days, spend = ids[keep], days[keep], None if spend is None else spend[keep]
    if ids.size == 0:
        return _empty(unit, duration)

    # Dense customer numbers and one packed (customer, day) key per transaction. Sorting the keys (not
    # arg-sorting the transactions) yields the distinct purchase days in order; amounts go through bincount.
    index, customers = dense_ids(ids)
    n = customers.size
    first_seen = int(days.min())
    span = int(days.max()) - first_seen + 1
    if cut < first_seen:
        return _empty(unit, duration)
    key_type = np.uint32 if n * span <= 2**32 else np.int64
    # key = index * span + (day - first_seen), computed modulo the key type's range (exact: it fits).
    keys = np.multiply(index, span, out=np.empty(index.size, key_type), casting="unsafe")
    np.add(keys, days, out=keys, casting="unsafe")
    keys -= key_type(first_seen % (2**32)) if key_type is np.uint32 else key_type(first_seen)
    keys.sort()
    distinct = np.empty(keys.size, dtype=bool)
    distinct[0] = True
    np.not_equal(keys[1:], keys[:-1], out=distinct[1:])
    keys = keys[distinct]
    key_day = np.empty_like(keys)
    key_customer, key_day = np.divmod(keys, key_type(span), out=(keys, key_day))  # in place, in the key type
    new_customer = np.empty(keys.size, dtype=bool)
    new_customer[0] = True
    np.not_equal(key_customer[1:], key_customer[:-1], out=new_customer[1:])
    starts = np.flatnonzero(new_customer)
    days_bought = np.diff(starts, append=keys.size)

    # Within a customer the days ascend, so the calibration days come first.
    cut_offset = cut - first_seen
    split = cut_offset < span - 1
    cal_days = np.add.reduceat(key_day <= cut_offset, starts, dtype=np.intp) if split else days_bought
    present = cal_days > 0
    starts, cal_days = starts[present], cal_days[present]
    dense = key_customer[starts].astype(np.intp)
    first_day = key_day[starts].astype(np.int64)
    last_day = key_day[starts + cal_days - 1].astype(np.int64)
    frequency = (cal_days - 1).astype(float)

    fields = {
        "customer": customers[dense],
        "frequency": frequency,
        "recency": (last_day - first_day).astype(float) / length,
        "T": (cut_offset - first_day).astype(float) / length,
        "monetary_value": np.zeros(dense.size),
        "unit": unit,
    }
    held_days = (days_bought[present] - cal_days).astype(float)
    held_mean = np.zeros(dense.size)
    if spend is not None:
        # Sums per customer: all spend, minus the first day's, minus the holdout's (exact for integer fen).
        total_type = np.int64 if np.issubdtype(spend.dtype, np.integer) else np.float64
        total = np.zeros(n, dtype=total_type)
        np.add.at(total, index, spend)
        first_by_customer = np.full(n, first_seen - 1, dtype=days.dtype)
        first_by_customer[dense] = first_day + first_seen
        on_first_day = days == first_by_customer[index]
        first_total = np.zeros(n, dtype=total_type)
        np.add.at(first_total, index[on_first_day], spend[on_first_day])
        held_total = np.zeros(n, dtype=total_type)
        if split:
            held = days > cut
            np.add.at(held_total, index[held], spend[held])
        repeat_total = (total - first_total - held_total)[dense].astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            fields["monetary_value"] = np.where(frequency > 0, repeat_total / frequency, 0.0)
            held_mean = np.where(held_days > 0, held_total[dense].astype(float) / held_days, 0.0)
    if calibration_end is not None:
        fields |= {
            "frequency_holdout": held_days,
            "monetary_value_holdout": held_mean,
            "duration_holdout": duration,
        }
    return CustomerSummary(**fields)


def _empty(unit: Unit, duration: float | None) -> CustomerSummary:
    empty = np.zeros(0)
    holdout = (
        {}
        if duration is None
        else {
            "frequency_holdout": empty,
            "monetary_value_holdout": empty,
            "duration_holdout": duration,
        }
    )
    return CustomerSummary(
        customer=np.zeros(0, np.int64),
        frequency=empty,
        recency=empty,
        T=empty,
        monetary_value=empty,
        unit=unit,
        **holdout,
    )


def dense_ids(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numbers 0..k-1 for the ids and the ascending ids they stand for (with gaps where that is cheap)."""
    low, high = int(ids.min()), int(ids.max())
    limit = max(4 * ids.size, 1 << 20)
    if low >= 0 and high < limit and ids.dtype == np.intp:
        return ids, np.arange(high + 1, dtype=np.int64)
    if high - low < limit:
        index = (ids - low).astype(np.intp, copy=False)
        return index, np.arange(low, high + 1, dtype=np.int64)
    customers, index = np.unique(ids, return_inverse=True)
    return index.astype(np.intp, copy=False), customers.astype(np.int64, copy=False)
