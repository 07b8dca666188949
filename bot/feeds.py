"""Feeds and article links: the application layer the CLI (`pitwall feeds|fetch|add`) and the Discord bot
call. The network, parsing and file writing live in `index/ingest/feeds/`; the index is updated only
through `AnswerService.reindex()` (the one build entry point, which takes the build lock). All methods
block (network and CPU work); one FeedService per process. Subscriptions may be changed and listed while a
fetch runs in another thread; two fetches at once are for the build lock to settle (the second one's
articles are written, its index update raises IndexBusy)."""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.settings import Settings
from index.errors import UserError
from index.ingest.feeds.addresses import AddressGuard, AddressRefused
from index.ingest.feeds.state import FeedRecord, FeedState

if TYPE_CHECKING:
    from bot.service import AnswerService
    from index.build import IndexReport
    from index.ingest.feeds.http import Fetcher
    from index.ingest.feeds.polling import FeedResult

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class FeedError(UserError):
    """A feed URL or name that cannot be subscribed as given, or a feed that is not subscribed."""


@dataclass(frozen=True)
class FeedStatus:
    """One subscription as `feeds list` and `/feeds list` show it."""

    url: str
    name: str
    added: dt.datetime
    last_success: dt.datetime | None
    last_error: str | None
    failures_in_row: int
    articles: int
    failing: bool

    @classmethod
    def of(cls, record: FeedRecord) -> FeedStatus:
        return cls(
            record.url,
            record.name,
            record.added,
            record.last_success,
            record.last_error,
            record.failures_in_row,
            record.articles,
            record.failing,
        )

    def to_json(self) -> dict:
        return {
            "url": self.url,
            "name": self.name,
            "added": self.added.isoformat(),
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "last_error": self.last_error,
            "failures_in_row": self.failures_in_row,
            "articles": self.articles,
            "failing": self.failing,
        }


@dataclass(frozen=True)
class FetchReport:
    """One round: what each feed (or the one link) gave, the files written, and the index update (None
    when nothing was indexed: `index=False`, or nothing new)."""

    feeds: list[FeedResult] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    index: IndexReport | None = None

    @property
    def failed(self) -> bool:
        """Some feed or entry failed (exit status 3)."""
        return any(result.error or result.failed for result in self.feeds)

    @property
    def nothing_fetched(self) -> bool:
        """Every feed failed as a whole (exit status 1); an empty round (no feeds) is not a failure."""
        return bool(self.feeds) and all(result.error for result in self.feeds)

    def to_json(self) -> dict:
        return {
            "feeds": [result.to_json() for result in self.feeds],
            "written": list(self.written),
            "index": self.index.to_json() if self.index else None,
        }


def check_url(url: str, what: str = "feed") -> str:
    """`url` stripped, or a FeedError when it is not an http(s) URL with a host."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FeedError(
            f"the {what} URL must start with http:// or https:// and name a host, not {url[:200]!r}; "
            "e.g. https://example.org/news/feed.xml"
        )
    if _CONTROL.search(url) or " " in url:
        raise FeedError(f"the {what} URL {url[:200]!r} contains spaces or control characters")
    return url


class FeedService:
    """Subscriptions (add, remove, list, OPML) and fetch rounds (every feed, or one article link)."""

    def __init__(self, settings: Settings, answers: AnswerService) -> None:
        self.settings = settings
        self.answers = answers
        self._state: FeedState | None = None
        self._opening = threading.Lock()

    @property
    def state(self) -> FeedState:
        with self._opening:  # opened when first needed: commands that never touch feeds never create it
            if self._state is None:
                self._state = FeedState(self.settings.feeds_db)
            return self._state

    def close(self) -> None:
        if self._state is not None:
            self._state.close()
            self._state = None

    def guard(self) -> AddressGuard:
        return AddressGuard(allow_private=self.settings.fetch_allow_private)

    def add(self, url: str, name: str | None = None) -> FeedStatus:
        """Subscribe to a feed (nothing is fetched until the next `fetch`); adding it again renames it."""
        url = self._checked(url)
        name = " ".join((name or "").split())[:200] or (urlsplit(url).hostname or url)
        self.state.add_feed(url, name)
        record = self.state.feed(url)
        assert record is not None
        return FeedStatus.of(record)

    def _checked(self, url: str, what: str = "feed") -> str:
        url = check_url(url, what)
        try:
            self.guard().check(url)
        except AddressRefused as error:
            raise FeedError(str(error)) from None
        return url

    def remove(self, url: str) -> bool:
        """Unsubscribe; the articles already written stay in the corpus folder (delete them there)."""
        return self.state.remove_feed(url.strip())

    def list(self) -> list[FeedStatus]:
        return [FeedStatus.of(record) for record in self.state.feeds()]

    def import_opml(self, path: Path) -> list[FeedStatus]:
        """Subscribe to every feed of an OPML file; all are checked before any is added."""
        from index.ingest.feeds.opml import read_opml

        feeds = read_opml(Path(path).read_bytes(), str(path))
        if not feeds:
            raise FeedError(f"{path} lists no feeds (no <outline xmlUrl=...>)")
        for url, _name in feeds:
            self._checked(url)
        return [self.add(url, name) for url, name in feeds]

    def export_opml(self) -> str:
        from index.ingest.feeds.opml import write_opml

        return write_opml((feed.url, feed.name) for feed in self.list())

    def fetch(self, *, index: bool = True, what: str = "pitwall fetch") -> FetchReport:
        """Poll every feed once, write new and changed articles, then update the index (IndexBusy when
        another build runs: the files are written and go in with the next build)."""
        from index.ingest.feeds.polling import FeedResult, poll_feed

        results = []
        with self._fetcher() as fetcher:
            for record in self.state.feeds():
                try:
                    results.append(poll_feed(record, self._poll_context(fetcher)))
                except Exception as error:  # noqa: BLE001 - one feed's surprise never stops the others
                    message = f"internal error ({type(error).__name__}: {error})"
                    self.state.feed_failed(record.url, message)
                    results.append(FeedResult(record.url, record.name, error=message))
        return self._finish(results, index, what)

    def add_article(self, url: str, *, index: bool = True) -> FetchReport:
        """Fetch one article link into the corpus folder (again when it changed), then update the index."""
        from index.ingest.feeds.polling import fetch_link

        url = self._checked(url, "article")
        with self._fetcher() as fetcher:
            result = fetch_link(url, self._poll_context(fetcher))
        return self._finish([result], index, f"pitwall add {url}")

    def _fetcher(self) -> Fetcher:
        from index.ingest.feeds.http import Fetcher, FetchPolicy

        policy = FetchPolicy(
            user_agent=self.settings.fetch_user_agent,
            host_delay=self.settings.fetch_host_delay_seconds,
            max_bytes=self.settings.fetch_max_bytes,
            timeout=self.settings.fetch_timeout_seconds,
            max_retry_wait=self.settings.fetch_max_retry_wait_seconds,
        )
        return Fetcher(policy, self.guard())

    def _poll_context(self, fetcher: Fetcher):  # noqa: ANN202 (PollContext, imported with polling)
        from index.ingest.feeds.polling import PollContext

        return PollContext(state=self.state, fetcher=fetcher, corpus_dir=Path(self.settings.corpus_dir))

    def _finish(self, results: list[FeedResult], index: bool, what: str) -> FetchReport:
        """The report, after the index update. The index is updated even when nothing was written this
        round: files an earlier round wrote while another build held the lock go in now (a build with
        nothing changed costs a read of the corpus folder, never the model)."""
        from index.build import NothingToIndex

        written = [path for result in results for path in result.written]
        report = None
        if index:
            try:
                report = self.answers.reindex(what=what)  # `what` names this build to one refused
            except NothingToIndex:
                if written:
                    raise
        return FetchReport(feeds=results, written=written, index=report)
