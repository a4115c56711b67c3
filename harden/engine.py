"""The pipeline, and the only module that reads or writes project files.

    paths -> discover -> read + decode -> parse -> passes -> findings (with fixes)
          -> choose fixes -> apply edits -> re-parse + validate + semantic guard -> write | diff

`check`, `diff` and `fix` differ only in what they do with a FileResult. Choosing fixes and
applying them repeats until no pass proposes another (as ruff's fixer does), and a pass that
keeps proposing fixes is an error that names it. An output is never written unless it re-parses,
passes its document kind's validation, and changes the parsed document only under the paths the
applied fixes claim (deepdiff, see diff.semantic_changes). A refusal names the rule whose edits
are nearest the first unclaimed change, and that change's line in the output.

One file's problem is that file's error, never the run's: bad input, a refused output and even
a bug met while handling one file (reported as `path: internal error: ...`, with its traceback
under --debug) end only that file; every other file is still processed and written. Files are
read and written through harden.files (regular files only, never blocking; atomic replacement
that keeps the owner and refuses what would lose data).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import os
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from harden import files, passes, project
from harden.config import MAX_ROUNDS, Settings
from harden.discover import SERVICES_KEY, Skipped, Source, discover, display_name, kind_of
from harden.model import (
    Applicability,
    Claim,
    Diagnostic,
    DiagnosticKind,
    DocumentError,
    Edit,
    FileResult,
    Finding,
    Unfixable,
    apply_edits,
)
from harden.trace import Trace, line_start

BOM = "\ufeff"
DOCUMENT_MODULES = {"dockerfile": "harden.dockerfile", "compose": "harden.compose"}


class InputError(Exception):
    """A file harden refuses to read; the message is what the user sees after `path:line:`."""

    def __init__(self, line: int, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.line, self.message, self.column = line, message, column


class NotWritten(Exception):
    """A file `write` refused or failed to write; `diagnostic` says why (`path: reason: not written`)."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


@dataclass
class Run:
    """What one command did: every file's result, what discovery skipped, the resolver used,
    and the image references it could not resolve (one Failure per reference, however many
    files name it: the CLI says why once for each)."""

    processed: list[tuple[Source, FileResult]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    resolver: Any = None  # harden.registry.Resolver, when any image reference was resolved
    unresolved: list[Any] = field(default_factory=list)  # harden.registry.Failure
    copies: dict[Path, str] = field(default_factory=dict)  # --output targets written: whose copy each is

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


def read_source(path: Path, limit: int) -> tuple[bytes, files.Snapshot]:
    """A file's bytes and what was read (for the check before it is replaced); InputError for
    anything but a regular file within the size limit."""
    try:
        return files.read_regular(path, limit)
    except files.NotRegular as refused:
        raise InputError(0, f"{refused}: skipped") from None
    except files.Refused as refused:
        raise InputError(1, str(refused)) from None
    except OSError as error:
        raise InputError(1, f"cannot read: {error.strerror or error}") from None


def internal_error(display: str, error: Exception, debug: bool, suffix: str = "") -> Diagnostic:
    """A bug met while handling one file, as that file's error (its traceback under --debug)."""
    message = f"internal error: {type(error).__name__}: {error}"
    if debug:
        message += "\n" + "".join(traceback.format_exception(error)).rstrip("\n")
    else:
        message += " (run with --debug for details)"
    return Diagnostic(DiagnosticKind.INTERNAL, display, 0, 0, message + suffix)


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
        result.errors.append(Diagnostic(DiagnosticKind.INPUT, display, error.line, error.column, error.message))
        return Loaded(result)
    return Loaded(result, document)


def harden_text(display: str, kind: str, raw: bytes, settings: Settings, apply: bool, run: Run | None = None) -> FileResult:
    """Everything for one file given as bytes: parse, resolve, run passes, fix and validate
    (what the resolution could not do is recorded in `run`, when given)."""
    loaded = _guarded_load(FileResult(path=display, kind=kind), raw, settings)
    return analyse(loaded, settings, apply, make_context([loaded], settings, run))


def _guarded_load(placeholder: FileResult, raw: bytes, settings: Settings) -> Loaded:
    """load(), with a bug met while parsing turned into the file's error (in `placeholder`)."""
    try:
        return load(placeholder.path, placeholder.kind, raw)
    except Exception as error:  # noqa: BLE001 - one file's bug is that file's error
        placeholder.errors.append(internal_error(placeholder.path, error, settings.debug))
        return Loaded(placeholder)


def analyse(loaded: Loaded, settings: Settings, apply: bool, context: passes.Context) -> FileResult:
    """Run the passes on a loaded file and (if `apply`) fix, validate and check the output's size.
    A refusal or a bug leaves the file unchanged with one error line."""
    result, document = loaded.result, loaded.document
    if document is None:
        return result
    # A document that is not `fixable` (compose: it fails the Compose Specification schema, see
    # harden.compose) is reported, as `check` would report it, and never fixed.
    fixable = getattr(document, "fixable", True)
    try:
        module = document_module(result.kind)
        selected = passes.passes_for(result.kind, settings)
        result.findings = result.remaining = _run_passes(selected, document, context, result.path)
        if apply and fixable:
            _fix(result, module, document, selected, context)
            _check_size(result, settings.max_file_size)
    except _Refused as refused:
        message = f"{refused.message}; nothing written"
        _unchanged(result, Diagnostic(DiagnosticKind.REFUSED, result.path, refused.line, 0, message))
    except Exception as error:  # noqa: BLE001 - one file's bug is that file's error
        _unchanged(result, internal_error(result.path, error, settings.debug))
    for finding in (*result.findings, *result.applied, *result.remaining):
        if finding.fix is not None:
            finding.fix.release()  # the builders hold the parsed documents
    return result


def _unchanged(result: FileResult, error: Diagnostic) -> None:
    result.output = result.original
    result.modified = False
    result.applied = []
    result.remaining = result.findings
    result.summary = []
    result.errors.append(error)


def _check_size(result: FileResult, limit: int) -> None:
    """The size limit applies to what harden writes as well as to what it reads, so that a file
    never grows, through harden's own edits, beyond what harden will read again."""
    size = len(encode(result, result.output))
    if result.output != result.original and size > limit:
        raise _Refused(
            1,
            f"the hardened file would be {size} bytes, over the {limit}-byte limit (--max-file-size); "
            f"run with --max-file-size {size} or more to write it",
        )


def make_context(loaded: list[Loaded], settings: Settings, run: Run | None = None) -> passes.Context:
    """The read-only context of a run: settings, and the digests of every image reference that
    the enabled passes ask for, resolved once for all files together."""
    references: list[str] = []
    for item in loaded:
        if item.document is None:
            continue
        try:
            for module in passes.passes_for(item.result.kind, settings):
                collect = getattr(module, "references", None)
                if collect is not None:
                    references.extend(collect(item.document, settings))
        except Exception as error:  # noqa: BLE001 - one file's bug is that file's error
            item.result.errors.append(internal_error(item.result.path, error, settings.debug))
            item.document = None
    digests: dict[str, Any] = {}
    locked: dict[str, Any] = {}
    if references:
        from harden import pinning

        resolver = pinning.open_resolver(settings)
        with resolver:
            digests = dict(resolver.resolve_many(references))
        if run is not None:
            run.resolver = resolver
            run.unresolved = pinning.unresolved(digests)
        locked = pinning.locked_entries(resolver, references)
    chooses = functools.partial(_settings_choose, settings)
    return passes.Context(settings=settings, chooses=chooses, digests=digests, locked=locked)


def _settings_choose(settings: Settings, finding: Finding) -> bool:
    return settings.rule_enabled(finding.rule.id) and settings.applies(finding.applicability)


class _Refused(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


def _run_passes(selected: list[ModuleType], document: Any, context: passes.Context, path: str) -> list[Finding]:
    """Every selected pass's findings, each given the file's path (part of its id)."""
    findings: list[Finding] = []
    for module in selected:
        findings.extend(dataclasses.replace(finding, path=path) for finding in module.check(document, context))
    return findings


def _fix(
    result: FileResult,
    module: ModuleType,
    document: Any,
    selected: list[ModuleType],
    context: passes.Context,
) -> None:
    from harden import diff  # deepdiff: only needed once something is applied

    findings = result.findings
    current = document
    trace = Trace()
    applied: set[str] = set()
    for applied_rounds in range(MAX_ROUNDS + 1):
        chosen, findings = choose(findings, context.chooses, applied)
        if applied_rounds == 0:
            result.findings = findings  # a fix that could not be built is reported as its pass says
        if not chosen:
            break
        if applied_rounds == MAX_ROUNDS:
            rules = ", ".join(sorted({f.rule.id for f in chosen}))
            raise _Refused(chosen[0].line, f"{rules} kept proposing fixes after {MAX_ROUNDS} rounds (a harden bug)")
        text = apply_edits(current.text, trace.add_round(chosen, current.newline), current.newline)
        try:
            current = module.parse(result.path, text)
        except DocumentError as error:
            line = min(error.line, text.count("\n") + 1)
            rule = trace.nearest(line_start(text, line))
            raise _Refused(line, f"the fix of {rule} produced output that does not parse ({error.message})") from None
        result.applied.extend(chosen)
        applied.update(f.id for f in chosen)
        findings = _run_passes(selected, current, context, result.path)
    result.remaining = findings
    if not result.applied:
        return
    problems = module.validate_output(document, current)
    if problems:
        rules = ", ".join(sorted({f.rule.id for f in result.applied}))
        raise _Refused(current.line_of(trace.first()) + 1, f"output of {rules} failed validation: {problems[0]}")
    changes = diff.semantic_changes(document.semantic(), current.semantic())
    claims = [claim for f in result.applied if f.fix is not None for claim in f.fix.all_claims()]
    for change in changes:
        if not any(_claimed(change.path, claim) for claim in claims):
            offset = trace.locate(document, current, change.kind, change.path)
            message = f"the fix of {trace.nearest(offset)} changed {change.describe()}, which no fix claims"
            raise _Refused(current.line_of(offset) + 1, message)
    result.output = current.text
    result.modified = result.output != result.original
    result.summary = [change.describe() for change in changes]


def _claimed(path: Claim, claim: Claim) -> bool:
    return tuple(path[: len(claim)]) == tuple(claim)


def choose(
    findings: Iterable[Finding], chooses: Callable[[Finding], bool], applied: set[str]
) -> tuple[list[Finding], list[Finding]]:
    """(the fixes to apply this round, the findings as reported).

    A fix is applied when the selector chooses it, it is not `display`, it does not overlap an
    earlier one of the round (it is applied in a later round, on the new text), and every finding
    it requires is applied too (in this round or before). Its edits are built here: one that
    cannot be built is not applied, and its finding is reported as its pass says instead.
    """
    chosen: list[Finding] = []
    reported: list[Finding] = []
    taken: list[Edit] = []
    for finding in findings:
        fix = finding.fix
        if fix is None or fix.applicability is Applicability.DISPLAY or not chooses(finding):
            reported.append(finding)
            continue
        try:
            edits = fix.edits()
        except Unfixable as unfixable:
            reported.extend(dataclasses.replace(f, path=finding.path) for f in unfixable.findings)
            continue
        reported.append(finding)
        if not edits or any(a.overlaps(b) for a in edits for b in taken):
            continue
        chosen.append(finding)
        taken.extend(edits)
    return _with_requirements(chosen, applied), reported


def _with_requirements(chosen: list[Finding], applied: set[str]) -> list[Finding]:
    """The chosen fixes less those waiting for a fix that is neither applied nor chosen."""
    while True:
        ready = applied | {f.id for f in chosen}
        kept = [f for f in chosen if f.fix is not None and all(r in ready for r in f.fix.requires)]
        if len(kept) == len(chosen):
            return kept
        chosen = kept


# --- files ------------------------------------------------------------------------------


def process(arguments: list[str], settings: Settings, apply: bool) -> Run:
    """Discover, read, parse and analyse every file; one file's problem is its own error."""
    sources, skipped = discover(arguments)
    run = Run(skipped=skipped)
    loaded: list[Loaded] = []
    for index, source in enumerate(sources):
        placeholder = FileResult(path=source.display, kind=source.kind)
        try:
            raw, snapshot = read_source(source.path, settings.max_file_size)
        except InputError as error:
            placeholder.errors.append(Diagnostic(DiagnosticKind.INPUT, source.display, error.line, 0, error.message))
            loaded.append(Loaded(placeholder))
            continue
        except Exception as error:  # noqa: BLE001 - one file's bug is that file's error
            placeholder.errors.append(internal_error(source.display, error, settings.debug))
            loaded.append(Loaded(placeholder))
            continue
        sources[index] = dataclasses.replace(source, snapshot=snapshot)
        loaded.append(_guarded_load(placeholder, raw, settings))
    context = make_context(loaded, settings, run)
    # compose.yaml and compose.override.yaml beside it are one project (harden/project.py)
    paths = [s.path if s.kind == "compose" else None for s in sources]
    projects = project.related(paths, [item.document for item in loaded], settings.compose_files)
    for source, item, documents in zip(sources, loaded, projects, strict=True):
        file_context = dataclasses.replace(context, related=documents) if documents else context
        run.processed.append((source, analyse(item, settings, apply, file_context)))
    return run


def encode(result: FileResult, text: str) -> bytes:
    return ((BOM if result.bom else "") + text).encode("utf-8")


def write(run: Run, source: Source, result: FileResult, output_dir: Path | None) -> bool:
    """Write one file's result: in place when it changed, or its copy under `output_dir`.

    Returns whether anything was written. A refusal or failure adds `path: reason: not written`
    to the file's errors and raises NotWritten with that line; the other files go on.
    """
    try:
        if output_dir is not None:
            _write_copy(run, source, result, output_dir)
        elif result.changed:
            files.replace(source.path, encode(result, result.output), source.snapshot, _written_by_harden)
        else:
            return False
        return True
    except files.Refused as refused:
        error = Diagnostic(DiagnosticKind.WRITE, source.display, 0, 0, f"{refused}: not written")
    except OSError as problem:
        where = f" {display_name(os.fsdecode(problem.filename))}" if problem.filename else ""
        message = f"cannot write{where} ({problem.strerror or problem}): not written"
        error = Diagnostic(DiagnosticKind.WRITE, source.display, 0, 0, message)
    except Exception as problem:  # noqa: BLE001 - one file's bug is that file's error
        error = internal_error(source.display, problem, False, ": not written")
    result.errors.append(error)
    raise NotWritten(error)


def _write_copy(run: Run, source: Source, result: FileResult, output_dir: Path) -> None:
    """Write a file's result under `output_dir` at its relative path: never through a directory
    link planted in the output tree, never over the copy of another file written in this run,
    and, when the target is the input file itself, with every check of an in-place write."""
    target = output_dir / source.relative
    output_dir.mkdir(parents=True, exist_ok=True)
    for parent in reversed(target.relative_to(output_dir).parents):
        directory = output_dir / parent
        if directory.is_symlink():
            raise files.Refused(f"{display_name(directory.as_posix())} {files.LINK}")
        directory.mkdir(exist_ok=True)
    key = Path(os.path.realpath(target))
    if key in run.copies:
        shown = display_name(target.as_posix())
        raise files.Refused(f"its copy would replace {shown}, the copy of {run.copies[key]} written by this run")
    data = encode(result, result.output)
    status = source.path.stat()
    if source.snapshot is not None and os.path.lexists(target) and os.path.samefile(target, source.path):
        files.replace(target, data, source.snapshot, _written_by_harden)
    else:
        files.create(target, data, status.st_mode, _written_by_harden)
    run.copies[key] = source.display


def _written_by_harden(name: str) -> bool:
    """Whether harden writes files of this name (whose stale temporaries it may remove)."""
    from harden.registry import LOCKFILE_NAME

    return kind_of(name) is not None or name == LOCKFILE_NAME


def write_lockfile(run: Run, settings: Settings) -> tuple[Path, int]:
    """Write harden.lock with every digest this run resolved: at --lockfile, else where one was
    found, else in the first directory PATH (the current directory for files). (path, images)
    An existing lockfile is replaced as a project file is (owner kept; not through a link, not
    over a hard link, not when read-only): OSError saying why."""
    from harden import pinning
    from harden.registry import LOCKFILE_NAME, Lockfile

    path = pinning.lockfile_path(settings)
    if path is None:
        directories = [p for p in settings.search_from if p.is_dir()]
        path = (directories[0] if directories else Path.cwd()) / LOCKFILE_NAME
    lockfile = run.resolver.updated_lockfile() if run.resolver is not None else Lockfile()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = lockfile.dumps().encode("utf-8")
    try:
        if os.path.lexists(path):
            files.replace(path, data, None, _written_by_harden)
        else:
            files.create(path, data, 0o644, _written_by_harden)
    except files.Refused as refused:
        raise OSError(f"{display_name(path.as_posix())} {refused}") from None
    return path, len(lockfile)
