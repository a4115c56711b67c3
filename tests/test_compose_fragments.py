"""Override fragments found by walking a directory: a Compose file whose services are all defined
in another file (no image:, build: or extends:) joins that file's project, as
`docker compose -f base -f fragment` merges them; one that no file beside it defines, or that two
could, is reported (a note: the exit status is unchanged) and not hardened alone.

fixtures/compose-fragments/secrets-only (hand-written): a fragment that only adds a secret to a
mariadb service. Hardened alone it got cap_drop: [ALL] without SETUID/SETGID and read_only
without /run/mysqld, which break the merged service."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from compose_oracle import merged
from runs import process

from harden.cli import main
from harden.compose import project
from harden.config import Settings
from harden.model import DiagnosticKind

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "compose-fragments" / "secrets-only"
BASE = "services:\n  db:\n    image: mariadb:11.4\n"
FRAGMENT = "services:\n  db:\n    secrets: [pw]\nsecrets:\n  pw:\n    file: ./pw.txt\n"


@pytest.mark.parametrize("workers", [None, 2])
def test_a_fragment_is_hardened_with_the_file_that_defines_its_service(tmp_path: Path, workers: int | None) -> None:
    directory = tmp_path / "stack"
    shutil.copytree(FIXTURE, directory)
    run = process([str(directory)], Settings(offline=True, search_from=(directory,), workers=workers))
    results = {source.path.name: result for source, result in run.processed}
    fragment = results["compose.secrets.yaml"]
    assert fragment.output == fragment.original and not fragment.errors  # nothing added where the base file adds it
    for name, result in results.items():
        (directory / name).write_text(result.output)
    db = merged([directory / "compose.yaml", directory / "compose.secrets.yaml"])["services"]["db"]
    assert {"SETUID", "SETGID"} <= set(db["cap_add"]) and db["cap_drop"] == ["ALL"]
    assert "/run/mysqld" in db["tmpfs"] and db["secrets"][0]["source"] == "db_root_password"


def _cli(directory: Path, *options: str) -> tuple[int, str, str]:
    outcome = CliRunner().invoke(main, ["check", "--offline", *options, str(directory)])
    return outcome.exit_code, outcome.stdout, outcome.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_fragment_without_its_base_is_reported_not_hardened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    monkeypatch.setenv("HARDEN_WORKERS", workers)
    (tmp_path / "compose.prod.yaml").write_text(FRAGMENT)
    status, stdout, stderr = _cli(tmp_path, "--format", "json")
    assert status == 0, stderr  # a note, not an error: and no finding on a file harden did not harden
    report = json.loads(stdout)
    assert report["errors"] == [] and report["files"][0]["findings"] == []
    assert len(report["skipped"]) == 1 and "compose.prod.yaml: its services (db) have no image:" in report["skipped"][0]
    assert "-f BASE -f FRAGMENT" in stderr


def test_a_fragment_two_files_could_extend_is_reported(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(BASE)
    (tmp_path / "compose.dev.yaml").write_text(BASE.replace("11.4", "11"))
    (tmp_path / "compose.secrets.yaml").write_text(FRAGMENT)
    run = process([str(tmp_path)], Settings(offline=True, search_from=(tmp_path,)))
    results = {source.path.name: result for source, result in run.processed}
    notes = results["compose.secrets.yaml"].errors
    assert [n.kind for n in notes] == [DiagnosticKind.NOTE]
    assert "which compose.dev.yaml and compose.yaml both define" in notes[0].message
    assert "cap_drop" in results["compose.yaml"].output  # the others are still hardened


def test_with_f_the_fragment_is_hardened_in_the_order_given(tmp_path: Path) -> None:
    (tmp_path / "compose.prod.yaml").write_text(FRAGMENT)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "base.yaml").write_text(BASE)
    files = (tmp_path / "other" / "base.yaml", tmp_path / "compose.prod.yaml")
    run = process([str(f) for f in files], Settings(offline=True, search_from=(tmp_path,), compose_files=files))
    assert all(not result.errors for result in run.results)


def test_groups_put_fragments_after_the_base_and_override_pair(tmp_path: Path) -> None:
    names = ["compose.yaml", "compose.override.yaml", "compose.z.yaml", "compose.a.yaml", "compose.web.yaml"]
    defines = [{"db": True}, {"db": False}, {"db": False}, {"db": False}, {"web": False}]
    found = project.groups([tmp_path / n for n in names], services=defines)
    assert found[0] == found[1] == found[2] == found[3] == (0, 1, 3, 2)
    assert 4 not in found  # no file beside it defines web
    assert project.fragments([tmp_path / n for n in names], defines)[4].projects == ()


def test_fix_output_still_copies_a_fragment_it_leaves_out(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "compose.prod.yaml").write_text(FRAGMENT)
    outcome = CliRunner().invoke(main, ["fix", "--offline", "--output", str(tmp_path / "out"), str(tmp_path / "in")])
    assert outcome.exit_code == 0, outcome.output
    assert (tmp_path / "out" / "compose.prod.yaml").read_text() == FRAGMENT  # a complete copy, the fragment unchanged
