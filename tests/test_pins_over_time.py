"""Pins over time: the lockfile is used whatever its age, a pin moves only when the user asks,
`check`, `diff` and `fix` propose the same thing on any date, and a reference harden cannot
resolve is reported by every command, once per reference."""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from runs import process

from harden import clock
from harden.cli import main
from harden.config import Settings

# Arbitrary digests for tests: an obvious pattern, never a real image (tests/test_digests.py).
LOCKED = "sha256:" + "1" * 64
PINNED = "sha256:" + "2" * 64
MOVED = "sha256:" + "3" * 64
LOCKFILE = f"""version = 1

[[image]]
reference = "docker.io/library/python:3.12-slim"
digest = "{LOCKED}"
media_type = "application/vnd.oci.image.index.v1+json"
resolved_at = 2001-01-01T00:00:00Z

[[image]]
reference = "docker.io/library/redis:7"
digest = "{MOVED}"
media_type = "application/vnd.oci.image.index.v1+json"
resolved_at = 2001-01-01T00:00:00Z
"""


def closed_port() -> int:
    """A loopback port nothing listens on: a registry that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "harden.lock").write_text(LOCKFILE)
    (tmp_path / "Dockerfile").write_text('FROM python:3.12-slim\nUSER nobody\nCMD ["python"]\n')
    (tmp_path / "compose.yaml").write_text(
        f"services:\n  cache:\n    image: redis:7@{PINNED}\n  web:\n    image: python:3.12-slim\n"
    )
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("years_ahead", [0, 5, 30])
def test_a_lockfile_of_any_age_pins_without_asking_a_registry(project: Path, years_ahead: int) -> None:
    # Every registry is "down": a single request would show up as a failure to resolve.
    settings = Settings(search_from=(project,), mirrors=(("docker.io", f"http://127.0.0.1:{closed_port()}"),))
    with clock.use(clock.ShiftedClock(dt.timedelta(days=365 * years_ahead))):
        run = process([str(project)], settings, apply=True)
    assert run.resolver is not None and run.resolver.requests_made == 0
    assert run.unresolved == []
    outputs = {Path(r.path).name: r.output for r in run.results}
    assert f"FROM python:3.12-slim@{LOCKED}\n" in outputs["Dockerfile"]
    assert f"image: python:3.12-slim@{LOCKED}\n" in outputs["compose.yaml"]
    assert f"image: redis:7@{PINNED}\n" in outputs["compose.yaml"]  # the lockfile's newer digest is not taken


def test_check_diff_and_fix_propose_the_same_years_later(project: Path) -> None:
    settings = Settings(search_from=(project,), offline=True)
    proposed = {}
    with clock.use(clock.ShiftedClock(dt.timedelta(days=365 * 10))):
        for apply in (False, True):
            run = process([str(project)], settings, apply=apply)
            proposed[apply] = sorted((r.path, f.rule.id, f.message, f.applicability) for r in run.results for f in r.findings)
    assert proposed[False] == proposed[True]
    assert any(rule == "pin-image" for _, rule, _, _ in proposed[True])


@pytest.mark.parametrize("command", ["check", "diff", "fix", "pin"])
def test_an_unresolved_reference_is_reported_once_by_every_command(tmp_path: Path, command: str) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "Dockerfile").write_text("FROM alpine:3.20\nUSER nobody\n")
    (tmp_path / "compose.yaml").write_text("services:\n  x:\n    image: docker.io/library/alpine:3.20\n")
    code, out, err = invoke(command, "--offline", str(tmp_path))
    assert code == 1, err  # a finding is left: not an error (exit 2), not clean (exit 0)
    assert err.count("could not resolve docker.io/library/alpine:3.20: offline") == 1, err
    assert "@sha256:" not in "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    if command == "check":
        assert out.count("is not pinned to a digest: harden could not resolve it (offline)") == 3


def test_json_lists_each_unresolved_reference_once(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\nFROM alpine:3.20\nUSER nobody\n")
    code, out, _ = invoke("check", "--offline", "--format", "json", str(tmp_path))
    assert code == 1
    unresolved = json.loads(out)["unresolved"]
    assert [(u["reference"], u["kind"]) for u in unresolved] == [("docker.io/library/alpine:3.20", "offline")]


def test_a_failed_refresh_is_reported_and_keeps_the_pin(project: Path) -> None:
    (project / "harden.lock").unlink()
    code, out, err = invoke("check", "--offline", "--refresh", str(project / "compose.yaml"))
    assert code == 1
    assert f"redis:7@{PINNED} could not be refreshed (offline): its pin is kept" in out
    assert err.count("could not resolve docker.io/library/redis:7") == 1


def test_a_registry_that_is_down_is_reported(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\nUSER nobody\n")
    mirror = f"docker.io=http://127.0.0.1:{closed_port()}"
    code, out, err = invoke("diff", "--registry-mirror", mirror, str(tmp_path))
    assert code == 1 and out == ""
    assert "could not resolve docker.io/library/alpine:3.20: docker.io (via mirror 127.0.0.1:" in err
    assert "unreachable" in err or "connection failed" in err


@pytest.mark.parametrize("value", ["alice:s3cret@mirror.example", "docker.io=ftp://alice:s3cret@mirror.example/v2"])
def test_a_usage_error_never_prints_credentials(value: str) -> None:
    code, _, err = invoke("check", "--registry-mirror", value, "x")
    assert code == 2 and "is not REGISTRY=URL" in err
    assert "s3cret" not in err and "alice" not in err


@pytest.mark.parametrize("command", ["check", "fix"])
def test_a_run_that_failed_says_so(tmp_path: Path, command: str) -> None:
    code, out, err = invoke(command, "--offline", str(tmp_path / "missing"))
    assert code == 2
    assert "No findings" not in out + err
    assert "The run failed: 1 error (above)." in out + err
