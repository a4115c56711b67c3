"""The exit status contract as ruff's: --exit-zero and --exit-non-zero-on-fix (harden/cli/exits.py).

Each test sees each status it relies on both ways: the same input without the flag exits
otherwise, so a flag that did nothing would fail it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_cli import DIGEST, LOCKFILE

from harden.cli import main

# Only an unpinned base image: `fix` pins it from the lockfile and leaves nothing to fix.
FIXABLE = 'FROM python:3.12-slim\nUSER nobody\nCMD ["python"]\n'
PINNED = f'FROM python:3.12-slim@{DIGEST}\nUSER nobody\nCMD ["python"]\n'


def harden(*args: str, input: str | None = None) -> int:
    """The exit status of `harden COMMAND --offline ARGS...` run in-process (never a registry)."""
    command, *rest = args
    return CliRunner().invoke(main, [command, "--offline", *rest], input=input, catch_exceptions=False).exit_code


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "harden.lock").write_text(LOCKFILE)
    (tmp_path / "Dockerfile").write_text(FIXABLE)
    return tmp_path


@pytest.mark.parametrize("command", ["check", "diff"])
def test_exit_zero_turns_findings_into_0(project: Path, command: str) -> None:
    dockerfile = str(project / "Dockerfile")
    assert harden(command, dockerfile) == 1
    assert harden(command, "--exit-zero", dockerfile) == 0
    assert (project / "Dockerfile").read_text() == FIXABLE


@pytest.mark.parametrize("command", ["check", "diff", "fix", "pin"])
def test_errors_still_exit_2_with_exit_zero(project: Path, command: str) -> None:
    """As ruff: `--exit-zero` silences findings, never an error (a file that was not checked)."""
    missing = str(project / "missing" / "Dockerfile")
    assert harden(command, "--exit-zero", str(project / "Dockerfile"), missing) == 2
    assert harden(command, "--exit-zero", "--exit-non-zero-on-fix" if command in ("fix", "pin") else "-q", missing) == 2


def test_exit_zero_on_fix_with_findings_left(project: Path) -> None:
    (project / "root").mkdir()
    (project / "root" / "Dockerfile").write_text("FROM python:3.12-slim\n")  # runs as root: no safe fix adds a user
    assert harden("fix", "--safe-only", str(project / "root")) == 1
    (project / "root" / "Dockerfile").write_text("FROM python:3.12-slim\n")
    assert harden("fix", "--safe-only", "--exit-zero", str(project / "root")) == 0
    assert DIGEST in (project / "root" / "Dockerfile").read_text()  # and it still fixed what it could


def test_exit_non_zero_on_fix_when_a_file_changed(project: Path) -> None:
    dockerfile = project / "Dockerfile"
    assert harden("fix", str(dockerfile)) == 0  # fixed, nothing left: 0 by default
    assert dockerfile.read_text() == PINNED
    dockerfile.write_text(FIXABLE)
    assert harden("fix", "--exit-non-zero-on-fix", str(dockerfile)) == 1
    assert dockerfile.read_text() == PINNED
    assert harden("fix", "--exit-non-zero-on-fix", str(dockerfile)) == 0  # nothing changed this time


def test_exit_zero_wins_over_exit_non_zero_on_fix(project: Path) -> None:
    """ruff tests --exit-zero first: with both, a fix exits 0."""
    assert harden("fix", "--exit-zero", "--exit-non-zero-on-fix", str(project / "Dockerfile")) == 0
    assert (project / "Dockerfile").read_text() == PINNED


def test_exit_non_zero_on_fix_counts_copies_and_standard_output(project: Path) -> None:
    """A change written under --output, or to standard output for `-`, is a change too."""
    out = project / "out"
    assert harden("fix", "--output", str(out), str(project / "Dockerfile")) == 0
    assert harden("fix", "--exit-non-zero-on-fix", "--output", str(out / "again"), str(project / "Dockerfile")) == 1
    assert (project / "Dockerfile").read_text() == FIXABLE  # --output leaves the input alone
    stdin = ("--stdin-filename", "Dockerfile", "--lockfile", str(project / "harden.lock"), "-")
    assert harden("fix", *stdin, input=FIXABLE) == 0
    assert harden("fix", "--exit-non-zero-on-fix", *stdin, input=FIXABLE) == 1
    assert harden("fix", "--exit-non-zero-on-fix", *stdin, input=PINNED) == 0


def test_pin_exit_non_zero_on_fix(project: Path) -> None:
    dockerfile = project / "Dockerfile"
    assert harden("pin", "--exit-non-zero-on-fix", str(dockerfile)) == 1
    assert dockerfile.read_text() == PINNED
    assert harden("pin", "--exit-non-zero-on-fix", str(dockerfile)) == 0


def test_check_has_no_exit_non_zero_on_fix(project: Path) -> None:
    """check never fixes: the flag is refused (a usage error, 2) rather than ignored, as click does."""
    assert harden("check", "--exit-non-zero-on-fix", str(project / "Dockerfile")) == 2
