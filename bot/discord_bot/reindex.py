"""/reindex: admins rebuild the index in the background; progress and result edit the command's message.

One build at a time per index, whichever process (shard) or host starts it (the lease of
index/store/lease.py): when another one runs, the message says it did not start and names that build."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_bot.admins import Admins
from bot.discord_bot.panels import (
    describe_progress,
    format_reindex_busy,
    format_reindex_done,
    format_reindex_failed,
    format_reindex_progress,
)
from bot.discord_bot.service import AnswerService
from index.store.generations import IndexBusy

log = logging.getLogger(__name__)


class Reindex(commands.Cog):
    def __init__(
        self,
        service: AnswerService,
        admins: Admins,
        progress_every: float = 2.0,
    ) -> None:
        self.service = service
        self.admins = admins
        self.progress_every = progress_every
        self._started: dt.datetime | None = None  # set while a re-index runs
        self._job: asyncio.Task[None] | None = None

    @app_commands.command(name="reindex")
    @app_commands.guild_only()
    async def reindex(self, interaction: discord.Interaction) -> None:
        """Rebuild the index from the corpus folder (Manage Server, or on the admin list)."""
        self.admins.check(interaction, "re-index")
        if self._started is not None:
            await interaction.response.send_message(
                f"A re-index is already running (started <t:{int(self._started.timestamp())}:R>). "
                "I'll keep answering from the current index until it is done.",
                ephemeral=True,
            )
            return
        started = self._started = dt.datetime.now(dt.UTC)
        try:
            await interaction.response.send_message(format_reindex_progress("starting", started))
        except BaseException:
            self._started = None
            raise
        what = f"/reindex by {interaction.user}"
        self._job = asyncio.create_task(self._run(interaction, started, what), name="pitwall-reindex")

    async def _run(self, interaction: discord.Interaction, started: dt.datetime, what: str) -> None:
        loop = asyncio.get_running_loop()
        latest = ["starting"]

        def progress(done: int, total: int) -> None:  # called in the worker thread
            loop.call_soon_threadsafe(latest.__setitem__, 0, describe_progress(done, total))

        try:
            work = asyncio.ensure_future(asyncio.to_thread(self.service.reindex, progress, what=what))
            shown = latest[0]
            while not work.done():
                await asyncio.wait({work}, timeout=self.progress_every)
                if not work.done() and latest[0] != shown:
                    shown = latest[0]
                    await self._edit(interaction, format_reindex_progress(shown, started))
            try:
                text = format_reindex_done(work.result())
            except IndexBusy as busy:  # another process or host is building this index
                log.info("re-index not started: %s", busy)
                text = format_reindex_busy(str(busy))
            except Exception as exc:
                log.exception("re-index failed")
                text = format_reindex_failed(str(exc) or type(exc).__name__)
            await self._edit(interaction, text, final=True)
        finally:
            self._started = None

    async def _edit(self, interaction: discord.Interaction, text: str, *, final: bool = False) -> None:
        try:
            await interaction.edit_original_response(content=text)
        except discord.HTTPException:
            # interaction tokens expire after 15 minutes: post the result as a new message instead
            if final and isinstance(interaction.channel, discord.abc.Messageable):
                await interaction.channel.send(text)
            else:
                log.warning("could not update the re-index message", exc_info=True)

    async def cog_unload(self) -> None:
        if self._job is not None:
            self._job.cancel()
