"""Customer lifetime value over a horizon of months, discounted monthly, as `lifetimes` computes it.

CLV = Σ_{i=1..months} (E[purchases by month i] - E[purchases by month i-1]) · expected spend / (1 + d)^i,
with the purchase model's conditional expectations and the spend model's expected spend per purchase.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from huitouke.analytics.models.errors import InvalidSummary
from huitouke.analytics.models.summary import Unit

# A month in the data's time unit (lifetimes' factors: 30 days, 4.345 weeks).
PERIODS_PER_MONTH: dict[str, float] = {"days": 30.0, "weeks": 4.345}


class PurchaseModel(Protocol):
    def conditional_expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray: ...


def customer_lifetime_value(
    model: PurchaseModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    expected_spend: ArrayLike,
    *,
    months: int = 12,
    monthly_discount: float = 0.01,
    unit: Unit = "days",
) -> np.ndarray:
    """Discounted expected revenue of each customer over the next `months` months (one vectorised pass)."""
    if months < 1:
        raise InvalidSummary("the CLV horizon must be at least one month")
    if monthly_discount <= -1.0:
        raise InvalidSummary("the monthly discount rate must be above -100%")
    if unit not in PERIODS_PER_MONTH:
        raise InvalidSummary(f"unknown time unit {unit!r}: use one of {', '.join(PERIODS_PER_MONTH)}")
    month = np.arange(1, months + 1, dtype=float)[:, None]
    x, t_x, age = (np.asarray(v, dtype=float)[None, ...] for v in (frequency, recency, T))
    horizon = np.vstack((np.zeros((1, 1)), month)) * PERIODS_PER_MONTH[unit]
    cumulative = model.conditional_expected_purchases(horizon, x, t_x, age)
    per_month = np.diff(cumulative, axis=0)
    discount = (1.0 + monthly_discount) ** -month
    return np.asarray(expected_spend, dtype=float) * np.sum(per_month * discount, axis=0)
