"""Override files: compose.yaml and compose.override.yaml beside it are one project.

Compose merges them in order and a key set in the later file wins, so each file's passes read a
service across both (harden/compose/project.py groups the files, harden.passes.compose.layers.services() reads them):
a key already set in the override is not added to the base, an insecure value in the base that
the override replaces is not reported, an insecure value set in the override is reported (and
fixed) there, and an override fragment without `image:` takes its image from the base file.

Golden cases: fixtures/compose-override/<case>/{compose.yaml, compose.override.yaml} ->
expected.compose.yaml, expected.compose.override.yaml (the outputs of `harden fix <case>`).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from compose_oracle import accepts, merged
from runs import process

from harden import compose
from harden.compose import project
from harden.config import Settings
from harden.model import FileResult, Finding

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "compose-override"
CASES = sorted(d for d in FIXTURES.iterdir() if (d / "compose.yaml").is_file())
FILES = ("compose.yaml", "compose.override.yaml")


def harden(directory: Path, apply: bool = True) -> dict[str, FileResult]:
    run = process([str(directory)], Settings(offline=True, search_from=(directory,)), apply=apply)
    return {source.path.name: result for source, result in run.processed}


def fixed(results: dict[str, FileResult], name: str) -> list[Finding]:
    return [f for f in results[name].applied]


def messages(results: dict[str, FileResult], name: str, rule: str) -> list[str]:
    return [f.message for f in results[name].findings if f.rule.id == rule]


@pytest.fixture(scope="module")
def outputs() -> dict[str, dict[str, FileResult]]:
    return {case.name: harden(case) for case in CASES}


def test_cases_exist() -> None:
    names = {case.name for case in CASES}
    assert {"set-in-override", "image-from-base", "overridden-secure", "insecure-in-override", "override-only-service"} <= names


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden(case: Path, outputs: dict[str, dict[str, FileResult]]) -> None:
    results = outputs[case.name]
    assert sorted(results) == sorted(FILES)
    for name in FILES:
        result = results[name]
        assert not result.errors, result.errors
        expected = (case / f"expected.{name}").read_text(encoding="utf-8")
        assert result.output == expected, f"{case.name}/{name}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_second_run_changes_nothing(case: Path, tmp_path: Path) -> None:
    """Both outputs together converge: a second run over them proposes no fix in either file."""
    for name in FILES:
        (tmp_path / name).write_text((case / f"expected.{name}").read_text(encoding="utf-8"), encoding="utf-8")
    again = harden(tmp_path)
    for name in FILES:
        assert again[name].output == again[name].original, f"{case.name}/{name}: {[f.message for f in again[name].applied]}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_check_reports_what_fix_applies(case: Path, outputs: dict[str, dict[str, FileResult]]) -> None:
    """`harden check` (no edits built) places fixes in the same files as `harden fix`."""
    checked = harden(case, apply=False)
    for name in FILES:
        with_fix = {(f.rule.id, f.subject) for f in checked[name].findings if f.fix is not None}
        applied = {(f.rule.id, f.subject) for f in outputs[case.name][name].applied}
        assert applied <= with_fix, name


def test_key_set_in_override_is_not_added_to_base(outputs: dict[str, dict[str, FileResult]]) -> None:
    results = outputs["set-in-override"]
    base = {f.rule.id for f in fixed(results, "compose.yaml")}
    assert base == {"no-new-privileges", "resource-limits"}
    assert not messages(results, "compose.yaml", "read-only-rootfs")
    assert not messages(results, "compose.yaml", "cap-drop-all")
    assert results["compose.override.yaml"].output == results["compose.override.yaml"].original


def test_override_fragment_takes_its_image_from_the_base(outputs: dict[str, dict[str, FileResult]]) -> None:
    results = outputs["image-from-base"]
    override = results["compose.override.yaml"]
    # the fragment has no image: postgres comes from compose.yaml, so its port is a database's port
    (ports,) = messages(results, "compose.override.yaml", "published-ports")
    assert "postgres is a database" in ports
    assert '"127.0.0.1:5432:5432"' in override.output
    # cap_drop is set in the override: ALL is added to that list; cap_add, set nowhere, goes to the
    # base file with postgres' capabilities, and each file's finding says where the other part goes
    (drop,) = messages(results, "compose.override.yaml", "cap-drop-all")
    assert "harden writes cap_add in compose.yaml" in drop
    (base_drop,) = messages(results, "compose.yaml", "cap-drop-all")
    assert "harden writes cap_drop in compose.override.yaml" in base_drop
    assert "- ALL" in override.output and "cap_add" not in override.output
    assert "SETUID  # gosu switches to user postgres" in results["compose.yaml"].output
    assert "cap_drop" not in results["compose.yaml"].output


def test_insecure_value_overridden_in_override_is_not_reported(outputs: dict[str, dict[str, FileResult]]) -> None:
    results = outputs["overridden-secure"]
    for name in FILES:
        for rule in ("read-only-rootfs", "privileged", "no-new-privileges"):
            assert not messages(results, name, rule), (name, rule)


def test_insecure_value_set_in_override_is_reported_there(outputs: dict[str, dict[str, FileResult]]) -> None:
    results = outputs["insecure-in-override"]
    (read_only,) = [f for f in results["compose.override.yaml"].findings if f.rule.id == "read-only-rootfs"]
    assert read_only.message.startswith("read_only: false is set explicitly")
    assert read_only.line == 3  # at the key, in the override
    assert not messages(results, "compose.yaml", "read-only-rootfs")  # base's read_only: true is replaced
    # security_opt is written in the override: no-new-privileges is appended to that list
    assert {f.rule.id for f in fixed(results, "compose.override.yaml")} == {"no-new-privileges", "published-ports"}
    assert not messages(results, "compose.yaml", "no-new-privileges")


def test_service_only_in_override_is_hardened_there(outputs: dict[str, dict[str, FileResult]]) -> None:
    results = outputs["override-only-service"]
    assert {f.subject for f in fixed(results, "compose.override.yaml")} == {"cache"}
    assert {f.subject for f in fixed(results, "compose.yaml")} == {"db"}


def test_base_alone_is_its_own_project(tmp_path: Path) -> None:
    """A file given alone is hardened as before, whatever lies beside it."""
    case = FIXTURES / "set-in-override"
    for name in FILES:
        shutil.copy(case / name, tmp_path / name)
    run = process([str(tmp_path / "compose.yaml")], Settings(offline=True), apply=True)
    ((_, result),) = run.processed
    assert "read_only: true" in result.output


def test_groups_follow_compose_file_names(tmp_path: Path) -> None:
    names = [
        "compose.yaml",
        "docker-compose.yml",  # a second base name: Compose reads compose.yaml
        "compose.override.yaml",
        "docker-compose.override.yml",  # a second override name: compose.override.yaml wins
        "compose.prod.yaml",
        "sub/docker-compose.yml",
        "sub/docker-compose.override.yml",
        "other/compose.override.yaml",  # an override without a base is alone
    ]
    paths: list[Path | None] = [tmp_path / n for n in names]
    found = project.groups(paths)
    assert found[0] == found[2] == (0, 2)
    assert found[5] == found[6] == (5, 6)
    assert set(found) == {0, 2, 5, 6}
    # the yml override is preferred over the yaml one, as in compose-go
    assert project.groups([tmp_path / "compose.yml", tmp_path / "compose.override.yaml", tmp_path / "compose.override.yml"]) == {
        0: (0, 2),
        2: (0, 2),
    }
    # an explicit order (`-f a -f b`) is one project in that order, names aside
    explicit = project.groups(paths, explicit=[tmp_path / "compose.prod.yaml", tmp_path / "compose.yaml"])
    assert explicit == {4: (4, 0), 0: (4, 0)}


def test_a_file_that_does_not_parse_leaves_the_project(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  db: [\n", encoding="utf-8")
    (tmp_path / "compose.override.yaml").write_text("services:\n  db:\n    read_only: false\n", encoding="utf-8")
    results = harden(tmp_path)
    assert results["compose.yaml"].errors
    assert not results["compose.override.yaml"].errors


# --- the top level: networks, volumes, secrets, configs ----------------------------------------

BASE = """services:
  web:
    image: x
    networks: [front, back, new]
    volumes: [data:/d, cache:/c]
    secrets: [db, api]
    configs: [cfg]
networks:
  front:
    driver: bridge
    labels: {a: "1"}
    driver_opts: {x: "1"}
    ipam:
      config:
        - subnet: 172.28.0.0/16
        - subnet: 172.29.0.0/16
  back:
    internal: true
    labels: [x=1]
  gone:
    external: true
volumes:
  data:
    driver: local
    labels: [a=1]
  cache:
    driver: local
    driver_opts: {type: none}
secrets:
  db:
    file: ./db.txt
  api:
    environment: API_KEY
configs:
  cfg:
    file: ./app.conf
"""
OVERRIDE = """services: {}  # harden reads no Compose file without services:
networks:
  front:
    labels: [b=2, c]
    driver_opts: {x: null, y: "2"}
    ipam:
      config:
        - subnet: 10.0.0.0/16
  back:
  gone: !reset null
  new:
volumes:
  data:
    labels: {b: "2"}
    driver: null
  cache: !override
    driver: local
secrets:
  db:
    name: db_secret
  api: !override
    file: ./api.txt
configs: !override
  cfg:
    file: ./other.conf
"""


def write_project(directory: Path, *texts: str) -> list[Path]:
    for name in ("db.txt", "api.txt", "app.conf", "other.conf"):
        (directory / name).write_text("x\n", encoding="utf-8")
    paths = []
    for index, text in enumerate(texts):
        path = directory / f"compose.{index}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def as_compose_prints(key: str, name: str, definition: Any, directory: Path) -> dict[str, Any]:
    """A definition of merge_top_level as `docker-compose config --format json` prints it: the
    project-scoped name, file paths made absolute, labels as a mapping, `false` left out."""
    found = {"name": f"oracle_{name}", **(definition or {})}
    if key == "networks":
        found.setdefault("ipam", {})
    if "file" in found:
        found["file"] = str((directory / found["file"]).resolve())
    if isinstance(found.get("labels"), list):
        found["labels"] = compose.environment(found["labels"])
    return {k: v for k, v in found.items() if v is not False}


def test_top_level_definitions_merge_as_compose_merges_them(tmp_path: Path) -> None:
    paths = write_project(tmp_path, BASE, OVERRIDE)
    documents = [compose.parse(str(p), p.read_text(encoding="utf-8")) for p in paths]
    ours = compose.merge_top_level(documents)
    theirs = merged(paths)
    assert set(ours) == {"networks", "volumes", "secrets", "configs"}
    for key, definitions in ours.items():
        used = {k: v for k, v in definitions.items() if k != "gone"}  # Compose prints only what services use
        assert {n: as_compose_prints(key, n, d, tmp_path) for n, d in used.items()} == theirs[key], key
    assert "gone" not in ours["networks"]
    assert ours["networks"]["front"]["labels"] == {"a": "1", "b": "2", "c": ""}
    assert ours["networks"]["front"]["ipam"] == {"config": [{"subnet": "10.0.0.0/16"}]}
    assert ours["networks"]["back"] == {"internal": True, "labels": ["x=1"]}
    assert ours["volumes"]["cache"] == {"driver": "local"}
    assert ours["secrets"] == {"db": {"file": "./db.txt", "name": "db_secret"}, "api": {"file": "./api.txt"}}
    assert ours["configs"] == {"cfg": {"file": "./other.conf"}}


def test_reset_removes_a_definition_and_a_whole_top_level_key(tmp_path: Path) -> None:
    base = "services:\n  web:\n    image: x\n    networks: [front]\nnetworks:\n  front:\n    driver: bridge\n  back:\n"
    for override, left in (
        ("services: {}\nnetworks:\n  front: !reset\n    internal: true\n", {"networks": {"back": None}}),
        ("services: {}\nnetworks: !reset\n  front:\n    internal: true\n", {}),
    ):
        paths = write_project(tmp_path, base, override)
        ok, message = accepts(paths)
        assert not ok and "undefined network front" in message  # Compose removed it too
        documents = [compose.parse(str(p), p.read_text(encoding="utf-8")) for p in paths]
        assert compose.merge_top_level(documents) == left
    more = ("services: {}\nvolumes:\n  data:\n", "services: {}\nnetworks:\n  front:\n    driver: !reset null\n")
    paths = write_project(tmp_path, base, *more)
    documents = [compose.parse(str(p), p.read_text(encoding="utf-8")) for p in paths]
    assert compose.merge_top_level(documents) == {"networks": {"front": {}, "back": None}, "volumes": {"data": None}}
    assert merged(paths)["networks"]["front"] == {"name": "oracle_front", "ipam": {}}
