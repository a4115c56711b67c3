"""What the benchmark scripts share: timing a command, best of a few runs."""

from __future__ import annotations

import subprocess
import time
from typing import Any


def best_of(command: list[str], runs: int = 3, **options: Any) -> float:
    """Wall time of the least disturbed of `runs` runs of `command` (output discarded; `options`
    go to subprocess.run, e.g. cwd and env)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, **options)
        times.append(time.perf_counter() - start)
    return min(times)
