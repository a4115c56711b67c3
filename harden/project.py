"""Compose projects: which compose files Compose merges, and in which order.

Without `-f`, `docker compose` reads the first of `compose.yaml`, `compose.yml`,
`docker-compose.yml`, `docker-compose.yaml` in a directory, then the first of
`compose.override.yml`, `compose.override.yaml`, `docker-compose.override.yml`,
`docker-compose.override.yaml` beside it (compose-go, cli/options.go: DefaultFileNames and
DefaultOverrideFileNames, in that order of preference), and merges them in that order: a key set
in a later file wins. harden groups the compose files it discovered the same way, so that each
file's passes see the whole project (passes.Context.related). Files in no such pair (a second
base name in the same directory, `compose.prod.yaml`, a file given alone) are each a project of
their own, as before.

An explicit order (a future `-f a -f b` option) is one project in the order given: pass it as
`explicit`, and those files are grouped in that order, and no others (Compose adds no override
file by name when `-f` is given).

`extends: {file: other.yaml, service: base}` names a file relative to the file that writes it.
When that file is part of the run too, every file's Context.related also carries an `Extended`
for it (after the project's documents), so that a service sees what it inherits; a file that
is not part of the run is not read (passes say what they could not see).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

BASE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_NAMES = (
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
)


def groups(paths: Sequence[Path | None], explicit: Sequence[Path] = ()) -> dict[int, tuple[int, ...]]:
    """{index of a file: indexes of its project's files in merge order}, for files in a project
    of two or more (None in `paths`: not a compose file, or one that is left out)."""
    keys = [_key(p) if p is not None else None for p in paths]
    found: dict[int, tuple[int, ...]] = {}
    if explicit:  # as with `docker compose -f`: no override file is added by name
        order = [_key(p) for p in explicit]
        members = tuple(keys.index(k) for k in order if k in keys)
        return dict.fromkeys(members, members) if len(members) > 1 else {}
    by_directory: dict[Path, dict[str, int]] = {}
    for index, key in enumerate(keys):
        if key is not None:
            by_directory.setdefault(key.parent, {})[key.name] = index
    for names in by_directory.values():
        base = next((names[n] for n in BASE_NAMES if n in names), None)
        override = next((names[n] for n in OVERRIDE_NAMES if n in names), None)
        if base is not None and override is not None:
            found[base] = found[override] = (base, override)
    return found


def _key(path: Path) -> Path:
    """The directory resolved, the name kept (a link named compose.yaml is read as one)."""
    try:
        return path.parent.resolve() / path.name
    except OSError:
        return path.absolute()


@dataclass(frozen=True)
class Extended:
    """`extends: {file: FILE}` written in the compose file shown as `referrer` names `document`,
    a file of this run."""

    referrer: str  # the referring document's path as shown (its `.path`)
    file: str  # extends.file as written
    document: object


def related(
    paths: Sequence[Path | None], documents: Sequence[object | None], explicit: Sequence[Path] = ()
) -> list[tuple[object, ...]]:
    """For each file, its project's parsed documents in merge order (passes.Context.related),
    then every `Extended` of the run; () for a file alone that extends no other file. `paths[i]`
    None: not a compose file. A file that did not parse is left out of its project (the other
    files are then hardened as if it were not there)."""
    usable = [p if p is not None and d is not None else None for p, d in zip(paths, documents, strict=True)]
    found = groups(usable, explicit)
    sources = extended(usable, documents)
    return [(*(documents[j] for j in found.get(i, ())), *sources) if i in found or sources else () for i in range(len(paths))]


def extended(paths: Sequence[Path | None], documents: Sequence[object | None]) -> tuple[Extended, ...]:
    """Every `extends: {file: ...}` of the run that names a file of the run."""
    index = {_key(p): i for i, p in enumerate(paths) if p is not None}
    found: dict[tuple[str, str], Extended] = {}
    for path, document in zip(paths, documents, strict=True):
        if path is None or document is None:
            continue
        for service in getattr(document, "services", {}).values():
            target = service.get("extends")
            file = target.get("file") if isinstance(target, dict) else None
            if not isinstance(file, str) or "$" in file:
                continue
            j = index.get(_key(path.parent / file))
            if j is not None:
                referrer = str(getattr(document, "path", path))
                found[(referrer, file)] = Extended(referrer, file, documents[j])
    return tuple(found.values())
