"""`--format github` (harden/output/github.py): one workflow command per finding, escaped as
actions/toolkit's command.ts escapes them, and no credential value."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from harden.cli import main
from harden.model import Applicability, Diagnostic, DiagnosticKind, FileResult, Finding, Rule, Severity
from harden.output import github

RULE = Rule("test-rule", "A test rule", "CIS 0.0", Applicability.DISPLAY, ("compose",))


def unescape_property(text: str) -> str:
    """The runner's reading of a property (actions/runner ActionCommand.cs), to check a round trip."""
    for escaped, char in (("%3A", ":"), ("%2C", ","), ("%0D", "\r"), ("%0A", "\n"), ("%25", "%")):
        text = text.replace(escaped, char)
    return text


def test_message_and_properties_are_escaped() -> None:
    finding = Finding(RULE, "100% sure:\nline two\r", 3, 5, Severity.WARNING, "r", subject="db")
    result = FileResult("dir:a,b/compose.yaml", "compose", findings=[finding])
    out = github.render([result])
    assert out == "::warning file=dir%3Aa%2Cb/compose.yaml,line=3,col=5,title=test-rule::db: 100%25 sure:%0Aline two%0D\n"
    assert out.count("\n") == 1  # the newline in the message cannot end the command
    properties = out.split("::")[1].removeprefix("warning ")
    assert dict(p.split("=", 1) for p in properties.split(","))["file"] == "dir%3Aa%2Cb/compose.yaml"
    assert unescape_property("dir%3Aa%2Cb/compose.yaml") == result.path


def test_severity_commands_quoted_names_and_errors() -> None:
    findings = [
        Finding(RULE, "e", 1, 1, Severity.ERROR, "r"),
        Finding(RULE, "i", 2, 0, Severity.INFO, "r"),
    ]
    result = FileResult('"tab\\there/Dockerfile"', "dockerfile", findings=findings)
    errors = [
        Diagnostic(DiagnosticKind.INPUT, "bad.yaml", 4, 2, "invalid YAML"),
        Diagnostic(DiagnosticKind.NOTE, "x.yml", 0, 0, "has services: but no Compose name, skipped"),
    ]
    lines = github.render([result], errors).splitlines()
    assert lines == [
        "::error file=tab\there/Dockerfile,line=1,col=1,title=test-rule::e",
        "::notice file=tab\there/Dockerfile,line=2,title=test-rule::i",
        "::error file=bad.yaml,line=4,col=2::invalid YAML",
        "::notice file=x.yml::has services: but no Compose name, skipped",
    ]


def test_check_prints_one_command_per_finding(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: s3cr3t-Value9\n")
    run = CliRunner().invoke(main, ["check", "--offline", "--format", "github", str(tmp_path)], catch_exceptions=False)
    report = CliRunner().invoke(main, ["check", "--offline", "--format", "json", str(tmp_path)], catch_exceptions=False)
    findings = json.loads(report.stdout)["files"][0]["findings"]
    lines = run.stdout.splitlines()
    assert run.exit_code == report.exit_code == 1 and len(lines) == len(findings) > 3
    for line, finding in zip(lines, findings, strict=True):
        command = {"info": "notice"}.get(finding["severity"], finding["severity"])
        where = f"line={finding['line']},col={finding['column']}"
        assert line.startswith(f"::{command} file={compose},{where},title={finding['rule']}::")
    assert "s3cr3t-Value9" not in run.stdout and "s3cr3t-Value9" in compose.read_text()
    assert any(line.startswith("::warning ") and "title=env-secrets::db: " in line for line in lines)
