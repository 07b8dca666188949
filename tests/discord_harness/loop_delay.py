"""Measure the largest event-loop delay of the bot while an admin's /reindex runs.

    python -m tests.discord_harness.loop_delay [--gnad ../shared/eval/10kGNAD/test.csv] [--limit N]

Builds a temporary corpus (the shipped corpus, plus German news articles from 10kGNAD if given), starts the
bot against the local Discord with the real answer service, runs /reindex as an admin and samples the
event loop every 10 ms until the re-index is done. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bot.service import AnswerService
from bot.settings import Settings
from tests.discord_harness.session import BotSession

TICK = 0.01


def write_gnad(csv_path: Path, corpus: Path, limit: int) -> int:
    with csv_path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter=";", quotechar="'"))[:limit]
    for i, (label, text) in enumerate(rows):
        title = text.split(". ")[0][:80].replace("'", "")
        front = (
            f"---\nid: gnad_{i:05d}\ntitle: '{title}'\nsource: DER STANDARD ({label})\nlanguage: de\n---\n\n"
        )
        (corpus / f"gnad_{i:05d}.md").write_text(front + text, encoding="utf-8")
    return len(rows)


async def sample_lag(stop: asyncio.Event, lags: list[float]) -> None:
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(TICK)
        lags.append(time.perf_counter() - before - TICK)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gnad", type=Path, help="10kGNAD test.csv to add as German news articles")
    parser.add_argument("--limit", type=int, default=1028, help="at most this many 10kGNAD articles")
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[2]
    base = Path(tempfile.mkdtemp(prefix="pitwall-loop-delay-"))
    try:
        corpus = base / "corpus"
        shutil.copytree(root / "corpus", corpus)
        added = write_gnad(args.gnad, corpus, args.limit) if args.gnad else 0
        service = AnswerService(Settings(corpus_dir=corpus, index_dir=base / "index"))
        session = BotSession(service, base)
        admin = session.discord.add_member("admin", roles=[session.discord.manager_role])
        session.start()
        try:
            lags: list[float] = []

            async def run() -> tuple[str, float]:
                stop = asyncio.Event()
                sampler = asyncio.create_task(sample_lag(stop, lags))
                started = time.perf_counter()
                ix = await session.discord.slash(admin, "reindex")
                done = await session.discord.wait_for(
                    lambda s: (
                        s.token == ix.token and "Re-index" in s.content and "Re-indexing" not in s.content
                    ),
                    timeout=3600,
                )
                stop.set()
                await sampler
                return done.content, time.perf_counter() - started

            result, seconds = session.run(run(), timeout=3700)
        finally:
            session.stop()
        lags.sort()
        print(
            json.dumps(
                {
                    "articles_added_from_10kgnad": added,
                    "reindex_seconds": round(seconds, 1),
                    "result": result,
                    "samples": len(lags),
                    "max_loop_delay_ms": round(lags[-1] * 1000, 1),
                    "p99_loop_delay_ms": round(lags[int(len(lags) * 0.99)] * 1000, 1),
                    "median_loop_delay_ms": round(lags[len(lags) // 2] * 1000, 2),
                },
                ensure_ascii=False,
            )
        )
        return 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
