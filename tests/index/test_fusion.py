"""Properties of hybrid fusion that would fail if it broke."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from index.fusion import LEXICAL_WEIGHT, convex_fusion, coverage_fusion, normalize

scores = arrays(np.float32, st.integers(0, 30), elements=st.floats(-50, 50, width=32))


def _order(values: np.ndarray) -> list[int]:
    return list(np.argsort(-values, kind="stable"))


def test_a_passage_first_in_both_lists_ranks_first():
    dense = np.array([0.2, 0.9, 0.5, 0.1], dtype=np.float32)
    lexical = np.array([3.0, 12.0, 0.0, 7.0], dtype=np.float32)
    for coverage in (0.0, 0.3, 1.0):
        assert _order(coverage_fusion(dense, lexical, coverage))[0] == 1


@given(st.data())
def test_weights_0_and_1_reproduce_the_single_retrievers(data):
    size = data.draw(st.integers(1, 20))
    unique = st.lists(st.integers(-1000, 1000), min_size=size, max_size=size, unique=True)
    dense = np.array(data.draw(unique), dtype=np.float32) / 1000
    lexical = np.array(data.draw(unique), dtype=np.float32) / 100
    assert _order(convex_fusion(dense, lexical, 0.0)) == _order(dense)
    assert _order(convex_fusion(dense, lexical, 1.0)) == _order(lexical)
    assert _order(coverage_fusion(dense, lexical, 0.0)) == _order(dense)  # BM25 sees nothing


def test_bm25_counts_more_the_more_of_the_question_it_sees():
    dense = np.array([1.0, 0.0], dtype=np.float32)  # dense prefers row 0
    lexical = np.array([0.0, 1.0], dtype=np.float32)  # BM25 prefers row 1
    assert _order(coverage_fusion(dense, lexical, coverage=0.2))[0] == 0
    assert _order(coverage_fusion(dense, lexical, coverage=1.0))[0] == 1  # LEXICAL_WEIGHT > 0.5
    assert LEXICAL_WEIGHT > 0.5


@given(scores, st.floats(-1, 2), st.floats(0, 1))
def test_scores_are_finite_and_bounded_for_any_input(values, coverage, weight):
    fused = coverage_fusion(values, values[::-1].copy(), coverage, weight)
    assert fused.shape == values.shape
    assert np.all(np.isfinite(fused))
    assert np.all((fused >= -1e-6) & (fused <= 1 + 1e-6))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.zeros(0, np.float32), []),
        (np.full(4, 3.0, np.float32), [0.0, 0.0, 0.0, 0.0]),  # no spread: no preference
        (np.array([np.nan, np.inf, 1.0, 3.0], np.float32), [0.0, 0.0, 1 / 3, 1.0]),  # non-finite count as 0
        (np.array([-2.0, 0.0, 6.0], np.float32), [0.0, 0.25, 1.0]),
    ],
)
def test_scores_normalize_to_their_place_between_min_and_max(values, expected):
    np.testing.assert_allclose(normalize(values), np.array(expected, np.float32), atol=1e-6)


@given(arrays(np.float32, st.integers(2, 30), elements=st.floats(-50, 50, width=32)))
def test_normalize_maps_min_to_0_max_to_1_and_keeps_the_order(values):
    normalized = normalize(values)
    if values.max() - values.min() < 1e-3:
        return
    assert normalized[values.argmin()] == 0.0 and normalized[values.argmax()] == 1.0
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(normalized[order]) >= 0)
    np.testing.assert_allclose(
        normalized, (values - values.min()) / (values.max() - values.min()), rtol=1e-5, atol=1e-6
    )


def test_nan_coverage_counts_as_none():
    fused = coverage_fusion(np.array([0.5, 0.1]), np.array([0.0, 9.0]), float("nan"))
    assert _order(fused) == [0, 1]
