"""The README's first quickstart command: `harden diff fixtures/demo` works offline, from the
demo's lockfile, and shows both fixes with their commentary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from runs import process
from test_digests import CITED

from harden.config import Settings

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo"


def test_demo_pins_from_its_lockfile_without_a_single_request() -> None:
    run = process([str(DEMO)], Settings(search_from=(DEMO,)), apply=True)
    assert run.resolver is not None and run.resolver.requests_made == 0
    applied = {f.rule.id for result in run.results for f in result.applied}
    assert {"pin-base-image", "pin-image", "cap-drop-all", "read-only-rootfs"} <= applied
    unsafe = {f.rule.id for result in run.results for f in result.findings if f.applicability == "unsafe"}
    assert "non-root-user" in unsafe and "non-root-user" not in applied  # a new user: shown, not applied
    assert {result.kind for result in run.results} == {"dockerfile", "compose"}
    assert all(not result.errors for result in run.results)


def test_quickstart_command_shows_the_reviewed_diff() -> None:
    run = subprocess.run([sys.executable, "-m", "harden", "diff", str(DEMO)], capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    assert "# harden:" in run.stdout and "might break" in run.stdout
    assert "@sha256:" in run.stdout and "+USER app" not in run.stdout  # a new user: no evidence, not applied
    assert "not applied: no evidence that the service still works" in run.stdout and "verify: new system user app" in run.stdout
    assert "#   db: " in run.stdout and '+      - "127.0.0.1:5432:5432"' in run.stdout
    for image in ("python:3.12-slim", "postgres:16", "redis:7"):  # every pin, from the cited lockfile
        digest = next(d for d, (tag, _) in CITED.items() if tag == image)
        assert f"{image}@sha256:{digest}" in run.stdout, image
