"""The language model in `pitwall ask`, `chat`, `eval --answers` and /status (fake embedder, local fake
server); without PITWALL_LLM_URL nothing changes and `openai` is never imported."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import cli
from bot.answering.answers import Answer, Citation
from bot.answering.model import ModelStatus
from bot.discord_bot.panels import language_model_summary, status_reply
from bot.evaluation.answers import AnswerQuestion, summarize
from bot.service import AnswerService, ServiceStatus
from tests.bot.test_cli import ALPINE_SENTENCE, run
from tests.bot.test_cli import corpus as corpus  # noqa: F401 - the fixture
from tests.fake_openai import FakeModelServer, quotes_of

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "Plant Alpine einen Einstieg in die IMSA?"
LEAD = "Nein: Alpine plant keinen Einstieg in die IMSA [1]."


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeModelServer]:
    server = FakeModelServer()
    monkeypatch.setenv("PITWALL_LLM_URL", server.url)
    monkeypatch.setenv("PITWALL_LLM_MODEL", "fake-model")
    monkeypatch.setenv("PITWALL_LLM_TIMEOUT", "5")
    yield server
    server.close()


def alpine_first(messages: list[dict[str, str]]) -> dict:
    """The reading of a model that answers from whichever quote holds the Alpine sentence."""
    n = next(n for n, quote in quotes_of(messages).items() if ALPINE_SENTENCE in quote)
    return {"answer": LEAD.replace("[1]", f"[{n}]"), "translations": [], "verdict": "stated"}


def test_ask_json_says_where_the_lead_comes_from(corpus, server, capsys) -> None:  # noqa: F811
    run(capsys, "index")
    server.reply(alpine_first)
    status, out, _ = run(capsys, "ask", QUESTION, "--json")
    answer = json.loads(out)
    assert status == cli.EXIT_OK and not answer["abstained"]
    assert answer["answer"].startswith("Nein: Alpine plant keinen Einstieg in die IMSA [")
    assert (answer["lead_from"], answer["model"]) == ("model", "fake-model")
    assert "model" in answer["timings_ms"] and "total" in answer["timings_ms"]
    assert all("translation" not in c for c in answer["citations"])  # German quotes for a German question


def test_ask_prints_the_answer_sentence_above_the_quotes_and_translations_under_them(
    corpus,  # noqa: F811
    server,
    capsys,
) -> None:
    run(capsys, "index")
    server.reply(alpine_first)
    status, out, _ = run(capsys, "ask", QUESTION)
    lines = out.splitlines()
    assert status == cli.EXIT_OK and lines[0].startswith("Nein: Alpine plant keinen Einstieg")
    assert any(ALPINE_SENTENCE in line for line in lines[1:])
    quote = Citation(
        1, ALPINE_SENTENCE, "a", "Alpine", "MT", "", None, 0.5, "", "Alpine plans no IMSA entry."
    )
    english = Answer("Is Alpine entering IMSA?", "en", False, "No: Alpine plans no IMSA entry [1].", (quote,))
    assert cli.format_answer(english).splitlines()[:3] == [
        "No: Alpine plans no IMSA entry [1].",
        f"[1] „{ALPINE_SENTENCE}“",
        "    (translated by the language model) Alpine plans no IMSA entry.",
    ]


def test_chat_prints_the_answer_sentence_first(corpus, server, capsys, monkeypatch) -> None:  # noqa: F811
    run(capsys, "index")
    server.reply(alpine_first)
    monkeypatch.setattr("sys.stdin", io.StringIO(QUESTION + "\n\n"))
    status, out, _ = run(capsys, "chat")
    assert status == cli.EXIT_OK
    assert out.split("? ", 1)[1].startswith("Nein: Alpine plant keinen Einstieg")


def test_a_model_that_fails_leaves_the_answer_of_today(
    corpus,  # noqa: F811
    server,
    capsys,
    monkeypatch,
    caplog,
) -> None:
    run(capsys, "index")
    with monkeypatch.context() as without_model:
        without_model.delenv("PITWALL_LLM_URL")
        _, today, _ = run(capsys, "ask", QUESTION, "--json")
    server.reply(status=500)
    status, out, _ = run(capsys, "ask", QUESTION, "--json")
    with_failure = json.loads(out)
    assert status == cli.EXIT_OK and "answering without it" in caplog.text
    expected = json.loads(today) | {"lead_from": "quotes", "model": "fake-model"}
    for answer in (with_failure, expected):
        answer.pop("timings_ms")
    assert with_failure == expected


def test_without_the_setting_openai_is_never_imported(corpus, capsys) -> None:  # noqa: F811
    run(capsys, "index")
    script = (
        "import sys\n"
        "from bot.service import AnswerService\n"
        "from bot.settings import Settings\n"
        "from tests.fakes import FakeEmbedder\n"
        "service = AnswerService(Settings(), lambda _: FakeEmbedder())\n"
        "service.load()\n"
        f"answer = service.ask({QUESTION!r})\n"
        "assert not answer.abstained and answer.lead_from == 'quotes' and answer.model == ''\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('openai', 'httpx', 'httpx2')))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITWALL_LLM")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_eval_reports_kept_sentences_and_abstentions_the_verdict_made() -> None:
    cited = (Citation(1, "q", "a", "t", "s", "", None, 0.5, ""),)

    def answer(outcome: str, abstained: bool = False) -> Answer:
        return Answer("q", "en", abstained, "lead", cited, model="m", model_outcome=outcome)

    def question(answerable: bool) -> AnswerQuestion:
        return AnswerQuestion("id", "q", "en", "a" if answerable else None, ("zzz",))

    results = [
        (question(True), answer("kept")),
        (question(True), answer("kept")),
        (question(True), answer("dropped")),
        (question(True), answer("failed")),
        (question(False), answer("not stated", True)),
        (question(False), answer("kept")),
    ]
    assert summarize(results)["model"] == {
        "read": 6,
        "sentences_kept": 0.75,
        "failed": round(1 / 6, 4),
        "unanswerable_turned_to_abstention": 0.5,
        "answerable_turned_to_abstention": 0.0,
    }
    assert "model" not in summarize([(question(True), Answer("q", "en", False, "lead", cited))])


def test_status_names_the_model_and_whether_it_answered_recently() -> None:
    now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    answered = ModelStatus("llama3.2", now - dt.timedelta(seconds=90), None, "")
    failing = ModelStatus("llama3.2", None, now - dt.timedelta(seconds=5), "no reply within 20 s")
    assert language_model_summary(answered, now) == "llama3.2, answered 1 min ago"
    assert language_model_summary(failing, now) == "llama3.2, failed 5 s ago: no reply within 20 s"
    assert language_model_summary(ModelStatus("m", None, None, ""), now) == "m, not asked yet"
    assert language_model_summary(None).startswith("none")
    reply = status_reply(ServiceStatus(1, 2, "bundled", "", None, answered))
    assert reply.embed is not None and "**Language model:** llama3.2, answered" in reply.embed["description"]


def test_the_service_reads_the_settings_model_only_when_set(server) -> None:
    from bot.settings import Settings

    assert AnswerService(Settings(llm_url="")).language_model is None
    model = AnswerService(Settings()).language_model
    assert model is not None and model.model == "fake-model" and model.timeout == 5
