"""Compose interpolation in a run: the project's `.env` (or `--env-file`) decides which image a
`${VAR}` names and which port it publishes; the file keeps its `${...}` text; a `.env` Compose
cannot read is that project's error (exit 2) and the other projects are still hardened."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from runs import process

from harden.cli import main
from harden.config import Settings
from harden.model import FileResult


def _project(directory: Path, env: str | None, compose: str) -> Path:
    directory.mkdir(parents=True)
    if env is not None:
        (directory / ".env").write_text(env)
    (directory / "compose.yaml").write_text(compose)
    return directory


def _results(paths: list[Path], **settings: object) -> dict[str, FileResult]:
    run = process([str(p) for p in paths], Settings(offline=True, search_from=tuple(paths), **settings))  # type: ignore[arg-type]
    return {source.path.parent.name: result for source, result in run.processed}


COMPOSE = 'services:\n  db:\n    image: ${POSTGRES_IMAGE}\n    ports:\n      - "${PGPORT}:5432"\n'


def test_the_image_and_ports_come_from_the_env_file_and_stay_variables(tmp_path: Path) -> None:
    project = _project(tmp_path / "app", "# database\nexport POSTGRES_IMAGE='postgres:16'\nPGPORT=5432\n", COMPOSE)
    result = _results([project])["app"]
    assert "SETUID  # gosu switches to user postgres" in result.output  # postgres's knowledge, found through .env
    assert '- "127.0.0.1:${PGPORT}:5432"' in result.output  # a database's port, bound to loopback
    assert "image: ${POSTGRES_IMAGE}\n" in result.output and "postgres:16" not in result.output


def test_a_default_names_the_image_without_an_env_file(tmp_path: Path) -> None:
    project = _project(tmp_path / "app", None, "services:\n  db:\n    image: ${DB_IMAGE:-postgres}:${PG_VERSION:-16}\n")
    result = _results([project])["app"]
    assert "gosu switches to user postgres" in result.output
    assert "image: ${DB_IMAGE:-postgres}:${PG_VERSION:-16}\n" in result.output


def test_without_the_variable_the_image_is_unknown(tmp_path: Path) -> None:
    """harden never reads the process environment: an image only it could name stays unknown."""
    project = _project(tmp_path / "app", "OTHER=1\n", COMPOSE)
    result = _results([project])["app"]
    assert "gosu" not in result.output and "127.0.0.1" not in result.output


def test_env_file_replaces_the_projects_env(tmp_path: Path) -> None:
    project = _project(tmp_path / "app", "POSTGRES_IMAGE=unknown/thing\n", COMPOSE)
    (tmp_path / "prod.env").write_text("POSTGRES_IMAGE=unknown/thing\n")
    (tmp_path / "later.env").write_text("POSTGRES_IMAGE=${POSTGRES_IMAGE:-x}\nPOSTGRES_IMAGE=postgres:16\n")
    assert "gosu" not in _results([project])["app"].output
    result = _results([project], env_files=(tmp_path / "prod.env", tmp_path / "later.env"))["app"]
    assert "gosu switches to user postgres" in result.output


def test_a_bad_env_file_is_its_projects_error_and_others_go_on(tmp_path: Path) -> None:
    bad = _project(tmp_path / "bad", "A=1\nPOSTGRES IMAGE=postgres\n", COMPOSE)
    (bad / "compose.override.yaml").write_text("services:\n  db:\n    environment:\n      A: b\n")
    good = _project(tmp_path / "good", "POSTGRES_IMAGE=postgres:16\nPGPORT=1\n", COMPOSE)
    runner = CliRunner()
    outcome = runner.invoke(main, ["check", "--offline", str(bad), str(good)])
    assert outcome.exit_code == 2, outcome.output
    assert f"{bad / '.env'}:2: key cannot contain a space" in outcome.stderr
    assert "compose.override.yaml: not analysed: its project's" in outcome.stderr
    assert "good/compose.yaml" in outcome.stdout and "bad/compose.yaml" not in outcome.stdout
