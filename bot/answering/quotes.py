"""Quotes: the sentences of the best passages that answer the question, each checked against its article."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote as percent_encode

import numpy as np

from bot.answering.answer_types import answer_type, has_answer_type
from index.documents import Article
from index.search import Hit
from index.text.lexical import Concept, concept_in, text_stems
from index.text.sentences import QUOTE_UNIT_CHARS

MAX_QUOTE_CHARS = QUOTE_UNIT_CHARS
MIN_SENTENCE_CHARS = 40  # shorter sentences (headings, "Noch nicht.") are joined with a neighbour
MAX_QUOTES_PER_ARTICLE = 2  # a second quote from one article, when it is among the best
LEDE_CHARS = 400  # news puts the main facts first: sentences that start this early are "lede"
LEDE_ARTICLE_CHARS = 4 * LEDE_CHARS  # only an article this long has a lede apart from its body
CONTEXT_SHARE = 0.5  # a question word in the sentence before or after counts this much (a name, the subject)
JOIN_MARGIN = 4.0  # a neighbour scoring at most this much below the chosen sentence joins its quote
MAX_JOINED_CHARS = 480  # a quote with the sentence it cannot be read without (`_complete_statement`)
MERGE_MARGIN = 4.0  # a sentence scoring at most this much below the best one, next to a quote, joins it
# A sentence that opens by referring back ("Sie wurde 1991 wieder eröffnet.") continues the one before it.
_REFERS_BACK = re.compile(
    r"^\W*(sie|er|es|dies|diese[mnrs]?|dort|damals|damit|daher|deshalb|dabei|dadurch|darauf|danach|"
    r"als solche[rs]?|they|he|she|it|its|his|her|their|this|these|there)\b",
    re.IGNORECASE,
)

# How a sentence's features weigh in its score: its cosine's rise from the question's typical cosine towards
# 1 (`select_quotes`); the IDF-weighted share of the question's concepts it contains, and with its
# neighbours; whether it holds what the question asks for (a number, a date, a name, a place); its passage's
# score relative to the best passage's; whether it is in the lede of a long article, and in the lede for a
# yes-no question (news answers those first); whether it is the sentence nearest to the question. Scores are
# log-odds of "this sentence holds the answer", fitted by scripts/fit_sentence_weights.py (a softmax over each
# question's sentences; half of XQuAD's articles in both languages and the dev part of
# tests/data/gnad_questions.jsonl; lede_yes_no set by hand: no yes-no question there). A news lede restates
# the subject, nearer the question than the sentence stating the asked fact: hence its negative weight.
FEATURES = ("cosine", "terms", "context", "answer_type", "passage", "lede", "lede_yes_no", "nearest")
WEIGHTS = np.array([14.7, 1.95, 5.5, 1.3, 5.05, -1.3, 3.3, 0.32])

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


@dataclass(frozen=True)
class Question:
    """What quote selection needs to know of a question, worked out once."""

    text: str
    vector: np.ndarray
    concepts: tuple[Concept, ...]
    weights: tuple[float, ...]  # per concept: the IDF of its rarest stem the index knows (0: unknown)
    answer_type: str | None  # what it asks for (see bot.answering.answer_types) or None

    @classmethod
    def of(
        cls,
        text: str,
        vector: np.ndarray,
        concepts: Sequence[Concept],
        idf: Callable[[str], float],
        asks: str | None = None,
    ) -> Question:
        """`asks`: the text whose wording tells the answer type (default `text`)."""
        weights = tuple(max((idf(stem) for stem in c.stems), default=0.0) for c in concepts)
        return cls(text, vector, tuple(concepts), weights, answer_type(asks if asks is not None else text))

    def term_credits(self, text: str, idf: Callable[[str], float]) -> np.ndarray:
        """Per concept: the IDF of the stem by which `text` contains it (0 where it does not)."""
        stems = text_stems(text)
        credits = np.zeros(len(self.concepts), dtype=np.float32)
        for i, concept in enumerate(self.concepts):
            found = concept_in(concept, stems)
            if found is not None:
                credits[i] = idf(found)
        return credits


@dataclass(frozen=True)
class _Sentence:
    article: Article
    start: int
    end: int
    features: np.ndarray


def select_quotes(
    question: Question,
    hits: list[Hit],
    units_of: UnitLookup,
    idf: Callable[[str], float],
    max_quotes: int = 3,
    typical: float = 0.0,
) -> list[Quote]:
    """The best quotes from the sentences of `hits`, best first: every sentence is scored on its own (see
    FEATURES), up to MAX_QUOTES_PER_ARTICLE come from one article.

    `units_of` gives a passage's quote units (sentences, in article coordinates) and their vectors, embedded
    by the same model as the question's vector when the index was built. `typical`: the question's cosine
    to unrelated passages (`Searcher.typical_similarities`); a sentence's cosine counts by how far it rises
    from there towards 1, the same for every model.
    """
    sentences = _sentences(question, hits, units_of, idf, typical)
    if not sentences:
        return []
    return _choose(sentences, np.array([s.features for s in sentences]) @ WEIGHTS, max_quotes)


def _choose(sentences: list[_Sentence], scores: np.ndarray, max_quotes: int) -> list[Quote]:
    """The best sentences as quotes (each with its window), best first, at most MAX_QUOTES_PER_ARTICLE
    from one article, none overlapping or nearly copying another. A sentence nearly as good as the best
    (within MERGE_MARGIN) that directly precedes or follows a quote joins it, up to MAX_JOINED_CHARS: the
    answer often stands next to the sentence that names the question's subject."""
    by_article: dict[str, list[int]] = {}
    for i, sentence in enumerate(sentences):
        by_article.setdefault(sentence.article.id, []).append(i)
    kept: list[Quote] = []
    best = scores.max()
    for i in np.argsort(-scores, kind="stable"):
        sentence = sentences[i]
        same_article = [k for k, q in enumerate(kept) if q.article.id == sentence.article.id]
        if any(kept[k].start < sentence.end and sentence.start < kept[k].end for k in same_article):
            continue
        touched = next((k for k in same_article if _touches(kept[k], sentence)), None)
        if touched is not None and scores[i] >= best - MERGE_MARGIN:
            joined = _joined(kept[touched], sentence)
            if len(joined.text) <= MAX_JOINED_CHARS:
                kept[touched] = joined
                continue
        if len(same_article) >= MAX_QUOTES_PER_ARTICLE:
            continue
        neighbours = by_article[sentence.article.id]
        start, end = _window(neighbours.index(int(i)), [sentences[j] for j in neighbours], scores[neighbours])
        _keep_distinct(
            kept, Quote(sentence.article, sentence.article.text[start:end], start, float(scores[i]))
        )
        if len(kept) == max_quotes:
            break
    return kept


def _sentences(
    question: Question,
    hits: list[Hit],
    units_of: UnitLookup,
    idf: Callable[[str], float],
    typical: float = 0.0,
) -> list[_Sentence]:
    """Every sentence of the passages once (in article order), with its features."""
    best_passage = max((hit.score for hit in hits), default=0.0) or 1.0
    seen: dict[tuple[str, int], int] = {}
    rows: list[tuple[Article, int, int, float, float]] = []  # article, start, end, cosine, passage
    for hit in hits:
        spans, vectors = units_of(hit)
        cosines = vectors @ question.vector if len(spans) else []
        for (start, end), cosine in zip(spans, cosines, strict=True):
            key = (hit.article.id, int(start))
            if key in seen:
                continue
            seen[key] = len(rows)
            rows.append((hit.article, int(start), int(end), float(cosine), hit.score / best_passage))
    rows.sort(key=lambda row: (row[0].id, row[1]))
    total = sum(question.weights) or 1.0
    credits = [question.term_credits(article.text[start:end], idf) for article, start, end, _, _ in rows]
    nearest = max(range(len(rows)), key=lambda i: rows[i][3], default=-1)
    sentences = []
    for i, (article, start, end, cosine, passage) in enumerate(rows):
        context = credits[i].copy()
        for j in (i - 1, i + 1):  # neighbours in the same article
            if 0 <= j < len(rows) and rows[j][0].id == article.id:
                context = np.maximum(context, CONTEXT_SHARE * credits[j])
        lede = start < LEDE_CHARS and len(article.text) >= LEDE_ARTICLE_CHARS
        features = np.array(
            [
                (cosine - typical) / max(1.0 - typical, 0.05),
                credits[i].sum() / total,
                context.sum() / total,
                float(has_answer_type(article.text[start:end], question.answer_type, question.text)),
                passage,
                float(lede),
                float(lede and question.answer_type == "yes-no"),
                float(i == nearest),
            ],
            dtype=np.float32,
        )
        sentences.append(_Sentence(article, start, end, features))
    return sentences


def _window(best: int, sentences: list[_Sentence], scores: np.ndarray) -> tuple[int, int]:
    """The best sentence, joined with its neighbours while they are nearly as good (or it is too short),
    then with what it cannot be read without (`_complete_statement`)."""
    first = last = best
    while True:
        options = []
        if (
            first > 0
            and _adjacent(sentences, first - 1, first)
            and sentences[last].end - sentences[first - 1].start <= MAX_QUOTE_CHARS
        ):
            options.append((scores[first - 1], first - 1, last))
        if (
            last + 1 < len(sentences)
            and _adjacent(sentences, last, last + 1)
            and sentences[last + 1].end - sentences[first].start <= MAX_QUOTE_CHARS
        ):
            options.append((scores[last + 1], first, last + 1))
        if not options:
            break
        score, new_first, new_last = max(options)
        length = sentences[last].end - sentences[first].start
        if length >= MIN_SENTENCE_CHARS and score < scores[best] - JOIN_MARGIN:
            break
        first, last = new_first, new_last
    first, last = _complete_statement(first, last, sentences)
    return sentences[first].start, sentences[last].end


def _complete_statement(first: int, last: int, sentences: list[_Sentence]) -> tuple[int, int]:
    """Sentences `first`..`last` with the neighbours they cannot be read without, up to MAX_JOINED_CHARS:
    the sentence after when it refers back to them ("Sie wurde im April 1991 wieder eröffnet."), the
    sentence before when they open by referring back, and a neighbour that holds the kind of answer asked
    for ("how many": a number) when they hold none."""

    def text(i: int) -> str:
        return sentences[i].article.text[sentences[i].start : sentences[i].end]

    def can_join(i: int) -> bool:
        if not 0 <= i < len(sentences):
            return False
        before, after = (i, first) if i < first else (last, i)
        return (
            _adjacent(sentences, before, after)
            and sentences[max(i, last)].end - sentences[min(i, first)].start <= MAX_JOINED_CHARS
        )

    if can_join(last + 1) and _REFERS_BACK.match(text(last + 1)):
        last += 1
    if can_join(first - 1) and _REFERS_BACK.match(text(first)):
        first -= 1
    holds = FEATURES.index("answer_type")
    if not any(sentences[i].features[holds] for i in range(first, last + 1)):
        joins = [i for i in (last + 1, first - 1) if can_join(i) and sentences[i].features[holds]]
        if joins:
            first, last = min(first, joins[0]), max(last, joins[0])
    return first, last


def _touches(quote: Quote, sentence: _Sentence) -> bool:
    """Whether `sentence` directly precedes or follows `quote` in their article."""
    return _next_to(quote.end, sentence.start) or _next_to(sentence.end, quote.start)


def _joined(quote: Quote, sentence: _Sentence) -> Quote:
    start, end = min(quote.start, sentence.start), max(quote.end, sentence.end)
    return Quote(quote.article, quote.article.text[start:end], start, quote.score)


def _adjacent(sentences: list[_Sentence], a: int, b: int) -> bool:
    """Whether sentence `b` directly follows sentence `a` in their article."""
    return _next_to(sentences[a].end, sentences[b].start)


def _next_to(end: int, start: int) -> bool:
    """Whether text starting at `start` directly follows text ending at `end` (a space or two between)."""
    return 0 <= start - end <= 2


def _keep_distinct(kept: list[Quote], quote: Quote) -> None:
    """Add `quote` to `kept` (best first) unless it overlaps a kept quote or nearly copies one (the same words
    in several articles): of equally strong copies the most recent is kept."""
    twin = next((i for i, other in enumerate(kept) if _same_content(quote, other)), None)
    if twin is None:
        kept.append(quote)
    elif quote.score >= kept[twin].score - 0.05 and _newer(quote.article, kept[twin].article):
        kept[twin] = quote


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
