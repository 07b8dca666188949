"""Set-up shared by the feed engine tests: a poll context over a temporary corpus and feeds database."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from index.ingest.feeds.addresses import AddressGuard
from index.ingest.feeds.http import Fetcher, FetchPolicy
from index.ingest.feeds.polling import FeedResult, PollContext, poll_feed
from index.ingest.feeds.state import FeedState
from index.ingest.loading import load_corpus

USER_AGENT = "Pitwall/9.9 (+https://example.org/pitwall)"


@contextlib.contextmanager
def poll_context(tmp_path: Path, *, guard: AddressGuard | None = None, **policy) -> Iterator[PollContext]:
    policy = {"host_delay": 0.0, **policy}
    state = FeedState(tmp_path / "feeds.sqlite3")
    fetcher = Fetcher(FetchPolicy(USER_AGENT, **policy), guard or AddressGuard(allow_private=True))
    try:
        yield PollContext(state=state, fetcher=fetcher, corpus_dir=tmp_path / "corpus")
    finally:
        fetcher.close()
        state.close()


def poll(context: PollContext, url: str, name: str = "Rennsport") -> FeedResult:
    if context.state.feed(url) is None:
        context.state.add_feed(url, name)
    return poll_feed(context.state.feed(url), context)


def corpus_articles(context: PollContext):
    result = load_corpus(context.corpus_dir)
    assert result.errors == ()
    return result.articles


def article_files(context: PollContext) -> list[Path]:
    return sorted(context.corpus_dir.rglob("*.md"))
