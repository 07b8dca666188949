"""The one module that imports bm25s: BM25 over stemmed words, stopwords removed per language."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
_NO_WORD = " "  # a token that no text tokenizes to
_QUERY_STOPWORDS = (
    frozenset(bm25s.stopwords.STOPWORDS_GERMAN) | frozenset(bm25s.stopwords.STOPWORDS_EN_PLUS)
) - {"won"}  # "won" is listed for "won't"; "who won?" needs it


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


def text_stems(text: str) -> set[str]:
    """Every stem of every word of `text`, under each supported language."""
    return _all_stems(_WORD.findall(text.lower()))


def concept_in(concept: Concept, stems: set[str]) -> str | None:
    """The stem of `concept` found among a text's `stems` (from `text_stems`), or None. A long stem also
    matches a compound that ends or starts with it: "gericht" in "landgericht", "gerichtsverfahren"."""
    for stem in concept.stems:
        if stem in stems:
            return stem
    for stem in concept.stems:
        if len(stem) >= COMPOUND_PART_CHARS and not stem.isdigit():
            for other in stems:
                if len(other) > len(stem) + 2 and (other.endswith(stem) or other.startswith(stem)):
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

    def __init__(self, retriever: bm25s.BM25, size: int) -> None:
        self._retriever = retriever
        self.size = size

    @classmethod
    def build(cls, tokenized_passages: Sequence[list[str]]) -> LexicalIndex:
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        retriever = bm25s.BM25()
        passages = [list(tokens) for tokens in tokenized_passages]
        if not any(passages):  # bm25s cannot index an empty vocabulary: one token no query word can be
            passages = [[_NO_WORD] for _ in passages]
        retriever.index(passages, show_progress=False)
        return cls(retriever, len(tokenized_passages))

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every passage (0 where no query token occurs)."""
        ids = self._retriever.get_tokens_ids(query_tokens)
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        return self._retriever.get_scores_from_ids(ids).astype(np.float32, copy=False)

    def known_stems(self, stems: Sequence[str]) -> set[str]:
        """Those of `stems` that some passage contains."""
        vocabulary = self._retriever.vocab_dict
        return {stem for stem in stems if stem in vocabulary}

    def concept_scores(self, concepts: Sequence[Concept]) -> np.ndarray:
        """BM25 score of every passage for a structured query: per concept the best score of its stems
        (translations of one word count as one word), summed over the concepts."""
        vocabulary = self._retriever.vocab_dict
        total = np.zeros(self.size, dtype=np.float32)
        for concept in concepts:
            ids = [vocabulary[stem] for stem in concept.stems if stem in vocabulary]
            if ids:
                per_stem = [self._retriever.get_scores_from_ids([i]) for i in ids]
                total += np.max(per_stem, axis=0) if len(per_stem) > 1 else per_stem[0]
        return total

    def coverage(self, concepts: Sequence[Concept]) -> float:
        """Share of the concepts the index knows (some stem occurs in some passage): how much of the
        question BM25 can see. 0 without concepts."""
        if not concepts:
            return 0.0
        vocabulary = self._retriever.vocab_dict
        return sum(any(stem in vocabulary for stem in c.stems) for c in concepts) / len(concepts)

    def idf(self, stem: str) -> float:
        """BM25's inverse document frequency of `stem` over the passages (0 for a stem no passage has)."""
        token = self._retriever.vocab_dict.get(stem)
        if token is None:
            return 0.0
        indptr = self._retriever.scores["indptr"]
        frequency = int(indptr[token + 1] - indptr[token])
        return math.log(1 + (self.size - frequency + 0.5) / (frequency + 0.5))

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


def _all_stems(words: Sequence[str]) -> set[str]:
    return {stem for language in _LANGUAGES for stem in _stemmer(language).stemWords(list(words))}
