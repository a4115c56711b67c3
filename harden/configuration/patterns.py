"""`exclude` and `per-file-ignores` patterns: which files they match.

Patterns are gitignore patterns (pathspec, the library that reads `.gitignore` for the walk),
relative to the configuration file's directory (Settings.config_root), as ruff's are relative
to its configuration: `legacy/` matches that directory and everything in it, `*.prod.yaml`
matches at any depth, `/compose.yaml` only beside the configuration file. A file outside that
directory matches no pattern.

`exclude` leaves files out of a directory walk, as a `.gitignore` does: a file named as a PATH is
still read (ruff does the same without `--force-exclude`). `per-file-ignores` turns rules off for
the files it matches: their findings are not reported and their fixes not applied, as if
`--ignore` had been given for those files alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

from harden.config import Settings


@cache
def _spec(patterns: tuple[str, ...]) -> object:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(patterns)


def _relative(root: Path, path: Path) -> str | None:
    """`path` relative to `root` in POSIX form, or None when it is not under it."""
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    return relative.replace(os.sep, "/")


def _matches(patterns: tuple[str, ...], root: Path, path: Path, is_dir: bool = False) -> bool:
    relative = _relative(root, path)
    if relative is None or relative == ".":
        return False
    return bool(_spec(patterns).match_file(relative + ("/" if is_dir else "")))  # type: ignore[attr-defined]


def excluder(settings: Settings) -> Callable[[Path, bool], bool] | None:
    """(path, is a directory) -> whether `exclude` leaves it out of a walk; None without patterns."""
    root, patterns = settings.config_root, settings.exclude
    if root is None or not patterns:
        return None
    return lambda path, is_dir: _matches(patterns, root, path, is_dir)


def ignored_rules(settings: Settings, path: Path) -> frozenset[str]:
    """The rules `per-file-ignores` turns off for the file at `path`."""
    root = settings.config_root
    if root is None or not settings.per_file_ignores:
        return frozenset()
    found: set[str] = set()
    for pattern, rules in settings.per_file_ignores:
        if _matches((pattern,), root, path):
            found |= rules
    return frozenset(found)
