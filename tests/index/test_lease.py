"""One writer per index across processes and hosts (index/store/lease.py), on a shared index folder.

The holders are real processes (`tests/index/lease_writer.py`, fake embedder, "host-a"); the second writer
is this test process as "host-b": it cannot check the holder's pid, so only the lease's expiry frees it. The
holders' leases last 1-2 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from index.build import build_index
from index.store import lease
from index.store.generations import IndexBusy, IndexStoreError, current_generation, load_index
from index.store.lease import FolderBoard, Holder, LeaseLost, build_lock, current_holder, hold_lease
from tests.conftest import write_article, write_two_articles
from tests.fakes import FakeEmbedder

ROOT = Path(__file__).resolve().parents[2]
LOST = 76


@pytest.fixture
def corpus(tmp_path):
    return write_two_articles(tmp_path / "corpus")


@pytest.fixture
def index_dir(tmp_path, corpus):
    folder = tmp_path / "index"
    build_index(corpus, folder, model_id=FakeEmbedder.model_id, get_embedder=FakeEmbedder)
    write_article(corpus, "neu", "Neu", "Ein neuer Artikel über Rallye.")  # the next build publishes it
    return folder


def writer(corpus: Path, index_dir: Path, *options: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "tests.index.lease_writer", str(corpus), str(index_dir), *options]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> tuple[int, str]:
    out, _ = process.communicate(timeout=120)
    return process.returncode, out


def wait_for(path: Path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while not path.exists():
        assert process.poll() is None, finish(process)
        assert time.monotonic() < deadline, f"{path.name} never came"
        time.sleep(0.02)


def entries(index_dir: Path) -> dict[str, float]:
    """Every entry of the index folder but the lease records, with its modification time."""
    return {p.name: p.lstat().st_mtime for p in index_dir.iterdir() if p.name != ".lease"}


@pytest.fixture
def elsewhere(monkeypatch):
    """This test process as a writer on another host: it cannot check the holder's pid."""
    monkeypatch.setattr(lease, "this_machine", lambda: ("host-b", "machine of host-b"))


def build_here(corpus: Path, index_dir: Path, seconds: float = 30) -> None:
    with build_lock(index_dir, "pitwall index", seconds) as held:
        build_index(corpus, index_dir, model_id=FakeEmbedder.model_id, get_embedder=FakeEmbedder, lease=held)


def build_until_free(corpus: Path, index_dir: Path) -> list[str]:
    """Build here, retrying while another build holds the lease; the refusals."""
    refusals = []
    deadline = time.monotonic() + 60
    while True:
        try:
            build_here(corpus, index_dir)
            return refusals
        except IndexBusy as busy:
            assert time.monotonic() < deadline, refusals
            refusals.append(str(busy))
            time.sleep(0.1)


def test_a_second_writer_is_told_and_a_killed_holders_lease_expires_leaving_no_orphan(
    corpus, index_dir, elsewhere
):
    live = current_generation(index_dir)
    holder = writer(corpus, index_dir, "--host", "host-a", "--seconds", "2", "--stop-at", "dense.faiss")
    wait_for(index_dir.parent / "dense.faiss.ready", holder)  # mid-build: its staging folder is half written
    staging = [p.name for p in index_dir.glob("tmp-*")]
    assert len(staging) == 1
    before = entries(index_dir)

    with pytest.raises(IndexBusy) as busy:
        build_here(corpus, index_dir)
    assert f"lease_writer on host host-a, pid {holder.pid}, since " in str(busy.value)
    time.sleep(4.5)  # over twice the lease time: the heartbeat keeps it while the holder lives
    with pytest.raises(IndexBusy, match="host host-a"):
        build_here(corpus, index_dir)
    assert entries(index_dir) == before  # the refused writer touched nothing
    assert current_generation(index_dir) == live

    holder.send_signal(signal.SIGKILL)
    holder.wait()
    refusals = build_until_free(corpus, index_dir)  # once its lease has run out

    published = current_generation(index_dir)
    assert published != live
    assert "neu" in {a.id for a in load_index(index_dir, model_id=FakeEmbedder.model_id).articles}
    assert not list(index_dir.glob("tmp-*")), "the dead holder's staging folder is gone"
    assert {p.name for p in index_dir.glob("gen-*")} == {live.name, published.name}
    assert current_holder(FolderBoard(index_dir)) is None
    assert all("host host-a" in refusal for refusal in refusals)


def test_a_holder_paused_past_its_lease_publishes_nothing_after_another_build_took_over(
    corpus, index_dir, elsewhere
):
    holder = writer(corpus, index_dir, "--host", "host-a", "--seconds", "1", "--stop-at", "swap")
    wait_for(index_dir.parent / "swap.ready", holder)  # its generation is written, the switch is next
    holder.send_signal(signal.SIGSTOP)  # paused (or cut off from the shared folder): no heartbeat
    try:
        build_until_free(corpus, index_dir)
        taken_over = current_generation(index_dir)
        (index_dir.parent / "go").touch()
    finally:
        holder.send_signal(signal.SIGCONT)
    code, out = finish(holder)

    assert code == LOST, out
    assert "lost the lease" in out and "host host-b" in out and "nothing was published" in out
    assert current_generation(index_dir) == taken_over  # fencing: the paused holder did not switch
    assert not list(index_dir.glob("tmp-*"))
    assert len(list(index_dir.glob("gen-*"))) == 2  # the taker's and the one before; the holder's is gone
    assert "neu" in {a.id for a in load_index(index_dir, model_id=FakeEmbedder.model_id).articles}


def test_writers_racing_in_threads_never_hold_the_lease_together(tmp_path):
    board, holding, most, taken = FolderBoard(tmp_path), [0], [0], [0]
    guard = threading.Lock()
    start = threading.Barrier(6)

    def race() -> None:
        start.wait()
        for _ in range(15):
            try:
                with hold_lease(board, "racer", seconds=5):
                    with guard:
                        holding[0] += 1
                        most[0] = max(most[0], holding[0])
                        taken[0] += 1
                    time.sleep(0.002)
                    with guard:
                        holding[0] -= 1
            except IndexBusy:
                pass

    threads = [threading.Thread(target=race) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1 and taken[0] > 0


def test_a_claim_that_sees_a_rival_backs_off(tmp_path):
    """The flag principle: a claim is written, then the board read; a rival seen there wins."""
    board = FolderBoard(tmp_path)
    now = time.time()

    class Racing(FolderBoard):
        def claim(self, holder: Holder) -> bool:  # a rival's claim lands between our write and our read
            won = super().claim(holder)
            board.claim(Holder(holder.epoch + 1, "rival", "pitwall fetch", "host-b", 1, "", now, now + 60))
            return won

    with (
        pytest.raises(IndexBusy, match="pitwall fetch on host host-b"),
        hold_lease(Racing(tmp_path), "index"),
    ):
        pass
    assert [r.token for r in board.read()] == ["rival"]


def test_the_lease_names_a_live_holder_and_a_released_one_frees_it(tmp_path):
    with build_lock(tmp_path, "/reindex") as lease:
        holder = current_holder(FolderBoard(tmp_path))
        assert holder is not None and holder.token == lease.holder.token and holder.what == "/reindex"
        busy = pytest.raises(IndexBusy, match=r"/reindex on host .*, pid \d+, since \d{4}-\d\d-\d\d ")
        with busy, build_lock(tmp_path, "pitwall index"):
            pass
    assert current_holder(FolderBoard(tmp_path)) is None
    with build_lock(tmp_path, "pitwall index"):
        pass


def test_fence_fails_when_another_build_took_over(tmp_path):
    with build_lock(tmp_path, "slow build", seconds=1) as lease:
        now = time.time()
        FolderBoard(tmp_path).claim(
            Holder(lease.holder.epoch + 1, "taker", "pitwall fetch", "b", 1, "", now, now + 60)
        )
        with pytest.raises(LeaseLost, match="pitwall fetch on host b, pid 1, since .* took over"):
            lease.fence()


def test_lease_records_are_readable_by_every_user_and_an_unreadable_one_is_an_error_not_a_free_lease(
    tmp_path, monkeypatch
):
    with build_lock(tmp_path, "pitwall index"):
        record = next((tmp_path / ".lease").glob("*.json"))
        assert record.stat().st_mode & 0o777 == 0o644  # builds of other users on other hosts read it

        def refused(path, *args, **kwargs):  # another user's record, without the read permission
            raise PermissionError(13, "Permission denied", str(path))

        monkeypatch.setattr(Path, "read_text", refused)
        with pytest.raises(IndexStoreError, match="cannot read the lease record .* must be able to read"):
            build_lock(tmp_path, "pitwall fetch").__enter__()
