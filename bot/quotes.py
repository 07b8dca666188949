"""Quotes: the sentences of the best passages that answer the question, each checked against its article."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import quote as percent_encode

import numpy as np

from index.documents import Article
from index.lexical import matched_fraction
from index.search import Hit
from index.sentences import split_sentences

MAX_QUOTE_CHARS = 320  # "about 300": room for a lede of two sentences
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


def sentence_spans(hit: Hit) -> list[tuple[int, int]]:
    """Sentence spans of a passage in article coordinates, at most MAX_QUOTE_CHARS each."""
    spans = []
    for start, end in split_sentences(hit.chunk.text):
        start, end = hit.chunk.start + start, hit.chunk.start + end
        if end - start > MAX_QUOTE_CHARS:  # cut a very long sentence at a word boundary
            cut = hit.article.text.rfind(" ", start, start + MAX_QUOTE_CHARS)
            end = cut if cut > start else start + MAX_QUOTE_CHARS
        spans.append((start, end))
    return spans


def select_quotes(
    question: str, question_vector: np.ndarray, hits: list[Hit], embed, max_quotes: int = 3
) -> list[Quote]:
    """The best quotes from `hits`, one window of consecutive sentences per passage, best first.

    `embed` turns a list of texts into unit vectors (the same model as `question_vector`).
    """
    if not hits:
        return []
    spans_of = [sentence_spans(hit) for hit in hits]
    texts = [hit.article.text[s:e] for hit, spans in zip(hits, spans_of, strict=True) for s, e in spans]
    if not texts:
        return []
    cosines = embed(texts) @ question_vector
    best_passage = max(hit.score for hit in hits) or 1.0
    quotes, offset = [], 0
    for hit, spans in zip(hits, spans_of, strict=True):
        scores = [
            float(cosines[offset + i])
            + LEXICAL_WEIGHT * matched_fraction(question, texts[offset + i])
            + (LEDE_BONUS if start < LEDE_CHARS else 0.0)
            for i, (start, _) in enumerate(spans)
        ]
        offset += len(spans)
        if spans:
            start, end, score = _best_window(hit, spans, scores)
            score += PASSAGE_WEIGHT * hit.score / best_passage
            quotes.append(Quote(hit.article, hit.article.text[start:end], start, score))
    quotes.sort(key=lambda q: q.score, reverse=True)
    return _distinct(quotes)[:max_quotes]


def _best_window(hit: Hit, spans: list[tuple[int, int]], scores: list[float]) -> tuple[int, int, float]:
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
