"""Findings as JSON: every file's findings (each with its id), what was applied, its errors;
the run's own errors and the image references that could not be resolved, once each."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from harden.model import Diagnostic, DiagnosticKind, FileResult, Finding
from harden.output.text import caveats_text, diagnostic

# The format's version (README, "JSON output"): a key removed or renamed, or a value's meaning
# changed, makes it 2; keys added keep it (a reader ignores keys it does not know).
VERSION = 1


def finding_json(finding: Finding, applied: bool = False) -> dict[str, Any]:
    fix = finding.fix
    built = fix.built if fix else None
    return {
        "id": finding.id,
        "rule": finding.rule.id,
        "message": finding.message,
        "line": finding.line,
        "column": finding.column,
        "severity": str(finding.severity),
        "control": finding.rule.control,
        "rationale": finding.rationale,
        "subject": finding.subject,
        "applicability": str(finding.applicability),
        "applied": applied,  # its fix was applied (diff, fix); check applies nothing
        "fix": None
        if fix is None
        else {
            "applicability": str(fix.applicability),
            "might_break": caveats_text(fix.caveats),
            "caveats": [{"subject": c.subject, "text": c.text} for c in fix.caveats],
            "requires": list(fix.requires),
            "evidence": [{"kind": str(e.kind), "source": e.source, "detail": e.detail} for e in fix.evidence],
            # the edits of the fixes that were built (applied, or considered for applying): none for check
            "edits": [{"start": e.start, "end": e.end, "text": e.text} for e in built.edits] if built else [],
        },
    }


def render(
    results: list[FileResult], errors: list[Diagnostic], unresolved: Sequence[Any] = (), diffs: dict[str, str] | None = None
) -> str:
    """Every file's findings, what was applied and its errors; run-wide errors and the image
    references that could not be resolved (`harden.registry.Failure`), once each."""
    files = []
    for result in results:
        applied = {f.id for f in result.applied}
        entry: dict[str, Any] = {
            "path": result.path,
            "kind": result.kind,
            "findings": [finding_json(f, f.id in applied) for f in result.findings],
            "applied": result.applied_rules,
            "summary": result.summary,
            "errors": [diagnostic(e) for e in result.errors if e.kind is not DiagnosticKind.NOTE],
            "new_files": list(result.new_files),
        }
        if diffs is not None:
            entry["diff"] = diffs.get(result.path, "")
        files.append(entry)
    failures = [{"reference": f.reference, "kind": str(f.kind), "message": f.message} for f in unresolved]
    run_errors = [diagnostic(e) for e in errors if e.kind is not DiagnosticKind.NOTE]
    # files found and left out (DiagnosticKind.NOTE: not errors), with why and how to include them
    notes = [e for e in (*errors, *(e for r in results for e in r.errors)) if e.kind is DiagnosticKind.NOTE]
    skipped = [diagnostic(e) for e in notes]
    report = {"version": VERSION, "files": files, "errors": run_errors, "unresolved": failures, "skipped": skipped}
    return json.dumps(report, indent=2) + "\n"
