"""The Discord layer's own behaviour against the local Discord, with a stand-in answer service (no model).

The retrieval paths are covered with the real service in test_discord_e2e.py; these tests cover limits,
errors, permissions and the re-index job, which need a service that can be made slow or to fail.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.discord_bot import export_feedback
from index.documents import Article
from tests.discord_harness import Sent, buttons
from tests.discord_harness import payloads as p
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
    race_control = d.add_role("Race Control")
    session.members = {  # type: ignore[attr-defined]
        "alice": d.add_member("alice"),
        "bob": d.add_member("bob"),
        "carol": d.add_member("carol"),
        "dave": d.add_member("dave"),
        "erin": d.add_member("erin"),
        "boss": d.add_member("boss", roles=[d.manager_role]),
        "marshal": d.add_member("marshal", roles=[race_control]),
        "steward": d.add_member("steward"),
        "hasty": d.add_member("hasty"),
        "frank": d.add_member("frank"),
        "botty": d.add_member("otherbot", bot=True),
    }
    session.ask_channel = d.add_channel("ask-pitwall")  # type: ignore[attr-defined]
    session.no_embeds = d.add_channel("no-embeds", deny_bot=p.EMBED_LINKS)  # type: ignore[attr-defined]
    session.ask_no_threads = d.add_channel(  # type: ignore[attr-defined]
        "ask-no-threads", deny_bot=p.CREATE_PUBLIC_THREADS | p.SEND_MESSAGES_IN_THREADS
    )
    session.start(
        admin_roles=[int(race_control["id"])],
        admin_users=[int(session.members["steward"]["user"]["id"])],  # type: ignore[attr-defined]
        ask_channels=[int(session.ask_channel), int(session.ask_no_threads)],  # type: ignore[attr-defined]
        rate_limit_per_minute=3,
    )
    yield session
    assert session.stop() == 0
    assert not session.log.take_errors()


def member(env: BotSession, name: str) -> dict:
    return env.members[name]  # type: ignore[attr-defined]


def test_login_identifies_with_message_content_and_syncs_commands(env: BotSession) -> None:
    d = env.discord
    assert d.identify is not None and d.identify["token"] == env.token
    assert env.service.calls[0] == ("load", "")  # model and index loaded before the first question
    assert d.identify["intents"] & (1 << 15), "the message content intent is needed for ask-channels"
    assert sorted(c["name"] for c in d.commands) == ["ask", "reindex", "search", "source", "status"]
    ask = next(c for c in d.commands if c["name"] == "ask")
    assert ask["description"].startswith("Ask the news archive")
    assert ask["options"][0]["name"] == "question" and ask["options"][0]["required"]


def test_ask_is_deferred_then_answered_off_the_event_loop_with_buttons(env: BotSession) -> None:
    d = env.discord
    ix = env.run(d.slash(member(env, "alice"), "ask", question="Plant Alpine einen IMSA-Einstieg?"))
    defer = env.run(d.wait_for(lambda s: s.token == ix.token and s.kind == "callback"))
    assert defer.body["type"] == 5  # deferred at once
    final = env.run(d.wait_final(ix))
    assert final.kind == "edit_original"
    assert final.content == "Here is what the articles say \\[1\\]."
    assert "Alpine bleibt vorerst in der WEC" in final.embeds[0]["description"]
    assert final.body["allowed_mentions"] == {"parse": []}
    custom_ids = [b["custom_id"] for row in final.body["components"] for b in row["components"]]
    assert [c.split(":")[2] for c in custom_ids] == ["helpful", "unhelpful", "wrong_quote"]
    assert env.service.thread_names and "loop" not in env.service.thread_names[-1]
    assert env.service.thread_names[-1] != "MainThread"


def test_a_failing_question_gets_a_private_reference_and_the_log_the_traceback(env: BotSession) -> None:
    d = env.discord
    ix = env.run(d.slash(member(env, "alice"), "ask", question="please fail"))
    private = env.run(d.wait_for(lambda s: s.token == ix.token and s.kind == "followup"))
    assert private.ephemeral
    assert private.content.startswith("Sorry, something went wrong (reference `")
    reference = private.content.split("`")[1]
    env.run(
        d.wait_for(lambda s: s.token == ix.token and s.kind == "delete")
    )  # the public "thinking…" is gone
    errors = env.log.take_errors()
    assert len(errors) == 1 and reference in errors[0].getMessage()
    assert errors[0].exc_info and "stand-in failure" in str(errors[0].exc_info[1])


def test_rate_limit_per_user_answers_with_a_friendly_private_message(env: BotSession) -> None:
    d = env.discord
    hasty = member(env, "hasty")
    for _ in range(3):
        ix = env.run(d.slash(hasty, "search", query="Ferrari"))
        assert env.run(d.wait_final(ix)).ephemeral  # /search is private by default
    ix = env.run(d.slash(hasty, "ask", question="Ferrari?"))
    refusal = env.run(d.wait_final(ix))
    assert refusal.ephemeral and "3 questions a minute" in refusal.content


def test_reindex_refused_for_members_one_at_a_time_and_reports_rejected_files(env: BotSession) -> None:
    d = env.discord
    ix = env.run(d.slash(member(env, "alice"), "reindex"))
    refused = env.run(d.wait_final(ix))
    assert refused.ephemeral and "Manage Server" in refused.content
    assert ("reindex", "") not in env.service.calls

    gate = env.service.reindex_gate = threading.Event()
    try:
        ix = env.run(d.slash(member(env, "marshal"), "reindex"))  # an admin role from the settings
        started = env.run(d.wait_final(ix))
        assert not started.ephemeral and started.content.startswith("Re-indexing")
        second = env.run(d.wait_final(env.run(d.slash(member(env, "boss"), "reindex"))))
        assert second.ephemeral and "already running" in second.content
        progress = env.run(
            d.wait_for(
                lambda s: s.token == ix.token and "embedded 1 of 2 new passages and sentences" in s.content
            )
        )
        assert progress.kind == "edit_original"
    finally:
        gate.set()
        env.service.reindex_gate = None
    done = env.run(d.wait_for(lambda s: s.token == ix.token and s.content.startswith("Re-index done")))
    assert "1 rejected" in done.content and "bad.md: no title" in done.content
    assert env.service.calls.count(("reindex", "")) == 1


def test_a_failed_reindex_says_why_and_that_the_old_index_still_serves(env: BotSession) -> None:
    d = env.discord
    env.service.reindex_error = "the model produced vectors of the wrong size"
    try:
        ix = env.run(d.slash(member(env, "boss"), "reindex"))
        failed = env.run(d.wait_for(lambda s: s.token == ix.token and "failed" in s.content))
    finally:
        env.service.reindex_error = None
    assert "the model produced vectors of the wrong size" in failed.content
    assert "previous index is still answering" in failed.content
    assert len(env.log.take_errors()) == 1  # the traceback is logged


def test_reindex_allowed_for_a_listed_user(env: BotSession) -> None:
    d = env.discord
    ix = env.run(d.slash(member(env, "steward"), "reindex"))  # on PITWALL_DISCORD_ADMIN_USERS
    done = env.run(d.wait_for(lambda s: s.token == ix.token and s.content.startswith("Re-index done")))
    assert "1 rejected" in done.content


def answer_in(env: BotSession, channel_id: str, timeout: float = 30) -> Sent:
    """The bot's next answer (a message with an embed) posted in `channel_id` from now on, or the first one
    if there is none yet."""
    seen = {id(s) for s in env.discord.sent if s.channel_id == channel_id and s.embeds}
    seen = seen if seen else set()

    def is_answer(s: Sent) -> bool:
        return (
            s.kind == "channel_message"
            and s.channel_id == channel_id
            and bool(s.embeds)
            and id(s) not in seen
        )

    return env.run(env.discord.wait_for(is_answer, timeout))


def test_an_ask_channel_question_opens_a_thread_where_follow_ups_are_answered(env: BotSession) -> None:
    d = env.discord
    channel = env.ask_channel  # type: ignore[attr-defined]
    alice, bob = member(env, "carol"), member(env, "bob")
    env.run(d.send_message(member(env, "botty"), "Ferrari Fiorano?", channel_id=channel))
    question = env.run(d.send_message(alice, "Testet Ferrari in Fiorano?", channel_id=channel))
    answer = answer_in(env, question["id"])  # in the thread opened on the question (same id)
    thread = next(t for t in d.guild.threads if t["id"] == question["id"])
    assert thread["owner_id"] == d.app_id and thread["name"] == "Testet Ferrari in Fiorano?"
    assert "Ferrari testet den neuen Wagen" in answer.text()
    assert answer.body["allowed_mentions"] == {"parse": []}
    assert ("ask", "Ferrari Fiorano?") not in env.service.calls  # other bots are ignored

    follow = env.run(d.send_message(bob, "Und wann?", channel_id=thread["id"]))  # in the bot's thread
    follow_answer = answer_in(env, thread["id"])
    assert follow_answer.message["id"] != answer.message["id"]  # type: ignore[index]
    assert env.service.calls[-1] == ("ask", "Und wann? | context: Testet Ferrari in Fiorano?")
    between = env.run(d.send_message(alice, "danke, cool!", channel_id=thread["id"], reply_to=follow["id"]))
    env.run(d.send_message(alice, "Und Alpine?", channel_id=thread["id"]))  # addressed: answered after
    env.run(d.wait_for(lambda s: s.channel_id == thread["id"] and "Alpine bleibt" in s.text()))
    assert not any(("danke" in c[1]) for c in env.service.calls), "a reply between members was answered"
    assert between["id"] not in replied_to(env)


def replied_to(env: BotSession) -> set[str]:
    return {str((s.body.get("message_reference") or {}).get("message_id")) for s in env.discord.sent}


def test_only_messages_addressed_to_the_bot_are_answered(env: BotSession) -> None:
    d = env.discord
    alice, bob = member(env, "dave"), member(env, "bob")
    mention = env.run(d.send_message(alice, "Plant Alpine einen IMSA-Einstieg?", mention_bot=True))
    answer = env.run(d.wait_reply(mention["id"]))
    assert "Alpine bleibt vorerst" in answer.text()
    own_thread = env.run(d.create_thread(alice, "Alpine talk"))  # a member's thread, not the bot's
    env.run(d.send_message(alice, "Ferrari in Fiorano?", channel_id=own_thread, mention_bot=True))
    answer_in(env, own_thread)
    unaddressed = [
        env.run(d.send_message(bob, "Ferrari testet in Fiorano, oder?")),  # plain chat in #general
        env.run(d.send_message(alice, "danke, cool!", channel_id=own_thread)),  # the bot answered here once
        env.run(d.send_message(bob, "Fiorano ist toll", reply_to=mention["id"])),  # reply to a member
    ]
    follow = env.run(d.send_message(bob, "Und Ferrari?", reply_to=answer.message["id"]))  # type: ignore[index]
    follow_answer = env.run(d.wait_reply(follow["id"]))
    assert follow_answer.embeds  # answered, as a follow-up:
    assert env.service.calls[-1] == ("ask", "Und Ferrari? | context: Plant Alpine einen IMSA-Einstieg?")
    asked = [c[1] for c in env.service.calls]
    for message in unaddressed:
        assert not any(q.startswith(message["content"]) for q in asked), message["content"]
        assert message["id"] not in replied_to(env)


def test_a_direct_message_is_answered(env: BotSession) -> None:
    d = env.discord
    question = env.run(d.send_message(member(env, "erin"), "Testet Ferrari in Fiorano?", direct=True))
    reply = env.run(d.wait_reply(question["id"]))
    assert reply.channel_id == question["channel_id"] and "Ferrari testet" in reply.text()


def test_a_missing_permission_is_told_privately_without_a_traceback(env: BotSession) -> None:
    d = env.discord
    alice = member(env, "alice")
    question = env.run(
        d.send_message(alice, "Testet Ferrari?", channel_id=env.no_embeds, mention_bot=True)  # type: ignore[attr-defined]
    )
    notice = env.run(d.wait_for(lambda s: s in d.direct_messages(alice) and "Embed Links" in s.content))
    assert f"<#{env.no_embeds}>" in notice.content  # type: ignore[attr-defined]
    assert not [s for s in d.sent if s.channel_id == env.no_embeds]  # type: ignore[attr-defined]
    assert question["id"] not in replied_to(env)
    assert not env.log.take_errors()


def test_an_ask_channel_without_thread_permissions_is_told_privately(env: BotSession) -> None:
    d = env.discord
    frank, channel = member(env, "frank"), env.ask_no_threads  # type: ignore[attr-defined]
    question = env.run(d.send_message(frank, "Wo testet Ferrari den neuen Wagen?", channel_id=channel))
    first = env.run(  # the notice, or (wrongly) an answer in the channel or a thread opened on the question
        d.wait_for(
            lambda s: (
                s in d.direct_messages(frank)
                or (s.kind == "channel_message" and s.channel_id in (channel, question["id"]))
            )
        )
    )
    assert first in d.direct_messages(frank), first.text()
    assert "Create Public Threads, Send Messages in Threads permissions" in first.content
    assert f"<#{channel}>" in first.content
    assert not any(t["id"] == question["id"] for t in d.guild.threads)
    assert ("ask", "Wo testet Ferrari den neuen Wagen?") not in env.service.calls
    assert not env.log.take_errors()


def test_chat_over_the_rate_limit_gets_a_short_notice(env: BotSession) -> None:
    d = env.discord
    hasty = member(env, "hasty")  # over the limit after test_rate_limit_per_user_...
    question = env.run(d.send_message(hasty, "Ferrari?", mention_bot=True))
    notice = env.run(d.wait_reply(question["id"]))
    assert "3 questions a minute" in notice.content and not notice.embeds


def test_feedback_buttons_keep_working_after_a_restart(tmp_path: Path) -> None:
    first = BotSession(StandInService(list(ARTICLES)), tmp_path)
    alice = first.discord.add_member("alice")
    first.start()
    try:
        ix = first.run(first.discord.slash(alice, "ask", question="Alpine IMSA?"))
        answer = first.run(first.discord.wait_final(ix))
        message = first.discord.messages[answer.message["id"]]  # type: ignore[index]
    finally:
        assert first.stop() == 0
    custom_id = next(b["custom_id"] for b in buttons(message) if ":wrong_quote:" in b["custom_id"])

    second = BotSession(StandInService(list(ARTICLES)), tmp_path)  # a new process: same database, no views
    second.discord.guild.members.append(alice)
    second.start()
    try:
        ix = second.run(second.discord.click(alice, message, custom_id))
        thanks = second.run(second.discord.wait_final(ix))
    finally:
        assert second.stop() == 0
    assert thanks.ephemeral and "flagged for review" in thanks.content
    [vote] = export_feedback(tmp_path / "feedback.sqlite3")
    assert vote["vote"] == "wrong_quote" and vote["question"] == "Alpine IMSA?"
