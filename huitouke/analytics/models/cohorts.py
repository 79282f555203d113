"""Monthly acquisition cohorts and repeat figures per month from purchase arrays, with no loop per customer.

Input is one row per purchase: customer number (-1 for a guest), month number (months since 1970-01),
amount in fen and the stored repeat flag (a purchase on a day after the customer's first purchase day).
A customer's cohort is the month of her first purchase: the month of her purchases NOT flagged repeat.
That lets a caller pass only a window of months: customers whose first purchase lies before the window
have only repeat rows in it and are left out of the cohorts (their cohort is not in the window), while
their purchases still count in the figures per month.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from huitouke.analytics.models.summary import dense_ids
from huitouke.core.idsets import distinct


@dataclass(frozen=True)
class CohortArrays:
    """Cohort c is month `first_month + c`; column k is k months after the cohort's month.

    Cells after the last month (c + k > months - 1) are not observed yet: `observed` is False there.
    """

    first_month: int
    size: np.ndarray  # customers acquired per cohort
    active: np.ndarray  # (cohort, k): customers of the cohort with a purchase in month k
    repeat: np.ndarray  # (cohort, k): customers with a repeat purchase in month k (k = 0: a later day)
    revenue_fen: np.ndarray  # (cohort, k): the cohort's revenue in month k
    observed: np.ndarray  # (cohort, k): bool


@dataclass(frozen=True)
class MonthlyArrays:
    """Per calendar month `first_month + i`: buyers, buyers with a repeat purchase, revenue, repeat revenue."""

    first_month: int
    buyers: np.ndarray
    repeat_buyers: np.ndarray
    revenue_fen: np.ndarray
    repeat_revenue_fen: np.ndarray


def _distinct_pairs(customer: np.ndarray, slot: np.ndarray, slots: int) -> np.ndarray:
    """The slot of every distinct (customer, slot) pair: counting them counts customers per slot."""
    return distinct(customer.astype(np.int64) * slots + slot) % slots


def cohorts(
    *, customer: np.ndarray, month: np.ndarray, fen: np.ndarray, is_repeat: np.ndarray,
    first_month: int, months: int,
) -> CohortArrays:
    """Cohort matrices for the months `first_month .. first_month + months - 1` (rows outside are ignored)."""
    inside = (customer >= 0) & (month >= first_month) & (month < first_month + months)
    customer, month, fen, is_repeat = customer[inside], month[inside] - first_month, fen[inside], is_repeat[inside]
    index, ids = dense_ids(customer) if customer.size else (customer.astype(np.intp), customer)
    cohort = np.full(ids.size, months, dtype=np.int64)  # `months`: first purchase before the window
    first = ~is_repeat
    np.minimum.at(cohort, index[first], month[first])
    member = cohort[index] < months
    index, month, fen, is_repeat = index[member], month[member], fen[member], is_repeat[member]
    row = cohort[index]
    cell = row * months + (month - row)  # (cohort, months since the first purchase) as one number
    cells = months * months
    active = np.bincount(_distinct_pairs(index, cell, cells), minlength=cells)
    repeat = np.bincount(_distinct_pairs(index[is_repeat], cell[is_repeat], cells), minlength=cells)
    revenue = np.zeros(cells, dtype=np.int64)
    np.add.at(revenue, cell, fen)
    c, k = np.indices((months, months))
    return CohortArrays(
        first_month=first_month,
        size=np.bincount(cohort[cohort < months], minlength=months),
        active=active.reshape(months, months),
        repeat=repeat.reshape(months, months),
        revenue_fen=revenue.reshape(months, months),
        observed=c + k < months,
    )


def monthly_repeat(
    *, customer: np.ndarray, month: np.ndarray, fen: np.ndarray, is_repeat: np.ndarray,
    first_month: int, months: int,
) -> MonthlyArrays:
    """Buyers, repeat buyers and (repeat) revenue per month; guests' purchases count as revenue only."""
    inside = (month >= first_month) & (month < first_month + months)
    customer, month, fen, is_repeat = customer[inside], month[inside] - first_month, fen[inside], is_repeat[inside]
    known = customer >= 0
    repeat_known = known & is_repeat
    revenue = np.zeros(months, dtype=np.int64)
    np.add.at(revenue, month, fen)
    repeat_revenue = np.zeros(months, dtype=np.int64)
    np.add.at(repeat_revenue, month[is_repeat], fen[is_repeat])
    return MonthlyArrays(
        first_month=first_month,
        buyers=np.bincount(_distinct_pairs(customer[known], month[known], months), minlength=months),
        repeat_buyers=np.bincount(
            _distinct_pairs(customer[repeat_known], month[repeat_known], months), minlength=months
        ),
        revenue_fen=revenue,
        repeat_revenue_fen=repeat_revenue,
    )
