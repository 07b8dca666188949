"""The shipped corpus in Milvus Lite answers like the FAISS store (real bundled model)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.service import AnswerService
from bot.settings import Settings
from tests.conftest import SHIPPED_CORPUS

pytest.importorskip("pymilvus")
pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = (
    "Is Alpine entering IMSA?",
    "Ab wann will Renault in den USA verkaufen?",
    "Who won the Tour de France?",
)


def test_milvus_lite_answers_with_the_faiss_quotes_and_a_rerun_embeds_nothing(tmp_path, real_embedder):
    corpus = tmp_path / "corpus"
    shutil.copytree(SHIPPED_CORPUS, corpus)

    def service(kind):
        settings = Settings(
            corpus_dir=corpus,
            index_dir=tmp_path / "index",
            store=kind,
            milvus_uri=str(tmp_path / "milvus.db"),
            embedding_backend="torch",  # the backend of real_embedder
        )
        return AnswerService(settings, lambda _: real_embedder)

    faiss, milvus = service("faiss"), service("milvus")
    assert faiss.reindex().embedded_chunks == milvus.reindex().embedded_chunks > 0
    for question in QUESTIONS:
        expected, answer = faiss.ask(question), milvus.ask(question)
        assert answer.abstained == expected.abstained
        assert [(c.article_id, c.quote) for c in answer.citations] == [
            (c.article_id, c.quote) for c in expected.citations
        ]
    assert not milvus.ask(QUESTIONS[0]).abstained
    again = service("milvus").reindex()
    assert (again.embedded_chunks, again.added, again.changed, again.removed) == (0, 0, 0, 0)


def test_index_and_ask_with_milvus_lite_print_no_traceback(tmp_path):
    """Milvus Lite's embedded server logs the calls it does not implement (`AllocTimestamp`) with a
    traceback; Pitwall routes them to its log at debug level, so stderr stays clean."""
    corpus = tmp_path / "corpus"
    shutil.copytree(SHIPPED_CORPUS, corpus)
    env = os.environ | {
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        "PITWALL_STORE": "milvus",
        "PITWALL_CORPUS_DIR": str(corpus),
        "PITWALL_INDEX_DIR": str(tmp_path / "index"),
    }
    for command in (["index"], ["ask", QUESTIONS[0]]):
        done = subprocess.run(
            [sys.executable, "-m", "bot", *command], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr and "Method not implemented" not in done.stderr, done.stderr
    assert "IMSA" in done.stdout
