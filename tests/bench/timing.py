"""What the benchmark scripts share: timing a command (best of a few runs), counting its
instructions (callgrind), and an earlier commit checked out beside this one."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def best_of(command: list[str], runs: int = 3, **options: Any) -> float:
    """Wall time of the least disturbed of `runs` runs of `command` (output discarded; `options`
    go to subprocess.run, e.g. cwd and env)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, **options)
        times.append(time.perf_counter() - start)
    return min(times)


def instructions(command: list[str], env: dict[str, str], cwd: Path) -> int | None:
    """How many instructions `command` executes (valgrind's callgrind; None without valgrind).
    Unlike wall time, other load on the machine does not move it; a fixed hash seed keeps
    Python's set and dict orders, and so the count, the same run after run."""
    if not shutil.which("valgrind"):
        return None
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        env={**env, "PYTHONHASHSEED": "0"},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", run.stderr)
    return int(found.group(1)) if found else None


@contextlib.contextmanager
def checkout(commit: str) -> Iterator[Path]:
    """`commit` checked out into a temporary `git worktree` (removed afterwards): the directory
    to put first on PYTHONPATH to run its harden with this checkout's Python and packages."""
    directory = Path(tempfile.mkdtemp(prefix="harden-before-")) / "checkout"
    subprocess.run(["git", "worktree", "add", "--quiet", "--detach", str(directory), commit], cwd=ROOT, check=True)
    try:
        yield directory
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(directory)], cwd=ROOT, check=False)
        shutil.rmtree(directory.parent, ignore_errors=True)


def describe(commit: str) -> str:
    """`commit` as the tables name it: the name given and its short hash."""
    found = subprocess.run(["git", "rev-parse", "--short", commit], cwd=ROOT, capture_output=True, text=True, check=True)
    return f"{commit} ({found.stdout.strip()})"


def environment(code: Path, cwd: Path, cache: str) -> dict[str, str]:
    """The environment that runs `code`'s harden (its directory first on PYTHONPATH, the digest
    cache under `cache`), checked: `import harden` run in `cwd` finds that copy. Its modules are
    byte-compiled first, as `pip install` does for a user (with PYTHONDONTWRITEBYTECODE set, as
    on this machine, every run would compile each module again: a third of a run's time)."""
    found = {**os.environ, "PYTHONPATH": str(code), "XDG_CACHE_HOME": cache}
    compiling = {k: v for k, v in found.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(code / "harden")], env=compiling, stdout=subprocess.DEVNULL, check=True
    )
    where = subprocess.run(
        [sys.executable, "-c", "import harden; print(harden.__file__)"],
        env=found,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).resolve().parent.parent == code.resolve(), f"harden is not imported from {code}"
    return found
