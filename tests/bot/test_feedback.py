"""`pitwall feedback`: the votes given under answers in Discord, read from PITWALL_FEEDBACK_DB."""

import json

import pytest

from bot import cli
from bot.discord_bot.store import AnswerStore, hash_user
from bot.service import AnswerService
from bot.settings import Settings
from tests.conftest import write_article
from tests.fakes import FakeEmbedder


@pytest.fixture
def answer(tmp_path):
    """A real answer of the service (fake embedder) to vote on."""
    write_article(tmp_path / "corpus", "alpine", "Alpine", "Alpine plant keinen Einstieg in die IMSA.")
    service = AnswerService(
        Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index"), lambda _: FakeEmbedder()
    )
    service.reindex()
    answer = service.ask("Plant Alpine einen Einstieg in die IMSA?")
    assert not answer.abstained
    return answer


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "votes" / "feedback.sqlite3"
    monkeypatch.setenv("PITWALL_FEEDBACK_DB", str(path))
    return path


def test_votes_are_exported_oldest_first_with_their_question_and_quotes(answer, db, capsys):
    store = AnswerStore(db)
    store.record_answer("a1", answer, channel_id=7)
    store.record_answer("a2", answer, channel_id=7)
    assert store.record_vote("a1", 1001, "helpful")
    assert store.record_vote("a2", 1002, "wrong_quote")
    assert store.record_vote("a1", 1001, "unhelpful")  # a user changes their vote: it is replaced

    assert cli.main(["feedback", "--json"]) == cli.EXIT_OK
    votes = json.loads(capsys.readouterr().out)

    assert [(v["answer_id"], v["vote"]) for v in votes] == [("a2", "wrong_quote"), ("a1", "unhelpful")]
    assert {v["question"] for v in votes} == {"Plant Alpine einen Einstieg in die IMSA?"}
    assert [c["quote"] for c in votes[0]["citations"]] == [c.quote for c in answer.citations]
    assert votes[0]["user_sha256"] == hash_user(1002)
    assert "1002" not in json.dumps(votes)  # no user id in the export


def test_the_text_export_has_one_line_per_vote_and_the_count(answer, db, capsys):
    store = AnswerStore(db)
    store.record_answer("a1", answer, channel_id=7)
    store.record_vote("a1", 1001, "helpful")

    assert cli.main(["feedback"]) == cli.EXIT_OK
    out, err = capsys.readouterr()
    [line] = out.splitlines()
    assert "helpful" in line and "Plant Alpine einen Einstieg in die IMSA?" in line
    assert "1 votes" in err


def test_no_votes_yet_is_an_empty_export(db, capsys):
    assert cli.main(["feedback", "--json"]) == cli.EXIT_OK
    assert json.loads(capsys.readouterr().out) == []
    assert not db.exists()  # exporting creates nothing
