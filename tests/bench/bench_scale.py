"""Benchmark: harden on big trees, made of the corpus copied into distinct folders.

Run: python tests/bench/bench_scale.py [--sizes 2000,5000,10000] [--runs 3] [--workers 1,2]
(prints times, memory and ratios; not a timed test)

For each size the corpus (../shared/corpus) is copied into folders c000, c001, ... until the
tree holds at least that many Dockerfiles and Compose files. Then `harden check --offline
--quiet TREE` and `harden fix --offline --quiet --output OUT TREE` run with HARDEN_WORKERS=1
and =2 (the switch that forces the number of processes that analyse files; by default harden
uses one per core from 500 files on: harden.engine.pipeline.POOL_MIN_FILES). For each run it prints:

- seconds: wall time, the best of --runs (the worker counts take turns, run after run);
- maxrss: the peak resident set size the kernel reports when the run ends (ru_maxrss, as
  /usr/bin/time -v prints it): the largest of harden's process and each of its workers, not
  their sum;
- total PSS: the peak, sampled every 20 ms, of the proportional set size summed over harden's
  process and its workers (/proc/PID/smaps_rollup): what the run costs the machine, with the
  pages forked workers share with their parent counted once.

the largest of the runs; and, per size and command, the speed-up of 2 workers over 1 (from the
best times, and the median of the runs taken in turn, which a drifting load moves least). Goals (issue 9): a peak of at
most 100 MB and at least 1.6x at 2,000 files and more. The machine's other load moves the
numbers: the first line says what the machine gives right now (pure Python arithmetic in two
processes over one: 2.0x on two idle cores), and on a shared machine run it more than once.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
COMMANDS = {"check": ["check"], "fix --output": ["fix", "--output", "{out}"]}


def build_tree(directory: Path, size: int, per_copy: int) -> int:
    """Copy the corpus into `directory` until it holds `size` files harden reads; how many it holds."""
    copies = -(-size // per_copy)
    for index in range(copies):
        target = directory / f"c{index:03}"
        if not target.exists():
            shutil.copytree(CORPUS, target)
    return copies * per_copy


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(command: list[str], environment: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """(seconds, ru_maxrss MB, peak total PSS MB) of one run."""
    peak = [0]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment, cwd=cwd)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], sum(pss_kb(p) for p in descendants(process.pid)))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, _, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    process.returncode = 0  # reaped by wait4 above: Popen must not wait for it again
    return seconds, usage.ru_maxrss / 1024, peak[0] / 1024  # Linux gives ru_maxrss in kilobytes


def _spin(count: int) -> int:
    total = 0
    for i in range(count):
        total += i * i
    return total


def machine_speedup() -> float:
    """Pure-Python work in 2 processes over 1: the most any program gets from a second worker now."""
    from concurrent.futures import ProcessPoolExecutor

    start = time.perf_counter()
    for _ in range(4):
        _spin(3_000_000)
    one = time.perf_counter() - start
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_spin, [10]))  # started
        start = time.perf_counter()
        list(pool.map(_spin, [3_000_000] * 4))
        two = time.perf_counter() - start
    return one / two


def run_pairs(
    harden: list[str], arguments: list[str], tree: Path, base: Path, cache: Path, workers: list[int], runs: int
) -> dict[int, list[tuple[float, float, float]]]:
    """Every measurement of one command, the worker counts taking turns (a machine that gets
    busier or quieter during the benchmark then moves all of them alike)."""
    found: dict[int, list[tuple[float, float, float]]] = {w: [] for w in workers}
    for _ in range(runs):
        for count in workers:
            environment = {**os.environ, "HARDEN_WORKERS": str(count), "XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(ROOT)}
            out = base / "out"
            shutil.rmtree(out, ignore_errors=True)
            command = [*harden, arguments[0], "--offline", "--quiet", *(a.format(out=out) for a in arguments[1:])]
            found[count].append(measure([*command, str(tree)], environment, base))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2000,5000,10000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--keep", type=Path, help="build the trees here and keep them (default: a temporary directory)")
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from harden.discover import discover

    per_copy = len(discover([str(CORPUS)])[0])
    base = options.keep or Path(tempfile.mkdtemp(prefix="harden-scale-"))
    cache = Path(tempfile.mkdtemp(prefix="harden-scale-cache-"))
    harden = [sys.executable, "-m", "harden"]
    workers = [int(w) for w in options.workers.split(",")]
    print(f"{os.cpu_count()} cores; corpus: {per_copy} files per copy; load average {os.getloadavg()[0]:.2f}")
    print(f"machine now: pure-Python work in 2 processes over 1: {machine_speedup():.2f}x")
    print(f"{'files':>6}  {'command':<13} {'workers':>7} {'best s':>7} {'maxrss MB':>10} {'total PSS MB':>13}")
    try:
        for size in (int(s) for s in options.sizes.split(",")):
            tree = base / f"tree-{size}"
            tree.mkdir(parents=True, exist_ok=True)
            files = build_tree(tree, size, per_copy)
            for name, arguments in COMMANDS.items():
                found = run_pairs(harden, arguments, tree, base, cache, workers, options.runs)
                for count, results in found.items():
                    seconds, rss, pss = min(r[0] for r in results), max(r[1] for r in results), max(r[2] for r in results)
                    print(f"{files:>6}  {name:<13} {count:>7} {seconds:>7.2f} {rss:>10.1f} {pss:>13.1f}")
                if 1 in found and 2 in found:
                    pairs = sorted(one[0] / two[0] for one, two in zip(found[1], found[2], strict=True))
                    best = min(r[0] for r in found[1]) / min(r[0] for r in found[2])
                    median = pairs[len(pairs) // 2]
                    print(f"{files:>6}  {name:<13} 2 workers over 1: {best:.2f}x (best times), {median:.2f}x (median pair)")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        if options.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
