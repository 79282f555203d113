"""BG/NBD: the published CDNOW fit, lifetimes' predictions, the analytic gradient, simulated ground truth."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from huitouke.analytics.models import bgnbd
from huitouke.analytics.models.simulate import simulate_bgnbd

# Fader, Hardie & Lee (2005), CDNOW 39-week calibration.
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_LOGLIK = -9582.4


@pytest.fixture(scope="module")
def fit(cdnow) -> bgnbd.BGNBDFit:
    return bgnbd.fit_bgnbd(cdnow.frequency, cdnow.recency, cdnow.T)


@pytest.fixture(scope="module")
def reference(cdnow, fit):
    """lifetimes' BetaGeoFitter carrying our parameters, so only the prediction formulas are compared."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter

        model = BetaGeoFitter()
        model.params_ = pd.Series(dict(zip(bgnbd.PARAMS, fit.params, strict=True)))
    return model


def test_cdnow_fit_reproduces_the_published_parameters_and_loglik(fit):
    for name, value in PUBLISHED.items():
        assert getattr(fit, name) == pytest.approx(value, rel=0.0025), name
    assert fit.loglik == pytest.approx(PUBLISHED_LOGLIK, abs=0.1)
    assert fit.converged or "ABNORMAL" in fit.message
    assert fit.n_customers == 2357


def test_fit_is_invariant_to_the_time_unit(cdnow, fit):
    in_days = bgnbd.fit_bgnbd(cdnow.frequency, cdnow.recency * 7, cdnow.T * 7)
    assert in_days.alpha == pytest.approx(fit.alpha * 7, rel=1e-5)
    for name in ("r", "a", "b"):
        assert getattr(in_days, name) == pytest.approx(getattr(fit, name), rel=1e-5)


@pytest.mark.parametrize("t", [1.0, 10.0, 39.0, 52.0])
def test_conditional_expected_purchases_agree_with_lifetimes(cdnow, fit, reference, t):
    ours = fit.conditional_expected_purchases(t, cdnow.frequency, cdnow.recency, cdnow.T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = reference.conditional_expected_number_of_purchases_up_to_time(
            t, cdnow.frequency, cdnow.recency, cdnow.T
        )
    np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-6)


def test_p_alive_agrees_with_lifetimes(cdnow, fit, reference):
    ours = fit.p_alive(cdnow.frequency, cdnow.recency, cdnow.T)
    theirs = reference.conditional_probability_alive(cdnow.frequency, cdnow.recency, cdnow.T)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_unconditional_expected_purchases_agree_with_lifetimes(fit, reference):
    t = np.array([0.5, 1.0, 10.0, 39.0, 78.0])
    np.testing.assert_allclose(
        fit.expected_purchases(t), reference.expected_number_of_purchases_up_to_time(t), rtol=1e-6
    )


@pytest.mark.parametrize(
    "params", [(0.243, 4.414, 0.793, 2.426), (1.7, 0.9, 3.1, 0.6), (0.05, 40.0, 0.2, 9.0)]
)
def test_analytic_gradient_matches_finite_differences(cdnow, params):
    params = np.array(params)
    analytic = bgnbd.loglik_gradient(params, cdnow.frequency, cdnow.recency, cdnow.T)
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6 * params[i]
        numeric = (
            bgnbd.loglik(params + step, cdnow.frequency, cdnow.recency, cdnow.T)
            - bgnbd.loglik(params - step, cdnow.frequency, cdnow.recency, cdnow.T)
        ) / (2 * step[i])
        assert analytic[i] == pytest.approx(numeric, rel=1e-5, abs=1e-3), bgnbd.PARAMS[i]


def test_loglik_gradient_is_zero_at_the_fit(cdnow, fit):
    gradient = bgnbd.loglik_gradient(fit.params, cdnow.frequency, cdnow.recency, cdnow.T)
    assert np.max(np.abs(gradient * np.array(fit.params))) < 1e-3


TRUE = (0.25, 4.0, 0.8, 2.5)


@pytest.fixture(scope="module")
def simulated():
    rng = np.random.default_rng(20240610)
    ages = rng.uniform(27.0, 39.0, 20_000)
    return simulate_bgnbd(
        r=TRUE[0], alpha=TRUE[1], a=TRUE[2], b=TRUE[3], T=ages, duration_holdout=39.0, rng=rng
    )


def _standard_errors(params, data) -> np.ndarray:
    """From the observed information: the Hessian by central differences of the analytic gradient."""
    params = np.asarray(params)
    hessian = np.empty((4, 4))
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-5 * params[i]
        hessian[:, i] = (
            bgnbd.loglik_gradient(params + step, *data) - bgnbd.loglik_gradient(params - step, *data)
        ) / (2 * step[i])
    return np.sqrt(np.diag(np.linalg.inv(-(hessian + hessian.T) / 2)))


def test_fit_recovers_simulated_parameters_within_four_standard_errors(simulated):
    data = (simulated.frequency, simulated.recency, simulated.T)
    fit = bgnbd.fit_bgnbd(*data)
    errors = _standard_errors(fit.params, data)
    for name, estimate, truth, error in zip(bgnbd.PARAMS, fit.params, TRUE, errors, strict=True):
        assert abs(estimate - truth) < 4 * error, f"{name}: {estimate} vs {truth} ± {error}"
        assert error < 0.25 * truth, f"{name}: 20,000 customers should pin it down"


def test_holdout_predictions_are_unbiased_on_simulated_data(simulated):
    data = (simulated.frequency, simulated.recency, simulated.T)
    fit = bgnbd.fit_bgnbd(*data)
    actual = simulated.frequency_holdout.sum()
    predicted = fit.conditional_expected_purchases(simulated.duration_holdout, *data).sum()
    with_truth = bgnbd.conditional_expected_purchases(TRUE, simulated.duration_holdout, *data).sum()
    assert predicted == pytest.approx(actual, rel=0.03)
    assert with_truth == pytest.approx(actual, rel=0.03)
    # and the unconditional curve: a new customer's expected purchases over the calibration ages
    assert fit.expected_purchases(simulated.T).sum() == pytest.approx(simulated.frequency.sum(), rel=0.03)


def test_predictions_are_continuous_through_the_removable_singularities():
    """a = 1 (0/0) and a + b + x - 1 = 0 (0·∞) are interpolated; the values join their neighbours."""
    x, t_x, age = np.array([0.0, 3.0]), np.array([0.0, 20.0]), np.array([30.0, 30.0])
    for a, b in ((1.0, 2.0), (0.4, 0.6)):
        at = bgnbd.conditional_expected_purchases((0.5, 5.0, a, b), 10.0, x, t_x, age)
        for delta in (1e-3, -1e-3):
            near = bgnbd.conditional_expected_purchases((0.5, 5.0, a + delta, b), 10.0, x, t_x, age)
            np.testing.assert_allclose(at, near, rtol=5e-3)
        assert np.all(np.isfinite(at)) and np.all(at > 0)
