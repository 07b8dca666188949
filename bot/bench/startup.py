"""The bench's end-to-end figures: a full build of real articles (characters per second, every text embedded
for real) and a cold `pitwall ask` in a fresh process (wall time and peak resident memory)."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bot.bench.corpus import write_corpus
from bot.settings import Settings
from index.build import build_index
from index.documents import Article
from index.embedding import Embedder

COLD_ASK_QUESTION = "Wie reagierte die Regierung auf die Kritik?"
REPO = Path(__file__).resolve().parents[2]

# The figures before issue 11 (main at b2471e6, onnx-int8, this machine), printed beside the bench's own.
BEFORE = {
    "build_chars_per_s": "13.7k-17.2k (300 articles; LlamaIndex's default pipeline 24.8k in the same run)",
    "cold_ask_s": 5.8,
    "cold_ask_peak_rss_mib": 600,
}


def full_build(articles: Sequence[Article], settings: Settings, embedder: Embedder, index_dir: Path) -> dict:
    """Build an index of `articles` from scratch with the real embedder (already loaded) and time it."""
    shutil.rmtree(index_dir, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="pitwall-bench-corpus-") as folder:
        corpus = Path(folder)
        write_corpus(articles, corpus)
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        report = build_index(
            corpus,
            index_dir,
            model_id=embedder.model_id,
            get_embedder=lambda: embedder,
            overlap_sentences=settings.chunk_overlap_sentences,
            target_tokens=settings.chunk_target_tokens,
        )
        seconds = time.perf_counter() - started
    characters = sum(len(article.text) for article in articles)
    return {
        "articles": report.articles,
        "characters": characters,
        "chunks": report.chunks,
        "seconds": round(seconds, 2),
        "chars_per_s": round(characters / seconds),
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
    }


def cold_ask(index_dir: Path, settings: Settings, runs: int = 3) -> dict:
    """`python -m bot ask` in a new process, `runs` times: wall and CPU seconds, peak RSS (of the child)."""
    seconds, cpu, peaks = [], [], []
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PITWALL_EMBEDDING_MODEL": settings.embedding_model,
        "PITWALL_EMBEDDING_BACKEND": settings.embedding_backend,
    }
    command = [sys.executable, "-m", "bot", "ask", COLD_ASK_QUESTION, "--index", str(index_dir), "--json"]
    for _ in range(runs):
        with tempfile.TemporaryFile() as out:
            started = time.perf_counter()
            child = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(child.pid, 0)
            seconds.append(time.perf_counter() - started)
            child.returncode = os.waitstatus_to_exitcode(status)
            if child.returncode != 0:
                raise RuntimeError(f"the cold ask failed with exit status {child.returncode}: {command}")
            out.seek(0)
            json.loads(out.read())  # one JSON document: the answer really came
        peaks.append(usage.ru_maxrss / 1024)  # KiB on Linux
        cpu.append(usage.ru_utime + usage.ru_stime)
    return {
        "question": COLD_ASK_QUESTION,
        "runs": runs,
        "seconds_median": round(statistics.median(seconds), 2),
        "seconds_min": round(min(seconds), 2),
        # CPU seconds of the child: about its wall time on an idle machine, whatever the load now
        "cpu_seconds_median": round(statistics.median(cpu), 2),
        "peak_rss_mib_max": round(max(peaks), 1),
    }
