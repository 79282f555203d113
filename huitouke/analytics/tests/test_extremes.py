"""Property tests: extreme histories (T = 0, frequency up to 1e4, recency = T) stay finite and sane."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from huitouke.analytics.models import bgnbd, paretonbd
from huitouke.analytics.models.errors import ModelDoesNotFit
from huitouke.analytics.models.simulate import simulate_bgnbd

EXAMPLES = settings(derandomize=True, deadline=None, max_examples=150, database=None)

frequency = st.one_of(st.sampled_from([0, 1, 2, 10_000]), st.integers(0, 10_000))
age = st.one_of(st.sampled_from([0.0, 1e-9, 1e4]), st.floats(0.0, 1e4))
share = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0))
parameter = st.one_of(st.sampled_from([1.0, 0.793]), st.floats(-2.5, 2.5).map(lambda e: 10.0**e))
horizon = st.one_of(st.sampled_from([0.0, 1.0, 1e4]), st.floats(0.0, 1e4))


@st.composite
def histories(draw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = draw(st.lists(st.tuples(frequency, age, share), min_size=1, max_size=12))
    x = np.array([row[0] for row in rows], dtype=float)
    T = np.array([row[1] for row in rows])
    recency = np.where(x > 0, np.minimum(T, T * np.array([row[2] for row in rows])), 0.0)
    return x, recency, T


@st.composite
def valid_histories(draw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """As above, but as real purchase data has them: repeat purchases come after the first day."""
    rows = draw(
        st.lists(st.tuples(frequency, st.floats(1e-3, 1e4), st.floats(1e-3, 1.0)), min_size=1, max_size=6)
    )
    x = np.array([row[0] for row in rows], dtype=float)
    T = np.array([row[1] for row in rows])
    return x, np.where(x > 0, T * np.array([row[2] for row in rows]), 0.0), T


def _check(model, params, data, t) -> None:
    x, recency, T = data
    loglik = model.loglik_per_customer(params, x, recency, T)
    alive = model.p_alive(params, x, recency, T)
    expected = model.conditional_expected_purchases(params, t, x, recency, T)
    assert np.all(np.isfinite(loglik)), loglik
    assert np.all(np.isfinite(alive)) and np.all((alive >= 0) & (alive <= 1)), alive
    assert np.all(np.isfinite(expected)) and np.all(expected >= 0), expected
    unconditional = model.expected_purchases(params, np.array([t]))
    assert np.all(np.isfinite(unconditional)) and np.all(unconditional >= 0)


@EXAMPLES
@given(data=histories(), r=parameter, alpha=parameter, a=parameter, b=parameter, t=horizon)
def test_bgnbd_is_finite_on_extreme_histories(data, r, alpha, a, b, t):
    _check(bgnbd, (r, alpha, a, b), data, t)


@EXAMPLES
@given(data=histories(), r=parameter, alpha=parameter, s=parameter, beta=parameter, t=horizon)
def test_pareto_nbd_is_finite_on_extreme_histories(data, r, alpha, s, beta, t):
    _check(paretonbd, (r, alpha, s, beta), data, t)


@settings(derandomize=True, deadline=None, max_examples=25, database=None)
@given(data=valid_histories())
def test_fits_with_extreme_customers_return_finite_figures_or_say_why(data):
    """Odd histories added to ordinary customers never turn a fit into NaN or an unexplained exception."""
    base = simulate_bgnbd(
        r=0.25,
        alpha=4.0,
        a=0.8,
        b=2.5,
        T=np.linspace(20.0, 40.0, 200),
        duration_holdout=0.0,
        rng=np.random.default_rng(0),
    )
    x, recency, T = (
        np.concatenate((ordinary, extra))
        for ordinary, extra in zip((base.frequency, base.recency, base.T), data, strict=True)
    )
    for fit in (bgnbd.fit_bgnbd, paretonbd.fit_pareto_nbd):
        try:
            result = fit(x, recency, T)
        except ModelDoesNotFit as exc:
            assert exc.message
            continue
        assert np.all(np.isfinite(result.params)) and np.isfinite(result.loglik)
        assert np.all(np.isfinite(result.p_alive(x, recency, T)))
