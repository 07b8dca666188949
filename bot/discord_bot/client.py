"""The Discord client: a commands.Bot given its dependencies, registering everything in setup_hook."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.ext import commands

from bot.discord_bot.chat import Chat
from bot.discord_bot.errors import handle_interaction_error
from bot.discord_bot.questions import Questions
from bot.discord_bot.reindex import Reindex
from bot.discord_bot.service import AnswerService
from bot.discord_bot.settings import DiscordSettings
from bot.discord_bot.store import AnswerStore
from bot.discord_bot.throttle import Throttle
from bot.discord_bot.ui import FeedbackButton

log = logging.getLogger(__name__)


def intents() -> discord.Intents:
    wanted = discord.Intents.default()
    wanted.message_content = True  # privileged: read questions in ask-channels and follow-ups
    wanted.members = False
    wanted.presences = False
    return wanted


class PitwallBot(commands.Bot):
    def __init__(
        self,
        *,
        settings: DiscordSettings,
        service: AnswerService,
        answer_store: AnswerStore,
        throttle: Throttle,
        **options: Any,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,  # no prefix commands: chat is handled by the Chat cog
            intents=intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            **options,
        )
        self.settings = settings
        self.service = service
        self.answer_store = answer_store
        self.throttle = throttle

    async def setup_hook(self) -> None:
        self.add_dynamic_items(FeedbackButton)
        self.tree.on_error = handle_interaction_error  # type: ignore[method-assign]
        await self.add_cog(Questions(self.service, self.answer_store, self.throttle))
        await self.add_cog(Reindex(self.service, self.settings.admin_roles))
        await self.add_cog(
            Chat(self, self.service, self.answer_store, self.throttle, self.settings.ask_channels)
        )
        if self.settings.sync_commands:
            synced = await self.tree.sync()
            log.info("synced %d application commands", len(synced))

    async def on_ready(self) -> None:
        log.info("connected as %s to %d server(s)", self.user, len(self.guilds))

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: questions in chat are answered by the Chat cog's listener."""
