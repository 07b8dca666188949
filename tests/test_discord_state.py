"""The Discord adapter's plain parts: the answer/vote store, the throttle and the settings."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from bot.answering.answers import Answer, Citation
from bot.discord_bot import DiscordSettings, export_feedback
from bot.discord_bot.store import AnswerStore
from bot.discord_bot.throttle import RateLimit, ServerQueues, Throttled

ANSWER = Answer(
    "Is Alpine entering IMSA?",
    "en",
    False,
    "Yes [1]",
    (Citation(1, "Quote.", "a1", "Title", "Src", "https://x", None, 0.9, "https://x#q"),),
)


def test_votes_are_stored_with_question_citations_and_hashed_user(tmp_path: Path) -> None:
    store = AnswerStore(tmp_path / "sub" / "feedback.sqlite3")
    store.record_answer("abc", ANSWER, channel_id=7, message_id=70)
    assert store.record_vote("abc", 42, "unhelpful")
    assert store.record_vote("abc", 42, "wrong_quote")  # a user's second click changes their vote
    assert not store.record_vote("nope", 42, "helpful")
    [vote] = export_feedback(tmp_path / "sub" / "feedback.sqlite3")
    assert vote["question"] == "Is Alpine entering IMSA?" and vote["vote"] == "wrong_quote"
    assert vote["user_sha256"] == hashlib.sha256(b"42").hexdigest()
    assert vote["citations"] == [
        {"n": 1, "article_id": "a1", "title": "Title", "url": "https://x", "quote": "Quote."}
    ]
    assert vote["time"].startswith("20")
    with pytest.raises(ValueError, match="unknown vote"):
        store.record_vote("abc", 1, "meh")


def test_export_of_a_missing_database_is_empty(tmp_path: Path) -> None:
    assert export_feedback(tmp_path / "none.sqlite3") == []


def test_follow_up_lookups(tmp_path: Path) -> None:
    store = AnswerStore(tmp_path / "f.sqlite3")
    store.record_answer("one", ANSWER, channel_id=7, question_message_id=100)
    store.set_message("one", 101)
    store.record_answer("two", Answer("Und dann?", "de", True, ""), channel_id=7)
    assert store.answer_for_message(101).question == ANSWER.question  # the bot's answer
    assert store.answer_for_message(100).question == ANSWER.question  # the question it answered
    assert store.answer_for_message(999) is None
    assert store.latest_in_channel(7).question == "Und dann?"
    assert store.latest_in_channel(8) is None


def test_rate_limit_counts_questions_per_user_per_minute() -> None:
    now = [0.0]
    limit = RateLimit(per_user_per_minute=2, clock=lambda: now[0])
    limit.admit(1)
    limit.admit(1)
    with pytest.raises(Throttled, match="2 questions a minute. Try again in 60 s"):
        limit.admit(1)
    limit.admit(2)  # other users are not affected
    now[0] = 60.0
    limit.admit(1)


def test_server_queue_answers_in_order_and_refuses_only_when_full() -> None:
    async def scenario() -> tuple[list[int], str]:
        queues = ServerQueues(max_running=2, max_waiting=3)
        gate = asyncio.Event()
        order: list[int] = []

        async def question(n: int, server: int = 9) -> None:
            async with queues.slot(server):
                order.append(n)
                await gate.wait()

        tasks = [asyncio.create_task(question(n)) for n in range(5)]  # 2 running, 3 waiting
        other = asyncio.create_task(question(100, server=10))  # another server has its own slots
        await asyncio.sleep(0.01)
        assert order == [0, 1, 100]
        with pytest.raises(Throttled) as refused:
            queues.check(9)
        gate.set()
        await asyncio.gather(*tasks, other)
        async with queues.slot(9), queues.slot(9):  # every slot was given back
            pass
        return order, str(refused.value)

    order, refusal = asyncio.run(scenario())
    assert order == [0, 1, 100, 2, 3, 4]
    assert (
        refusal
        == "I'm answering 2 questions in this server and 3 more are waiting. Please ask again in a minute."
    )


def test_server_queue_a_question_cancelled_while_waiting_gives_up_its_place() -> None:
    async def scenario() -> list[str]:
        queues = ServerQueues(max_running=1, max_waiting=5)
        gate = asyncio.Event()
        done: list[str] = []

        async def question(name: str) -> None:
            async with queues.slot(("dm", 1)):
                await gate.wait()
                done.append(name)

        first, second, third = (asyncio.create_task(question(n)) for n in ("a", "b", "c"))
        await asyncio.sleep(0.01)
        second.cancel()
        await asyncio.sleep(0.01)
        gate.set()
        await asyncio.gather(first, third)
        return done

    assert asyncio.run(scenario()) == ["a", "c"]


def test_direct_messages_queue_per_user() -> None:
    assert ServerQueues.key(None, 5) != ServerQueues.key(None, 6)
    assert ServerQueues.key(7, 5) == ServerQueues.key(7, 6) == 7


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "secret-token")
    monkeypatch.setenv("PITWALL_DISCORD_ASK_CHANNELS", "123, 456")
    monkeypatch.setenv("PITWALL_DISCORD_ADMIN_ROLES", "123456789012345678, 789")
    monkeypatch.setenv("PITWALL_DISCORD_ADMIN_USERS", "42")
    monkeypatch.setenv("PITWALL_SHARD_COUNT", "4")
    monkeypatch.setenv("PITWALL_SHARD_IDS", "2,3")
    monkeypatch.setenv("PITWALL_DISCORD_RATE_LIMIT", "3")
    settings = DiscordSettings(_env_file=None)
    assert settings.token is not None and settings.token.get_secret_value() == "secret-token"
    assert "secret-token" not in repr(settings)
    assert settings.ask_channels == [123, 456]
    assert settings.admin_roles == [123456789012345678, 789] and settings.admin_users == [42]
    assert settings.shard_count == 4 and settings.shard_ids == [2, 3]
    assert settings.max_concurrent_per_server == 4 and settings.queue_per_server == 50
    assert settings.rate_limit_per_minute == 3
    assert settings.api_base is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PITWALL_DISCORD_ADMIN_ROLES": "Race Control"}, "numeric ids"),
        ({"PITWALL_SHARD_IDS": "0"}, "needs PITWALL_SHARD_COUNT"),
        ({"PITWALL_SHARD_COUNT": "2", "PITWALL_SHARD_IDS": "1,2"}, "out of range"),
    ],
)
def test_bad_discord_settings_say_what_is_wrong(
    monkeypatch: pytest.MonkeyPatch, env: dict, message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        DiscordSettings(_env_file=None)
