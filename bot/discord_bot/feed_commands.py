"""/feeds add|list|remove and /add: admins follow news feeds and add single articles (same rights as
/reindex). The work (network, disk, the build) runs in worker threads; errors reach the one handler, which
answers privately (an `IndexBusy` names the build already running)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_bot.admins import Admins
from bot.discord_bot.discord_text import CHOICE_NAME_MAX, truncate
from bot.discord_bot.feed_panels import (
    article_added_reply,
    article_problem,
    feed_added_reply,
    feed_list_reply,
    feed_removed_reply,
)
from bot.discord_bot.refresh import FeedRefresh
from bot.discord_bot.service import AnswerService
from bot.discord_bot.ui import message_kwargs
from index.errors import UserError
from index.store.generations import IndexBusy

if TYPE_CHECKING:
    from bot.feeds import FetchReport

CHOICE_VALUE_MAX = 100  # Discord's limit on an autocomplete choice's value


class Feeds(commands.Cog):
    feeds_group = app_commands.Group(
        name="feeds", description="The news feeds Pitwall follows (admins)", guild_only=True
    )

    def __init__(self, refresh: FeedRefresh, service: AnswerService, admins: Admins) -> None:
        self.refresh = refresh
        self.service = service
        self.feeds = refresh.feeds
        self.admins = admins

    @feeds_group.command(name="add")
    @app_commands.describe(url="The feed's address (RSS or Atom)", name="A short name for /status")
    async def add(
        self,
        interaction: discord.Interaction,
        url: app_commands.Range[str, 1, 2000],
        name: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        """Follow an RSS or Atom feed: its new articles come in at every refresh."""
        self.admins.check(interaction, "manage feeds")
        await interaction.response.defer(thinking=True)
        status = await asyncio.to_thread(self.feeds.add, url, name)
        reply = feed_added_reply(status, self.refresh.state())
        await interaction.edit_original_response(**message_kwargs(reply))

    @feeds_group.command(name="list")
    async def list_feeds(self, interaction: discord.Interaction) -> None:
        """The feeds Pitwall follows: last success, last error, articles, failing ones marked."""
        self.admins.check(interaction, "manage feeds")
        await interaction.response.defer(ephemeral=True, thinking=True)
        statuses = await asyncio.to_thread(self.feeds.list)
        reply = feed_list_reply(statuses, self.refresh.state())
        await interaction.edit_original_response(**message_kwargs(reply))

    @feeds_group.command(name="remove")
    @app_commands.describe(url="The feed to stop following (start typing its address or name)")
    async def remove(self, interaction: discord.Interaction, url: app_commands.Range[str, 1, 2000]) -> None:
        """Stop following a feed (the articles it brought stay in the corpus folder)."""
        self.admins.check(interaction, "manage feeds")
        await interaction.response.defer(thinking=True)
        removed = await asyncio.to_thread(self._remove, url)
        await interaction.edit_original_response(**message_kwargs(feed_removed_reply(removed)))

    def _remove(self, text: str) -> str:
        """Remove the feed with address `text` (or, for an address too long for a suggestion, with that
        name); returns its address."""
        text = text.strip()
        statuses = self.feeds.list()
        by_url = {s.url: s for s in statuses}
        by_name = {s.name.casefold(): s for s in statuses if s.name}
        feed = by_url.get(text) or by_name.get(text.casefold())
        url = feed.url if feed is not None else text
        if not self.feeds.remove(url):
            raise UserError(f"Pitwall follows no feed “{truncate(text, 200)}”; /feeds list shows the feeds.")
        return url

    @remove.autocomplete("url")
    async def subscribed(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Subscribed feeds whose address or name contains what was typed (admins only: a feed list is
        not for everyone)."""
        if not self.admins.allow(interaction.user, interaction.permissions):
            return []
        needle = current.strip().casefold()
        choices = []
        for status in await asyncio.to_thread(self.feeds.list):  # also during a refresh
            label = f"{status.name} · {status.url}" if status.name else status.url
            if needle not in label.casefold():
                continue
            value = status.url if len(status.url) <= CHOICE_VALUE_MAX else status.name
            if value and len(value) <= CHOICE_VALUE_MAX:
                choices.append(app_commands.Choice(name=truncate(label, CHOICE_NAME_MAX), value=value))
        return choices[:25]

    @app_commands.command(name="add")
    @app_commands.guild_only()
    @app_commands.describe(url="The article's address")
    async def add_article(
        self, interaction: discord.Interaction, url: app_commands.Range[str, 1, 2000]
    ) -> None:
        """Add one article by its link: fetched, saved in the corpus folder and indexed (admins)."""
        self.admins.check(interaction, "add articles")
        await interaction.response.defer(thinking=True)
        report = await asyncio.to_thread(self._add_article, url)
        await interaction.edit_original_response(**message_kwargs(article_added_reply(report)))

    def _add_article(self, url: str) -> FetchReport:
        """Fetch the article into the corpus folder, then build: a failed fetch is told as such, not
        hidden behind a build that could not start."""
        report = self.feeds.add_article(url, index=False)
        problem = article_problem(report)
        if problem is not None:
            raise UserError(f"Could not add {truncate(url, 300)}: {truncate(problem, 1000)}")
        try:
            return replace(report, index=self.service.reindex(what="/add"))
        except IndexBusy as busy:
            raise IndexBusy(
                f"{busy}. The article is saved in the corpus folder and goes into the index with the next "
                "build (the next feed refresh or /reindex)."
            ) from None
