"""The pipeline, and the only module that reads or writes project files.

    paths -> discover -> read + decode -> parse -> passes -> findings (with fixes)
          -> choose fixes -> apply edits -> re-parse + validate + semantic guard -> write | diff

`check`, `diff` and `fix` differ only in what they do with a FileResult. Choosing fixes and
applying them repeats until no pass proposes another (as ruff's fixer does), and a pass that
keeps proposing fixes is an error that names it. An output is never written unless it re-parses,
passes its document kind's validation, and changes the parsed document only under the paths the
applied fixes claim (deepdiff, see diff.semantic_changes).
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from harden import passes, project
from harden.config import Settings
from harden.discover import SERVICES_KEY, Skipped, Source, discover
from harden.model import Claim, DocumentError, Edit, FileResult, Finding

MAX_ROUNDS = 5
BOM = "\ufeff"
DOCUMENT_MODULES = {"dockerfile": "harden.dockerfile", "compose": "harden.compose"}


class InputError(Exception):
    """A file harden refuses to read; the message is what the user sees after `path:line:`."""

    def __init__(self, line: int, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.line, self.message, self.column = line, message, column


@dataclass
class Run:
    """What one command did: every file's result, what discovery skipped, the resolver used."""

    processed: list[tuple[Source, FileResult]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    resolver: Any = None  # harden.registry.Resolver, when any image reference was resolved

    @property
    def results(self) -> list[FileResult]:
        return [result for _, result in self.processed]


def document_module(kind: str) -> ModuleType:
    return importlib.import_module(DOCUMENT_MODULES[kind])


def decode(raw: bytes) -> tuple[str, bool]:
    """(text without BOM, whether it had one); InputError for what is not UTF-8 text."""
    if not raw.strip():
        raise InputError(1, "empty file: nothing to harden")
    if b"\0" in raw:
        raise InputError(1, "binary file (contains NUL bytes): not a Dockerfile or Compose file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputError(line, f"not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start})") from None
    if text.startswith(BOM):
        if text.startswith(BOM * 2):  # the parsers take text without one: a second would reach them
            raise InputError(1, "two byte order marks (U+FEFF) at the start of the file: remove one", 1)
        return text[1:], True
    return text, False


def looks_like_compose(raw: bytes) -> bool:
    """For standard input without --stdin-filename: YAML with top-level services: is compose."""
    return bool(SERVICES_KEY.search(raw))


def read_source(path: Path, limit: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > limit:
            raise InputError(1, f"file is {size} bytes, over the {limit}-byte limit (--max-file-size)")
        with path.open("rb") as handle:
            return handle.read(limit + 1)
    except OSError as error:
        raise InputError(1, f"cannot read: {error.strerror or error}") from None


@dataclass
class Loaded:
    """A file read and parsed (document None when it could not be: see result.errors)."""

    result: FileResult
    document: Any = None


def load(display: str, kind: str, raw: bytes) -> Loaded:
    result = FileResult(path=display, kind=kind)
    try:
        text, result.bom = decode(raw)
        result.original = result.output = text
        document = document_module(kind).parse(display, text)
    except (InputError, DocumentError) as error:
        result.errors.append(_location(display, error.line, error.column) + error.message)
        return Loaded(result)
    return Loaded(result, document)


def harden_text(
    display: str, kind: str, raw: bytes, settings: Settings, apply: bool, context: passes.Context | None = None
) -> FileResult:
    """Everything for one file given as bytes: parse, resolve, run passes, fix and validate."""
    loaded = load(display, kind, raw)
    if context is None:
        context = make_context([loaded], settings, apply)
    return analyse(loaded, settings, apply, context)


def analyse(loaded: Loaded, settings: Settings, apply: bool, context: passes.Context) -> FileResult:
    """Run the passes on a loaded file and (if `apply`) fix and validate."""
    result, document = loaded.result, loaded.document
    if document is None:
        return result
    module = document_module(result.kind)
    selected = passes.passes_for(result.kind, settings)
    # A document that is not `fixable` (compose: it fails the Compose Specification schema, see
    # harden.compose) is reported, as `check` would report it, and never fixed.
    fixable = getattr(document, "fixable", True)
    if apply and not fixable:
        context = dataclasses.replace(context, need_edits=False)
    result.findings = result.remaining = _run_passes(selected, document, context)
    if apply and fixable:
        try:
            _fix(result, module, document, selected, settings, context)
        except _Refused as refused:
            result.output = result.original
            result.applied = []
            result.remaining = result.findings
            result.errors.append(f"{result.path}:{refused.line}: {refused.message}; nothing written")
    return result


def make_context(loaded: list[Loaded], settings: Settings, apply: bool, run: Run | None = None) -> passes.Context:
    """The read-only context of a run: settings, and the digests of every image reference that
    the enabled passes ask for, resolved once for all files together."""
    references: list[str] = []
    for item in loaded:
        if item.document is None:
            continue
        for module in passes.passes_for(item.result.kind, settings):
            collect = getattr(module, "references", None)
            if collect is not None:
                references.extend(collect(item.document, settings))
    digests: dict[str, Any] = {}
    locked: dict[str, Any] = {}
    if references:
        from harden import pinning

        resolver = pinning.open_resolver(settings)
        with resolver:
            digests = dict(resolver.resolve_many(references))
            if run is not None:
                run.resolver = resolver
        locked = pinning.locked_entries(resolver, references)
    return passes.Context(settings=settings, need_edits=apply, digests=digests, locked=locked)


class _Refused(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


def _run_passes(selected: list[ModuleType], document: Any, context: passes.Context) -> list[Finding]:
    findings: list[Finding] = []
    for module in selected:
        findings.extend(module.check(document, context))
    return findings


def _fix(
    result: FileResult,
    module: ModuleType,
    document: Any,
    selected: list[ModuleType],
    settings: Settings,
    context: passes.Context,
) -> None:
    from harden import diff  # deepdiff: only needed once something is applied

    findings = result.findings
    current = document
    for _ in range(MAX_ROUNDS):
        chosen = choose(findings, settings)
        if not chosen:
            break
        text = apply_edits(current.text, [e for f in chosen for e in f.fix.edits], current.newline)  # type: ignore[union-attr]
        try:
            current = module.parse(result.path, text)
        except DocumentError as error:
            rules = ", ".join(sorted({f.rule.id for f in chosen}))
            raise _Refused(1, f"the fix of {rules} produced output that does not parse ({error.message})") from None
        result.applied.extend(chosen)
        findings = _run_passes(selected, current, context)
    else:
        rules = ", ".join(sorted({f.rule.id for f in choose(findings, settings)}))
        raise _Refused(1, f"{rules} kept proposing fixes after {MAX_ROUNDS} rounds (a harden bug)")
    result.remaining = findings
    if not result.applied:
        return
    problems = module.validate_output(document, current)
    if problems:
        rules = ", ".join(sorted({f.rule.id for f in result.applied}))
        raise _Refused(1, f"output of {rules} failed validation: {problems[0]}")
    changes = diff.semantic_changes(document.semantic(), current.semantic())
    claims = [claim for f in result.applied for claim in f.fix.claims]  # type: ignore[union-attr]
    for change in changes:
        if not any(_claimed(change.path, claim) for claim in claims):
            rules = ", ".join(sorted({f.rule.id for f in result.applied}))
            raise _Refused(1, f"the fixes of {rules} changed {change.describe()}, which no fix claims")
    result.output = current.text
    result.summary = [change.describe() for change in changes]


def _claimed(path: Claim, claim: Claim) -> bool:
    return tuple(path[: len(claim)]) == tuple(claim)


def choose(findings: Iterable[Finding], settings: Settings) -> list[Finding]:
    """The fixes to apply this round: allowed by the settings, not overlapping an earlier one."""
    chosen: list[Finding] = []
    taken: list[Edit] = []
    for finding in findings:
        fix = finding.fix
        if fix is None or not fix.edits or not settings.applies(fix.applicability):
            continue
        if any(_overlaps(a, b) for a in fix.edits for b in taken):
            continue  # applied in a later round, on the new text
        chosen.append(finding)
        taken.extend(fix.edits)
    return chosen


def _overlaps(a: Edit, b: Edit) -> bool:
    if a.start == a.end or b.start == b.end:
        return a.start < b.end and b.start < a.end  # an insertion overlaps only a replaced span's inside
    return a.start < b.end and b.start < a.end


def apply_edits(text: str, edits: list[Edit], newline: str = "\n") -> str:
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


def _location(display: str, line: int, column: int = 0) -> str:
    return f"{display}:{line}:{column}: " if column else f"{display}:{line}: "


# --- files ------------------------------------------------------------------------------


def process(arguments: list[str], settings: Settings, apply: bool) -> Run:
    sources, skipped = discover(arguments)
    run = Run(skipped=skipped)
    loaded: list[Loaded] = []
    for source in sources:
        try:
            raw = read_source(source.path, settings.max_file_size)
        except InputError as error:
            item = Loaded(FileResult(path=source.display, kind=source.kind))
            item.result.errors.append(_location(source.display, error.line) + error.message)
        else:
            item = load(source.display, source.kind, raw)
        loaded.append(item)
    context = make_context(loaded, settings, apply, run)
    # compose.yaml and compose.override.yaml beside it are one project (harden/project.py)
    paths = [s.path if s.kind == "compose" else None for s in sources]
    projects = project.related(paths, [item.document for item in loaded], settings.compose_files)
    for source, item, documents in zip(sources, loaded, projects, strict=True):
        file_context = dataclasses.replace(context, related=documents) if documents else context
        run.processed.append((source, analyse(item, settings, apply, file_context)))
    return run


def encode(result: FileResult, text: str) -> bytes:
    return ((BOM if result.bom else "") + text).encode("utf-8")


def write_atomic(target: Path, data: bytes, mode: int | None, root: Path | None = None) -> None:
    """Write through a temporary file beside the target, then rename over it.

    Never through a symbolic link: a link at the target, or a directory link on the way from
    `root`, is refused (OSError), so a repository cannot redirect harden's writes.
    """
    if target.is_symlink():
        raise OSError(f"{target} is a symbolic link: not written through")
    if root is not None:
        real_root = root.resolve()
        if not target.parent.resolve().is_relative_to(real_root):
            raise OSError(f"{target.parent} leads outside {root} through a symbolic link: not written")
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".harden")
    try:
        # No fsync: the rename keeps readers and an interrupted harden from ever seeing half a
        # file (what black and ruff guarantee too); durability across power loss is not claimed.
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, stat.S_IMODE(mode) if mode is not None else 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_lockfile(run: Run, settings: Settings) -> tuple[Path, int]:
    """Write harden.lock with every digest this run resolved: at --lockfile, else where one was
    found, else in the first directory PATH (the current directory for files). (path, images)"""
    from harden import pinning
    from harden.registry import LOCKFILE_NAME, Lockfile

    path = pinning.lockfile_path(settings)
    if path is None:
        directories = [p for p in settings.search_from if p.is_dir()]
        path = (directories[0] if directories else Path.cwd()) / LOCKFILE_NAME
    lockfile = run.resolver.updated_lockfile() if run.resolver is not None else Lockfile()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lockfile.dumps().encode("utf-8"), path.stat().st_mode if path.exists() else None)
    return path, len(lockfile)


def write_in_place(source: Source, result: FileResult) -> None:
    mode = source.path.stat().st_mode
    write_atomic(source.path, encode(result, result.output), mode)


def write_copy(source: Source, result: FileResult, output_dir: Path) -> None:
    target = output_dir / source.relative
    output_dir.mkdir(parents=True, exist_ok=True)
    for parent in reversed(target.relative_to(output_dir).parents):
        directory = output_dir / parent
        if directory.is_symlink():
            raise OSError(f"{directory} is a symbolic link: not written through")
        directory.mkdir(exist_ok=True)
    write_atomic(target, encode(result, result.output), source.path.stat().st_mode, root=output_dir)
