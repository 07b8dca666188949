"""The answer service loads its model and index once, before the first question, however many ask at once."""

from __future__ import annotations

import threading
from pathlib import Path

import index.store.generations
from bot.service import AnswerService
from bot.settings import Settings
from tests.conftest import write_article
from tests.fakes import FakeEmbedder


def test_load_reads_the_index_once_for_threads_asking_at_once(tmp_path: Path, monkeypatch) -> None:
    write_article(tmp_path / "corpus", "a", "Alpine", "Alpine plant keinen Einstieg in die IMSA.")
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    AnswerService(settings, lambda _: FakeEmbedder()).reindex()

    loads: list[int] = []
    real_load = index.store.generations.load_index

    def counting_load(*args, **kwargs):
        loads.append(1)
        return real_load(*args, **kwargs)

    monkeypatch.setattr("bot.service.load_index", counting_load)
    service = AnswerService(settings, lambda _: FakeEmbedder())
    start = threading.Barrier(8)

    def first_question() -> None:
        start.wait()
        service.status()

    threads = [threading.Thread(target=first_question) for _ in range(7)]
    for t in threads:
        t.start()
    start.wait()
    service.load()
    for t in threads:
        t.join()
    assert len(loads) == 1
    service.load()  # loading again is free
    assert len(loads) == 1
