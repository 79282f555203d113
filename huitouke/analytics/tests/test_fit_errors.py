"""Data a model cannot describe gets a plain-language ModelDoesNotFit instead of nonsense parameters."""

from __future__ import annotations

import numpy as np
import pytest

from huitouke.analytics.models.bgnbd import fit_bgnbd
from huitouke.analytics.models.errors import InvalidSummary, ModelDoesNotFit
from huitouke.analytics.models.paretonbd import fit_pareto_nbd

FITS = [fit_bgnbd, fit_pareto_nbd]


@pytest.mark.parametrize("fit", FITS)
def test_one_purchase_only_shop_is_told_it_needs_repeat_buyers(fit):
    ages = np.linspace(1.0, 90.0, 50)
    with pytest.raises(
        ModelDoesNotFit, match="^all 50 customers bought only once: a purchase model needs repeat buyers$"
    ):
        fit(np.zeros(50), np.zeros(50), ages)


@pytest.mark.parametrize("fit", FITS)
def test_a_handful_of_customers_is_too_little(fit):
    with pytest.raises(ModelDoesNotFit, match="only 4 customers"):
        fit([1, 0, 2, 0], [3.0, 0.0, 4.0, 0.0], [5.0, 6.0, 7.0, 8.0])


def _everyone_alike(seed: int = 11, n: int = 3000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One common purchase rate and nobody ever leaving: lifetimes returns r ≈ 600, a ≈ 6e-4 here."""
    rng = np.random.default_rng(seed)
    ages = np.full(n, 10.0)
    x = rng.poisson(2.0 * ages)
    recency = np.array([rng.uniform(0.0, age, k).max() if k else 0.0 for k, age in zip(x, ages, strict=True)])
    return x.astype(float), recency, ages


@pytest.mark.parametrize("fit", FITS)
def test_parameters_running_to_a_boundary_are_reported_not_returned(fit):
    with pytest.raises(
        ModelDoesNotFit, match=r"the data does not fit the .* model: parameters? .* ran (to|off)"
    ):
        fit(*_everyone_alike())


def test_the_boundary_message_names_the_parameter_its_value_and_what_it_means():
    with pytest.raises(ModelDoesNotFit) as caught:
        fit_bgnbd(*_everyone_alike())
    message = caught.value.message
    assert message.startswith("the data does not fit the BG/NBD model: parameter")
    assert " = " in message  # the value it ran to
    assert message.endswith((".", "describe.", "learn from."))
    assert caught.value.code == "model_does_not_fit"
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "reason"),
    [
        ([1, -1], [1, 0], [2, 2], "frequency is negative"),
        ([1.5, 0], [1, 0], [2, 2], "not a whole number"),
        ([1, 0], [3, 0], [2, 2], "recency is larger than T"),
        ([0, 0], [1, 0], [2, 2], "recency must be 0"),
        ([2, 0], [0, 0], [2, 2], "recency must be above 0"),
        ([1, 0], [np.nan, 0], [2, 2], "not a finite number"),
    ],
)
def test_impossible_histories_are_refused_naming_the_customer(frequency, recency, T, reason):
    with pytest.raises(InvalidSummary, match=reason):
        fit_bgnbd(frequency * 10, recency * 10, T * 10)
