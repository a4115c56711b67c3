"""The data every part of harden shares: findings, fixes and the one edit model.

An `Edit` replaces a span of a document's original text (an insertion is an empty span).
Both file kinds use it: a pass locates spans with its document's parser and returns edits;
only the engine applies them, back to front, so offsets never shift under a pass.
Edit text uses "\\n"; the engine writes the file's own line ending.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

Claim = tuple[str | int, ...]  # a deepdiff path as a list of keys, e.g. ("services", "db", "cap_drop")


class DocumentError(Exception):
    """Input harden cannot read; `line` and `column` are 1-based (column 0: unknown)."""

    def __init__(self, line: int, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


class Applicability(StrEnum):
    """How far a fix may be trusted (ruff's safe / unsafe / display)."""

    SAFE = "safe"  # cannot change what the container does
    REVIEW = "review"  # hardens, but may change behaviour: a human reads what might break
    DISPLAY = "display"  # reported only; harden does not change it


class Severity(StrEnum):
    """SARIF's levels; `info` findings never make `check` fail."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Edit:
    """Replace original text[start:end] with `text`."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Fix:
    """Edits that resolve one finding.

    `claims` are the semantic paths (deepdiff paths, as key lists, of the parsed document: see
    `semantic()` of each document kind) under which the fix may change something; the engine
    refuses an output that changes anything else. `might_break` tells a reviewer what to test.
    """

    edits: tuple[Edit, ...]
    applicability: Applicability
    claims: tuple[Claim, ...]
    might_break: str = ""


@dataclass(frozen=True)
class Rule:
    """What a pass is, for `harden rules`, `harden explain` and every report."""

    id: str
    title: str
    control: str  # CIS Docker Benchmark v1.6.0 id or OWASP Docker cheat sheet rule
    applicability: Applicability  # the most a fix of this rule does
    kinds: tuple[str, ...]  # document kinds: "dockerfile", "compose"
    peers: str = ""  # equivalent rules in other tools (hadolint, KICS, Trivy, Checkov)


@dataclass(frozen=True)
class Finding:
    rule: Rule
    message: str
    line: int  # 1-based
    column: int  # 1-based
    severity: Severity
    rationale: str
    fix: Fix | None = None
    subject: str = ""  # what the finding is about: a stage or a service name

    @property
    def applicability(self) -> Applicability:
        return self.fix.applicability if self.fix else Applicability.DISPLAY


@dataclass
class FileResult:
    """Everything the engine learned about one file; renderers read only this."""

    path: str  # as displayed and written in diffs (relative to the current directory if possible)
    kind: str
    original: str = ""  # decoded text, BOM removed, line endings kept
    output: str = ""  # the text after the chosen fixes (== original when nothing applied)
    bom: bool = False  # the file starts with a UTF-8 byte order mark (kept on write)
    findings: list[Finding] = field(default_factory=list)
    applied: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)  # findings on the output (what is left)
    summary: list[str] = field(default_factory=list)  # semantic summary lines (deepdiff)
    errors: list[str] = field(default_factory=list)  # "path:line: message" lines

    @property
    def changed(self) -> bool:
        return self.output != self.original and not self.errors
