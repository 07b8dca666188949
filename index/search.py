"""Search the index: dense and lexical (BM25) candidates of a store fused into one ranking."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from index.background import UNRELATED_PASSAGES
from index.documents import Article, Chunk
from index.embed.embedding import Embedder
from index.fusion import LEXICAL_WEIGHT, coverage_fusion
from index.store.generations import IndexData, Manifest
from index.store.stores import DateRange, FaissStore, Store
from index.text.language import detect_language
from index.text.lexical import Concept, Translate, question_concepts

Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "bm25")
CANDIDATES = 100  # chunks each retriever contributes before fusion
# Fewer passages of other articles than this do not tell a question's unrelated level (an archive of a few
# articles): passages about everyday news (index/background.py) join them.
MIN_UNRELATED = 50


@dataclass(frozen=True)
class Hit:
    row: int  # the chunk's key in its store
    chunk: Chunk
    article: Article
    score: float  # the ranking score of the mode searched
    dense: float  # cosine similarity to the question
    lexical: float  # BM25 score


class Searcher:
    """Hybrid search over any store (index/store/stores.py): the fusion is the same whichever store
    answers."""

    def __init__(
        self,
        store: Store | IndexData,
        embedder: Embedder,
        lexical_weight: float = LEXICAL_WEIGHT,
        translate: Translate | None = None,
    ) -> None:
        """`store`: any store, or an index directory's generation (`load_index`), read by `FaissStore`.
        `translate`: English to German words (index/text/translation.py), None without a dictionary."""
        self.store = FaissStore(store) if isinstance(store, IndexData) else store
        self.embedder = embedder
        self.lexical_weight = lexical_weight
        self.translate = translate
        self._sample: tuple[np.ndarray, np.ndarray, dict[str, int]] | None = None
        self._background: np.ndarray | None = None

    @property
    def manifest(self) -> Manifest:
        return self.store.manifest

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
        dates = DateRange.of(since, until)
        concepts = self.concepts(query) if concepts is None else concepts
        if mode == "bm25":
            found = self.store.lexical(concepts, k, dates)
            dense = self._cosines(query, found.keys, query_vector)
            return self._hits(found.keys, found.scores, dense, found.scores)
        if query_vector is None:
            query_vector = self.embedder.embed_queries([query])[0]
        nearest = self.store.dense(query_vector, max(k, CANDIDATES), dates)
        if mode == "dense":
            keys, scores = nearest.keys[:k], nearest.scores[:k]
            lexical = self.store.lexical_scores(
                concepts, keys, self.store.lexical(concepts, CANDIDATES, dates)
            )
            return self._hits(keys, scores, scores, lexical)
        found = self.store.lexical(concepts, CANDIDATES, dates)
        keys = np.union1d(nearest.keys, found.keys)
        if keys.size == 0:
            return []
        dense = self.store.chunk_vectors(keys) @ query_vector
        lexical = self.store.lexical_scores(concepts, keys, found)
        fused = coverage_fusion(dense, lexical, self.store.coverage(concepts), self.lexical_weight)
        best = np.argsort(-fused, kind="stable")[:k]
        return self._hits(keys[best], fused[best], dense[best], lexical[best])

    def concepts(self, query: str) -> list[Concept]:
        """The query's words as lexical concepts; an English query's words also stand for their German
        translations that the index knows, so that BM25 and quote selection see across the language."""
        translate = self.translate if detect_language(query) == "en" else None
        return question_concepts(query, translate, known=self.store.known_stems)

    def coverage(self, concepts: Sequence[Concept]) -> float:
        """Share of the question's concepts the index knows (index/text/lexical.py)."""
        return self.store.coverage(concepts)

    def idf(self, stem: str) -> float:
        """BM25's inverse document frequency of a stem over the passages (0 for an unknown stem)."""
        return self.store.idf(stem)

    def units_of(self, hit: Hit) -> tuple[np.ndarray, np.ndarray]:
        """The quote units (sentences) of a hit's passage: (k, 2) spans in its article, float32 vectors."""
        return self.store.units_of(hit.row)

    def typical_similarities(self, query_vector: np.ndarray, hits: Sequence[Hit]) -> list[float]:
        """For each hit: the median cosine of the question to the passages (a fixed sample of large
        indexes) outside that hit's article, the level an unrelated passage reaches. It depends on the
        question's language; evidence is measured above it. Where the index has fewer than MIN_UNRELATED
        such passages, passages about everyday news join them: in an archive of one article every passage
        is related, and a question about anything else would seem as near as the article's own."""
        if self._sample is None:
            vectors, article_ids = self.store.similarity_sample()
            names, codes = np.unique(np.asarray(article_ids, dtype=object), return_inverse=True)
            self._sample = (vectors, codes, {name: code for code, name in enumerate(names)})
        vectors, articles, code_of = self._sample
        cosines = vectors @ query_vector
        typical = []
        for hit in hits:
            others = cosines[articles != code_of.get(hit.article.id, -1)]
            if len(others) < MIN_UNRELATED:
                others = np.concatenate([others, self._background_vectors() @ query_vector])
            typical.append(float(np.median(others)))
        return typical

    def _background_vectors(self) -> np.ndarray:
        if self._background is None:
            self._background = np.asarray(
                self.embedder.embed_passages(list(UNRELATED_PASSAGES)), dtype=np.float32
            )
        return self._background

    def _cosines(self, query: str, keys: np.ndarray, query_vector: np.ndarray | None) -> np.ndarray:
        if keys.size == 0:
            return np.zeros(0, dtype=np.float32)
        if query_vector is None:
            query_vector = self.embedder.embed_queries([query])[0]
        return self.store.chunk_vectors(keys) @ query_vector

    def _hits(
        self, keys: np.ndarray, scores: np.ndarray, dense: np.ndarray, lexical: np.ndarray
    ) -> list[Hit]:
        passages = self.store.passages(keys)
        return [
            Hit(int(key), chunk, article, float(score), float(d), float(b))
            for key, (chunk, article), score, d, b in zip(keys, passages, scores, dense, lexical, strict=True)
        ]
