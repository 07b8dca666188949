"""The Discord layer's own behaviour against the local Discord, with a stand-in answer service (no model).

The retrieval paths are covered with the real service in test_discord_e2e.py; these tests cover limits,
errors, permissions and the re-index job, which need a service that can be made slow or to fail.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.discord_bot import DiscordSettings, run_bot
from bot.discord_bot.runner import EXIT_NO_TOKEN, EXIT_REJECTED, apply_api_base, build_bot, serve
from index.documents import Article
from tests.discord_harness import LocalDiscord
from tests.discord_harness.session import BotSession
from tests.discord_harness.stand_in import StandInService

pytestmark = pytest.mark.e2e

ARTICLES = [
    Article(
        id="a1",
        title="Alpine hat keinen Plan für die IMSA",
        text="Alpine bleibt vorerst in der WEC und plant keinen IMSA-Einstieg.\nZweiter Absatz.",
        source="Motorsport-Total",
        url="https://example.com/alpine",
        published=dt.date(2024, 5, 1),
    ),
    Article(
        id="a2",
        title="Ferrari testet in Fiorano",
        text="Ferrari testet den neuen Wagen in Fiorano.",
        source="Motorsport-Total",
        url="https://example.com/ferrari",
        published=dt.date(2024, 6, 2),
    ),
]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotSession]:
    service = StandInService(list(ARTICLES), fail_questions={"please fail"})
    session = BotSession(service, tmp_path_factory.mktemp("discord-behaviour"))
    d = session.discord
    session.members = {  # type: ignore[attr-defined]
        "alice": d.add_member("alice"),
        "boss": d.add_member("boss", roles=[d.manager_role]),
        "marshal": d.add_member("marshal", roles=[d.add_role("Race Control")]),
        "hasty": d.add_member("hasty"),
        "botty": d.add_member("otherbot", bot=True),
    }
    session.ask_channel = d.add_channel("ask-pitwall")  # type: ignore[attr-defined]
    session.start(
        admin_roles=["Race Control"], ask_channels=[int(session.ask_channel)], rate_limit_per_minute=3
    )  # type: ignore[attr-defined]
    yield session
    assert session.stop() == 0
    assert not session.log.take_errors()


def member(env: BotSession, name: str) -> dict:
    return env.members[name]  # type: ignore[attr-defined]


def test_login_identifies_with_message_content_and_syncs_commands(env: BotSession) -> None:
    d = env.discord
    assert d.identify is not None and d.identify["token"] == env.token
    assert d.identify["intents"] & (1 << 15), "the message content intent is needed for ask-channels"
    assert sorted(c["name"] for c in d.commands) == ["ask", "reindex", "search", "source", "status"]
    ask = next(c for c in d.commands if c["name"] == "ask")
    assert ask["description"].startswith("Ask the news archive")
    assert ask["options"][0]["name"] == "question" and ask["options"][0]["required"]
