"""One bot under test: the local Discord and `pitwall bot`'s own client, on a loop in a background thread."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from bot.discord_bot.runner import Bot, build_bot, prepare, serve
from bot.discord_bot.service import AnswerService
from bot.discord_bot.settings import DiscordSettings
from tests.discord_harness.loop import BackgroundLoop
from tests.discord_harness.server import LocalDiscord

T = TypeVar("T")
TOKEN = "MTIz.test-token.do-not-log"


class LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in ("bot", "discord"):  # the bot's and discord.py's lines
            self.records.append(record)

    def text(self) -> str:
        formatter = logging.Formatter()
        return "\n".join(formatter.format(r) for r in self.records)

    def take_errors(self) -> list[logging.LogRecord]:
        errors = [r for r in self.records if r.levelno >= logging.ERROR]
        self.records = [r for r in self.records if r.levelno < logging.ERROR]
        return errors


class BotSession:
    """Start with `start()`, drive with `run(coro)`, end with `stop()` (which fails on unhandled requests)."""

    def __init__(
        self,
        service: AnswerService,
        data_dir: Path,
        token: str = TOKEN,
        *,
        alongside: BotSession | None = None,
    ) -> None:
        """A bot with its own local Discord, or (`alongside`) a second bot process on another's."""
        self.service = service
        self.data_dir = data_dir
        self.token = token
        self._owns_discord = alongside is None
        self.loop = alongside.loop if alongside else BackgroundLoop()
        self.discord = alongside.discord if alongside else LocalDiscord(token)
        self.log = LogCapture()
        self.bot: Bot | None = None
        self._serving: Future[int] | None = None

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        return self.loop.run(coro, timeout)

    def synced(self) -> bool | None:
        """Wait for the bot's command sync: True synced or unchanged, False failed, None not this process."""
        task = self.bot.sync_task if self.bot is not None else None
        if task is None:
            return None

        async def result() -> bool:
            return await task

        return self.run(result())

    def settings(self, **overrides: Any) -> DiscordSettings:
        values: dict[str, Any] = {
            "token": self.token,
            "api_base": self.discord.base_url,
            "feedback_db": self.data_dir / "feedback.sqlite3",
        }  # every limit at its default unless a test says otherwise
        return DiscordSettings(**(values | overrides))

    def start(self, *, bot_options: dict[str, Any] | None = None, **overrides: Any) -> None:
        """Start the bot the way `pitwall bot` does (`prepare`, then `serve`) and wait until it is ready."""
        logging.getLogger().addHandler(self.log)  # beside the handlers `prepare` hides the token in
        logging.getLogger("bot").setLevel(logging.INFO)
        if self._owns_discord:
            self.run(self.discord.start())
        settings = self.settings(**overrides)
        token = prepare(settings)
        options = {"guild_ready_timeout": 0.05} | (bot_options or {})
        self.bot = build_bot(settings, self.service, **options)
        self._serving = asyncio.run_coroutine_threadsafe(serve(self.bot, token), self.loop.loop)
        deadline = time.monotonic() + 60
        while not self.bot.is_ready():
            if self._serving.done():
                raise AssertionError(f"the bot stopped before it was ready: {self._serving.result()}")
            if time.monotonic() > deadline:
                raise AssertionError("the bot did not get ready in 60 s")
            time.sleep(0.02)
        # a canary: a discord.py log line carrying the token, which the redaction must hide (see stop)
        logging.getLogger("discord.client").warning("canary: logged in with %s", self.token)

    def stop(self) -> int:
        """Close the bot and return its exit status; fail on requests the harness does not know."""
        try:
            if self.bot is not None and self._serving is not None:
                self.run(self.bot.stop_gracefully("test stop"), 30)
                status = self._serving.result(20)
            else:
                status = -1
            if self._owns_discord:
                self.run(self.discord.stop(), 20)
        finally:
            if self._owns_discord:
                self.loop.close()
            logging.getLogger().removeHandler(self.log)
        assert not self.discord.unhandled, (
            f"requests the local Discord does not handle: {self.discord.unhandled}"
        )
        text = self.log.text()
        assert self.token not in text, "the token appeared in the log"
        assert "canary: logged in with [DISCORD_TOKEN]" in text or status == -1
        return status
