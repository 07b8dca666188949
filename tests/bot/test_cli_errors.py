"""Every failure of a command is one line on stderr and exit 1; under --json also one JSON document."""

import io
import json
import logging

import pytest

from bot import cli
from bot.exit_codes import ExitCode
from bot.service import AnswerService
from bot.terminal import PrintableFormatter, printable
from index.embed.embedding import DEFAULT_MODEL, MINILM_MODEL
from tests.bot.test_cli import corpus, run  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("corpus")


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("pitwall: ") and "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("as_json", [False, True])
def test_a_missing_corpus_folder_is_one_line(tmp_path, capsys, as_json):
    argv = ["index", "--corpus", str(tmp_path / "missing")] + (["--json"] if as_json else [])
    status, out, err = run(capsys, *argv)
    assert status == ExitCode.ERROR
    assert "does not exist" in one_line(err) and str(tmp_path / "missing") in err
    if as_json:
        assert "does not exist" in json.loads(out)["error"]
    else:
        assert out == ""


@pytest.mark.parametrize("as_json", [False, True])
def test_a_control_character_in_the_one_line_error_is_escaped(tmp_path, capsys, as_json):
    missing = tmp_path / "news\x1b[2J\nforged"
    argv = ["index", "--corpus", str(missing)] + (["--json"] if as_json else [])
    status, out, err = run(capsys, *argv)
    assert status == ExitCode.ERROR
    line = one_line(err)
    assert "news\\x1b[2J" in line and "does not exist" in line
    assert "\x1b" not in err
    if as_json:
        assert "\x1b" not in out and json.loads(out)["error"].startswith(
            f"corpus folder {tmp_path}/news\x1b[2J"
        )


def test_asking_an_index_of_another_model_says_to_re_index(capsys, monkeypatch):
    assert run(capsys, "index")[0] == ExitCode.OK
    monkeypatch.setenv("PITWALL_EMBEDDING_MODEL", "another/model")
    status, out, err = run(capsys, "ask", "Plant Alpine die IMSA?", "--json")
    assert status == ExitCode.ERROR
    line = one_line(err)
    assert "another/model" in line and "re-index" in line
    assert "re-index" in json.loads(out)["error"]


def test_an_index_of_the_old_default_model_says_to_re_index(capsys, monkeypatch):
    """Indexes built before multilingual-e5-small became the default hold all-MiniLM-L6-v2 vectors."""
    monkeypatch.setenv("PITWALL_EMBEDDING_MODEL", MINILM_MODEL)
    assert run(capsys, "index")[0] == ExitCode.OK
    monkeypatch.delenv("PITWALL_EMBEDDING_MODEL")
    status, out, err = run(capsys, "ask", "Plant Alpine die IMSA?")
    assert status == ExitCode.ERROR
    line = one_line(err)
    assert "re-index" in line and DEFAULT_MODEL in line and MINILM_MODEL in line
    assert f"PITWALL_EMBEDDING_MODEL={MINILM_MODEL} and" in line  # the setting that reads the old index


@pytest.mark.parametrize("command", ["ask", "search"])
@pytest.mark.parametrize(("text", "expected"), [("", "is empty"), ("  ", "is empty"), ("caf\udce9", "0xE9")])
def test_an_empty_or_undecodable_question_is_one_json_error(capsys, command, text, expected):
    run(capsys, "index")
    status, out, err = run(capsys, command, text, "--json")
    assert status == ExitCode.ERROR
    assert expected in one_line(err)
    (document,) = [json.loads(line) for line in out.splitlines()]
    assert expected in document["error"]


def test_every_stdin_line_gets_one_json_document(capsys, monkeypatch):
    run(capsys, "index")
    stdin = io.TextIOWrapper(io.BytesIO(b"Plant Alpine die IMSA?\n\xff\xfe?\nWho is Penske?\n"), "utf-8")
    monkeypatch.setattr("sys.stdin", stdin)
    status, out, err = run(capsys, "ask", "-", "--json")
    documents = [json.loads(line) for line in out.splitlines()]
    assert status == ExitCode.ERROR
    assert [d.get("question") for d in documents] == ["Plant Alpine die IMSA?", None, "Who is Penske?"]
    assert "not UTF-8" in documents[1]["error"] and "0xFF" in err


def test_chat_reports_a_line_that_is_not_utf8_and_goes_on(capsys, monkeypatch):
    run(capsys, "index")
    stdin = io.TextIOWrapper(io.BytesIO(b"\xff\xfe?\nWho is Penske?\n\n"), "utf-8")
    monkeypatch.setattr("sys.stdin", stdin)
    status, out, err = run(capsys, "chat")
    assert status == ExitCode.OK
    assert "not UTF-8 text (byte 0xFF at character 1)" in err
    assert "Porsche" in out  # the next question was answered (its closest article)


def test_search_without_an_index_prints_an_error_document(capsys):
    status, out, err = run(capsys, "search", "Penske", "--json")
    assert status == ExitCode.ERROR
    assert "pitwall index" in json.loads(out)["error"] and "pitwall index" in one_line(err)


def test_a_damaged_index_is_one_line_naming_the_file(corpus, capsys):  # noqa: F811
    run(capsys, "index")
    from index.store.generations import current_generation

    damaged = current_generation(corpus.parent / "index") / "dense.faiss"
    damaged.write_bytes(damaged.read_bytes()[:-10])
    status, out, err = run(capsys, "search", "Penske", "--json")
    assert status == ExitCode.ERROR
    assert f"{damaged} is damaged" in one_line(err) and "re-index" in err
    assert f"{damaged} is damaged" in json.loads(out)["error"]


def test_an_invalid_setting_is_one_line_naming_it(capsys, monkeypatch):
    monkeypatch.setenv("PITWALL_LEXICAL_WEIGHT", "2")
    status, _, err = run(capsys, "search", "Penske")
    assert status == ExitCode.ERROR
    assert "PITWALL_LEXICAL_WEIGHT" in one_line(err)


def test_an_unexpected_failure_is_one_line_too(capsys, monkeypatch):
    run(capsys, "index")

    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(AnswerService, "search", broken)
    status, out, err = run(capsys, "search", "Penske", "--json")
    assert status == ExitCode.ERROR
    assert "internal error (KeyError" in one_line(err)
    assert "internal error" in json.loads(out)["error"]


def test_control_characters_from_articles_never_reach_the_terminal(corpus, capsys):  # noqa: F811
    (corpus / "esc.txt").write_text("Penske \x1b[2J\x07 title\n\nPenske wins \x1b]0;pwned\x07 again.\n")
    run(capsys, "index")
    status, out, _ = run(capsys, "search", "Penske wins", "-k", "3")
    assert status == ExitCode.OK
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[2J\\x07" in out


def test_a_file_name_cannot_forge_report_lines(corpus, capsys):  # noqa: F811
    (corpus / "bad\nrejected forged.md").write_bytes(b"\xff not utf-8")
    status, _, err = run(capsys, "index")
    assert status == ExitCode.SOME_REJECTED
    (line,) = [line for line in err.splitlines() if line.startswith("rejected")]
    assert line.startswith("rejected bad\\x0arejected forged.md:1: not UTF-8")


def test_a_file_name_cannot_forge_lines_when_nothing_could_be_indexed(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "bad\nrejected forged\x1b[2J.md").write_bytes(b"\xff not utf-8")
    status, _, err = run(capsys, "index", "--corpus", str(empty))
    assert status == ExitCode.NOTHING_INDEXED
    assert "\x1b" not in err
    first, line = err.splitlines()  # the error, and one line per rejected file
    assert first.startswith("pitwall: nothing to index in") and first.endswith("every file was rejected")
    assert line.startswith("  rejected bad\\x0arejected forged\\x1b[2J.md:1: not UTF-8")


def test_printable_escapes_controls_and_undecodable_bytes():
    assert printable("a\x1b[31mb\x07\u202ec\udcff\nd") == "a\\x1b[31mb\\x07\\u202ec\\xff\\x0ad"
    assert printable("line\n\tnext\r", lines=True) == "line\n\tnext\\x0d"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "file %s", ("a\nb\x1b",), None)
    assert PrintableFormatter("%(message)s").format(record) == "file a\\x0ab\\x1b"


def test_the_exit_codes_are_the_ones_the_readme_lists():
    readme = (cli.Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for code in ExitCode:
        assert f"| {code.value} | `{code.name}` |" in readme


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["ask", "x", "--since", "2024-13-45"], "argument --since: '2024-13-45' is not a date"),
        (
            ["search", "x", "--mode", "nonsense"],
            "argument --mode: invalid choice: 'nonsense'",
        ),
        (["index", "--ray-workers", "0"], "argument --ray-workers: '0' is not a whole number"),
    ],
)
def test_a_usage_error_under_json_is_one_json_document_too(capsys, argv, expected):
    with pytest.raises(SystemExit) as exit_:
        cli.main([*argv, "--json"])
    out, err = capsys.readouterr()
    assert exit_.value.code == ExitCode.USAGE
    (document,) = [json.loads(line) for line in out.splitlines()]
    assert document["error"].startswith(expected) and expected in err


def test_an_index_of_another_model_advises_the_model_name_and_backend(capsys, monkeypatch):
    assert run(capsys, "index")[0] == ExitCode.OK
    monkeypatch.setenv("PITWALL_EMBEDDING_MODEL", "another/model")
    status, _, err = run(capsys, "ask", "Plant Alpine die IMSA?")
    assert status == ExitCode.ERROR
    advice = one_line(err).partition("(or set ")[2]
    assert advice == f"PITWALL_EMBEDDING_MODEL={DEFAULT_MODEL} and PITWALL_EMBEDDING_BACKEND=onnx-int8)"


@pytest.mark.parametrize("command", [["index"], ["ask", "Plant Alpine die IMSA?"]])
def test_an_index_folder_that_is_a_file_is_named_as_such(tmp_path, capsys, command):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("notes")
    status, _, err = run(capsys, *command, "--index", str(a_file))
    assert status == ExitCode.ERROR
    assert f"the index folder {a_file} is a file, not a folder" in one_line(err)
    assert a_file.read_text() == "notes"


@pytest.mark.parametrize(
    "data", ["[]", '{"data": [{"title": "T"}]}', '{"data": [{"title": "T", "paragraphs": 3}]}']
)
def test_eval_names_the_file_of_data_that_is_not_squad(tmp_path, capsys, monkeypatch, data):
    monkeypatch.setattr("bot.service.make_embedder", lambda settings: pytest.fail("the model was loaded"))
    squad = tmp_path / "squad.json"
    squad.write_text(data)
    status, out, err = run(capsys, "eval", "--squad", str(squad), "--json")
    assert status == ExitCode.ERROR
    assert f"{squad} is not SQuAD-format data" in one_line(err) and "internal error" not in err
    assert f"{squad} is not SQuAD-format data" in json.loads(out)["error"]


def test_a_stdin_line_too_long_to_be_a_question_stops_the_reading(capsys, monkeypatch):
    run(capsys, "index")
    long_line = "x" * (cli.MAX_LINE_CHARS * 5)  # as `< /dev/zero` would be, without an end
    stdin = io.TextIOWrapper(io.BytesIO(f"Plant Alpine die IMSA?\n{long_line}\nWer ist Penske?\n".encode()))
    reads = []
    monkeypatch.setattr("sys.stdin", stdin)
    real_readline = stdin.readline
    monkeypatch.setattr(stdin, "readline", lambda size=-1: reads.append(size) or real_readline(size))
    status, out, err = run(capsys, "ask", "-", "--json")
    documents = [json.loads(line) for line in out.splitlines()]
    assert status == ExitCode.ERROR
    assert [d.get("question") for d in documents] == ["Plant Alpine die IMSA?", None]
    assert documents[1]["error"] == "line 2 of stdin is over 10,000 characters: one question per line"
    assert all(0 < size <= cli.MAX_LINE_CHARS + 1 for size in reads)  # never a whole line at once
