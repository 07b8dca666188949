"""`pitwall bench`: the pure parts and the JSON shape of a tiny run (fake embedder, no timed assertions)."""

import json

import numpy as np
import pytest

from bot import cli
from bot.bench.corpus import GnadMissing, ReusedVectors, articles_for_size, read_gnad, variant
from bot.bench.report import format_table, write_chart
from bot.bench.run import BenchOptions, run_bench
from bot.bench.stats import percentile
from bot.bench.vectors import random_unit_vectors
from bot.settings import Settings
from index.documents import Article
from tests.fakes import FakeEmbedder

TEXTS = [
    "Der Weltmeister gewann das Rennen in Monza. Sein Teamkollege wurde nach einem Boxenstopp Zweiter.",
    "Die Regierung in Wien plant ein neues Gesetz. Die Opposition kritisiert den Entwurf als zu teuer.",
    "Alpine plant keinen Einstieg in die IMSA. Famin nennt es nur eine Idee für die Zukunft des Teams.",
    "Der Trainer sprach nach der Niederlage von einem schwarzen Tag. Die Mannschaft enttäuschte in Graz.",
]


@pytest.fixture
def gnad(tmp_path):
    path = tmp_path / "test.csv"
    lines = [
        f"{label};'{text}'" for label, text in zip(("Sport", "Inland", "Sport", "Sport"), TEXTS, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_csv_becomes_dated_german_articles(gnad):
    articles = read_gnad(gnad)

    assert [a.text for a in articles] == TEXTS
    assert len({a.id for a in articles}) == 4 and all(a.language == "de" and a.published for a in articles)
    assert articles[0].title.startswith("Sport: Der Weltmeister")


def test_a_missing_csv_says_where_it_was_looked_for_and_how_to_point_elsewhere(tmp_path, capsys):
    with pytest.raises(GnadMissing, match="--gnad PATH"):
        read_gnad(tmp_path / "nope.csv")

    status = cli.main(["bench", "--gnad", str(tmp_path / "nope.csv")])
    assert status == cli.EXIT_ERROR
    assert "nope.csv not found" in capsys.readouterr().err


def test_copies_reach_the_size_and_every_text_differs():
    base = [Article(f"a{i}", f"T{i}", f"Text {i}. Noch ein Satz.") for i in range(3)]
    articles = articles_for_size(base, [2, 1, 3], 20)

    assert sum({"a0": 2, "a1": 1, "a2": 3}[a.id.split("-")[0]] for a in articles) in range(20, 20 + 3)
    assert len({a.id for a in articles}) == len({a.text for a in articles}) == len(articles) == 10
    assert articles[:3] == base and articles[3] == variant(base[0], 1)
    assert [a.id for a in articles_for_size(base, [2, 1, 3], 3)] == ["a0", "a1"]


def test_copies_reuse_the_original_vector_with_a_nudge_and_new_texts_are_embedded():
    fake = FakeEmbedder()
    original = "Alpine plant keinen Einstieg in die IMSA."
    reused = ReusedVectors(fake, {original: fake.embed_passages([original])[0]})
    copy, other = reused.embed_passages([original + " Fassung 3.", "Ferrari gewinnt in Le Mans."])

    assert 0.99 < float(copy @ fake.embed_passages([original])[0]) < 1.0
    assert np.isclose(np.linalg.norm(copy), 1.0)
    assert (reused.reused, reused.embedded) == (1, 1)
    np.testing.assert_allclose(other, fake.embed_passages(["Ferrari gewinnt in Le Mans."])[0])


def test_percentiles_use_the_nearest_rank():
    values = list(range(1, 101))
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (50, 95, 99)
    assert percentile([3.0], 99) == 3.0 and percentile([], 50) == 0.0
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_random_vectors_are_unit_length():
    vectors, queries = random_unit_vectors(500, 16)
    assert vectors.shape == (500, 16) and queries.shape[1] == 16
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_a_tiny_bench_reports_every_figure(gnad, tmp_path):
    options = BenchOptions(
        gnad=gnad,
        work_dir=tmp_path / "work",
        sizes=(3, 12),
        vector_sizes=(400,),
        rounds=1,
        cold_asks=0,
    )
    result = run_bench(options, Settings(), FakeEmbedder())

    json.dumps(result)
    assert set(result) >= {"model", "machine", "corpus", "embedding", "memory", "sizes", "vector_sizes"}
    assert result["embedding"]["chunks_per_s"] > 0 and result["embedding"]["tokens_per_s"] > 0
    small, large = result["sizes"]
    assert small["chunks"] >= 3 and large["chunks"] >= 12 and large["articles"] > 4  # copies were needed
    for row in result["sizes"]:
        assert row["index_type"] == "flat" and row["asks"] == 20
        assert set(row["ask_ms"]) == {"p50", "p95", "p99"}
        assert set(row["ask_parts_ms_p50"]) == {"embed_question", "search"}
        assert row["reindex_1pct_changed_articles"] >= 1 and row["index_bytes"] > 0
        # every chunk vector came from the cache; only the variant sentences ("Fassung N.", "Aktualisiert N.")
        # are new text, embedded once as a quote unit each
        assert row["chunks_embedded_for_real"] <= 2
    (vectors,) = result["vector_sizes"]
    assert vectors["vectors"] == 400 and vectors["recall_at_10"] == 1.0
    assert set(vectors["search_ms"]) == {"p50", "p95"}
    full = result["full_build"]
    assert (full["articles"], full["characters"]) == (4, sum(len(text) for text in TEXTS))
    assert full["chunks"] >= 4 and full["chars_per_s"] > 0 and result["cold_ask"] is None
    assert "chunks" in format_table(result) and "characters/s" in format_table(result)
    write_chart(result, tmp_path / "bench.png")
    assert (tmp_path / "bench.png").read_bytes()[:4] == b"\x89PNG"


def test_the_corpus_is_written_in_files_the_loader_accepts(tmp_path):
    from bot.bench.corpus import write_corpus
    from index.ingest.loading import load_corpus

    articles = [Article(f"a{i}", f"T{i}", f"Text {i}.") for i in range(5)]
    write_corpus(articles, tmp_path / "corpus", per_file=2)
    write_corpus(articles[:3], tmp_path / "corpus", per_file=2)  # rewriting leaves no old file behind

    loaded = load_corpus(tmp_path / "corpus")
    assert [a.id for a in loaded.articles] == ["a0", "a1", "a2"] and not loaded.errors
    assert len(list((tmp_path / "corpus").glob("*.jsonl"))) == 2


def test_the_command_prints_one_json_document_and_writes_the_chart(gnad, tmp_path, monkeypatch, capsys):
    from bot.service import AnswerService

    monkeypatch.setattr(cli, "_service", lambda settings: AnswerService(settings, lambda _: FakeEmbedder()))
    chart = tmp_path / "chart.png"
    argv = [
        "bench",
        "--gnad",
        str(gnad),
        "--sizes",
        "5",
        "--vector-sizes",
        "",
        "--rounds",
        "1",
        "--cold-asks",
        "0",
        "--feed-chunks",
        "0",
    ]
    status = cli.main([*argv, "--work-dir", str(tmp_path / "work"), "--chart", str(chart), "--json"])

    out = capsys.readouterr().out
    assert status == cli.EXIT_OK and out.count("\n") == 1
    result = json.loads(out)
    assert [row["chunks"] >= 5 for row in result["sizes"]] == [True] and result["vector_sizes"] == []
    assert result["chart"] == str(chart) and chart.is_file()
    assert result["full_build"]["articles"] == 4 and result["cold_ask"] is None


@pytest.mark.integration
def test_a_cold_ask_runs_in_a_new_process_and_measures_it(tmp_path):
    from bot.bench.startup import cold_ask
    from index.build import build_index
    from index.embed.embedding import create_embedder
    from tests.conftest import SHIPPED_CORPUS

    embedder = create_embedder()
    build_index(SHIPPED_CORPUS, tmp_path / "index", model_id=embedder.model_id, get_embedder=lambda: embedder)

    result = cold_ask(tmp_path / "index", Settings(), runs=1)

    assert result["runs"] == 1 and 0 < result["seconds_min"] == result["seconds_median"] < 120
    assert 0 < result["cpu_seconds_median"] < 120
    assert 50 < result["peak_rss_mib_max"] < 2000  # the child's own peak, not the test process's
    with pytest.raises(RuntimeError, match="exit status 1"):
        cold_ask(tmp_path / "missing", Settings(), runs=1)


def test_bad_sizes_are_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["bench", "--sizes", "10k"])
    assert exit_.value.code == cli.EXIT_USAGE and "like 1000,10000" in capsys.readouterr().err


def test_a_measured_command_reports_its_own_peak_memory_not_its_parents(tmp_path):
    """Linux carries a parent's peak RSS into a forked child's ru_maxrss: the bench process after a build
    holds about 1 GB, which must not show up as the cold ask's memory."""
    import sys

    from bot.bench.startup import measure_command

    ballast = np.ones(400 * 2**20, dtype=np.uint8)  # 400 MiB resident in this (parent) process
    allocate = "import sys; b = bytearray(60 * 2**20); print(len(b)); sys.exit(3)"
    with (tmp_path / "out").open("w+b") as out:
        measured = measure_command([sys.executable, "-c", allocate], tmp_path, {}, out)
        out.seek(0)
        printed = out.read()

    assert ballast.sum() == 400 * 2**20
    assert printed == b"62914560\n" and measured.returncode == 3 and measured.seconds > 0
    assert 60 < measured.peak_rss_mib < 150  # the child's 60 MiB and an interpreter, not the parent's 400


class _CountingEmbedder(FakeEmbedder):
    """The fake embedder that records every passage text it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.passages: list[str] = []

    def embed_passages(self, texts):
        self.passages += texts
        return super().embed_passages(texts)


def test_without_sizes_the_base_texts_are_not_embedded(gnad, tmp_path):
    embedder = _CountingEmbedder()
    options = BenchOptions(
        gnad=gnad, work_dir=tmp_path / "work", sizes=(), vector_sizes=(), build_articles=0, cold_asks=0
    )
    result = run_bench(options, Settings(), embedder)

    assert result["sizes"] == [] and result["full_build"] is None
    assert len(embedder.passages) == result["corpus"]["base_chunks"]  # the throughput sample alone
    assert not list((tmp_path / "work").glob("base-vectors-*"))


@pytest.mark.parametrize("build_articles", [None, 0])
def test_the_sizes_take_the_base_vectors_from_one_build_of_the_base_articles(gnad, tmp_path, build_articles):
    """With the full build (all articles) or without it (then a build of its own), every base chunk and quote
    unit is embedded once after the throughput sample, never a second time on its own for the sizes."""
    from collections import Counter

    from index.text.sentences import quote_units

    embedder = _CountingEmbedder()
    options = BenchOptions(
        gnad=gnad,
        work_dir=tmp_path / "work",
        sizes=(12,),
        vector_sizes=(),
        rounds=1,
        build_articles=build_articles,
        cold_asks=0,
    )
    result = run_bench(options, Settings(), embedder)

    embedded = Counter(embedder.passages[result["corpus"]["base_chunks"] :])  # after the throughput sample
    units = [text[start:end] for text in TEXTS for start, end in quote_units(text)]
    base = {
        text: count for text, count in embedded.items() if not text.startswith(("Fassung", "Aktualisiert"))
    }
    assert all(embedded[text] == 1 for text in units) and set(base.values()) == {1}
    assert len(list((tmp_path / "work").glob("base-vectors-*"))) == 1
    assert not (tmp_path / "work" / "base-build").exists()


def test_the_feeds_line_fetches_held_out_articles_into_the_index_and_finds_them(tmp_path):
    """20 (here: half of 8) long articles are left out of the index, served as a feed on 127.0.0.1,
    fetched with FeedService and found by a search for their first sentence."""
    from bot.bench.feeds import bench_feeds

    words = ["Rennen", "Fahrer", "Boxenstopp", "Reifen", "Strategie"]
    words += ["Regen", "Qualifying", "Startplatz", "Motor", "Getriebe"]
    base = [
        Article(
            f"a{i}",
            f"Artikel {i}: {words[i]}",
            " ".join(f"Satz {n} über {words[(i + n) % 10]} und {words[i]} im Lauf {i}." for n in range(30)),
            published=None,
        )
        for i in range(8)
    ]
    result = bench_feeds(base, [3] * 8, 12, Settings(), FakeEmbedder(), {}, tmp_path)

    assert (result["new_articles"], result["written"], result["found"]) == (4, 4, 4)
    assert result["index_chunks"] > 0 and result["publish_s"] >= result["index_s"] > 0
    assert "4 of 4 new articles fetched into an index of" in format_table(
        {**_empty_result(), "feeds": result}
    )


def _empty_result() -> dict:
    machine = {"cpus": 2, "load_average_before": [0.0], "load_average_after": [0.0]}
    embedding = {"chunks_per_s": 1, "tokens_per_s": 1, "sample_chunks": 1}
    corpus = {"base_articles": 0, "base_chunks": 0, "vectors": ""}
    return {
        "model": "m",
        "backend": "b",
        "machine": machine,
        "embedding": embedding,
        "corpus": corpus,
        "before": {},
        "sizes": [],
        "vector_sizes": [],
        "memory": "",
    }
