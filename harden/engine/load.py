"""Loading: which inputs a run has, and each one read, decoded and parsed.

An input is a discovered file, standard input (`-`, read once, at most --max-file-size + 1
bytes), or bytes a caller already holds (`run_text`). Every problem is the file's own error
(a Diagnostic), never the run's: a file that cannot be read, is not UTF-8 text, or does not
parse is reported and the other files go on. Files are read through harden.files: regular
files only, never blocking, bounded by the size limit.
"""

from __future__ import annotations

import dataclasses
import importlib
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO, Protocol

from harden import files
from harden.config import Settings
from harden.discover import SERVICES_KEY, Source, discover, display_name, kind_of
from harden.model import Diagnostic, DiagnosticKind, DocumentError, FileResult

BOM = "\ufeff"
DOCUMENT_MODULES = {"dockerfile": "harden.dockerfile", "compose": "harden.compose"}


class InputError(Exception):
    """A file harden refuses to read; the message is what the user sees after `path:line:`."""

    def __init__(self, line: int, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.line, self.message, self.column = line, message, column


class Document(Protocol):
    """What the engine reads of a parsed document of either kind (harden.dockerfile, harden.compose)."""

    path: str
    text: str
    newline: str

    def semantic(self) -> Any: ...

    def line_of(self, offset: int) -> int: ...


class PinningError(Exception):
    """A lockfile harden cannot read (harden.engine.pinning): a usage or input error (exit 2);
    `diagnostic` says why. Defined here, with the other input errors, so that catching it does
    not import the registry client."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.diagnostic = Diagnostic(DiagnosticKind.INPUT, path, 1, 0, f"cannot read lockfile: {message}")


@dataclass(frozen=True)
class Input:
    """One file of the run: where it is and how it is shown (`source`), and its bytes when the
    caller holds them (standard input); None: the engine reads the file."""

    source: Source
    raw: bytes | None = None


@dataclass
class Loaded:
    """A file read and parsed (document None when it could not be: see result.errors)."""

    source: Source
    result: FileResult
    document: Document | None = None


def document_module(kind: str) -> ModuleType:
    return importlib.import_module(DOCUMENT_MODULES[kind])


def inputs(paths: list[str], settings: Settings, stdin: BinaryIO | None) -> tuple[list[Input], list[Diagnostic]]:
    """The run's inputs and what discovery skipped: standard input alone for `-`, else every
    Dockerfile and Compose file the paths name (harden.discover)."""
    if paths == ["-"]:
        if stdin is None:
            raise ValueError("`-` needs standard input")
        return [stdin_input(settings, stdin)], []
    from harden.configuration import patterns

    sources, skipped = discover(paths, patterns.excluder(settings))
    kinds = {False: DiagnosticKind.SKIPPED, True: DiagnosticKind.NOTE}
    return [Input(s) for s in sources], [Diagnostic(kinds[s.note], s.display, 0, 0, s.message) for s in skipped]


def stdin_input(settings: Settings, stream: BinaryIO) -> Input:
    """Standard input, named by --stdin-filename (which also says its kind); without one, YAML
    with a top-level `services:` is a Compose file and anything else a Dockerfile."""
    raw = stream.read(settings.max_file_size + 1)
    given = settings.stdin_filename
    name = display_name(given) if given else "-"
    kind = kind_of(Path(given).name) if given else None
    if kind is None:
        kind = "compose" if looks_like_compose(raw) else "dockerfile"
    return Input(Source(Path(name), name, kind, name), raw)


def looks_like_compose(raw: bytes) -> bool:
    return bool(SERVICES_KEY.search(raw))


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


def load(display: str, kind: str, raw: bytes) -> tuple[FileResult, Document | None]:
    """Decode and parse bytes: (the result so far, the document or None; see result.errors)."""
    result = FileResult(path=display, kind=kind)
    try:
        text, result.bom = decode(raw)
        result.original = result.output = text
        document: Document = document_module(kind).parse(display, text)
    except (InputError, DocumentError) as error:
        result.errors.append(Diagnostic(DiagnosticKind.INPUT, display, error.line, error.column, error.message))
        return result, None
    return result, document


def read(item: Input, settings: Settings) -> Loaded:
    """Read (unless given), decode and parse one input; every problem is the file's error."""
    source = item.source
    try:
        if item.raw is not None:
            raw = item.raw
            if len(raw) > settings.max_file_size:
                raise InputError(1, f"input is over the {settings.max_file_size}-byte limit (--max-file-size)")
        else:
            raw, snapshot = read_source(source.path, settings.max_file_size)
            source = dataclasses.replace(source, snapshot=snapshot)
        result, document = load(source.display, source.kind, raw)
    except InputError as error:
        return Loaded(source, _failed(source, Diagnostic(DiagnosticKind.INPUT, source.display, error.line, 0, error.message)))
    except Exception as error:  # noqa: BLE001 - one file's bug is that file's error
        return Loaded(source, _failed(source, internal_error(source.display, error, settings.debug)))
    return Loaded(source, result, document)


def _failed(source: Source, error: Diagnostic) -> FileResult:
    return FileResult(path=source.display, kind=source.kind, errors=[error])
