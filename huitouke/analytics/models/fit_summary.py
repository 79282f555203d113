"""Fit all three models on one customer summary; a model that cannot be fitted reports why instead."""

from __future__ import annotations

from typing import Any

from numpy.typing import ArrayLike

from huitouke.analytics.models.bgnbd import fit_bgnbd
from huitouke.analytics.models.errors import ModelDoesNotFit
from huitouke.analytics.models.gammagamma import fit_gamma_gamma
from huitouke.analytics.models.paretonbd import fit_pareto_nbd


def fit_summary_models(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, monetary_value: ArrayLike
) -> dict[str, dict[str, Any]]:
    """{"bgnbd": {r, alpha, a, b, loglik}, "pareto_nbd": {r, alpha, s, beta, loglik}, "gamma_gamma": {p, q, v,
    loglik}}, each replaced by {"error": message} when that model does not fit the data."""
    out: dict[str, dict[str, Any]] = {}
    fits = (
        ("bgnbd", ("r", "alpha", "a", "b"), lambda: fit_bgnbd(frequency, recency, T)),
        ("pareto_nbd", ("r", "alpha", "s", "beta"), lambda: fit_pareto_nbd(frequency, recency, T)),
        ("gamma_gamma", ("p", "q", "v"), lambda: fit_gamma_gamma(frequency, monetary_value)),
    )
    for name, params, fit in fits:
        try:
            result = fit()
        except ModelDoesNotFit as exc:
            out[name] = {"error": exc.message}
            continue
        out[name] = {param: getattr(result, param) for param in params} | {"loglik": result.loglik}
    return out
