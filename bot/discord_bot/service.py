"""What the Discord adapter needs from the answer service (implemented by `bot.service.AnswerService`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from bot.answering.answers import Answer
from bot.service import SearchResult, ServiceStatus
from index.build import IndexReport, Progress
from index.documents import Article


class AnswerService(Protocol):
    """All methods block (CPU work): the adapter calls them with `asyncio.to_thread`."""

    def load(self) -> None: ...  # the model and the index, once; the bot calls it while connecting

    def ask(
        self, question: str, *, context: str = "", since: dt.date | None = None, until: dt.date | None = None
    ) -> Answer: ...

    def search(
        self, query: str, *, k: int = 5, since: dt.date | None = None, until: dt.date | None = None
    ) -> Sequence[SearchResult]: ...

    def article(self, article_id: str) -> Article | None: ...

    def find_articles(self, text: str, limit: int = 25) -> Sequence[Article]: ...

    def reindex(self, progress: Progress | None = None, *, what: str = ...) -> IndexReport: ...

    def status(self) -> ServiceStatus: ...
