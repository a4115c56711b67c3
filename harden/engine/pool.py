"""Runs of many files: streamed, and analysed on a process pool.

Keeping every parsed document until the end of a run costs memory in proportion to the tree
(a Compose file's ruamel tree is some hundred times its text), and one process uses one core.
From harden.engine.pipeline.POOL_MIN_FILES files on (or when Settings.workers asks for more
than one process), a run has two phases (a run of a few files never imports this module):

1. scan: each file is read and parsed, and what the run needs of it before any analysis is
   kept: the image references its pinning passes name, the files its services `extends`, and
   the SHA-256 of what was read. The document is dropped.
2. analyse: the references of all files are resolved once, in this process (each unique one
   once, as in any run), and the files are analysed in tasks. A task holds files that must be
   read together: the Compose files of one project (override files, `-f`), files related
   by `extends`, and the Dockerfiles their services build. It reads and parses its files again,
   analyses them, and returns their results;
   its documents are freed when it ends. A file that changed between the two reads is not
   analysed (its references may be missing): `path: changed while harden ran: skipped`.

Both phases run on a ProcessPoolExecutor with one worker per core (a task of one process when
Settings.workers is 1: HARDEN_WORKERS=1, a benchmark and debugging switch). A worker writes
the files of its task itself when the sink can (sinks.Sink.parallel: in place, --output; inputs
with one --output target share a task); results are handed on in input order, so outputs and
reports are the same byte for byte as a run in one process. At most a few tasks per worker are
in flight, so finished results waiting in this process stay few. The pool forks (where the
platform can), so workers start with harden already imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from harden.config import Settings
from harden.discover import Source
from harden.engine import context, convergence, load
from harden.engine.select import Selector
from harden.engine.sinks import Sink, slim
from harden.model import Diagnostic, DiagnosticKind, FileResult

if TYPE_CHECKING:
    from harden.engine.pipeline import Run

SCAN_FILES = 128  # files per scanning task
TASK_FILES = 32  # files per analysing task (a project is never split)
IN_FLIGHT = 3  # analysing tasks submitted per worker ahead of the sink
T = TypeVar("T")


@dataclass(frozen=True)
class Scanned:
    """What phase 1 keeps of a file."""

    references: tuple[str, ...] = ()
    extends: tuple[str, ...] = ()  # `extends: {file: ...}` values its services name
    sha256: str | None = None  # of the bytes read (None: given bytes, or not readable)
    builds: tuple[object, ...] = ()  # its services' `build:` values (a string, or a dict of plain values)
    services: dict[str, bool] | None = None  # a Compose file's services (harden.compose.project.definitions)


@dataclass(frozen=True)
class Task:
    """Files analysed together, with what they need of the run (picklable: sent to a worker)."""

    items: tuple[tuple[int, load.Input, str | None], ...]  # (input index, input, SHA-256 at scan)
    settings: Settings
    selector: Selector
    sink: Sink  # the worker's copy of the run's sink: it writes the task's files when `sink.parallel`
    resolution: context.Resolution


def run_streaming(
    items: list[load.Input], settings: Settings, selector: Selector, sink: Sink, outcome: Run, workers: int
) -> None:
    from harden.engine.executors import bounded, executor_for  # here: a streamed run of one process never needs them

    with executor_for(workers) as executor:
        scans = [(chunk, settings) for chunk in _chunks(items, SCAN_FILES)]
        scanned = [s for found in executor.map(_scan_task, scans) for s in found]
        resolution = context.resolve([r for s in scanned for r in s.references], settings)
        outcome.resolver, outcome.unresolved = resolution.resolver, resolution.unresolved
        tasks = []
        for group in _packed(components(items, scanned, settings), TASK_FILES):
            wanted = [r for i in group for r in scanned[i].references]
            members = tuple((i, items[i], scanned[i].sha256) for i in group)
            tasks.append(Task(members, settings, selector, sink, resolution.subset(wanted)))
        _hand_in_order(bounded(executor, _analyse_task, tasks, IN_FLIGHT * workers), sink, outcome)


def _hand_in_order(batches: Iterator[list[tuple[int, Source, FileResult]]], sink: Sink, outcome: Run) -> None:
    """Hand each result to the run (and, unless a worker's copy of it did, to the sink) in input order."""
    waiting: dict[int, tuple[Source, FileResult]] = {}
    following = 0
    for batch in batches:
        for index, source, result in batch:
            waiting[index] = (source, result)
        while following in waiting:
            outcome.hand(sink, *waiting.pop(following), taken=sink.parallel)
            following += 1


def _scan_task(arguments: tuple[list[load.Input], Settings]) -> list[Scanned]:
    from harden.compose import project

    items, settings = arguments
    found = []
    for item in items:
        loaded = load.read(item, settings)
        references = tuple(context.references(loaded, settings))
        sha = loaded.source.snapshot.sha256 if loaded.source.snapshot is not None else None
        services = project.definitions(loaded.document) if loaded.source.kind == "compose" and loaded.document else None
        found.append(Scanned(references, _extends_files(loaded.document), sha, _build_values(loaded.document), services))
    return found


def _analyse_task(task: Task) -> list[tuple[int, Source, FileResult]]:
    from harden import knowledge

    knowledge.use_project(task.settings.images)  # a worker that did not fork has not seen the run's
    loaded = [load.read(item, task.settings) for _, item, _ in task.items]
    for item, (_, _, sha) in zip(loaded, task.items, strict=True):
        snapshot = item.source.snapshot
        if sha is not None and snapshot is not None and snapshot.sha256 != sha:
            error = Diagnostic(DiagnosticKind.INPUT, item.source.display, 0, 0, "changed while harden ran: skipped")
            item.result, item.document = FileResult(path=item.source.display, kind=item.source.kind, errors=[error]), None
        context.references(item, task.settings)  # a bug met there is the file's error, as in phase 1
    base = context.context(task.settings, task.selector, task.resolution)
    results = []
    for (index, _, _), item, file_context in zip(task.items, loaded, context.for_files(base, loaded, task.settings), strict=True):
        sink = task.sink
        result = convergence.analyse(item, task.settings, file_context, sink.applies)
        if sink.parallel:
            sink.take(item.source, result)
        slim(result, sink.keeps_texts, sink.keeps_findings, taken=sink.parallel)  # only what the parent needs
        results.append((index, item.source, result))
    return results


def components(items: Sequence[load.Input], scanned: Sequence[Scanned], settings: Settings) -> list[list[int]]:
    """The inputs in groups that must be analysed together (see the module docstring), each
    group in input order, the groups in the order of their first input."""
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        parent[root(i)] = root(j)

    from harden.compose import project

    paths: list[Path | None] = [item.source.path if item.source.kind == "compose" else None for item in items]
    services = [s.services for s in scanned]
    projects = project.groups(paths, settings.compose_files, services)
    for members in projects.values():
        for member in members:
            join(member, members[0])
    for i, fragment in project.fragments(paths, services).items():  # one that joins no project: read with all it could
        for member in (m for members in fragment.projects for m in members):
            join(i, member)
    copied: dict[str, int] = {}  # inputs with one --output target: the sink refuses all but the first
    for i, item in enumerate(items):
        join(i, copied.setdefault(os.path.normpath(item.source.relative), i))
    keys = {_file_key(path): i for i, path in enumerate(paths) if path is not None}
    for i, path in enumerate(paths):
        for file in scanned[i].extends:
            j = keys.get(_file_key(path.parent / file)) if path is not None else None
            if j is not None:
                join(i, j)
    _join_built_dockerfiles(items, scanned, projects, join)
    groups: dict[int, list[int]] = {}
    for i in range(len(items)):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda group: group[0])


def _file_key(path: Path) -> Path:
    """The key harden.compose.project gives a file: its directory resolved, its name kept."""
    try:
        return path.parent.resolve() / path.name
    except OSError:
        return path.absolute()


def _extends_files(document: object) -> tuple[str, ...]:
    """The files a Compose document's services extend (as harden.compose.project.extended reads them)."""
    found: list[str] = []
    for service in getattr(document, "services", {}).values():
        target = service.get("extends")
        file = target.get("file") if isinstance(target, dict) else None
        if isinstance(file, str) and "$" not in file:
            found.append(file)
    return tuple(found)


def _build_values(document: object) -> tuple[object, ...]:
    """The `build:` values of a Compose document's services, as plain values a worker can send."""
    found: list[object] = []
    for service in getattr(document, "services", {}).values():
        value = service.get("build")
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            found.append({k: v for k, v in value.items() if isinstance(v, str)})
    return tuple(found)


def _join_built_dockerfiles(
    items: Sequence[load.Input], scanned: Sequence[Scanned], groups: dict[int, tuple[int, ...]], join: Callable[[int, int], None]
) -> None:
    """A Dockerfile goes with the Compose files whose services build it (its shipped stage is the
    one they build: passes.Context.built_stages), as harden.engine.context resolves their paths."""
    from harden.dockerfile.build import BuildError, build_link

    dockerfiles = {_resolved(item.source.path): i for i, item in enumerate(items) if item.source.kind == "dockerfile"}
    if not dockerfiles:
        return
    first = {member: members[0] for members in groups.values() for member in members}
    for i in range(len(items)):
        directory = items[first.get(i, i)].source.path.parent
        for value in scanned[i].builds:
            try:
                link = build_link(value, directory)
            except BuildError:
                continue
            j = dockerfiles.get(_resolved(link.dockerfile)) if link.dockerfile is not None else None
            if j is not None:
                join(i, j)


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path.absolute()


def _chunks(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _packed(groups: list[list[int]], size: int) -> list[list[int]]:
    """Consecutive groups joined into tasks of about `size` inputs (a group is never split)."""
    tasks: list[list[int]] = []
    for group in groups:
        if tasks and len(tasks[-1]) + len(group) <= size:
            tasks[-1].extend(group)
        else:
            tasks.append(list(group))
    return [sorted(task) for task in tasks]
