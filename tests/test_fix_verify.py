"""`harden fix --verify` on a real podman (harden/verify/fixing.py): the fixes that broke a
service are repaired (a verified record) or left off, and only then is anything written."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from test_verify import CHOWNS, IMAGE, left, names, podman, project, verify

from harden import passes
from harden.config import Settings
from harden.engine.select import WithEvidence
from harden.model import Severity

__all__ = ["podman"]  # the fixture, imported for the tests below

# builder: builds its image and names none, and chowns behind `eval` (cap-drop-all breaks it;
#   cap_add CHOWN repairs it, recorded as `build:builder`).
# writer: writes into /etc, where no tmpfs may go (read-only-rootfs breaks it; left off).
BUILDS = """  builder:
    build: builder
    environment:
      OWN: chown 1:1 /tmp/owned
"""
DOCKERFILE = f"""FROM {IMAGE}
USER root
CMD ["sh", "-c", "touch /tmp/owned && eval \\"$OWN\\" && echo owned && exec sleep 1000"]
"""
WRITES_ETC = f"""  writer:
    image: {IMAGE}
    environment:
      TARGET: /etc/x
    command: ["sh", "-c", "echo x > $$TARGET && exec sleep 1000"]
"""


def fix(directory: Path, *options: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "harden", "fix", "--verify", "--offline", *options, str(directory)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, env=env)


def test_fix_verify_repairs_one_break_leaves_off_another_and_the_result_works(podman: str, tmp_path: Path) -> None:
    directory = project(tmp_path / "p", BUILDS + WRITES_ETC)
    (directory / "builder").mkdir()
    (directory / "builder" / "Dockerfile").write_text(DOCKERFILE)
    # non-root-user would make builder non-root, which no cap_add helps on Docker: not this test's subject
    done = fix(directory, "--unsafe-fixes", "--ignore", "non-root-user")
    assert done.returncode == 1, done.stderr  # read_only is left off for writer: its finding remains
    assert "BROKE  builder:" in done.stderr and "BROKE  writer:" in done.stderr
    assert "harden fix --verify: builder: repaired with cap_add CHOWN" in done.stderr
    assert "harden fix --verify: writer: left off read-only-rootfs: drop read-only-rootfs" in done.stderr
    [record] = tomllib.loads((directory / ".harden" / "verified.toml").read_text())["image"]
    assert (record["reference"], record["cap_add"], record["services"]) == ("build:builder", ["CHOWN"], ["builder"])
    written = (directory / "compose.yaml").read_text()
    builder, writer = written.split("  writer:")
    assert "cap_drop:" in builder and "- CHOWN" in builder and "read_only: true" in builder
    assert "cap_drop:" in writer and "read_only" not in writer  # its other fixes are kept
    again = verify(directory)  # the written project, run as it is: every service works
    assert again.returncode == 0, again.stdout + again.stderr
    assert "ok     builder" in again.stdout and "ok     writer" in again.stdout
    for name in {*names(done.stderr), *names(again.stderr)}:
        assert left(podman, name) == [], name
        assert built(podman, name) == [], name  # builder's image, built for each run, is removed


def built(podman: str, name: str) -> list[str]:
    """The images Compose built for project `name` still stored."""
    listing = subprocess.run(
        [podman, "images", "--format", "{{.Repository}}", "--filter", f"reference=localhost/{name}_*"],
        capture_output=True,
        text=True,
    )
    return listing.stdout.split()


def test_fix_verify_keeps_every_fix_of_a_project_that_works(podman: str, tmp_path: Path) -> None:
    directory = project(tmp_path / "p", CHOWNS)
    done = fix(directory)  # default tiers: cap_drop is unsafe for an unknown image, not applied
    assert done.returncode == 1, done.stderr
    assert "0 of 1 services broke after hardening" in done.stderr
    assert "harden fix --verify:" not in done.stderr  # nothing to repair or leave off
    assert not (directory / ".harden").exists()
    assert "no-new-privileges:true" in (directory / "compose.yaml").read_text()


def test_fix_verify_writes_nothing_when_verify_cannot_run(tmp_path: Path) -> None:
    directory = project(tmp_path / "p", CHOWNS)
    before = (directory / "compose.yaml").read_text()
    env = {**os.environ, "HARDEN_ENGINE": "docker", "PATH": str(tmp_path)}  # no docker on this PATH
    done = fix(directory, env=env)
    assert done.returncode == 2, done.stderr
    assert "harden: no usable container engine" in done.stderr
    assert (directory / "compose.yaml").read_text() == before
    plain = subprocess.run(  # the same command without --verify does write: the test above can fail
        [sys.executable, "-m", "harden", "fix", "--offline", str(directory)], capture_output=True, text=True, env=env
    )
    assert plain.returncode == 1, plain.stderr
    assert (directory / "compose.yaml").read_text() != before


def test_fix_verify_refuses_output_and_stdin(tmp_path: Path) -> None:
    directory = project(tmp_path / "p", CHOWNS)
    for options in (["--output", str(tmp_path / "out")], ["-"]):
        command = [sys.executable, "-m", "harden", "fix", "--verify", *options, str(directory)]
        done = subprocess.run(command, capture_output=True, text=True, input="")
        assert done.returncode == 2, done.stderr
        assert "--verify changes Compose projects in place: it takes neither --output nor `-`" in done.stderr
    assert not (tmp_path / "out").exists()


def test_fix_verify_verifies_again_until_every_service_works(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A service that breaks for two reasons: blame finds one fix per verification, so fix_project
    verifies again without it, finds the second, and stops once the service works; the
    original ran once. (The runs are stood in for: harden/verify/__init__.py runs real ones.)"""
    from harden.model import Finding
    from harden.verify import fixing
    from harden.verify.report import Outcome, ProjectReport
    from harden.verify.run import State

    rule = next(m.RULE for m in passes.all_passes() if m.RULE.id == "cap-drop-all")
    user = next(m.RULE for m in passes.all_passes() if m.RULE.id == "non-root-user")
    caps, root = (Finding(r, "m", 1, 1, Severity.WARNING, "", subject="web", path=p) for r, p in ((rule, "c.yaml"), (user, "D")))
    works, broken = State("running"), State("exited (1)")
    seen: list[tuple[frozenset[str], object]] = []

    def verify_project(project: object, settings: object, selector: Any, *rest: Any) -> ProjectReport:
        before = rest[-1]
        seen.append((frozenset(f.id for f in (caps, root) if selector.chooses(f)), before))
        applied = [f for f in (caps, root) if selector.chooses(f)]
        culprit = applied[:1]
        outcome = Outcome("web", (works, works), (broken, broken) if applied else (works, works), [f.id for f in applied])
        outcome.culprits = tuple(f.id for f in culprit)
        return ProjectReport("p", "podman", [outcome], applied, [], original=before or "the original's run")  # type: ignore[arg-type]

    monkeypatch.setattr(fixing, "verify_project", verify_project)
    (tmp_path / "w").mkdir()
    decided = fixing.fix_project(None, Settings(), WithEvidence(), None, None, tmp_path / "w")  # type: ignore[arg-type]
    assert decided.left_off == {caps.id, root.id}
    assert [chosen for chosen, _ in seen] == [{caps.id, root.id}, {root.id}, set()]
    assert [before for _, before in seen] == [None, "the original's run", "the original's run"]  # it ran once
