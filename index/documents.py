"""The data the engine passes around: articles, their chunks, and problems found while reading them."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass

# The file that marks a folder as a Pitwall index (written by index/store/generations.py at the first
# build): a build deletes old generations only in a folder that has it; reading a corpus skips such a folder.
INDEX_MARKER = ".pitwall-index"


@dataclass(frozen=True)
class Article:
    """One news article. `text` is the body exactly as quotes will be taken from it."""

    id: str
    title: str
    text: str
    source: str = ""
    url: str = ""
    published: dt.date | None = None
    language: str = "de"
    author: str = ""
    path: str = ""  # where it came from, relative to the corpus folder ("dump.jsonl:12" for a JSONL line)

    def content_hash(self) -> str:
        """A hash of everything that ends up in the index; a changed hash means re-chunk and re-embed."""
        fields = self.to_json()
        fields.pop("path")
        return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def to_json(self) -> dict:
        data = asdict(self)
        data["published"] = self.published.isoformat() if self.published else None
        return data

    @classmethod
    def from_json(cls, data: dict) -> Article:
        published = dt.date.fromisoformat(data["published"]) if data.get("published") else None
        return cls(**{**data, "published": published})


@dataclass(frozen=True)
class Chunk:
    """A passage of an article: `text == article.text[start:end]` always holds."""

    article_id: str
    position: int  # 0, 1, 2, ... within the article
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class LoadError:
    """A file (or JSONL line) that could not be read as an article, and why."""

    path: str
    error: str
    line: int | None = None

    def to_json(self) -> dict:
        data = {"path": self.path, "error": self.error}
        if self.line is not None:
            data["line"] = self.line
        return data

    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else self.path
