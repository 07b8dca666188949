"""Subscriptions and fetch state in one SQLite file: what each feed answered last, which entries were seen,
which article files were written. WAL and one transaction per change, so a kill -9 at any moment leaves the
state of the last finished step."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from index.errors import UserError

FAILING_AFTER = 3  # failures in a row after which a feed is shown as failing (it is still fetched)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    added TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    last_success TEXT,
    last_error TEXT,
    failures_in_row INTEGER NOT NULL DEFAULT 0,
    retry_at TEXT
);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    feed_url TEXT,
    written TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    feed_url TEXT NOT NULL,
    key TEXT NOT NULL,
    signature TEXT NOT NULL,
    article_id TEXT,
    skipped TEXT,
    seen TEXT NOT NULL,
    PRIMARY KEY (feed_url, key)
);
"""


class FeedStateError(UserError):
    """The feeds database cannot be opened or read."""


@dataclass(frozen=True)
class FeedRecord:
    url: str
    name: str
    added: dt.datetime
    etag: str | None = None
    last_modified: str | None = None
    last_success: dt.datetime | None = None
    last_error: str | None = None
    failures_in_row: int = 0
    retry_at: dt.datetime | None = None
    articles: int = 0

    @property
    def failing(self) -> bool:
        return self.failures_in_row >= FAILING_AFTER


@dataclass(frozen=True)
class SeenEntry:
    signature: str
    article_id: str | None
    skipped: str | None


@dataclass(frozen=True)
class WrittenArticle:
    id: str
    url: str
    path: str
    content_hash: str
    source: str = ""


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


class FeedState:
    """The feeds database. Every method is one transaction; threads take turns (the bot lists feeds while
    a refresh runs in a worker thread)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._turn = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as error:
            raise FeedStateError(
                f"cannot open the feeds database {self.path}: {error}; check PITWALL_FEEDS_DB"
            ) from None

    def close(self) -> None:
        with self._turn:
            self._db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._turn:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        with self._turn:
            return self._db.execute(sql, parameters).fetchall()

    # subscriptions

    def add_feed(self, url: str, name: str) -> bool:
        """Subscribe; False when `url` already was (its name is then updated)."""
        with self._transaction() as db:
            known = db.execute("SELECT 1 FROM feeds WHERE url = ?", (url,)).fetchone()
            if known:
                db.execute("UPDATE feeds SET name = ? WHERE url = ?", (name, url))
            else:
                db.execute(
                    "INSERT INTO feeds (url, name, added) VALUES (?, ?, ?)", (url, name, now().isoformat())
                )
        return not known

    def remove_feed(self, url: str) -> bool:
        """Unsubscribe (the articles already written stay in the corpus); False when it was not subscribed."""
        with self._transaction() as db:
            removed = db.execute("DELETE FROM feeds WHERE url = ?", (url,)).rowcount
            db.execute("DELETE FROM entries WHERE feed_url = ?", (url,))
        return bool(removed)

    def feeds(self) -> list[FeedRecord]:
        rows = self._read(
            "SELECT f.url, f.name, f.added, f.etag, f.last_modified, f.last_success, f.last_error, "
            "f.failures_in_row, f.retry_at, (SELECT COUNT(*) FROM articles a WHERE a.feed_url = f.url) "
            "FROM feeds f ORDER BY f.added, f.url"
        )
        return [
            FeedRecord(
                url, name, _time(added), etag, modified, _time(success), error, failures, _time(retry), count
            )
            for url, name, added, etag, modified, success, error, failures, retry, count in rows
        ]

    def feed(self, url: str) -> FeedRecord | None:
        return next((feed for feed in self.feeds() if feed.url == url), None)

    def feed_succeeded(self, url: str, etag: str | None, last_modified: str | None) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE feeds SET etag = ?, last_modified = ?, last_success = ?, failures_in_row = 0, "
                "last_error = NULL, retry_at = NULL WHERE url = ?",
                (etag, last_modified, now().isoformat(), url),
            )

    def feed_failed(self, url: str, error: str, retry_at: dt.datetime | None = None) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE feeds SET last_error = ?, failures_in_row = failures_in_row + 1, retry_at = ? "
                "WHERE url = ?",
                (error, retry_at.isoformat() if retry_at else None, url),
            )

    # entries and articles

    def seen_entry(self, feed_url: str, key: str) -> SeenEntry | None:
        rows = self._read(
            "SELECT signature, article_id, skipped FROM entries WHERE feed_url = ? AND key = ?",
            (feed_url, key),
        )
        return SeenEntry(*rows[0]) if rows else None

    def mark_entry(
        self, feed_url: str, key: str, signature: str, *, article_id: str | None, skipped: str | None = None
    ) -> None:
        with self._transaction() as db:
            _mark_entry(db, feed_url, key, signature, article_id, skipped)

    def article(self, article_id: str) -> WrittenArticle | None:
        rows = self._read(
            "SELECT id, url, path, content_hash, source FROM articles WHERE id = ?", (article_id,)
        )
        return WrittenArticle(*rows[0]) if rows else None

    def path_taken(self, path: str, by_other_than: str) -> bool:
        return bool(self._read("SELECT 1 FROM articles WHERE path = ? AND id != ?", (path, by_other_than)))

    def article_written(
        self,
        article: WrittenArticle,
        feed_url: str | None,
        entry: tuple[str, str] | None = None,
    ) -> None:
        """Record a written article file and (key, signature) of the feed entry it came from, at once."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO articles (id, url, path, content_hash, source, feed_url, written) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET url = excluded.url, path = excluded.path, "
                "content_hash = excluded.content_hash, source = excluded.source, written = excluded.written",
                (
                    article.id,
                    article.url,
                    article.path,
                    article.content_hash,
                    article.source,
                    feed_url,
                    now().isoformat(),
                ),
            )
            if entry is not None and feed_url is not None:
                _mark_entry(db, feed_url, *entry, article.id, None)


def _mark_entry(
    db: sqlite3.Connection,
    feed_url: str,
    key: str,
    signature: str,
    article_id: str | None,
    skipped: str | None,
) -> None:
    db.execute(
        "INSERT INTO entries (feed_url, key, signature, article_id, skipped, seen) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(feed_url, key) DO UPDATE SET signature = excluded.signature, "
        "article_id = excluded.article_id, skipped = excluded.skipped, seen = excluded.seen",
        (feed_url, key, signature, article_id, skipped, now().isoformat()),
    )
