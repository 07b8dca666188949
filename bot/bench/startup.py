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
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bot.bench.corpus import write_corpus
from bot.settings import Settings
from index.build import build_index
from index.documents import Article
from index.embed.embedding import Embedder

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


# Linux keeps a process's peak RSS (ru_maxrss) across fork and exec: a child starts from the high-water mark
# of the process that forked it, so a bench that has just built an index (1 GB) would lend it to the cold ask
# it starts. A small launcher process (a bare interpreter, ~10 MB) in between starts the command and reports
# the command's own resource usage to a file.
_LAUNCHER = """
import json, os, sys, time
report, command = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.posix_spawnp(command[0], command, os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(report, "w") as out:
    json.dump({"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
               "peak_rss_kib": usage.ru_maxrss, "returncode": os.waitstatus_to_exitcode(status)}, out)
"""


@dataclass(frozen=True)
class Measured:
    returncode: int
    seconds: float  # wall time from start to exit
    cpu_seconds: float  # user + system time of the command (its threads and waited-for children)
    peak_rss_mib: float  # the command's own peak resident set size


def measure_command(command: Sequence[str], cwd: Path, env: dict[str, str], stdout: IO[bytes]) -> Measured:
    """Run `command` to its end and measure it; its standard output goes to `stdout`, its errors nowhere."""
    with tempfile.TemporaryDirectory(prefix="pitwall-bench-measure-") as folder:
        report = Path(folder) / "usage.json"
        launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(report), *command]
        subprocess.run(launcher, cwd=cwd, env=env, stdout=stdout, stderr=subprocess.DEVNULL, check=True)
        usage = json.loads(report.read_text())
    return Measured(
        returncode=usage["returncode"],
        seconds=usage["seconds"],
        cpu_seconds=usage["cpu_seconds"],
        peak_rss_mib=usage["peak_rss_kib"] / 1024,  # KiB on Linux
    )


def cold_ask(index_dir: Path, settings: Settings, runs: int = 3) -> dict:
    """`python -m bot ask` in a new process, `runs` times: wall and CPU seconds, peak RSS (of the child)."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PITWALL_EMBEDDING_MODEL": settings.embedding_model,
        "PITWALL_EMBEDDING_BACKEND": settings.embedding_backend,
    }
    command = [sys.executable, "-m", "bot", "ask", COLD_ASK_QUESTION, "--index", str(index_dir), "--json"]
    runs_measured = []
    for _ in range(runs):
        with tempfile.TemporaryFile() as out:
            measured = measure_command(command, REPO, env, out)
            if measured.returncode != 0:
                raise RuntimeError(f"the cold ask failed with exit status {measured.returncode}: {command}")
            out.seek(0)
            json.loads(out.read())  # one JSON document: the answer really came
        runs_measured.append(measured)
    seconds = [m.seconds for m in runs_measured]
    return {
        "question": COLD_ASK_QUESTION,
        "runs": runs,
        "seconds_median": round(statistics.median(seconds), 2),
        "seconds_min": round(min(seconds), 2),
        # CPU seconds of the child: about its wall time on an idle machine, whatever the load now
        "cpu_seconds_median": round(statistics.median(m.cpu_seconds for m in runs_measured), 2),
        "peak_rss_mib_max": round(max(m.peak_rss_mib for m in runs_measured), 1),
    }
