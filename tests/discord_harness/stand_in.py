"""A tiny stand-in for the answer service, for tests of the Discord layer's own behaviour (no model)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.answering.answers import Answer, ArticleRef, Citation
from bot.service import SearchResult, ServiceStatus
from index.build import IndexReport
from index.documents import Article, LoadError


@dataclass
class StandInService:
    """Answers by shared words with the first sentence of the best article; records every call."""

    articles: list[Article]
    calls: list[tuple[str, str]] = field(default_factory=list)  # (method, argument)
    fail_questions: set[str] = field(default_factory=set)
    reindex_gate: threading.Event | None = None  # when set, reindex waits for it
    ask_gate: threading.Event | None = None  # when set, ask waits for it (up to 30 s)
    reindex_error: str | None = None
    thread_names: list[str] = field(default_factory=list)

    def _best(self, text: str) -> Article | None:
        words = set(re.findall(r"\w+", text.lower()))
        scored = [(len(words & set(re.findall(r"\w+", a.text.lower()))), a) for a in self.articles]
        scored = [s for s in scored if s[0] > 0]
        return max(scored, key=lambda s: s[0])[1] if scored else None

    def load(self) -> None:
        self.calls.append(("load", ""))

    def ask(self, question: str, *, context: str = "", since=None, until=None) -> Answer:
        self.calls.append(("ask", question if not context else f"{question} | context: {context}"))
        self.thread_names.append(threading.current_thread().name)
        if self.ask_gate is not None:
            self.ask_gate.wait(30)
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

    def search(self, query: str, *, k: int = 5, since=None, until=None) -> list[SearchResult]:
        self.calls.append(("search", query))
        best = self._best(query)
        if best is None:
            return []
        return [
            SearchResult(
                best.id, best.title, best.source, best.url, best.published, best.text[:200], 1.0, 0, 200
            )
        ]

    def article(self, article_id: str) -> Article | None:
        return next((a for a in self.articles if a.id == article_id), None)

    def find_articles(self, text: str, limit: int = 25) -> list[Article]:
        self.calls.append(("find_articles", text))
        return [a for a in self.articles if text.lower() in a.title.lower()][:limit]

    def reindex(
        self, progress: Callable[[int, int], None] | None = None, *, what: str = "pitwall index"
    ) -> IndexReport:
        self.calls.append(("reindex", ""))
        if progress:
            progress(1, 2)
        if self.reindex_gate is not None:
            self.reindex_gate.wait(30)
        if self.reindex_error:
            raise RuntimeError(self.reindex_error)
        return IndexReport(
            len(self.articles), len(self.articles), 0, 0, 0, 0, (LoadError("bad.md", "no title"),), 0.1
        )

    def status(self) -> ServiceStatus:
        return ServiceStatus(
            len(self.articles), len(self.articles), "stand-in", "2024-01-01T00:00:00+00:00", None
        )


def closest(article: Article) -> ArticleRef:
    return ArticleRef(article.id, article.title, article.url, article.published)
