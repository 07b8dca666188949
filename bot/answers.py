"""Answers: the lead line, numbered verbatim quotes and their citations, or an honest abstention."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


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
