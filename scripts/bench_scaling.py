"""The figures of docs/scaling.md: one JSON document on stdout, progress on stderr.

    python scripts/bench_scaling.py stores [--sizes 10000,100000]   # FAISS vs Milvus Lite: ask latency, RSS
    python scripts/bench_scaling.py ray [--workers 1,2] [--texts 512] # embedding throughput on Ray workers
    python scripts/bench_scaling.py process [--rounds 2]            # one bot process: asks/s and RSS

`stores` builds the bench corpus of `pitwall bench` (the first --base-articles 10kGNAD articles repeated
to a size in chunks, the copies reusing the originals' vectors, embedded once and cached) into each store
and asks the bench's 20 questions through the answer service: asks per second of one process (one question
at a time), latency percentiles, the process's resident memory after loading and asking (VmRSS) and the
build time. `ray` embeds the same chunk texts locally and on 1, 2, ... Ray workers started on this
machine and reports chunks per second.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from bot.bench.corpus import DEFAULT_GNAD, ReusedVectors, articles_for_size, read_gnad, write_corpus
from bot.bench.run import QUESTIONS, base_vectors
from bot.bench.stats import percentile
from bot.service import AnswerService, embedder_recipe, make_embedder
from bot.settings import Settings
from index.text.chunking import chunk_article
from index.text.sentences import quote_units


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def base_chunks(settings: Settings, embedder, gnad: Path, articles: int):  # noqa: ANN001, ANN201
    base = read_gnad(gnad)[:articles]
    chunks = [
        [c.text for c in chunk_article(a, embedder.token_lengths, embedder.max_tokens, 1, None)] for a in base
    ]
    return base, chunks


def bench_stores(sizes: list[int], gnad: Path, work: Path, rounds: int, articles: int) -> dict:
    settings = Settings()
    embedder = make_embedder(settings)
    base, chunks = base_chunks(settings, embedder, gnad, articles)
    texts = [text for article in chunks for text in article]
    units = [a.text[s:e] for a in base for s, e in quote_units(a.text)]
    vectors = base_vectors(embedder, settings, base, texts + units, work, log)
    results = []
    for size in sizes:
        folder = work / f"stores-{size}"
        shutil.rmtree(folder, ignore_errors=True)
        articles = articles_for_size(base, [len(c) for c in chunks], size)
        write_corpus(articles, folder / "corpus")
        for kind in ("faiss", "milvus"):
            local = settings.model_copy(
                update={
                    "corpus_dir": folder / "corpus",
                    "index_dir": folder / f"index-{kind}",
                    "store": kind,
                    "milvus_uri": str(folder / "milvus.db"),
                }
            )
            reused = ReusedVectors(embedder, vectors)
            service = AnswerService(local, lambda _, r=reused: r)
            log(f"{size:,} chunks, {kind}: building")
            started = time.perf_counter()
            report = service.reindex()
            build_s = time.perf_counter() - started
            before = rss_mib()
            service.ask(QUESTIONS[0])  # loads the store; not timed
            latencies = []
            started = time.perf_counter()
            for _ in range(rounds):
                for question in QUESTIONS:
                    begin = time.perf_counter()
                    service.ask(question)
                    latencies.append((time.perf_counter() - begin) * 1000)
            seconds = time.perf_counter() - started
            results.append(
                {
                    "store": kind,
                    "chunks": report.chunks,
                    "articles": report.articles,
                    "build_s": round(build_s, 1),
                    "asks": len(latencies),
                    "asks_per_s": round(len(latencies) / seconds, 2),
                    "ask_ms": {q: round(percentile(latencies, q), 1) for q in (50, 95)},
                    "rss_mib_before_loading": before,
                    "rss_mib_after_asking": rss_mib(),
                }
            )
            log(json.dumps(results[-1]))
            del service
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()},
        "base_articles": len(base),
        "stores": results,
    }


def bench_process(rounds: int) -> dict:
    """One bot-like process with the settings' store: index the corpus, load, answer the questions."""
    service = AnswerService(Settings())
    report = service.reindex()
    service.load()
    loaded = rss_mib()
    started = time.perf_counter()
    for _ in range(rounds):
        for question in QUESTIONS:
            service.ask(question)
    seconds = time.perf_counter() - started
    return {
        "store": service.settings.store,
        "chunks": report.chunks,
        "asks": rounds * len(QUESTIONS),
        "asks_per_s": round(rounds * len(QUESTIONS) / seconds, 2),
        "rss_mib_loaded": loaded,
        "rss_mib_after_asking": rss_mib(),
        "load_average": os.getloadavg(),
    }


def bench_ray(workers: list[int], gnad: Path, count: int) -> dict:
    from index.embed import ray_embedding

    settings = Settings()
    embedder = make_embedder(settings)
    _, chunks = base_chunks(settings, embedder, gnad, 1_000_000)
    texts = [text for article in chunks for text in article][:count]
    results = []
    started = time.perf_counter()
    embedder.embed_passages(texts)
    results.append(
        {
            "engine": "local",
            "workers": 1,
            "chunks_per_s": round(len(texts) / (time.perf_counter() - started), 1),
        }
    )
    log(json.dumps(results[-1]))
    started = time.perf_counter()
    ray_embedding.connect("local", cpus=max(workers))
    ray_start_s = time.perf_counter() - started
    for n in workers:
        started = time.perf_counter()
        remote = ray_embedding.ray_embedder(embedder, embedder_recipe(settings), n)
        actors_s = time.perf_counter() - started
        started = time.perf_counter()
        remote.embed_passages(texts)
        seconds = time.perf_counter() - started
        remote.close()
        results.append(
            {
                "engine": "ray",
                "workers": n,
                "chunks_per_s": round(len(texts) / seconds, 1),
                "workers_start_s": round(actors_s, 1),
            }
        )
        log(json.dumps(results[-1]))
    ray_embedding.shutdown()
    return {
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()},
        "texts": len(texts),
        "ray_start_s": round(ray_start_s, 1),
        "results": results,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("stores")
    p.add_argument("--sizes", default="10000,100000")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--work-dir", type=Path, default=Path.home() / ".cache" / "pitwall" / "bench")
    p.add_argument("--gnad", type=Path, default=DEFAULT_GNAD)
    p.add_argument("--base-articles", type=int, default=200, help="10kGNAD articles the copies are made of")
    p = sub.add_parser("process")
    p.add_argument("--rounds", type=int, default=2)
    p = sub.add_parser("ray")
    p.add_argument("--workers", default="1,2")
    p.add_argument("--texts", type=int, default=512)
    p.add_argument("--gnad", type=Path, default=DEFAULT_GNAD)
    args = parser.parse_args()
    if args.what == "stores":
        args.work_dir.mkdir(parents=True, exist_ok=True)
        sizes = [int(s) for s in args.sizes.split(",")]
        result = bench_stores(sizes, args.gnad, args.work_dir, args.rounds, args.base_articles)
    elif args.what == "process":
        result = bench_process(args.rounds)
    else:
        result = bench_ray([int(n) for n in args.workers.split(",")], args.gnad, args.texts)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
