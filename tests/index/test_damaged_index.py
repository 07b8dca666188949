"""A damaged index is one clear error naming the file, never a wrong answer or a crash; a build killed
at any publishing step leaves an index that loads; a build never deletes what `current` points to."""

from __future__ import annotations

import errno
import json
import os
import signal

import numpy as np
import pytest

from index.build import build_index
from index.store import generations as store
from index.store.generations import IndexDamaged, IndexWriteError, current_generation, load_index
from index.store.integrity import json_checksum
from tests.conftest import write_article
from tests.fakes import FakeEmbedder

MODEL = FakeEmbedder.model_id


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    write_article(
        folder, "alpine", "Alpine", "Alpine plant keinen Einstieg in die IMSA. Famin nennt es eine Idee."
    )
    write_article(folder, "ferrari", "Ferrari", "Ferrari gewinnt in Le Mans. Der Hypercar siegt vor Porsche.")
    write_article(folder, "brot", "Brot", "Sauerteig braucht Zeit und Wärme. Das Brot ruht über Nacht.")
    return folder


def build(corpus, index_dir):
    embedder = FakeEmbedder()
    return build_index(corpus, index_dir, model_id=MODEL, get_embedder=lambda: embedder)


@pytest.fixture
def index_dir(corpus, tmp_path):
    build(corpus, tmp_path / "index")
    return tmp_path / "index"


def generation_files(index_dir):
    generation = current_generation(index_dir)
    return sorted(p.relative_to(generation).as_posix() for p in generation.rglob("*") if p.is_file())


def test_every_file_is_in_the_manifest_with_its_size_and_checksum(index_dir):
    generation = current_generation(index_dir)
    manifest = json.loads((generation / "manifest.json").read_text())
    assert sorted(manifest["files"]) == [
        name for name in generation_files(index_dir) if name != "manifest.json"
    ]
    for name, record in manifest["files"].items():
        assert record["bytes"] == (generation / name).stat().st_size
        assert len(record["sha256"]) == 64


def _damage(path, how):
    data = path.read_bytes()
    if how == "empty":
        path.write_bytes(b"")
    elif how == "missing":
        path.unlink()
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "one byte":  # same size: only the checksum sees it
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :])


FILES = ["manifest.json", "articles.jsonl", "chunks.npy", "vectors.npy", "units.npy", "unit_vectors.npy",
         "dense.faiss", "bm25/"]  # fmt: skip


@pytest.mark.parametrize("how", ["empty", "missing", "truncated", "one byte"])
@pytest.mark.parametrize("name", FILES)
def test_a_damaged_file_is_one_error_naming_it(index_dir, name, how):
    generation = current_generation(index_dir)
    targets = (
        [p for p in (generation / name).rglob("*") if p.is_file()]
        if name.endswith("/")
        else [generation / name]
    )
    for target in targets:
        original = target.read_bytes()
        _damage(target, how)
        with pytest.raises(IndexDamaged) as damaged:
            load_index(index_dir, model_id=MODEL)
        message = str(damaged.value)
        assert f"the index file {target}" in message and "re-index with `pitwall index`" in message
        assert "\n" not in message
        target.write_bytes(original)
    load_index(index_dir, model_id=MODEL)  # sound again


def test_arrays_that_do_not_fit_the_manifest_are_damage_even_with_matching_checksums(index_dir):
    """A build that wrote a wrong but well-formed file: counts and row bounds catch it."""
    generation = current_generation(index_dir)

    def rewrite(name, array):
        np.save(generation / name, array, allow_pickle=False)
        path = generation / "manifest.json"
        document = json.loads(path.read_text())
        document.pop("checksum")
        document["files"][name] = store.file_record(generation / name)
        document["checksum"] = json_checksum(document)
        path.write_text(json.dumps(document))

    chunks = np.load(generation / "chunks.npy")
    for name, array, expected in [
        ("chunks.npy", chunks[:-1], "int64[" + f"{len(chunks) - 1}, 4]"),
        ("chunks.npy", chunks + np.array([0, 0, 0, 10_000]), "a row points outside its article"),
        ("chunks.npy", chunks + np.array([7, 0, 0, 0]), "a row points outside its article"),
        ("units.npy", np.load(generation / "units.npy")[::-1], "not in article order"),
    ]:
        original = (generation / name).read_bytes(), (generation / "manifest.json").read_bytes()
        rewrite(name, array)
        with pytest.raises(IndexDamaged, match=f"{name} is damaged .*{expected}".replace("[", r"\[")):
            load_index(index_dir, model_id=MODEL)
        (generation / name).write_bytes(original[0])
        (generation / "manifest.json").write_bytes(original[1])


def test_swapped_article_lines_are_damage(index_dir):
    path = current_generation(index_dir) / "articles.jsonl"
    first, second, *rest = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([second, first, *rest]))  # same size, same ids
    with pytest.raises(IndexDamaged, match=r"articles.jsonl is damaged \(.*checksum mismatch\)"):
        load_index(index_dir, model_id=MODEL)


def test_an_unknown_field_in_articles_jsonl_is_damage_even_with_a_matching_checksum(index_dir):
    generation = current_generation(index_dir)
    path = generation / "articles.jsonl"
    first, *rest = path.read_text().splitlines(keepends=True)
    path.write_text(json.dumps({**json.loads(first), "extra": 1}) + "\n" + "".join(rest))
    manifest = generation / "manifest.json"
    document = json.loads(manifest.read_text())
    document.pop("checksum")
    document["files"]["articles.jsonl"] = store.file_record(path)
    manifest.write_text(json.dumps({**document, "checksum": json_checksum(document)}))
    with pytest.raises(IndexDamaged, match=r"articles.jsonl is damaged \(TypeError: .*'extra'"):
        load_index(index_dir, model_id=MODEL)


@pytest.mark.parametrize("target", ["current", "/etc", "../outside", "gen-does-not-exist"])
def test_a_current_link_that_points_nowhere_sensible_is_damage(index_dir, target):
    (index_dir / "current").unlink()
    (index_dir / "current").symlink_to(target)
    with pytest.raises(IndexDamaged, match="re-index"):
        load_index(index_dir, model_id=MODEL)


def test_a_current_that_is_not_a_link_is_damage(index_dir):
    (index_dir / "current").unlink()
    (index_dir / "current").write_text("gen-1")
    with pytest.raises(IndexDamaged, match="not a link"):
        load_index(index_dir, model_id=MODEL)


def test_re_indexing_repairs_a_damaged_index(corpus, index_dir):
    generation = current_generation(index_dir)
    _damage(generation / "vectors.npy", "one byte")
    report = build(corpus, index_dir)  # nothing changed in the corpus, but the index is damaged
    assert report.embedded_chunks == report.chunks > 0
    assert len(load_index(index_dir, model_id=MODEL).articles) == 3


# --- writing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("failing", ["vectors.npy", "dense.faiss", "bm25"])
def test_no_space_left_is_one_line_and_the_previous_index_stays_live(corpus, index_dir, monkeypatch, failing):
    live = current_generation(index_dir)
    write_article(corpus, "neu", "Neu", "Ein neuer Artikel über Rallye.")
    real_write_file = store.write_file

    def full_disk(path, fill):
        if path.name == failing:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_file(path, fill)

    def full_disk_bm25(self, directory):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "write_file", full_disk)
    monkeypatch.setattr(store.LexicalIndex, "save", full_disk_bm25) if failing == "bm25" else None
    with pytest.raises(IndexWriteError) as error:
        build(corpus, index_dir)
    assert str(error.value) == (
        f"no space left on device while writing {failing} in {index_dir}; the previous index is still live"
    )
    assert current_generation(index_dir) == live
    assert not list(index_dir.glob("tmp-*"))
    assert "neu" not in {a.id for a in load_index(index_dir, model_id=MODEL).articles}


def test_numpy_writes_piece_by_piece_so_a_full_disk_keeps_its_errno(tmp_path):
    """np.save to a real file reports a full disk as '... requested and ... written' without errno."""
    from index.store.integrity import write_file

    class FullDisk:
        def __init__(self):
            self.written = 0

        def write(self, data):
            if self.written:  # the header went through, the data does not
                raise OSError(errno.ENOSPC, "No space left on device")
            self.written += len(data)

    sink = FullDisk()
    with pytest.raises(OSError) as error:
        np.lib.format.write_array(sink, np.zeros((100_000, 8), dtype=np.float32), allow_pickle=False)
    assert error.value.errno == errno.ENOSPC
    record = write_file(tmp_path / "a.npy", lambda out: np.lib.format.write_array(out, np.arange(5)))
    assert record["bytes"] == (tmp_path / "a.npy").stat().st_size


# --- crash injection --------------------------------------------------------------------------------

STEPS = ["articles.jsonl", "chunks.npy", "vectors.npy", "units.npy", "unit_vectors.npy", "dense.faiss",
         "bm25", "manifest.json", "rename", "link", "swap", "cleanup"]  # fmt: skip


def _build_killed_at(corpus, index_dir, step):
    """Run a build in a child process that is killed (SIGKILL) when publishing reaches `step`."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            signal.alarm(60)

            def reached(name):
                if name == step:
                    os.kill(os.getpid(), signal.SIGKILL)

            store._reached = reached
            build(corpus, index_dir)
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status


def test_a_build_reaches_every_publishing_step_in_order(corpus, index_dir, monkeypatch):
    reached = []
    monkeypatch.setattr(store, "_reached", reached.append)
    write_article(corpus, "neu", "Neu", "Ein neuer Artikel über Rallye.")
    build(corpus, index_dir)
    assert reached == STEPS


@pytest.mark.parametrize("step", STEPS)
def test_a_build_killed_at_each_publishing_step_leaves_the_old_or_the_new_index(corpus, index_dir, step):
    old_live = current_generation(index_dir)
    write_article(corpus, "neu", "Neu", "Ein neuer Artikel über Rallye.")

    _build_killed_at(corpus, index_dir, step)

    ids = {a.id for a in load_index(index_dir, model_id=MODEL).articles}
    published = step == "cleanup"  # killed after the swap
    assert ids == ({"alpine", "ferrari", "brot", "neu"} if published else {"alpine", "ferrari", "brot"})
    assert (current_generation(index_dir) == old_live) != published

    live_before = current_generation(index_dir)
    build(corpus, index_dir)  # the next build publishes, clears leftovers, keeps what was live
    generations = {path.name for path in index_dir.glob("gen-*")}
    assert {current_generation(index_dir).name, live_before.name} <= generations  # orphans are gone:
    assert len(generations) <= 2  # the live generation and the one before it
    assert not list(index_dir.glob("tmp-*"))
    assert {a.id for a in load_index(index_dir, model_id=MODEL).articles} == {
        "alpine",
        "ferrari",
        "brot",
        "neu",
    }
