"""Quotes: the sentences of the best passages that answer the question, each checked against its article."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote as percent_encode

import numpy as np

from index.documents import Article
from index.lexical import matched_fraction
from index.search import Hit
from index.sentences import QUOTE_UNIT_CHARS

MAX_QUOTE_CHARS = QUOTE_UNIT_CHARS
LEDE_CHARS = 400  # news puts the answer first: sentences that start this early get a bonus
LEDE_BONUS = 0.15
MIN_SENTENCE_CHARS = 40  # shorter sentences (headings, "Noch nicht.") are joined with a neighbour
LEXICAL_WEIGHT = 0.5  # share of question words found in a sentence, beside its cosine to the question
PASSAGE_WEIGHT = 0.3  # a sentence in a better-ranked passage is a better quote

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Quote:
    article: Article
    text: str
    start: int  # where `text` should stand in article.text
    score: float

    @property
    def end(self) -> int:
        return self.start + len(self.text)


UnitLookup = Callable[[Hit], tuple[np.ndarray, np.ndarray]]  # a passage's quote units: spans, vectors


def select_quotes(
    question: str, question_vector: np.ndarray, hits: list[Hit], units_of: UnitLookup, max_quotes: int = 3
) -> list[Quote]:
    """The best quotes from `hits`, one window of consecutive sentences per passage, best first.

    `units_of` gives a passage's quote units (sentences, in article coordinates) and their vectors, embedded
    by the same model as `question_vector` when the index was built.
    """
    if not hits:
        return []
    best_passage = max(hit.score for hit in hits) or 1.0
    quotes = []
    for hit in hits:
        spans, vectors = units_of(hit)
        if not len(spans):
            continue
        spans = [(int(start), int(end)) for start, end in spans]
        cosines = vectors @ question_vector
        scores = [
            float(cosine)
            + LEXICAL_WEIGHT * matched_fraction(question, hit.article.text[start:end])
            + (LEDE_BONUS if start < LEDE_CHARS else 0.0)
            for cosine, (start, end) in zip(cosines, spans, strict=True)
        ]
        start, end, score = _best_window(spans, scores)
        score += PASSAGE_WEIGHT * hit.score / best_passage
        quotes.append(Quote(hit.article, hit.article.text[start:end], start, score))
    quotes.sort(key=lambda q: q.score, reverse=True)
    return _distinct(quotes)[:max_quotes]


def _best_window(spans: list[tuple[int, int]], scores: list[float]) -> tuple[int, int, float]:
    """The best sentence, joined with its neighbours while they are nearly as good (or it is too short)."""
    best = int(np.argmax(scores))
    first = last = best
    while True:
        length = spans[last][1] - spans[first][0]
        options = []
        if first > 0 and spans[last][1] - spans[first - 1][0] <= MAX_QUOTE_CHARS:
            options.append((scores[first - 1], first - 1, last))
        if last + 1 < len(spans) and spans[last + 1][1] - spans[first][0] <= MAX_QUOTE_CHARS:
            options.append((scores[last + 1], first, last + 1))
        if not options:
            break
        score, new_first, new_last = max(options)
        if length >= MIN_SENTENCE_CHARS and score < 0.85 * scores[best]:
            break
        first, last = new_first, new_last
    return spans[first][0], spans[last][1], scores[best]


def _distinct(quotes: list[Quote]) -> list[Quote]:
    """Drop overlapping quotes and near-copies (same words in several articles): keep the strongest, and of
    equally strong ones the most recent."""
    kept: list[Quote] = []
    for quote in quotes:
        twin = next((i for i, other in enumerate(kept) if _same_content(quote, other)), None)
        if twin is None:
            kept.append(quote)
        elif quote.score >= kept[twin].score - 0.05 and _newer(quote.article, kept[twin].article):
            kept[twin] = quote
    return kept


def _same_content(a: Quote, b: Quote) -> bool:
    if a.article.id == b.article.id and a.start < b.end and b.start < a.end:
        return True
    words_a, words_b = set(re.findall(r"\w+", a.text.lower())), set(re.findall(r"\w+", b.text.lower()))
    return len(words_a & words_b) >= 0.7 * max(1, min(len(words_a), len(words_b)))


def _newer(a: Article, b: Article) -> bool:
    return a.published is not None and (b.published is None or a.published > b.published)


def is_verbatim(quote: Quote) -> bool:
    """The last check before a quote is shown: its text stands, character for character, in its article."""
    ok = bool(quote.text.strip()) and quote.article.text[quote.start : quote.end] == quote.text
    if not ok:
        log.error("dropped a quote that is not verbatim in article %s", quote.article.id)
    return ok


def text_fragment_link(url: str, quote: str) -> str:
    """`url` opened scrolled to `quote` (a URL text fragment), or "" without a URL."""
    if not url:
        return ""
    words = quote.split()
    if len(words) > 8:  # long quotes: the first and last words are enough for the browser to find it
        directive = f"{_fragment_part(words[:4])},{_fragment_part(words[-4:])}"
    else:
        directive = _fragment_part(words)
    return f"{url.split('#', 1)[0]}#:~:text={directive}"


def _fragment_part(words: list[str]) -> str:
    # Text fragments reserve "-", "," and "&": percent-encode everything but letters, digits and "._~".
    return percent_encode(" ".join(words), safe="").replace("-", "%2D")
