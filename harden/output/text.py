"""Findings and errors as text: `path:line:col: rule message`, as ruff and hadolint print them,
the summary line of `check`, and what might break (caveats) on one line."""

from __future__ import annotations

from collections.abc import Sequence

from harden.model import Applicability, Caveat, Diagnostic, FileResult, Finding, Severity


def finding_line(path: str, finding: Finding) -> str:
    fixable = f" [{finding.fix.applicability} fix]" if finding.fix else ""
    subject = f"{finding.subject}: " if finding.subject and finding.rule.kinds == ("compose",) else ""
    return f"{path}:{finding.line}:{finding.column}: {finding.rule.id} {subject}{finding.message}{fixable}"


def diagnostic(error: Diagnostic) -> str:
    """`path:line:col: message`, `path:line: message`, or `path: message` when no line is known."""
    if not error.line:
        return f"{error.path}: {error.message}"
    if error.column:
        return f"{error.path}:{error.line}:{error.column}: {error.message}"
    return f"{error.path}:{error.line}: {error.message}"


def caveat_groups(caveats: Sequence[Caveat]) -> list[tuple[list[str], str]]:
    """(subjects, text) with the subjects that share a text together, in order of appearance."""
    groups: dict[str, list[str]] = {}
    for caveat in caveats:
        groups.setdefault(caveat.text, []).append(caveat.subject)
    return [(subjects, text) for text, subjects in groups.items()]


def caveats_text(caveats: Sequence[Caveat]) -> str:
    """What might break, on one line: `api, worker: text; db: other text` (a caveat about the
    finding as a whole is its text alone)."""
    parts = []
    for subjects, text in caveat_groups(caveats):
        named = ", ".join(s for s in subjects if s)
        parts.append(f"{named}: {text}" if named else text)
    return "; ".join(parts)


def text(results: list[FileResult]) -> str:
    lines = [finding_line(r.path, f) for r in results for f in r.findings]
    return "\n".join(lines) + ("\n" if lines else "")


def summary(results: list[FileResult], errors: int = 0) -> str:
    """The last line of `check`: counts of findings, and of errors when the run failed (a run
    with errors never claims a clean result)."""
    findings = [f for r in results for f in r.findings]
    if not findings:
        read = len([r for r in results if not r.errors])
        if errors:
            return (f"No findings in the {_files(read)} read." if read else "Nothing checked.") + failed(errors)
        return f"No findings in {_files(len(results))}."
    failing = [f for f in findings if f.severity is not Severity.INFO]
    tiers = [f.fix.applicability for f in findings if f.fix]
    fixable = len([t for t in tiers if t in (Applicability.SAFE, Applicability.REVIEW)])
    safe, unsafe = tiers.count(Applicability.SAFE), tiers.count(Applicability.UNSAFE)
    files = len({r.path for r in results if r.findings})
    text = f"Found {len(findings)} finding{'s' if len(findings) != 1 else ''} in {_files(files)}"
    text += f" ({len(failing)} to fix, {len(findings) - len(failing)} for information)."
    if fixable:
        text += f"\n{fixable} fixable with `harden fix` ({safe} with --safe-only); `harden diff` shows them."
    if unsafe:
        text += (
            f"\n{unsafe} more with --unsafe-fixes: harden has no evidence that the service still works after "
            f"{'them' if unsafe != 1 else 'it'}; each says what to verify."
        )
    return text + failed(errors)


def failed(errors: int) -> str:
    """' The run failed: N errors (above).' or nothing."""
    return f" The run failed: {errors} error{'s' if errors != 1 else ''} (above)." if errors else ""


def _files(count: int) -> str:
    return f"{count} file{'s' if count != 1 else ''}"
