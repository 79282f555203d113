"""Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987).

While alive a customer buys at Poisson rate λ ~ Gamma(r, α) and dies at exponential rate μ ~ Gamma(s, β).
The likelihood is the one in Fader & Hardie, "A Note on Deriving the Pareto/NBD Model and Related
Expressions" (2005):

    L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^-(r+x) (β+T)^-s + s/(r+s+x) · A0 ],
    A0 = F(t_x) - F(T),

where F(t) is a Gauss hypergeometric term whose form depends on whether α ≥ β. Both forms are rewritten
with Euler's transformation into G = 2F1(1, m; r+s+x+1; z) with 0 ≤ z < 1 (evaluated by
`hypergeometric.log_hyp2f1_one`, where scipy's hyp2f1 fails), and everything is kept in logs:
F(t) = G · (β+t)^-s (α+t)^-(r+x) for α ≥ β, and G · (α+t)^(1-r-x) (β+t)^-(s+1) for α < β. A0 is then
exp(log F(t_x)) · (1 - exp(log F(T) - log F(t_x))), computed with log1p(-exp(.)), so neither huge
frequencies nor T ≈ t_x lose the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, expit, gammaln

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
from huitouke.analytics.models.hypergeometric import log_hyp2f1_one, log_hyp2f1_one_and_gradient
from huitouke.core.idsets import distinct_pairs

MODEL = "Pareto/NBD"
PARAMS = ("r", "alpha", "s", "beta")
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
class ParetoNBDFit(FitOutcome):
    """Maximum-likelihood parameters (alpha, beta in the time unit of the data) and how the fit went."""

    r: float
    alpha: float
    s: float
    beta: float

    @property
    def params(self) -> tuple[float, float, float, float]:
        return (self.r, self.alpha, self.s, self.beta)

    def conditional_expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, alive: ArrayLike | None = None,
    ) -> np.ndarray:
        return conditional_expected_purchases(self.params, t, frequency, recency, T, alive)

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        return p_alive(self.params, frequency, recency, T)

    def expected_purchases(self, t: ArrayLike) -> np.ndarray:
        return expected_purchases(self.params, t)


def fit_pareto_nbd(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> ParetoNBDFit:
    """Maximum-likelihood Pareto/NBD fit with the analytic gradient (log 2F1 differentiated in forward mode)."""
    rows = summary_rows(frequency, recency, T, model=MODEL)
    scale = time_scale(rows)
    x, t_x, age = rows.x, rows.t_x / scale, rows.T / scale
    total = rows.weight.sum()

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(theta)
        value, gradient = _loglik_and_gradient(params, x, t_x, age, rows.weight)
        return -value / total, -gradient * params / total

    optimum = maximise(objective, _start(rows.x, rows.T / scale, rows.weight), model=MODEL)
    scaled = np.exp(optimum.log_params)
    natural = scaled * np.array([1.0, scale, 1.0, scale])
    check_boundaries(
        MODEL,
        PARAMS,
        scaled,
        natural,
        lambda p: float(_loglik(*p, rows.x, rows.t_x / scale, rows.T / scale) @ rows.weight),
        RAYS,
    )
    require_convergence(optimum, model=MODEL)
    params = tuple(float(value) for value in natural)
    loglik_value = float(_loglik(*params, rows.x, rows.t_x, rows.T) @ rows.weight)
    return ParetoNBDFit(*params, **outcome_of(optimum, loglik=loglik_value, n_customers=rows.n_customers))


def loglik(params: Sequence[float], frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> float:
    """Total log-likelihood of the customers' purchase histories (the figure published for CDNOW)."""
    return float(np.sum(loglik_per_customer(params, frequency, recency, T)))


def loglik_per_customer(
    params: Sequence[float], frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray:
    r, alpha, s, beta = params
    return _loglik(r, alpha, s, beta, *_arrays(frequency, recency, T))


def p_alive(params: Sequence[float], frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
    """Probability that the customer is still alive at T (Fader & Hardie 2005, eq. 18)."""
    r, alpha, s, beta = params
    x, t_x, age = _arrays(frequency, recency, T)
    log_alive, log_dead = _log_parts(r, alpha, s, beta, x, t_x, age)
    return expit(log_alive - log_dead)


def conditional_expected_purchases(
    params: Sequence[float], t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike,
    alive: ArrayLike | None = None,
) -> np.ndarray:
    """Expected purchases in (T, T + t] given the history (Fader & Hardie 2005, eq. 22):
    (r+x)(β+T)/((α+T)(s-1)) [1 - ((β+T)/(β+T+t))^(s-1)] P(alive). `alive`: P(alive) when the caller has it
    already (it costs two hypergeometric terms per customer)."""
    r, alpha, s, beta = params
    t, x, t_x, age = np.broadcast_arrays(*_arrays(t, frequency, recency, T))
    alive = p_alive(params, x, t_x, age) if alive is None else np.asarray(alive, dtype=float)
    return (r + x) / (alpha + age) * _alive_time(s, beta + age, t) * alive


def expected_purchases(params: Sequence[float], t: ArrayLike) -> np.ndarray:
    """Unconditional expected purchases in (0, t] of a new customer: rβ/(α(s-1)) [1 - (β/(β+t))^(s-1)]."""
    r, alpha, s, beta = params
    t = np.asarray(t, dtype=float)
    return r / alpha * _alive_time(s, beta, t)


def _arrays(*values: ArrayLike) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(v, dtype=float) for v in values)


def _start(x: np.ndarray, age: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """A start in rescaled time: r = 1 with the observed purchase rate as Gamma mean; s = 1, β = 1."""
    rate = max(float(np.sum(weight * x) / np.sum(weight * age)), 1e-3)
    return np.log(np.array([1.0, 1.0 / rate, 1.0, 1.0]))


def _alive_time(s, base, t) -> np.ndarray:
    """base/(s-1) [1 - (base/(base+t))^(s-1)], the expected time alive in the next t (base·log(1+t/base)
    at s = 1)."""
    log_ratio = np.log1p(t / base)
    shape = s - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        general = -np.expm1(-shape * log_ratio) / shape
    return base * np.where(shape == 0.0, log_ratio, general)


def _hypergeometric_arguments(r, alpha, s, beta, x, t):
    """The 2F1(m, 1; c; z) of F(t): the larger of alpha and beta leads ("wide" when alpha ≥ beta), so z < 1."""
    rx = r + x
    c = rx + s + 1.0
    wide = alpha >= beta
    big, small = np.where(wide, alpha, beta), np.where(wide, beta, alpha)
    z = (big - small) / (big + t)
    m = np.where(wide, rx, s + 1.0)
    return rx, wide, m, c, z


def _log_term_from(log_g, rx, s, wide, log_alpha, log_beta) -> np.ndarray:
    return np.where(
        wide, log_g - s * log_beta - rx * log_alpha, log_g - (rx - 1.0) * log_alpha - (s + 1.0) * log_beta
    )


def _log_term(r, alpha, s, beta, x, t) -> np.ndarray:
    """log F(t), with F as in the module docstring; broadcasts parameters against data.

    With scalar parameters and 1-D data it is evaluated once per distinct (x, t): a million customers
    measured in days have only tens of thousands, and each costs a 2F1."""
    x, t = np.broadcast_arrays(x, t)
    if x.ndim != 1 or any(np.ndim(p) for p in (r, alpha, s, beta)):
        return _log_term_each(r, alpha, s, beta, x, t)
    pair_x, pair_t, inverse = distinct_pairs(x, t)
    return _log_term_each(r, alpha, s, beta, pair_x, pair_t)[inverse]


def _log_term_each(r, alpha, s, beta, x, t) -> np.ndarray:
    rx, wide, m, c, z = _hypergeometric_arguments(r, alpha, s, beta, x, t)
    return _log_term_from(log_hyp2f1_one(m, c, z), rx, s, wide, np.log(alpha + t), np.log(beta + t))


def _log_parts(r, alpha, s, beta, x, t_x, age) -> tuple[np.ndarray, np.ndarray]:
    """log of the alive-at-T term and of the died-in-(t_x, T] term of the likelihood's bracket."""
    log_alive = -(r + x) * np.log(alpha + age) - s * np.log(beta + age)
    upper = _log_term(r, alpha, s, beta, x, t_x)
    lower = _log_term(r, alpha, s, beta, x, age)
    with np.errstate(divide="ignore"):
        log_a0 = upper + np.log(-np.expm1(np.minimum(lower - upper, 0.0)))
    log_dead = np.log(s) - np.log(r + s + x) + log_a0
    return log_alive, log_dead


def _loglik(r, alpha, s, beta, x, t_x, age) -> np.ndarray:
    log_alive, log_dead = _log_parts(r, alpha, s, beta, x, t_x, age)
    return (
        gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + np.logaddexp(log_alive, log_dead)
    )


def loglik_gradient(params: Sequence[float], frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
    """Analytic gradient of `loglik` with respect to (r, alpha, s, beta)."""
    x, t_x, age = _arrays(frequency, recency, T)
    return _loglik_and_gradient(np.asarray(params, dtype=float), x, t_x, age, np.ones(x.size))[1]


def _log_term_and_gradient(r, alpha, s, beta, x, t) -> tuple[np.ndarray, np.ndarray]:
    """log F(t) (as _log_term) and its gradient in (r, alpha, s, beta), shape (4, n)."""
    rx, wide, m, c, z = _hypergeometric_arguments(r, alpha, s, beta, x, t)
    log_g, (g_m, g_c, g_z) = log_hyp2f1_one_and_gradient(m, c, z)
    alpha_t, beta_t = alpha + t, beta + t
    log_alpha, log_beta = np.log(alpha_t), np.log(beta_t)
    value = _log_term_from(log_g, rx, s, wide, log_alpha, log_beta)
    # z = (α-β)/(α+t) when α ≥ β, (β-α)/(β+t) otherwise; m = r+x resp. s+1; c = r+s+x+1 in both
    z_alpha = np.where(wide, beta_t / alpha_t**2, -1.0 / beta_t)
    z_beta = np.where(wide, -1.0 / alpha_t, alpha_t / beta_t**2)
    gradient = np.stack((
        np.where(wide, g_m, 0.0) + g_c - log_alpha,
        g_z * z_alpha - np.where(wide, rx, rx - 1.0) / alpha_t,
        np.where(wide, 0.0, g_m) + g_c - log_beta,
        g_z * z_beta - np.where(wide, s, s + 1.0) / beta_t,
    ))
    return value, gradient


def _loglik_and_gradient(params: np.ndarray, x, t_x, age, weight) -> tuple[float, np.ndarray]:
    """Total weighted log-likelihood and its gradient in (r, alpha, s, beta) (the terms of _loglik, each
    differentiated; log A0 = log(F(t_x) - F(T)) through the two log F terms)."""
    r, alpha, s, beta = params
    rx = r + x
    log_alive = -rx * np.log(alpha + age) - s * np.log(beta + age)
    d_alive = np.stack((-np.log(alpha + age), -rx / (alpha + age), -np.log(beta + age), -s / (beta + age)))
    upper, d_upper = _log_term_and_gradient(r, alpha, s, beta, x, t_x)
    lower, d_lower = _log_term_and_gradient(r, alpha, s, beta, x, age)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.minimum(lower - upper, 0.0)
        log_a0 = upper + np.log(-np.expm1(gap))
        ratio = np.exp(gap) / -np.expm1(gap)  # F(T) / (F(t_x) - F(T))
        d_a0 = d_upper + ratio * (d_upper - d_lower)
    log_dead = np.log(s) - np.log(r + s + x) + log_a0
    d_dead = d_a0 + np.stack((-1.0 / (r + s + x), 0.0 * x, 1.0 / s - 1.0 / (r + s + x), 0.0 * x))
    mix = np.logaddexp(log_alive, log_dead)
    dead_share = np.exp(log_dead - mix)  # 0 where t_x = T (A0 = 0)
    d_mix = (1.0 - dead_share) * d_alive + np.where(dead_share > 0, dead_share, 0.0) * np.nan_to_num(d_dead)
    head = gammaln(rx) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    d_head = np.stack((digamma(rx) - digamma(r) + np.log(alpha), r / alpha + 0.0 * x, np.log(beta) + 0.0 * x,
                       s / beta + 0.0 * x))
    value = float((head + mix) @ weight)
    return value, (d_head + d_mix) @ weight
