"""Build linkage through the engine: a Compose service with `build:` knows the Dockerfile it
builds and the stage really built (`build.target`, else the last), so a pass can read it
(passes.Context.builds). A test-only pass records what its context says."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from runs import process

from harden import dockerfile, passes
from harden.config import Settings
from harden.dockerfile.build import Build
from harden.model import Applicability, Finding, Rule

APP = "FROM golang:1.23 AS builder\nRUN go build -o /app\n\nFROM nginx:1.27\nCOPY --from=builder /app /app\n"
COMPOSE = """services:
  web:
    build: .
  api:
    build:
      context: ./api
      dockerfile: Containerfile
      target: BUILDER
  remote:
    build: https://github.com/acme/app.git
  inline:
    build:
      dockerfile_inline: "FROM alpine\\n"
  missing:
    build: ./nowhere
  wrong-target:
    build:
      context: .
      target: tests
  image-only:
    image: redis:7
"""


def recording_pass(seen: dict[str, dict[str, Build]]) -> SimpleNamespace:
    rule = Rule("records-builds", "a test pass", "none", Applicability.DISPLAY, ("compose",))

    def check(document: Any, context: passes.Context) -> list[Finding]:
        seen[Path(document.path).name] = dict(context.builds)
        return []

    return SimpleNamespace(RULE=rule, check=check)


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Build]]:
    found: dict[str, dict[str, Build]] = {}
    fake = recording_pass(found)
    monkeypatch.setattr(passes, "passes_for", lambda kind, settings: [fake] if kind == "compose" else [])
    return found


def test_each_service_knows_what_it_builds(tmp_path: Path, seen: dict[str, dict[str, Build]]) -> None:
    (tmp_path / "Dockerfile").write_text(APP)
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "Containerfile").write_text("FROM python:3.12 AS builder\nRUN pip wheel .\nFROM python:3.12-slim\n")
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    run = process([str(tmp_path)], Settings(offline=True))
    builds = seen["compose.yaml"]
    assert sorted(builds) == ["api", "inline", "missing", "remote", "web", "wrong-target"]  # image-only has none

    web = builds["web"]
    assert web.stage is not None and web.stage.base == "nginx:1.27" and not web.problem  # the last stage
    assert web.document is not None and web.document.path.endswith("Dockerfile")

    api = builds["api"]
    assert api.stage is not None and api.stage.base == "python:3.12" and api.stage.name.lower() == "builder"
    assert api.link is not None and api.link.dockerfile == tmp_path / "api" / "Containerfile"

    assert builds["remote"].stage is None and "remote" in builds["remote"].problem
    assert builds["inline"].stage is None and "dockerfile_inline" in builds["inline"].problem
    assert builds["missing"].stage is None and "does not exist" in builds["missing"].problem
    assert builds["wrong-target"].stage is None and "'tests' names no stage" in builds["wrong-target"].problem
    assert all(not result.errors for result in run.results)


def test_a_dockerfile_of_the_run_is_parsed_once(
    tmp_path: Path, seen: dict[str, dict[str, Build]], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "Dockerfile").write_text(APP)
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    build: .\n  worker:\n    build: .\n")
    parsed: list[str] = []
    real = dockerfile.parse

    def counting(path: str, text: str) -> Any:
        parsed.append(Path(path).name)
        return real(path, text)

    monkeypatch.setattr(dockerfile, "parse", counting)
    process([str(tmp_path)], Settings(offline=True))
    assert parsed == ["Dockerfile"]  # read by the run once; both services get that document
    assert seen["compose.yaml"]["web"].document is seen["compose.yaml"]["worker"].document


def test_an_override_file_builds_relative_to_the_projects_first_file(tmp_path: Path, seen: dict[str, dict[str, Build]]) -> None:
    base, elsewhere = tmp_path / "base", tmp_path / "elsewhere"
    base.mkdir()
    elsewhere.mkdir()
    (base / "Dockerfile").write_text("FROM nginx:1.27\n")
    (base / "compose.yaml").write_text("services:\n  web:\n    image: web\n")
    (elsewhere / "override.yaml").write_text("services:\n  web:\n    build: .\n")
    files = (base / "compose.yaml", elsewhere / "override.yaml")
    process([str(f) for f in files], Settings(offline=True, compose_files=files))
    build = seen["override.yaml"]["web"]
    assert build.link is not None and build.link.dockerfile == base / "Dockerfile"  # as `docker compose -f a -f b` does
    assert build.stage is not None and build.stage.base == "nginx:1.27"


def test_a_build_compose_refuses_is_said(tmp_path: Path, seen: dict[str, dict[str, Build]]) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    build:\n      dockerfile: A\n      dockerfile_inline: B\n")
    process([str(tmp_path)], Settings(offline=True))
    build = seen["compose.yaml"]["web"]
    assert build.link is None and "mutually exclusive" in build.problem
