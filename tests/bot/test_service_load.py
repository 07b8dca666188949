"""The answer service loads its model and index once, before the first question, however many ask at once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import bot.service
import index.store.generations
from bot.service import AnswerService
from bot.settings import Settings
from index.store.lease import build_lock
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


@pytest.mark.parametrize("store", ["faiss", "milvus"])
def test_a_build_another_process_published_is_swapped_in_at_the_next_look(
    tmp_path: Path, monkeypatch, store: str
) -> None:
    if store == "milvus":
        pytest.importorskip("pymilvus")
    corpus = tmp_path / "corpus"
    write_article(corpus, "a", "Alpine", "Alpine plant keinen Einstieg in die IMSA.")
    settings = Settings(
        corpus_dir=corpus, index_dir=tmp_path / "index", store=store, milvus_uri=str(tmp_path / "milvus.db")
    )
    monkeypatch.setattr("bot.service.FOLLOW_SECONDS", 0.0)  # look at every question
    builder, reader = (AnswerService(settings, lambda _: FakeEmbedder()) for _ in range(2))  # two shards
    builder.reindex()
    assert reader.status().articles == 1

    opened: list[int] = []
    real_open = bot.service.open_store
    monkeypatch.setattr("bot.service.open_store", lambda s: opened.append(1) or real_open(s))
    reader.ask("Plant Alpine einen Einstieg?")
    assert opened == []  # nothing new published: nothing loaded

    write_article(corpus, "d", "Daytona", "Porsche gewinnt die 24 Stunden von Daytona.")
    builder.reindex(what="feed refresh")  # shard 0's scheduled refresh
    assert reader.status().articles == 2
    assert [a.id for a in reader.find_articles("Daytona")] == ["d"]
    assert opened == [1]


def test_the_bot_start_up_build_serves_the_published_index_or_waits_for_the_first_while_another_runs(
    tmp_path: Path, monkeypatch
) -> None:
    write_article(tmp_path / "corpus", "a", "Alpine", "Alpine plant keinen Einstieg in die IMSA.")
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    monkeypatch.setattr("bot.service.WAIT_SECONDS", 0.05)
    service = AnswerService(settings, lambda _: FakeEmbedder())
    notes: list[str] = []

    held, release = threading.Event(), threading.Event()

    def other_shard() -> None:  # another bot process's start-up build, holding the lease
        with build_lock(settings.index_dir, "pitwall bot start-up"):
            held.set()
            release.wait(30)

    other = threading.Thread(target=other_shard)
    other.start()
    held.wait(30)
    threading.Timer(0.5, release.set).start()
    report = service.reindex_at_start(notify=notes.append)  # no index yet: it waits, then builds
    other.join()
    assert report is not None and report.added == 1
    assert notes == [notes[0]] and "there is no index yet: waiting for that build" in notes[0]
    assert "pitwall bot start-up on host " in notes[0]

    with build_lock(settings.index_dir, "feed refresh"):  # an index is published: serve it meanwhile
        assert service.reindex_at_start(notify=notes.append) is None
    assert "feed refresh on host" in notes[-1] and "answering from the current index" in notes[-1]
