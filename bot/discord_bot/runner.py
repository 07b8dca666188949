"""Entry points for `pitwall bot`: build the client from settings and run it until it stops."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Any

import discord
import yarl

from bot.discord_bot.client import PitwallBot, ShardedPitwallBot
from bot.discord_bot.lifecycle import Admission, InFlight
from bot.discord_bot.service import AnswerService, FeedService
from bot.discord_bot.settings import DiscordSettings
from bot.discord_bot.store import AnswerStore
from bot.discord_bot.throttle import RateLimit, ServerQueues
from bot.exit_codes import ExitCode

log = logging.getLogger(__name__)

Bot = PitwallBot | ShardedPitwallBot


def apply_api_base(api_base: str | None) -> None:
    """Point discord.py's REST and gateway at `api_base` (a local Discord for tests); None leaves Discord."""
    if not api_base:
        return
    base = api_base.rstrip("/")
    discord.http.Route.BASE = f"{base}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(base.replace("http", "ws", 1) + "/gateway/")


def build_bot(
    settings: DiscordSettings,
    service: AnswerService,
    feeds: FeedService | None = None,
    feed_refresh_seconds: float = 0.0,
    **options: Any,
) -> Bot:
    """The client with its dependencies; sharded when PITWALL_SHARD_COUNT is set. With `feeds` it has
    /feeds and /add, and refreshes the feeds every `feed_refresh_seconds` (0: never) if it runs shard 0.
    `options` go to discord.py (e.g. guild_ready_timeout) or to the bot (sync_retry_seconds)."""
    admission = Admission(
        RateLimit(settings.rate_limit_per_minute),
        ServerQueues(settings.max_concurrent_per_server, settings.queue_per_server),
        InFlight(),
    )
    kind = ShardedPitwallBot if settings.shard_count else PitwallBot
    return kind(
        settings=settings,
        service=service,
        answer_store=AnswerStore(settings.feedback_db),
        admission=admission,
        feeds=feeds,
        feed_refresh_seconds=feed_refresh_seconds,
        **options,
    )


def prepare(settings: DiscordSettings) -> str:
    """Everything before connecting that needs no network: the token (checked, and hidden from every log
    line from now on) and the API base. Returns the token."""
    token = settings.require_token()
    install_token_redaction(token)
    apply_api_base(settings.api_base)
    return token


async def serve(bot: Bot, token: str, *, handle_signals: bool = False) -> int:
    """Log in, then load the model and index while connecting, and run until the bot is closed (by a stop
    signal with `handle_signals`); the exit status says how it ended."""
    try:
        async with bot:
            await bot.login(token)  # a wrong token fails here, before the model is loaded
            if handle_signals:
                _stop_on_signals(bot)
            await _connect_while_loading(bot)
    except discord.LoginFailure:
        log.error(
            "Discord rejected DISCORD_TOKEN (401 Unauthorized). Copy the bot token again from the "
            "Developer Portal (Bot > Reset Token); see docs/discord.md."
        )
        return ExitCode.ERROR
    except discord.PrivilegedIntentsRequired:
        log.error(
            "Discord refused the Message Content intent. Enable it in the Developer Portal "
            "(Bot > Privileged Gateway Intents); see docs/discord.md."
        )
        return ExitCode.ERROR
    except discord.ConnectionClosed as exc:
        if exc.code == 4004:
            log.error("Discord rejected DISCORD_TOKEN at the gateway (4004 authentication failed).")
            return ExitCode.ERROR
        if exc.code == 4011:
            log.error(
                "Discord requires sharding for this bot (close code 4011: it is in too many servers for "
                "one connection). Set PITWALL_SHARD_COUNT (e.g. 2), and to split the shards over "
                "several processes PITWALL_SHARD_IDS; see docs/discord.md."
            )
            return ExitCode.ERROR
        raise
    return ExitCode.OK


async def _connect_while_loading(bot: Bot) -> None:
    """Connect to the gateway while a thread loads the model and the index: the bot says it is ready only
    once both are done (`on_ready` and friends wait for `bot.loading`). A failed load closes the bot."""

    def load() -> None:
        started = time.perf_counter()
        bot.service.load()
        log.info("model and index loaded in %.1f s", time.perf_counter() - started)

    bot.loading = asyncio.create_task(asyncio.to_thread(load), name="pitwall-load")
    connecting = asyncio.create_task(bot.connect(), name="pitwall-connect")
    try:
        await bot.loading
    except BaseException:
        await bot.close()
        await asyncio.gather(connecting, return_exceptions=True)
        raise
    await connecting


def _stop_on_signals(bot: Bot) -> None:
    """SIGTERM and SIGINT start a graceful stop (a second signal changes nothing: the stop is running)."""
    loop = asyncio.get_running_loop()
    stopping: set[asyncio.Task[None]] = set()  # a reference keeps the task from being garbage-collected

    def stop(name: str) -> None:
        task = loop.create_task(bot.stop_gracefully(f"{name} received"))
        stopping.add(task)
        task.add_done_callback(stopping.discard)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop, sig.name)


class RedactToken(logging.Filter):
    """Replaces the token wherever it would appear in a log line, its arguments or its traceback."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "[DISCORD_TOKEN]"), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.token in record.exc_text:
            record.exc_text = record.exc_text.replace(self.token, "[DISCORD_TOKEN]")
        return True


def install_token_redaction(token: str) -> None:
    """Hide `token` in every handler of the root logger (every log line of the process passes one)."""
    redact = RedactToken(token)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactToken) and f.token == token for f in handler.filters):
            handler.addFilter(redact)


def run_bot(
    settings: DiscordSettings,
    service: AnswerService,
    feeds: FeedService | None = None,
    feed_refresh_minutes: float = 0.0,
) -> int:
    """Run the bot until it stops (SIGTERM or SIGINT: gracefully); returns the process exit status."""
    token = prepare(settings)
    bot = build_bot(settings, service, feeds, feed_refresh_minutes * 60)
    return asyncio.run(serve(bot, token, handle_signals=True))
