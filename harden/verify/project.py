"""A Compose project to verify, its two temporary copies, and the hardened one made by the pipeline.

What: `Project.of(path, files)` names the project (a directory, whose Compose files the engine
finds as `docker compose` does; or Compose files, all in one directory, merged in the order
given). `copies()` copies the project's directory twice into a temporary directory: `original`
unchanged, and `hardened`, into which `harden_copy()` writes the hardened files through the ONE
pipeline (`harden.engine.run` with the `--output` copy sink, as `harden fix --output` does).

Why copies, for the original too: both runs then start from the same files, and relative bind
mounts point into the copies, so neither run writes into the user's project. Why isolated
project names (`harden-verify-<hash>-original` / `-hardened`): Compose names containers,
networks and volumes after the project, so nothing of the user's own stacks is touched; the hash
covers the project's path and this process, so two verify runs never share a name.

`harden_copy(..., selector)` is the seam for bisecting which fix broke a service: called with
`Both(selector, ByIds(ids))` it hardens the copy with only those applied fixes.

What might break: the whole directory is copied (without `.git`): a project directory holding
gigabytes of data takes as long to copy. Absolute bind mounts still point at the user's files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from harden import engine, verified
from harden.config import Settings
from harden.engine import sinks
from harden.engine.select import Selector
from harden.model import Diagnostic, DiagnosticKind, Finding

IGNORED = shutil.ignore_patterns(".git")


# The file names `docker compose` reads by default, in its order of preference.
COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


class ProjectError(Exception):
    """A PATH that is not a Compose project verify can run."""


@dataclass(frozen=True)
class Project:
    directory: Path  # the project's directory: copied, and where the engine runs
    files: tuple[str, ...]  # Compose file names in `directory` (empty: the engine's defaults)
    shown: str  # how the report names the project

    @staticmethod
    def of(path: str, files: tuple[Path, ...] = ()) -> Project:
        """The project at `path` (a directory), or made of `files` (a path that is a file counts as one)."""
        given = Path(path)
        if given.is_file():
            files = (given, *files)
        elif not given.is_dir():
            raise ProjectError(f"{path}: no such file or directory")
        if not files:
            return Project(given.resolve(), (), path)
        directories = {f.resolve().parent for f in files}
        if len(directories) != 1:
            raise ProjectError(f"{path}: the Compose files of one project must be in one directory")
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise ProjectError(f"{missing[0]}: no such file")
        return Project(directories.pop(), tuple(f.name for f in files), path)

    def name(self, which: str) -> str:
        """The isolated Compose project name of one run ("original" or "hardened")."""
        key = f"{self.directory}\0{self.files}\0{os.getpid()}".encode()
        return f"harden-verify-{hashlib.sha256(key).hexdigest()[:8]}-{which}"

    def copy(self, into: Path) -> Path:
        """Copy the project's directory to `into` (which must not exist); `into`."""
        shutil.copytree(self.directory, into, symlinks=True, ignore=IGNORED)
        return into

    def services(self) -> dict[str, dict[str, object]]:
        """Each service's keys as the project's Compose files write them (a later file's keys win)."""
        from harden.compose import parse

        names = self.files or tuple(n for n in COMPOSE_NAMES if (self.directory / n).is_file())[:1]
        found: dict[str, dict[str, object]] = {}
        for name in names:
            try:
                document = parse(name, (self.directory / name).read_text(encoding="utf-8"))
            except Exception:  # noqa: BLE001 - the pipeline reports a file it cannot read
                continue
            for service_name, service in document.services.items():
                keys = found.setdefault(service_name, {})
                keys.update({key: service.get(key) for key in ("image", "build") if service.get(key) is not None})
        return found

    def dockerfiles(self) -> dict[str, Path]:
        """The Dockerfile each service that builds its image builds from (resolved): its fixes
        are that service's too (a USER the Dockerfile fix adds can break it)."""
        from harden.dockerfile.build import BuildError, build_link

        found: dict[str, Path] = {}
        for name, keys in self.services().items():
            try:
                link = build_link(keys["build"], self.directory) if "build" in keys else None
            except BuildError:
                continue
            if link is not None and link.dockerfile is not None:
                found[name] = link.dockerfile.resolve()
        return found

    def images(self, builds: bool = False) -> dict[str, str]:
        """Each service's image as its Compose files write it (a later file wins; one written with
        a variable is left out): what a verified record is keyed by. With `builds`, a service that
        builds its image and names none as `build:<service>` (harden.verified.BUILD) too."""
        found: dict[str, str] = {}
        for name, keys in self.services().items():
            image = keys.get("image")
            if isinstance(image, str) and "$" not in image:
                found[name] = image
            elif builds and image is None and "build" in keys:
                found[name] = f"{verified.BUILD}{name}"
        return found

    def paths(self) -> list[str]:
        """What the pipeline hardens: the directory, or the project's files."""
        return [str(self.directory / f) for f in self.files] if self.files else [str(self.directory)]


def harden_copy(project: Project, settings: Settings, selector: Selector, copy: Path) -> tuple[list[Finding], list[Diagnostic]]:
    """Write the hardened files of `project` into `copy` (a copy of its directory) through the
    pipeline; the applied fixes (their `id`s are stable: ByIds selects them again) and the
    errors (bad input, a file not written)."""
    sink = sinks.Copy(copy)
    run = engine.run(project.paths(), settings, selector, sink)
    errors = [*run.skipped]
    applied: list[Finding] = []
    for result in run.results:
        errors += [e for e in result.errors if e.kind is not DiagnosticKind.NOTE]
        applied += result.applied
    return applied, errors


def write_records(
    project: Project,
    records: dict[str, verified.Record],
    replace: bool = False,
    search_from: tuple[Path, ...] = (),
    configured: Path | None = None,
    path: Path | None = None,
) -> Path:
    """Merge `records` into the project's records file (harden.verified.merge with a record of the
    same image; with `replace`, instead of it: a new measurement); its path. The records already
        in force (the nearest file from `search_from`, by default from the project: perhaps a parent
    directory's) are kept in it. RecordsError when
    that file cannot be read, OSError when it cannot be written: nothing is
    written then. Written as the lockfile is: atomically, an existing file's owner kept.
    `configured`: the records file the configuration names (Settings.verified), read and, unless
    `path` says where else (a copy of the project), written instead of the project's own."""
    path = path or configured or project.directory / verified.RECORDS_PATH
    merged = dict(verified.load(search_from or (project.directory,), configured))
    for name, record in records.items():
        merged[name] = verified.merge(merged[name], record) if name in merged and not replace else record
    path.parent.mkdir(parents=True, exist_ok=True)
    sinks.write_own_file(path, verified.render(merged).encode("utf-8"))
    return path
