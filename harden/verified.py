"""Verified records: what a recorded run showed an image needs, as evidence for later runs.

`harden verify --learn` runs a service of an image harden does not know, finds what it writes
and which capabilities it needs, and records the result in `.harden/verified.toml`, a file the
project commits. Every later run reads the nearest such file (in the directory of a path given,
or one of its parents, as the lockfile is found) and the Compose passes use a record as
`verified` evidence: `cap-drop-all` adds back its capabilities and `read-only-rootfs` its
writable paths, as `review` fixes, where the image would otherwise be unknown (`unsafe`).

Format (TOML; one `[[image]]` table per image reference, as the Compose file names it after
interpolation, without a digest)::

    [[image]]
    reference = "example.org/app:1"
    digest = "sha256:..."              # the image that ran (as the engine reported it)
    engine = "podman 4.3.1"            # the engine and version that ran it
    date = "2026-11-27"                # when (a record is used whatever its age, like a lockfile pin)
    ran = "cap_drop ALL, read_only, tmpfs /run/app, no-new-privileges"   # the settings that ran
    cap_add = ["CHOWN"]                # capabilities it needed (each removal broke start-up or health)
    writable_paths = ["/run/app"]      # written at run time outside volumes: tmpfs
    data_paths = ["/data"]             # its data, expected on volumes
    services = ["app"]                 # optional: the services whose start-up ran (see below)
    # reference = "build:backend"      # a service that builds its image and names none
    note = "..."                       # optional: anything else a reviewer should know

Decisions: a record matches an image by repository and tag (a record for `app:1` says nothing
of `app:2`); a record with `services` is evidence only for the services of those names, because
another service of the same image may start it with another `command:` that the run did not
cover (harden writes `services` in every record it makes; a record without it covers every
service of the image); a record is never refreshed or aged out by harden: a new `--learn` run
replaces it, and a repair `harden fix --verify` found is merged into it (`merge`: it adds back
what either needed, as more capabilities and tmpfs paths only weaken the hardening); a file harden
cannot read stops the run (exit 2), as a broken lockfile does, because silently
ignoring it would turn `review` fixes back into `unsafe` ones without saying why.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from harden import files
from harden.knowledge import normalise_repository, tag_of

RECORDS_PATH = Path(".harden") / "verified.toml"
# How a record says its run did not show `read_only` works (it wrote outside runtime
# directories): read-only-rootfs then adds no read_only for the image (a note starting so).
READ_ONLY_NOT_VERIFIED = "read_only was not verified"
# The reference of a record of a service that builds its image and names none (`build:` and no
# `image:`): the image Compose builds is named after the project, so the record is keyed by the
# service's name instead, in the project whose records file it is.
BUILD = "build:"
RECORDS_LIMIT = 1024 * 1024  # bytes: a records file larger than this is refused
_STRINGS = ("reference", "digest", "engine", "date", "ran", "note")
_LISTS = ("cap_add", "writable_paths", "data_paths", "services")


class RecordsError(Exception):
    """A records file harden cannot read: where (`path:line`) and why."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")
        self.path, self.line, self.message = path, line, message


class Record(NamedTuple):
    """What one recorded run showed of an image (see the module docstring)."""

    reference: str
    digest: str
    engine: str
    date: str
    ran: str
    cap_add: tuple[str, ...]
    writable_paths: tuple[str, ...]
    data_paths: tuple[str, ...]
    note: str
    source: str  # `path:line` of its table, for the evidence it gives
    services: tuple[str, ...] = ()  # the services whose start-up ran (empty: every service of the image)

    def covers(self, service: str) -> bool:
        """Whether the record is evidence for the service of this name (see the module docstring)."""
        return not self.services or service in self.services


def merge(old: Record, new: Record) -> Record:
    """One record of an image from two: what either run needed, for the services of both (every
    service when either covers every one); `new`'s run, date and digest."""

    def union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*a, *b)))

    services = union(old.services, new.services) if old.services and new.services else ()
    ran = "; ".join(dict.fromkeys(r for r in (old.ran, new.ran) if r))
    note = "; ".join(
        dict.fromkeys(n for n in sorted((old.note, new.note), key=lambda n: not n.startswith(READ_ONLY_NOT_VERIFIED)) if n)
    )
    return new._replace(
        ran=ran,
        cap_add=union(old.cap_add, new.cap_add),
        writable_paths=union(old.writable_paths, new.writable_paths),
        data_paths=union(old.data_paths, new.data_paths),
        note=note,
        services=services,
    )


def key(reference: str) -> str:
    """What a record and an image are matched by: repository and tag, without a digest (a
    `build:` reference as it is)."""
    if reference.startswith(BUILD):
        return reference
    tag = tag_of(reference)
    return f"{normalise_repository(reference)}:{tag or 'latest'}"


def parse(text: str, path: str) -> dict[str, Record]:
    """The records of a file's text, by `key`; RecordsError for anything but the format above."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:  # "Invalid value (at line 2, column 13)"
        where = re.search(r"\(at line (\d+)", str(error))
        raise RecordsError(path, int(where.group(1)) if where else 0, str(error).split(" (at line", 1)[0]) from None
    tables = data.get("image", [])
    if not isinstance(tables, list) or set(data) - {"image"}:
        raise RecordsError(path, 1, "expected only [[image]] tables")
    lines = _table_lines(text)
    found: dict[str, Record] = {}
    for index, table in enumerate(tables):
        line = lines[index] if index < len(lines) else 0
        record = _record(table, f"{path}:{line}", path, line)
        found[key(record.reference)] = record
    return found


def find(start_dirs: tuple[Path, ...]) -> Path | None:
    """The nearest records file from the first start directory (or file) that has one."""
    for start in start_dirs:
        try:
            here = start.resolve()
            if not here.is_dir():
                here = here.parent
        except (OSError, RuntimeError):  # a symbolic-link loop: that path's own error, reported when it is read
            here = start.absolute().parent
        for directory in (here, *here.parents):
            candidate = directory / RECORDS_PATH
            if candidate.is_file():
                return candidate
    return None


def load(start_dirs: tuple[Path, ...], configured: Path | None = None) -> Mapping[str, Record]:
    """The records of the nearest file (or of `configured`, the configuration's `verified`
    file, when it exists), or none; RecordsError when that file cannot be read."""
    path = configured if configured is not None else find(start_dirs)
    if path is None or (configured is not None and not configured.exists()):
        return {}
    try:
        raw, _ = files.read_regular(path, RECORDS_LIMIT)
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordsError(str(path), 0, "not UTF-8 text") from None
    except (OSError, files.Refused) as error:
        raise RecordsError(str(path), 0, getattr(error, "strerror", None) or str(error)) from None
    return parse(text, str(path))


def _record(table: object, source: str, path: str, line: int) -> Record:
    if not isinstance(table, dict):
        raise RecordsError(path, line, "an [[image]] entry must be a table")
    unknown = set(table) - set(_STRINGS) - set(_LISTS)
    if unknown:
        raise RecordsError(path, line, f"unknown key {sorted(unknown)[0]!r} (known: {', '.join(_STRINGS + _LISTS)})")
    for name in _STRINGS:
        if name in table and not isinstance(table[name], str):
            raise RecordsError(path, line, f"{name} must be a string")
    for name in _LISTS:
        value = table.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RecordsError(path, line, f"{name} must be a list of strings")
    if not table.get("reference"):
        raise RecordsError(path, line, "reference is missing")
    for writable in (*table.get("writable_paths", []), *table.get("data_paths", [])):
        if not writable.startswith("/") or ":" in writable or " " in writable:
            raise RecordsError(path, line, f"{writable!r} is not an absolute path without ':' or spaces")
    strings = {name: str(table.get(name, "")) for name in _STRINGS}
    lists = {name: tuple(table.get(name, [])) for name in _LISTS}
    return Record(
        strings["reference"], strings["digest"], strings["engine"], strings["date"], strings["ran"],
        lists["cap_add"], lists["writable_paths"], lists["data_paths"], strings["note"], source, lists["services"],
    )  # fmt: skip


def _table_lines(text: str) -> list[int]:
    """The 1-based line of each `[[image]]` header, in order."""
    return [number for number, line in enumerate(text.splitlines(), 1) if line.strip().replace(" ", "") == "[[image]]"]


def render(records: Mapping[str, Record]) -> str:
    """The records as the file holds them (sorted by reference): what `--learn` writes."""
    out = ["# harden verified records: what recorded runs showed each image needs (harden/verified.py).", ""]
    for record in sorted(records.values(), key=lambda r: r.reference):
        out.append("[[image]]")
        for name in _STRINGS:
            value = getattr(record, name)
            if value:
                out.append(f"{name} = {_quoted(value)}")
        for name in _LISTS:
            if name != "services" or record.services:
                out.append(f"{name} = [{', '.join(_quoted(v) for v in getattr(record, name))}]")
        out.append("")
    return "\n".join(out)


def _quoted(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's for these characters)."""
    import json

    return json.dumps(text, ensure_ascii=False)
