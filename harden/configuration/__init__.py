"""The project's configuration file: `[tool.harden]` in pyproject.toml, or `.harden.toml`.

Discovery, as ruff finds its configuration: from the directory of a PATH (a file's directory, or
the directory itself) upwards, the closest directory with a `.harden.toml` (its top-level keys,
without a `tool.harden` prefix) or a `pyproject.toml` that has a `[tool.harden]` table wins; in
one directory `.harden.toml` comes first; a pyproject.toml without the table is skipped. Nothing
found: every value is its default. Standard input (`-`) looks from the directory of
`--stdin-filename`, else from the current directory.

One configuration per run (a decision, where ruff gives each file its own closest one): the first
PATH's. The engine hardens all files of a run with one Settings, and a Compose project whose
files had different rules could not be fixed consistently. When another PATH of the run has a
different closest configuration, the CLI says so on standard error (`others`), and the user runs
harden once per project. A configuration file in a subdirectory of a PATH is not read.

Keys (`load` checks every one; `harden config` prints the effective values and where each came from):
select, ignore, extend-select, per-file-ignores (gitignore pattern relative to the file's
directory -> rules), unsafe-fixes, exclude (gitignore patterns relative to the file's directory),
rules.<rule-id>.<option> (the options each pass declares, harden.passes.options),
registry.{mirrors, insecure, jobs, cache-ttl, timeout}, images.<name> (a project's own image
knowledge entry, harden.knowledge.project_entry), verified (the records file, relative to the
file's directory), bot.{branch, labels, assignees, reviewers, draft} (checked, and unused until
the pull-request bot exists).

Errors: an unknown key, a value of the wrong type, a rule or option harden does not know, or TOML
that does not parse, is a ConfigError `path:line: message` (the CLI exits 2, nothing is read or
written): a typo must never fall back to a default silently. Lines come from harden.configuration.lines.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harden import files
from harden.configuration.lines import Key, Lines

NAMES = (".harden.toml", "pyproject.toml")  # in one directory, in this order
LIMIT = 1024 * 1024  # bytes: a larger configuration file is refused
ROOT_KEYS = (
    "select", "ignore", "extend-select", "per-file-ignores", "unsafe-fixes", "exclude",
    "rules", "registry", "images", "verified", "bot",
)  # fmt: skip
REGISTRY_KEYS = ("mirrors", "insecure", "jobs", "cache-ttl", "timeout")
BOT_KEYS = {"branch": "str", "labels": "strings", "assignees": "strings", "reviewers": "strings", "draft": "bool"}


class ConfigError(Exception):
    """A configuration file harden cannot use: `path:line: message`."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{shown(path)}:{line}: {message}")


def shown(path: Path) -> str:
    """A configuration file's path as messages name it: relative to the current directory when
    it is under it (as harden names every file), else absolute."""
    try:
        return path.absolute().relative_to(Path.cwd()).as_posix()
    except (ValueError, OSError):
        return path.absolute().as_posix()


@dataclass(frozen=True)
class FileConfig:
    """A checked configuration file: its values by dotted key ("select", "registry.jobs") and
    the line each was set on. Patterns and paths are relative to `root`, its directory."""

    path: Path
    values: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.path.parent


def find(start: Path) -> Path | None:
    """The closest configuration file from `start` (a file or directory) upwards (module docstring)."""
    here = start.absolute()
    if not here.is_dir():
        here = here.parent
    for directory in (here, *here.parents):
        for name in NAMES:
            candidate = directory / name
            if candidate.is_file() and (name == ".harden.toml" or _has_table(candidate)):
                return candidate
    return None


def _has_table(path: Path) -> bool:
    text = _read(path)
    if "harden" not in text:  # the usual pyproject.toml: no second parse
        return False
    return isinstance(_parse(path, text).get("tool", {}).get("harden"), dict)


def _read(path: Path) -> str:
    try:
        raw, _ = files.read_regular(path, LIMIT)
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(path, 1, "not UTF-8 text") from None
    except (OSError, files.Refused) as error:
        raise ConfigError(path, 1, getattr(error, "strerror", None) or str(error)) from None


def _parse(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(error))
        line = int(found.group(1)) if found else max(1, len(text.splitlines()))  # else: "at end of document"
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(error))
        raise ConfigError(path, line, f"not valid TOML: {message}") from None


def for_paths(paths: Iterable[str], stdin_filename: str | None) -> tuple[FileConfig | None, list[str]]:
    """The configuration of a run (the first PATH's), and a note for each other PATH whose own
    closest configuration differs (module docstring); ConfigError when it cannot be used."""
    starts = [Path(stdin_filename).parent if stdin_filename else Path.cwd() if p == "-" else Path(p) for p in paths]
    found = [find(start) for start in starts] or [find(Path.cwd())]
    chosen = found[0]
    notes = [
        f"harden: {start}: its closest configuration is {other or 'none'}, but this run uses "
        f"{chosen or 'none'} (the first PATH's): run harden once per project to use each"
        for start, other in zip(starts[1:], found[1:], strict=True)
        if other != chosen
    ]
    return (load(chosen) if chosen is not None else None), notes


def load(path: Path) -> FileConfig:
    """The checked configuration in `path` (ConfigError at the first problem)."""
    text = _read(path)
    data = _parse(path, text)
    prefix: Key = ()
    if path.name == "pyproject.toml":
        prefix = ("tool", "harden")
        data = data.get("tool", {}).get("harden", {})
    from harden.configuration import checks

    return checks.check(path, data, Where(path, Lines(text), prefix))


class Where:
    """Turns a dotted key of the table into `path:line` errors."""

    def __init__(self, path: Path, lines: Lines, prefix: Key) -> None:
        self.path, self.lines, self.prefix = path, lines, prefix

    def line(self, *key: str) -> int:
        return self.lines.line_of((*self.prefix, *key))

    def item_line(self, key: Key, item: str) -> int:
        return self.lines.line_of_item((*self.prefix, *key), item)

    def error(self, key: Key, message: str, item: str | None = None) -> ConfigError:
        line = self.item_line(key, item) if item is not None else self.line(*key)
        return ConfigError(self.path, line, message)
