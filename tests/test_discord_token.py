"""A missing or rejected token is a clear error and a non-zero exit; the token never reaches the log."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.discord_bot import DiscordSettings, run_bot
from bot.discord_bot.runner import EXIT_NO_TOKEN, EXIT_REJECTED, apply_api_base, build_bot, serve
from tests.discord_harness import LocalDiscord
from tests.discord_harness.stand_in import StandInService

pytestmark = pytest.mark.e2e


def test_missing_token_is_a_clear_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = DiscordSettings(token=None, feedback_db=tmp_path / "f.sqlite3")
    with caplog.at_level(logging.ERROR):
        assert run_bot(settings, StandInService([])) == EXIT_NO_TOKEN
    assert "DISCORD_TOKEN is not set" in caplog.text


def test_rejected_token_is_a_clear_error_and_is_not_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def attempt() -> int:
        local = LocalDiscord("the-real-token")
        base = await local.start()
        try:
            settings = DiscordSettings(token="wrong-token", api_base=base, feedback_db=tmp_path / "f.sqlite3")
            apply_api_base(settings.api_base)
            return await serve(build_bot(settings, StandInService([])), "wrong-token")
        finally:
            await local.stop()

    with caplog.at_level(logging.DEBUG):
        assert asyncio.run(attempt()) == EXIT_REJECTED
    assert "Discord rejected DISCORD_TOKEN" in caplog.text
    assert "wrong-token" not in caplog.text
