"""One suite, every store (index/store/stores.py): the FAISS index directory and Milvus (Lite, in tests) must
behave alike behind the seam: build, incremental updates, date filters, BM25 and dense candidates,
quote units, atomic publishing (fake embedder: fast, deterministic)."""

import datetime as dt

import numpy as np
import pytest

from bot.answering.answers import compose_answer
from bot.service import AnswerService
from bot.settings import Settings
from index.store.generations import IndexMismatch
from index.store.stores import STORES
from index.text.lexical import Concept
from tests.conftest import write_article
from tests.fakes import FakeEmbedder

pytest.importorskip("pymilvus")


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    write_article(
        folder,
        "alpine",
        "Alpine und die IMSA",
        "Alpine plant keinen Einstieg in die IMSA. Famin nennt es nur eine Idee. "
        "Das Team bleibt in der WEC mit Signatech.",
        published="2024-10-01",
        url="https://example.org/alpine",
    )
    write_article(
        folder,
        "ferrari",
        "Ferrari in Le Mans",
        "Ferrari gewinnt erneut in Le Mans. Der Hypercar siegt vor Porsche.",
        published="2024-06-16",
    )
    write_article(
        folder, "brot", "Brot backen", "Sauerteig braucht Zeit und Wärme. Das Brot ruht über Nacht."
    )
    return folder


def settings_for(kind, corpus, tmp_path, **overrides):
    return Settings(
        corpus_dir=corpus,
        index_dir=tmp_path / "index",
        store=kind,
        milvus_uri=str(tmp_path / "milvus.db"),
        **overrides,
    )


@pytest.fixture(params=STORES)
def kind(request):
    return request.param


@pytest.fixture
def embedder():
    return FakeEmbedder()


@pytest.fixture
def make_service(kind, corpus, tmp_path, embedder):
    def make(**overrides):
        return AnswerService(settings_for(kind, corpus, tmp_path, **overrides), lambda _: embedder)

    return make


def ids(results):
    return [result.article_id for result in results]


def test_a_build_answers_every_mode_from_the_right_article(make_service):
    service = make_service()
    report = service.reindex()
    assert (report.articles, report.added, report.errors) == (3, 3, ())
    assert report.chunks == report.embedded_chunks > 0
    for mode in ("bm25", "dense", "hybrid"):
        hits = service.search("Ferrari gewinnt in Le Mans", k=3, mode=mode)
        assert ids(hits)[0] == "ferrari", mode
    hit = service.search("Sauerteig", k=1, mode="bm25")[0]
    article = service.article("brot")
    assert article.text[hit.start : hit.end] == hit.text and "Sauerteig" in hit.text
    assert service.status().articles == 3 and service.status().chunks == report.chunks


def test_bm25_only_returns_passages_with_a_query_word(make_service):
    service = make_service()
    service.reindex()
    assert ids(service.search("Sauerteig Nacht", k=5, mode="bm25")) == ["brot"]
    assert service.search("Quantenphysik", k=5, mode="bm25") == []


def test_date_filters_run_in_the_store(make_service):
    service = make_service()
    service.reindex()
    query = "Alpine Ferrari Brot"
    assert set(ids(service.search(query, k=10, since=dt.date(2024, 9, 1)))) == {"alpine"}
    assert set(ids(service.search(query, k=10, until=dt.date(2024, 9, 1)))) == {"ferrari"}
    both = service.search(query, k=10, since=dt.date(2024, 1, 1), until=dt.date(2024, 12, 31))
    assert set(ids(both)) == {"alpine", "ferrari"}  # the undated article is outside any range
    assert service.search(query, k=10, since=dt.date(2030, 1, 1)) == []


def test_bm25_finds_a_german_compound_by_its_parts(make_service, corpus):
    write_article(corpus, "streik", "Streik gestoppt", "Das Landesarbeitsgericht stoppte den Pilotenstreik.")
    service = make_service()
    service.reindex()
    assert ids(service.search("Gericht Streik", k=5, mode="bm25")) == ["streik"]


def test_a_rerun_with_nothing_changed_embeds_nothing(make_service, embedder, kind, tmp_path):
    make_service().reindex()
    if kind == "milvus":  # as another process finds them: Milvus Lite reopens collections released
        from pymilvus import MilvusClient

        client = MilvusClient(str(tmp_path / "milvus.db"))
        for name in client.list_collections():
            client.release_collection(name)
    embedder.calls.clear()
    report = make_service().reindex()
    assert (report.added, report.changed, report.removed, report.embedded_chunks) == (0, 0, 0, 0)
    assert embedder.calls == []


def test_a_changed_article_is_re_embedded_alone_and_its_old_text_is_gone(make_service, corpus, embedder):
    service = make_service()
    first = service.reindex()
    write_article(
        corpus, "ferrari", "Ferrari in Le Mans", "Ferrari verliert in Monza.", published="2024-06-16"
    )
    embedder.calls.clear()
    report = service.reindex()
    assert (report.added, report.changed, report.removed) == (0, 1, 0)
    assert 0 < report.embedded_chunks < first.chunks == report.chunks
    assert ids(service.search("Monza", k=5, mode="bm25")) == ["ferrari"]
    assert service.search("Hypercar Porsche", k=5, mode="bm25") == []
    assert service.article("ferrari").text == "Ferrari verliert in Monza."
    assert ids(service.search("Sauerteig", k=1, mode="bm25")) == ["brot"]  # the others stay


def test_a_removed_article_leaves_nothing_behind(make_service, corpus):
    service = make_service()
    service.reindex()
    (corpus / "brot.md").unlink()
    report = service.reindex()
    assert (report.articles, report.removed) == (2, 1)
    assert service.article("brot") is None
    assert "brot" not in ids(service.search("Sauerteig Brot Nacht", k=10))
    assert service.find_articles("brot") == []
    assert service.status().articles == 2


def test_quote_units_and_answers_are_the_same_pipeline(make_service):
    service = make_service()
    service.reindex()
    searcher = service.searcher()
    hit = searcher.search("Famin Idee", 1, mode="bm25")[0]
    spans, vectors = searcher.units_of(hit)
    assert len(spans) >= 2 and vectors.shape == (len(spans), FakeEmbedder.dimension)
    assert all(hit.chunk.start <= start and end <= hit.chunk.end for start, end in spans)
    unit_texts = [hit.article.text[start:end] for start, end in spans]
    assert np.allclose(vectors, FakeEmbedder().embed_passages(unit_texts), atol=2e-3)  # each its own vector
    answer = compose_answer(searcher, "Plant Alpine einen Einstieg in die IMSA?", min_evidence=-1.0)
    assert answer.citations[0].article_id == "alpine" and "IMSA" in answer.citations[0].quote
    assert all(c.quote in service.article(c.article_id).text for c in answer.citations)


def test_coverage_counts_the_question_words_some_passage_has(make_service):
    service = make_service()
    service.reindex()
    searcher = service.searcher()
    assert searcher.coverage(searcher.concepts("Sauerteig Porsche")) == 1.0
    assert searcher.coverage(searcher.concepts("Sauerteig Quantenphysik")) == 0.5
    assert searcher.coverage(searcher.concepts("und die")) == 0.0  # stopwords only


def test_find_articles_by_title_in_any_case(make_service):
    service = make_service()
    service.reindex()
    assert ids_of(service.find_articles("le MANS")) == ["ferrari"]
    assert ids_of(service.find_articles("a")) == ["alpine", "ferrari", "brot"]  # newest first, undated last


def ids_of(articles):
    return [article.id for article in articles]


def test_another_chunking_rebuilds_and_readers_keep_the_old_index_until_then(make_service, embedder):
    service = make_service()
    first = service.reindex()
    reader = make_service().searcher()  # a bot process that loaded the index
    other = make_service(chunk_overlap_sentences=0)
    embedder.calls.clear()
    report = other.reindex()
    assert report.embedded_chunks == report.chunks and report.added == 3
    assert [hit.article.id for hit in reader.search("Sauerteig", 1, mode="bm25")] == ["brot"]  # still answers
    assert ids(make_service(chunk_overlap_sentences=0).search("Sauerteig", k=1)) == ["brot"]
    assert first.chunks >= report.chunks


def test_a_failed_build_leaves_the_previous_index_serving(make_service, corpus, embedder, monkeypatch):
    service = make_service()
    service.reindex()
    write_article(corpus, "ferrari", "Ferrari", "Ferrari verliert in Monza.", published="2024-06-16")

    def broken(texts):
        raise RuntimeError("embedding failed")

    monkeypatch.setattr(embedder, "embed_passages", broken)
    with pytest.raises(RuntimeError):
        make_service(chunk_overlap_sentences=0).reindex()  # a full rebuild into a new generation
    with pytest.raises(RuntimeError):
        make_service().reindex()  # an incremental update
    fresh = make_service()
    assert ids(fresh.search("Hypercar Porsche", k=1, mode="bm25")) == ["ferrari"]
    assert fresh.status().articles == 3


def test_an_index_of_another_model_is_a_clear_error(make_service):
    make_service().reindex()
    with pytest.raises(IndexMismatch, match="re-index"):
        make_service(embedding_model="another-model").searcher()


def test_both_stores_score_alike(corpus, tmp_path, embedder):
    """The same corpus in both stores: the same BM25 scores, the same hybrid ranking."""
    services = {
        kind: AnswerService(settings_for(kind, corpus, tmp_path / kind), lambda _: embedder)
        for kind in STORES
    }
    for service in services.values():
        service.reindex()
    for query, mode in (("Ferrari Le Mans Porsche", "bm25"), ("Alpine plant die IMSA", "hybrid")):
        faiss, milvus = (services[kind].search(query, k=5, mode=mode) for kind in STORES)
        assert [(h.article_id, h.start) for h in faiss] == [(h.article_id, h.start) for h in milvus]
        assert np.allclose([h.score for h in faiss], [h.score for h in milvus], atol=1e-4)


def test_rare_stems_weigh_more_and_translations_count_as_one_word(make_service):
    service = make_service()
    service.reindex()
    searcher = service.searcher()
    assert searcher.idf("sauerteig") > 0.0 and searcher.idf("quantenphys") == 0.0
    assert searcher.store.known_stems(["sauerteig", "quantenphys"]) == {"sauerteig"}
    one = searcher.search("Sauerteig", 5, mode="bm25")
    both = searcher.search("x", 5, mode="bm25", concepts=[Concept("bread", ("sauerteig", "brot"))])
    assert both[0].article.id == one[0].article.id == "brot"
    assert both[0].score <= one[0].score + searcher.search("Brot", 1, mode="bm25")[0].score - 1e-6
