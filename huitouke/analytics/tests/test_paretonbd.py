"""Pareto/NBD: the published CDNOW fit, lifetimes' predictions, the hypergeometric term where scipy fails."""

from __future__ import annotations

import warnings
from decimal import Decimal, localcontext

import numpy as np
import pandas as pd
import pytest

from huitouke.analytics.models import paretonbd
from huitouke.analytics.models.hypergeometric import log_hyp2f1_one

# Fader & Hardie's note on the Pareto/NBD (2005), CDNOW 39-week calibration.
PUBLISHED = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
PUBLISHED_LOGLIK = -9595.0


@pytest.fixture(scope="module")
def fit(cdnow) -> paretonbd.ParetoNBDFit:
    return paretonbd.fit_pareto_nbd(cdnow.frequency, cdnow.recency, cdnow.T)


@pytest.fixture(scope="module")
def reference(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import ParetoNBDFitter

        model = ParetoNBDFitter()
        model.params_ = pd.Series(dict(zip(paretonbd.PARAMS, fit.params, strict=True)))
    return model


def test_cdnow_fit_reproduces_the_published_parameters_and_loglik(fit):
    for name, value in PUBLISHED.items():
        assert getattr(fit, name) == pytest.approx(value, rel=0.005), name
    assert fit.loglik == pytest.approx(PUBLISHED_LOGLIK, abs=0.1)


def test_p_alive_and_conditional_expectation_agree_with_lifetimes(cdnow, fit, reference):
    data = (cdnow.frequency, cdnow.recency, cdnow.T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(
            fit.p_alive(*data), reference.conditional_probability_alive(*data), rtol=1e-6
        )
        for t in (1.0, 39.0):
            theirs = reference.conditional_expected_number_of_purchases_up_to_time(t, *data)
            np.testing.assert_allclose(fit.conditional_expected_purchases(t, *data), theirs, rtol=1e-6)
        t = np.array([1.0, 39.0, 78.0])
        np.testing.assert_allclose(
            fit.expected_purchases(t), reference.expected_number_of_purchases_up_to_time(t), rtol=1e-6
        )


def test_loglik_is_the_maximum(cdnow, fit):
    data = (cdnow.frequency, cdnow.recency, cdnow.T)
    for i in range(4):
        for factor in (0.99, 1.01):
            moved = np.array(fit.params)
            moved[i] *= factor
            assert paretonbd.loglik(moved, *data) < fit.loglik


def _series(m: float, c: float, z: str, digits: int = 60) -> float:
    """log 2F1(1, m; c; z) by its power series in 60-digit decimals (slow, for a handful of points only)."""
    with localcontext() as context:
        context.prec = digits
        dm, dc, dz = Decimal(m), Decimal(c), Decimal(z)
        total, term, k = Decimal(1), Decimal(1), 0
        while term > Decimal(10) ** -40 * total:
            term = term * (dm + k) / (dc + k) * dz
            total += term
            k += 1
        return float(total.ln())


@pytest.mark.parametrize(
    ("m", "c", "z"),
    [
        (0.5533, 2.1595, "0.3"),  # CDNOW-like, x = 0
        (129.7931, 178.7931, "0.999"),  # integer c - 1 - m: scipy's hyp2f1 returns nan near z = 1
        (2.004773558087717, 4.004773558087717, "0.9995"),
        (1000.55, 1002.15, "0.9995"),  # a frequent buyer, α ≫ β
        (1.6, 10001.55, "0.97"),  # the α < β branch with x = 1e4
        (0.01, 0.02 + 1.0, "0.9"),
    ],
)
def test_hypergeometric_term_matches_a_high_precision_series(m, c, z):
    assert log_hyp2f1_one(m, c, float(z)) == pytest.approx(_series(m, c, z), rel=1e-11, abs=1e-11)


def test_hypergeometric_term_stays_finite_as_z_approaches_one():
    z = 1.0 - np.logspace(-1, -15, 29)
    for m, c in ((0.5, 2.1), (5000.0, 5001.6), (1.6, 10_001.5), (100.0, 101.0001)):
        values = log_hyp2f1_one(m, c, z)
        assert np.all(np.isfinite(values))
        assert np.all(np.diff(values) >= -1e-10), "2F1(1, m; c; z) grows with z"
        if c - 1.0 - m > 0:  # finite limit (c-1)/(c-1-m) at z = 1
            assert values[-1] <= np.log((c - 1.0) / (c - 1.0 - m)) + 1e-9


def _central_difference(f, point: np.ndarray, relative: float = 1e-6) -> np.ndarray:
    gradient = np.zeros(point.size)
    for i in range(point.size):
        h = relative * max(abs(point[i]), 1e-3)
        up, down = point.copy(), point.copy()
        up[i] += h
        down[i] -= h
        gradient[i] = (f(up) - f(down)) / (2.0 * h)
    return gradient


@pytest.mark.parametrize(
    "params",
    [
        (0.553, 10.578, 0.606, 11.669),  # the CDNOW optimum: α < β
        (0.553, 10.578, 0.606, 9.0),  # α > β
        (1.2, 3.0, 2.0, 40.0),
        (0.3, 20.0, 0.2, 5.0),
    ],
)
def test_analytic_gradient_matches_the_numeric_gradient(cdnow, params):
    data = (cdnow.frequency, cdnow.recency, cdnow.T)
    point = np.array(params)
    numeric = _central_difference(lambda p: paretonbd.loglik(p, *data), point)
    analytic = paretonbd.loglik_gradient(point, *data)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize(
    ("m", "c", "z"),
    [(0.5533, 2.1595, 0.3), (129.79, 178.79, 0.999), (2.0047, 4.0047, 0.9995), (1000.55, 1002.15, 0.9995),
     (1.6, 10001.55, 0.97), (0.01, 1.02, 0.9), (50.0, 51.2, 0.2)],
)
def test_hypergeometric_gradient_matches_the_numeric_gradient(m, c, z):
    from huitouke.analytics.models.hypergeometric import log_hyp2f1_one_and_gradient

    value, gradient = log_hyp2f1_one_and_gradient(m, c, z)
    assert value == pytest.approx(float(log_hyp2f1_one(m, c, z)), rel=1e-14, abs=1e-14)
    numeric = _central_difference(lambda p: float(log_hyp2f1_one(*p)), np.array([m, c, z]), relative=1e-7)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-9)
