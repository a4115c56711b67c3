"""Sinks: what a run does with each file's result, as soon as it is ready, in input order.

- `Report`: nothing is applied or written (`harden check`).
- `Preview`: fixes are applied, nothing is written; the texts are kept for the reviewed diff
  (`harden diff`).
- `InPlace`: a changed file is replaced (`harden fix`, `harden pin`).
- `Copy`: every file, changed or not, is written under a directory at its path relative to the
  PATH it was found under (`harden fix --output DIR`).
- `Stdout`: the one file read from standard input is written to standard output (`fix -`).
- `Worktree`: in place inside a clean temporary git worktree of the base branch, keeping the
  texts and findings the pull request's body is made from (`harden pr`, harden.bot; the bot
  commits the worktree and pushes that commit).

Writing follows harden.files: atomic, keeping mode, owner and group, refusing to write through a
link, over a hard-linked or read-only file, or over a file edited while harden ran. A refusal or
failure is the file's error (`path: reason: not written`); the other files are still written.

Files a fix creates (harden.model.NewFile) are written by the same sinks, beside the file (or
its copy), atomically and never over an existing file (files.create_new), before the file itself:
if the file cannot be written, the new files are removed again. A file a fix extends
(NewFile.base, a `.gitignore`) is replaced only while it holds what the pass read (or already
what the fix makes); under --output, where it is absent, it is created whole. Standard output holds one file:
a result that creates files is refused there.

Files are written only by a sink, and only when the result has no error. A sink that does not
keep texts lets the run drop them once the file is taken, so that a run over many files holds
only what its reports need. On a process pool (harden.engine.pool) each worker writes the files
it analysed with its own copy of a writing sink (`parallel`: InPlace, Copy), so that writing
uses every core too; the files that share one --output target go to one worker, in input
order, so that the first one's copy is the one written. The run still hands every result on
in input order, and reports are the same as in one process.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol

from harden import files
from harden.discover import Source, display_name, kind_of
from harden.engine.convergence import encode
from harden.engine.load import internal_error
from harden.model import Diagnostic, DiagnosticKind, FileResult


class Sink(Protocol):
    applies: bool  # whether the run applies fixes (False: `check`)
    keeps_texts: bool  # whether results keep their input and output text once taken
    keeps_findings: bool  # whether results keep `findings` and `applied` (FileResult) once taken
    parallel: bool  # whether a worker process may take results with its own copy (harden.engine.pool)

    def take(self, source: Source, result: FileResult) -> None: ...


class Report:
    applies = False
    keeps_texts = False
    keeps_findings = True
    parallel = True  # takes nothing: a worker may as well

    def take(self, source: Source, result: FileResult) -> None:
        return None


class Preview:
    applies = True
    keeps_texts = True
    keeps_findings = True
    parallel = True

    def take(self, source: Source, result: FileResult) -> None:
        return None


def slim(result: FileResult, keeps_texts: bool, keeps_findings: bool, taken: bool) -> None:
    """Drop from a result what neither the sink nor the reports need: the input text before a
    sink that keeps no texts takes it (a worker's result, about to be sent to the parent: the
    sink writes the output), both texts after; `findings` and `applied` unless kept."""
    if not keeps_texts:
        result.original = ""
        if taken:
            result.output = ""
    if not keeps_findings:
        result.findings, result.applied = [], []


def written_by_harden(name: str) -> bool:
    """Whether harden writes files of this name (whose stale temporaries it may remove)."""
    from harden.registry import LOCKFILE_NAME

    return kind_of(name) is not None or name == LOCKFILE_NAME


def write_own_file(path: Path, data: bytes, names: Callable[[str], bool] = written_by_harden) -> None:
    """Write a file harden keeps for the project (harden.lock, .harden/verified.toml) as a project
    file is replaced: atomically; an existing file's owner kept; not through a link, not over a
    hard link, not when read-only. OSError saying why. `names`: the files harden writes (whose
    stale temporaries it may remove)."""
    try:
        if os.path.lexists(path):
            files.replace(path, data, None, names)
        else:
            files.create(path, data, 0o644, names)
    except files.Refused as refused:
        raise OSError(f"{display_name(path.as_posix())} {refused}") from None


class _Writer:
    """What the writing sinks share: each directory's stale temporaries removed once per run,
    and a refusal or failure turned into the file's error. `keeps_findings` False: no report of
    the run lists the findings as first found or the applied ones (`fix` printing text)."""

    applies = True
    keeps_texts = False
    parallel = True

    def __init__(self, keeps_findings: bool = True) -> None:
        self.keeps_findings = keeps_findings
        self.cleaned: set[Path] = set()

    def clean(self, directory: Path) -> None:
        """Remove stale temporaries from `directory` the first time this run writes there."""
        if directory not in self.cleaned:
            files.clean_stale_temporaries(directory, written_by_harden)
            self.cleaned.add(directory)

    def take(self, source: Source, result: FileResult) -> None:
        if any(error.kind is not DiagnosticKind.NOTE for error in result.errors):
            return  # a file with a note (a fragment left out) is still copied, unchanged
        try:
            result.written = self.write(source, result)
            return
        except files.Refused as refused:
            error = Diagnostic(DiagnosticKind.WRITE, source.display, 0, 0, f"{refused}: not written")
        except OSError as problem:
            where = f" {display_name(os.fsdecode(problem.filename))}" if problem.filename else ""
            message = f"cannot write{where} ({problem.strerror or problem}): not written"
            error = Diagnostic(DiagnosticKind.WRITE, source.display, 0, 0, message)
        except Exception as problem:  # noqa: BLE001 - one file's bug is that file's error
            error = internal_error(source.display, problem, False, ": not written")
        result.errors.append(error)

    def write(self, source: Source, result: FileResult) -> bool:
        raise NotImplementedError

    def make_below(self, base: Path, relative: Path, private: bool = False) -> Path:
        """base/relative, made below `base` (which exists), never through a link; a directory it
        makes for a secret file (`private`) is mode 0700 (harden.model.NewFile)."""
        current = base
        for part in relative.parts:
            current = current / part
            if current.is_symlink():
                raise files.Refused(f"{display_name(current.as_posix())} {files.LINK}")
            current.mkdir(mode=0o700 if private else 0o777, exist_ok=True)
        return current

    def create(self, base: Path, result: FileResult, replace: Callable[[], None]) -> None:
        """Create the result's new files below `base`, then `replace()` the file itself; the new
        files are removed again when that (or one of them) fails."""
        made: list[Path] = []
        try:
            for new in result.new_files.values():
                target = self.make_below(base, Path(new.path).parent, private=new.secret) / Path(new.path).name
                if new.base is not None and os.path.lexists(target):
                    extend(target, new.base, new.text)
                    continue
                files.create_new(target, new.text.encode("utf-8"), new.mode)
                made.append(target)
            replace()
        except BaseException:
            for path in made:
                path.unlink(missing_ok=True)
            raise


def extend(target: Path, base: str, text: str) -> None:
    """Replace a file a fix extends (NewFile.base) with `text`, atomically, only while it holds
    `base` (or `text` already: another file of the run extended it the same way)."""
    data, snapshot = files.read_regular(target, max(len(text.encode("utf-8")), len(base.encode("utf-8"))) + 1)
    if data == text.encode("utf-8"):
        return
    if data != base.encode("utf-8"):
        raise files.Refused(f"{target.name} changed while harden ran")
    files.replace(target, text.encode("utf-8"), snapshot, written_by_harden)


class InPlace(_Writer):
    def write(self, source: Source, result: FileResult) -> bool:
        if not result.changed:
            return False
        self.clean(source.path.parent)

        def replace() -> None:
            if result.modified:
                files.replace(source.path, encode(result, result.output), source.snapshot, written_by_harden, clean=False)

        self.create(source.path.parent, result, replace)
        return True


class Worktree(InPlace):
    """In place, inside a temporary worktree harden.bot made for one pull request: every result
    keeps its texts and findings (the body's summary, commentary and digest table), and runs in
    one process (the bot's runs are one repository's files)."""

    keeps_texts = True
    parallel = False

    def __init__(self) -> None:
        super().__init__(keeps_findings=True)


class Copy(_Writer):
    """Each copy at its relative path under `directory`: never through a directory link planted
    in the output tree, never over the copy of another file written by the same run, and, when
    the target is the input file itself, with every check of an in-place write. Each output
    directory is checked and made once per run."""

    def __init__(self, directory: Path, keeps_findings: bool = True) -> None:
        super().__init__(keeps_findings)
        self.directory = directory
        self.copies: dict[str, str] = {}  # real target -> the display name of the file copied there
        self.made: dict[Path, str] = {}  # output directory -> its real path

    def write(self, source: Source, result: FileResult) -> bool:
        target = self.directory / source.relative
        real = self._directory(target.parent)
        try:
            status: os.stat_result | None = os.lstat(target)
        except FileNotFoundError:
            status = None
        key = os.path.realpath(target) if status is not None and stat.S_ISLNK(status.st_mode) else os.path.join(real, target.name)
        if key in self.copies:
            shown = display_name(target.as_posix())
            raise files.Refused(f"its copy would replace {shown}, the copy of {self.copies[key]} written by this run")
        data = encode(result, result.output)
        self.clean(target.parent)

        def replace() -> None:
            if source.snapshot is not None and status is not None and os.path.samefile(target, source.path):
                files.replace(target, data, source.snapshot, written_by_harden, clean=False)
            else:
                files.create(target, data, source.path.stat().st_mode, written_by_harden, clean=False)

        self.create(target.parent, result, replace)
        self.copies[key] = source.display
        return True

    def _directory(self, directory: Path) -> str:
        """Make `directory` (self.directory or below it) and those above it that are missing,
        refusing a link; its real path. Each is checked and made once per run (realpath only
        for self.directory: a directory made here is its parent's real path and its name)."""
        missing: list[Path] = []
        current = directory
        while current not in self.made and current != self.directory:
            missing.append(current)
            current = current.parent
        if current not in self.made:
            self._make(current)
            self.made[current] = os.path.realpath(current)
        real = self.made[current]
        for path in reversed(missing):
            self._make(path)
            real = self.made[path] = os.path.join(real, path.name)
        return real

    def _make(self, directory: Path) -> None:
        if directory.is_symlink():
            raise files.Refused(f"{display_name(directory.as_posix())} {files.LINK}")
        try:
            directory.mkdir(parents=directory == self.directory)
        except FileExistsError:
            if not directory.is_dir():
                raise
            return
        self.cleaned.add(directory)  # new: no stale temporary to remove


class Stdout:
    """The result of standard input, written to `stream` (nothing when the file has an error)."""

    applies = True
    keeps_texts = False
    keeps_findings = True
    parallel = False

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def take(self, source: Source, result: FileResult) -> None:
        if result.new_files:
            message = f"its fixes create {', '.join(result.new_files)}, which standard output cannot hold: not written"
            result.errors.append(Diagnostic(DiagnosticKind.WRITE, source.display, 0, 0, message))
        if not result.errors:
            self.stream.write(encode(result, result.output))
