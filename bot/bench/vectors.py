"""The vector part of the bench: FAISS alone on random unit vectors, up to a million."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from bot.bench.stats import peak_memory_mib, percentile
from index.store.dense import DenseIndex

QUERIES = 200
POINTS_PER_TOPIC = 1000
SPREAD = 1.0  # noise around a topic centre, relative to it: cosine of two vectors of a topic ~0.5


def random_unit_vectors(count: int, dimension: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`count` random unit vectors and QUERIES queries drawn around count/1000 random topic centres.

    Real embeddings have neighbours; vectors uniform on the sphere in 384 dimensions have none (all cosines
    ~0 +- 0.05), which no approximate index can find and no corpus looks like.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, count // POINTS_PER_TOPIC), dimension), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    total = count + QUERIES
    vectors = np.empty((total, dimension), dtype=np.float32)
    for begin in range(0, total, 100_000):  # in slices: no second full-size temporary
        end = min(total, begin + 100_000)
        part = rng.standard_normal((end - begin, dimension), dtype=np.float32) * (SPREAD / np.sqrt(dimension))
        part += centres[rng.integers(0, len(centres), end - begin)]
        vectors[begin:end] = part / np.linalg.norm(part, axis=1, keepdims=True)
    return vectors[:count], vectors[count:]


def bench_vectors(count: int, dimension: int, work_dir: Path, k: int = 10) -> dict:
    """Build time, search latency, recall@k against exact search and size of the index chosen for `count`."""
    vectors, queries = random_unit_vectors(count, dimension)
    started = time.perf_counter()
    index = DenseIndex.build(vectors)
    build_seconds = time.perf_counter() - started
    latencies, found = _search(index, queries, k)
    if index.kind == "flat":
        exact_latencies, exact_found = latencies, found
    else:
        exact_latencies, exact_found = _search(DenseIndex.build(vectors, kind="flat"), queries, k)
    hits = sum(len(set(a) & set(b)) for a, b in zip(found, exact_found, strict=True))
    path = work_dir / f"vectors-{count}.faiss"
    index.save(path)
    size = path.stat().st_size
    path.unlink()
    return {
        "vectors": count,
        "index_type": index.kind,
        "build_s": round(build_seconds, 2),
        "search_ms": {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
        },
        "exact_search_ms_p50": percentile(exact_latencies, 50),
        "recall_at_10": round(hits / (k * len(queries)), 4),
        "index_bytes": size,
        "peak_rss_mib": peak_memory_mib(),
    }


def _search(index: DenseIndex, queries: np.ndarray, k: int) -> tuple[list[float], list[np.ndarray]]:
    latencies, found = [], []
    for query in queries:
        started = time.perf_counter()
        _, rows = index.search(query, k)
        latencies.append((time.perf_counter() - started) * 1000)
        found.append(rows)
    return latencies, found
