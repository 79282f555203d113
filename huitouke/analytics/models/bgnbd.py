"""BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While alive a customer buys at Poisson rate λ ~ Gamma(r, α); after each repeat purchase she drops out
with probability p ~ Beta(a, b). Inputs per customer: frequency x (repeat purchases), recency t_x
(first to last purchase) and age T (first purchase to the end of observation), in one time unit;
α is in that unit. All formulas work in log space and rewrite the Gauss hypergeometric terms so that
huge frequencies, T = 0 and a ≈ 1 stay finite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1, logsumexp

from huitouke.analytics.models.fitting import (
    FitOutcome,
    Ray,
    check_boundaries,
    maximise,
    outcome_of,
    require_convergence,
    summary_rows,
    time_scale,
)
from huitouke.core.idsets import distinct_pairs

MODEL = "BG/NBD"
PARAMS = ("r", "alpha", "a", "b")
# Within this distance of a removable singularity of the closed form predictions interpolate.
_SINGULAR = 1e-4
_QUADRATURE_STEP = 0.25
_QUADRATURE_BLOCK = 1 << 21  # nodes evaluated at once
_COMMON_RATE = "All customers seem to buy at one common rate, which this model cannot describe."
_NO_DROPOUT = "Nobody seems to stop buying, so the drop-out part of the model has nothing to learn from."
_COMMON_DROPOUT = "Drop-out looks the same for everyone, which this model cannot describe."
RAYS = (
    Ray((10.0, 10.0, 1.0, 1.0), _COMMON_RATE),
    Ray((1.0, 1.0, 0.1, 1.0), _NO_DROPOUT),
    Ray((1.0, 1.0, 1.0, 10.0), _NO_DROPOUT),
    Ray((1.0, 1.0, 10.0, 10.0), _COMMON_DROPOUT),
)


@dataclass(frozen=True)
class BGNBDFit(FitOutcome):
    """Maximum-likelihood parameters (alpha in the time unit of the data) and how the fit went."""

    r: float
    alpha: float
    a: float
    b: float

    @property
    def params(self) -> tuple[float, float, float, float]:
        return (self.r, self.alpha, self.a, self.b)

    def conditional_expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        return conditional_expected_purchases(self.params, t, frequency, recency, T)

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        return p_alive(self.params, frequency, recency, T)

    def expected_purchases(self, t: ArrayLike) -> np.ndarray:
        return expected_purchases(self.params, t)


def fit_bgnbd(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> BGNBDFit:
    """Maximum-likelihood BG/NBD fit; ModelDoesNotFit when the data is too thin or the model cannot fit."""
    rows = summary_rows(frequency, recency, T, model=MODEL)
    scale = time_scale(rows)
    rescaled = _Histories.of(rows.x, rows.t_x / scale, rows.T / scale, rows.weight)
    total = rows.weight.sum()

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(theta)
        value, gradient = _loglik_and_gradient(params, rescaled)
        return -value / total, -gradient * params / total

    optimum = maximise(objective, _start(rows.x, rescaled.age, rows.weight), model=MODEL)
    scaled = np.exp(optimum.log_params)
    natural = scaled * np.array([1.0, scale, 1.0, 1.0])
    check_boundaries(MODEL, PARAMS, scaled, natural, lambda p: _loglik_and_gradient(p, rescaled)[0], RAYS)
    require_convergence(optimum, model=MODEL)
    params = tuple(float(value) for value in natural)
    loglik, _ = _loglik_and_gradient(np.array(params), _Histories.of(rows.x, rows.t_x, rows.T, rows.weight))
    return BGNBDFit(*params, **outcome_of(optimum, loglik=loglik, n_customers=rows.n_customers))


def loglik(params: Sequence[float], frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> float:
    """Total log-likelihood of the customers' purchase histories (the figure published for CDNOW)."""
    value, _ = _loglik_and_gradient(np.asarray(params, dtype=float), _customers(frequency, recency, T))
    return float(value)


def loglik_gradient(
    params: Sequence[float], frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """Analytic gradient of `loglik` with respect to (r, alpha, a, b)."""
    _, gradient = _loglik_and_gradient(np.asarray(params, dtype=float), _customers(frequency, recency, T))
    return gradient


def loglik_per_customer(
    params: Sequence[float], frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """Each customer's log-likelihood (broadcasting the three inputs)."""
    shape = np.broadcast_shapes(*(np.shape(v) for v in (frequency, recency, T)))
    return _per_row(np.asarray(params, dtype=float), _customers(frequency, recency, T))[0].reshape(shape)


def p_alive(params: Sequence[float], frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
    """Probability that the customer has not dropped out by T (1 for customers without repeat purchases)."""
    r, alpha, a, b = params
    x, t_x, age = _arrays(frequency, recency, T)
    return expit(-_log_odds_dead(r, alpha, a, b, x, t_x, age))


def conditional_expected_purchases(
    params: Sequence[float], t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """Expected repeat purchases in (T, T + t] given the history (FHL 2005, eq. 10), broadcasting.

    (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z) is evaluated as (1-z)^(a-1) 2F1(a-1, a+b-1-r; a+b+x-1; z)
    (Euler's transformation), whose parameters do not grow with x.
    """
    r, alpha, a, b = params
    t, x, t_x, age = _arrays(t, frequency, recency, T)
    growth = _growth_per_distinct(params, t, x, age)
    return growth * expit(-_log_odds_dead(r, alpha, a, b, x, t_x, age))


def _growth_per_distinct(params: Sequence[float], t: np.ndarray, x: np.ndarray, age: np.ndarray) -> np.ndarray:
    """_growth at k = t/(α+T), broadcast over t, x and T, evaluated once per distinct (x, T) of the customers.

    The growth term does not depend on t_x, and a million customers measured in days have only tens of
    thousands of distinct (x, T): the 2F1 evaluations (most of the predictions' time) shrink ~15×. Customers
    lie along the last axis of x and T, and t is the same for all of them (it may add leading axes, as the
    CLV's horizons do); otherwise every entry is evaluated.
    """
    r, alpha, a, b = params
    x_c, age_c = np.broadcast_arrays(x, age)
    if x_c.ndim == 0 or any(size != 1 for size in x_c.shape[:-1]) or (t.ndim > 0 and t.shape[-1] != 1):
        t, x, age = np.broadcast_arrays(t, x, age)
        return _growth(a, b, r, np.array(x, dtype=float), t / (alpha + age))
    lead = x_c.shape[:-1]
    pair_x, pair_age, inverse = distinct_pairs(x_c.reshape(-1), age_c.reshape(-1))
    k = t / (alpha + pair_age.reshape(*lead, -1))
    growth = _growth(a, b, r, np.array(np.broadcast_to(pair_x.reshape(*lead, -1), k.shape)), k)
    return growth[..., inverse]


def expected_purchases(params: Sequence[float], t: ArrayLike) -> np.ndarray:
    """Unconditional expected repeat purchases in (0, t] of a new customer, E[X(t)] (FHL 2005, eq. 9)."""
    t = np.asarray(t, dtype=float)
    zero = np.zeros_like(t)
    return conditional_expected_purchases(params, t, zero, zero, zero)


def _arrays(*values: ArrayLike) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(v, dtype=float) for v in values)


def _customers(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> _Histories:
    x, t_x, age = (v.ravel() for v in np.broadcast_arrays(*_arrays(frequency, recency, T)))
    return _Histories.of(x, t_x, age)


def _start(x: np.ndarray, age: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """A start in rescaled time: r = 1 and a Gamma mean equal to the observed purchase rate; a = 1, b = 3."""
    rate = max(float(np.sum(weight * x) / np.sum(weight * age)), 1e-3)
    return np.log(np.array([1.0, 1.0 / rate, 1.0, 3.0]))


@dataclass(frozen=True)
class _Histories:
    """Customers (or distinct histories with weights) and their distinct frequencies: the terms that depend
    on x alone (gamma and digamma functions) are computed once per distinct x."""

    x: np.ndarray
    t_x: np.ndarray
    age: np.ndarray
    weight: np.ndarray
    levels: np.ndarray
    level_weight: np.ndarray
    level_of: np.ndarray

    @classmethod
    def of(
        cls, x: np.ndarray, t_x: np.ndarray, age: np.ndarray, weight: np.ndarray | None = None
    ) -> _Histories:
        weight = np.ones(x.size) if weight is None else weight
        levels, level_of = np.unique(x, return_inverse=True)
        return cls(
            x=x,
            t_x=t_x,
            age=age,
            weight=weight,
            levels=levels,
            level_weight=np.bincount(level_of, weights=weight, minlength=levels.size),
            level_of=level_of,
        )


def _per_row(params: np.ndarray, h: _Histories):
    """Each history's log-likelihood, and the pieces the gradient reuses.

    L = B(a, b+x)/B(a, b) Γ(r+x) α^r / Γ(r) [(α+T)^-(r+x) + δ(x>0) a/(b+x-1) (α+t_x)^-(r+x)].
    """
    r, alpha, a, b = params
    by_level = gammaln(r + h.levels) - gammaln(r) + betaln(a, b + h.levels) - betaln(a, b)
    log_bx = np.log(b + np.maximum(h.levels, 1.0) - 1.0)
    rx = r + h.x
    log_age = np.log(alpha + h.age)
    log_tx = np.log(alpha + h.t_x)
    alive = -rx * log_age
    dead = np.where(h.x > 0, np.log(a) - log_bx[h.level_of] - rx * log_tx, -np.inf)
    mix = np.logaddexp(alive, dead)
    ll = by_level[h.level_of] + r * np.log(alpha) + mix
    return ll, by_level, mix, log_age, log_tx, np.exp(dead - mix), np.exp(log_bx)


def _loglik_and_gradient(params: np.ndarray, h: _Histories) -> tuple[float, np.ndarray]:
    r, alpha, a, b = params
    _, by_level, mix, log_age, log_tx, w_dead, bx = _per_row(params, h)
    w, big_w, n = h.weight, h.level_weight, h.weight.sum()
    w_alive = 1.0 - w_dead
    psi_ab, psi_abx = digamma(a + b), digamma(a + b + h.levels)
    d_r = (
        big_w @ (digamma(r + h.levels) - digamma(r))
        + n * np.log(alpha)
        - w @ (w_alive * log_age + w_dead * log_tx)
    )
    d_alpha = n * r / alpha - w @ ((r + h.x) * (w_alive / (alpha + h.age) + w_dead / (alpha + h.t_x)))
    d_a = big_w @ (psi_ab - psi_abx) + (w @ w_dead) / a
    d_b = big_w @ (digamma(b + h.levels) - digamma(b) + psi_ab - psi_abx) - w @ (w_dead / bx[h.level_of])
    value = big_w @ by_level + n * r * np.log(alpha) + w @ mix
    return float(value), np.array([d_r, d_alpha, d_a, d_b])


def _log_odds_dead(r, alpha, a, b, x, t_x, age) -> np.ndarray:
    """log[P(dead)/P(alive)] = log(a/(b+x-1)) + (r+x) log((α+T)/(α+t_x)); -inf without repeat purchases."""
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = (
            np.log(a)
            - np.log(b + np.maximum(x, 1.0) - 1.0)
            + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
        )
    return np.where(x > 0, odds, -np.inf)


def _growth(a: float, b: float, r: float, x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Expected purchases in the next t of a customer alive at T: E[(1 - (1 + p k)^-(r+x)) / p] with
    p ~ Beta(a, b+x) and k = t/(α+T); in closed form c/(a-1) [1 - (1-z)^(a-1) 2F1(a-1, c-r-x; c; z)],
    c = a+b+x-1, z = k/(1+k).

    The closed form is 0/0 at a = 1 and 0·∞ at c = 0; within _SINGULAR of those the value is interpolated
    linearly between points 2·_SINGULAR away on either side (error ~1e-8). Where scipy's hyp2f1 still fails
    (it returns nan when x+r+1-a is within ~1e-12 of an integer) the expectation is integrated numerically.
    """
    if abs(a - 1.0) < _SINGULAR:
        span = 2.0 * _SINGULAR
        weight = (a - 1.0 + span) / (2.0 * span)
        return (1.0 - weight) * _growth(1.0 - span, b, r, x, k) + weight * _growth(1.0 + span, b, r, x, k)
    c = a + b + x - 1.0
    near = np.abs(c) < _SINGULAR
    span = 2.0 * _SINGULAR
    out = _growth_closed(a, np.where(near, span, c), r + x, k)
    if near.any():
        low = _growth_closed(a, np.full(np.count_nonzero(near), -span), (r + x)[near], k[near])
        weight = (c[near] + span) / (2.0 * span)
        out[near] = (1.0 - weight) * low + weight * out[near]
    broken = ~np.isfinite(out) | (out < 0)
    if broken.any():
        out[broken] = _growth_by_quadrature(a, b, r, x[broken], k[broken])
    return out


def _growth_closed(a: float, c: np.ndarray, rx: np.ndarray, k: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        scaled = np.exp(-(a - 1.0) * np.log1p(k)) * hyp2f1(a - 1.0, c - rx, c, k / (1.0 + k))
        return np.asarray(c / (a - 1.0) * (1.0 - scaled), dtype=float)


def _growth_by_quadrature(a: float, b: float, r: float, x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """E[g(p)/p], g(p) = 1 - (1 + k p)^-(r+x), p ~ Beta(a, b+x), by the trapezoidal rule in y = logit(p).

    The integrand p^(a-1) (1-p)^(b+x) g(p) is analytic for |Im y| < π/2 and its peak is no narrower than
    1/sqrt(1 + |a-1|(b+x)/(|a-1|+b+x)); a step of 1/4 of that keeps the error near exp(-π²/h) ≈ 1e-17.
    Beyond the node range the integrand is exp(a y) resp. exp(-(b+x) y) up to terms below 1e-17, and those
    nodes are summed as geometric series.
    """
    big_b, big_r = b + x, r + x
    spread = np.abs(a - 1.0) + big_b + (big_r + 1.0) * k + 2.0
    left, right = -np.log(spread) - 40.0, np.log(spread) + 40.0
    sharpness = 1.0 + np.abs(a - 1.0) * big_b / (np.abs(a - 1.0) + big_b)
    count = int(np.ceil(np.max((right - left) * np.sqrt(sharpness)) / _QUADRATURE_STEP))
    grid = np.arange(count + 1, dtype=float)
    out = np.empty(x.size)
    rows_per_block = max(1, _QUADRATURE_BLOCK // (count + 1))
    for start in range(0, x.size, rows_per_block):
        part = slice(start, start + rows_per_block)
        bb, rr, kk = big_b[part][:, None], big_r[part][:, None], k[part][:, None]
        h = ((right[part] - left[part]) / count)[:, None]
        y = left[part][:, None] + h * grid
        log_p, log_q = -np.logaddexp(0.0, -y), -np.logaddexp(0.0, y)
        terms = (a - 1.0) * log_p + bb * log_q + np.log(-np.expm1(-rr * np.log1p(kk * np.exp(log_p))))
        left_tail = terms[:, :1] - a * h - np.log(-np.expm1(-a * h))
        right_tail = terms[:, -1:] - bb * h - np.log(-np.expm1(-bb * h))
        total = logsumexp(np.concatenate((left_tail, terms, right_tail), axis=1), axis=1)
        out[part] = np.exp(total + np.log(h[:, 0]) - betaln(a, big_b[part]))
    return out
