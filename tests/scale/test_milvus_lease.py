"""One writer per Milvus index: the lease kept in Milvus itself (MilvusBoard, index/store/milvus.py).

Milvus Lite belongs to one process, so the other host is simulated in this process: a lease record of a
build on host-a (as that build writes it) or a second writer whose link to Milvus is cut.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pymilvus")

from index.milvus_build import build_into_milvus  # noqa: E402
from index.store import milvus  # noqa: E402
from index.store.generations import IndexBusy, IndexStoreError  # noqa: E402
from index.store.lease import Holder, LeaseLost, current_holder  # noqa: E402
from index.store.milvus import Generation, MilvusBoard, MilvusWriter, connect  # noqa: E402
from tests.conftest import write_article, write_two_articles  # noqa: E402
from tests.fakes import FakeEmbedder  # noqa: E402

PREFIX = "pw"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def corpus(tmp_path):
    return write_two_articles(tmp_path / "corpus")


@pytest.fixture
def client(tmp_path, corpus):
    client = connect(str(tmp_path / "milvus.db"))
    build(corpus, client, "first build")
    return client


def build(corpus, client, what: str):
    writer = MilvusWriter(client, PREFIX)
    with writer.build_lock(what):  # the default lease time: Milvus Lite shares this process's cores
        return build_into_milvus(corpus, writer, model_id=FakeEmbedder.model_id, get_embedder=FakeEmbedder)


def article_ids(client) -> set[str]:
    live = Generation.live(client, PREFIX)
    rows = client.query(live.articles, filter="part == 0", output_fields=["article_id"], limit=100)
    return {row["article_id"] for row in rows}


def test_a_build_on_another_host_is_named_and_its_partial_generation_dropped_once_it_died(corpus, client):
    live = Generation.live(client, PREFIX)
    partial = Generation.new(PREFIX)  # what a build on host-a made before it died
    milvus._create_generation(client, partial, FakeEmbedder.dimension, 10)
    board = MilvusBoard(client, PREFIX)
    now = time.time()
    epoch = max(record.epoch for record in board.read()) + 1
    board.claim(
        Holder(epoch, "a", "feed refresh", "host-a", 4242, "machine-a", now, now + 1.5, (partial.name,))
    )
    write_article(corpus, "neu", "Neu", "Ein neuer Artikel über Rallye.")

    with pytest.raises(IndexBusy, match=r"feed refresh on host host-a, pid 4242, since "):
        build(corpus, client, "/reindex")
    assert client.has_collection(partial.chunks) and "neu" not in article_ids(client)

    time.sleep(1.6)  # host-a's lease runs out: it never renewed it
    report = build(corpus, client, "/reindex")

    assert report.added == 1 and "neu" in article_ids(client)
    assert Generation.live(client, PREFIX) == live  # an incremental update of the live generation
    assert not any(client.has_collection(name) for name in (partial.chunks, partial.units, partial.articles))
    assert current_holder(board) is None


class CutOff(MilvusBoard):
    """A writer's link to Milvus's lease collection, cut while `cut` is set."""

    cut = False

    def read(self):
        if self.cut:
            raise ConnectionError("Milvus cannot be reached")
        return super().read()

    def write(self, holder):
        if self.cut:
            raise ConnectionError("Milvus cannot be reached")
        super().write(holder)


def test_a_writer_cut_off_past_its_lease_writes_and_switches_nothing_after_another_took_over(
    corpus, client, monkeypatch
):
    first = Generation.live(client, PREFIX)
    writer = MilvusWriter(client, PREFIX)
    monkeypatch.setattr(milvus, "MilvusBoard", CutOff)
    with writer.build_lock("slow build", 1.0) as lease:
        monkeypatch.undo()
        writer.start(incremental=False, dimension=FakeEmbedder.dimension, expected_chunks=10)
        abandoned = writer.target
        lease.board.cut = True  # type: ignore[attr-defined]
        time.sleep(1.1)  # its lease runs out: the heartbeat cannot renew it

        write_article(corpus, "neu", "Neu", "Ein neuer Artikel über Rallye.")
        assert build(corpus, client, "/reindex").added == 1  # another build took over
        assert not client.has_collection(abandoned.chunks)  # and dropped what the cut-off one had made
        lease.board.cut = False  # type: ignore[attr-defined]

        with pytest.raises(LeaseLost, match="lost the lease"):
            writer.delete_article("alpine")
        with pytest.raises(LeaseLost, match="nothing was published"):
            writer.publish(milvus.read_manifest(client, first))

    assert Generation.live(client, PREFIX) == first
    assert {"alpine", "ferrari", "neu"} <= article_ids(client)


def test_the_alias_switch_is_fenced_by_the_lease_read_back(corpus, client):
    first = Generation.live(client, PREFIX)
    writer = MilvusWriter(client, PREFIX)
    with writer.build_lock("slow build", 30.0) as lease:
        writer.start(incremental=False, dimension=FakeEmbedder.dimension, expected_chunks=10)
        now = time.time()  # a build on host-b took the lease over (this one was paused, say)
        taker = Holder(lease.holder.epoch + 1, "b", "pitwall fetch", "host-b", 7, "", now, now + 30)
        MilvusBoard(client, PREFIX).claim(taker)

        with pytest.raises(LeaseLost, match="pitwall fetch on host host-b, pid 7, since .* took over"):
            writer.publish(milvus.read_manifest(client, first))
    assert Generation.live(client, PREFIX) == first


def test_a_second_process_opening_the_milvus_lite_file_is_told_one_process_owns_it(tmp_path):
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(tmp_path / "lite.db")],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout.readline().strip() == "open"
        with pytest.raises(IndexStoreError, match="is another process using it"):
            connect(str(tmp_path / "lite.db"))
    finally:
        owner.kill()
        owner.wait()


OWNER = """
import sys, time
from index.store.milvus import connect
connect(sys.argv[1])
print("open", flush=True)
time.sleep(60)
"""


def test_a_milvus_that_fails_a_lease_request_stops_the_build_with_one_error(corpus, client, monkeypatch):
    from pymilvus.exceptions import MilvusException

    def unavailable(*args, **kwargs):
        raise MilvusException(message="server unavailable")

    live = Generation.live(client, PREFIX)
    monkeypatch.setattr(client, "query", unavailable)
    with pytest.raises(IndexStoreError, match="Milvus did not answer about the lease .*server unavailable"):
        build(corpus, client, "/reindex")
    monkeypatch.undo()
    assert Generation.live(client, PREFIX) == live
