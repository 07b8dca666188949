"""Replies other than answers: search hits, an article's card, the status and re-index messages. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.discord_bot.discord_text import (
    CONTENT_MAX,
    DESCRIPTION_MAX,
    Reply,
    blockquote,
    escape,
    fit_content,
    fit_embed,
    masked_link,
    truncate,
)
from bot.discord_bot.formatting import format_date
from bot.service import SearchResult, ServiceStatus
from index.build import IndexReport
from index.documents import Article, LoadError

PANEL_COLOUR = 0x2B6CB0
OPENING_CHARS = 700
PASSAGE_CHARS = 400


def search_reply(query: str, results: Sequence[SearchResult]) -> Reply:
    """Ranked passages, each under its article's title, source and date."""
    if not results:
        return Reply(fit_content(f"No passage matches “{escape(query)}”."))
    per_hit = max(DESCRIPTION_MAX // len(results) - 2, 80)
    blocks = []
    for rank, hit in enumerate(results, 1):
        head = f"**{rank}.** " + masked_link(escape(hit.title or hit.article_id), hit.url, 300)
        head += f" · {escape(hit.source or '')} · {format_date(hit.published)} · score {hit.score:.2f}"
        body = blockquote(truncate(escape(hit.text), max(min(PASSAGE_CHARS, per_hit - len(head) - 4), 20)))
        blocks.append(truncate(head + "\n" + body, per_hit))
    embed = {"title": truncate(f"Search: {escape(query)}", 256), "description": "\n\n".join(blocks)}
    return Reply(
        fit_content(f"{len(results)} passage(s) for “{escape(query)}”"), fit_embed(embed | _colour())
    )


def source_reply(article: Article) -> Reply:
    """An article's title (linked), source, date and opening."""
    opening = truncate(escape(article.text.strip()), OPENING_CHARS)
    fields = [
        {"name": "Source", "value": escape(article.source) or "-", "inline": True},
        {"name": "Published", "value": format_date(article.published), "inline": True},
        {"name": "ID", "value": escape(article.id), "inline": True},
    ]
    embed = {
        "title": escape(article.title or article.id),
        "description": blockquote(opening),
        "fields": fields,
    }
    if article.url.startswith(("http://", "https://")) and len(article.url) <= 2048:
        embed["url"] = article.url
    return Reply("", fit_embed(embed | _colour()))


def status_reply(status: ServiceStatus) -> Reply:
    built = (
        dt.datetime.fromisoformat(status.built_at).strftime("%Y-%m-%d %H:%M UTC")
        if status.built_at
        else "never"
    )
    last = reindex_summary(status.last_report) if status.last_report else "none since start"
    lines = [
        f"**Articles:** {status.articles}",
        f"**Chunks:** {status.chunks}",
        f"**Model:** {escape(str(status.model))}",
        f"**Index built:** {built}",
        f"**Last re-index:** {last}",
    ]
    return Reply("", fit_embed({"title": "Pitwall status", "description": "\n".join(lines)} | _colour()))


def reindex_summary(report: IndexReport) -> str:
    return (
        f"{report.added} added, {report.changed} changed, {report.removed} removed, "
        f"{len(report.errors)} rejected; {report.articles} articles, {report.chunks} chunks "
        f"in {report.seconds:.1f} s"
    )


def describe_progress(done: int, total: int) -> str:
    """The engine's progress: texts embedded so far of those to embed (chunks and quote sentences)."""
    return f"embedded {done} of {total} new passages and sentences"


def format_reindex_progress(line: str, started: dt.datetime) -> str:
    return fit_content(f"Re-indexing (started <t:{int(started.timestamp())}:R>)… {escape(line)}")


def format_reindex_done(report: IndexReport) -> str:
    text = "Re-index done: " + reindex_summary(report) + "."
    if report.errors:
        rejected = "\n".join(f"- {escape(_error_path(e))}: {escape(e.error)}" for e in report.errors[:10])
        more = f"\n…and {len(report.errors) - 10} more" if len(report.errors) > 10 else ""
        text += "\nRejected files:\n" + rejected + more
    return truncate(text, CONTENT_MAX)


def format_reindex_busy(reason: str) -> str:
    """Another build of the index runs (in another process or on another host): this one did not start."""
    return fit_content(
        f"Re-index not started: {escape(reason)}\nThe current index keeps answering questions."
    )


def format_reindex_failed(reason: str) -> str:
    return fit_content(f"Re-index failed: {escape(reason)}\nThe previous index is still answering questions.")


def _error_path(error: LoadError) -> str:
    return f"{error.path}:{error.line}" if error.line is not None else str(error.path)


def _colour() -> dict[str, int]:
    return {"color": PANEL_COLOUR}
