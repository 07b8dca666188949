"""A missing or rejected token is a clear error and exit status 1; the token never reaches the log."""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
from pathlib import Path

import pytest

from bot import cli
from bot.discord_bot import DiscordSettings
from bot.discord_bot.runner import RedactToken, build_bot, prepare, serve
from bot.exit_codes import ExitCode
from tests.discord_harness import LocalDiscord
from tests.discord_harness.stand_in import StandInService

pytestmark = pytest.mark.e2e


def test_missing_token_is_a_clear_error_before_any_indexing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setattr(
        cli, "_service", lambda settings: pytest.fail("the index was touched before the token")
    )
    assert cli.main(["bot", "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "ix")]) == 1
    assert "DISCORD_TOKEN is not set" in capsys.readouterr().err


def test_a_missing_corpus_folder_serves_the_existing_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.service import AnswerService
    from tests.conftest import write_article
    from tests.fakes import FakeEmbedder

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_TOKEN", "a-token")
    write_article(tmp_path / "corpus", "a", "Alpine", "Alpine plant keinen Einstieg in die IMSA.")
    monkeypatch.setattr(cli, "_service", lambda settings: AnswerService(settings, lambda _: FakeEmbedder()))
    served: list[AnswerService] = []
    refreshes: list[float] = []

    def run_bot(settings, service, feeds, feed_refresh_minutes):  # noqa: ANN001, ANN202
        assert feeds.answers is service  # the feeds build through the bot's own service: it swaps the index
        refreshes.append(feed_refresh_minutes)
        served.append(service)
        return 0

    monkeypatch.setattr("bot.discord_bot.run_bot", run_bot)
    args = ["bot", "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "ix")]
    assert cli.main(args) == 0 and len(served) == 1  # indexed, then served
    assert refreshes == [30]  # PITWALL_FEED_REFRESH_MINUTES' default
    shutil.rmtree(tmp_path / "corpus")  # e.g. a second machine that only has the index
    assert cli.main(args) == 0 and len(served) == 2
    assert "answering from the existing index" in capsys.readouterr().err
    args[4] = str(tmp_path / "no-index")
    assert cli.main(args) == 1 and len(served) == 2  # no corpus and no index: a clear error


def test_bad_arguments_are_status_2_not_a_token_problem(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["bot", "--no-such-option"])
    assert exit_.value.code == ExitCode.USAGE == 2


def test_rejected_token_is_a_clear_error_and_is_not_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def attempt() -> int:
        local = LocalDiscord("the-real-token")
        base = await local.start()
        try:
            settings = DiscordSettings(token="wrong-token", api_base=base, feedback_db=tmp_path / "f.sqlite3")
            token = prepare(settings)  # the path `pitwall bot` takes: the token is hidden from here on
            logging.getLogger("discord.http").warning("a library line that carries %s", token)
            return await serve(build_bot(settings, StandInService([])), token)
        finally:
            await local.stop()

    with caplog.at_level(logging.DEBUG):
        assert asyncio.run(attempt()) == ExitCode.ERROR
    assert "Discord rejected DISCORD_TOKEN" in caplog.text
    assert "a library line that carries [DISCORD_TOKEN]" in caplog.text
    assert "wrong-token" not in caplog.text


def record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("discord.gateway", logging.ERROR, __file__, 1, message, args, exc_info)


def test_redact_token_hides_it_in_the_message_its_arguments_and_tracebacks() -> None:
    redact = RedactToken("MTIz.secret")
    formatter = logging.Formatter()
    in_args = record("identify with %s failed", "MTIz.secret")
    in_message = record("token=MTIz.secret")
    try:
        raise RuntimeError("bad header Bot MTIz.secret")
    except RuntimeError as exc:
        in_traceback = record("request failed", exc=exc)
    clean = record("nothing secret %d", 5)
    for rec in (in_args, in_message, in_traceback, clean):
        assert redact.filter(rec)  # never drops a line
    assert formatter.format(in_args) == "identify with [DISCORD_TOKEN] failed"
    assert formatter.format(in_message) == "token=[DISCORD_TOKEN]"
    text = formatter.format(in_traceback)
    assert "MTIz.secret" not in text and "bad header Bot [DISCORD_TOKEN]" in text
    assert formatter.format(clean) == "nothing secret 5"


def test_prepare_installs_the_redaction_on_every_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    handler = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        prepare(DiscordSettings(token="MTIz.other-secret"))
        assert any(isinstance(f, RedactToken) and f.token == "MTIz.other-secret" for f in handler.filters)
    finally:
        root.removeHandler(handler)
