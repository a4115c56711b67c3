"""Findings as GitHub Actions workflow commands (`--format github`): one annotation per finding,
`::warning file=PATH,line=L,col=C,title=RULE::MESSAGE`, which a workflow step's output turns into
annotations on the pull request's files (as ruff's and hadolint's GitHub formats do).

The command is the finding's severity: `error`, `warning`, or `notice` (harden's `info`). The
message is the text format's (with the service it is about and the fix tier) and its rationale is
left out (one line per finding, as in the log). Errors (a file harden could not read, a refusal)
are `error` annotations too, and notes (a file found and left out) `notice`s: the runner shows
them where the text format prints them on standard error.

Escaping is GitHub's own, as actions/toolkit's `@actions/core` does it
(packages/core/src/command.ts, `escapeData` and `escapeProperty`, at commit
4b9afa4c890de9d1a84c75bb617ee4d96207823a): in the message `%`, `\\r` and `\\n` become `%25`,
`%0D` and `%0A`; in a property also `:` and `,` become `%3A` and `%2C`, so a path with a colon or a
comma (or a newline) cannot end the property or the command early. A path harden shows C-quoted
(a control character or a byte that is not UTF-8 in the name) is given on disk's spelling where it
is text, and as quoted otherwise.
What might break: annotations name paths relative to the directory harden ran in; GitHub places
them on a pull request's files only when that is the repository's root.
"""

from __future__ import annotations

from collections.abc import Sequence

from harden.model import Diagnostic, DiagnosticKind, FileResult, Finding, Severity, mask
from harden.output.diff import secrets_of
from harden.output.sarif import reported_findings, unquote
from harden.output.text import finding_message

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render(results: list[FileResult], errors: Sequence[Diagnostic] = (), left: bool = False) -> str:
    """One command per finding (`left`: per finding left after fixing, as sarif.render), then the errors."""
    lines = [command(r.path, f, secrets_of(r)) for r in results for f in reported_findings(r, left)]
    for error in (*errors, *(e for r in results for e in r.errors)):
        name = "notice" if error.kind is DiagnosticKind.NOTE else "error"
        lines.append(workflow_command(name, _position(error.path, error.line, error.column), error.message))
    return "".join(f"{line}\n" for line in lines)


def command(path: str, finding: Finding, secrets: set[str]) -> str:
    fixable = f" [{finding.fix.applicability} fix]" if finding.fix else ""
    properties = {**_position(path, finding.line, finding.column), "title": finding.rule.id}
    return workflow_command(COMMANDS[finding.severity], properties, mask(finding_message(finding), secrets) + fixable)


def _position(path: str, line: int, column: int) -> dict[str, str]:
    raw = unquote(path)
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:  # a byte that is not UTF-8: the runner reads text, so keep git's quoting
        raw = path
    position = {"file": raw}
    if line >= 1:
        position["line"] = str(line)
        if column >= 1:
            position["col"] = str(column)
    return position


def workflow_command(name: str, properties: dict[str, str], message: str) -> str:
    """`::name key=value,...::message`, escaped as actions/toolkit escapes it."""
    given = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{name}{' ' + given if given else ''}::{escape_data(message)}"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
