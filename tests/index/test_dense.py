"""FAISS index types: exact and approximate search, date filters, save and (mmap) load (random vectors)."""

import numpy as np
import pytest

from index.store.dense import KINDS, DenseIndex, choose_kind

DIMENSION = 32
RECALL = 0.95  # what the approximate type promises against exact search (recall@10)


def unit(matrix: np.ndarray) -> np.ndarray:
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data():
    """Vectors around 30 topics (real embeddings have neighbours; uniform noise in many dimensions has none),
    and queries from the same topics."""
    rng = np.random.default_rng(7)
    centres = unit(rng.standard_normal((30, DIMENSION)))
    pick = rng.integers(0, 30, 3000 + 20)
    points = unit(centres[pick] + 0.5 * rng.standard_normal((len(pick), DIMENSION)) / np.sqrt(DIMENSION))
    return points[:3000], points[3000:]


def exact_rows(vectors, query, k, allowed=None):
    scores = vectors @ query
    rows = np.arange(len(vectors)) if allowed is None else allowed
    return rows[np.argsort(-scores[rows], kind="stable")[:k]]


def recall(index, vectors, queries, k=10, allowed=None):
    found = [set(index.search(q, k, allowed)[1]) & set(exact_rows(vectors, q, k, allowed)) for q in queries]
    return sum(len(f) for f in found) / (k * len(queries))


@pytest.mark.parametrize("kind", KINDS)
def test_every_type_finds_the_exact_neighbours_or_nearly(data, kind):
    vectors, queries = data
    index = DenseIndex.build(vectors, kind=kind)

    assert index.kind == kind and len(index) == len(vectors)
    if kind == "flat":
        for query in queries:
            scores, rows = index.search(query, 10)
            np.testing.assert_array_equal(rows, exact_rows(vectors, query, 10))
            np.testing.assert_allclose(scores, vectors[rows] @ query, rtol=1e-5)
    else:
        assert recall(index, vectors, queries) >= RECALL


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("share", [0.5, 0.02])
def test_a_filter_only_returns_allowed_rows_for_every_type(data, kind, share):
    vectors, queries = data
    allowed = np.sort(np.random.default_rng(1).choice(len(vectors), int(share * len(vectors)), replace=False))
    index = DenseIndex.build(vectors, kind=kind)

    for query in queries:
        _, rows = index.search(query, 10, allowed)
        assert len(rows) == 10 and set(rows) <= set(allowed)
    assert recall(index, vectors, queries, allowed=allowed) >= (1.0 if kind == "flat" else RECALL)


def test_k_is_cut_to_the_allowed_rows(data):
    vectors, queries = data
    for kind in KINDS:
        _, rows = DenseIndex.build(vectors, kind=kind).search(queries[0], 10, np.array([3, 5]))
        assert sorted(rows) == [3, 5]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mmap", [False, True])
def test_save_and_load_give_identical_results(data, tmp_path, kind, mmap):
    vectors, queries = data
    index = DenseIndex.build(vectors, kind=kind)
    index.save(tmp_path / "dense.faiss")
    loaded = DenseIndex.load(tmp_path / "dense.faiss", mmap=mmap)

    assert loaded.kind == kind and len(loaded) == len(index)
    allowed = np.arange(0, len(vectors), 3)
    for query in queries:
        for rows_allowed in (None, allowed):
            expected, got = index.search(query, 10, rows_allowed), loaded.search(query, 10, rows_allowed)
            np.testing.assert_array_equal(got[1], expected[1])
            np.testing.assert_array_equal(got[0], expected[0])


def test_the_size_picks_the_type(data):
    vectors, _ = data
    assert choose_kind(50_000) == "flat" and choose_kind(50_001) == "ivf-sq8"
    assert DenseIndex.build(vectors[:1000], exact_up_to=1000).kind == "flat"
    assert DenseIndex.build(vectors[:1001], exact_up_to=1000).kind == "ivf-sq8"
    assert DenseIndex.build(vectors).kind == "flat"


def test_an_unknown_type_is_named_with_the_valid_ones(data):
    with pytest.raises(ValueError, match="flat, ivf-sq8"):
        DenseIndex.build(data[0], kind="hnsw")
