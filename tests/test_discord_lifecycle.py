"""Starting and stopping the bot against the local Discord: command sync (only when changed, retried, never
fatal), a graceful stop that finishes or answers what is in flight, sharding, and the per-server queue."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.discord_bot.lifecycle import ABANDONED, RESTARTING
from bot.discord_bot.runner import build_bot, prepare, serve
from bot.exit_codes import ExitCode
from bot.feeds import FeedService
from bot.settings import Settings
from index.documents import Article
from tests.discord_harness import LocalDiscord, Sent
from tests.discord_harness import payloads as p
from tests.discord_harness.session import BotSession
from tests.discord_harness.stand_in import StandInService

pytestmark = pytest.mark.e2e

ARTICLES = [
    Article(
        id="a1",
        title="Alpine hat keinen Plan für die IMSA",
        text="Alpine bleibt vorerst in der WEC und plant keinen IMSA-Einstieg.",
        source="Motorsport-Total",
        url="https://example.com/alpine",
        published=dt.date(2024, 5, 1),
    )
]
COMMANDS = ("ask", "search", "source", "reindex", "status")


def registered_earlier(d: LocalDiscord) -> None:
    """The commands as an earlier start registered them on Discord."""
    d.commands = [{"name": name, "id": p.snowflake(), "type": 1} for name in COMMANDS]


def command_puts(d: LocalDiscord) -> list[str]:
    return [r["path"] for r in d.requests if r["method"] == "PUT" and r["path"].endswith("/commands")]


def test_commands_are_synced_only_when_they_changed(tmp_path: Path) -> None:
    session = BotSession(StandInService(list(ARTICLES)), tmp_path)
    session.start()
    try:
        d, bot = session.discord, session.bot
        assert bot is not None and session.synced()
        assert len(command_puts(d)) == 1 and {c["name"] for c in d.commands} == set(COMMANDS)
        assert session.run(bot.sync_commands())  # the same tree again: nothing sent
        assert len(command_puts(d)) == 1
        assert "unchanged since the last sync" in session.log.text()
    finally:
        assert session.stop() == ExitCode.OK


def test_guild_sync_for_development(tmp_path: Path) -> None:
    session = BotSession(StandInService(list(ARTICLES)), tmp_path)
    guild_id = session.discord.guild.id
    session.start(sync_guild=int(guild_id))
    try:
        assert session.synced()
        assert command_puts(session.discord) == [
            f"/applications/{session.discord.app_id}/guilds/{guild_id}/commands"
        ]
    finally:
        assert session.stop() == ExitCode.OK


def test_a_failed_sync_is_retried_logged_and_never_stops_the_bot(tmp_path: Path) -> None:
    session = BotSession(StandInService(list(ARTICLES)), tmp_path)
    d = session.discord
    registered_earlier(d)
    d.sync_failures = [503, 503, 503]  # every attempt fails
    alice = d.add_member("alice")
    session.start(bot_options={"sync_retry_seconds": (0.05, 0.05)})
    try:
        assert session.synced() is False
        answer = session.run(d.wait_final(session.run(d.slash(alice, "ask", question="Alpine IMSA?"))))
        assert "Alpine bleibt vorerst" in answer.embeds[0]["description"]
        warnings = [r.getMessage() for r in session.log.records if "command sync failed" in r.getMessage()]
        assert len(warnings) == 3 and "giving up until the next start" in warnings[-1]
        assert len(session.log.take_errors()) == 1  # the give-up, logged once, without a traceback
    finally:
        assert session.stop() == ExitCode.OK


def test_a_stop_finishes_answers_in_flight_and_answers_the_rest(tmp_path: Path) -> None:
    service = StandInService(list(ARTICLES))
    session = BotSession(service, tmp_path)
    d = session.discord
    fans = [d.add_member(f"fan{i}") for i in range(3)]
    session.start(shutdown_grace_seconds=0.5)
    assert session.synced()
    service.ask_gate = threading.Event()  # answers hang until the gate opens
    try:
        slow = session.run(d.slash(fans[0], "ask", question="Alpine IMSA?"))
        session.run(d.wait_for(lambda s: s.token == slow.token and s.kind == "callback"))  # deferred
        stopping = asyncio.run_coroutine_threadsafe(
            session.bot.stop_gracefully("test stop"),  # type: ignore[union-attr]
            session.loop.loop,
        )
        late = session.run(d.slash(fans[1], "ask", question="Alpine?"))  # arrives while stopping
        refused = session.run(d.wait_final(late))
        assert refused.ephemeral and refused.content == RESTARTING
        apology = session.run(d.wait_final(slow, timeout=10))
        assert apology.ephemeral and apology.content == ABANDONED  # not left "thinking…"
        stopping.result(10)
    finally:
        service.ask_gate.set()
    assert session.stop() == ExitCode.OK
    assert "1 abandoned with an apology" in session.log.text()


BUSY = "more are waiting. Please ask again in a minute."


@pytest.fixture
def one_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BotSession]:
    """A bot that answers one question per server at a time with one more waiting, three members, and
    answers that hang until the test opens `service.ask_gate`."""
    monkeypatch.setenv("PITWALL_DISCORD_MAX_CONCURRENT", "1")
    monkeypatch.setenv("PITWALL_DISCORD_QUEUE", "1")
    service = StandInService(list(ARTICLES))
    session = BotSession(service, tmp_path)
    session.fans = [session.discord.add_member(f"fan{i}") for i in range(3)]  # type: ignore[attr-defined]
    session.start()
    service.ask_gate = threading.Event()
    try:
        yield session
    finally:
        service.ask_gate.set()
    assert session.stop() == ExitCode.OK


def asked(service: StandInService) -> list[str]:
    return [argument for method, argument in service.calls if method == "ask"]


def busy_notice(session: BotSession, is_notice: Callable[[Sent], bool]) -> Sent:
    try:
        return session.run(session.discord.wait_for(is_notice, 15))
    except TimeoutError:
        asked_now = asked(session.service)  # type: ignore[arg-type]
        raise AssertionError(f"no busy notice in 15 s with the queue full; asked: {asked_now}") from None


def test_ask_waits_in_the_servers_queue_and_a_full_queue_gets_the_busy_notice(
    one_at_a_time: BotSession,
) -> None:
    session, d, service = one_at_a_time, one_at_a_time.discord, one_at_a_time.service
    fans = session.fans  # type: ignore[attr-defined]
    first = session.run(d.slash(fans[0], "ask", question="Alpine IMSA?"))
    session.run(_until(lambda: asked(service) == ["Alpine IMSA?"], "asked"))  # it holds the one slot
    questions = {}  # interaction token -> (interaction, question)
    for n, fan in enumerate(fans[1:]):
        ix = session.run(d.slash(fan, "ask", question=f"Alpine WEC {n}?"))
        questions[ix.token] = (ix, f"Alpine WEC {n}?")
    busy = busy_notice(session, lambda s: s.token in questions and BUSY in s.content)
    assert busy.ephemeral and "answering 1 questions" in busy.content
    assert asked(service) == ["Alpine IMSA?"]  # the other one waits in line, not answered alongside
    waiting, question = next(q for token, q in questions.items() if token != busy.token)
    service.ask_gate.set()  # type: ignore[union-attr]
    for ix in (first, waiting):
        assert "Alpine bleibt vorerst" in session.run(d.wait_final(ix)).embeds[0]["description"]
    assert asked(service) == ["Alpine IMSA?", question]


def test_chat_waits_in_the_servers_queue_and_a_full_queue_gets_the_busy_notice(
    one_at_a_time: BotSession,
) -> None:
    session, d, service = one_at_a_time, one_at_a_time.discord, one_at_a_time.service
    fans = session.fans  # type: ignore[attr-defined]
    first = session.run(d.send_message(fans[0], "Alpine IMSA?", mention_bot=True))
    session.run(_until(lambda: asked(service) == ["Alpine IMSA?"], "asked"))  # it holds the one slot
    questions = {}  # message id -> question
    for n, fan in enumerate(fans[1:]):
        message = session.run(d.send_message(fan, f"Alpine WEC {n}?", mention_bot=True))
        questions[message["id"]] = f"Alpine WEC {n}?"

    def replied_to(s: Sent) -> str:
        return str((s.body.get("message_reference") or {}).get("message_id"))

    busy = busy_notice(session, lambda s: replied_to(s) in questions and BUSY in s.content)
    assert not busy.embeds and "answering 1 questions" in busy.content
    assert asked(service) == ["Alpine IMSA?"]  # the other one waits in line, not answered alongside
    waiting = next(message_id for message_id in questions if message_id != replied_to(busy))
    service.ask_gate.set()  # type: ignore[union-attr]
    for message_id in (first["id"], waiting):
        assert "Alpine bleibt vorerst" in session.run(d.wait_reply(message_id)).text()
    assert asked(service) == ["Alpine IMSA?", questions[waiting]]


def test_two_shards_in_two_processes_each_answer_their_servers(tmp_path: Path) -> None:
    first = BotSession(StandInService(list(ARTICLES)), tmp_path / "shard0")
    d = first.discord
    second = BotSession(StandInService(list(ARTICLES)), tmp_path / "shard1", alongside=first)
    d.guilds.clear()
    guilds = [d.add_guild(shard=0, shard_count=2), d.add_guild(shard=1, shard_count=2)]
    d.guild = guilds[0]
    fans = [d.add_member(f"fan{i}", guild=g) for i, g in enumerate(guilds)]
    feeds = [  # each process with feeds and a refresh every 0.1 s: only shard 0's runs
        {
            "feeds": FeedService(Settings(feeds_db=s.data_dir / "feeds.sqlite3"), s.service),
            "feed_refresh_seconds": 0.1,
        }  # type: ignore[arg-type]
        for s in (first, second)
    ]
    first.start(shard_count=2, shard_ids=[0], bot_options=feeds[0])
    second.start(shard_count=2, shard_ids=[1], bot_options=feeds[1])
    try:
        assert first.synced()
        assert second.synced() is None  # shard 0 syncs for every shard
        answers = [d.wait_final(first.run(d.slash(fan, "ask", question="Alpine IMSA?"))) for fan in fans]
        for answer in (first.run(a) for a in answers):
            assert "Alpine bleibt vorerst" in answer.embeds[0]["description"]
        assert [c[0] for c in first.service.calls].count("ask") == 1  # type: ignore[attr-defined]
        assert [c[0] for c in second.service.calls].count("ask") == 1  # type: ignore[attr-defined]
        assert first.bot.shard_ids == [0] and second.bot.shard_ids == [1]  # type: ignore[union-attr]
        deadline = time.monotonic() + 30
        while first.bot.refresh.rounds < 2 and time.monotonic() < deadline:  # type: ignore[union-attr]
            time.sleep(0.02)
        assert first.bot.refresh.rounds >= 2  # type: ignore[union-attr]
        assert second.bot.refresh.rounds == 0 and second.bot.refresh.state().kind == "elsewhere"  # type: ignore[union-attr]
        assert ("reindex", "") in first.service.calls and ("reindex", "") not in second.service.calls  # type: ignore[attr-defined]
    finally:
        assert second.stop() == ExitCode.OK
        assert first.stop() == ExitCode.OK


def test_sharding_required_is_a_clear_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def attempt() -> int:
        local = LocalDiscord("the-token")
        local.require_sharding = True
        base = await local.start()
        try:
            settings = BotSession(StandInService([]), tmp_path).settings(token="the-token", api_base=base)
            bot = build_bot(settings, StandInService([]), sync_retry_seconds=())
            return await serve(bot, prepare(settings))
        finally:
            await local.stop()

    with caplog.at_level(logging.ERROR):
        assert asyncio.run(attempt()) == ExitCode.ERROR
    assert "requires sharding" in caplog.text and "PITWALL_SHARD_COUNT" in caplog.text


class _SlowLoading(StandInService):
    """A service whose model and index load until the test releases them (or fail to, with `error`)."""

    def __init__(self, error: Exception | None = None) -> None:
        super().__init__(list(ARTICLES))
        self.release = threading.Event()
        self.error = error

    def load(self) -> None:
        super().load()
        assert self.release.wait(30)
        if self.error is not None:
            raise self.error


async def _until(condition, what: str) -> None:  # noqa: ANN001
    for _ in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not {what} in 30 s")


def test_ready_once_loaded_and_the_servers_arrived_without_sitting_out_discords_wait(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The model and index load while the bot connects; it says ready when both are done and every server of
    READY has arrived, not guild_ready_timeout after the last one (60 s here; discord.py's default is 2 s)."""
    service = _SlowLoading()

    async def attempt() -> int:
        local = LocalDiscord("the-token")
        local.add_guild()
        base = await local.start()
        try:
            settings = BotSession(service, tmp_path).settings(token="the-token", api_base=base)
            bot = build_bot(settings, service, sync_retry_seconds=(), guild_ready_timeout=60)
            serving = asyncio.create_task(serve(bot, prepare(settings)))
            await _until(lambda: bot.guilds and not any(g.unavailable for g in bot.guilds), "connected")
            assert service.calls == [("load", "")]  # loading began before the gateway was up
            await asyncio.sleep(0.2)
            assert "ready as" not in caplog.text  # connected, servers here, but the model still loads
            service.release.set()
            await _until(lambda: "ready as" in caplog.text, "ready")
            assert not bot.is_ready()  # discord.py still waits for more servers
            assert caplog.text.index("model and index loaded") < caplog.text.index("ready as")
            await bot.stop_gracefully("test stop")
            return await asyncio.wait_for(serving, 30)
        finally:
            await local.stop()

    with caplog.at_level(logging.INFO, logger="bot"):
        assert asyncio.run(attempt()) == ExitCode.OK
    assert caplog.text.count("ready as") == 1


def test_a_failed_load_closes_the_connection_and_is_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service = _SlowLoading(error=RuntimeError("the index is damaged"))

    async def attempt() -> None:
        local = LocalDiscord("the-token")
        local.add_guild()
        base = await local.start()
        try:
            settings = BotSession(service, tmp_path).settings(token="the-token", api_base=base)
            bot = build_bot(settings, service, sync_retry_seconds=(), guild_ready_timeout=0.05)
            serving = asyncio.create_task(serve(bot, prepare(settings)))
            await _until(bot.is_ready, "connected")  # discord.py is ready; Pitwall waits for the model
            service.release.set()
            with pytest.raises(RuntimeError, match="the index is damaged"):
                await asyncio.wait_for(serving, 30)
            assert bot.is_closed()
        finally:
            await local.stop()

    with caplog.at_level(logging.INFO, logger="bot"):
        asyncio.run(attempt())
    assert "ready as" not in caplog.text
