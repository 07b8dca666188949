"""What the Discord adapter needs from the answer service (implemented by `bot.service.AnswerService`) and
from the feed service (implemented by `bot.feeds.FeedService`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from bot.answering.answers import Answer
from bot.service import SearchResult, ServiceStatus
from index.build import IndexReport, Progress
from index.documents import Article

if TYPE_CHECKING:
    from bot.feeds import FeedStatus, FetchReport


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


class FeedService(Protocol):
    """Subscriptions and fetching; all methods block (network, disk, the build): the adapter calls them with
    `asyncio.to_thread`. Subscriptions may be listed and changed while a fetch runs; `fetch` and
    `add_article` build through `AnswerService.reindex` and raise `IndexBusy` when another build runs."""

    def add(self, url: str, name: str | None = None) -> FeedStatus: ...

    def remove(self, url: str) -> bool: ...

    def list(self) -> list[FeedStatus]: ...

    def fetch(self, *, index: bool = True) -> FetchReport: ...

    def add_article(self, url: str, *, index: bool = True) -> FetchReport: ...
