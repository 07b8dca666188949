"""Search the index: dense (FAISS) and lexical (BM25) candidates fused into one ranking."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from index.documents import Article, Chunk
from index.embedding import Embedder
from index.fusion import LEXICAL_WEIGHT, coverage_fusion
from index.language import detect_language
from index.lexical import Concept, Translate
from index.store import IndexData

Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "bm25")
CANDIDATES = 100  # rows each retriever contributes before fusion
TYPICAL_SAMPLE = 4096  # passages sampled for a question's typical similarity


@dataclass(frozen=True)
class Hit:
    row: int
    chunk: Chunk
    article: Article
    score: float  # the ranking score of the mode searched
    dense: float  # cosine similarity to the question
    lexical: float  # BM25 score


class Searcher:
    def __init__(
        self,
        data: IndexData,
        embedder: Embedder,
        lexical_weight: float = LEXICAL_WEIGHT,
        translate: Translate | None = None,
    ) -> None:
        self.data = data
        self.embedder = embedder
        self.lexical_weight = lexical_weight
        self.translate = (
            translate  # English to German words (index/translation.py), None without a dictionary
        )
        self._published = (
            np.array(
                [article.published.toordinal() if article.published else -1 for article in data.articles],
                dtype=np.int64,
            )[data.chunk_table[:, 0]]
            if len(data.chunk_table)
            else np.zeros(0, dtype=np.int64)
        )

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        since: dt.date | None = None,
        until: dt.date | None = None,
        mode: Mode = "hybrid",
        query_vector: np.ndarray | None = None,
        concepts: list[Concept] | None = None,
    ) -> list[Hit]:
        """The `k` best passages for `query`, optionally only from articles published in [since, until].
        `query_vector` and `concepts` may be given when the caller has them already."""
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")
        allowed = self._allowed_rows(since, until)
        if allowed is not None and allowed.size == 0:
            return []
        if concepts is None:
            concepts = self.concepts(query)
        lexical_all = self.data.lexical.concept_scores(concepts)
        if mode == "bm25":
            rows = _top_rows(lexical_all, k, allowed)
            rows = rows[lexical_all[rows] > 0]
            dense = self._dense_scores(query, rows, query_vector)
            return self._hits(rows, lexical_all[rows], dense, lexical_all[rows])
        if query_vector is None:
            query_vector = self.embedder.embed_queries([query])[0]
        dense_scores, dense_rows = self.data.dense.search(query_vector, max(k, CANDIDATES), allowed)
        if mode == "dense":
            rows = dense_rows[:k]
            return self._hits(rows, dense_scores[:k], dense_scores[:k], lexical_all[rows])
        lexical_rows = _top_rows(lexical_all, CANDIDATES, allowed)
        lexical_rows = lexical_rows[lexical_all[lexical_rows] > 0]
        rows = np.union1d(dense_rows, lexical_rows)
        dense = self.data.vectors[rows] @ query_vector
        coverage = self.data.lexical.coverage(concepts)
        fused = coverage_fusion(dense, lexical_all[rows], coverage, self.lexical_weight)
        best = np.argsort(-fused, kind="stable")[:k]
        return self._hits(rows[best], fused[best], dense[best], lexical_all[rows[best]])

    def concepts(self, query: str) -> list[Concept]:
        """The query's words as lexical concepts; an English query's words also stand for their German
        translations, so that BM25 and quote selection see across the language."""
        translate = self.translate if detect_language(query) == "en" else None
        return self.data.lexical.concepts(query, translate)

    def typical_similarities(self, query_vector: np.ndarray, rows: Sequence[int]) -> list[float]:
        """For each of `rows`: the median cosine of the question to the passages (a fixed sample of large
        indexes) outside that row's article, the level an unrelated passage reaches. It depends on the
        question's language; evidence is measured above it."""
        sample = np.arange(0, len(self.data.vectors), max(1, len(self.data.vectors) // TYPICAL_SAMPLE))
        cosines = self.data.vectors[sample] @ query_vector
        articles = self.data.chunk_table[sample, 0]
        typical = []
        for row in rows:
            others = cosines[articles != self.data.chunk_table[row, 0]]
            typical.append(float(np.median(others)) if len(others) else 0.0)
        return typical

    def _allowed_rows(self, since: dt.date | None, until: dt.date | None) -> np.ndarray | None:
        if since is None and until is None:
            return None
        keep = self._published >= 0
        if since is not None:
            keep &= self._published >= since.toordinal()
        if until is not None:
            keep &= self._published <= until.toordinal()
        return np.flatnonzero(keep)

    def _dense_scores(self, query: str, rows: np.ndarray, query_vector: np.ndarray | None) -> np.ndarray:
        if rows.size == 0:
            return np.zeros(0, dtype=np.float32)
        if query_vector is None:
            query_vector = self.embedder.embed_queries([query])[0]
        return self.data.vectors[rows] @ query_vector

    def _hits(
        self, rows: np.ndarray, scores: np.ndarray, dense: np.ndarray, lexical: np.ndarray
    ) -> list[Hit]:
        return [
            Hit(
                int(row),
                self.data.chunk(int(row)),
                self.data.article_of(int(row)),
                float(score),
                float(d),
                float(b),
            )
            for row, score, d, b in zip(rows, scores, dense, lexical, strict=True)
        ]


def _top_rows(scores: np.ndarray, k: int, allowed: np.ndarray | None) -> np.ndarray:
    """Row ids of the `k` highest scores, best first, among `allowed` rows if given."""
    candidates = np.arange(scores.size) if allowed is None else allowed
    values = scores[candidates]
    k = min(k, values.size)
    if k == 0:
        return candidates[:0]
    top = np.argpartition(-values, k - 1)[:k]
    return candidates[top[np.argsort(-values[top], kind="stable")]]
