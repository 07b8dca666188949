"""The one module that imports bm25s: BM25 over stemmed words, stopwords removed per language.

bm25s builds the index (a sparse matrix: a column per word, the passages' BM25 weights in it) and saves it
as arrays; loading and scoring read those arrays with numpy alone, so answering never imports bm25s (nor
scipy, which bm25s imports).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import Stemmer

from index.text import stopwords
from index.text.compounds import compound_parts

_LANGUAGES = {
    "de": ("german", stopwords.GERMAN),
    "en": ("english", stopwords.ENGLISH),
}
_ARRAYS = ("data", "indices", "indptr")  # bm25s's file names: {name}.csc.index.npy
_NO_WORD = "\x00"  # never produced by `tokenize` or by a question's concepts (words are \w+)
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
    return _stems(_WORD.findall(text.lower()), supported_language(language))


def passage_tokens(text: str, language: str) -> list[str]:
    """A passage's BM25 tokens: its stems (`tokenize`) and, in German, the stems of the parts of its compound
    words ("Landgericht" also counts as "Land" and "Gericht")."""
    language = supported_language(language)
    words = _WORD.findall(text.lower())
    tokens = _stems(words, language)
    if language == "de":
        tokens.extend(_stems([part for word in words for part in compound_parts(word)], language))
    return tokens


def _stems(words: list[str], language: str) -> list[str]:
    stop = _stopwords(language)
    return _stemmer(language).stemWords([word for word in words if word not in stop])


# Words that ask rather than tell: never evidence that a passage answers ("wann" is in every question about
# a date, in no answer).
QUESTION_WORDS = frozenset(
    """
    wann warum weshalb wieso wer wen wem wessen wo woher wohin was wie welche welcher welches welchen viele
    viel when why who whom whose where what which how many much does did do is are was were
    """.split()  # noqa: SIM905 - a word list reads better as text
)
MAX_TRANSLATIONS = (
    8  # German words that stand for one English word, those the index knows, first senses first
)
COMPOUND_PART_CHARS = 5  # a stem this long also matches as the head or first part of a German compound

Translate = Callable[[str], Sequence[str]]
_QUERY_STOPWORDS = (
    frozenset(stopwords.GERMAN) | frozenset(stopwords.ENGLISH) | frozenset(stopwords.ENGLISH_MORE)
)


@dataclass(frozen=True)
class Concept:
    """One word of a question and the stems that count as it: its own (German and English stemming) and,
    for an English question over German articles, those of its German translations. A passage matches the
    concept when it contains any of them; the concept counts once however many it contains."""

    word: str
    stems: tuple[str, ...]


def question_words(text: str) -> list[str]:
    """The distinct content words of a question, lower-cased: no stopwords, no question words."""
    words = (w for w in _WORD.findall(text.lower()) if w not in QUESTION_WORDS and w not in _QUERY_STOPWORDS)
    return list(dict.fromkeys(words))


@dataclass(frozen=True)
class TextStems:
    """A text's stems (each word under every supported language) and the parts a compound word starts or
    ends with: "landgericht" ends with "gericht", so a question's "Gericht" is found in it."""

    stems: frozenset[str]
    parts: frozenset[str]


def text_stems(text: str) -> TextStems:
    stems = _all_stems(_WORD.findall(text.lower()))
    parts = {
        part
        for stem in stems
        for length in range(COMPOUND_PART_CHARS, len(stem) - 2)
        for part in (stem[:length], stem[-length:])
    }
    return TextStems(frozenset(stems), frozenset(parts))


def concept_in(concept: Concept, text: TextStems) -> str | None:
    """The stem of `concept` found in a text (from `text_stems`), or None. A long stem also matches a
    compound that ends or starts with it: "gericht" in "landgericht", "gerichtsverfahren"."""
    for stem in concept.stems:
        if stem in text.stems:
            return stem
    for stem in concept.stems:
        if len(stem) >= COMPOUND_PART_CHARS and not stem.isdigit() and stem in text.parts:
            return stem
    return None


def question_concepts(
    question: str,
    translate: Translate | None = None,
    known: Callable[[Sequence[str]], set[str]] = set,
) -> list[Concept]:
    """The question's words as concepts; with `translate` (English to German), each word also stands for up
    to MAX_TRANSLATIONS of its translations whose stems are `known` (given all candidates at once, it
    returns those the index has). Numbers stay as they are."""
    words = question_words(question)
    own = [sorted(_all_stems([word])) for word in words]
    translated: list[list[str]] = [[] for _ in words]
    if translate is not None:
        for i, word in enumerate(words):
            if not any(char.isdigit() for char in word):
                stems = _stemmer("de").stemWords([german.lower() for german in translate(word)])
                translated[i] = [
                    s for s in dict.fromkeys(stems) if s not in own[i] and s not in _QUERY_STOPWORDS
                ]
        found = known([stem for stems in translated for stem in stems]) if any(translated) else set()
        translated = [[s for s in stems if s in found][:MAX_TRANSLATIONS] for stems in translated]
    return [Concept(word, (*own[i], *translated[i])) for i, word in enumerate(words)]


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

    def known_stems(self, stems: Sequence[str]) -> set[str]:
        """Those of `stems` that some passage contains."""
        return {stem for stem in stems if stem in self._vocabulary}

    def concept_scores(self, concepts: Sequence[Concept]) -> np.ndarray:
        """BM25 score of every passage for a structured query: per concept the best score of its stems
        (translations of one word count as one word), summed over the concepts."""
        total = np.zeros(self.size, dtype=np.float32)
        for concept in concepts:
            per_stem = [self.scores([stem]) for stem in concept.stems if stem in self._vocabulary]
            if per_stem:
                total += np.max(per_stem, axis=0) if len(per_stem) > 1 else per_stem[0]
        return total

    def coverage(self, concepts: Sequence[Concept]) -> float:
        """Share of the concepts the index knows (some stem occurs in some passage): how much of the
        question BM25 can see. 0 without concepts."""
        if not concepts:
            return 0.0
        return sum(any(stem in self._vocabulary for stem in c.stems) for c in concepts) / len(concepts)

    def idf(self, stem: str) -> float:
        """BM25's inverse document frequency of `stem` over the passages (0 for a stem no passage has)."""
        token = self._vocabulary.get(stem)
        if token is None:
            return 0.0
        frequency = int(self._indptr[token + 1] - self._indptr[token])
        return math.log(1 + (self.size - frequency + 0.5) / (frequency + 0.5))

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


def _all_stems(words: Sequence[str]) -> set[str]:
    stems: set[str] = set()
    for word in words:
        stems.update(_word_stems(word))
    return stems


@lru_cache(maxsize=200_000)
def _word_stems(word: str) -> tuple[str, ...]:
    """A word's stems under every supported language (kept: a question's passages repeat their words)."""
    return tuple({_stemmer(language).stemWord(word) for language in _LANGUAGES})
