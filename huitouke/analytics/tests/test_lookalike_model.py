"""The look-alike distance: standardisation and k-nearest-gold distances on arrays worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from huitouke.analytics.models.lookalike import distance_to_gold, gold_sample, standardise


def test_standardise_gives_mean_zero_unit_spread_and_leaves_constant_columns_at_zero():
    z = standardise(np.array([[1.0, 5.0], [3.0, 5.0]]))
    assert z.tolist() == [[-1.0, 0.0], [1.0, 0.0]]


def test_distance_is_the_mean_over_the_k_nearest_gold_rows():
    gold = np.array([[0.0, 0.0], [3.0, 4.0], [10.0, 0.0]])
    candidates = np.array([[0.0, 0.0], [6.0, 8.0]])
    assert distance_to_gold(gold, candidates, k=1).tolist() == [0.0, 5.0]
    assert distance_to_gold(gold, candidates, k=2).tolist() == [2.5, (5.0 + np.sqrt(80.0)) / 2]
    assert distance_to_gold(gold, candidates, k=9).tolist() == pytest.approx([(0 + 5 + 10) / 3, (10 + 5 + np.sqrt(80)) / 3])


def test_blocks_give_the_same_distances_as_one_pass():
    rng = np.random.default_rng(3)
    gold, candidates = rng.normal(size=(40, 6)), rng.normal(size=(101, 6))
    np.testing.assert_allclose(distance_to_gold(gold, candidates, chunk=7), distance_to_gold(gold, candidates))


def test_gold_sample_is_all_rows_or_evenly_spaced():
    assert gold_sample(3, limit=5).tolist() == [0, 1, 2]
    assert gold_sample(9, limit=3).tolist() == [0, 4, 8]


def test_no_gold_is_refused():
    with pytest.raises(ValueError):
        distance_to_gold(np.zeros((0, 2)), np.zeros((1, 2)))
