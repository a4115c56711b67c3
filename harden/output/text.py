"""Findings and errors as text: `path:line:col: rule message`, as ruff and hadolint print them,
the summary line of `check`, and what might break (caveats) on one line."""

from __future__ import annotations

from collections.abc import Sequence

from harden.model import Applicability, Caveat, Diagnostic, FileResult, Finding, Severity


def finding_line(path: str, finding: Finding) -> str:
    fixable = f" [{finding.fix.applicability} fix]" if finding.fix else ""
    return f"{path}:{finding.line}:{finding.column}: {finding.rule.id} {finding_message(finding)}{fixable}"


def finding_message(finding: Finding) -> str:
    """The message with the service it is about (`db: ...`) for a Compose rule (a Dockerfile
    finding's message names its stage where that matters)."""
    subject = f"{finding.subject}: " if finding.subject and "compose" in finding.rule.kinds else ""
    return f"{subject}{finding.message}"


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
    """The last lines of `check`: how many findings, split into parts that add up to the total
    (`counts`), what `fix` and `diff` do with them, and the errors when the run failed (a run
    with errors never claims a clean result). Worded in the spirit of ruff's "Found 3 errors.
    [*] 2 fixable with the `--fix` option (1 hidden fix can be enabled with the `--unsafe-fixes`
    option)."; parts that are zero are left out."""
    findings = [f for r in results for f in r.findings]
    if not findings:
        read = len([r for r in results if not r.errors])
        if errors:
            return (f"No findings in the {_files(read)} read." if read else "Nothing checked.") + failed(errors)
        return f"No findings in {_files(len(results))}."
    count = counts(findings)
    files = len({r.path for r in results if r.findings})
    parts = [
        f"{count['fixable']} fixable by `harden fix` ({count['safe']} safe)" if count["fixable"] else "",
        f"{count['unsafe']} with an unsafe fix" if count["unsafe"] else "",
        f"{count['without_fix']} without a fix" if count["without_fix"] else "",
        f"{count['information']} for information" if count["information"] else "",
    ]
    text = f"Found {_plural(len(findings), 'finding')} in {_files(files)}: {', '.join(p for p in parts if p)}."
    if count["fixable"]:
        only = " (--safe-only: the safe ones only)" if count["safe"] else ""
        text += f"\n`harden diff` shows the fixes and what each might break; `harden fix` applies them{only}."
    if count["unsafe"]:
        them = "them" if count["unsafe"] != 1 else "it"
        text += (
            f"\n{_plural(count['unsafe'], 'unsafe fix')} applied only with --unsafe-fixes: harden has no evidence that the "
            f"service still works after {them}; `harden diff` says what to verify."
        )
    return text + failed(errors)


def counts(findings: Sequence[Finding]) -> dict[str, int]:
    """The findings in parts that add up to their number: `fixable` (a safe or review fix,
    which `fix` applies; `safe` of them cannot change behaviour), `unsafe` (a fix without
    evidence: shown, applied only with --unsafe-fixes), and those without a fix: `without_fix`
    (they make `check` fail: display rules, and fixes harden could not make, such as a pin it
    could not resolve offline: "without a fix", not "by hand", as a run online may fix them)
    and `information` (severity info: a finding with a fix counts with its fix's tier)."""
    tiers = [f.applicability for f in findings]
    unfixed = [f for f in findings if f.applicability is Applicability.DISPLAY]
    information = len([f for f in unfixed if f.severity is Severity.INFO])
    return {
        "total": len(findings),
        "fixable": tiers.count(Applicability.SAFE) + tiers.count(Applicability.REVIEW),
        "safe": tiers.count(Applicability.SAFE),
        "unsafe": tiers.count(Applicability.UNSAFE),
        "without_fix": len(unfixed) - information,
        "information": information,
    }


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'es' if noun.endswith('x') and count != 1 else 's' if count != 1 else ''}"


def failed(errors: int) -> str:
    """' The run failed: N errors (above).' or nothing."""
    return f" The run failed: {errors} error{'s' if errors != 1 else ''} (above)." if errors else ""


def _files(count: int) -> str:
    return _plural(count, "file")
