"""Small measuring helpers of the bench: percentiles and peak memory."""

from __future__ import annotations

import math
import resource
import sys
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by the nearest-rank method, rounded to 0.01; 0.0 for no values."""
    if not values:
        return 0.0
    if not 0 <= q <= 100:
        raise ValueError(f"a percentile lies between 0 and 100, got {q}")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return round(float(ordered[rank - 1]), 2)


def peak_memory_mib() -> float:
    """The process's peak resident set size so far (getrusage ru_maxrss), in MiB. It only ever grows."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)  # bytes on macOS, KiB on Linux
