"""The nothing-changed check comes before parsing: a file whose bytes are unchanged is not parsed again."""

from __future__ import annotations

import json
import os

import pytest

from index.build import build_index
from index.ingest import loading
from index.ingest.loading import known_files, load_corpus
from index.store.generations import current_generation, load_index
from tests.conftest import write_article
from tests.fakes import FakeEmbedder

MODEL = FakeEmbedder.model_id


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    write_article(folder, "alpine", "Alpine", "Alpine plant keinen Einstieg in die IMSA.")
    (folder / "page.html").write_text("<h1>Le Mans</h1><p>Ferrari gewinnt in Le Mans.</p>")
    records = [{"id": f"d{i}", "title": f"D{i}", "text": f"Meldung {i}."} for i in range(3)]
    (folder / "dump.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (folder / "broken.md").write_bytes(b"\xff not utf-8")
    return folder


@pytest.fixture
def parsed(monkeypatch):
    """The relative paths of the files parsed, in order."""
    seen: list[str] = []
    real = loading._parse_file

    def counting(relpath, data):
        seen.append(relpath)
        return real(relpath, data)

    monkeypatch.setattr(loading, "_parse_file", counting)
    return seen


def build(corpus, index_dir):
    embedder = FakeEmbedder()
    return build_index(corpus, index_dir, model_id=MODEL, get_embedder=lambda: embedder)


def test_unchanged_bytes_are_not_parsed_again(corpus, tmp_path, parsed):
    index_dir = tmp_path / "index"
    build(corpus, index_dir)
    assert sorted(parsed) == ["alpine.md", "broken.md", "dump.jsonl", "page.html"]
    generation = current_generation(index_dir)

    parsed.clear()
    os.utime(corpus / "page.html", (1, 1))  # touched, same bytes
    report = build(corpus, index_dir)
    assert parsed == ["broken.md"]  # a rejected file is read again: its report is not kept
    assert (report.articles, report.added, report.changed, report.removed) == (5, 0, 0, 0)
    assert [error.path for error in report.errors] == ["broken.md"]
    assert current_generation(index_dir) == generation

    parsed.clear()
    (corpus / "page.html").write_text("<h1>Le Mans</h1><p>Toyota gewinnt in Le Mans.</p>")
    report = build(corpus, index_dir)
    assert sorted(parsed) == ["broken.md", "page.html"]
    assert report.changed == 1
    texts = {a.id: a.text for a in load_index(index_dir, model_id=MODEL).articles}
    assert texts["page"] == "Toyota gewinnt in Le Mans."


def test_the_articles_of_unchanged_files_are_the_ones_parsing_gives(corpus, tmp_path):
    build(corpus, tmp_path / "index")
    manifest = json.loads((current_generation(tmp_path / "index") / "manifest.json").read_text())
    assert sorted(manifest["sources"]) == ["alpine.md", "dump.jsonl", "page.html"]
    known = known_files(manifest["sources"], load_index(tmp_path / "index", model_id=MODEL).articles)
    assert load_corpus(corpus, known=known) == load_corpus(corpus)


def test_a_file_whose_url_was_dropped_is_parsed_again_and_warned_about_again(corpus, tmp_path, parsed):
    write_article(corpus, "js", "JS", "Ein Text.", url="javascript:alert(1)")
    build(corpus, tmp_path / "index")
    parsed.clear()
    report = build(corpus, tmp_path / "index")
    assert sorted(parsed) == ["broken.md", "js.md"]
    (warning,) = report.warnings
    assert warning.path == "js.md" and warning.error.startswith("url 'javascript:alert(1)' dropped")


def test_a_damaged_index_is_not_trusted_for_unchanged_files(corpus, tmp_path, parsed):
    build(corpus, tmp_path / "index")
    articles = current_generation(tmp_path / "index") / "articles.jsonl"
    articles.write_bytes(articles.read_bytes().replace(b"Alpine plant", b"Alpine faehrt"))
    parsed.clear()
    report = build(corpus, tmp_path / "index")
    assert len(parsed) == 4 and report.embedded_chunks == report.chunks
    texts = {a.id: a.text for a in load_index(tmp_path / "index", model_id=MODEL).articles}
    assert texts["alpine"] == "Alpine plant keinen Einstieg in die IMSA."


def test_a_full_disk_while_recording_the_sources_changes_nothing(corpus, tmp_path, monkeypatch):
    from index.store import generations as store

    build(corpus, tmp_path / "index")
    manifest = current_generation(tmp_path / "index") / "manifest.json"
    document = json.loads(manifest.read_text())
    store.record_sources(tmp_path / "index", {})  # an older manifest: nothing recorded yet
    before = manifest.read_bytes()

    def full_disk(path, fill):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "write_file", full_disk)
    report = build(corpus, tmp_path / "index")
    assert report.errors[0].path == "broken.md" and report.articles == 5
    assert manifest.read_bytes() == before
    assert sorted(p.name for p in manifest.parent.iterdir() if p.name.startswith(".")) == []
    assert document["sources"]
