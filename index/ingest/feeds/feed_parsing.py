"""RSS 0.9x/1.0/2.0 and Atom feeds (feedparser) into entries, from bytes the downloader fetched.

feedparser's `bozo` is a warning, not a verdict: the entries it still found are kept. Refused outright: a
feed that declares XML entities (entity expansion, "billion laughs", is never attempted) and a response
that is no feed at all (an HTML page, say), each with the reason.
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass

import feedparser

_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
_HTML_START = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)", re.I | re.S)


class NotAFeed(Exception):
    """The bytes are not a feed that can be read; the message is the one-line reason."""


@dataclass(frozen=True)
class FeedEntry:
    guid: str
    link: str
    title: str
    published: dt.datetime | None
    updated: str  # as the feed wrote it: part of what tells a changed entry
    author: str
    summary: str  # HTML, as the feed carries it (often a teaser)
    content: str  # HTML of the full content (content:encoded, Atom content), "" when the feed has none


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    language: str
    entries: tuple[FeedEntry, ...]
    warning: str | None = None  # what was wrong with a feed whose entries were still read


def parse_feed(body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed:
    """The feed in `body` (as served from `url` with `headers`), or NotAFeed with the reason."""
    if _ENTITY_DECLARATION.search(body):
        raise NotAFeed("the feed declares XML entities (refused: entity expansion can exhaust memory)")
    response_headers = {"content-location": url, **{key.lower(): value for key, value in headers.items()}}
    parsed = feedparser.parse(
        io.BytesIO(body), response_headers=response_headers, resolve_relative_uris=True, sanitize_html=True
    )
    problem = parsed.get("bozo_exception")
    if not parsed.get("version") and not parsed.entries:
        content_type = response_headers.get("content-type", "").split(";")[0].strip()
        if "html" in content_type or _HTML_START.match(body):
            raise NotAFeed(f"expected an RSS or Atom feed, got an HTML page ({content_type or 'no type'})")
        reason = _one_line(problem) if problem else "no RSS or Atom elements found"
        raise NotAFeed(f"not an RSS or Atom feed: {reason}")
    if problem and not parsed.entries:
        raise NotAFeed(f"the feed is not well-formed ({_one_line(problem)}); no entry could be read")
    entries = tuple(_entry(entry) for entry in parsed.entries)
    warning = f"the feed is not well-formed ({_one_line(problem)}); read what it held" if problem else None
    feed = parsed.get("feed", {})
    return ParsedFeed(feed.get("title", ""), feed.get("language", ""), entries, warning)


def _entry(entry: Mapping) -> FeedEntry:
    contents = [part.get("value", "") for part in entry.get("content", []) if part.get("value")]
    return FeedEntry(
        guid=str(entry.get("id", "") or "").strip(),
        link=str(entry.get("link", "") or "").strip(),
        title=" ".join(str(entry.get("title", "") or "").split()),
        published=_time(dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")),
        updated=str(dict.get(entry, "updated") or dict.get(entry, "published") or ""),
        author=" ".join(str(entry.get("author", "") or "").split()),
        summary=str(entry.get("summary", "") or ""),
        content=max(contents, key=len, default=""),
    )


def _time(parsed: object) -> dt.datetime | None:
    """feedparser's UTC struct_time as an aware datetime (odd dates it could not read are None)."""
    try:
        return dt.datetime.fromtimestamp(calendar.timegm(parsed), dt.UTC) if parsed else None  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def _one_line(problem: object) -> str:
    return " ".join(str(problem).split())[:300] or type(problem).__name__
