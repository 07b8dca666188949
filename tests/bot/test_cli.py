"""The `pitwall` command line: exit statuses and JSON contracts (fake embedder: no model load)."""

import io
import json

import pytest

from bot import cli
from bot.service import AnswerService
from tests.conftest import write_article
from tests.fakes import FakeEmbedder


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    folder = tmp_path / "corpus"
    write_article(
        folder,
        "alpine",
        "Alpine und die IMSA",
        "Alpine plant keinen Einstieg in die IMSA. Famin nennt es nur eine Idee.",
        url="https://example.org/alpine",
        published="2024-10-01",
        source="MT",
    )
    write_article(
        folder, "porsche", "Porsche", "Porsche bleibt mit Penske in der WEC.", published="2024-11-02"
    )
    monkeypatch.setattr(cli, "_service", lambda settings: AnswerService(settings, lambda _: FakeEmbedder()))
    monkeypatch.setenv("PITWALL_CORPUS_DIR", str(folder))
    monkeypatch.setenv("PITWALL_INDEX_DIR", str(tmp_path / "index"))
    return folder


def run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_index_prints_the_json_report(corpus, capsys):
    status, out, _ = run(capsys, "index", "--json")
    report = json.loads(out)
    assert status == cli.EXIT_OK
    assert set(report) == {
        "articles",
        "chunks",
        "added",
        "changed",
        "removed",
        "embedded_chunks",
        "errors",
        "warnings",
        "seconds",
        "embedding",
    }
    assert (report["articles"], report["added"], report["errors"]) == (2, 2, [])
    assert report["embedding"] == {"engine": "local", "workers": 1}


def test_ray_workers_without_a_ray_address_is_a_clear_error(corpus, capsys):
    status, _, err = run(capsys, "index", "--ray-workers", "2")
    assert status == cli.EXIT_ERROR
    assert "--ray-workers needs --ray" in err


def test_index_exits_distinctly_when_some_files_are_rejected(corpus, capsys):
    (corpus / "broken.md").write_bytes(b"\xff\xfe not utf-8")
    status, out, err = run(capsys, "index", "--json")
    report = json.loads(out)
    assert status == cli.EXIT_SOME_REJECTED
    assert report["articles"] == 2
    assert [e["path"] for e in report["errors"]] == ["broken.md"]
    assert "broken.md" in err


def test_index_exits_distinctly_when_nothing_can_be_indexed(tmp_path, corpus, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "bad.jsonl").write_text("{not json\n", encoding="utf-8")
    status, _, err = run(capsys, "index", "--corpus", str(empty))
    assert status == cli.EXIT_NOTHING_INDEXED
    assert "nothing to index" in err and "bad.jsonl" in err


def test_search_json_contract(corpus, capsys):
    run(capsys, "index")
    status, out, _ = run(capsys, "search", "Penske WEC", "-k", "2", "--json")
    result = json.loads(out)
    assert status == cli.EXIT_OK and result["query"] == "Penske WEC"
    assert result["hits"][0]["article_id"] == "porsche"
    assert set(result["hits"][0]) == {"article_id", "title", "text", "score", "start", "end"}


ALPINE_SENTENCE = "Alpine plant keinen Einstieg in die IMSA."


def test_ask_reads_questions_from_stdin_one_json_document_per_line(corpus, capsys, monkeypatch):
    run(capsys, "index")
    monkeypatch.setattr(
        "sys.stdin", io.StringIO("Plant Alpine einen Einstieg in die IMSA?\n\nWie backe ich Brot?\n")
    )
    status, out, _ = run(capsys, "ask", "-", "--json")
    documents = [json.loads(line) for line in out.splitlines()]
    assert status == cli.EXIT_OK
    alpine, bread = documents
    assert (alpine["question"], bread["question"]) == (
        "Plant Alpine einen Einstieg in die IMSA?",
        "Wie backe ich Brot?",
    )
    assert {"question", "language", "abstained", "answer", "citations", "timings_ms"} <= set(alpine)
    # the known question is answered with the sentence that answers it, copied from its article
    assert not alpine["abstained"] and alpine["language"] == "de"
    quoted = next(c for c in alpine["citations"] if ALPINE_SENTENCE in c["quote"])
    assert {"n", "quote", "article_id", "title", "url", "published", "score"} <= set(quoted)
    assert (quoted["article_id"], quoted["url"], quoted["published"]) == (
        "alpine",
        "https://example.org/alpine",
        "2024-10-01",
    )
    assert quoted["quote"] in (corpus / "alpine.md").read_text(encoding="utf-8")
    assert [c["n"] for c in alpine["citations"]] == list(range(1, len(alpine["citations"]) + 1))
    # the question the articles don't cover is not
    assert bread["abstained"] and bread["citations"] == [] and "nichts" in bread["answer"]


def test_asking_without_an_index_is_one_clear_error(corpus, capsys):
    status, out, err = run(capsys, "ask", "Is Alpine entering IMSA?")
    assert status == cli.EXIT_ERROR
    assert out == ""
    assert "pitwall index" in err and "Traceback" not in err


def test_a_bad_date_is_a_usage_error(corpus, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["search", "x", "--since", "31.05.2024"])
    assert exit_.value.code == cli.EXIT_USAGE
    assert "2024-05-31" in capsys.readouterr().err


def test_chat_answers_each_line_and_takes_the_previous_question_into_account(corpus, capsys, monkeypatch):
    run(capsys, "index")
    monkeypatch.setattr(
        "sys.stdin", io.StringIO("Und warum?\nPlant Alpine einen Einstieg in die IMSA?\nUnd warum?\n\n")
    )
    status, out, _ = run(capsys, "chat")
    assert status == cli.EXIT_OK
    replies = out.split("? ")[1:]  # each reply follows the prompt "? "
    assert len(replies) == 4  # three answers, then the empty line ends the chat
    alone, alpine, follow_up = replies[:3]
    # "Und warum?" on its own has nothing to go on; after the Alpine question it follows up on it
    assert alone.startswith("Dazu sagen die Artikel nichts") and "„" not in alone
    assert alpine.startswith("Das sagen die Artikel dazu:")
    assert f"„{ALPINE_SENTENCE}“" in alpine and "Alpine und die IMSA (MT, 2024-10-01" in alpine
    assert follow_up.startswith("Das sagen die Artikel dazu:") and ALPINE_SENTENCE in follow_up
    assert replies[3] == ""
