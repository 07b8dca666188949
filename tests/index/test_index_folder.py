"""The index folder: a build writes and deletes only in a folder that is (or becomes) a Pitwall index, and
an index folder inside the corpus folder is never read as articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.build import build_index
from index.documents import INDEX_MARKER
from index.store.generations import IndexFolderRefused, load_index
from tests.conftest import write_article
from tests.fakes import FakeEmbedder

MODEL = FakeEmbedder.model_id


def build(corpus: Path, index_dir: Path):
    embedder = FakeEmbedder()
    return build_index(corpus, index_dir, model_id=MODEL, get_embedder=lambda: embedder)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    write_article(folder, "alpine", "Alpine", "Alpine plant keinen Einstieg in die IMSA.")
    write_article(folder, "ferrari", "Ferrari", "Ferrari gewinnt erneut in Le Mans.")
    return folder


def test_a_folder_of_other_files_is_refused_and_nothing_in_it_is_touched(corpus, tmp_path):
    docs = tmp_path / "docs"
    (docs / "gen-photos").mkdir(parents=True)
    (docs / "gen-photos" / "urlaub.jpg").write_bytes(b"jpeg")
    (docs / "tmp-drafts").mkdir()
    (docs / "current").write_text("my current notes")
    before = sorted(path.relative_to(docs) for path in docs.rglob("*"))

    with pytest.raises(IndexFolderRefused) as refused:
        build(corpus, docs)

    assert str(refused.value) == (
        f"the index folder {docs} holds other files (current, gen-photos, tmp-drafts) and no Pitwall "
        "index; a build would delete some of them: choose another folder with --index or "
        "PITWALL_INDEX_DIR (a new or empty one)"
    )
    assert sorted(path.relative_to(docs) for path in docs.rglob("*")) == before  # no .lock, no marker
    assert (docs / "current").read_text() == "my current notes"


def test_the_corpus_folder_and_a_file_are_refused_as_index_folders(corpus, tmp_path):
    with pytest.raises(IndexFolderRefused, match="is the corpus folder: the index needs a folder of its own"):
        build(corpus, corpus / ".." / "corpus")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("notes")
    with pytest.raises(IndexFolderRefused, match=f"the index folder {a_file} is a file, not a folder"):
        build(corpus, a_file)
    assert a_file.read_text() == "notes"
    assert sorted(path.name for path in corpus.iterdir()) == ["alpine.md", "ferrari.md"]


def test_the_first_build_marks_its_folder_and_the_next_builds_only_delete_its_own_generations(
    corpus, tmp_path
):
    index_dir = tmp_path / "index"
    build(corpus, index_dir)
    assert (index_dir / INDEX_MARKER).is_file()
    (index_dir / "gen-photos").mkdir()  # a name a generation of Pitwall never has

    for text in ("Zwei.", "Drei.", "Vier."):
        write_article(corpus, "alpine", "Alpine", text)
        build(corpus, index_dir)

    assert (index_dir / "gen-photos").is_dir()
    assert len(list(index_dir.glob("gen-2*"))) == 2  # the live one and the one before


def test_an_index_built_before_the_marker_is_still_updated(corpus, tmp_path):
    index_dir = tmp_path / "index"
    build(corpus, index_dir)
    (index_dir / INDEX_MARKER).unlink()
    write_article(corpus, "alpine", "Alpine", "Alpine plant doch etwas.")

    assert build(corpus, index_dir).changed == 1
    assert (index_dir / INDEX_MARKER).is_file()


def test_an_index_folder_inside_the_corpus_is_skipped_and_said_once(corpus):
    index_dir = corpus / "idx"
    first = build(corpus, index_dir)
    write_article(corpus, "alpine", "Alpine", "Alpine plant doch einen Einstieg.")
    (corpus / "ferrari.md").unlink()

    second = build(corpus, index_dir)

    assert (first.articles, second.articles, second.changed, second.removed) == (2, 1, 1, 1)
    assert second.errors == ()
    assert [(w.path, w.error) for w in second.warnings] == [
        ("idx/", "a Pitwall index folder: skipped, its files are not articles")
    ]
    (article,) = load_index(index_dir, model_id=MODEL).articles
    assert article.text == "Alpine plant doch einen Einstieg."
