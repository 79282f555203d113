"""Customers simulated from a BG/NBD model with known parameters: ground truth for tests and demos."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class SimulatedCustomers:
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    frequency_holdout: np.ndarray
    duration_holdout: float


def simulate_bgnbd(
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: ArrayLike,
    duration_holdout: float,
    rng: np.random.Generator,
) -> SimulatedCustomers:
    """Purchase histories over (0, T] and repeat purchases in (T, T + duration_holdout] per customer.

    Each customer buys at rate λ ~ Gamma(r, α) and makes K ~ Geometric(p) repeat purchases in all,
    p ~ Beta(a, b) (she drops out right after the K-th); the Poisson purchase times are drawn all at once
    and cut at K.
    """
    age = np.asarray(T, dtype=float)
    n = age.size
    rate = rng.gamma(r, 1.0 / alpha, n)
    lifetime_purchases = rng.geometric(rng.beta(a, b, n))
    horizon = age + duration_holdout
    counts = rng.poisson(rate * horizon)
    owner = np.repeat(np.arange(n), counts)
    times = rng.uniform(0.0, 1.0, owner.size) * horizon[owner]
    order = np.lexsort((times, owner))
    owner, times = owner[order], times[order]
    rank = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
    made = rank < lifetime_purchases[owner]
    owner, times = owner[made], times[made]
    in_calibration = times <= age[owner]
    frequency = np.bincount(owner[in_calibration], minlength=n).astype(float)
    recency = np.zeros(n)
    np.maximum.at(recency, owner[in_calibration], times[in_calibration])
    holdout = np.bincount(owner[~in_calibration], minlength=n).astype(float)
    return SimulatedCustomers(
        frequency=frequency,
        recency=recency,
        T=age,
        frequency_holdout=holdout,
        duration_holdout=duration_holdout,
    )
