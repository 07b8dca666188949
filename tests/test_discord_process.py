"""`pitwall bot` as its own process against the local Discord: ready only when it can answer, and a SIGTERM
in the middle of answers finishes them, closes the gateway and exits 0."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.service import AnswerService
from bot.settings import Settings
from tests.discord_harness import BackgroundLoop, LocalDiscord, Sent
from tests.discord_harness.session import TOKEN

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

ROOT = Path(__file__).resolve().parent.parent
ALPINE = "Is Alpine entering IMSA?"


@dataclass
class BotProcess:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip())

    def wait_for_line(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.process.poll() is not None:
                raise AssertionError(f"pitwall bot exited with {self.process.returncode}: {self.lines[-20:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} from pitwall bot in {timeout} s: {self.lines[-20:]}")
            time.sleep(0.02)


@pytest.fixture
def local() -> Iterator[tuple[BackgroundLoop, LocalDiscord]]:
    loop = BackgroundLoop()
    discord = LocalDiscord(TOKEN)
    loop.run(discord.start())
    yield loop, discord
    loop.run(discord.stop())
    loop.close()
    assert not discord.unhandled, discord.unhandled


def start_bot(tmp_path: Path, base_url: str) -> BotProcess:
    """`pitwall bot` restarted over an index that is up to date (its start-up re-index loads no model)."""
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    AnswerService(Settings(corpus_dir=corpus, index_dir=tmp_path / "index")).reindex()
    env = os.environ | {
        "DISCORD_TOKEN": TOKEN,
        "PITWALL_DISCORD_API_BASE": base_url,
        "PITWALL_CORPUS_DIR": str(corpus),
        "PITWALL_INDEX_DIR": str(tmp_path / "index"),
        "PITWALL_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3"),
        "PITWALL_FEEDS_DB": str(tmp_path / "feeds.sqlite3"),
        "HF_HUB_OFFLINE": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "-v", "bot"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    bot = BotProcess(process)
    threading.Thread(target=bot.read, daemon=True).start()
    return bot


def test_ready_means_answering_and_sigterm_mid_answer_finishes_it_and_exits_0(
    tmp_path: Path, local: tuple[BackgroundLoop, LocalDiscord]
) -> None:
    loop, d = local
    members = [d.add_member(f"fan{i}") for i in range(6)]
    bot = start_bot(tmp_path, d.base_url)
    try:
        bot.wait_for_line("ready as", timeout=300)  # after the start-up re-index and loading the model
        print(f"pitwall bot process: ready {time.perf_counter() - bot.started:.1f} s after it started")
        loaded = next(i for i, line in enumerate(bot.lines) if "model and index loaded in" in line)
        ready = next(i for i, line in enumerate(bot.lines) if "ready as" in line)
        print(bot.lines[loaded])
        assert loaded < ready  # the model and index were loaded before it connected, not on first use
        bot.wait_for_line("synced 7 application commands", timeout=30)

        def acknowledged(fire) -> float:  # seconds from the interaction to the bot's first response
            started = time.perf_counter()
            ix = loop.run(fire)
            loop.run(d.wait_for(lambda s: s.token == ix.token and s.kind == "callback", 30))
            return time.perf_counter() - started

        first = {
            "status": acknowledged(d.slash(members[0], "status")),
            "autocomplete": acknowledged(d.autocomplete(members[0], "source", "article", "alpine")),
            "ask": acknowledged(d.slash(members[0], "ask", question=ALPINE)),
        }
        print(f"pitwall bot process, first interactions acknowledged after (s): {first}")
        assert all(s < 3.0 for s in first.values()), first

        asks = [loop.run(d.slash(m, "ask", question=ALPINE)) for m in members]  # 4 answered at once, 2 queued
        loop.run(d.wait_for(lambda s: s.token == asks[0].token and s.kind == "callback", 30))
        bot.process.send_signal(signal.SIGTERM)  # like `systemctl stop` / `docker stop`
        signalled = time.perf_counter()
        status = bot.process.wait(60)
        print(f"exited {time.perf_counter() - signalled:.2f} s after SIGTERM")
    finally:
        if bot.process.poll() is None:
            bot.process.kill()
    finals: list[Sent] = [loop.run(d.wait_final(ix, timeout=10)) for ix in asks]
    print(
        "after SIGTERM the askers saw:", [f.kind + ": " + (f.content or f.embeds[0]["title"]) for f in finals]
    )
    print("exit status:", status, "gateway close codes:", d.close_codes)
    assert status == 0, bot.lines[-20:]
    assert all(f.kind == "edit_original" and "IMSA" in f.embeds[0]["description"] for f in finals)
    [stopping] = [line for line in bot.lines if "SIGTERM received: finishing" in line]
    in_flight = int(stopping.split("finishing ")[1].split()[0])
    print(stopping)
    assert in_flight >= 1  # the signal came in the middle of answering
    assert d.close_codes[-1] not in (None, 1006)  # the bot sent a close frame; the connection was not dropped
