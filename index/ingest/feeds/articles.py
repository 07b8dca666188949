"""Fetched articles as Markdown files with front matter in the corpus folder, written atomically.

An article's id comes from its normalized URL (scheme and host lower-case, default port, fragment and
tracking parameters dropped), so the same article met twice (two feeds, a feed and `pitwall add`, a link
with utm_ parameters) is one file. Files are `feeds/<host>/<date>-<slug>.md` and load through
`index.ingest.loading` like any hand-written one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import yaml

FEEDS_FOLDER = "feeds"
_TRACKING = re.compile(
    r"(?:utm_\w+|fbclid|gclid|dclid|msclkid|yclid|mc_cid|mc_eid|igshid|_ga|_gl|wt_mc|wt_zmc|cmpid|icid|"
    r"ref_src|at_\w+|xtor)",
    re.IGNORECASE,
)
_LANGUAGE = re.compile(r"[A-Za-z]{2}(?:[-_][A-Za-z0-9]{1,8})*")
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})
_SLUG_LENGTH = 60
_TEMPORARY = ".pitwall-writing-"


def normalize_url(url: str) -> str:
    """The URL that names an article: lower-case scheme and host, no default port, no fragment, no
    tracking parameters; the other parameters keep their order."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode([(key, value) for key, value in pairs if not _TRACKING.fullmatch(key)])
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def article_id(url: str) -> str:
    """The stable id of the article at `url`: its host and a hash of its normalized URL."""
    normalized = normalize_url(url)
    host = urlsplit(normalized).hostname or "web"
    return f"{host}/{hashlib.sha256(normalized.encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class FetchedArticle:
    id: str
    url: str
    title: str
    text: str
    published: dt.datetime | dt.date | None
    source: str
    language: str
    author: str
    via: str  # "page" (extracted from the article's page) or "feed" (the feed's own full content)

    def markdown(self) -> str:
        fields: dict[str, str] = {"id": self.id, "title": self.title, "url": self.url}
        if self.published:
            fields["published"] = self.published.isoformat()
        if self.source:
            fields["source"] = self.source
        if _LANGUAGE.fullmatch(self.language):  # a page's odd language value is left to detection
            fields["language"] = self.language
        if self.author:
            fields["author"] = self.author
        fields["text_from"] = self.via
        front = yaml.safe_dump(fields, allow_unicode=True, sort_keys=False, width=10_000)
        return f"---\n{front}---\n\n{self.text.strip()}\n"

    def relative_path(self, fetched: dt.date) -> str:
        """`feeds/<host>/<date>-<slug>.md` for a first write (later writes keep the path they got)."""
        host = re.sub(r"[^a-z0-9.-]+", "-", (urlsplit(self.url).hostname or "web").lower()).strip(".-")
        day = self.published if isinstance(self.published, dt.date) else fetched
        if isinstance(day, dt.datetime):
            day = day.date()
        return f"{FEEDS_FOLDER}/{host or 'web'}/{day.isoformat()}-{slug(self.title)}.md"


def slug(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title.translate(_UMLAUTS)).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return words[:_SLUG_LENGTH].rstrip("-") or "article"


def content_hash(markdown: str) -> str:
    return hashlib.sha256(markdown.encode()).hexdigest()


def holds_article(path: Path, article_id_: str) -> bool:
    """Whether the file at `path` is the article `article_id_` (its front matter names that id): a file a
    killed fetch wrote but never recorded."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096).decode("utf-8", errors="replace")
    except OSError:
        return False
    return yaml.safe_dump({"id": article_id_}, allow_unicode=True, width=10_000).strip() in head.splitlines()


def body_of(path: Path) -> str | None:
    """The text after the front matter of an article file written here, None when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    front, separator, body = text.partition("\n---\n")
    return body.strip() if separator and front.startswith("---\n") else None


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` so that a reader (or a kill -9) sees the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{_TEMPORARY}{os.getpid()}-{path.name}")  # hidden: the loader skips it
    try:
        with temporary.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def remove_leftovers(corpus_dir: Path) -> None:
    """Delete temporary files a killed fetch left in the feeds folder."""
    for leftover in (corpus_dir / FEEDS_FOLDER).glob(f"*/{_TEMPORARY}*"):
        leftover.unlink(missing_ok=True)
