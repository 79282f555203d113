"""What the purchase and spend models share: input checks, compressed rows, the optimiser and its verdicts.

Every fit runs on log-parameters in time rescaled so that the mean customer age T is 1: then all
parameters are dimensionless, one box of bounds suits every shop and time unit, and "ran to its
bound" means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from huitouke.analytics.models.errors import InvalidSummary, ModelDoesNotFit

# The optimiser may roam log-parameters in [LOG_LOWER, LOG_UPPER] (rescaled time); a result outside
# [SANE_LOWER, SANE_UPPER] is a parameter running to a boundary of the model, reported, never returned.
LOG_LOWER, LOG_UPPER = np.log(1e-5), np.log(1e5)
SANE_LOWER, SANE_UPPER = 1e-4, 1e4
# A likelihood that gains less than this (in total log-likelihood) from 10x further along a ray is flat there.
RIDGE_TOLERANCE = 1e-3
_WALL = 10.0
MIN_CUSTOMERS = 10
MIN_REPEAT_BUYERS = 2

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class SummaryRows:
    """Distinct (frequency, recency, T) rows and how many customers share each: all a likelihood needs."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    weight: np.ndarray
    n_customers: int
    n_repeat_buyers: int


@dataclass(frozen=True)
class Optimum:
    log_params: np.ndarray
    iterations: int
    evaluations: int
    converged: bool
    message: str


@dataclass(frozen=True, kw_only=True)
class FitOutcome:
    """How a maximum-likelihood fit went; each model's result puts its parameters in front of these."""

    loglik: float
    n_customers: int
    iterations: int
    evaluations: int
    converged: bool
    message: str


def outcome_of(optimum: Optimum, *, loglik: float, n_customers: int) -> dict[str, Any]:
    """The FitOutcome fields of a finished optimisation, as keyword arguments for a result class."""
    return {
        "loglik": float(loglik), "n_customers": int(n_customers), "iterations": optimum.iterations,
        "evaluations": optimum.evaluations, "converged": optimum.converged, "message": optimum.message,
    }


def first_invalid_row(frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> tuple[int, str] | None:
    """Index and reason of the first customer whose (frequency, recency, T) cannot be a purchase history."""
    checks = (
        (~np.isfinite(frequency), "frequency is not a finite number"),
        (~np.isfinite(recency), "recency is not a finite number"),
        (~np.isfinite(T), "T is not a finite number"),
        (frequency < 0, "frequency is negative"),
        (frequency != np.floor(frequency), "frequency is not a whole number of repeat purchases"),
        (recency < 0, "recency is negative"),
        (recency > T, "recency is larger than T (the last purchase cannot be after the end of observation)"),
        ((frequency == 0) & (recency != 0), "recency must be 0 for a customer without repeat purchases"),
        (
            (frequency > 0) & (recency == 0),
            "recency must be above 0 for a customer with repeat purchases "
            "(they fall on later days than the first purchase)",
        ),
    )
    worst: tuple[int, str] | None = None
    for bad, reason in checks:
        hits = np.flatnonzero(bad)
        if hits.size and (worst is None or hits[0] < worst[0]):
            worst = (int(hits[0]), reason)
    return worst


def as_summary(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three columns as equal-length float arrays, or InvalidSummary naming the first bad customer."""
    x, t_x, age = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (frequency, recency, T))
    if not (x.ndim == t_x.ndim == age.ndim == 1 and x.shape == t_x.shape == age.shape):
        raise InvalidSummary("frequency, recency and T must be one-dimensional and of equal length")
    bad = first_invalid_row(x, t_x, age)
    if bad is not None:
        raise InvalidSummary(f"customer #{bad[0]}: {bad[1]}")
    return x, t_x, age


def summary_rows(frequency, recency, T, *, model: str) -> SummaryRows:
    """Checked, de-duplicated rows; ModelDoesNotFit when there is too little history to fit `model`."""
    x, t_x, age = as_summary(frequency, recency, T)
    n = x.size
    repeat = int(np.count_nonzero(x > 0))
    if n < MIN_CUSTOMERS:
        raise ModelDoesNotFit(
            f"only {n} customers: the {model} model needs at least {MIN_CUSTOMERS} customers to fit"
        )
    if repeat == 0:
        raise ModelDoesNotFit(f"all {n} customers bought only once: a purchase model needs repeat buyers")
    if repeat < MIN_REPEAT_BUYERS:
        raise ModelDoesNotFit(
            f"only {repeat} of {n} customers bought again: the {model} model needs at least "
            f"{MIN_REPEAT_BUYERS} repeat buyers"
        )
    order = np.lexsort((age, t_x, x))
    x, t_x, age = x[order], t_x[order], age[order]
    new = np.ones(n, dtype=bool)
    new[1:] = (x[1:] != x[:-1]) | (t_x[1:] != t_x[:-1]) | (age[1:] != age[:-1])
    starts = np.flatnonzero(new)
    return SummaryRows(
        x=x[starts],
        t_x=t_x[starts],
        T=age[starts],
        weight=np.diff(starts, append=n).astype(float),
        n_customers=n,
        n_repeat_buyers=repeat,
    )


def time_scale(rows: SummaryRows) -> float:
    """Mean customer age: the fits measure time in this unit."""
    return float(np.average(rows.T, weights=rows.weight))


def maximise(objective: Objective, start: np.ndarray, *, model: str) -> Optimum:
    """Minimise `objective` (minus the mean log-likelihood and its gradient, in log-parameters) with BFGS.

    The box [LOG_LOWER, LOG_UPPER] is a steep quadratic wall added to the objective, and the run stops once a
    parameter is outside it (the boundary check then reports it). Not L-BFGS-B: scipy's L-BFGS-B calls
    OpenBLAS's threaded LAPACK on tiny matrices, and on a busy two-core machine each such call waits for the
    other core, so fits took 20x longer at random. A run that stops without converging counts as converged
    when the gradient is negligible anyway; otherwise the caller first checks for a boundary (the usual
    reason) and then calls `require_convergence`.
    """
    start = np.clip(start, LOG_LOWER + 1.0, LOG_UPPER - 1.0)
    with np.errstate(all="ignore"):
        result = minimize(
            _walled(objective),
            start,
            jac=True,
            method="BFGS",
            callback=_stop_outside_the_box,
            options={"maxiter": 500, "gtol": 1e-9},
        )
        _, gradient = objective(result.x)
    if not np.all(np.isfinite(result.x)) or not np.isfinite(result.fun):
        _optimiser_failed(model, str(result.message))
    flat = bool(np.all(np.isfinite(gradient)) and np.max(np.abs(gradient)) < 1e-5)
    return Optimum(
        log_params=result.x,
        iterations=int(result.nit),
        evaluations=int(result.nfev),
        converged=bool(result.success or flat),
        message=str(result.message),
    )


def _stop_outside_the_box(intermediate_result) -> None:
    if np.any((intermediate_result.x < LOG_LOWER) | (intermediate_result.x > LOG_UPPER)):
        raise StopIteration


def require_convergence(optimum: Optimum, *, model: str) -> None:
    if not optimum.converged:
        _optimiser_failed(model, optimum.message)


def _optimiser_failed(model: str, message: str) -> None:
    raise ModelDoesNotFit(
        f"the optimiser could not fit the {model} model to this data ({message.rstrip(': ')}); "
        "more customers or a longer history usually help"
    )


@dataclass(frozen=True)
class Ray:
    """A way to a boundary of a model: multiplying the parameters by `factors` goes 10x further along it."""

    factors: tuple[float, ...]
    hint: str

    def moves(self, index: int, toward: str) -> bool:
        factor = self.factors[index]
        return factor != 1.0 and (factor < 1.0) == (toward == "towards 0")


def check_boundaries(
    model: str,
    names: tuple[str, ...],
    scaled: np.ndarray,
    natural: np.ndarray,
    loglik: Callable[[np.ndarray], float],
    rays: tuple[Ray, ...],
) -> None:
    """ModelDoesNotFit when the estimate is a boundary of the model rather than a proper maximum.

    Either a (rescaled) parameter left [SANE_LOWER, SANE_UPPER], or the likelihood does not fall when the
    parameters go 10x further along one of `rays`: the optimiser merely stopped on the way to infinity
    (where `lifetimes` reports, for instance, r = 1e5 or a = 6e-4 as if they were estimates).
    """
    for i, value in enumerate(scaled):
        if not SANE_LOWER <= value <= SANE_UPPER:
            toward = "towards 0" if value < SANE_LOWER else "towards infinity"
            hint = next((ray.hint for ray in rays if ray.moves(i, toward)), "")
            raise ModelDoesNotFit(
                f"the data does not fit the {model} model: parameter {names[i]} ran to its bound "
                f"({names[i]} = {natural[i]:.3g}, {toward}). {hint}".rstrip()
            )
    best = loglik(scaled)
    for ray in rays:
        further = loglik(scaled * np.asarray(ray.factors))
        if not (np.isfinite(further) and further >= best - RIDGE_TOLERANCE):
            continue
        moved = [i for i, factor in enumerate(ray.factors) if factor != 1.0]
        values = ", ".join(f"{names[i]} = {natural[i]:.3g}" for i in moved)
        if len(moved) == 1:
            toward = "towards 0" if ray.factors[moved[0]] < 1.0 else "towards infinity"
            what = f"parameter {names[moved[0]]} ran to its bound ({values}, {toward})"
        else:
            what = (
                f"parameters {' and '.join(names[i] for i in moved)} ran off together "
                f"({values}, the likelihood still rising as they grow in step)"
            )
        raise ModelDoesNotFit(f"the data does not fit the {model} model: {what}. {ray.hint}".rstrip())


def _walled(objective: Objective) -> Objective:
    """The objective plus a steep wall outside the box; a non-finite value (an extreme trial point) becomes a
    huge one with a gradient pointing back into the box, so the line search backs off."""

    def wrapped(theta: np.ndarray) -> tuple[float, np.ndarray]:
        outside = np.minimum(theta - LOG_LOWER, 0.0) + np.maximum(theta - LOG_UPPER, 0.0)
        value, gradient = objective(np.clip(theta, LOG_LOWER, LOG_UPPER))
        if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
            return 1e300, np.sign(theta)
        return value + _WALL * float(outside @ outside), gradient + 2.0 * _WALL * outside

    return wrapped
