"""The language-model client against a local OpenAI-compatible server: what it says is shown only when
verified, and any failure is today's answer within the timeout, logged once, without the API key."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from pydantic import SecretStr

from bot.answering.answers import Answer, Citation
from bot.answering.model import LanguageModel, ModelSettingError, parse_reading, prompt_messages
from tests.fake_openai import FakeModelServer

KEY = "sk-test-5e3ret-do-not-show"
QUOTES = (
    '"Es gibt keinen wirklichen Plan, aber die Idee, in der IMSA zu fahren, ist da."',
    "Bruno Famin verrät, dass Alpine die IMSA weiterhin im Hinterkopf hat, allerdings "
    '"ohne konkretes Projekt".',
    "Mutterkonzern Renault will die eigenen Autos ab 2027 auch in Amerika verkaufen.",
)
ANSWER = Answer(
    "Is Alpine entering IMSA?",
    "en",
    False,
    "Here is what the articles say:",
    tuple(
        Citation(n, q, "seed", "Alpine hat keinen Plan", "MT", "", dt.date(2024, 10, 1), 0.5, "")
        for n, q in enumerate(QUOTES, start=1)
    ),
)
GROUNDED = {
    "answer": "No: Alpine has no concrete plan for the IMSA [1][2].",
    "translations": [
        {"n": 1, "text": '"There is no real plan, but the idea of racing in the IMSA is there."'},
        {"n": 3, "text": "Parent company Renault wants to sell its cars in America from 2027."},
    ],
    "verdict": "stated",
}


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    server = FakeModelServer()
    yield server
    server.close()


def client(url: str, timeout: float = 1.5) -> LanguageModel:
    return LanguageModel(url, "fake-model", SecretStr(KEY), timeout)


def test_a_grounded_answer_heads_the_quotes_with_translations_under_them(server: FakeModelServer) -> None:
    server.reply(GROUNDED)
    answer = client(server.url).read(ANSWER)
    assert answer.answer == GROUNDED["answer"]
    assert (answer.lead_from, answer.model, answer.model_outcome) == ("model", "fake-model", "kept")
    assert [c.quote for c in answer.citations] == list(QUOTES)  # word for word, unchanged
    assert [c.translation for c in answer.citations] == [
        GROUNDED["translations"][0]["text"],
        "",
        GROUNDED["translations"][1]["text"],
    ]
    request = server.requests[-1]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body["response_format"]["type"] == "json_schema"
    assert all(q in request.body["messages"][-1]["content"] for q in QUOTES)
    assert "[1], [2], [3]" in request.body["messages"][-1]["content"]  # German quotes: translate all


@pytest.mark.parametrize(
    "sentence",
    [
        "No: Alpine will enter the IMSA in 2026 [1][2].",  # a number no cited quote holds
        "No: Alpine has no plan for the IMSA with Porsche [1].",  # a name no cited quote holds
        "No: Alpine has no concrete plan for the IMSA [7].",  # three quotes were shown
        "No: Alpine has no concrete plan for the IMSA.",  # no citation
    ],
)
def test_an_answer_the_quotes_do_not_back_is_dropped_and_the_usual_lead_stands(
    server: FakeModelServer, sentence: str
) -> None:
    server.reply(GROUNDED | {"answer": sentence})
    answer = client(server.url).read(ANSWER)
    assert answer.answer == ANSWER.answer and answer.lead_from == "quotes"
    assert answer.model_outcome == "dropped"
    assert [c.quote for c in answer.citations] == list(QUOTES)


def test_a_not_stated_verdict_abstains_with_the_closest_articles(server: FakeModelServer) -> None:
    server.reply({"answer": "", "translations": [], "verdict": "not stated"})
    answer = client(server.url).read(ANSWER)
    assert answer.abstained and answer.citations == ()
    assert answer.answer == "The articles don't say. The closest articles are:"
    assert [r.article_id for r in answer.closest] == ["seed"]


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens there any more: connection refused


FAILURES = {
    "timeout": {"content": GROUNDED, "delay": 4.0},
    "500": {"status": 500},
    "refused connection": None,
    "malformed JSON": {"content": '{"answer": "No [1]", "verdict": '},
    "no JSON at all": {"content": "Alpine has no plan."},
    "refusal": {"refusal": "I cannot help with that."},
}


@pytest.mark.parametrize("failure", FAILURES)
def test_any_failure_is_todays_answer_within_the_timeout_logged_once_without_the_key(
    server: FakeModelServer, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    behaviour = FAILURES[failure]
    url = closed_port_url() if behaviour is None else server.url
    if behaviour is not None:
        server.reply(**behaviour)
    model = client(url, timeout=1.5)
    with caplog.at_level(logging.DEBUG):
        started = time.monotonic()
        first = model.read(ANSWER)
        seconds = time.monotonic() - started
        second = model.read(ANSWER)
    assert seconds < 1.5 + 1.0, seconds
    for answer in (first, second):
        assert answer == replace(ANSWER, model="fake-model", model_outcome="failed")
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "answering without it" in warnings[0].getMessage()  # once per outage
    status = model.status()
    assert status.failure and status.failed_at is not None
    assert KEY not in caplog.text and KEY not in status.failure and KEY not in repr(first)
    if failure == "500":  # the server echoed the key into its error message: shown redacted
        assert "500" in status.failure and "[API key]" in status.failure


def test_a_server_without_json_schema_is_asked_for_a_json_object(server: FakeModelServer) -> None:
    server.reply(GROUNDED, schema_refused=True)
    model = client(server.url)
    assert model.read(ANSWER).lead_from == "model"
    assert model.read(ANSWER).lead_from == "model"
    formats = [r.body["response_format"]["type"] for r in server.requests]
    assert formats == ["json_schema", "json_object", "json_object"]  # asked with a schema only once


def test_status_says_when_it_answered_and_recovers_after_a_failure(
    server: FakeModelServer, caplog: pytest.LogCaptureFixture
) -> None:
    model = client(server.url)
    assert model.status().answered_at is None
    server.reply(status=500)
    model.read(ANSWER)
    server.reply(GROUNDED)
    with caplog.at_level(logging.INFO):
        model.read(ANSWER)
    status = model.status()
    assert status.failure == "" and status.answered_at is not None
    assert "answers again" in caplog.text


def test_abstentions_are_not_sent_to_the_model(server: FakeModelServer) -> None:
    abstained = Answer("Wie backe ich Brot?", "de", True, "Dazu sagen die Artikel nichts.")
    assert client(server.url).read(abstained) is abstained and server.requests == []


def test_a_quote_across_a_paragraph_break_stays_on_its_numbered_line() -> None:
    two_paragraphs = replace(ANSWER.citations[1], quote="Erster Absatz.\n\nZweiter Absatz.")
    answer = replace(ANSWER, citations=(ANSWER.citations[0], two_paragraphs, ANSWER.citations[2]))
    quotes = prompt_messages(answer)[-1]["content"].split("Quotes:\n", 1)[1].splitlines()
    assert [line[:3] for line in quotes] == ["[1]", "[2]", "[3]"]
    assert quotes[1].endswith("Erster Absatz. Zweiter Absatz.")


def test_replies_are_parsed_defensively() -> None:
    fenced = '```json\n{"answer": "No [1].", "translations": {"1": "x"}, "verdict": "Not_Stated"}\n```'
    reading = parse_reading(fenced)
    assert (reading.answer, dict(reading.translations), reading.verdict) == (
        "No [1].",
        {1: "x"},
        "not stated",
    )
    odd = parse_reading('Sure! {"answer": 3, "translations": [{"n": "[2]", "translation": "y"}, 5]}')
    assert (odd.answer, dict(odd.translations), odd.verdict) == ("", {2: "y"}, "")
    with pytest.raises(ValueError):
        parse_reading("[1, 2]")


def test_settings_that_cannot_work_are_one_clear_error() -> None:
    with pytest.raises(ModelSettingError, match="PITWALL_LLM_MODEL"):
        LanguageModel("http://127.0.0.1:1/v1", "", SecretStr(""), 1)
    with pytest.raises(ModelSettingError, match="PITWALL_LLM_URL"):
        LanguageModel("localhost:11434", "m", SecretStr(""), 1)
