"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves").

Each purchase's spend is Gamma(p, ν) with ν ~ Gamma(q, γ) across customers (γ is called v here, as in
`lifetimes`). Fitted on customers with repeat purchases, using their number x of repeat purchases and
the mean spend m of those purchases; gives a customer's expected spend per purchase.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from huitouke.analytics.models.errors import InvalidSummary, ModelDoesNotFit
from huitouke.analytics.models.fitting import (
    MIN_REPEAT_BUYERS,
    FitOutcome,
    Ray,
    check_boundaries,
    maximise,
    outcome_of,
    require_convergence,
)

MODEL = "Gamma-Gamma"
PARAMS = ("p", "q", "v")
# Spend rescaled to mean 1: p = 1, q = 3, v = 2 puts the mean spend per purchase, p v/(q-1), at 1.
_START = np.log(np.array([1.0, 3.0, 2.0]))
RAYS = (
    Ray((1.0, 10.0, 10.0), "All customers seem to spend alike on average, which this model cannot describe."),
)


@dataclass(frozen=True)
class GammaGammaFit(FitOutcome):
    """Maximum-likelihood parameters (v in the money unit of the data) and how the fit went."""

    p: float
    q: float
    v: float

    @property
    def params(self) -> tuple[float, float, float]:
        return (self.p, self.q, self.v)

    def conditional_expected_spend(self, frequency: ArrayLike, monetary_value: ArrayLike) -> np.ndarray:
        return conditional_expected_spend(self.params, frequency, monetary_value)


def fit_gamma_gamma(frequency: ArrayLike, monetary_value: ArrayLike) -> GammaGammaFit:
    """Maximum-likelihood fit on the customers with repeat purchases and a positive mean spend.

    Raises ModelDoesNotFit when too few such customers exist, when a parameter runs to a bound, or when
    q ≤ 1 (average spend then has no finite mean, so expected spend of a new customer is undefined).
    """
    x, m = _arrays(frequency, monetary_value)
    if x.shape != m.shape or x.ndim != 1:
        raise InvalidSummary("frequency and monetary_value must be one-dimensional and of equal length")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(m))):
        raise InvalidSummary("frequency and monetary_value must be finite numbers")
    used = (x > 0) & (m > 0)
    n = int(np.count_nonzero(used))
    if n < MIN_REPEAT_BUYERS:
        raise ModelDoesNotFit(
            f"only {n} of {x.size} customers bought again with a positive spend: "
            "the spend model needs repeat buyers"
        )
    x, m = x[used], m[used]
    scale = float(np.mean(m))
    rescaled = _Spends.of(x, m / scale)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(theta)
        value, gradient = _loglik_and_gradient(params, rescaled)
        return -value / n, -gradient * params / n

    optimum = maximise(objective, _START, model=MODEL)
    scaled = np.exp(optimum.log_params)
    p, q, v = scaled
    check_boundaries(
        MODEL,
        PARAMS,
        scaled,
        scaled * np.array([1.0, 1.0, scale]),
        lambda params: _loglik_and_gradient(params, rescaled)[0],
        RAYS,
    )
    require_convergence(optimum, model=MODEL)
    if q <= 1.0:
        raise ModelDoesNotFit(
            f"the data does not fit the {MODEL} model: q = {q:.3g} ≤ 1 means average spend has no finite "
            "mean (a few very large orders dominate), so expected spend cannot be estimated"
        )
    params = (float(p), float(q), float(v * scale))
    loglik_value, _ = _loglik_and_gradient(np.array(params), _Spends.of(x, m))
    return GammaGammaFit(*params, **outcome_of(optimum, loglik=loglik_value, n_customers=n))


def loglik(params: Sequence[float], frequency: ArrayLike, monetary_value: ArrayLike) -> float:
    """Total log-likelihood of the mean spends of customers with x > 0 (the density of the mean m_x)."""
    x, m = _arrays(frequency, monetary_value)
    used = x > 0
    value, _ = _loglik_and_gradient(np.asarray(params, dtype=float), _Spends.of(x[used], m[used]))
    return float(value)


def loglik_gradient(params: Sequence[float], frequency: ArrayLike, monetary_value: ArrayLike) -> np.ndarray:
    """Analytic gradient of `loglik` with respect to (p, q, v)."""
    x, m = _arrays(frequency, monetary_value)
    used = x > 0
    _, gradient = _loglik_and_gradient(np.asarray(params, dtype=float), _Spends.of(x[used], m[used]))
    return gradient


def conditional_expected_spend(
    params: Sequence[float], frequency: ArrayLike, monetary_value: ArrayLike
) -> np.ndarray:
    """E[spend per purchase | x, m] = p(v + x m)/(p x + q - 1): the population mean p v/(q-1) at x = 0."""
    p, q, v = params
    x, m = _arrays(frequency, monetary_value)
    m = np.where(x > 0, m, 0.0)
    return p * (v + x * m) / (p * x + q - 1.0)


def _arrays(*values: ArrayLike) -> tuple[np.ndarray, ...]:
    return tuple(np.atleast_1d(np.asarray(v, dtype=float)) for v in values)


@dataclass(frozen=True)
class _Spends:
    """Repeat buyers' x and mean spend m, with the sums that do not depend on the parameters and the
    distinct x (the gamma functions of px are computed once per distinct x)."""

    x: np.ndarray
    m: np.ndarray
    sum_log_m: float
    sum_x_log_m: float
    sum_x_log_x: float
    levels: np.ndarray
    level_count: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, m: np.ndarray) -> _Spends:
        levels, count = np.unique(x, return_counts=True)
        log_m = np.log(m)
        return cls(
            x=x,
            m=m,
            sum_log_m=float(log_m.sum()),
            sum_x_log_m=float(x @ log_m),
            sum_x_log_x=float(x @ np.log(x)),
            levels=levels,
            level_count=count.astype(float),
        )


def _loglik_and_gradient(params: np.ndarray, d: _Spends) -> tuple[float, np.ndarray]:
    """ll = Σ lnΓ(px+q) - lnΓ(px) - lnΓ(q) + q ln v + (px-1) ln m + px ln x - (px+q) ln(v + x m)."""
    p, q, v = params
    n, pu = float(d.x.size), p * d.levels
    total = v + d.x * d.m
    log_total = np.log(total)
    sum_log_total, sum_x_log_total = float(log_total.sum()), float(d.x @ log_total)
    value = (
        d.level_count @ (gammaln(pu + q) - gammaln(pu))
        - n * gammaln(q)
        + n * q * np.log(v)
        + p * d.sum_x_log_m
        - d.sum_log_m
        + p * d.sum_x_log_x
        - p * sum_x_log_total
        - q * sum_log_total
    )
    psi = digamma(pu + q)
    d_p = (d.level_count * d.levels) @ (psi - digamma(pu)) + d.sum_x_log_m + d.sum_x_log_x - sum_x_log_total
    d_q = d.level_count @ psi - n * digamma(q) + n * np.log(v) - sum_log_total
    d_v = n * q / v - float(((p * d.x + q) / total).sum())
    return float(value), np.array([d_p, d_q, d_v])
