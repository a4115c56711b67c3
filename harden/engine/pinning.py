"""Digest pinning for the engine: which lockfile, the resolver that reads it, and writing it.

The lockfile is `--lockfile FILE` when given; otherwise `harden.lock` is searched for from each
PATH argument upwards, as ruff finds its configuration. It is used whatever its age: a pin
(`name:tag@sha256:old`) moves to the tag's current digest only when the user asks
(`--refresh`), never by itself, so `check`, `diff` and `fix` always propose the same thing.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from harden import files
from harden.config import Settings
from harden.discover import display_path
from harden.engine.load import PinningError
from harden.registry import (
    LOCKFILE_NAME,
    Failure,
    FailureKind,
    LockEntry,
    Lockfile,
    LockfileError,
    ReferenceError,
    Resolution,
    Resolver,
    parse,
)

LOCKFILE_LIMIT = 16 * 1024 * 1024  # about 80,000 images: far beyond any project, and bounded


def lockfile_path(settings: Settings) -> Path | None:
    """`--lockfile`, else the first harden.lock found from a PATH argument upwards (in the
    order of the arguments)."""
    if settings.lockfile is not None:
        return settings.lockfile
    known: dict[Path, Path | None] = {}  # directory -> the lockfile found from it upwards
    for start in settings.search_from or (Path.cwd(),):
        directory = start if start.is_dir() else start.parent
        if directory in known:  # many PATHs share a directory: look once
            found = known[directory]
        else:
            found = known[directory] = _find_upwards(directory.resolve(), known)
        if found is not None:
            return found
    return None


def _find_upwards(directory: Path, known: dict[Path, Path | None]) -> Path | None:
    """find_lockfile, remembering every directory on the way: many PATHs share parents."""
    visited = []
    found: Path | None = None
    for candidate in (directory, *directory.parents):
        if candidate in known:
            found = known[candidate]
            break
        visited.append(candidate)
        if (candidate / LOCKFILE_NAME).is_file():
            found = candidate / LOCKFILE_NAME
            break
    for candidate in visited:
        known[candidate] = found
    return found


def load_lockfile(settings: Settings) -> Lockfile | None:
    """The lockfile, read like any input: only a regular file (a FIFO would hang the run), at most
    LOCKFILE_LIMIT bytes, valid UTF-8 TOML in the lockfile format; else PinningError (exit 2)."""
    path = lockfile_path(settings)
    if path is None or not (path.exists() or path.is_symlink()):
        return None
    where = display_path(path)
    try:
        raw, _ = files.read_regular(path, LOCKFILE_LIMIT)
        return Lockfile.loads(raw.decode("utf-8"), path)
    except files.Refused as refused:
        raise PinningError(where, str(refused)) from None
    except UnicodeDecodeError:
        raise PinningError(where, "not UTF-8 text") from None
    except (LockfileError, OSError) as error:
        raise PinningError(where, str(error)) from None


def open_resolver(settings: Settings) -> Resolver:
    return Resolver(
        mirrors=dict(settings.mirrors),
        insecure=settings.insecure,
        jobs=settings.jobs,
        run_timeout=settings.timeout,
        lockfile=load_lockfile(settings),
        offline=settings.offline,
        refresh=settings.refresh,
        platform=settings.platform,
        ttl=dt.timedelta(hours=settings.cache_ttl_hours),
        progress=_progress if settings.progress and sys.stderr.isatty() else None,
    )


def unresolved(digests: Mapping[str, Resolution | Failure]) -> list[Failure]:
    """One failure per reference that could not be resolved, in the order first named.
    Invalid references are left out: their finding already says what is wrong."""
    failures: dict[str, Failure] = {}
    for outcome in digests.values():
        if isinstance(outcome, Failure) and outcome.kind is not FailureKind.INVALID_REFERENCE:
            failures.setdefault(outcome.reference, outcome)
    return list(failures.values())


def locked_entries(resolver: Resolver, references: list[str]) -> dict[str, LockEntry]:
    """The lockfile's entry for each reference that has one (for a refresh's commentary: when
    the digest being replaced was resolved)."""
    if resolver.lockfile is None:
        return {}
    entries = {}
    for text in references:
        try:
            key = parse(text).canonical
        except ReferenceError:
            continue
        if (entry := resolver.lockfile.get(key, resolver.platform)) is not None:
            entries[text] = entry
    return entries


def _progress(resolved: int, total: int, from_cache: int) -> None:
    end = "\n" if resolved >= total else ""
    sys.stderr.write(f"\rresolving {total} image references: {resolved} done ({from_cache} from lockfile or cache){end}")
    sys.stderr.flush()


def write_lockfile(resolver: Resolver | None, settings: Settings, names: Callable[[str], bool]) -> tuple[Path, int]:
    """Write harden.lock with every digest the run resolved: at --lockfile, else where one was
    found, else in the first directory PATH (the current directory for files). (path, images)
    An existing lockfile is replaced as a project file is (owner kept; not through a link, not
    over a hard link, not when read-only): OSError saying why. `names`: the files harden writes
    (whose stale temporaries it may remove)."""
    path = lockfile_path(settings)
    if path is None:
        directories = [p for p in settings.search_from if p.is_dir()]
        path = (directories[0] if directories else Path.cwd()) / LOCKFILE_NAME
    lockfile = resolver.updated_lockfile() if resolver is not None else Lockfile()
    path.parent.mkdir(parents=True, exist_ok=True)
    from harden.engine.sinks import write_own_file

    write_own_file(path, lockfile.dumps().encode("utf-8"), names)
    return path, len(lockfile)
