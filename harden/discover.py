"""Which paths are Dockerfiles and Compose files.

Directories are walked in sorted order (output is deterministic), `.git` is skipped and
`.gitignore` files are honoured (pathspec implements git's wildmatch rules), like ruff and
black do. Symbolic links: a directory link is never followed, and a file link whose target lies
outside the PATH argument it was found under is reported and skipped — harden may run as a bot
on repositories it does not trust. A file given explicitly is always considered, and a YAML file
given explicitly is a compose file when its top level has `services:`.

`docker compose -f` accepts a Compose file under any name. When a walk finds a `*.yml` or
`*.yaml` file with a top-level `services:` in a directory where no file has a Compose file's
name, it is not hardened (it may be a CI or tool configuration), but reported as a note (not an
error: the exit status is unchanged) that names the `-f` that would include it.

Hostile trees: one entry's problem is reported for that entry and the walk goes on. A link
that cannot be followed (a loop, a dangling link), a FIFO, socket or device with a Dockerfile's
name, and a directory that cannot be read are each reported (`path: message`, exit 2) and
skipped. The walk is iterative, so any depth works. A `.gitignore` harden cannot honour (not a
regular file, unreadable, or over GITIGNORE_LIMIT bytes) is reported and its directory is
skipped: harden cannot tell which of the files below it the repository ignores.

Names are displayed (`display_name`) with git's C-quoting, as `git diff` shows them with
core.quotePath off: a name with a control character, a Unicode format or line-separator
character, a double quote, a backslash or bytes that are not UTF-8 is shown in double quotes
with C escapes (`"Dockerfile.\\033[31m"`, `"a\\nb"`, `"\\377"`); any other name as it is. So a
file name cannot write terminal escapes or break `path:line:` parsing, and `git apply` reads
the quoted names in harden's diffs back to the real ones.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING

from harden import files

if TYPE_CHECKING:
    import pathspec

# The names people give Dockerfiles (`docker build -f` takes any): Dockerfile, Dockerfile.dev,
# Dockerfile-dev, api.Dockerfile, api.dockerfile, a lower-case dockerfile, and Podman's Containerfile.
DOCKERFILE_PATTERNS = (
    "Dockerfile",
    "dockerfile",
    "Dockerfile.*",
    "Dockerfile-*",
    "*.Dockerfile",
    "*.dockerfile",
    "Containerfile",
    "Containerfile.*",
    "Containerfile-*",
)
# Not Dockerfiles, though named after them: templates, editor leftovers, and BuildKit's
# per-Dockerfile ignore file (Dockerfile.dockerignore, api.Dockerfile.dockerignore).
NOT_DOCKERFILE_SUFFIXES = (".j2", ".template", ".tmpl", ".in", ".md", ".orig", ".rej", ".bak", ".swp", ".dockerignore")
COMPOSE_PATTERNS = (
    "compose.yaml",
    "compose.yml",
    "compose.*.yaml",
    "compose.*.yml",
    "docker-compose*.yaml",
    "docker-compose*.yml",
)
SERVICES_KEY = re.compile(rb"^services\s*:", re.MULTILINE)
GITIGNORE_LIMIT = 256 * 1024  # far above real .gitignore files; pathspec's cost grows with each pattern
_C_ESCAPES = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


@dataclass(frozen=True)
class Source:
    path: Path  # where to read it
    display: str  # how to name it to the user and in diffs (display_name)
    kind: str  # "dockerfile" or "compose"
    relative: str  # its path relative to the PATH argument it was found under (for --output)
    snapshot: files.Snapshot | None = None  # what the engine read (set by the engine)


@dataclass(frozen=True)
class Skipped:
    display: str
    message: str
    note: bool = False  # found and left out, not an error (DiagnosticKind.NOTE)


def kind_of(name: str) -> str | None:
    if any(fnmatch(name, p) for p in DOCKERFILE_PATTERNS):
        if name.endswith(NOT_DOCKERFILE_SUFFIXES):
            return None
        return "dockerfile"
    if any(fnmatch(name, p) for p in COMPOSE_PATTERNS):
        return "compose"
    return None


def display_name(name: str) -> str:
    """A name as harden prints it: git's C-quoting when it needs any (see the module docstring)."""
    if name.isascii() and name.isprintable() and '"' not in name and "\\" not in name:
        return name  # the usual name: nothing to quote (printable ASCII has no Cc, Cf, Zl or Zp character)
    quoted: list[str] = []
    escaped = False
    for char in name:
        if char in _C_ESCAPES:
            quoted.append(_C_ESCAPES[char])
        elif 0xDC80 <= ord(char) <= 0xDCFF:  # a byte that is not UTF-8 (os.fsdecode's surrogateescape)
            quoted.append(f"\\{ord(char) - 0xDC00:03o}")
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            quoted.append("".join(f"\\{byte:03o}" for byte in char.encode("utf-8", "surrogatepass")))
        else:
            quoted.append(char)
            continue
        escaped = True
    return f'"{"".join(quoted)}"' if escaped else name


def display_path(path: Path) -> str:
    """Relative to the current directory when the file is under it, else as the user gave it."""
    if path.is_absolute():
        try:
            return display_name(path.relative_to(Path.cwd()).as_posix())
        except (ValueError, OSError):  # not under it, or the current directory was removed
            return display_name(path.as_posix())
    return display_name(os.path.normpath(path).replace(os.sep, "/"))


def discover(arguments: list[str], exclude: Callable[[Path, bool], bool] | None = None) -> tuple[list[Source], list[Skipped]]:
    """Sources in argument order (each directory walked in sorted order), and what was skipped;
    `exclude(path, is_dir)` leaves files and directories out of a walk, as a .gitignore does
    (the configuration's `exclude`, harden.configuration.patterns)."""
    sources: list[Source] = []
    skipped: list[Skipped] = []
    seen: set[tuple[int, int]] = set()  # (device, inode): one file named twice is read once
    for argument in arguments:
        root = Path(argument)
        shown = display_name(argument)
        status, problem = _status(root)
        if root.is_symlink() and status is not None and stat.S_ISDIR(status.st_mode):
            skipped.append(Skipped(shown, "is a symbolic link to a directory: not followed"))
        elif status is not None and stat.S_ISDIR(status.st_mode):
            found = _Walk(root, skipped, exclude).run()
            if not found:
                skipped.append(Skipped(shown, "no Dockerfile or Compose file found here"))
            for source in _prefer_real_files(found):
                if _first_time(source.path, seen):
                    sources.append(source)
        elif status is not None and not stat.S_ISREG(status.st_mode):
            skipped.append(Skipped(shown, f"{files.not_regular(status.st_mode)}: skipped"))
        elif status is not None or root.is_symlink():  # a link that cannot be followed: the engine says why
            kind = kind_of(root.name) or _explicit_kind(root)
            if kind is None:
                skipped.append(Skipped(shown, "not a Dockerfile or Compose file (a YAML file needs top-level services:)"))
                continue
            if _first_time(root, seen):
                sources.append(Source(root, display_path(root), kind, root.name))
        else:
            skipped.append(Skipped(shown, problem))
    return sources, skipped


def _status(path: Path) -> tuple[os.stat_result | None, str]:
    """The status of what a path names, links followed; else None and why there is none."""
    try:
        return path.stat(), ""
    except FileNotFoundError:
        return None, "no such file or directory"
    except OSError as error:
        return None, f"cannot read: {error.strerror or error}"


def _first_time(path: Path, seen: set[tuple[int, int]]) -> bool:
    status, _ = _status(path)
    if status is None:
        return True  # the engine reports why it cannot be read
    identity = (status.st_dev, status.st_ino)
    if identity in seen:
        return False
    seen.add(identity)
    return True


def _prefer_real_files(found: list[Source]) -> list[Source]:
    """One source per real file: a link to a file that is also found by its own name is
    dropped, so the file is read (and written) once, never through the link."""
    links = {id(s) for s in found if s.path.is_symlink()}
    if not links:  # the usual tree: no realpath (a system call per path component) for each file
        return found
    real = {os.path.realpath(source.path) for source in found if id(source) not in links}
    return [s for s in found if not (id(s) in links and os.path.realpath(s.path) in real)]


def _explicit_kind(path: Path, unreadable: str | None = "compose") -> str | None:
    """A file named explicitly: a YAML file is a Compose file when its top level has `services:`
    (`unreadable`: what one that cannot be read is taken for), any other file a Dockerfile."""
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            with files.open_regular(path) as (fd, _):
                head = files.read_bounded(fd, 1024 * 1024)
        except (OSError, files.Refused):
            return unreadable  # by default, the engine reports why it cannot be read
        return "compose" if SERVICES_KEY.search(head) else None
    return "dockerfile"  # any other file named explicitly is taken for a Dockerfile


class _Walk:
    """One directory argument's walk: depth first, sorted, without recursion."""

    def __init__(self, root: Path, skipped: list[Skipped], exclude: Callable[[Path, bool], bool] | None = None) -> None:
        self.root = root
        self.exclude = exclude
        self.real_root = Path(os.path.realpath(root))
        self.skipped = skipped
        self.found: list[Source] = []
        self.ignores: list[tuple[Path, pathspec.GitIgnoreSpec | None]] = []  # one per open directory
        self.yaml: list[list[Path]] = []  # per open directory: its YAML files without a Compose file's name
        self.composed: list[bool] = []  # per open directory: whether a file has a Compose file's name

    def run(self) -> list[Source]:
        stack: list[Iterator[os.DirEntry[str]]] = []
        entries = self.enter(self.root)
        if entries is not None:
            stack.append(entries)
        while stack:
            entry = next(stack[-1], None)
            if entry is None:
                stack.pop()
                self.ignores.pop()
                self.leave()
                continue
            path = Path(entry.path)
            if _is_directory(entry):
                if entry.name != ".git" and not self.ignored(path, True):
                    entries = self.enter(path)
                    if entries is not None:
                        stack.append(entries)
                continue
            kind = kind_of(entry.name)
            if kind is not None and not self.ignored(path, False):
                self.composed[-1] = self.composed[-1] or kind == "compose"
                self.consider(entry, path, kind)
            elif (
                kind is None
                and entry.name.endswith((".yml", ".yaml"))
                and not entry.is_symlink()
                and not self.ignored(path, False)
            ):
                self.yaml[-1].append(path)
        return self.found

    def leave(self) -> None:
        """At the end of a directory: its YAML files with top-level `services:` (module docstring)."""
        candidates, composed = self.yaml.pop(), self.composed.pop()
        if composed:
            return
        for path in candidates:
            if _explicit_kind(path, unreadable=None) == "compose":
                shown = display_path(path)
                message = f"has top-level services: but not a Compose file's name: not hardened (harden -f {shown} includes it)"
                self.skipped.append(Skipped(shown, message, note=True))

    def enter(self, directory: Path) -> Iterator[os.DirEntry[str]] | None:
        """The directory's entries in sorted order, its .gitignore read; None to skip it."""
        try:
            spec = self.gitignore(directory)
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except _Unreadable as problem:
            self.skipped.append(Skipped(display_path(directory), str(problem)))
            return None
        except OSError as error:
            self.skipped.append(Skipped(display_path(directory), f"cannot read directory: {error.strerror or error}"))
            return None
        self.ignores.append((directory, spec))
        self.yaml.append([])
        self.composed.append(False)
        return iter(entries)

    def gitignore(self, directory: Path) -> pathspec.GitIgnoreSpec | None:
        path = directory / ".gitignore"
        if not os.path.lexists(path) or path.is_symlink():
            return None  # like git, a .gitignore that is a symbolic link is not read
        try:
            data, _ = files.read_regular(path, GITIGNORE_LIMIT)
        except (OSError, files.Refused) as error:
            why = error.strerror if isinstance(error, OSError) else str(error)
            raise _Unreadable(f"cannot honour its .gitignore ({why}): the files in it are skipped") from None
        return _gitignore_spec(data.decode("utf-8", errors="replace").splitlines())

    def ignored(self, path: Path, is_dir: bool) -> bool:
        if self.exclude is not None and self.exclude(path, is_dir):
            return True
        for base, spec in self.ignores:
            if spec is not None and spec.match_file(path.relative_to(base).as_posix() + ("/" if is_dir else "")):
                return True
        return False

    def consider(self, entry: os.DirEntry[str], path: Path, kind: str) -> None:
        """Add a file with a Dockerfile's or Compose file's name, or say why it is skipped."""
        shown = display_path(path)
        status, problem = _status(path)
        if entry.is_symlink():
            if status is not None and stat.S_ISDIR(status.st_mode):
                return  # a link to a directory: never followed
            target = Path(os.path.realpath(path))
            if not target.is_relative_to(self.real_root):
                where = f"{display_name(target.as_posix())}, outside {display_name(self.root.as_posix())}"
                self.skipped.append(Skipped(shown, f"is a symbolic link to {where}: skipped"))
                return
        if status is None:
            self.skipped.append(Skipped(shown, f"{problem}: skipped"))
            return
        if not stat.S_ISREG(status.st_mode):
            self.skipped.append(Skipped(shown, f"{files.not_regular(status.st_mode)}: skipped"))
            return
        self.found.append(Source(path, shown, kind, path.relative_to(self.root).as_posix()))


def _gitignore_spec(lines: list[str]) -> pathspec.GitIgnoreSpec:
    """The patterns of a .gitignore; like git, harden skips a pattern it cannot compile (`!`
    alone, a trailing backslash, a range such as `[z-a]`) instead of failing on it."""
    import pathspec

    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except (ValueError, re.error):
        valid = []
        for line in lines:
            try:
                pathspec.GitIgnoreSpec.from_lines([line])
            except (ValueError, re.error):
                continue
            valid.append(line)
        return pathspec.GitIgnoreSpec.from_lines(valid)


class _Unreadable(Exception):
    """A directory whose .gitignore cannot be honoured."""


def _is_directory(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False  # gone since it was listed
