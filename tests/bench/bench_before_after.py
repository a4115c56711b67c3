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
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import best_of

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
DEMO = ROOT / "fixtures" / "demo"


def imported_from(code: Path, environment: dict[str, str], cwd: Path) -> Path:
    """Where `import harden` finds the package with this environment (a sanity check)."""
    found = subprocess.run(
        [sys.executable, "-c", "import harden; print(harden.__file__)"],
        env=environment,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(found.stdout.strip()).resolve().parent.parent


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
    environments = [{**os.environ, "PYTHONPATH": str(code), "XDG_CACHE_HOME": cache} for code in codes]
    for code, environment in zip(codes, environments, strict=True):
        assert imported_from(code, environment, cwd) == code.resolve(), f"harden is not imported from {code}"
    found: list[dict[str, float]] = [{} for _ in codes]
    for _ in range(runs):
        for best, environment in zip(found, environments, strict=True):
            for name, command in commands(cwd / "out").items():
                seconds = best_of(command, 1, env=environment, cwd=cwd)
                best[name] = min(seconds, best.get(name, seconds))
                shutil.rmtree(cwd / "out", ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("commit", nargs="?", default="main")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    revision = subprocess.run(
        ["git", "rev-parse", "--short", options.commit], cwd=ROOT, capture_output=True, text=True, check=True
    )
    before = Path(tempfile.mkdtemp(prefix="harden-before-")) / "checkout"
    subprocess.run(["git", "worktree", "add", "--quiet", "--detach", str(before), options.commit], cwd=ROOT, check=True)
    try:
        with tempfile.TemporaryDirectory(prefix="harden-bench-run-") as cwd:
            old, new = times([before, ROOT], options.runs, Path(cwd))
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT, check=False)
        shutil.rmtree(before.parent, ignore_errors=True)
    files = sum(1 for p in CORPUS.rglob("*") if p.is_file())
    print(f"corpus: {CORPUS} ({files} files); best of {options.runs}")
    print(f"{'command':<22}{options.commit + ' (' + revision.stdout.strip() + ')':>22}{'this checkout':>16}{'ratio':>8}")
    for name in old:
        print(f"{name:<22}{old[name]:>20.3f} s{new[name]:>14.3f} s{new[name] / old[name]:>8.2f}")


if __name__ == "__main__":
    main()
