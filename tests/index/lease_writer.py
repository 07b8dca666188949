"""A build in its own process, for the one-writer tests: `python -m tests.index.lease_writer CORPUS INDEX`.

--seconds S      the lease time
--stop-at STEP   at this publishing step (index/store/generations.py `_reached`) write INDEX/../STEP.ready
                 and wait until INDEX/../go exists (the test kills, pauses or releases it there)
--host NAME      pretend to run on another machine (its pid cannot be checked from here)

Exit status: 0 published, 75 another build holds the lease (its message on stdout), 76 the lease was lost.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from index.build import build_index
from index.store import generations, lease
from tests.fakes import FakeEmbedder

BUSY, LOST = 75, 76


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", type=Path)
    parser.add_argument("index", type=Path)
    parser.add_argument("--seconds", type=float, default=lease.LEASE_SECONDS)
    parser.add_argument("--stop-at")
    parser.add_argument("--host")
    args = parser.parse_args()
    signals = args.index.parent
    if args.host:
        lease.this_machine = lambda: (args.host, f"machine of {args.host}")
    if args.stop_at:

        def reached(step: str) -> None:
            if step == args.stop_at:
                (signals / f"{step}.ready").touch()
                deadline = time.monotonic() + 120  # a test that failed never says go
                while not (signals / "go").exists() and time.monotonic() < deadline:
                    time.sleep(0.02)

        generations._reached = reached
    try:
        with lease.build_lock(args.index, "lease_writer", args.seconds) as held:
            build_index(
                args.corpus, args.index, model_id=FakeEmbedder.model_id, get_embedder=FakeEmbedder, lease=held
            )
    except lease.LeaseLost as error:
        print(error)
        return LOST
    except generations.IndexBusy as error:
        print(error)
        return BUSY
    return 0


if __name__ == "__main__":
    sys.exit(main())
