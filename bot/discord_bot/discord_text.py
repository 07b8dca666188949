"""Discord's message limits and safe text: escaping, truncation and fitting an embed. Pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_MAX = 256
EMBED_TOTAL_MAX = 6000
CHOICE_NAME_MAX = 100

ELLIPSIS = "…"
_ZWSP = "\u200b"
_MARKDOWN = re.compile(r"([\\*_~`|\[\]()])")
_LINE_START = re.compile(r"^(\s*)([#\-+>]|\d+\.)", re.MULTILINE)
_MENTION = re.compile(r"@(everyone|here)|<([@#])")


@dataclass(frozen=True)
class Reply:
    """A message to send: content and at most one embed (as Discord's JSON embed object)."""

    content: str
    embed: dict[str, Any] | None = None


def escape(text: str) -> str:
    """Text shown literally: Markdown characters escaped, mentions broken so they can never ping or render."""
    text = _MARKDOWN.sub(r"\\\1", text)
    text = _LINE_START.sub(r"\1\\\2", text)
    return _MENTION.sub(lambda m: f"@{_ZWSP}{m.group(1)}" if m.group(1) else f"<{m.group(2)}{_ZWSP}", text)


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, marked with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    cut = text[: limit - 1].rstrip()
    if cut.endswith("\\"):  # never leave a dangling escape
        cut = cut[:-1]
    return cut + ELLIPSIS


def blockquote(text: str) -> str:
    return "\n".join("> " + line for line in text.splitlines() or [""])


def link_target(url: str) -> str:
    """A URL safe to put in `[text](url)`, or "" if it is not an http(s) URL or is too long."""
    if not url.startswith(("http://", "https://")):
        return ""
    safe = (
        url.replace(" ", "%20")
        .replace("(", "%28")
        .replace(")", "%29")
        .replace("<", "%3C")
        .replace(">", "%3E")
    )
    return safe if len(safe) <= 512 else ""


def masked_link(text: str, url: str, limit: int) -> str:
    """`[text](url)` within `limit` characters; the text (already escaped) is shortened first."""
    target = link_target(url)
    if not target or len(target) + 8 > limit:
        return truncate(text, limit)
    return f"[{truncate(text, limit - len(target) - 4)}]({target})"


def embed_length(embed: dict[str, Any]) -> int:
    """The characters Discord counts towards an embed's 6,000 limit."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += sum(len(f.get("name") or "") + len(f.get("value") or "") for f in embed.get("fields") or [])
    total += len((embed.get("footer") or {}).get("text") or "") + len(
        (embed.get("author") or {}).get("name") or ""
    )
    return total


def fit_embed(embed: dict[str, Any]) -> dict[str, Any]:
    """The embed cut to every Discord limit; the description keeps priority, trailing fields go first."""
    out = dict(embed)
    if "title" in out:
        out["title"] = truncate(out["title"], TITLE_MAX)
    if "description" in out:
        out["description"] = truncate(out["description"], DESCRIPTION_MAX)
    if "footer" in out:
        out["footer"] = {**out["footer"], "text": truncate(out["footer"].get("text") or "", FOOTER_MAX)}
    fields = [
        {
            **f,
            "name": truncate(f.get("name") or "-", FIELD_NAME_MAX) or "-",
            "value": truncate(f.get("value") or "-", FIELD_VALUE_MAX) or "-",
        }
        for f in (out.get("fields") or [])[:FIELDS_MAX]
    ]
    if "fields" in out:
        out["fields"] = fields
    while embed_length(out) > EMBED_TOTAL_MAX and out.get("fields"):
        out["fields"] = out["fields"][:-1]
    excess = embed_length(out) - EMBED_TOTAL_MAX
    if excess > 0 and out.get("description"):
        out["description"] = truncate(out["description"], max(len(out["description"]) - excess, 0))
    excess = embed_length(out) - EMBED_TOTAL_MAX
    if excess > 0 and out.get("footer"):
        out["footer"] = {
            **out["footer"],
            "text": truncate(out["footer"]["text"], len(out["footer"]["text"]) - excess),
        }
    return out


def fit_content(text: str) -> str:
    return truncate(text, CONTENT_MAX)
