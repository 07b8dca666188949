"""Building, updating and publishing the index (fake embedder: fast, deterministic)."""

import json
import sys
import time
from contextlib import contextmanager

import numpy as np
import pytest

from index.build import NothingToIndex, _home_chunks, build_index
from index.documents import Chunk
from index.search import Searcher
from index.store import generations as store
from index.store.generations import (
    FORMAT_VERSION,
    IndexBusy,
    IndexMismatch,
    IndexNotFound,
    IndexStoreError,
    current_generation,
    load_index,
)
from index.store.lease import FolderBoard, Holder, build_lock
from tests.conftest import write_article
from tests.fakes import FakeEmbedder, FakeSpanEmbedder
from tests.timing import growth

MODEL = FakeEmbedder.model_id


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    write_article(
        folder,
        "alpine",
        "Alpine und die IMSA",
        "Alpine plant keinen Einstieg in die IMSA. Famin nennt es nur eine Idee.",
        published="2024-10-01",
        source="Motorsport-Total.com",
    )
    write_article(
        folder,
        "ferrari",
        "Ferrari in Le Mans",
        "Ferrari gewinnt erneut in Le Mans. Der Hypercar siegt vor Porsche.",
        published="2024-06-16",
    )
    write_article(
        folder,
        "2025/brot",
        "Brot backen",
        "Sauerteig braucht Zeit und Wärme. Das Brot ruht über Nacht.",
        published="2025-01-05",
    )
    return folder


def build(corpus, index_dir, embedder, **kwargs):
    return build_index(corpus, index_dir, model_id=MODEL, get_embedder=lambda: embedder, **kwargs)


def found_articles(index_dir, embedder, query, mode="bm25"):
    searcher = Searcher(load_index(index_dir, model_id=MODEL), embedder)
    return {hit.article.id for hit in searcher.search(query, 10, mode=mode)}


def test_first_build_indexes_every_article_and_writes_a_manifest(corpus, tmp_path, fake_embedder):
    report = build(corpus, tmp_path / "index", fake_embedder)

    assert (report.articles, report.added, report.changed, report.removed) == (3, 3, 0, 0)
    assert report.chunks == report.embedded_chunks > 0
    manifest = json.loads((current_generation(tmp_path / "index") / "manifest.json").read_text())
    assert manifest["model_id"] == MODEL
    assert manifest["dimension"] == FakeEmbedder.dimension
    assert manifest["max_tokens"] == fake_embedder.max_tokens
    assert manifest["chunking"]["overlap_sentences"] == 1
    assert set(manifest["article_hashes"]) == {"alpine", "ferrari", "2025/brot"}
    assert manifest["dense_index"] == "flat"  # a small corpus is searched exactly
    assert (manifest["articles"], manifest["chunks"]) == (3, report.chunks)
    assert manifest["built_at"]


def test_the_index_directory_holds_no_pickle(corpus, tmp_path, fake_embedder):
    build(corpus, tmp_path / "index", fake_embedder)
    generation = current_generation(tmp_path / "index")
    arrays = list(generation.rglob("*.npy"))
    assert arrays
    for path in arrays:
        np.load(path, allow_pickle=False)  # raises on object arrays


def test_a_rerun_with_nothing_changed_embeds_nothing_and_does_not_load_the_model(
    corpus, tmp_path, fake_embedder
):
    build(corpus, tmp_path / "index", fake_embedder)
    generation = current_generation(tmp_path / "index")

    def no_model():
        raise AssertionError("the model was loaded although nothing changed")

    report = build_index(corpus, tmp_path / "index", model_id=MODEL, get_embedder=no_model)

    assert (report.added, report.changed, report.removed, report.embedded_chunks) == (0, 0, 0, 0)
    assert current_generation(tmp_path / "index") == generation


def test_a_changed_article_is_re_embedded_alone_and_its_old_text_is_gone(corpus, tmp_path):
    first = FakeEmbedder()
    build(corpus, tmp_path / "index", first)
    write_article(
        corpus,
        "ferrari",
        "Ferrari in Le Mans",
        "Ferrari verliert in Spa gegen Toyota.",
        published="2024-06-16",
    )
    second = FakeEmbedder()

    report = build(corpus, tmp_path / "index", second)

    assert (report.added, report.changed, report.removed) == (0, 1, 0)
    assert report.embedded_chunks == 1
    assert sum(second.calls) == 2  # its one chunk and its one quote unit (sentence), nothing else
    assert found_articles(tmp_path / "index", second, "Porsche Hypercar") == set()
    assert found_articles(tmp_path / "index", second, "Toyota Spa") == {"ferrari"}
    data = load_index(tmp_path / "index", model_id=MODEL)
    assert len(data.chunk_table) == len(data.vectors) == len(data.dense) == data.manifest.chunks
    assert not any("Porsche" in data.chunk(row).text for row in range(len(data.chunk_table)))


def unit_texts_and_vectors(index_dir, model_id):
    data = load_index(index_dir, model_id=model_id)
    texts = [data.articles[row].text[start:end] for row, start, end in data.unit_table]
    return texts, np.asarray(data.unit_vectors, dtype=np.float32)


def test_a_span_embedder_reads_every_text_once_and_pools_the_sentences_from_their_chunks(corpus, tmp_path):
    embedder = FakeSpanEmbedder()

    build_index(corpus, tmp_path / "index", model_id=embedder.model_id, get_embedder=lambda: embedder)

    data = load_index(tmp_path / "index", model_id=embedder.model_id)
    chunk_texts = [data.chunk(row).text for row in range(len(data.chunk_table))]
    assert sorted(embedder.passages) == sorted(chunk_texts)  # no sentence embedded a second time
    texts, vectors = unit_texts_and_vectors(tmp_path / "index", embedder.model_id)
    assert len(texts) == 6
    np.testing.assert_allclose(vectors, embedder.embed_passages(texts), atol=1e-3)  # float16 in the index


def test_sentences_no_chunk_holds_whole_are_embedded_on_their_own(tmp_path):
    corpus = tmp_path / "corpus"
    long = "Der Wagen fuhr in der letzten Runde der Langstrecke noch an drei Gegnern vorbei."
    write_article(corpus, "lang", "Lang", f"Kurz gesagt. {long}")
    embedder = FakeSpanEmbedder(max_tokens=6)  # the long sentence is cut into pieces for the chunks

    build_index(corpus, tmp_path / "index", model_id=embedder.model_id, get_embedder=lambda: embedder)

    assert long in embedder.passages and embedder.passages.count("Kurz gesagt.") == 1  # a chunk itself
    texts, vectors = unit_texts_and_vectors(tmp_path / "index", embedder.model_id)
    assert texts == ["Kurz gesagt.", long]
    np.testing.assert_allclose(vectors, embedder.embed_passages(texts), atol=1e-3)


def test_each_sentence_finds_its_chunk_in_time_linear_in_the_article():
    """Every chunk was once tried for every sentence: a long article took minutes before embedding."""

    def chunks_and_units(n: int) -> tuple[list[Chunk], list[tuple[int, int]]]:
        chunks = [Chunk("a", i, 100 * i, 100 * i + 200, "") for i in range(n)]  # each half in the next
        return chunks, [(50 * j + 5, 50 * j + 45) for j in range(2 * n + 2)]

    chunks, units = chunks_and_units(3)
    homes = _home_chunks(chunks, [*units, (150, 250), (380, 420)])
    assert homes == [0, 0, 0, 1, 1, 2, 2, 2, 1, None]  # the one it sits most centrally in, if any
    inputs = {n: chunks_and_units(n) for n in (600, 2400)}
    assert growth(lambda n: _home_chunks(*inputs[n]), 600, runs=5) < 8  # quadratic: about 16


def test_sentences_the_model_cut_off_are_embedded_on_their_own(corpus, tmp_path):
    class CutOff(FakeSpanEmbedder):
        def embed_passages_and_spans(self, texts, spans):
            vectors, span_vectors = super().embed_passages_and_spans(texts, spans)
            return vectors, np.zeros_like(span_vectors)  # as if every sentence lay past the token limit

    embedder = CutOff()

    build_index(corpus, tmp_path / "index", model_id=embedder.model_id, get_embedder=lambda: embedder)

    texts, vectors = unit_texts_and_vectors(tmp_path / "index", embedder.model_id)
    assert set(texts) <= set(embedder.passages)
    np.testing.assert_allclose(vectors, embedder.embed_passages(texts), atol=1e-3)


def test_a_removed_article_leaves_nothing_behind(corpus, tmp_path, fake_embedder):
    build(corpus, tmp_path / "index", fake_embedder)
    (corpus / "2025" / "brot.md").unlink()

    report = build(corpus, tmp_path / "index", fake_embedder)

    assert (report.articles, report.removed) == (2, 1)
    for mode in ("bm25", "dense", "hybrid"):
        assert "2025/brot" not in found_articles(tmp_path / "index", fake_embedder, "Sauerteig Brot", mode)
    assert "2025/brot" not in {a.id for a in load_index(tmp_path / "index", model_id=MODEL).articles}


def test_unchanged_articles_keep_their_vectors(corpus, tmp_path, fake_embedder):
    build(corpus, tmp_path / "index", fake_embedder)
    before = load_index(tmp_path / "index", model_id=MODEL)
    write_article(corpus, "neu", "Neu", "Ein neuer Artikel über Rallye.", published="2024-01-01")

    build(corpus, tmp_path / "index", fake_embedder)
    after = load_index(tmp_path / "index", model_id=MODEL)

    def vectors_of(data, article_id):
        rows = [r for r in range(len(data.chunk_table)) if data.article_of(r).id == article_id]
        return np.asarray(data.vectors[rows])

    np.testing.assert_array_equal(vectors_of(before, "alpine"), vectors_of(after, "alpine"))

    def units_of(data, article_id):
        row = next(r for r in range(len(data.chunk_table)) if data.article_of(r).id == article_id)
        return data.units_of(row)

    (spans_before, unit_vectors_before), (spans_after, unit_vectors_after) = (
        units_of(before, "alpine"),
        units_of(after, "alpine"),
    )
    np.testing.assert_array_equal(spans_before, spans_after)
    np.testing.assert_array_equal(unit_vectors_before, unit_vectors_after)
    alpine = next(a for a in after.articles if a.id == "alpine")
    assert [alpine.text[s:e] for s, e in spans_after] == [
        "Alpine plant keinen Einstieg in die IMSA.",
        "Famin nennt es nur eine Idee.",
    ]
    assert len(after.articles) == 4


def test_an_empty_corpus_is_a_clear_error(tmp_path, fake_embedder):
    (tmp_path / "empty").mkdir()
    with pytest.raises(NothingToIndex, match="no article"):
        build(tmp_path / "empty", tmp_path / "index", fake_embedder)
    assert current_generation(tmp_path / "index") is None


def test_a_failed_build_leaves_the_previous_index_serving(corpus, tmp_path, fake_embedder, monkeypatch):
    build(corpus, tmp_path / "index", fake_embedder)
    generation = current_generation(tmp_path / "index")
    write_article(corpus, "neu", "Neu", "Ein neuer Artikel über Rallye.")

    def crash(self, write):
        raise OSError("the device went away")

    monkeypatch.setattr("index.store.dense.DenseIndex.write", crash)
    with pytest.raises(IndexStoreError, match=r"cannot write dense.faiss .*the previous index is still live"):
        build(corpus, tmp_path / "index", fake_embedder)

    assert current_generation(tmp_path / "index") == generation
    assert not list((tmp_path / "index").glob("tmp-*"))
    assert "neu" not in {a.id for a in load_index(tmp_path / "index", model_id=MODEL).articles}


def test_a_killed_builds_recorded_leftovers_are_cleared_and_nothing_else(corpus, tmp_path, fake_embedder):
    index_dir = tmp_path / "index"
    build(corpus, index_dir, fake_embedder)
    leftover = index_dir / "tmp-killed"
    leftover.mkdir()
    (leftover / "vectors.npy").write_bytes(b"half written")
    now = time.time()  # what a build on another host left when it died: its lease ran out 40 s ago
    dead = Holder(9, "dead", "pitwall index", "elsewhere", 1, "", now - 100, now - 40, ("tmp-killed",))
    assert FolderBoard(index_dir).claim(dead)
    stranger = index_dir / "tmp-drafts"  # not made by a Pitwall build: never deleted
    stranger.mkdir()

    assert len(load_index(index_dir, model_id=MODEL).articles) == 3
    write_article(corpus, "neu", "Neu", "Ein neuer Artikel über Rallye.")
    build(corpus, index_dir, fake_embedder)
    assert not leftover.exists()
    assert stranger.is_dir()


def test_only_one_build_runs_at_a_time(corpus, tmp_path, fake_embedder):
    index_dir = tmp_path / "index"
    with build_lock(index_dir, "pitwall fetch"), pytest.raises(IndexBusy, match="another build") as busy:
        build(corpus, index_dir, fake_embedder)
    assert "pitwall fetch on host " in str(busy.value) and "since " in str(busy.value)


def test_loading_checks_the_model_and_says_to_re_index(corpus, tmp_path, fake_embedder):
    with pytest.raises(IndexNotFound, match="pitwall index"):
        load_index(tmp_path / "index", model_id=MODEL)
    build(corpus, tmp_path / "index", fake_embedder)
    with pytest.raises(IndexMismatch, match="re-index"):
        load_index(tmp_path / "index", model_id="another-model")


class OtherModel(FakeEmbedder):
    """Another embedding model: another id, another dimension, other vectors."""

    model_id = "another-fake-model"
    dimension = 32


@pytest.mark.parametrize(
    ("embedder", "options"),
    [
        pytest.param(OtherModel(), {}, id="another model"),
        pytest.param(FakeEmbedder(), {"overlap_sentences": 0}, id="another overlap"),
        pytest.param(FakeEmbedder(), {"target_tokens": 8}, id="another chunk size"),
    ],
)
def test_another_model_or_chunking_rebuilds_everything(corpus, tmp_path, fake_embedder, embedder, options):
    index_dir = tmp_path / "index"
    build(corpus, index_dir, fake_embedder)

    report = build_index(
        corpus, index_dir, model_id=embedder.model_id, get_embedder=lambda: embedder, **options
    )

    assert (report.added, report.changed, report.removed) == (3, 0, 0)  # nothing of the old index is kept
    assert report.embedded_chunks == report.chunks > 0
    data = load_index(index_dir, model_id=embedder.model_id)
    assert data.manifest.model_id == embedder.model_id
    assert data.vectors.shape == (report.chunks, embedder.dimension)
    assert data.manifest.chunking["overlap_sentences"] == options.get("overlap_sentences", 1)
    assert data.manifest.chunking["target_tokens"] == options.get("target_tokens")
    assert_consistent(data, embedder)
    if embedder.model_id != MODEL:
        with pytest.raises(IndexMismatch, match=MODEL):
            load_index(index_dir, model_id=MODEL)


# --- readers and writers of one index directory ---


def set_round(corpus, round_: int) -> None:
    """Edit one article so that each build publishes a generation that can be told apart from the others."""
    write_article(corpus, "wechsel", "Wechsel", f"Runde {round_} beginnt. " + "Noch ein Satz. " * round_)


def round_of(data) -> int:
    text = next(article.text for article in data.articles if article.id == "wechsel")
    return int(text.split()[1])


def assert_consistent(data, embedder) -> None:
    """Every part of a loaded index belongs to one and the same generation."""
    manifest = data.manifest
    assert {a.id: a.content_hash() for a in data.articles} == manifest.article_hashes
    assert len(data.articles) == manifest.articles
    assert (
        len(data.chunk_table) == len(data.vectors) == len(data.dense) == data.lexical.size == manifest.chunks
    )
    texts = [data.chunk(row).text for row in range(len(data.chunk_table))]
    np.testing.assert_allclose(data.vectors, embedder.embed_passages(texts), atol=1e-6)
    units = [data.articles[row].text[start:end] for row, start, end in data.unit_table]
    np.testing.assert_allclose(data.unit_vectors, embedder.embed_passages(units), atol=2e-3)  # float16


@contextmanager
def at_each_line(module, callback, *, only: int | None = None):
    """Runs `callback(line)` before each line of `module`'s source runs for the first time (in this thread):
    every point at which another process could act, visited one after the other, deterministically.
    With `only`, just before that line."""
    filename, visited = module.__file__, set()

    def local(frame, event, _arg):
        if event == "line" and frame.f_lineno not in visited:
            visited.add(frame.f_lineno)
            if only in (None, frame.f_lineno):
                callback(frame.f_lineno)
        return local

    previous = sys.gettrace()
    sys.settrace(lambda frame, _event, _arg: local if frame.f_code.co_filename == filename else None)
    try:
        yield
    finally:
        sys.settrace(previous)


def test_a_load_at_any_point_of_a_publish_sees_the_whole_old_or_the_whole_new_index(corpus, tmp_path):
    index_dir, embedder = tmp_path / "index", FakeEmbedder()
    set_round(corpus, 0)
    build(corpus, index_dir, embedder)
    problems = []

    for round_ in (1, 2, 3):  # from the third publish on, the oldest generation is also removed
        seen = []

        def load_now(line, round_=round_, seen=seen):
            try:
                data = load_index(index_dir, model_id=MODEL)
                assert_consistent(data, FakeEmbedder())
                seen.append(round_of(data))
            except Exception as error:  # noqa: BLE001
                problems.append((round_, line, error))

        set_round(corpus, round_)
        with at_each_line(store, load_now):
            build(corpus, index_dir, embedder)
        # the old index until the symlink is swapped, then the new one: never a mix, never back
        assert seen == sorted(seen) and set(seen) == {round_ - 1, round_}, seen
    assert problems == []


def test_a_load_survives_two_publishes_at_any_point_and_reads_the_newest(corpus, tmp_path):
    """Two publishes while a reader loads remove the generation it chose: it starts again on the new one
    (the retry in `load_index`); before its first read, or after its last, it keeps what it has. The
    arrays are memory-mapped, as for a large index: a mapped file that is deleted must not be read half.
    (The test above loads the way a small index is loaded, reading the files.)"""
    mmap = True
    index_dir, embedder = tmp_path / "index", FakeEmbedder()
    set_round(corpus, 0)
    build(corpus, index_dir, embedder)
    rounds = iter(range(1, 1000))

    def publish_twice(_line):
        for _ in range(2):
            set_round(corpus, next(rounds))
            build(corpus, index_dir, embedder)

    points = []
    with at_each_line(store, points.append):
        load_index(index_dir, model_id=MODEL, mmap=mmap)
    outcomes = []
    for point in points:
        started = round_of(load_index(index_dir, model_id=MODEL))
        with at_each_line(store, publish_twice, only=point):
            data = load_index(index_dir, model_id=MODEL, mmap=mmap)
        assert_consistent(data, FakeEmbedder())
        newest = round_of(load_index(index_dir, model_id=MODEL))
        assert round_of(data) in (started, newest)
        outcomes.append(round_of(data) == newest != started)
    assert any(outcomes), "no load started again on the new generation: the retry never ran"


def test_a_load_gives_up_with_a_clear_error_when_the_index_keeps_changing(corpus, tmp_path, monkeypatch):
    index_dir, embedder = tmp_path / "index", FakeEmbedder()
    set_round(corpus, 0)
    build(corpus, index_dir, embedder)
    rounds = iter(range(1, 1000))
    load_generation = store._load_generation

    building = []

    def two_publishes_first(*args, **kwargs):
        if not building:  # (a build loads the index too: not that one)
            building.append(True)
            for _ in range(2):
                set_round(corpus, next(rounds))
                build(corpus, index_dir, embedder)
            building.clear()
        return load_generation(*args, **kwargs)

    monkeypatch.setattr(store, "_load_generation", two_publishes_first)
    with pytest.raises(IndexStoreError, match="keeps changing"):
        load_index(index_dir, model_id=MODEL)
    assert next(rounds) == 7  # three attempts, two publishes each
    monkeypatch.undo()
    assert round_of(load_index(index_dir, model_id=MODEL)) == 6  # and the index itself is fine


def test_each_publish_keeps_the_new_generation_and_the_one_before_only(corpus, tmp_path, fake_embedder):
    index_dir = tmp_path / "index"
    published = []
    for round_ in range(4):
        set_round(corpus, round_)
        build(corpus, index_dir, fake_embedder)
        published.append(current_generation(index_dir).name)
        assert sorted(path.name for path in index_dir.glob("gen-*")) == published[-2:]
    assert not list(index_dir.glob("tmp-*"))
    assert round_of(load_index(index_dir, model_id=MODEL)) == 3


def test_an_index_of_an_older_format_says_to_re_index(corpus, tmp_path, fake_embedder):
    build(corpus, tmp_path / "index", fake_embedder)
    path = current_generation(tmp_path / "index") / "manifest.json"
    manifest = json.loads(path.read_text())
    for field in ("checksum", "files", "dense_index"):  # a format 2 manifest had none of these
        del manifest[field]
    path.write_text(json.dumps({**manifest, "format_version": 2}))

    expected = f"has format 2, this Pitwall reads format {FORMAT_VERSION}: re-index"
    with pytest.raises(IndexMismatch, match=expected):
        load_index(tmp_path / "index", model_id=MODEL)
    assert build(corpus, tmp_path / "index", fake_embedder).embedded_chunks > 0
