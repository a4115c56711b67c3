"""The data every part of harden shares: findings, fixes, diagnostics and the one edit model.

An `Edit` replaces a span of a document's original text (an insertion is an empty span).
Both file kinds use it: a pass locates spans with its document's parser and returns edits;
only the engine applies them (`apply_edits`, back to front, so offsets never shift under a
pass). Edit text uses "\\n"; the engine writes the file's own line ending.

A `Fix` is lazy: the pass gives a zero-argument callable that builds its edits (and any new
file), and only a command that applies fixes calls it, once. `harden check` never does, so it
never renders a template or splices YAML. What a fix claims, how safe it is, what might break
(`Caveat`s) and which other findings it needs (`requires`) are known without building it.

Everything here is plain data: renderers (harden.output) turn it into text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

Claim = tuple[str | int, ...]  # a deepdiff path as a list of keys, e.g. ("services", "db", "cap_drop")
ID_LENGTH = 12  # hex digits of a finding id: 48 bits, no collision in any real project


class DocumentError(Exception):
    """Input harden cannot read; `line` and `column` are 1-based (column 0: unknown)."""

    def __init__(self, line: int, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


class Applicability(StrEnum):
    """How far a fix may be trusted (ruff's safe / unsafe / display, plus review).

    The tier follows the fix's evidence (`tier`): `review` fixes change behaviour and harden has
    evidence that the service still works, so `fix` applies them; `unsafe` fixes have none (an
    image harden knows nothing about, a script it cannot read), so `check` and `diff` show them
    with what to verify and only `--unsafe-fixes` applies them."""

    SAFE = "safe"  # cannot change what the container does
    REVIEW = "review"  # changes behaviour, with evidence that the service still works: applied
    UNSAFE = "unsafe"  # changes behaviour, without evidence: applied only with --unsafe-fixes
    DISPLAY = "display"  # reported only; harden does not change it


class EvidenceKind(StrEnum):
    """Why harden believes a service still works after a fix."""

    KNOWLEDGE = "knowledge"  # an entry of the image knowledge base, with its cited source
    BUILD = "build"  # what harden read in the project's own files (Dockerfile, scripts, Compose file)
    VERIFIED = "verified"  # a recorded run of the hardened service
    LOW_RISK = "low-risk"  # a setting that changes nothing a working service is known to use
    NONE = "none"  # nothing: the fix is unsafe


class Evidence(NamedTuple):
    """One piece of evidence: its kind, where it was read (a knowledge file and its cited line,
    or `path:line` in the project), and what was read, in a few words."""

    kind: EvidenceKind
    source: str = ""
    detail: str = ""

    def short(self) -> str:
        """A few words for the commentary: `knowledge (postgres)`, `build (Dockerfile:3 FROM nginx)`."""
        said = self.detail or self.source
        return f"{self.kind} ({said})" if said else str(self.kind)


NO_EVIDENCE = Evidence(EvidenceKind.NONE)


def tier(evidence: Iterable[Evidence]) -> Applicability:
    """A behaviour-changing fix's applicability: review with evidence, unsafe without (a fix
    about several services needs evidence for each: pass each service's strongest)."""
    found = [e for e in evidence if e.kind is not EvidenceKind.NONE]
    return Applicability.REVIEW if found else Applicability.UNSAFE


class Severity(StrEnum):
    """SARIF's levels; `info` findings never make `check` fail."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace original text[start:end] with `text`."""

    start: int
    end: int
    text: str

    def overlaps(self, other: Edit) -> bool:
        """Whether two edits cannot be applied in one sweep. Two insertions at one offset can
        (they keep their order); an insertion overlaps only the inside of a replaced span."""
        return self.start < other.end and other.start < self.end


def apply_edits(text: str, edits: Sequence[Edit], newline: str = "\n") -> str:
    """Apply non-overlapping edits; insertions at one offset keep their given order."""
    ordered = sorted(enumerate(edits), key=lambda pair: (pair[1].start, pair[1].end, pair[0]))
    parts: list[str] = []
    position = 0
    for _, edit in ordered:
        parts.append(text[position : edit.start])
        parts.append(edit.text.replace("\n", newline) if newline != "\n" else edit.text)
        position = max(position, edit.end)
    parts.append(text[position:])
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class NewFile:
    """A file a fix creates, beside the file it fixes: `path` is relative to that file's
    directory, with `/` separators and no `..` (the engine refuses anything else). harden never
    replaces an existing file with one, with one exception: `base` is the text the engine read
    there for the pass (a `.gitignore` that `text` extends); the file is then replaced only while
    it still holds exactly `base`. `secret`: the text is a credential, which no report, diff or
    log shows (the diff names the file and says it is not shown); a directory the sink makes for
    it is mode 0700."""

    path: str
    text: str
    mode: int = 0o644
    base: str | None = None
    secret: bool = False


@dataclass(frozen=True, slots=True)
class Patch:
    """What building a fix gives: its edits, the claims only known once they are rendered (a
    Dockerfile snippet's instructions), and the files it creates."""

    edits: tuple[Edit, ...] = ()
    claims: tuple[Claim, ...] = ()
    new_files: tuple[NewFile, ...] = ()


Build = Callable[[], "Patch | Iterable[Edit]"]


class Unfixable(Exception):
    """Raised by a fix's builder when its edits cannot be made after all (the text is not what
    planning expected). `findings` are what the pass reports instead ("harden cannot ... here");
    the engine applies nothing of that fix and reports them in place of its finding."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        super().__init__("; ".join(f.message for f in findings))
        self.findings = tuple(findings)


def prebuilt(edits: Iterable[Edit]) -> Build:
    """The builder of edits a pass made while checking: cheap ones, or ones whose making decides
    what the finding says."""
    made = tuple(edits)
    return lambda: made


def _nothing() -> Patch:
    return Patch()


def _released() -> Patch:
    raise RuntimeError("this fix was released before it was built (a harden bug)")


@dataclass(frozen=True, slots=True)
class Caveat:
    """What might break, for one subject (a service; '' for the finding as a whole)."""

    subject: str
    text: str


@dataclass(frozen=True, eq=False, slots=True)
class Fix:
    """What resolves one finding.

    `claims` are the semantic paths (deepdiff paths, as key lists, of the parsed document: see
    `semantic()` of each document kind) under which the fix may change something; the engine
    refuses an output that changes anything else. `build` makes the edits (see the module
    docstring); `caveats` tell a reviewer what to test; `requires` are the ids of findings whose
    fixes this one counts on (it is applied only with them, or after them); `evidence` says why
    harden believes the service still works (a behaviour-changing fix: its applicability is
    `tier(evidence)`; a safe fix needs none).

    Two fixes are equal when they decide the same (applicability, claims, caveats, requires, evidence):
    the builder is not compared. `release()` forgets what only the engine needs once it is done
    with a file: the builder (and the parsed document it holds); what was built,
    the claims, the caveats and the requirements are kept for reports.
    """

    applicability: Applicability
    claims: tuple[Claim, ...] = ()
    build: Build = _nothing
    caveats: tuple[Caveat, ...] = ()
    requires: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    built: Patch | None = field(default=None, repr=False, init=False)  # what was built, if the fix ever was

    def _key(self) -> tuple[Any, ...]:
        return (self.applicability, self.claims, self.caveats, self.requires, self.evidence)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Fix) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def patch(self) -> Patch:
        """The built fix (built on first use; Unfixable when it cannot be)."""
        built = self.built
        if built is None:
            made = self.build()
            built = made if isinstance(made, Patch) else Patch(tuple(made))
            object.__setattr__(self, "built", built)
        return built

    def edits(self) -> tuple[Edit, ...]:
        return self.patch().edits

    def all_claims(self) -> tuple[Claim, ...]:
        return self.claims + self.patch().claims

    def release(self) -> None:
        object.__setattr__(self, "build", _released)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (to or from a worker process) without the builder: only a released fix travels."""
        state = {name: getattr(self, name) for name in self.__slots__}
        state["build"] = _released
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)


_RULES: dict[str, Rule] = {}


def _rule(*values: Any) -> Rule:
    """A rule as it arrives from a worker process: the registered object when it is the same
    rule, so that findings share one Rule (identity and memory) in the parent."""
    rule = Rule(*values)
    known = _RULES.get(rule.id)
    return known if known == rule else rule


@dataclass(frozen=True)
class Rule:
    """What a pass is, for `harden rules`, `harden explain` and every report."""

    id: str
    title: str
    control: str  # CIS Docker Benchmark v1.6.0 id or OWASP Docker cheat sheet rule
    applicability: Applicability  # the most a fix of this rule does
    kinds: tuple[str, ...]  # document kinds: "dockerfile", "compose"
    peers: str = ""  # equivalent rules in other tools (hadolint, KICS, Trivy, Checkov)
    gated: bool = False  # its fixes are `unsafe` where harden has no evidence that the service still works

    @property
    def tiers(self) -> str:
        """What `harden rules` shows: `review/unsafe` for a rule whose fixes need evidence."""
        return f"{self.applicability}/unsafe" if self.gated else str(self.applicability)

    def __post_init__(self) -> None:
        _RULES.setdefault(self.id, self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rule, (self.id, self.title, self.control, self.applicability, self.kinds, self.peers, self.gated))


def finding_id(rule_id: str, path: str, subject: str, about: str = "") -> str:
    """A finding's id: the same for the same thing on every run and in every convergence round
    (never a line number or message text, which move when other fixes are applied)."""
    key = "\0".join((rule_id, path, subject, about or rule_id))
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:ID_LENGTH]


@dataclass(frozen=True, slots=True)
class Finding:
    """What a pass reports. `subject` is the service (or services, `a, b`) or stage it is about;
    `about` says what about it, when one rule can report several things of one subject (a key,
    a mount target, a port; default: the rule id). `path` is the file as displayed, set by the
    engine; with rule, subject and about it makes the finding's `id`."""

    rule: Rule
    message: str
    line: int  # 1-based
    column: int  # 1-based
    severity: Severity
    rationale: str
    fix: Fix | None = None
    subject: str = ""
    about: str = ""
    path: str = ""
    # Credential values the finding is about: never printed. The engine masks them (`mask`) in
    # what it derives from the document (the semantic summary, refusals), the reviewed diff with
    # --redact in its lines too. Messages never hold them in the first place.
    secrets: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return finding_id(self.rule.id, self.path, self.subject, self.about)  # not kept: results of big runs stay small

    @property
    def applicability(self) -> Applicability:
        return self.fix.applicability if self.fix else Applicability.DISPLAY


MASK = "***"


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each secret value replaced by `***` (longer values first,
    so that a value inside another is masked whole). An occurrence inside a longer word is kept
    (a password `app` leaves `application` alone): it is not the value."""
    for value in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", MASK, text)
    return text


class DiagnosticKind(StrEnum):
    """What an error is about (renderers may order or count by kind)."""

    SKIPPED = "skipped"  # discovery left the path out (a FIFO, a link outside the tree, ...)
    INPUT = "input"  # the file could not be read or parsed
    REFUSED = "refused"  # the hardened output failed a check: nothing written
    WRITE = "write"  # writing the output was refused or failed
    INTERNAL = "internal"  # a bug met while handling this file
    NOTE = "note"  # not an error (the exit status is unchanged): a file found but left out, and why


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """Every error and refusal: `path:line[:column]: message` (line 0: no line to name)."""

    kind: DiagnosticKind
    path: str
    line: int = 0
    column: int = 0
    message: str = ""


@dataclass(slots=True)
class FileResult:
    """Everything the engine learned about one file; renderers read only this.

    Once a sink has taken the result, the run keeps only what reports need: it drops the texts
    (`original`, `output`) unless the sink keeps them for rendering (`harden diff`), and
    `findings` and `applied` when the sink says no report lists them (`harden fix` printing
    text: it lists what is left, `remaining`); `modified` remembers whether the output differed
    and `applied_rules` which rules' fixes were applied.
    """

    path: str  # as displayed and written in diffs (relative to the current directory if possible)
    kind: str
    original: str = ""  # decoded text, BOM removed, line endings kept
    output: str = ""  # the text after the chosen fixes (== original when nothing applied)
    bom: bool = False  # the file starts with a UTF-8 byte order mark (kept on write)
    findings: list[Finding] = field(default_factory=list)
    applied: list[Finding] = field(default_factory=list)
    applied_rules: list[str] = field(default_factory=list)  # the rule of each applied finding, in order
    remaining: list[Finding] = field(default_factory=list)  # findings on the output (what is left)
    summary: list[str] = field(default_factory=list)  # semantic summary lines (deepdiff)
    errors: list[Diagnostic] = field(default_factory=list)
    new_files: dict[str, NewFile] = field(default_factory=dict)  # display path -> file the fixes create
    modified: bool = False  # the output differs from the input (set by the engine with `output`)
    written: bool = False  # a sink wrote it (in place, or its copy)

    @property
    def changed(self) -> bool:
        return (self.modified or bool(self.new_files)) and not self.errors
