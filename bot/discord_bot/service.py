"""What the Discord adapter needs from the answer service (implemented by `bot.service.AnswerService`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from bot.answers import Answer


class AnswerService(Protocol):
    """All methods block (CPU work): the adapter calls them with `asyncio.to_thread`."""

    def ask(
        self, question: str, *, context: str = "", since: dt.date | None = None, until: dt.date | None = None
    ) -> Answer: ...

    def search(
        self, query: str, *, k: int = 5, since: dt.date | None = None, until: dt.date | None = None
    ) -> Sequence[
        Any
    ]: ...  # SearchResult: article_id, title, source, url, published, text, score, start, end

    def article(self, article_id: str) -> Any | None: ...  # index.documents.Article

    def find_articles(self, text: str, limit: int = 25) -> Sequence[Any]: ...

    def reindex(self, progress: Callable[[int, int], None] | None = None) -> Any: ...  # IndexReport

    def status(self) -> Any: ...  # ServiceStatus: articles, chunks, model, built_at, last_report
