"""Benchmark: what one real user's run costs (mostly start-up), this checkout against an
earlier commit, side by side.

Run: python tests/bench/bench_startup.py [COMMIT] [--runs 5]   (default COMMIT: main)
(prints instruction counts, times and ratios; not a timed test)

The commands, on the demo project (fixtures/demo: one Dockerfile and one Compose file) and on
each of its two files alone:

- `harden check --offline --quiet PATH`, `harden diff --offline --quiet PATH` (the project)
- `harden fix --offline --quiet --output TMP PATH`

For each: the instructions executed (valgrind's callgrind, when valgrind is installed; the
repeatable measure: other load on the machine does not move it) and the best wall time of
--runs runs (the checkouts taking turns, run after run). The earlier commit runs from a
temporary `git worktree` (removed at the end) with this checkout's Python and packages, as
tests/bench/bench_before_after.py does; both run from a temporary directory with an empty
digest cache.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from timing import ROOT, best_of, checkout, describe, environment, instructions

DEMO = ROOT / "fixtures" / "demo"


def commands(out: Path) -> dict[str, list[str]]:
    harden = [sys.executable, "-m", "harden"]
    fix = [*harden, "fix", "--offline", "--quiet", "--output", str(out)]
    return {
        "check demo": [*harden, "check", "--offline", "--quiet", str(DEMO)],
        "diff demo": [*harden, "diff", "--offline", "--quiet", str(DEMO)],
        "fix --output demo": [*fix, str(DEMO)],
        "check compose.yaml": [*harden, "check", "--offline", "--quiet", str(DEMO / "compose.yaml")],
        "fix --output compose.yaml": [*fix, str(DEMO / "compose.yaml")],
        "check Dockerfile": [*harden, "check", "--offline", "--quiet", str(DEMO / "Dockerfile")],
        "fix --output Dockerfile": [*fix, str(DEMO / "Dockerfile")],
    }


def measure(codes: list[Path], runs: int, cwd: Path) -> tuple[list[dict[str, int | None]], list[dict[str, float]]]:
    """Each command's instructions and best wall time, for each checkout."""
    cache = tempfile.mkdtemp(prefix="harden-bench-cache-")
    environments = [environment(code, cwd, cache) for code in codes]
    out = cwd / "out"
    counts: list[dict[str, int | None]] = [{} for _ in codes]
    times: list[dict[str, float]] = [{} for _ in codes]
    for count, env in zip(counts, environments, strict=True):
        for name, command in commands(out).items():
            count[name] = instructions(command, env=env, cwd=cwd)
            shutil.rmtree(out, ignore_errors=True)
    for _ in range(runs):
        for best, env in zip(times, environments, strict=True):
            for name, command in commands(out).items():
                seconds = best_of(command, 1, env=env, cwd=cwd)
                best[name] = min(seconds, best.get(name, seconds))
                shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    return counts, times


def giga(count: int | None) -> str:
    return "-" if count is None else f"{count / 1e9:.3f} G"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("commit", nargs="?", default="main")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    label = describe(options.commit)
    with checkout(options.commit) as before, tempfile.TemporaryDirectory(prefix="harden-bench-run-") as cwd:
        counts, times = measure([before, ROOT], options.runs, Path(cwd))
    print(f"before: {label}; instructions: callgrind; wall: best of {options.runs}")
    print(f"{'command':<27}{'before':>10}{'now':>10}{'ratio':>7}{'before':>10}{'now':>10}{'ratio':>7}")
    for name in times[0]:
        old, new = counts[0][name], counts[1][name]
        ratio = f"{new / old:>7.3f}" if old and new else f"{'-':>7}"
        wall = f"{times[0][name]:>8.3f} s{times[1][name]:>8.3f} s{times[1][name] / times[0][name]:>7.2f}"
        print(f"{name:<27}{giga(old):>10}{giga(new):>10}{ratio}{wall}")


if __name__ == "__main__":
    main()
