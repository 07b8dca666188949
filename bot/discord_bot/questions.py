"""Slash commands that read the archive: /ask, /search, /source (with autocomplete) and /status (with the
feeds and the next refresh)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_bot.discord_text import CHOICE_NAME_MAX, truncate
from bot.discord_bot.errors import send_private
from bot.discord_bot.feed_panels import with_feeds
from bot.discord_bot.formatting import answer_reply, format_date
from bot.discord_bot.lifecycle import ABANDONED, Admission
from bot.discord_bot.panels import search_reply, source_reply, status_reply
from bot.discord_bot.refresh import FeedRefresh
from bot.discord_bot.service import AnswerService
from bot.discord_bot.store import AnswerStore, new_answer_id
from bot.discord_bot.ui import feedback_view, message_kwargs
from index.documents import Article
from index.errors import UserError


class Questions(commands.Cog):
    """Every command answers within Discord's 3 s: /ask and /search defer, then wait in the server's queue;
    /source and /status defer too (the service loads while the bot connects, before it says ready, so they
    are quick)."""

    def __init__(
        self,
        service: AnswerService,
        store: AnswerStore,
        admission: Admission,
        refresh: FeedRefresh | None = None,
    ) -> None:
        """With `refresh` (a bot with feeds) /status shows the feeds and the next refresh."""
        self.service = service
        self.store = store
        self.admission = admission
        self.refresh = refresh

    def _apologise(self, interaction: discord.Interaction) -> Callable[[], Awaitable[None]]:
        return lambda: send_private(interaction, ABANDONED)

    @app_commands.command(name="ask")
    @app_commands.describe(question="Your question, in English or German")
    async def ask(self, interaction: discord.Interaction, question: app_commands.Range[str, 2, 500]) -> None:
        """Ask the news archive: the answer quotes the articles word for word, with sources."""
        key = self.admission.admit(interaction.user.id, interaction.guild_id)
        async with self.admission.in_flight.track(self._apologise(interaction)):
            callback = await interaction.response.defer(thinking=True)
            async with self.admission.queues.slot(key):
                answer = await asyncio.to_thread(self.service.ask, question)
            answer_id = new_answer_id()
            message_id = callback.message_id if callback else None
            await asyncio.to_thread(
                self.store.record_answer,
                answer_id,
                answer,
                channel_id=interaction.channel_id,
                message_id=message_id,
            )
            await interaction.edit_original_response(
                **message_kwargs(answer_reply(answer)), view=feedback_view(answer_id)
            )

    @app_commands.command(name="search")
    @app_commands.describe(
        query="Words to look for",
        results="How many passages (1-10)",
        since="Only articles published on or after this day (YYYY-MM-DD)",
        until="Only articles published on or before this day (YYYY-MM-DD)",
        public="Show the results to everyone in the channel (default: only you)",
    )
    async def search(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 2, 300],
        results: app_commands.Range[int, 1, 10] = 5,
        since: str | None = None,
        until: str | None = None,
        public: bool = False,
    ) -> None:
        """Ranked passages from the archive, with their articles."""
        first, last = parse_date(since, "since"), parse_date(until, "until")
        key = self.admission.admit(interaction.user.id, interaction.guild_id)
        async with self.admission.in_flight.track(self._apologise(interaction)):
            await interaction.response.defer(ephemeral=not public, thinking=True)
            async with self.admission.queues.slot(key):
                hits = await asyncio.to_thread(self.service.search, query, k=results, since=first, until=last)
            await interaction.edit_original_response(**message_kwargs(search_reply(query, hits)))

    @app_commands.command(name="source")
    @app_commands.describe(article="Start typing the article's title")
    async def source(
        self, interaction: discord.Interaction, article: app_commands.Range[str, 1, 200]
    ) -> None:
        """An article's title, source, date, link and opening."""
        async with self.admission.in_flight.track(self._apologise(interaction)):
            await interaction.response.defer(thinking=True)
            found = await asyncio.to_thread(self._resolve, article)
            if found is None:
                raise UserError(
                    f"No article matches “{truncate(article, 100)}”. Pick one from the suggestions."
                )
            await interaction.edit_original_response(**message_kwargs(source_reply(found)))

    @source.autocomplete("article")
    async def source_titles(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Titles containing what was typed (autocomplete can't defer: the loaded index answers in ms)."""
        articles = await asyncio.to_thread(self.service.find_articles, current, 25)
        return [
            app_commands.Choice(
                name=truncate(f"{a.title or a.id} ({format_date(a.published)})", CHOICE_NAME_MAX),
                value=a.id[:100],
            )
            for a in articles[:25]
        ]

    @app_commands.command(name="status")
    async def status(self, interaction: discord.Interaction) -> None:
        """Articles and chunks indexed, the model, the last re-index, the feeds and the next refresh."""
        async with self.admission.in_flight.track(self._apologise(interaction)):
            await interaction.response.defer(thinking=True)
            reply = status_reply(await asyncio.to_thread(self.service.status))
            if self.refresh is not None:
                feeds = await asyncio.to_thread(self.refresh.feeds.list)
                reply = with_feeds(reply, feeds, self.refresh.state())
            await interaction.edit_original_response(**message_kwargs(reply))

    def _resolve(self, text: str) -> Article | None:
        """The article with id `text`, else the first whose title contains it."""
        found = self.service.article(text)
        if found is not None:
            return found
        matches = self.service.find_articles(text, 1)
        return matches[0] if matches else None


def parse_date(text: str | None, name: str) -> dt.date | None:
    if text is None or not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"`{name}` must be a date like 2024-05-31, not “{truncate(text, 40)}”.") from None
