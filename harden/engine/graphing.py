"""`harden graph`: each Compose project's service graph (harden.passes.compose.graph).

The same loading and per-file context as every run (harden.engine.load, harden.engine.context:
the project's files, `.env`, builds and the files services read), without resolving image
references (a graph needs no digest) and without running the passes. One graph per project,
computed for its first file (a file alone is its own project); errors are the files' own
(`path:line: message`), and the other files are still read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, BinaryIO

from harden import passes
from harden.config import Settings
from harden.engine import context, load
from harden.model import Diagnostic


@dataclass
class GraphRun:
    """Each project's graph, by the path of its first file, and what went wrong."""

    graphs: list[tuple[str, Any]] = field(default_factory=list)  # (path, harden.passes.compose.graph.Graph)
    errors: list[Diagnostic] = field(default_factory=list)
    compose_files: int = 0


def graphs(paths: list[str], settings: Settings, stdin: BinaryIO | None = None) -> GraphRun:
    items, skipped = load.inputs(paths, settings, stdin)
    outcome = GraphRun(errors=list(skipped))
    loaded = [load.read(item, settings) for item in items]
    compose = [item for item in loaded if item.source.kind == "compose"]
    outcome.compose_files = len(compose)
    contexts = context.for_files(passes.Context(settings=settings), loaded, settings)
    firsts = context.project_firsts(loaded, settings) if compose else []
    for index, (item, file_context) in enumerate(zip(loaded, contexts, strict=True)):
        outcome.errors += item.result.errors
        if item.source.kind != "compose" or item.document is None or firsts[index] != index:
            continue
        try:
            from harden.passes.compose import graph

            outcome.graphs.append((item.result.path, graph.of(item.document, file_context)))  # type: ignore[arg-type]
        except Exception as error:  # noqa: BLE001 - one file's bug is that file's error
            outcome.errors.append(load.internal_error(item.result.path, error, settings.debug))
    return outcome
