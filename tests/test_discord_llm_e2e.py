"""End to end with a language model: `pitwall bot`'s own client, the real answer service and bundled model
over the seed article (German), a local OpenAI-compatible server, and the local Discord. An English question
gets an English answer sentence heading the reply and each German quote with its translation under it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.service import AnswerService
from bot.settings import Settings
from tests.discord_harness.session import BotSession
from tests.fake_openai import FakeModelServer, quotes_of

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

ROOT = Path(__file__).resolve().parent.parent
SEED_ID = "000_b42d2c4aa54e0ed9"
KEY = "sk-discord-e2e-not-to-be-seen"


def english_reading(messages: list[dict[str, str]]) -> dict:
    """A model that answers in English from the first quote naming the IMSA and 'translates' each quote
    (a stand-in text in English: the verifier checks a translation's language and numbers)."""
    quotes = quotes_of(messages)
    n = next(n for n, quote in quotes.items() if "IMSA" in quote)
    return {
        "answer": f"No: there is no concrete plan for the IMSA yet [{n}].",
        "translations": [
            {"n": n, "text": "In English: what the quote says, as the article says it."}
            for n, quote in quotes.items()
        ],
        "verdict": "stated",
    }


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BotSession, FakeModelServer]]:
    base = tmp_path_factory.mktemp("discord-llm-e2e")
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy(ROOT / "corpus" / f"{SEED_ID}.md", corpus)
    model = FakeModelServer()
    settings = Settings(
        corpus_dir=corpus,
        index_dir=base / "index",
        llm_url=model.url,
        llm_model="fake-model",
        llm_api_key=SecretStr(KEY),
        llm_timeout=10,
    )
    service = AnswerService(settings)
    service.reindex()
    session = BotSession(service, base)  # type: ignore[arg-type]
    session.alice = session.discord.add_member("alice")  # type: ignore[attr-defined]
    session.start()
    yield session, model
    assert session.stop() == 0
    assert not session.log.take_errors()
    assert KEY not in session.log.text()
    model.close()


def test_an_english_question_over_a_german_article_gets_an_english_answer_and_translated_quotes(
    env: tuple[BotSession, FakeModelServer],
) -> None:
    session, model = env
    model.reply(english_reading)
    d = session.discord
    ix = session.run(d.slash(session.alice, "ask", question="Is Alpine entering IMSA?"))  # type: ignore[attr-defined]
    reply = session.run(d.wait_final(ix, timeout=120), 150)
    assert reply.content.startswith("No: there is no concrete plan for the IMSA yet \\[")
    description = reply.embeds[0]["description"]
    blocks = description.split("\n\n")
    assert blocks and all(
        "\n> " in block and "\n*(translated by the language model)* " in block for block in blocks
    )
    quote, translation = blocks[0].split("\n> ", 1)[1].split("\n*(translated by the language model)* ")
    seed = (ROOT / "corpus" / f"{SEED_ID}.md").read_text(encoding="utf-8")
    assert quote.replace("\\", "").rstrip("…") in seed  # the quote word for word, above its translation
    assert translation.startswith("In English: ")
    assert model.requests[-1].headers["authorization"] == f"Bearer {KEY}"


def test_status_names_the_model_and_that_it_answered(env: tuple[BotSession, FakeModelServer]) -> None:
    session, model = env
    model.reply(english_reading)
    d = session.discord
    session.run(d.wait_final(session.run(d.slash(session.alice, "ask", question="Is Alpine entering IMSA?"))))  # type: ignore[attr-defined]
    status = session.run(d.wait_final(session.run(d.slash(session.alice, "status")))).embeds[0]  # type: ignore[attr-defined]
    assert "**Language model:** fake-model, answered" in status["description"]
