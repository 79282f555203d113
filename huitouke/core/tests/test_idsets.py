"""core.idsets gives numpy's set results (by sorting instead of hashing)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from huitouke.core.idsets import distinct, distinct_pairs, intersection, member, union

ids = st.lists(st.integers(min_value=-5, max_value=2**40), max_size=60).map(lambda v: np.array(v, dtype=np.int64))


@given(ids, ids)
def test_the_same_sets_as_numpy(a, b):
    assert np.array_equal(distinct(a), np.unique(a))
    assert np.array_equal(union(a, b), np.union1d(a, b))
    assert np.array_equal(intersection(a, b), np.intersect1d(a, b))
    assert np.array_equal(member(a, np.sort(b)), np.isin(a, b))


def test_duplicates_and_empty_arrays():
    assert distinct(np.array([3, 1, 3, 2, 1])).tolist() == [1, 2, 3]
    assert intersection(np.array([5, 5, 7]), np.array([], dtype=np.int64)).tolist() == []
    assert member(np.array([], dtype=np.int64), np.array([1, 2])).tolist() == []
    assert union(np.array([], dtype=np.int64), np.array([2, 2])).tolist() == [2]


@given(st.lists(st.tuples(st.sampled_from([0.0, 1.0, 2.5]), st.integers(0, 4).map(float)), min_size=1, max_size=40))
def test_distinct_pairs_and_the_way_back(pairs):
    first, second = (np.array(column) for column in zip(*pairs, strict=True))
    pair_first, pair_second, inverse = distinct_pairs(first, second)
    expected = np.unique(np.column_stack((first, second)), axis=0)
    assert np.array_equal(np.column_stack((pair_first, pair_second)), expected)
    assert np.array_equal(pair_first[inverse], first) and np.array_equal(pair_second[inverse], second)
