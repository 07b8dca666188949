"""The store seam: what search and answers need from an index, whichever engine holds it.

Two stores implement `Store` (and one test suite, tests/scale/test_stores.py, runs against both):
- `FaissStore`: today's index directory (index/store/generations.py), FAISS for vectors and bm25s for BM25,
  loaded into the process. The default (PITWALL_STORE=faiss).
- `MilvusStore` (index/store/milvus.py): chunk vectors, sentence vectors, article metadata with dates and
  BM25 in Milvus collections; date filters run in Milvus. PITWALL_STORE=milvus.

A key is an opaque int that names a chunk within one published index. Fusion, quotes and abstention sit
above the seam (index/search.py, bot/) and never know which store answered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from index.documents import Article, Chunk
from index.store.generations import IndexData, Manifest
from index.text.lexical import Concept, LexicalIndex

StoreKind = Literal["faiss", "milvus"]
STORES: tuple[StoreKind, ...] = ("faiss", "milvus")
SIMILARITY_SAMPLE = 4096  # passages sampled for a question's typical similarity


@dataclass(frozen=True)
class DateRange:
    """Articles published in [since, until]; an article without a date is outside any range."""

    since: dt.date | None = None
    until: dt.date | None = None

    @classmethod
    def of(cls, since: dt.date | None, until: dt.date | None) -> DateRange | None:
        return None if since is None and until is None else cls(since, until)

    def bounds(self) -> tuple[int, int]:
        """Inclusive bounds as proleptic ordinals; an undated article has ordinal -1."""
        low = self.since.toordinal() if self.since else 0
        high = self.until.toordinal() if self.until else dt.date.max.toordinal()
        return low, high


@dataclass(frozen=True)
class Candidates:
    """Chunk keys and their scores, best first."""

    keys: np.ndarray  # int64
    scores: np.ndarray  # float32

    @classmethod
    def empty(cls) -> Candidates:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


class Store(Protocol):
    """A published index, read-only: a reader never sees a half-written one."""

    manifest: Manifest

    def dense(self, query_vector: np.ndarray, k: int, dates: DateRange | None) -> Candidates:
        """The `k` chunks of highest cosine to `query_vector` (a unit vector)."""

    def lexical(self, concepts: Sequence[Concept], k: int, dates: DateRange | None) -> Candidates:
        """The `k` chunks of highest BM25 score (> 0) for the question's concepts (index/text/lexical.py): per
        concept the best score of its stems, summed over the concepts."""

    def lexical_scores(self, concepts: Sequence[Concept], keys: np.ndarray, found: Candidates) -> np.ndarray:
        """BM25 scores of `keys` (for fusion). `found` is what `lexical` returned for these concepts; a
        store that cannot score any chunk on demand scores keys outside `found` 0 (a BM25 score below the
        k-th candidate's)."""

    def coverage(self, concepts: Sequence[Concept]) -> float:
        """Share of the question's concepts that some passage contains (index/text/lexical.py)."""

    def known_stems(self, stems: Sequence[str]) -> set[str]:
        """Those of `stems` that some passage contains."""

    def idf(self, stem: str) -> float:
        """BM25's inverse document frequency of `stem` over the passages (0 for a stem no passage has)."""

    def chunk_vectors(self, keys: np.ndarray) -> np.ndarray:
        """(n, dimension) float32 unit vectors of `keys`."""

    def passages(self, keys: np.ndarray) -> list[tuple[Chunk, Article]]:
        """The chunk and its article for each key, in the order of `keys`."""

    def units_of(self, key: int) -> tuple[np.ndarray, np.ndarray]:
        """The quote units overlapping chunk `key`: (k, 2) spans in the article, (k, d) float32 vectors."""

    def similarity_sample(self) -> tuple[np.ndarray, list[str]]:
        """A fixed sample of up to SIMILARITY_SAMPLE chunk vectors and their article ids."""

    def article(self, article_id: str) -> Article | None: ...

    def find_articles(self, text: str, limit: int) -> list[Article]:
        """Articles whose title contains `text` (any case), most recent first."""


class FaissStore:
    """The index directory's generation in memory: FAISS for dense search, bm25s for BM25. A key is a
    row of its chunk table."""

    def __init__(self, data: IndexData) -> None:
        self.data = data
        self.manifest = data.manifest
        table = data.chunk_table
        ordinals = np.array(
            [a.published.toordinal() if a.published else -1 for a in data.articles], dtype=np.int64
        )
        self._published = ordinals[table[:, 0]] if len(table) else np.zeros(0, dtype=np.int64)
        self._lexical_cache: tuple[tuple[Concept, ...], np.ndarray] | None = None

    @property
    def lexical_index(self) -> LexicalIndex:
        return self.data.lexical

    def _allowed(self, dates: DateRange | None) -> np.ndarray | None:
        if dates is None:
            return None
        low, high = dates.bounds()
        return np.flatnonzero((self._published >= max(low, 0)) & (self._published <= high))

    def _bm25(self, concepts: Sequence[Concept]) -> np.ndarray:
        """Every chunk's BM25 score; the last query's are kept, as fusion asks for them again."""
        key, cached = self._lexical_cache or ((), None)
        if cached is None or key != tuple(concepts):
            cached = self.data.lexical.concept_scores(concepts)
            self._lexical_cache = (tuple(concepts), cached)
        return cached

    def dense(self, query_vector: np.ndarray, k: int, dates: DateRange | None) -> Candidates:
        allowed = self._allowed(dates)
        if allowed is not None and allowed.size == 0:
            return Candidates.empty()
        scores, rows = self.data.dense.search(query_vector, k, allowed)
        return Candidates(rows.astype(np.int64), scores.astype(np.float32))

    def lexical(self, concepts: Sequence[Concept], k: int, dates: DateRange | None) -> Candidates:
        scores = self._bm25(concepts)
        rows = top_rows(scores, k, self._allowed(dates))
        rows = rows[scores[rows] > 0]
        return Candidates(rows.astype(np.int64), scores[rows].astype(np.float32))

    def lexical_scores(self, concepts: Sequence[Concept], keys: np.ndarray, found: Candidates) -> np.ndarray:
        return self._bm25(concepts)[np.asarray(keys, dtype=np.int64)]

    def coverage(self, concepts: Sequence[Concept]) -> float:
        return self.data.lexical.coverage(concepts)

    def known_stems(self, stems: Sequence[str]) -> set[str]:
        return self.data.lexical.known_stems(stems)

    def idf(self, stem: str) -> float:
        return self.data.lexical.idf(stem)

    def chunk_vectors(self, keys: np.ndarray) -> np.ndarray:
        return np.asarray(self.data.vectors[np.asarray(keys, dtype=np.int64)], dtype=np.float32)

    def passages(self, keys: np.ndarray) -> list[tuple[Chunk, Article]]:
        return [(self.data.chunk(int(key)), self.data.article_of(int(key))) for key in keys]

    def units_of(self, key: int) -> tuple[np.ndarray, np.ndarray]:
        return self.data.units_of(int(key))

    def similarity_sample(self) -> tuple[np.ndarray, list[str]]:
        size = len(self.data.vectors)
        rows = np.arange(0, size, max(1, size // SIMILARITY_SAMPLE))
        ids = [self.data.articles[int(row)].id for row in self.data.chunk_table[rows, 0]]
        return np.asarray(self.data.vectors[rows], dtype=np.float32), ids

    def article(self, article_id: str) -> Article | None:
        return next((a for a in self.data.articles if a.id == article_id), None)

    def find_articles(self, text: str, limit: int) -> list[Article]:
        return most_recent(self.data.articles, text, limit)


def most_recent(articles: Sequence[Article], text: str, limit: int) -> list[Article]:
    needle = text.casefold().strip()
    found = [a for a in articles if needle in a.title.casefold()]
    found.sort(key=lambda a: a.published or dt.date.min, reverse=True)
    return found[:limit]


def top_rows(scores: np.ndarray, k: int, allowed: np.ndarray | None) -> np.ndarray:
    """Row ids of the `k` highest scores, best first, among `allowed` rows if given."""
    candidates = np.arange(scores.size) if allowed is None else allowed
    values = scores[candidates]
    k = min(k, values.size)
    if k == 0:
        return candidates[:0]
    top = np.argpartition(-values, k - 1)[:k]
    return candidates[top[np.argsort(-values[top], kind="stable")]]
