"""`harden fix --verify` on a real podman (harden/verify/fixing.py): the fixes that broke a
service are repaired (a verified record) or left off, and only then is anything written."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from test_verify import CHOWNS, IMAGE, left, names, podman, project, verify

__all__ = ["podman"]  # the fixture, imported for the tests below

# owner: chowns behind `eval` (cap-drop-all breaks it; cap_add CHOWN repairs it).
# writer: writes into /etc, where no tmpfs may go (read-only-rootfs breaks it; left off).
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
    directory = project(tmp_path / "p", CHOWNS + WRITES_ETC)
    done = fix(directory, "--unsafe-fixes")
    assert done.returncode == 1, done.stderr  # read_only is left off for writer: its finding remains
    assert "BROKE  owner:" in done.stderr and "BROKE  writer:" in done.stderr
    assert "harden fix --verify: owner: repaired with cap_add CHOWN" in done.stderr
    assert "harden fix --verify: writer: left off read-only-rootfs: drop read-only-rootfs" in done.stderr
    [record] = tomllib.loads((directory / ".harden" / "verified.toml").read_text())["image"]
    assert (record["reference"], record["cap_add"]) == (IMAGE, ["CHOWN"])
    written = (directory / "compose.yaml").read_text()
    owner, writer = written.split("  writer:")
    assert "cap_drop:" in owner and "- CHOWN" in owner and "read_only: true" in owner
    assert "cap_drop:" in writer and "read_only" not in writer  # its other fixes are kept
    again = verify(directory)  # the written project, run as it is: every service works
    assert again.returncode == 0, again.stdout + again.stderr
    assert "ok     owner" in again.stdout and "ok     writer" in again.stdout
    for name in {*names(done.stderr), *names(again.stderr)}:
        assert left(podman, name) == [], name


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
