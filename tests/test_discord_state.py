"""The Discord adapter's plain parts: the answer/vote store, the throttle and the settings."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bot.answers import Answer, Citation
from bot.discord_bot import DiscordSettings, export_feedback
from bot.discord_bot.store import AnswerStore
from bot.discord_bot.throttle import Throttle, Throttled

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


def test_throttle_limits_questions_per_user_per_minute() -> None:
    now = [0.0]
    throttle = Throttle(per_user_per_minute=2, max_concurrent_per_server=10, clock=lambda: now[0])
    for _ in range(2):
        with throttle.question(1, 9):
            pass
    with pytest.raises(Throttled, match="2 questions a minute. Try again in 60 s"), throttle.question(1, 9):
        pass
    with throttle.question(2, 9):  # other users are not affected
        pass
    now[0] = 60.0
    with throttle.question(1, 9):
        pass


def test_throttle_limits_concurrent_questions_per_server() -> None:
    throttle = Throttle(per_user_per_minute=100, max_concurrent_per_server=2)
    with throttle.question(1, 9), throttle.question(2, 9):
        with pytest.raises(Throttled, match="answering 2 questions in this server"), throttle.question(3, 9):
            pass
        with throttle.question(3, 10):  # another server
            pass
    with throttle.question(3, 9):  # slots are released
        pass


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "secret-token")
    monkeypatch.setenv("PITWALL_DISCORD_ASK_CHANNELS", "123, 456")
    monkeypatch.setenv("PITWALL_DISCORD_ADMIN_ROLES", "Race Control,789")
    monkeypatch.setenv("PITWALL_DISCORD_RATE_LIMIT", "3")
    settings = DiscordSettings(_env_file=None)
    assert settings.token is not None and settings.token.get_secret_value() == "secret-token"
    assert "secret-token" not in repr(settings)
    assert settings.ask_channels == [123, 456]
    assert settings.admin_roles == ["Race Control", "789"]
    assert settings.rate_limit_per_minute == 3
    assert settings.api_base is None
