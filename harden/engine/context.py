"""The read-only context passes get: settings, the run's selector, digests, related documents.

Image references are resolved once for the whole run, before any file is analysed: the engine
collects the references the enabled pinning passes name in every file (`references`), resolves
each unique one once (`resolve`, harden.engine.pinning: lockfile, cache, registry), and hands
every file's passes the digests in its context. Passes never talk to a registry.

A Compose file's context also carries its project's documents (override files, `-f` order) and
the files of the run its services extend (harden.compose.project), so that each file's passes see the
services as Compose merges them, and its project's interpolation variables: the `.env` in the
directory of the project's first file, or the `--env-file` files instead, as `docker compose`
reads them (harden.compose.interpolate), never the process environment (harden's output does not
depend on who runs it). A `.env` harden cannot read or parse is an error (`path:line: message`,
exit 2) of its project's first file, and no file of that project is analysed.

Each pass then gets the file's context with its own options and
the engine's answer to what another fix adds (harden.engine.convergence.bind).
"""

from __future__ import annotations

import dataclasses
import os.path
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harden import files, passes
from harden.config import Settings
from harden.discover import display_path
from harden.engine import load
from harden.engine.load import Loaded, internal_error
from harden.engine.select import Selector
from harden.model import Diagnostic, DiagnosticKind, DocumentError

if TYPE_CHECKING:
    from harden.dockerfile import DockerfileDocument
    from harden.dockerfile.build import Build, Script
    from harden.dockerfile.document import Stage


@dataclass
class Resolution:
    """What resolving the run's references gave: digests and lockfile entries by reference, the
    resolver (its lockfile is written by `pin --lock`) and the references that failed."""

    digests: dict[str, Any] = field(default_factory=dict)
    locked: dict[str, Any] = field(default_factory=dict)
    resolver: Any = None  # harden.registry.Resolver, when any reference was resolved
    unresolved: list[Any] = field(default_factory=list)  # harden.registry.Failure, one per reference
    verified: Mapping[str, Any] = field(default_factory=dict)  # harden.verified.Record by key: the project's records

    def subset(self, wanted: Sequence[str]) -> Resolution:
        """Only the entries of `wanted` (what one worker's files need), and every record."""
        digests = {r: self.digests[r] for r in wanted if r in self.digests}
        return Resolution(digests, {r: self.locked[r] for r in wanted if r in self.locked}, verified=self.verified)


def references(item: Loaded, settings: Settings) -> list[str]:
    """The image references the enabled passes need resolved for one parsed file. A bug met
    while collecting them is the file's error, and the file is not analysed further."""
    if item.document is None:
        return []
    found: list[str] = []
    try:
        for module in passes.passes_for(item.result.kind, settings):
            collect = getattr(module, "references", None)
            if collect is not None:
                found.extend(collect(item.document, settings))
    except Exception as error:  # noqa: BLE001 - one file's bug is that file's error
        item.result.errors.append(internal_error(item.result.path, error, settings.debug))
        item.document = None
        return []
    return found


def resolve(wanted: Sequence[str], settings: Settings) -> Resolution:
    """Resolve every reference once (in the order first named), and read the project's verified
    records (harden.verified; RecordsError when they cannot be read: the run stops, exit 2)."""
    from harden import verified

    records = verified.load(settings.search_from, settings.verified)
    if not wanted:
        return Resolution(verified=records)
    from harden.engine import pinning

    unique = list(dict.fromkeys(wanted))
    resolver = pinning.open_resolver(settings)
    with resolver:
        digests = dict(resolver.resolve_many(unique))
    return Resolution(digests, pinning.locked_entries(resolver, unique), resolver, pinning.unresolved(digests), records)


def context(settings: Settings, selector: Selector, resolution: Resolution) -> passes.Context:
    return passes.Context(
        settings=settings,
        chooses=selector.chooses,
        digests=resolution.digests,
        locked=resolution.locked,
        verified=resolution.verified,
    )


def related(loaded: Sequence[Loaded], settings: Settings) -> list[tuple[object, ...]]:
    """For each file, the documents its passes see besides its own (harden.compose.project.related)."""
    from harden.compose import project

    paths: list[Path | None] = [item.source.path if item.source.kind == "compose" else None for item in loaded]
    return project.related(paths, [item.document for item in loaded], settings.compose_files)


def for_files(base: passes.Context, loaded: Sequence[Loaded], settings: Settings) -> list[passes.Context]:
    """Each file's context: the run's, plus the documents its passes see besides its own
    (`related`), for a Compose file what its services build (`builds`) and the env files and
    proxy configuration they read (`attached`), and for a Dockerfile
    the stages those services build from it (`built_stages`); for both, the services of the run
    that build each Dockerfile of the run (`builders`). A run without
    Compose files never imports harden.compose (start-up time)."""
    if not any(item.source.kind == "compose" for item in loaded):
        return [base] * len(loaded)
    _fragments_alone(loaded, settings)
    firsts = project_firsts(loaded, settings)
    directories = [loaded[j].source.path.parent for j in firsts]
    dockerfiles = Dockerfiles(loaded, settings)
    environments = Variables(settings)
    contexts = []
    for i, (item, documents, directory) in enumerate(zip(loaded, related(loaded, settings), directories, strict=True)):
        found = environments.of(directory) if item.source.kind == "compose" else {}
        if isinstance(found, Diagnostic):
            _not_analysed(item, found, first=firsts[i] == i)
            contexts.append(base)
            continue
        built = builds(item, directory, dockerfiles)
        read = attached_files(item, directory, built, settings)
        ignore = gitignore(item, settings)
        changed = documents or built or found or read or ignore is not None
        replaced = dataclasses.replace(base, related=documents, builds=built, variables=found, attached=read, gitignore=ignore)
        contexts.append(replaced if changed else base)
    stages = built_stages(loaded, [c.builds for c in contexts])
    contexts = [dataclasses.replace(c, built_stages=stages[i]) if i in stages else c for i, c in enumerate(contexts)]
    return with_builders(loaded, contexts)


def with_builders(loaded: Sequence[Loaded], contexts: list[passes.Context]) -> list[passes.Context]:
    """The contexts with `builders` (passes.Context.builders) for each Dockerfile of the run that
    Compose services of the run build, and for those Compose files."""
    index = {_real(item.source.path): i for i, item in enumerate(loaded) if item.source.kind == "dockerfile"}
    found: dict[str, list[passes.Builder]] = {}
    members: set[int] = set()
    for i, file_context in enumerate(contexts):
        for service, build in file_context.builds.items():
            if build.link is None or build.link.dockerfile is None or build.stage is None:
                continue
            j = index.get(_real(build.link.dockerfile))
            document = loaded[j].document if j is not None else None
            if j is None or document is None or id(document) != id(build.document):
                continue  # not a Dockerfile of the run: nothing edits it
            builder = passes.Builder(loaded[i].document, file_context.related, service, build.stage.label)
            found.setdefault(document.path, []).append(builder)
            members.update((i, j))
    if not found:
        return contexts
    builders = {path: tuple(each) for path, each in found.items()}
    return [dataclasses.replace(c, builders=builders) if i in members else c for i, c in enumerate(contexts)]


def gitignore(item: Loaded, settings: Settings) -> str | None:
    """The text of the `.gitignore` beside a Compose file read from disk; None when there is none
    (or it is not a regular UTF-8 file within --max-file-size: a fix that extends it is then
    refused by the guard, which finds a file there)."""
    if item.source.kind != "compose" or item.source.snapshot is None:
        return None
    try:
        raw, _ = files.read_regular(item.source.path.parent / ".gitignore", settings.max_file_size)
        return raw.decode("utf-8")
    except (OSError, files.Refused, UnicodeDecodeError):
        return None


def built_stages(loaded: Sequence[Loaded], builds_of: Sequence[Mapping[str, Build]]) -> dict[int, dict[str, tuple[str, ...]]]:
    """For each Dockerfile of the run (by index) that Compose services of the run build: stage
    label -> the services that build it, so that a Dockerfile pass hardens the stage that ships."""
    index = {_real(item.source.path): i for i, item in enumerate(loaded) if item.source.kind == "dockerfile"}
    found: dict[int, dict[str, list[str]]] = {}
    for builds_here in builds_of:
        for service, build in builds_here.items():
            if build.link is None or build.link.dockerfile is None or build.stage is None:
                continue
            i = index.get(_real(build.link.dockerfile))
            if i is not None:
                services = found.setdefault(i, {}).setdefault(build.stage.label, [])
                if service not in services:
                    services.append(service)
    return {i: {label: tuple(names) for label, names in stages.items()} for i, stages in found.items()}


def _fragments_alone(loaded: Sequence[Loaded], settings: Settings) -> None:
    """Fragments that join no project (harden.compose.project) are not analysed: each gets a
    note (DiagnosticKind.NOTE: reported, not an error) that says why and how to name its project.
    A file given as bytes (standard input) has no directory to find its project in: it is
    hardened as it stands."""
    from harden.compose import project

    paths: list[Path | None] = [
        item.source.path if item.source.kind == "compose" and item.source.snapshot is not None else None for item in loaded
    ]
    services = [
        project.definitions(item.document) if item.document is not None and path else None
        for item, path in zip(loaded, paths, strict=True)
    ]
    explicit = {_real(path) for path in settings.compose_files}
    for index, fragment in project.fragments(paths, services).items():
        item = loaded[index]
        if fragment.message and _real(item.source.path) not in explicit:
            item.result.errors.append(Diagnostic(DiagnosticKind.NOTE, item.result.path, 0, 0, fragment.message))
            item.document = None


def _not_analysed(item: Loaded, error: Diagnostic, first: bool) -> None:
    """A Compose file whose project's variables cannot be read: the first file of the project
    carries the error, the others say why they were not analysed."""
    if item.document is None:
        return
    if not first:
        where = f"{error.path}:{error.line}" if error.line else error.path
        error = Diagnostic(DiagnosticKind.INPUT, item.result.path, 0, 0, f"not analysed: its project's {where} cannot be read")
    item.result.errors.append(error)
    item.document = None


class Variables:
    """Each Compose project's interpolation variables (module docstring), each file read once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.known: dict[Path | None, dict[str, str] | Diagnostic] = {}

    def of(self, directory: Path) -> dict[str, str] | Diagnostic:
        """The variables of the project whose first file is in `directory`, or the error."""
        key = None if self.settings.env_files else _real(directory)
        if key not in self.known:
            paths = list(self.settings.env_files) or [p for p in (directory / ".env",) if p.is_file()]
            self.known[key] = self._read(paths)
        return self.known[key]

    def _read(self, paths: Sequence[Path]) -> dict[str, str] | Diagnostic:
        from harden.compose.interpolate import DotenvError, parse_dotenv

        found: dict[str, str] = {}
        for path in paths:
            display = display_path(path)
            try:
                raw, _ = files.read_regular(path, self.settings.max_file_size)
                found |= parse_dotenv(raw.decode("utf-8"), found)
            except DotenvError as error:
                return Diagnostic(DiagnosticKind.INPUT, display, error.line, 0, error.message)
            except UnicodeDecodeError:
                return Diagnostic(DiagnosticKind.INPUT, display, 0, 0, "not UTF-8: Compose cannot read it")
            except (OSError, files.Refused) as error:
                why = getattr(error, "strerror", None) or str(error)
                return Diagnostic(DiagnosticKind.INPUT, display, 0, 0, f"cannot read this env file: {why}")
        return found


def project_firsts(loaded: Sequence[Loaded], settings: Settings) -> list[int]:
    """The index of each file's project's first file (its own when it is alone): Compose resolves
    relative paths against that file's directory (an override file's `build: .` is the base
    file's directory), and reads the `.env` there."""
    from harden.compose import project

    paths: list[Path | None] = [item.source.path if item.source.kind == "compose" else None for item in loaded]
    services = [project.definitions(item.document) if item.document is not None else None for item in loaded]
    groups = project.groups(paths, settings.compose_files, services)
    return [groups[i][0] if i in groups else i for i in range(len(loaded))]


class Dockerfiles:
    """The Dockerfiles services build, each read and parsed once per run: the run's own documents
    where the Dockerfile is one of its files, else read here (a regular file, --max-file-size)."""

    def __init__(self, loaded: Sequence[Loaded], settings: Settings) -> None:
        from harden.dockerfile import DockerfileDocument

        self.settings = settings
        self.known: dict[Path, DockerfileDocument | str] = {
            _real(item.source.path): item.document
            for item in loaded
            if item.source.kind == "dockerfile" and isinstance(item.document, DockerfileDocument)
        }

    def get(self, path: Path) -> DockerfileDocument | str:
        """The parsed Dockerfile, or why it cannot be read."""
        key = _real(path)
        if key not in self.known:
            self.known[key] = self._read(path)
        return self.known[key]

    def _read(self, path: Path) -> DockerfileDocument | str:
        from harden import dockerfile

        display = display_path(path)
        try:
            raw, _ = files.read_regular(path, self.settings.max_file_size)
            return dockerfile.parse(display, load.decode(raw)[0])
        except FileNotFoundError:
            return f"its Dockerfile {display} does not exist"
        except (files.Refused, load.InputError, DocumentError, OSError) as error:
            why = getattr(error, "message", None) or getattr(error, "strerror", None) or str(error)
            return f"its Dockerfile {display} cannot be read: {why}"


def builds(item: Loaded, directory: Path, dockerfiles: Dockerfiles) -> dict[str, Build]:
    """For a Compose file: each service with `build:` and what it builds."""
    from harden.compose import ComposeDocument

    if not isinstance(item.document, ComposeDocument):
        return {}
    found = {}
    for name, service in item.document.services.items():
        value = service.get("build")
        if value is not None:
            found[name] = _build(value, directory, dockerfiles)
    return found


def attached_files(item: Loaded, directory: Path, built: Mapping[str, Build], settings: Settings) -> dict[str, tuple[Any, ...]]:
    """For a Compose file: the files each service reads besides it (harden.engine.attached)."""
    from harden.compose import ComposeDocument
    from harden.engine import attached

    if not isinstance(item.document, ComposeDocument):
        return {}
    return attached.of(item.document, directory, built, settings)


def _build(value: object, directory: Path, dockerfiles: Dockerfiles) -> Build:
    from harden.dockerfile.build import Build, BuildError, build_link, built_stage

    try:
        link = build_link(value, directory)
    except BuildError as error:
        return Build(None, problem=str(error))
    if link.dockerfile is None:
        return Build(link, problem=link.not_local)
    document = dockerfiles.get(link.dockerfile)
    if isinstance(document, str):
        return Build(link, problem=document)
    stage = built_stage(document, link.target)
    if stage is None:
        return Build(link, document, problem=f"build.target {link.target!r} names no stage of {document.path}")
    context_dir = Path(os.path.normpath(os.path.join(directory, link.context)))
    return Build(link, document, stage, scripts=start_scripts(document, stage, context_dir, dockerfiles.settings))


def start_scripts(document: DockerfileDocument, stage: Stage, context_dir: Path, settings: Settings) -> tuple[Script, ...]:
    """The scripts the built stage copies from its build context and starts with (harden.evidence
    decides which), each read as a regular file of at most --max-file-size bytes; one that is
    outside the build context (`..`, an absolute source, a symbolic link leading out) is refused."""
    from harden.dockerfile.build import Script
    from harden.evidence import image

    process = image.process(document, stage)
    words = [w for s in (process.entrypoint, process.cmd) if s is not None for w in image.argv(s.instruction)]
    copied = image.copied_files(document, stage)
    started = image.scripts_started(words, copied, image.workdir_of(document, stage))
    return tuple(Script(c.image_path, *_read_script(context_dir, c.source, settings)) for c in started)


def _read_script(context_dir: Path, source: str, settings: Settings) -> tuple[str, str | None, str]:
    """(the file as shown, its text or None, why not)."""
    path = context_dir / source
    display = display_path(path)
    from harden.engine.attached import read_text

    try:
        outside = source.startswith("/") or ".." in Path(source).parts or not path.resolve().is_relative_to(context_dir.resolve())
    except (OSError, RuntimeError) as error:
        return display, None, f"{display} cannot be read: {getattr(error, 'strerror', None) or error}"
    if outside:
        return display, None, f"{display} is outside the build context {display_path(context_dir)}"
    return read_text(path, settings)


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path.absolute()
