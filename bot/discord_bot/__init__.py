"""The Discord adapter: the only package that imports discord.py.

Entry points: `run_bot(settings, service, feeds, feed_refresh_minutes) -> int` for `pitwall bot`,
`DiscordSettings`, and `export_feedback(db_path)` for `pitwall feedback --json`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.discord_bot.settings import DiscordSettings
from bot.discord_bot.store import export_feedback

if TYPE_CHECKING:
    from bot.discord_bot.service import AnswerService, FeedService


def run_bot(
    settings: DiscordSettings,
    service: AnswerService,
    feeds: FeedService | None = None,
    feed_refresh_minutes: float = 0.0,
) -> int:
    """Run the Discord bot until it stops and return the exit status (imports discord.py lazily); with
    `feeds` it has /feeds and /add and refreshes the feeds every `feed_refresh_minutes` (0: never)."""
    from bot.discord_bot.runner import run_bot as _run_bot

    return _run_bot(settings, service, feeds, feed_refresh_minutes)


__all__ = ["DiscordSettings", "export_feedback", "run_bot"]
