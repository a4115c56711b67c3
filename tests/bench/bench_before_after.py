"""Benchmark: this checkout against an earlier commit, side by side: a real user's project (the
demo: one Dockerfile and one Compose file) and the whole corpus.

Run: python tests/bench/bench_before_after.py [COMMIT] [--runs 3]   (default COMMIT: main)
(prints times and ratios; not a timed test)

The earlier commit is checked out into a temporary `git worktree` and run with this checkout's
Python and packages (the same venv), its own code first on PYTHONPATH; both run from a
temporary directory, so that `python -m harden` imports the code meant and not the current
directory's. Each command runs --runs times, the two checkouts taking turns, and the best time
counts:

- `harden check --offline --quiet PATH`
- `harden fix --offline --quiet --output TMP PATH`

for PATH the demo project (what one user's run costs: mostly start-up) and the corpus.

with an empty digest cache (only what the corpus says). The worktree is removed at the end.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from timing import ROOT, best_of, checkout, describe, environment

CORPUS = ROOT.parent / "shared" / "corpus"
DEMO = ROOT / "fixtures" / "demo"


def commands(out: Path) -> dict[str, list[str]]:
    harden = [sys.executable, "-m", "harden"]
    found = {}
    for label, path in (("demo", DEMO), ("corpus", CORPUS)):
        found[f"check {label}"] = [*harden, "check", "--offline", "--quiet", str(path)]
        found[f"fix --output {label}"] = [*harden, "fix", "--offline", "--quiet", "--output", str(out), str(path)]
    return found


def times(codes: list[Path], runs: int, cwd: Path) -> list[dict[str, float]]:
    """The best time of each command for each checkout; the checkouts take turns, run after run,
    so that a machine that gets busier or quieter meanwhile moves both alike."""
    cache = tempfile.mkdtemp(prefix="harden-bench-cache-")
    environments = [environment(code, cwd, cache) for code in codes]
    found: list[dict[str, float]] = [{} for _ in codes]
    for _ in range(runs):
        for best, env in zip(found, environments, strict=True):
            for name, command in commands(cwd / "out").items():
                seconds = best_of(command, 1, env=env, cwd=cwd)
                best[name] = min(seconds, best.get(name, seconds))
                shutil.rmtree(cwd / "out", ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("commit", nargs="?", default="main")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    label = describe(options.commit)
    with checkout(options.commit) as before, tempfile.TemporaryDirectory(prefix="harden-bench-run-") as cwd:
        old, new = times([before, ROOT], options.runs, Path(cwd))
    files = sum(1 for p in CORPUS.rglob("*") if p.is_file())
    print(f"corpus: {CORPUS} ({files} files); best of {options.runs}")
    print(f"{'command':<22}{label:>22}{'this checkout':>16}{'ratio':>8}")
    for name in old:
        print(f"{name:<22}{old[name]:>20.3f} s{new[name]:>14.3f} s{new[name] / old[name]:>8.2f}")


if __name__ == "__main__":
    main()
