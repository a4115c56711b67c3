"""build-secrets across files (harden/passes/compose/build_secrets.py): an ARG credential that a
Compose service passes in `build.args` becomes a secret mount in the Dockerfile and a build secret
in the Compose file, both or neither; BuildKit's parser and Docker Compose accept the outputs; the
value is never printed and is found again in its secret file or environment source; a second run
changes nothing."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import dockerfile
import pytest
from click.testing import CliRunner
from compose_oracle import accepts, merged
from conftest import ROOT
from ruamel.yaml import YAML

from harden import engine
from harden.cli import main
from harden.config import Settings
from harden.engine.select import ByIds
from harden.engine.sinks import Preview

FIXTURE = ROOT / "fixtures" / "build-secrets" / "compose"
DOCKERFILE = 'FROM node:22-slim\nARG NPM_TOKEN\nRUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > /tmp/npmrc && npm ci\n'
VALUE = "npm_Lit3ralBuildArgValue0042"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [args[0], "--offline", "--select", "build-secrets", *args[1:]], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def project(tmp_path: Path, compose: str, dockerfile_text: str = DOCKERFILE) -> Path:
    directory = tmp_path / "app"
    directory.mkdir()
    (directory / "compose.yaml").write_text(compose, encoding="utf-8")
    (directory / "Dockerfile").write_text(dockerfile_text, encoding="utf-8")
    return directory


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def mounts(text: str) -> list[tuple[str, ...]]:
    """The flags of each RUN, as BuildKit's own parser reads the Dockerfile (the `dockerfile` package)."""
    return [command.flags for command in dockerfile.parse_string(text) if command.cmd.upper() == "RUN"]


def test_the_golden_pair_is_fixed_together_and_accepted(tmp_path: Path) -> None:
    directory = tmp_path / "app"
    directory.mkdir()
    for name in ("compose.yaml", "Dockerfile"):
        shutil.copy(FIXTURE / name, directory / name)
    code, out, _ = invoke("check", "--format", "json", str(directory))
    findings = [f for file in json.loads(out)["files"] for f in file["findings"] if f["fix"]]
    assert code == 1 and sorted(f["fix"]["applicability"] for f in findings) == ["review", "review"]
    assert invoke("fix", str(directory))[0] == 0
    for name in ("compose.yaml", "Dockerfile"):
        assert (directory / name).read_bytes() == (FIXTURE / f"expected.{name}").read_bytes(), name
    output = (directory / "Dockerfile").read_text()
    assert "ARG NPM_TOKEN" not in output and mounts(output)[0] == ("--mount=type=secret,id=npm_token",)
    web = merged([directory / "compose.yaml"])["services"]["web"]["build"]
    assert web["secrets"] == [{"source": "npm_token"}] and web["args"] == {"NODE_ENV": "production"}
    before = snapshot(directory)
    assert invoke("fix", str(directory))[0] == 0 and snapshot(directory) == before


@pytest.mark.parametrize(
    ("args", "source"),
    [
        (f"        NPM_TOKEN: {VALUE}\n", {"file": "./secrets/npm_token"}),
        (f"        - NPM_TOKEN={VALUE}\n", {"file": "./secrets/npm_token"}),
        ("        - NPM_TOKEN\n", {"environment": "NPM_TOKEN"}),
        ("        NPM_TOKEN: $CI_NPM_TOKEN\n", {"environment": "CI_NPM_TOKEN"}),
    ],
)
def test_each_source_is_found_again_and_the_value_never_printed(tmp_path: Path, args: str, source: dict[str, str]) -> None:
    directory = project(tmp_path, f"services:\n  web:\n    build:\n      context: .\n      args:\n{args}")
    outputs = [invoke("check", "--format", "json", str(directory)), invoke("check", str(directory))]
    outputs.append(invoke("diff", "--redact", str(directory)))
    plain = invoke("diff", str(directory))[1]
    commentary = [line for line in plain.splitlines() if line.startswith("#")]
    assert all(VALUE not in text for _, out, err in outputs for text in (out, err)) and VALUE not in "\n".join(commentary)
    assert invoke("fix", str(directory))[0] == 0
    compose = YAML(typ="safe").load((directory / "compose.yaml").read_text())
    assert compose["secrets"] == {"npm_token": source}
    assert compose["services"]["web"]["build"] == {"context": ".", "secrets": ["npm_token"]}  # `args:` went with its last entry
    if "file" in source:
        secret = directory / "secrets" / "npm_token"
        assert secret.read_text() == VALUE and stat.S_IMODE(secret.stat().st_mode) == 0o644
        assert stat.S_IMODE(secret.parent.stat().st_mode) == 0o700
        assert (directory / ".gitignore").read_text() == "secrets/\n"
    assert mounts((directory / "Dockerfile").read_text())[0] == ("--mount=type=secret,id=npm_token",)
    assert accepts([directory / "compose.yaml"]) == (True, "")
    before = snapshot(directory)
    assert invoke("fix", str(directory))[0] == 0 and snapshot(directory) == before


TWO = """services:
  web:
    build:
      context: .
      args:
        NPM_TOKEN: ${NPM_TOKEN}
  worker:
    build: .
"""


def test_both_halves_stay_unsafe_when_one_builder_cannot_pass_the_secret(tmp_path: Path) -> None:
    directory = project(tmp_path, TWO)
    code, out, _ = invoke("check", "--format", "json", str(directory))
    findings = [f for file in json.loads(out)["files"] for f in file["findings"]]
    assert code == 1 and {f["fix"]["applicability"] for f in findings if f["fix"]} == {"unsafe"}
    assert any("worker (" in f["message"] and "cannot: its build: sets no build argument" in f["message"] for f in findings)
    before = snapshot(directory)
    assert invoke("fix", str(directory))[0] == 1 and snapshot(directory) == before  # neither half
    assert invoke("fix", "--unsafe-fixes", str(directory))[0] == 0  # both halves: web passes it, worker never did
    assert "secrets:\n        - npm_token\n  worker:\n    build: .\n" in (directory / "compose.yaml").read_text()
    assert mounts((directory / "Dockerfile").read_text())[0] == ("--mount=type=secret,id=npm_token",)


def test_a_half_is_held_back_unless_the_run_chooses_the_other(tmp_path: Path) -> None:
    directory = project(tmp_path, TWO.split("  worker:")[0])
    out = invoke("check", "--format", "json", str(directory))[1]
    ids = {Path(file["path"]).name: f["id"] for file in json.loads(out)["files"] for f in file["findings"] if f["fix"]}
    settings = Settings(select=frozenset({"build-secrets"}), offline=True)
    for chosen, changed in (({ids["Dockerfile"]}, set()), ({ids["compose.yaml"]}, set()), (set(ids.values()), set(ids))):
        run = engine.run([str(directory)], settings, ByIds(frozenset(chosen)), Preview())
        assert {Path(r.path).name for r in run.results if r.output != r.original} == changed, chosen
        held = [f for r in run.results for f in r.remaining if f.fix is not None and f.fix.requires]
        assert len(held) == (0 if changed else 1)  # the chosen half names the one it waits for


def test_a_dockerfile_or_a_compose_file_alone_is_not_paired(tmp_path: Path) -> None:
    directory = project(tmp_path, TWO.split("  worker:")[0])
    out = invoke("check", "--format", "json", str(directory / "Dockerfile"))[1]
    [finding] = [f for file in json.loads(out)["files"] for f in file["findings"] if f["fix"]]
    assert finding["fix"]["applicability"] == "unsafe" and "no Compose file of this run builds" in json.dumps(finding)
    code, out, _ = invoke("check", "--format", "json", str(directory / "compose.yaml"))
    assert code == 0 and json.loads(out)["files"][0]["findings"] == []  # its Dockerfile is not edited: nothing to pair


def test_build_args_last_in_build_become_its_secrets_in_place(tmp_path: Path) -> None:
    compose = "services:\n  job:\n    build:\n      context: .\n      args:\n        - NPM_TOKEN=${NPM_TOKEN}\n    image: x\n"
    directory = project(tmp_path, compose)
    assert invoke("fix", str(directory))[0] == 0
    assert (directory / "compose.yaml").read_text() == (
        "services:\n  job:\n    build:\n      context: .\n      secrets:\n        - npm_token\n    image: x\n"
        "secrets:\n  npm_token:\n    environment: NPM_TOKEN\n"
    )


def test_an_argument_another_stage_keeps_leaves_both_halves_unsafe(tmp_path: Path) -> None:
    """The first stage reads NPM_TOKEN in two RUNs (no mount): removing it from build.args would empty it there."""
    two_stages = "FROM node:22-slim\nARG NPM_TOKEN\nRUN a $NPM_TOKEN\nRUN b $NPM_TOKEN\n" + DOCKERFILE.replace(
        "FROM node:22-slim", "FROM node:22-slim AS final"
    )
    directory = project(tmp_path, TWO.split("  worker:")[0], two_stages)
    code, out, _ = invoke("check", "--format", "json", str(directory))
    findings = [f for file in json.loads(out)["files"] for f in file["findings"]]
    assert code == 1 and [f["fix"]["applicability"] for f in findings if f["fix"]] == ["unsafe"]  # the Dockerfile's
    [compose] = [f for f in findings if "harden does not move it" in f["message"]]  # the service's: reported only
    assert "also declares ARG NPM_TOKEN where harden keeps it a build argument" in compose["message"]
