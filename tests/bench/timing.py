"""What the benchmark scripts share: timing a command, best of a few runs."""

from __future__ import annotations

import subprocess
import time


def best_of(command: list[str], runs: int = 3) -> float:
    """Wall time of the least disturbed of `runs` runs of `command` (output discarded)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return min(times)
