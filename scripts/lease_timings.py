"""Time the index lease (index/store/lease.py) and print one JSON document: taking and releasing it, and a
fence, on a folder (the FAISS store's `.lease/`) and in Milvus Lite (`{prefix}_lease`).

    python scripts/lease_timings.py [--rounds 50] [--work-dir DIR]

Medians in milliseconds. `--work-dir` on the shared file system the index folder will live on measures it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from index.store.lease import FolderBoard, LeaseBoard, hold_lease


def timings(board: LeaseBoard, rounds: int) -> dict[str, float]:
    held, fences = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        with hold_lease(board, "lease_timings") as lease:
            fence = time.perf_counter()
            lease.fence()
            fences.append(time.perf_counter() - fence)
        held.append(time.perf_counter() - started - fences[-1])
    return {
        "take_and_release_ms": round(statistics.median(held) * 1000, 1),
        "fence_ms": round(statistics.median(fences) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--work-dir", type=Path)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="pitwall-lease-", dir=args.work_dir))
    result = {"folder": timings(FolderBoard(folder), args.rounds)}
    try:
        from index.store.milvus import MilvusBoard, connect
    except ImportError:
        result["milvus_lite"] = "pymilvus is not installed"
    else:
        result["milvus_lite"] = timings(
            MilvusBoard(connect(str(folder / "lease.db")), "timings"), args.rounds
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
