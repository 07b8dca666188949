"""`pitwall bench`: speed and memory of indexing and answering at several corpus sizes, and of FAISS alone.

The corpus is real German news (10kGNAD, 1,028 articles) repeated with a numbered variant sentence per copy
to reach each size in chunks. Embedding is measured once, on a sample of the original chunks; the original
chunks are embedded once (cached in the work folder) and the copies reuse their vectors plus a small random
nudge, so a size of 100,000 chunks builds in minutes, not hours. Questions are answered with the real model.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.bench.corpus import ReusedVectors, articles_for_size, changed, read_gnad, write_corpus
from bot.bench.feeds import NEW_ARTICLES, bench_feeds
from bot.bench.startup import BEFORE, cold_ask, full_build
from bot.bench.stats import peak_memory_mib, percentile
from bot.bench.vectors import bench_vectors
from bot.service import AnswerService
from bot.settings import Settings
from index.build import EMBED_SLICE as EMBED_BATCH
from index.build import build_index
from index.documents import Article
from index.embed.embedding import Embedder
from index.store.generations import current_generation, load_index
from index.text.chunking import ChunkingParams, chunk_article
from index.text.sentences import quote_units

DEFAULT_SIZES = (1_000, 10_000, 100_000)
DEFAULT_VECTOR_SIZES = (100_000, 1_000_000)
THROUGHPUT_SAMPLE = 256  # chunks embedded to measure the embedding speed
QUESTIONS = (
    "Wer hat das Rennen gewonnen?",
    "Was sagt der Teamchef zur neuen Saison?",
    "Welche Strafe bekam der Fahrer?",
    "Wie schnell war die Pole-Position-Runde?",
    "Wann beginnt die Formel-1-Saison?",
    "Was passierte beim Unfall in der ersten Runde?",
    "Welcher Hersteller steigt aus dem Motorsport aus?",
    "Wie reagierte die Regierung auf die Kritik?",
    "Wie viel kostet das neue Stadion?",
    "Was sagt der Trainer nach der Niederlage?",
    "Who won the race?",
    "What did the team principal say about the new season?",
    "Is Alpine entering IMSA?",
    "Which manufacturer is leaving motorsport?",
    "How fast was the pole lap?",
    "What happened in the crash on the first lap?",
    "Did the driver get a penalty?",
    "What did the government say about the refugees?",
    "How much did the company earn last year?",
    "Who is the new coach of the national team?",
)

Log = Callable[[str], None]


@dataclass(frozen=True)
class BenchOptions:
    gnad: Path
    work_dir: Path
    sizes: tuple[int, ...] = DEFAULT_SIZES
    vector_sizes: tuple[int, ...] = DEFAULT_VECTOR_SIZES
    rounds: int = 2  # times each question is asked per size
    build_articles: int | None = None  # articles of the full build with real embedding (None: all)
    cold_asks: int = 3  # runs of a cold `pitwall ask` against that build (0: none)
    feed_chunks: int = 0  # chunks of the index 20 feed articles are fetched into (0: no feeds line)


class _TimedEmbedder:
    """An Embedder that adds up the seconds spent embedding questions."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self.model_id, self.dimension, self.max_tokens = (
            embedder.model_id,
            embedder.dimension,
            embedder.max_tokens,
        )
        self.query_seconds = 0.0

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        return self._embedder.token_lengths(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        try:
            return self._embedder.embed_queries(texts)
        finally:
            self.query_seconds += time.perf_counter() - started

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embedder.embed_passages(texts)


def run_bench(
    options: BenchOptions, settings: Settings, embedder: Embedder, log: Log = lambda _: None
) -> dict:
    """Every figure of the bench as one JSON-ready dict."""
    base = read_gnad(options.gnad)  # first: a missing file is reported before anything slow happens
    model_id = settings.model_id
    load_before = os.getloadavg()
    options.work_dir.mkdir(parents=True, exist_ok=True)
    params = ChunkingParams(
        embedder.max_tokens, settings.chunk_overlap_sentences, settings.chunk_target_tokens
    )
    log(f"chunking {len(base)} articles")
    base_chunks = [
        [
            chunk.text
            for chunk in chunk_article(
                article,
                embedder.token_lengths,
                params.max_tokens,
                params.overlap_sentences,
                params.target_tokens,
            )
        ]
        for article in base
    ]
    texts = [text for chunks in base_chunks for text in chunks]
    embedding = _throughput(embedder, texts, log)
    build_articles = base[: options.build_articles] if options.build_articles is not None else base
    full = None
    if build_articles:
        log(f"full build of {len(build_articles)} articles, every text embedded for real")
        full = full_build(build_articles, settings, embedder, options.work_dir / "full-build")
    cold = None
    if full and options.cold_asks:
        log(f"{options.cold_asks} cold asks in new processes")
        cold = cold_ask(options.work_dir / "full-build", settings, options.cold_asks)
    vectors: dict[str, np.ndarray] = {}
    if options.sizes or options.feed_chunks:
        unit_texts = [article.text[start:end] for article in base for start, end in quote_units(article.text)]
        built = options.work_dir / "full-build" if len(build_articles) == len(base) else None
        vectors = base_vectors(embedder, settings, base, texts + unit_texts, options.work_dir, log, built)
    sizes = []
    for size in options.sizes:
        articles = articles_for_size(base, [len(chunks) for chunks in base_chunks], size)
        sizes.append(_bench_size(size, articles, settings, embedder, vectors, embedding, options, log))
    feeds = None
    if options.feed_chunks:
        log(f"feeds: {NEW_ARTICLES} new articles fetched into an index of {options.feed_chunks:,} chunks")
        chunk_counts = [len(chunks) for chunks in base_chunks]
        feeds = bench_feeds(
            base, chunk_counts, options.feed_chunks, settings, embedder, vectors, options.work_dir
        )
    vector_sizes = []
    for count in options.vector_sizes:
        log(f"vectors: {count:,} random unit vectors")
        vector_sizes.append(bench_vectors(count, embedder.dimension, options.work_dir))
    return {
        "model": model_id,
        "backend": settings.embedding_backend,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "corpus": {
            "source": str(options.gnad),
            "base_articles": len(base),
            "base_chunks": len(texts),
            "vectors": "the base chunks embedded once (cached); copies reuse them plus a small random nudge",
        },
        "embedding": embedding,
        "full_build": full,
        "cold_ask": cold,
        "before": BEFORE,
        "memory": "peak resident set size of the bench process so far (getrusage ru_maxrss); it only grows",
        "sizes": sizes,
        "feeds": feeds,
        "vector_sizes": vector_sizes,
    }


def _throughput(embedder: Embedder, texts: list[str], log: Log) -> dict:
    step = max(1, len(texts) // THROUGHPUT_SAMPLE)
    sample = texts[::step][:THROUGHPUT_SAMPLE]
    log(f"embedding {len(sample)} chunks to measure the speed")
    tokens = sum(embedder.token_lengths(sample))
    started = time.perf_counter()
    for begin in range(0, len(sample), EMBED_BATCH):
        embedder.embed_passages(sample[begin : begin + EMBED_BATCH])
    seconds = time.perf_counter() - started
    return {
        "embedder": type(embedder).__name__,
        "sample_chunks": len(sample),
        "chunks_per_s": round(len(sample) / seconds, 1),
        "tokens_per_s": round(tokens / seconds, 1),
    }


def base_vectors(
    embedder: Embedder,
    settings: Settings,
    base: Sequence[Article],
    texts: list[str],
    work_dir: Path,
    log: Log,
    built: Path | None = None,
) -> dict[str, np.ndarray]:
    """Vectors of the base chunks and quote units `texts`, kept in the work folder per model and texts. They
    are read from an index of all `base` articles built with `embedder` (`built`; without it, one is built
    here, untimed): the build embeds chunks and quote units in one pass, much faster than embedding each text
    on its own. Texts that index lacks are embedded for real."""
    digest = hashlib.sha256("\n\0".join([settings.model_id, *texts]).encode()).hexdigest()[:16]
    cache = work_dir / f"base-vectors-{digest}.npy"
    if cache.is_file():
        matrix = np.load(cache, allow_pickle=False)
        return dict(zip(texts, matrix, strict=True))
    scratch = None
    if built is None:
        log(f"building the {len(base)} base articles once for their vectors (cached in {cache})")
        scratch = built = work_dir / "base-build"
        full_build(base, settings, embedder, built)
    known = _indexed_vectors(built, embedder.model_id)
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)
    matrix = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    missing = []
    for row, text in enumerate(texts):
        vector = known.get(text)
        if vector is None:
            missing.append(row)
        else:
            matrix[row] = vector
    if missing:
        log(f"embedding {len(missing)} base texts the index lacks")
        for begin in range(0, len(missing), EMBED_BATCH):
            rows = missing[begin : begin + EMBED_BATCH]
            matrix[rows] = embedder.embed_passages([texts[row] for row in rows])
    np.save(cache, matrix, allow_pickle=False)
    return dict(zip(texts, matrix, strict=True))


def _indexed_vectors(index_dir: Path, model_id: str) -> dict[str, np.ndarray]:
    """Every chunk and quote unit text of an index with its vector."""
    data = load_index(index_dir, model_id=model_id)
    known = {data.chunk(row).text: data.vectors[row] for row in range(len(data.chunk_table))}
    for (article_row, start, end), vector in zip(data.unit_table, data.unit_vectors, strict=True):
        known.setdefault(data.articles[article_row].text[start:end], vector.astype(np.float32))
    return known


def _bench_size(
    size: int,
    articles: list,
    settings: Settings,
    embedder: Embedder,
    vectors: dict[str, np.ndarray],
    embedding: dict,
    options: BenchOptions,
    log: Log,
) -> dict:
    folder = options.work_dir / f"size-{size}"
    shutil.rmtree(folder, ignore_errors=True)
    corpus, index_dir = folder / "corpus", folder / "index"
    write_corpus(articles, corpus)
    reused = ReusedVectors(embedder, vectors)

    def build() -> tuple[float, object]:
        reused.embedding_seconds = 0.0
        started = time.perf_counter()
        report = build_index(
            corpus,
            index_dir,
            model_id=settings.model_id,
            get_embedder=lambda: reused,
            overlap_sentences=settings.chunk_overlap_sentences,
            target_tokens=settings.chunk_target_tokens,
        )
        return time.perf_counter() - started, report

    log(f"size {size:,}: building from {len(articles):,} articles")
    build_s, report = build()
    build_embedding_s = reused.embedding_seconds
    unchanged_s, _ = build()
    step = max(1, len(articles) // max(1, len(articles) // 100))
    edited = [changed(a) if i % step == 0 else a for i, a in enumerate(articles)]
    write_corpus(edited, corpus)
    changed_s, changed_report = build()
    changed_embedding_s = reused.embedding_seconds
    log(f"size {size:,}: {report.chunks:,} chunks built in {build_s:.1f} s; asking")
    ask = _ask_latency(
        settings.model_copy(update={"corpus_dir": corpus, "index_dir": index_dir}), embedder, options
    )
    generation = current_generation(index_dir)
    disk = sum(p.stat().st_size for p in generation.rglob("*") if p.is_file()) if generation else 0
    manifest_type = ask.pop("index_type")
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "chunks": report.chunks,
        "articles": report.articles,
        "index_type": manifest_type,
        "build_s": round(build_s, 2),
        "build_real_embedding_s": round(build_embedding_s, 2),
        "embedding_s_estimate": round(report.chunks / embedding["chunks_per_s"], 1),
        "reindex_unchanged_s": round(unchanged_s, 2),
        "reindex_1pct_s": round(changed_s, 2),
        "reindex_1pct_changed_articles": changed_report.changed,
        "reindex_1pct_real_embedding_s": round(changed_embedding_s, 2),
        "reindex_1pct_embedding_s_estimate": round(
            changed_report.embedded_chunks / embedding["chunks_per_s"], 1
        ),
        "chunks_embedded_for_real": reused.embedded,
        **ask,
        "index_bytes": disk,
        "peak_rss_mib": peak_memory_mib(),
    }


def _ask_latency(settings: Settings, embedder: Embedder, options: BenchOptions) -> dict:
    timed = _TimedEmbedder(embedder)
    service = AnswerService(settings, lambda _: timed)
    searcher = service.searcher()
    service.ask(QUESTIONS[0])  # warm-up
    totals, answered_ms, question_ms, search_ms = [], [], [], []
    for _ in range(options.rounds):
        for question in QUESTIONS:
            timed.query_seconds = 0.0
            started = time.perf_counter()
            answer = service.ask(question)
            totals.append((time.perf_counter() - started) * 1000)
            question_ms.append(timed.query_seconds * 1000)
            if not answer.abstained:
                answered_ms.append(totals[-1])
            vector = embedder.embed_queries([question])[0]
            started = time.perf_counter()
            searcher.search(question, 5, query_vector=vector)
            search_ms.append((time.perf_counter() - started) * 1000)
    return {
        "index_type": searcher.manifest.dense_index,
        "ask_ms": {
            "p50": percentile(totals, 50),
            "p95": percentile(totals, 95),
            "p99": percentile(totals, 99),
        },
        "ask_answered_ms_p50": percentile(answered_ms, 50),
        "ask_parts_ms_p50": {
            "embed_question": percentile(question_ms, 50),
            "search": percentile(search_ms, 50),
        },
        "asks": len(totals),
        "answered_share": round(len(answered_ms) / len(totals), 2),
    }
