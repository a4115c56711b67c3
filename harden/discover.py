"""Which paths are Dockerfiles and Compose files.

Directories are walked in sorted order (output is deterministic), `.git` is skipped and
`.gitignore` files are honoured (pathspec implements git's wildmatch rules), like ruff and
black do. Symbolic links: a directory link is never followed, and a file link whose target lies
outside the PATH argument it was found under is reported and skipped — harden may run as a bot
on repositories it does not trust. A file given explicitly is always considered, and a YAML file
given explicitly is a compose file when its top level has `services:`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pathspec

DOCKERFILE_PATTERNS = ("Dockerfile", "Dockerfile.*", "*.Dockerfile", "Containerfile", "Containerfile.*")
COMPOSE_PATTERNS = (
    "compose.yaml",
    "compose.yml",
    "compose.*.yaml",
    "compose.*.yml",
    "docker-compose*.yaml",
    "docker-compose*.yml",
)
SERVICES_KEY = re.compile(rb"^services\s*:", re.MULTILINE)


@dataclass(frozen=True)
class Source:
    path: Path  # where to read it
    display: str  # how to name it to the user and in diffs
    kind: str  # "dockerfile" or "compose"
    relative: str  # its path relative to the PATH argument it was found under (for --output)


@dataclass(frozen=True)
class Skipped:
    display: str
    message: str


def kind_of(name: str) -> str | None:
    if any(fnmatch(name, p) for p in DOCKERFILE_PATTERNS):
        if name.endswith((".j2", ".template", ".tmpl", ".in", ".md", ".orig", ".rej", ".bak", ".swp")):
            return None  # templates and editor leftovers named after Dockerfiles
        return "dockerfile"
    if any(fnmatch(name, p) for p in COMPOSE_PATTERNS):
        return "compose"
    return None


def display_path(path: Path) -> str:
    """Relative to the current directory when the file is under it, else as the user gave it."""
    if path.is_absolute():
        try:
            return path.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return path.as_posix()
    return os.path.normpath(path).replace(os.sep, "/")


def discover(arguments: list[str]) -> tuple[list[Source], list[Skipped]]:
    """Sources in argument order (each directory walked in sorted order), and what was skipped."""
    sources: list[Source] = []
    skipped: list[Skipped] = []
    seen: set[tuple[int, int]] = set()  # (device, inode): one file named twice is read once
    for argument in arguments:
        root = Path(argument)
        if root.is_symlink() and root.is_dir():
            skipped.append(Skipped(argument, "is a symbolic link to a directory: not followed"))
            continue
        if root.is_dir():
            found = _walk(root, skipped)
            if not found:
                skipped.append(Skipped(argument, "no Dockerfile or Compose file found here"))
            for source in _prefer_real_files(found):
                if _first_time(source.path, seen):
                    sources.append(source)
        elif root.exists() or root.is_symlink():
            kind = kind_of(root.name) or _explicit_kind(root)
            if kind is None:
                skipped.append(Skipped(argument, "not a Dockerfile or Compose file (a YAML file needs top-level services:)"))
                continue
            if _first_time(root, seen):
                sources.append(Source(root, display_path(root), kind, root.name))
        else:
            skipped.append(Skipped(argument, "no such file or directory"))
    return sources, skipped


def _first_time(path: Path, seen: set[tuple[int, int]]) -> bool:
    try:
        status = path.stat()
    except OSError:
        return True  # the engine reports why it cannot be read
    identity = (status.st_dev, status.st_ino)
    if identity in seen:
        return False
    seen.add(identity)
    return True


def _prefer_real_files(found: list[Source]) -> list[Source]:
    """One source per real file: a link to a file that is also found by its own name is
    dropped, so the file is read (and written) once, never through the link."""
    real = {source.path.resolve() for source in found if not source.path.is_symlink()}
    return [s for s in found if not (s.path.is_symlink() and s.path.resolve() in real)]


def _explicit_kind(path: Path) -> str | None:
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            with path.open("rb") as handle:
                head = handle.read(1024 * 1024)
        except OSError:
            return "compose"  # let the engine report why it cannot be read
        return "compose" if SERVICES_KEY.search(head) else None
    return "dockerfile"  # any other file named explicitly is taken for a Dockerfile


def _walk(root: Path, skipped: list[Skipped]) -> list[Source]:
    found: list[Source] = []
    real_root = root.resolve()
    ignores: list[tuple[Path, pathspec.GitIgnoreSpec]] = []

    def ignored(path: Path, is_dir: bool) -> bool:
        for base, spec in ignores:
            try:
                relative = path.relative_to(base).as_posix()
            except ValueError:
                continue
            if spec.match_file(relative + ("/" if is_dir else "")):
                return True
        return False

    def visit(directory: Path) -> None:
        gitignore = directory / ".gitignore"
        if gitignore.is_file() and not gitignore.is_symlink():
            import pathspec

            lines = gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
            ignores.append((directory, pathspec.GitIgnoreSpec.from_lines(lines)))
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as error:
            skipped.append(Skipped(display_path(directory), f"cannot read directory: {error.strerror}"))
            return
        for entry in entries:
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                if entry.name != ".git" and not ignored(path, True):
                    visit(path)
                continue
            if entry.is_symlink() and entry.is_dir():
                continue  # a link to a directory: never followed
            kind = kind_of(entry.name)
            if kind is None or ignored(path, False):
                continue
            if entry.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(real_root):
                    skipped.append(Skipped(display_path(path), f"is a symbolic link to {target}, outside {root}: skipped"))
                    continue
            found.append(Source(path, display_path(path), kind, path.relative_to(root).as_posix()))

    visit(root)
    return found
