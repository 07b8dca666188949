"""Rank fusion as pure functions over score arrays."""

from __future__ import annotations

import numpy as np


def normalize(scores: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1]; all-equal scores become 0."""
    if scores.size == 0:
        return scores
    low, high = float(scores.min()), float(scores.max())
    if high - low < 1e-9:
        return np.zeros_like(scores)
    return (scores - low) / (high - low)


def convex_fusion(dense: np.ndarray, lexical: np.ndarray, lexical_weight: float) -> np.ndarray:
    """(1 - w) * normalized dense + w * normalized lexical, over the same candidate rows."""
    return (1.0 - lexical_weight) * normalize(dense) + lexical_weight * normalize(lexical)


def reciprocal_rank_fusion(*rankings: np.ndarray, k: int = 60) -> dict[int, float]:
    """Equal-weight RRF of several rankings (arrays of row ids, best first)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking):
            fused[int(row)] = fused.get(int(row), 0.0) + 1.0 / (k + rank + 1)
    return fused
