"""One round over a feed (or one article link): fetch, pick the new and changed entries, write their
articles into the corpus folder, and record what was done.

An entry is fetched again only when the feed shows it changed (its link, title, date, summary or content).
Its article text comes from its page; when the page cannot be fetched or gives too little text (a paywall,
a consent wall), from the feed's own full content; else the entry is skipped with the reason and nothing
is written: a teaser is never indexed as if it were the article. Every step is recorded only after its
file is on disk, and a file a killed round wrote is recognised by its id, so nothing is written twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from index.ingest.feeds.articles import (
    FetchedArticle,
    article_id,
    body_of,
    content_hash,
    holds_article,
    normalize_url,
    remove_leftovers,
    write_atomically,
)
from index.ingest.feeds.feed_parsing import FeedEntry, NotAFeed, parse_feed
from index.ingest.feeds.http import Fetcher, FetchError
from index.ingest.feeds.page_text import content_text, page_text
from index.ingest.feeds.state import FeedRecord, FeedState, WrittenArticle, now

MIN_ARTICLE_CHARS = 400  # less text than this is a teaser, a paywall or a consent wall, not an article
_FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
_PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


@dataclass(frozen=True)
class PollContext:
    state: FeedState
    fetcher: Fetcher
    corpus_dir: Path


@dataclass(frozen=True)
class FeedResult:
    """What one feed (or one article link) gave in a round. `error`: why the feed as a whole failed;
    `problems`: one line per entry that failed or was skipped; `written`: files, relative to the corpus."""

    url: str
    name: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    error: str | None = None
    problems: tuple[str, ...] = ()
    written: tuple[str, ...] = ()
    warning: str | None = None

    def to_json(self) -> dict:
        return {
            "url": self.url,
            "name": self.name,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "error": self.error,
            "problems": list(self.problems),
            "warning": self.warning,
        }


@dataclass
class _Tally:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    retry_later: bool = False  # an entry failed in a way the next round may not repeat

    def result(self, url: str, name: str, warning: str | None = None) -> FeedResult:
        return FeedResult(
            url,
            name,
            self.new,
            self.updated,
            self.unchanged,
            len(self.problems),
            None,
            tuple(self.problems),
            tuple(self.written),
            warning,
        )


@dataclass(frozen=True)
class _Skipped:
    reason: str
    retry: bool  # the next round should try this entry again


def poll_feed(feed: FeedRecord, context: PollContext) -> FeedResult:
    """Fetch `feed` once (conditionally) and bring in its new and changed entries."""
    remove_leftovers(context.corpus_dir)
    if feed.retry_at and feed.retry_at > now():
        return FeedResult(
            feed.url,
            feed.name,
            error=f"not asked before {feed.retry_at:%Y-%m-%d %H:%M} UTC, as the server asked (Retry-After)",
        )
    headers = {"Accept": _FEED_ACCEPT}
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    try:
        response = context.fetcher.get(feed.url, headers)
        if response.status == 304:
            context.state.feed_succeeded(feed.url, feed.etag, feed.last_modified)
            return FeedResult(feed.url, feed.name)
        parsed = parse_feed(response.body, response.headers, response.url)
    except (FetchError, NotAFeed) as error:
        context.state.feed_failed(feed.url, str(error), getattr(error, "retry_at", None))
        return FeedResult(feed.url, feed.name, error=str(error))
    tally = _Tally()
    for entry in parsed.entries:
        try:
            _take_entry(entry, feed, parsed.language, context, tally)
        except Exception as error:  # noqa: BLE001 - one entry's surprise (a parser bug, a full disk) is its own
            tally.problems.append(f"{entry.link or entry.title}: {type(error).__name__}: {error}")
            tally.retry_later = True
    if tally.retry_later:  # no validators: the next round reads the whole feed and tries those entries again
        context.state.feed_succeeded(feed.url, None, None)
    else:
        context.state.feed_succeeded(
            feed.url, response.headers.get("etag"), response.headers.get("last-modified")
        )
    return tally.result(feed.url, feed.name, parsed.warning)


def fetch_link(url: str, context: PollContext) -> FeedResult:
    """Bring in the article at `url` (written again when it changed)."""
    remove_leftovers(context.corpus_dir)
    tally = _Tally()
    known = context.state.article(article_id(url))
    source = known.source if known else urlsplit(url).hostname or ""  # as it came in first
    found = _article(url, None, source=source, language="", fetcher=context.fetcher)
    if isinstance(found, _Skipped):
        return FeedResult(url, "", error=found.reason)
    if known and body_of(context.corpus_dir / known.path) == found.text.strip():
        tally.unchanged += 1  # came in from a feed with richer details: the same text keeps them
        return tally.result(url, "")
    _write(found, context, tally, feed_url=None, entry=None)
    return tally.result(url, "")


def _signature(entry: FeedEntry) -> str:
    fields = [entry.link, entry.title, entry.updated, entry.summary, entry.content]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()


def _take_entry(
    entry: FeedEntry, feed: FeedRecord, language: str, context: PollContext, tally: _Tally
) -> None:
    if not entry.link and not entry.content:
        tally.problems.append(f"{entry.title or entry.guid or 'an entry'}: no link and no content")
        return
    key = entry.guid or normalize_url(entry.link)
    signature = _signature(entry)
    seen = context.state.seen_entry(feed.url, key)
    if seen is not None and seen.signature == signature:
        tally.unchanged += 1
        return
    aid = seen.article_id if seen and seen.article_id else article_id(entry.link or f"{feed.url}#{key}")
    if seen is None and context.state.article(aid) is not None:  # came in already (another feed, `add`)
        context.state.mark_entry(feed.url, key, signature, article_id=aid)
        tally.unchanged += 1
        return
    found = _article(entry.link, entry, source=feed.name, language=language, fetcher=context.fetcher)
    where = entry.link or entry.title
    if isinstance(found, _Skipped):
        tally.problems.append(f"{where}: {found.reason}")
        if found.retry:
            tally.retry_later = True
        else:  # asked again only when the entry changes
            context.state.mark_entry(feed.url, key, signature, article_id=None, skipped=found.reason)
        return
    _write(FetchedArticle(**{**found.__dict__, "id": aid}), context, tally, feed.url, (key, signature))


def _article(
    url: str, entry: FeedEntry | None, *, source: str, language: str, fetcher: Fetcher
) -> FetchedArticle | _Skipped:
    """The article of `url` from its page, else from the entry's full content, else why there is none."""
    page = None
    page_problem = ""
    retry = False
    if url:
        try:
            response = fetcher.get(url, {"Accept": _PAGE_ACCEPT})
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type and "html" not in content_type:
                page_problem = f"the page is not HTML but {content_type}"
            else:
                page = page_text(response.body, response.url)
        except FetchError as error:
            page_problem, retry = str(error), not error.permanent
    title = (entry.title if entry else "") or (page.title if page else "")
    published = entry.published if entry and entry.published else _date(page.published if page else "")
    common = {
        "id": article_id(url) if url else "",
        "url": normalize_url(url) if url else "",
        "title": title,
        "published": published,
        "source": source,
        "author": (entry.author if entry else "") or (page.author if page else ""),
    }
    if page is not None and len(page.text) >= MIN_ARTICLE_CHARS and title:
        return FetchedArticle(**common, text=page.text, language=page.language or language, via="page")
    full = content_text(entry.content) if entry and entry.content else ""
    if len(full) >= MIN_ARTICLE_CHARS and title:
        return FetchedArticle(**common, text=full, language=language, via="feed")
    if not title:
        return _Skipped(f"{page_problem or 'no title on the page or in the feed'}: not indexed", retry)
    reason = page_problem or (
        f"the page gave {len(page.text) if page else 0} characters of article text "
        "(a paywall, consent wall or teaser?)"
    )
    feed_part = f"the feed's own content has {len(full)} characters" if full else "the feed has no full text"
    return _Skipped(f"{reason}; {feed_part}: not indexed", retry)


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _write(
    article: FetchedArticle,
    context: PollContext,
    tally: _Tally,
    feed_url: str | None,
    entry: tuple[str, str] | None,
) -> None:
    """Write the article's file (new, or over its own earlier file) and record it; unchanged text is not
    written again."""
    state = context.state
    markdown = article.markdown()
    digest = content_hash(markdown)
    known = state.article(article.id)
    if known is not None and known.content_hash == digest:
        if entry is not None and feed_url is not None:
            state.mark_entry(feed_url, *entry, article_id=article.id)
        tally.unchanged += 1
        return
    relative = known.path if known else _free_path(article, context)
    write_atomically(context.corpus_dir / relative, markdown)
    state.article_written(
        WrittenArticle(article.id, article.url, relative, digest, article.source), feed_url, entry
    )
    tally.written.append(relative)
    if known:
        tally.updated += 1
    else:
        tally.new += 1


def _free_path(article: FetchedArticle, context: PollContext) -> str:
    """A path no other article has: `<date>-<slug>.md`, else with -2, -3, ...; a file a killed round wrote
    for this very article is taken over."""
    first = article.relative_path(now().date())
    stem = first.removesuffix(".md")
    candidate, number = first, 1
    while _taken(candidate, article.id, context):
        number += 1
        candidate = f"{stem}-{number}.md"
    return candidate


def _taken(relative: str, aid: str, context: PollContext) -> bool:
    """Another article has the path (recorded, or a file by someone else); not this one's own file."""
    path = context.corpus_dir / relative
    return context.state.path_taken(relative, aid) or (path.exists() and not holds_article(path, aid))
