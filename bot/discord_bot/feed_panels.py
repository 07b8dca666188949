"""Replies of the feed commands and the feeds part of /status. Pure: no discord import; every reply stays
inside Discord's limits (see `discord_text`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Literal

from bot.discord_bot.discord_text import (
    DESCRIPTION_MAX,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    Reply,
    escape,
    fit_content,
    fit_embed,
    masked_link,
    truncate,
)
from bot.discord_bot.panels import PANEL_COLOUR, reindex_summary

if TYPE_CHECKING:
    from bot.feeds import FeedStatus, FetchReport

FAILING = "⚠️ failing"
STATUS_FEEDS_MAX = 10  # feeds shown in /status (failing ones first); /feeds list shows all
ERROR_CHARS = 200


@dataclass(frozen=True)
class RefreshState:
    """What the bot says about the feed schedule: when the next refresh runs (`scheduled`), since when the
    one now running runs (`running`), or that this process never refreshes (`off`, `elsewhere`)."""

    kind: Literal["scheduled", "running", "off", "elsewhere"]
    at: dt.datetime | None = None
    every_minutes: float = 0.0


def discord_time(moment: dt.datetime | None, style: str = "R") -> str:
    """A Discord timestamp (shown in each reader's time zone, "in 5 minutes" with style R), or "never"."""
    if moment is None:
        return "never"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return f"<t:{int(moment.timestamp())}:{style}>"


def refresh_line(state: RefreshState) -> str:
    """When the feeds are refreshed next, as /status and the feed commands say it."""
    minutes = state.every_minutes
    every = f"every {minutes:g} min" if minutes >= 1 else f"every {minutes * 60:.3g} s"
    if state.kind == "off":
        return "off (PITWALL_FEED_REFRESH_MINUTES=0: run `pitwall fetch` from cron instead)"
    if state.kind == "elsewhere":
        return f"done by the bot process that runs shard 0 ({every})"
    if state.kind == "running":
        return f"running now (started {discord_time(state.at)}; {every})"
    return f"{discord_time(state.at) if state.at else 'soon'} ({every})"


def feed_title(status: FeedStatus) -> str:
    return escape(status.name or status.url)


def feed_facts(status: FeedStatus) -> str:
    """One feed's health: last success, article count, failing marker and last error."""
    line = f"last success {discord_time(status.last_success)} · {status.articles} articles"
    if status.failing:
        line += f" · **{FAILING}** ({status.failures_in_row} in a row)"
    if status.last_error:
        line += f"\nlast error: {escape(truncate(status.last_error, ERROR_CHARS))}"
    return line


def feed_added_reply(status: FeedStatus, state: RefreshState) -> Reply:
    when = (
        f"Its articles come in at the next refresh: {refresh_line(state)}."
        if state.kind in ("scheduled", "running", "elsewhere")
        else "Automatic refresh is off: run `pitwall fetch` (e.g. from cron) to bring its articles in."
    )
    link = masked_link(feed_title(status), status.url, 600)
    return Reply(fit_content(f"Following {link}. {when}"))


def feed_removed_reply(url: str) -> Reply:
    return Reply(
        fit_content(
            f"No longer following {escape(url)}. The articles it brought stay in the corpus folder "
            "(delete their files and /reindex to take them out)."
        )
    )


def feed_list_reply(statuses: Sequence[FeedStatus], state: RefreshState) -> Reply:
    """Every feed (failing ones first), with its health, and when the next refresh runs."""
    if not statuses:
        refresh = refresh_line(state)
        return Reply(fit_content(f"Pitwall follows no feeds yet: `/feeds add url`. Refresh: {refresh}."))
    footer = f"\n\n**Next refresh:** {refresh_line(state)}"
    blocks = [
        f"**{rank}.** {masked_link(feed_title(s), s.url, 600)}\n{feed_facts(s)}"
        for rank, s in enumerate(_failing_first(statuses), 1)
    ]
    description = _fit_blocks(blocks, DESCRIPTION_MAX - len(footer)) + footer
    failing = sum(1 for s in statuses if s.failing)
    title = f"Feeds: {len(statuses)} followed" + (f", {failing} failing" if failing else "")
    embed = {"title": title, "description": description, "color": PANEL_COLOUR}
    return Reply("", fit_embed(embed))


def with_feeds(status: Reply, statuses: Sequence[FeedStatus], state: RefreshState) -> Reply:
    """The /status reply with the feeds: their count and the next refresh in the description, then one
    field per feed (failing ones first, at most STATUS_FEEDS_MAX)."""
    embed = dict(status.embed or {})
    failing = sum(1 for s in statuses if s.failing)
    count = f"{len(statuses)} followed" + (f", {failing} {FAILING}" if failing else "")
    lines = [f"**Feeds:** {count}", f"**Next refresh:** {refresh_line(state)}"]
    embed["description"] = "\n".join([embed.get("description") or "", *lines]).strip()
    shown = _failing_first(statuses)[:STATUS_FEEDS_MAX]
    fields: list[dict[str, object]] = [
        {
            "name": truncate(("⚠️ " if s.failing else "") + feed_title(s), FIELD_NAME_MAX),
            "value": truncate(feed_facts(s), FIELD_VALUE_MAX),
            "inline": False,
        }
        for s in shown
    ]
    if len(statuses) > len(shown):
        more = f"…and {len(statuses) - len(shown)} more: /feeds list"
        fields.append({"name": "More feeds", "value": more, "inline": False})
    embed["fields"] = [*(embed.get("fields") or []), *fields]
    return Reply(status.content, fit_embed(embed))


def fetch_summary(report: FetchReport) -> str:
    """One line for the log: what a round brought and what the index did."""
    total = {kind: sum(getattr(r, kind) for r in report.feeds) for kind in ("new", "updated", "failed")}
    broken = sum(1 for r in report.feeds if r.error)
    line = (
        f"{len(report.feeds)} feed(s), {broken} failing; {total['new']} new, {total['updated']} updated, "
        f"{total['failed']} failed entries; {len(report.written)} file(s) written"
    )
    return line + (f"; index: {reindex_summary(report.index)}" if report.index else "; index unchanged")


def article_problem(report: FetchReport) -> str | None:
    """Why /add brought nothing in (the link's error or the entry's problems), or None when it did."""
    result = report.feeds[0] if report.feeds else None
    if result is None:
        return "nothing was fetched"
    if result.error:
        return result.error
    if result.failed or not (result.new or result.updated or result.unchanged):
        return "; ".join(result.problems) or "the page yielded no article"
    return None


def article_added_reply(report: FetchReport) -> Reply:
    """The article /add brought in: new, updated or already there, its file and the index update."""
    result = report.feeds[0]
    files = ", ".join(f"`{escape(PurePath(path).name)}`" for path in report.written) or "no file written"
    if result.new:
        what = f"Added {masked_link(escape(result.url), result.url, 600)} ({files})."
    elif result.updated:
        what = (
            f"Updated {masked_link(escape(result.url), result.url, 600)}: it changed at the source ({files})."
        )
    else:
        what = f"{masked_link(escape(result.url), result.url, 600)} is already in the archive, unchanged."
    index = f" Index: {reindex_summary(report.index)}." if report.index else ""
    return Reply(fit_content(what + index))


def _failing_first(statuses: Sequence[FeedStatus]) -> list[FeedStatus]:
    return sorted(statuses, key=lambda s: not s.failing)  # stable: otherwise in the service's order


def _fit_blocks(blocks: list[str], budget: int) -> str:
    """As many whole blocks as fit in `budget` characters, then "…and N more" for the rest."""
    out: list[str] = []
    used = 0
    for done, block in enumerate(blocks):
        rest = len(blocks) - done
        more = f"…and {rest} more"
        room_for_more = 0 if rest == 1 else len(more) + 2  # a block that is not the last leaves room for it
        if used + len(block) + 2 + room_for_more > budget:
            out.append(more)
            break
        out.append(block)
        used += len(block) + 2
    return "\n\n".join(out)
