"""What the benchmark scripts share: timing a command, best of a few runs."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path


def best_of(command: list[str], runs: int = 3, env: dict[str, str] | None = None, cwd: Path | None = None) -> float:
    """Wall time of the least disturbed of `runs` runs of `command` (output discarded)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env, cwd=cwd)
        times.append(time.perf_counter() - start)
    return min(times)
