"""Benchmark: do the corpus' Compose projects still run once hardened? Services started and healthy,
original against hardened, on the engine this machine has (podman with Docker's semantics).

Run: python tests/bench/bench_runtime.py [PROJECT...] [--timeout SECONDS]
(after `bash .ci/setup-runtime` and `tests/standins/build`; prints counts, not a timed test)

Which projects: every corpus Compose project whose images can be built here
(tests/standin_apps.py `runnable_projects()`: each image is a stand-in built from Debian
packages, and each `build:` context is complete once the app sources the corpus leaves out are
laid over it). Each runs three times, each time from a fresh copy, under its own project name,
with the runner `harden verify` uses (harden.verify.run: up, settle, restart, settle, always
torn down; Docker's semantics on podman, RUNTIME.md §8):

- original: the project as it is;
- hardened: after `harden fix --offline` (the default tiers: what a user gets);
- --verify: after `harden fix --verify --offline` (which runs verify itself first).

A service counts as started when it is running (or exited 0, a completed job) after its first
start and after the restart; as healthy when it is started, its health check (where it has
one) passed and its published TCP ports accept connections (harden.verify.ports), which is what
`harden verify` calls working. Images come from the
stand-ins, so `--offline` pins nothing: the figures say whether the hardening keeps the stand-ins
running, not the official images.

The last line is `original: S started, H healthy of N; hardened: S2 started, H2 healthy of N`
(default `harden fix`); the line before it gives the same for `--verify`. Goal: every service
that works in the original works hardened, both ways.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import ROOT

sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from standin_apps import materialize, runnable_projects  # noqa: E402

from harden import clock  # noqa: E402
from harden.verify.engine import find  # noqa: E402
from harden.verify.project import Project  # noqa: E402
from harden.verify.run import Runner, State  # noqa: E402

MODES = {"original": [], "hardened": ["fix", "--offline", "--quiet"], "--verify": ["fix", "--verify", "--offline", "--quiet"]}


def prepare(name: str, mode: str, into: Path) -> tuple[Path, str]:
    """A fresh copy of project `name` under `into`, fixed as `mode` says; its directory, and what
    harden printed when it failed."""
    copy = materialize(name, into)
    if not MODES[mode]:
        return copy, ""
    done = subprocess.run([sys.executable, "-m", "harden", *MODES[mode], str(copy)], capture_output=True, text=True)
    return copy, "" if done.returncode in (0, 1) else done.stderr.strip()[-500:]


def counts(run_first: dict[str, State], run_restart: dict[str, State]) -> tuple[int, int, int]:
    """(started, healthy, services) of one run."""
    services = sorted({*run_first, *run_restart})
    missing = State("not created")
    states = [(run_first.get(s, missing), run_restart.get(s, missing)) for s in services]
    started = [pair for pair in states if all(s.status in ("running", "exited (0)") for s in pair)]
    healthy = [pair for pair in started if all(s.works for s in pair)]
    return len(started), len(healthy), len(services)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("projects", nargs="*", help="corpus project names (default: every runnable one)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds for each project's runs")
    options = parser.parse_args()
    engine = find()
    names = options.projects or runnable_projects()
    print(f"engine: {engine.version}; projects: {', '.join(names) or 'none'}", flush=True)
    totals = {mode: [0, 0, 0] for mode in MODES}
    for name in names:
        runner = Runner(engine, clock.monotonic() + options.timeout, lambda message: None)
        with tempfile.TemporaryDirectory(prefix="harden-bench-runtime-") as work:
            wrapper = engine.write_wrapper(Path(work))
            line = []
            for mode in MODES:
                copy, error = prepare(name, mode, Path(work) / mode.strip("-"))
                if error:
                    print(f"{name}: {mode}: harden failed: {error}", flush=True)
                project = Project.of(str(copy))
                run = runner.stack(mode, copy, (), project.name(mode.strip("-")), wrapper)
                started, healthy, services = counts(run.first, run.restart)
                for index, value in enumerate((started, healthy, services)):
                    totals[mode][index] += value
                line.append(f"{mode} {started}/{healthy}/{services}")
                shutil.rmtree(copy.parent, ignore_errors=True)
            print(f"{name}: " + "; ".join(line) + "  (started/healthy/services)", flush=True)
    (s, h, n), (s2, h2, n2), (s3, h3, n3) = (totals[m] for m in MODES)
    print(f"with --verify: {s3} started, {h3} healthy of {n3}")
    print(f"original: {s} started, {h} healthy of {n}; hardened: {s2} started, {h2} healthy of {n2}")
    return 0 if (s2, h2, s3, h3) == (s, h, s, h) else 1


if __name__ == "__main__":
    sys.exit(main())
