"""The verifier: what a language model wrote is shown only when the verbatim quotes back it. Pure functions.

An answer passes when every sentence cites at least one quote ("[1]", "[1][2]", "[1, 2]"), every cited
number is a quote that was shown, and every number and capitalised word (names, months, German nouns) in a
sentence appears in a quote it cites or in that quote's translation. A translation passes when its numbers
are the quote's and it is in the question's language. Anything else is dropped, and the answer keeps the
lead it has without a model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from bot.answering.answers import CLOSEST_ARTICLES, LEADS, Answer, ArticleRef
from index.text.language import detect_language
from index.text.stopwords import ENGLISH, GERMAN

STATED, NOT_STATED = "stated", "not stated"
MAX_ANSWER_CHARS = 400  # "one line": a longer answer is no longer a lead above the quotes

_CITATION = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_SENTENCE_END = re.compile(r"[.!?]+(?:\s*\[[\d,;\s]+\])*(?=\s|$)")  # "... plan. [1]": one sentence
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CAPITALISED = re.compile(r"\b[A-ZÄÖÜ][\w'’-]*")
_FUNCTION_WORDS = frozenset(GERMAN) | frozenset(ENGLISH)
# Capitalised words that name nothing (besides function words such as "The", "Die"): how answers open.
_OPENERS = frozenset(["yes", "no", "ja", "nein", "according", "laut", "however", "jedoch", "both", "beide"])
_INFLECTION = ("es", "en", "er", "em", "s", "n", "e")


@dataclass(frozen=True)
class ModelReading:
    """What the model replied, before verification."""

    answer: str
    translations: Mapping[int, str] = field(default_factory=dict)
    verdict: str = ""  # STATED, NOT_STATED or "" (missing or unreadable: no abstention on its word)


def to_translate(answer: Answer) -> list[int]:
    """Numbers of the quotes whose language is not the question's."""
    return [c.n for c in answer.citations if detect_language(c.quote) != answer.language]


def sentences(text: str) -> list[str]:
    """`text` cut into sentences; citation marks after a full stop stay with their sentence."""
    parts, start = [], 0
    for end in _SENTENCE_END.finditer(text):
        parts.append(text[start : end.end()])
        start = end.end()
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def cited(sentence: str) -> list[int]:
    """The quote numbers a sentence cites, in order."""
    return [int(n) for group in _CITATION.findall(sentence) for n in re.split(r"\s*[,;]\s*", group)]


def sentence_problem(sentence: str, quotes: Mapping[int, str], translations: Mapping[int, str]) -> str:
    """Why `sentence` may not be shown ("" when it may): `quotes` are the shown quotes by number, verbatim;
    `translations` the model's translations that passed `translation_problem`."""
    numbers = cited(sentence)
    if not numbers:
        return "cites no quote"
    missing = sorted({n for n in numbers if n not in quotes})
    if missing:
        return f"cites [{missing[0]}], which is not a shown quote"
    sources = [quotes[n] for n in numbers] + [translations[n] for n in numbers if n in translations]
    claim = _CITATION.sub(" ", sentence)
    for number in _NUMBER.findall(claim):
        if not any(_has_number(source, number) for source in sources):
            return f"the number {number} is in no quote it cites"
    for word in _CAPITALISED.findall(claim):
        if word.lower() in _FUNCTION_WORDS or word.lower() in _OPENERS:
            continue
        if not any(_has_word(source, word) for source in sources):
            return f"{word!r} is in no quote it cites"
    return ""


def answer_problem(text: str, quotes: Mapping[int, str], translations: Mapping[int, str]) -> str:
    """Why the model's answer may not be shown ("" when it may): the first failing sentence's reason."""
    if not text.strip():
        return "no answer"
    if len(text) > MAX_ANSWER_CHARS or "\n" in text.strip():
        return "longer than one line"
    for sentence in sentences(text):
        problem = sentence_problem(sentence, quotes, translations)
        if problem:
            return f"{problem}: {sentence!r}"
    return ""


def translation_problem(quote: str, translation: str, language: str) -> str:
    """Why a translation of `quote` into `language` may not be shown ("" when it may): empty, in another
    language, far longer than the quote, or with a number the quote lacks."""
    if not translation.strip():
        return "empty"
    if detect_language(translation) != language:
        return f"not in {language}"
    if len(translation) > 3 * len(quote) + 40:
        return "far longer than the quote"
    for number in _NUMBER.findall(translation):
        if not _has_number(quote, number):
            return f"the number {number} is not in the quote"
    return ""


def as_not_stated(answer: Answer, model: str) -> Answer:
    """The usual abstention for an answer whose quotes the model judged not to state what was asked: the
    quoted articles become the closest ones."""
    lead = LEADS[answer.language if answer.language in LEADS else "en"][1]
    refs: dict[str, ArticleRef] = {}
    for c in answer.citations:
        refs.setdefault(c.article_id, ArticleRef(c.article_id, c.title, c.url, c.published))
    closest = tuple(refs.values())[:CLOSEST_ARTICLES]
    return replace(answer, abstained=True, answer=lead, citations=(), closest=closest, model=model)


def checked_answer(answer: Answer, reading: ModelReading, model: str) -> tuple[Answer, str]:
    """`answer` after the model's `reading`, verified, and what happened ("" when it was all kept, else
    what was dropped and why): a "not stated" verdict abstains; a translation or an answer sentence the
    verifier rejects is dropped, and the quotes stay word for word what they were."""
    if reading.verdict == NOT_STATED:
        return replace(as_not_stated(answer, model), model_outcome="not stated"), ""
    wanted = set(to_translate(answer))
    quotes = {c.n: c.quote for c in answer.citations}
    translations, dropped = {}, []
    for n, text in reading.translations.items():
        problem = translation_problem(quotes[n], text, answer.language) if n in wanted else "not asked for"
        if problem:
            dropped.append(f"translation [{n}]: {problem}")
        else:
            translations[n] = text
    citations = tuple(replace(c, translation=translations.get(c.n, "")) for c in answer.citations)
    answer = replace(answer, citations=citations, model=model)
    problem = answer_problem(reading.answer, quotes, translations)
    if problem:
        return replace(answer, model_outcome="dropped"), "; ".join([f"answer: {problem}", *dropped])
    return replace(answer, answer=reading.answer, model_outcome="kept"), "; ".join(dropped)


def _has_number(source: str, number: str) -> bool:
    """`number` stands in `source` as a number of its own ("12" is not in "2012"), with "." and "," read
    either way ("1,5" and "1.5")."""
    variants = {number, number.replace(",", "\0").replace(".", ",").replace("\0", ".")}
    return any(re.search(rf"(?<![\d.,]){re.escape(v)}(?![\d]|[.,]\d)", source) for v in variants)


def _has_word(source: str, word: str) -> bool:
    """`word` starts a word of `source`, in any case ("Porsche" in "Porsche-Team"), also inflected ("Plans"
    for "Plan")."""
    lowered, text = word.lower().strip("'’-"), source.lower()
    if re.search(rf"\b{re.escape(lowered)}", text):
        return True
    for ending in _INFLECTION:
        stem = lowered.removesuffix(ending)
        if stem != lowered and len(stem) >= 4 and re.search(rf"\b{re.escape(stem)}", text):
            return True
    return False
