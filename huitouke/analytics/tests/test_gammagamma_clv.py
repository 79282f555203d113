"""Gamma-Gamma spend model and CLV: CDNOW figures, lifetimes' predictions, the analytic gradient."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from huitouke.analytics.models import gammagamma
from huitouke.analytics.models.bgnbd import fit_bgnbd
from huitouke.analytics.models.clv import customer_lifetime_value
from huitouke.analytics.models.errors import ModelDoesNotFit
from huitouke.analytics.models.paretonbd import fit_pareto_nbd


@pytest.fixture(scope="module")
def fit(cdnow) -> gammagamma.GammaGammaFit:
    return gammagamma.fit_gamma_gamma(cdnow.frequency, cdnow.monetary_value)


@pytest.fixture(scope="module")
def reference(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import GammaGammaFitter

        model = GammaGammaFitter()
        model.params_ = pd.Series(dict(zip(gammagamma.PARAMS, fit.params, strict=True)))
    return model


def test_cdnow_fit_reproduces_the_published_parameters(fit):
    for name, value in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert getattr(fit, name) == pytest.approx(value, rel=0.005), name
    # the exact maximum on this copy of CDNOW (spend rounded to cents)
    for name, value in {"p": 6.2488, "q": 3.7446, "v": 15.4477}.items():
        assert getattr(fit, name) == pytest.approx(value, rel=2e-5), name
    assert fit.n_customers == 946


def test_expected_spend_agrees_with_lifetimes(cdnow, fit, reference):
    theirs = reference.conditional_expected_average_profit(
        cdnow.frame["frequency"], cdnow.frame["monetary_value"]
    )
    np.testing.assert_allclose(
        fit.conditional_expected_spend(cdnow.frequency, cdnow.monetary_value), theirs.to_numpy(), rtol=1e-6
    )


@pytest.mark.parametrize("params", [(6.25, 3.74, 15.44), (1.3, 9.0, 0.7), (40.0, 1.5, 300.0)])
def test_analytic_gradient_matches_finite_differences(cdnow, params):
    params = np.array(params)
    analytic = gammagamma.loglik_gradient(params, cdnow.frequency, cdnow.monetary_value)
    for i in range(3):
        step = np.zeros(3)
        step[i] = 1e-6 * params[i]
        numeric = (
            gammagamma.loglik(params + step, cdnow.frequency, cdnow.monetary_value)
            - gammagamma.loglik(params - step, cdnow.frequency, cdnow.monetary_value)
        ) / (2 * step[i])
        assert analytic[i] == pytest.approx(numeric, rel=1e-5, abs=1e-3), gammagamma.PARAMS[i]


def test_fit_is_invariant_to_the_money_unit(cdnow, fit):
    in_fen = gammagamma.fit_gamma_gamma(cdnow.frequency, cdnow.monetary_value * 100)
    assert in_fen.p == pytest.approx(fit.p, rel=1e-5)
    assert in_fen.q == pytest.approx(fit.q, rel=1e-5)
    assert in_fen.v == pytest.approx(fit.v * 100, rel=1e-5)


def test_too_few_repeat_buyers_is_said_plainly():
    with pytest.raises(ModelDoesNotFit, match="the spend model needs repeat buyers"):
        gammagamma.fit_gamma_gamma(np.zeros(50), np.zeros(50))


def test_identical_spend_everywhere_runs_to_a_bound():
    rng = np.random.default_rng(3)
    frequency = rng.integers(1, 6, 400).astype(float)
    with pytest.raises(ModelDoesNotFit, match="ran (to|off)"):
        gammagamma.fit_gamma_gamma(frequency, np.full(400, 88.0) + rng.normal(0, 1e-9, 400))


@pytest.mark.parametrize("model_fit", [fit_bgnbd, fit_pareto_nbd])
def test_clv_agrees_with_lifetimes(cdnow, fit, reference, model_fit):
    data = (cdnow.frequency, cdnow.recency, cdnow.T)
    purchases = model_fit(*data)
    spend = fit.conditional_expected_spend(cdnow.frequency, cdnow.monetary_value)
    ours = customer_lifetime_value(purchases, *data, spend, months=12, monthly_discount=0.01, unit="weeks")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter, ParetoNBDFitter

        other = BetaGeoFitter() if model_fit is fit_bgnbd else ParetoNBDFitter()
        names = ("r", "alpha", "a", "b") if model_fit is fit_bgnbd else ("r", "alpha", "s", "beta")
        other.params_ = pd.Series(dict(zip(names, purchases.params, strict=True)))
        other.predict = other.conditional_expected_number_of_purchases_up_to_time  # set by their fit()
        theirs = reference.customer_lifetime_value(
            other,
            cdnow.frame["frequency"],
            cdnow.frame["recency"],
            cdnow.frame["T"],
            cdnow.frame["monetary_value"],
            time=12,
            discount_rate=0.01,
            freq="W",
        )
    np.testing.assert_allclose(ours, theirs.to_numpy(), rtol=1e-6)


def test_clv_in_days_equals_clv_in_weeks_with_the_same_month(cdnow):
    data = (cdnow.frequency, cdnow.recency, cdnow.T)
    weekly = fit_bgnbd(*data)
    daily = fit_bgnbd(cdnow.frequency, cdnow.recency * 7, cdnow.T * 7)
    spend = np.full(cdnow.frequency.size, 35.0)
    in_weeks = customer_lifetime_value(weekly, *data, spend, months=6, monthly_discount=0.02, unit="weeks")
    in_days = customer_lifetime_value(
        daily,
        cdnow.frequency,
        cdnow.recency * 7,
        cdnow.T * 7,
        spend,
        months=6,
        monthly_discount=0.02,
        unit="days",
    )
    # a lifetimes "month" is 4.345 weeks but 30 days, so the two differ by that ratio's effect only
    assert np.all(in_days <= in_weeks * 1.0001)
    assert np.all(in_days > 0.95 * in_weeks)
