"""A tiny stand-in for the answer service, for tests of the Discord layer's own behaviour (no model)."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.answers import Answer, ArticleRef, Citation
from index.documents import Article, LoadError


@dataclass(frozen=True)
class Hit:
    article_id: str
    title: str
    source: str
    url: str
    published: dt.date | None
    text: str
    score: float
    start: int
    end: int


@dataclass(frozen=True)
class Report:
    articles: int
    chunks: int
    added: int
    changed: int
    removed: int
    embedded_chunks: int
    errors: tuple[LoadError, ...]
    seconds: float


@dataclass(frozen=True)
class Status:
    articles: int
    chunks: int
    model: str
    built_at: dt.datetime
    last_report: Report | None


@dataclass
class StandInService:
    """Answers by shared words with the first sentence of the best article; records every call."""

    articles: list[Article]
    calls: list[tuple[str, str]] = field(default_factory=list)  # (method, argument)
    fail_questions: set[str] = field(default_factory=set)
    reindex_gate: threading.Event | None = None  # when set, reindex waits for it
    reindex_error: str | None = None
    thread_names: list[str] = field(default_factory=list)

    def _best(self, text: str) -> Article | None:
        words = set(re.findall(r"\w+", text.lower()))
        scored = [(len(words & set(re.findall(r"\w+", a.text.lower()))), a) for a in self.articles]
        scored = [s for s in scored if s[0] > 0]
        return max(scored, key=lambda s: s[0])[1] if scored else None

    def ask(self, question: str, *, context: str = "", since=None, until=None) -> Answer:
        self.calls.append(("ask", question if not context else f"{question} | context: {context}"))
        self.thread_names.append(threading.current_thread().name)
        if question in self.fail_questions:
            raise RuntimeError("stand-in failure")
        best = self._best(question + " " + context)
        if best is None:
            return Answer(question, "en", True, "I found nothing on that.", (), ())
        quote = best.text.split("\n")[0]
        citation = Citation(
            1, quote, best.id, best.title, best.source, best.url, best.published, 1.0, best.url
        )
        return Answer(question, "en", False, "Here is what the articles say [1].", (citation,), ())

    def search(self, query: str, *, k: int = 5, since=None, until=None) -> list[Hit]:
        self.calls.append(("search", query))
        best = self._best(query)
        if best is None:
            return []
        return [Hit(best.id, best.title, best.source, best.url, best.published, best.text[:200], 1.0, 0, 200)]

    def article(self, article_id: str) -> Article | None:
        return next((a for a in self.articles if a.id == article_id), None)

    def find_articles(self, text: str, limit: int = 25) -> list[Article]:
        self.calls.append(("find_articles", text))
        return [a for a in self.articles if text.lower() in a.title.lower()][:limit]

    def reindex(self, progress: Callable[[int, int], None] | None = None) -> Report:
        self.calls.append(("reindex", ""))
        if progress:
            progress(1, 2)
        if self.reindex_gate is not None:
            self.reindex_gate.wait(30)
        if self.reindex_error:
            raise RuntimeError(self.reindex_error)
        return Report(
            len(self.articles), len(self.articles), 0, 0, 0, 0, (LoadError("bad.md", "no title"),), 0.1
        )

    def status(self) -> Status:
        return Status(len(self.articles), len(self.articles), "stand-in", dt.datetime(2024, 1, 1), None)


def closest(article: Article) -> ArticleRef:
    return ArticleRef(article.id, article.title, article.url, article.published)
