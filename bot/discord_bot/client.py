"""The Discord client: a commands.Bot given its dependencies, registering everything in setup_hook."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
import discord
from discord.ext import commands

from bot.discord_bot.admins import Admins
from bot.discord_bot.chat import Chat
from bot.discord_bot.errors import handle_interaction_error
from bot.discord_bot.feed_commands import Feeds
from bot.discord_bot.lifecycle import Admission
from bot.discord_bot.questions import Questions
from bot.discord_bot.refresh import FeedRefresh
from bot.discord_bot.reindex import Reindex
from bot.discord_bot.service import AnswerService, FeedService
from bot.discord_bot.settings import DiscordSettings
from bot.discord_bot.store import AnswerStore
from bot.discord_bot.ui import FeedbackButton

log = logging.getLogger(__name__)

SYNC_RETRY_SECONDS = (5.0, 30.0, 120.0, 600.0)  # waits between attempts of a failed command sync


def intents() -> discord.Intents:
    wanted = discord.Intents.default()
    wanted.message_content = True  # privileged: read questions in ask-channels and follow-ups
    wanted.members = False
    wanted.presences = False
    return wanted


class _Pitwall:
    """Pitwall's part of the client, for both the plain and the sharded discord.py bot."""

    settings: DiscordSettings
    service: AnswerService
    feeds: FeedService | None  # None: a bot without feeds (no /feeds, /add, refresh)
    feed_refresh_seconds: float
    refresh: FeedRefresh | None
    answer_store: AnswerStore
    admission: Admission
    sync_retry_seconds: Sequence[float]
    sync_task: asyncio.Task[bool] | None
    loading: asyncio.Task[None] | None  # the model and index, loading while the gateway connects
    _said_ready: bool

    def _setup(
        self,
        settings: DiscordSettings,
        service: AnswerService,
        answer_store: AnswerStore,
        admission: Admission,
        sync_retry_seconds: Sequence[float],
        feeds: FeedService | None,
        feed_refresh_seconds: float,
    ) -> None:
        self.settings = settings
        self.service = service
        self.feeds = feeds
        self.feed_refresh_seconds = feed_refresh_seconds
        self.refresh = None
        self.answer_store = answer_store
        self.admission = admission
        self.sync_retry_seconds = sync_retry_seconds
        self.sync_task = None
        self.loading = None
        self._said_ready = False

    async def setup_hook(self) -> None:
        bot: commands.Bot = self  # type: ignore[assignment]
        bot.add_dynamic_items(FeedbackButton)
        bot.tree.on_error = handle_interaction_error  # type: ignore[method-assign]
        shard_ids = getattr(bot, "shard_ids", None)
        runs_shard_0 = not shard_ids or 0 in shard_ids  # syncs the commands and refreshes the feeds for all
        admins = Admins(frozenset(self.settings.admin_roles), frozenset(self.settings.admin_users))
        if self.feeds is not None:
            self.refresh = FeedRefresh(
                self.feeds, self.feed_refresh_seconds, here=runs_shard_0, ready=bot.wait_until_ready
            )
            await bot.add_cog(Feeds(self.refresh, self.service, admins))
        await bot.add_cog(Questions(self.service, self.answer_store, self.admission, self.refresh))
        await bot.add_cog(Reindex(self.service, admins))
        await bot.add_cog(
            Chat(bot, self.service, self.answer_store, self.admission, self.settings.ask_channels)
        )
        if self.refresh is not None:
            self.refresh.start()
        if self.settings.sync_commands and runs_shard_0:
            self.sync_task = asyncio.create_task(self.sync_commands(), name="pitwall-command-sync")

    async def sync_commands(self) -> bool:
        """Register the slash commands if they changed since the last sync; retried, never fatal."""
        bot: commands.Bot = self  # type: ignore[assignment]
        guild = discord.Object(self.settings.sync_guild) if self.settings.sync_guild else None
        if guild is not None:
            bot.tree.copy_global_to(guild=guild)
        where = f"server {guild.id}" if guild else "global"
        key = f"commands:{bot.application_id}:{where}"
        payload = [command.to_dict(bot.tree) for command in bot.tree.get_commands(guild=guild)]
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        if await asyncio.to_thread(self.answer_store.meta, key) == digest:
            log.info("application commands unchanged since the last sync (%s): not syncing", where)
            return True
        for attempt, wait in enumerate([*self.sync_retry_seconds, None], 1):
            try:
                synced = await bot.tree.sync(guild=guild)
            except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
                if wait is None:
                    log.error(
                        "command sync failed %d times; giving up until the next start: %s", attempt, exc
                    )
                    return False
                log.warning("command sync failed (attempt %d: %s); retrying in %.0f s", attempt, exc, wait)
                await asyncio.sleep(wait)
                continue
            await asyncio.to_thread(self.answer_store.set_meta, key, digest)
            log.info("synced %d application commands (%s)", len(synced), where)
            return True
        return False

    async def stop_gracefully(self, reason: str) -> None:
        """Take no new questions, finish (or answer) the ones in flight, then close the gateway."""
        bot: commands.Bot = self  # type: ignore[assignment]
        if not self.admission.in_flight.accepting:
            return
        log.info(
            "%s: finishing %d answers in flight, then disconnecting", reason, len(self.admission.in_flight)
        )
        finished, abandoned = await self.admission.in_flight.drain(self.settings.shutdown_grace_seconds)
        log.info("stopped: %d answers finished, %d abandoned with an apology", finished, abandoned)
        await bot.close()

    async def close(self) -> None:
        if self.sync_task is not None and not self.sync_task.done():
            self.sync_task.cancel()
        if self.refresh is not None:
            self.refresh.stop()
        await super().close()  # type: ignore[misc]

    async def on_connect(self) -> None:
        """A new gateway session (READY): the servers it lists arrive next."""
        self._said_ready = False
        await self._ready_if_able()

    async def on_guild_available(self, guild: discord.Guild) -> None:
        await self._ready_if_able()

    async def on_ready(self) -> None:
        """discord.py's ready: every shard connected, then guild_ready_timeout (2 s) without a new server."""
        await self._ready_if_able(waited=True)

    async def _ready_if_able(self, *, waited: bool = False) -> None:
        """Say "ready" once per session as soon as the bot can answer: the model and index are loaded and
        every server of the session has arrived (the unsharded bot need not sit out discord.py's 2 s after
        the last one; the sharded bot waits for discord.py's ready, which covers all its shards)."""
        bot: commands.Bot = self  # type: ignore[assignment]
        waiting = isinstance(bot, commands.AutoShardedBot) or any(g.unavailable for g in bot.guilds)
        if waiting and not waited:
            return
        if self.loading is not None:
            await asyncio.wait({self.loading})
            if self.loading.cancelled() or self.loading.exception() is not None:
                return  # serve() reports the failure and closes the bot
        if not self._said_ready:
            self._said_ready = True
            log.info("ready as %s in %d server(s)", bot.user, len(bot.guilds))

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: questions in chat are answered by the Chat cog's listener."""


class PitwallBot(_Pitwall, commands.Bot):
    def __init__(
        self,
        *,
        settings: DiscordSettings,
        service: AnswerService,
        answer_store: AnswerStore,
        admission: Admission,
        sync_retry_seconds: Sequence[float] = SYNC_RETRY_SECONDS,
        feeds: FeedService | None = None,
        feed_refresh_seconds: float = 0.0,
        **options: Any,
    ) -> None:
        commands.Bot.__init__(self, **_options(options))
        self._setup(
            settings, service, answer_store, admission, sync_retry_seconds, feeds, feed_refresh_seconds
        )


class ShardedPitwallBot(_Pitwall, commands.AutoShardedBot):
    """One process serving `shard_ids` of `shard_count` shards; other processes serve the rest."""

    def __init__(
        self,
        *,
        settings: DiscordSettings,
        service: AnswerService,
        answer_store: AnswerStore,
        admission: Admission,
        sync_retry_seconds: Sequence[float] = SYNC_RETRY_SECONDS,
        feeds: FeedService | None = None,
        feed_refresh_seconds: float = 0.0,
        **options: Any,
    ) -> None:
        commands.AutoShardedBot.__init__(
            self,
            shard_count=settings.shard_count,
            shard_ids=settings.shard_ids or None,
            **_options(options),
        )
        self._setup(
            settings, service, answer_store, admission, sync_retry_seconds, feeds, feed_refresh_seconds
        )


def _options(options: dict[str, Any]) -> dict[str, Any]:
    return {
        "command_prefix": commands.when_mentioned,  # no prefix commands: chat is handled by the Chat cog
        "intents": intents(),
        "allowed_mentions": discord.AllowedMentions.none(),
        "help_command": None,
        **options,
    }
