"""CPU-time growth of a piece of work, for tests that show it is linear (a ratio, never a time limit)."""

from __future__ import annotations

import time
from collections.abc import Callable


def growth(work: Callable[[int], object], size: int, factor: int = 4, runs: int = 3) -> float:
    """CPU time of `work(factor * size)` over that of `work(size)`, the best of `runs` each: about
    `factor` when the work is linear, `factor` squared when it is quadratic."""

    def best(n: int) -> float:
        times = []
        for _ in range(runs):
            started = time.process_time()
            work(n)
            times.append(time.process_time() - started)
        return min(times)

    return best(factor * size) / max(best(size), 1e-6)
