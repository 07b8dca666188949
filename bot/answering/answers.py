"""Answers: the lead line, numbered verbatim quotes and their citations, or an honest abstention."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bot.answering.answer_types import MUST_STATE, has_answer_type
from bot.answering.quotes import Question, Quote, is_verbatim, select_quotes, text_fragment_link
from bot.settings import MIN_EVIDENCE
from index.documents import Article
from index.search import Hit, Searcher
from index.text.language import detect_language


@dataclass(frozen=True)
class Citation:
    """One numbered quote, copied verbatim from its article, with where it came from."""

    n: int
    quote: str
    article_id: str
    title: str
    source: str
    url: str
    published: dt.date | None
    score: float
    link: str  # the article URL scrolled to the quote (a text fragment), or "" without a URL
    translation: str = ""  # a language model's verified translation into the question's language, or ""


@dataclass(frozen=True)
class ArticleRef:
    """An article named without a quote, e.g. the closest ones when Pitwall abstains."""

    article_id: str
    title: str
    url: str
    published: dt.date | None


@dataclass(frozen=True)
class Answer:
    question: str
    language: str  # "en" or "de"
    abstained: bool
    answer: str  # the lead line, in the question's language
    citations: tuple[Citation, ...] = ()
    closest: tuple[ArticleRef, ...] = ()  # when abstained: the articles that came nearest
    timings_ms: tuple[tuple[str, float], ...] = ()
    model: str = ""  # the language model asked to read the quotes ("" when none is set)
    model_outcome: str = ""  # what it did: "" not asked, "kept", "dropped" (by the verifier), "not stated",
    # "failed" (no usable reply: the answer is the one without a model)

    @property
    def lead_from(self) -> str:
        """ "model" when `answer` is the language model's verified sentence, else "quotes"."""
        return "model" if self.model_outcome == "kept" else "quotes"


# --- composing an answer ---

# The share of the question's words a passage contains weighs this much in its evidence (beside its cosine),
# scaled by the question's coverage; with MIN_EVIDENCE chosen by `pitwall eval --abstention` on XQuAD
# German and English together.
EVIDENCE_WORD_SHARE = 0.5
PASSAGES_TO_READ = 5  # best passages whose sentences compete to be quoted
MAX_QUOTES = 3
CLOSEST_ARTICLES = 3

_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
_CAPITALISED = re.compile(r"\b[A-ZÄÖÜ]\w*")

LEADS = {
    "en": (
        "Here is what the articles say:",
        "The articles don't say. The closest articles are:",
        "The articles don't say: nothing in the archive matches.",
    ),
    "de": (
        "Das sagen die Artikel dazu:",
        "Dazu sagen die Artikel nichts. Am nächsten kommen:",
        "Dazu sagen die Artikel nichts: nichts im Archiv passt.",
    ),
}
# The label of a quote's translation by a language model, shown under the verbatim quote, never instead.
TRANSLATED = {"en": "translated by the language model", "de": "übersetzt vom Sprachmodell"}


def evidence_strength(
    question: Question, hit: Hit, idf: Callable[[str], float], *, coverage: float, typical_dense: float
) -> float:
    """How well a passage answers a question, on an absolute scale that holds across languages and models:
    how far its cosine rises from the question's typical cosine to any passage towards 1 (the share of that
    way it goes: all-MiniLM-L6-v2 puts unrelated passages near 0.1, multilingual-e5-small near 0.75), mixed
    with the IDF-weighted share of the question's concepts it contains (an English question's words count by
    their German translations). Word matches count as much as the lexical index can see the question
    (`coverage`)."""
    lexical_share = EVIDENCE_WORD_SHARE * min(max(coverage, 0.0), 1.0)
    asked = sum(question.weights) + _unknown_words_weight(question)
    matched = question.term_credits(hit.chunk.text, idf).sum() / (asked or 1.0)
    rise = (hit.dense - typical_dense) / max(1.0 - typical_dense, 0.05)
    return (1.0 - lexical_share) * rise + lexical_share * float(matched)


def _unknown_words_weight(question: Question) -> float:
    """A word of the question that names something (a name, a noun: what the question is about) and that
    no passage contains counts in the word share as much as the question's rarest known word: an archive
    that never names the subject seldom answers the question. German marks names and nouns by a capital;
    English does not, so there every unknown word counts."""
    every_word = detect_language(question.text) == "en"
    capitalised = {word.lower() for word in _CAPITALISED.findall(question.text)}
    unknown = sum(
        1
        for concept, weight in zip(question.concepts, question.weights, strict=True)
        if weight == 0 and (every_word or concept.word in capitalised)
    )
    return unknown * max(question.weights, default=0.0)


def best_evidence(
    searcher: Searcher, question: Question, hits: list[Hit], typical: list[float] | None = None
) -> float:
    """The strongest evidence among `hits` (0 without hits); compare it with the `min_evidence` setting.
    `typical`: `searcher.typical_similarities` of the question and `hits`, when the caller has it."""
    if not hits:
        return 0.0
    coverage = searcher.coverage(question.concepts)
    if typical is None:
        typical = searcher.typical_similarities(question.vector, hits)
    idf = searcher.idf
    return max(
        evidence_strength(question, hit, idf, coverage=coverage, typical_dense=level)
        for hit, level in zip(hits, typical, strict=True)
    )


def compose_answer(
    searcher: Searcher,
    question: str,
    *,
    context: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
    min_evidence: float = MIN_EVIDENCE,
) -> Answer:
    """Answer `question` from the index: verified quotes with citations, or an abstention that names the
    closest articles. `context` (an earlier question of the same conversation) helps retrieval."""
    question = question.strip()
    language = detect_language(question)
    answered, abstained, nothing = LEADS[language if language in LEADS else "en"]
    asked = read_question(searcher, question, context)
    hits = searcher.search(
        asked.text,
        PASSAGES_TO_READ,
        since=since,
        until=until,
        query_vector=asked.vector,
        concepts=list(asked.concepts),
    )
    if not hits:
        return Answer(question, language, True, nothing)
    typical = searcher.typical_similarities(asked.vector, hits)
    # A question without a content word ("Was ist das?") asks for nothing the archive could hold.
    if not asked.concepts or best_evidence(searcher, asked, hits, typical) < min_evidence:
        return Answer(question, language, True, abstained, closest=_closest(hits))
    chosen = select_quotes(
        asked, hits, searcher.units_of, searcher.idf, MAX_QUOTES, float(np.median(typical))
    )
    quotes = [q for q in chosen if is_verbatim(q)]
    if (
        not quotes
        or not _states_what_is_asked(asked, quotes)
        or not _mentions_the_years_asked(question, quotes)
    ):
        return Answer(question, language, True, abstained, closest=_closest(hits))
    citations = tuple(
        Citation(
            n,
            q.text,
            q.article.id,
            q.article.title,
            q.article.source,
            q.article.url,
            q.article.published,
            round(q.score, 4),
            text_fragment_link(q.article.url, q.text),
        )
        for n, q in enumerate(quotes, start=1)
    )
    return Answer(question, language, False, answered, citations)


def read_question(
    searcher: Searcher, question: str, context: str = "", vector: np.ndarray | None = None
) -> Question:
    """The question (after `context`, an earlier question of the conversation) as vector and concepts;
    `vector` when the caller embedded it already (evaluations embed all questions in one batch)."""
    text = f"{context.strip()}\n{question}" if context.strip() else question
    if vector is None:
        vector = searcher.embedder.embed_queries([text])[0]
    return Question.of(text, vector, searcher.concepts(text), searcher.idf, asks=question)


def _states_what_is_asked(question: Question, quotes: list[Quote]) -> bool:
    """False when the question asks for a kind of answer a quote must state (MUST_STATE: "how much did it
    cost") and no quote from the best quote's article states one (another deal's price is no answer)."""
    kind = question.answer_type
    best = quotes[0].article.id
    return kind not in MUST_STATE or any(
        q.article.id == best and has_answer_type(q.text, kind, question.text) for q in quotes
    )


def _mentions_the_years_asked(question: str, quotes: list[Quote]) -> bool:
    """False when the question names a year ("How many were sent in 2010?") that no quoted article mentions
    nor was published in, while they can be placed in time (a date, a year named): the archive's figures for
    other years do not answer it. Quotes that name no year and have no date may be about any year."""
    years = set(_YEAR.findall(question))
    if not years or any(all(_mentions_year(q.article, year) for year in years) for q in quotes):
        return True
    return not any(_placed_in_time(q.article) for q in quotes)


def _mentions_year(article: Article, year: str) -> bool:
    published = article.published is not None and str(article.published.year) == year
    return published or year in article.title or year in article.text


def _placed_in_time(article: Article) -> bool:
    return article.published is not None or bool(_YEAR.search(article.title) or _YEAR.search(article.text))


def _closest(hits: list[Hit]) -> tuple[ArticleRef, ...]:
    refs: dict[str, ArticleRef] = {}
    for hit in hits:
        a = hit.article
        refs.setdefault(a.id, ArticleRef(a.id, a.title, a.url, a.published))
    return tuple(refs.values())[:CLOSEST_ARTICLES]
