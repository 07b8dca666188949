"""The one module that imports bm25s: BM25 over stemmed words, stopwords removed per language."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import bm25s
import bm25s.stopwords
import numpy as np
import Stemmer

_LANGUAGES = {
    "de": ("german", bm25s.stopwords.STOPWORDS_GERMAN),
    "en": ("english", bm25s.stopwords.STOPWORDS_EN),
}
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

    def __init__(self, retriever: bm25s.BM25, size: int) -> None:
        self._retriever = retriever
        self.size = size

    @classmethod
    def build(cls, tokenized_passages: Sequence[list[str]]) -> LexicalIndex:
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        retriever = bm25s.BM25()
        retriever.index([list(tokens) for tokens in tokenized_passages], show_progress=False)
        return cls(retriever, len(tokenized_passages))

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every passage (0 where no query token occurs)."""
        ids = self._retriever.get_tokens_ids(query_tokens)
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        return self._retriever.get_scores_from_ids(ids).astype(np.float32, copy=False)

    def coverage(self, query: str) -> float:
        """Share of the query's content words the index knows (some stem of the word, in any supported
        language, occurs in some passage): how much of the question BM25 can see. 0 without content words."""
        words = _content_words(query)
        if not words:
            return 0.0
        vocabulary = self._retriever.vocab_dict
        known = sum(1 for word in dict.fromkeys(words) if _all_stems([word]) & vocabulary.keys())
        return known / len(dict.fromkeys(words))

    @property
    def indexed(self) -> int:
        """How many passages the stored index holds (checked against the manifest on load)."""
        return int(self._retriever.scores["num_docs"])

    def save(self, directory: Path) -> None:
        self._retriever.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, size: int, mmap: bool = False) -> LexicalIndex:
        retriever = bm25s.BM25.load(str(directory), mmap=mmap, show_progress=False, verbosity=0)
        return cls(retriever, size)


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
