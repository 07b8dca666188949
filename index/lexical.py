"""The one module that imports bm25s: BM25 over stemmed words, stopwords removed per language.

bm25s builds the index (a sparse matrix: a column per word, the passages' BM25 weights in it) and saves it
as arrays; loading and scoring read those arrays with numpy alone, so answering never imports bm25s (nor
scipy, which bm25s imports).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import Stemmer

from index import stopwords

_LANGUAGES = {
    "de": ("german", stopwords.GERMAN),
    "en": ("english", stopwords.ENGLISH),
}
_ARRAYS = ("data", "indices", "indptr")  # bm25s's file names: {name}.csc.index.npy
_NO_WORD = "\x00"  # never produced by `tokenize` or `tokenize_query` (words are \w+)
_WORD = re.compile(r"\w+")


@cache
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(_LANGUAGES[language][0])


@cache
def _stopwords(language: str) -> frozenset[str]:
    return frozenset(_LANGUAGES[language][1])


def supported_language(language: str) -> str:
    """The language whose stemmer and stopwords are used for text in `language` (German as fallback)."""
    return language if language in _LANGUAGES else "de"


def tokenize(text: str, language: str) -> list[str]:
    """Lower-cased word stems of `text`, stopwords of its language removed."""
    language = supported_language(language)
    stop = _stopwords(language)
    words = [word for word in _WORD.findall(text.lower()) if word not in stop]
    return _stemmer(language).stemWords(words)


def tokenize_query(text: str) -> list[str]:
    """Stems of a question under every supported language, without stopwords of any: a question may be
    asked in another language than the article's, and names and numbers match either way."""
    words = _content_words(text)
    stems: dict[str, None] = {}
    for language in _LANGUAGES:
        stems.update(dict.fromkeys(_stemmer(language).stemWords(words)))
    return list(stems)


class LexicalIndex:
    """BM25 scores of a query against every passage."""

    def __init__(
        self,
        arrays: dict[str, np.ndarray],
        vocabulary: dict[str, int],
        size: int,
        retriever: Any = None,
        indexed: int | None = None,
    ) -> None:
        self._data, self._indices, self._indptr = (arrays[name] for name in _ARRAYS)
        self._vocabulary = vocabulary
        self.size = size
        self._indexed = indexed if indexed is not None else size
        self._retriever = retriever  # the bm25s index a build made (to save it); None when loaded

    @classmethod
    def build(cls, tokenized_passages: Sequence[list[str]]) -> LexicalIndex:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        passages = [list(tokens) for tokens in tokenized_passages]
        if not any(passages):  # bm25s cannot index no words at all; a word no query has (\x00) stands in
            passages = [[_NO_WORD] for _ in passages]
        retriever = bm25s.BM25()  # method "lucene": the score matrix is all there is (see `load`)
        retriever.index(passages, show_progress=False)
        arrays = {name: retriever.scores[name] for name in _ARRAYS}
        return cls(arrays, dict(retriever.vocab_dict), len(tokenized_passages), retriever)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every passage (0 where no query token occurs): the sum of its words' columns."""
        ids = [self._vocabulary[token] for token in query_tokens if token in self._vocabulary]
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        bounds = [(int(self._indptr[i]), int(self._indptr[i + 1])) for i in ids]
        rows = np.concatenate([self._indices[start:end] for start, end in bounds])
        weights = np.concatenate([self._data[start:end] for start, end in bounds])
        return np.bincount(rows, weights=weights, minlength=self.size).astype(np.float32)

    def coverage(self, query: str) -> float:
        """Share of the query's content words the index knows (some stem of the word, in any supported
        language, occurs in some passage): how much of the question BM25 can see. 0 without content words."""
        words = _content_words(query)
        if not words:
            return 0.0
        vocabulary = self._vocabulary
        known = sum(1 for word in dict.fromkeys(words) if _all_stems([word]) & vocabulary.keys())
        return known / len(dict.fromkeys(words))

    @property
    def indexed(self) -> int:
        """How many passages the stored index holds (checked against the manifest on load)."""
        return self._indexed

    def save(self, directory: Path) -> None:
        if self._retriever is None:
            raise ValueError("only a lexical index that was built here can be saved")
        self._retriever.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, size: int, mmap: bool = False) -> LexicalIndex:
        params = json.loads((directory / "params.index.json").read_text(encoding="utf-8"))
        if params.get("method") != "lucene":  # other methods add scores of words a passage lacks
            raise ValueError(
                f"{directory}: BM25 method {params.get('method')!r}, expected 'lucene'; re-index"
            )
        arrays = {
            name: np.load(
                directory / f"{name}.csc.index.npy", mmap_mode="r" if mmap else None, allow_pickle=False
            )
            for name in _ARRAYS
        }
        vocabulary = json.loads((directory / "vocab.index.json").read_text(encoding="utf-8"))
        return cls(arrays, vocabulary, size, indexed=int(params.get("num_docs", -1)))


def _content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if not any(w in _stopwords(lang) for lang in _LANGUAGES)]


def _all_stems(words: list[str]) -> set[str]:
    return {stem for language in _LANGUAGES for stem in _stemmer(language).stemWords(words)}


def matched_fraction(query: str, text: str) -> float:
    """Share of the query's content words that occur in `text`, compared as stems in every language."""
    words = _content_words(query)
    if not words:
        return 0.0
    text_stems = _all_stems(_content_words(text))
    matched = sum(1 for word in words if _all_stems([word]) & text_stems)
    return matched / len(words)
