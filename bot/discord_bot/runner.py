"""Entry points for `pitwall bot`: build the client from settings and run it until it stops."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
import yarl

from bot.discord_bot.client import PitwallBot
from bot.discord_bot.service import AnswerService
from bot.discord_bot.settings import DiscordSettings
from bot.discord_bot.store import AnswerStore
from bot.discord_bot.throttle import Throttle

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_NO_TOKEN = 2


def apply_api_base(api_base: str | None) -> None:
    """Point discord.py's REST and gateway at `api_base` (a local Discord for tests); None leaves Discord."""
    if not api_base:
        return
    base = api_base.rstrip("/")
    discord.http.Route.BASE = f"{base}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(base.replace("http", "ws", 1) + "/gateway/")


def build_bot(settings: DiscordSettings, service: AnswerService, **options: Any) -> PitwallBot:
    """The client with its dependencies; `options` go to discord.py (e.g. guild_ready_timeout)."""
    return PitwallBot(
        settings=settings,
        service=service,
        answer_store=AnswerStore(settings.feedback_db),
        throttle=Throttle(settings.rate_limit_per_minute, settings.max_concurrent_per_server),
        **options,
    )


async def serve(bot: PitwallBot, token: str) -> int:
    """Log in and run until the bot is closed; the exit status says how it ended."""
    try:
        async with bot:
            await bot.start(token)
    except discord.LoginFailure:
        log.error(
            "Discord rejected DISCORD_TOKEN (401 Unauthorized). Copy the bot token again from the "
            "Developer Portal (Bot > Reset Token); see docs/discord.md."
        )
        return EXIT_REJECTED
    except discord.PrivilegedIntentsRequired:
        log.error(
            "Discord refused the Message Content intent. Enable it in the Developer Portal "
            "(Bot > Privileged Gateway Intents); see docs/discord.md."
        )
        return EXIT_REJECTED
    except discord.ConnectionClosed as exc:
        if exc.code == 4004:
            log.error("Discord rejected DISCORD_TOKEN at the gateway (4004 authentication failed).")
            return EXIT_REJECTED
        raise
    return EXIT_OK


class RedactToken(logging.Filter):
    """Replaces the token wherever it would appear in a log line."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "[DISCORD_TOKEN]"), None
        return True


def run_bot(settings: DiscordSettings, service: AnswerService) -> int:
    """Run the bot until it stops; returns the process exit status (0 ok, 1 token rejected, 2 no token)."""
    token = settings.token.get_secret_value().strip() if settings.token else ""
    if not token:
        log.error(
            "DISCORD_TOKEN is not set. Put the bot token from the Discord Developer Portal in the "
            "environment or in .env; see docs/discord.md."
        )
        return EXIT_NO_TOKEN
    redact = RedactToken(token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    apply_api_base(settings.api_base)
    bot = build_bot(settings, service)
    try:
        return asyncio.run(serve(bot, token))
    except KeyboardInterrupt:
        return EXIT_OK
