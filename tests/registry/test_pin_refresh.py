"""`harden pin --lock`, then the tag moves: pins stay until `--refresh`, which moves them to the
new digest (safe: same tag), says old -> new and when the old one was resolved, and updates
the lockfile. Against a real registry on 127.0.0.1, through the command line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from runs import process

from harden.cli import main
from harden.config import Settings
from harden.output import diff
from harden.registry import Lockfile

from .conftest import registry_binary
from .oci_helpers import RunningRegistry, push_index, start_registry


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RunningRegistry]:
    running = start_registry(tmp_path / "registry", binary=registry_binary())
    try:
        yield running
    finally:
        running.stop()


def pin(project: Path, base: str, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["pin", "--registry-mirror", f"docker.io={base}", *extra, str(project)], catch_exceptions=False
    )
    return result.exit_code, result.stderr


def test_pin_lock_then_refresh_when_the_tag_moves(registry: RunningRegistry, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    dockerfile = project / "Dockerfile"
    dockerfile.write_text('FROM python:3.12-slim\nCMD ["python"]\n')
    (project / "compose.yaml").write_text("services:\n  app:\n    image: python:3.12-slim\n")
    with httpx.Client(timeout=10) as client:
        old = push_index(client, registry.base, "library/python", "3.12-slim")[0]["digest"]
    code, err = pin(project, registry.base, "--lock")
    assert code == 0, err
    assert f"FROM python:3.12-slim@{old}\n" in dockerfile.read_text()
    assert f"image: python:3.12-slim@{old}\n" in (project / "compose.yaml").read_text()
    lock = Lockfile.load(project / "harden.lock")
    assert [e.digest for e in lock] == [old]

    with httpx.Client(timeout=10) as client:  # a rebuild of the same tag
        new = push_index(client, registry.base, "library/python", "3.12-slim", platforms=(("linux", "amd64"),))[0]["digest"]
    assert new != old
    code, _ = pin(project, registry.base)
    assert code == 0 and old in dockerfile.read_text()  # without --refresh, a pin stays

    code, err = pin(project, registry.base, "--refresh", "--lock")
    assert code == 0, err
    assert f"FROM python:3.12-slim@{new}\n" in dockerfile.read_text()
    assert f"image: python:3.12-slim@{new}\n" in (project / "compose.yaml").read_text()
    assert [e.digest for e in Lockfile.load(project / "harden.lock")] == [new]


def test_refresh_commentary_says_old_new_and_when(registry: RunningRegistry, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    with httpx.Client(timeout=10) as client:
        old = push_index(client, registry.base, "library/redis", "7")[0]["digest"]
    (project / "Dockerfile").write_text("FROM redis:7\n")
    settings = Settings(select=frozenset({"pin-base-image"}), mirrors=(("docker.io", registry.base),), search_from=(project,))
    first = process([str(project)], settings, apply=True)
    first.resolver.updated_lockfile().save(project / "harden.lock")
    (project / "Dockerfile").write_text(first.results[0].output)
    with httpx.Client(timeout=10) as client:
        new = push_index(client, registry.base, "library/redis", "7", platforms=(("linux", "arm64"),))[0]["digest"]
    run = process([str(project)], replace(settings, refresh=True), apply=True)
    (finding,) = run.results[0].applied
    assert finding.fix is not None and finding.fix.applicability == "safe"
    assert f"redis:7 moved: {old} -> {new}" in finding.message and "the old digest was resolved" in finding.message
    assert f"-FROM redis:7@{old}" in diff.reviewed(run.results[0])


def test_cache_ttl_decides_whether_a_warm_run_asks_again(registry: RunningRegistry, tmp_path: Path) -> None:
    with httpx.Client(timeout=10) as client:
        push_index(client, registry.base, "library/alpine", "3.20")
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\n")
    settings = Settings(select=frozenset({"pin-base-image"}), mirrors=(("docker.io", registry.base),), search_from=(tmp_path,))
    cold = process([str(tmp_path)], settings, apply=True)
    assert cold.resolver.requests_made == 1
    warm = process([str(tmp_path)], settings, apply=True)
    assert warm.resolver.requests_made == 0
    expired = process([str(tmp_path)], replace(settings, cache_ttl_hours=0), apply=True)
    assert expired.resolver.requests_made == 1
