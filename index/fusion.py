"""Rank fusion as pure functions over score arrays.

Hybrid search uses `coverage_fusion`: a convex mix of min-max-normalized dense and BM25 scores whose BM25
weight is scaled by the question's lexical coverage, the share of its content words that occur in the
lexical index at all. A German question about German articles is fully visible to BM25 (coverage near 1),
so BM25, the stronger retriever there, gets most of the weight; an English question about German articles
shares only names and numbers with them (coverage about 0.35 on XQuAD), so the dense model
leads and BM25 only breaks ties on the names. One parameter, the same for every language.
"""

from __future__ import annotations

import numpy as np

# BM25's weight when the index knows every word of the question: 0.7 with all-MiniLM-L6-v2, 0.6 since
# multilingual-e5-small reads German and English alike (XQuAD hybrid nDCG@10 0.971 -> 0.975 German,
# 0.947 -> 0.954 English; 0.5 and 0.4 about the same, docs/quality.md). Above 0.5: with every word of the
# question known, BM25 still has the last word over the dense side.
LEXICAL_WEIGHT = 0.6


def normalize(scores: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1]; all-equal (or non-finite) scores become 0."""
    scores = np.nan_to_num(np.asarray(scores, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if scores.size == 0:
        return scores
    low, high = float(scores.min()), float(scores.max())
    if high - low < 1e-9:
        return np.zeros_like(scores)
    return (scores - low) / (high - low)


def convex_fusion(dense: np.ndarray, lexical: np.ndarray, lexical_weight: float) -> np.ndarray:
    """(1 - w) * normalized dense + w * normalized lexical, over the same candidate rows."""
    return (1.0 - lexical_weight) * normalize(dense) + lexical_weight * normalize(lexical)


def coverage_fusion(
    dense: np.ndarray, lexical: np.ndarray, coverage: float, lexical_weight: float = LEXICAL_WEIGHT
) -> np.ndarray:
    """Convex fusion with BM25 weighted by `lexical_weight * coverage`, where `coverage` in [0, 1] is the
    share of the question's words the lexical index knows: BM25 counts as much as it can see."""
    coverage = float(np.clip(np.nan_to_num(coverage), 0.0, 1.0))
    return convex_fusion(dense, lexical, lexical_weight * coverage)
