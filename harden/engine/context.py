"""The read-only context passes get: settings, the run's selector, digests, related documents.

Image references are resolved once for the whole run, before any file is analysed: the engine
collects the references the enabled pinning passes name in every file (`references`), resolves
each unique one once (`resolve`, harden.engine.pinning: lockfile, cache, registry), and hands
every file's passes the digests in its context. Passes never talk to a registry.

A Compose file's context also carries its project's documents (override files, `-f` order) and
the files of the run its services extend (harden.compose.project), so that each file's passes see the
services as Compose merges them. Each pass then gets the file's context with its own options and
the engine's answer to what another fix adds (harden.engine.convergence.bind).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harden import passes
from harden.compose import project
from harden.config import Settings
from harden.engine.load import Loaded, internal_error
from harden.engine.select import Selector


@dataclass
class Resolution:
    """What resolving the run's references gave: digests and lockfile entries by reference, the
    resolver (its lockfile is written by `pin --lock`) and the references that failed."""

    digests: dict[str, Any] = field(default_factory=dict)
    locked: dict[str, Any] = field(default_factory=dict)
    resolver: Any = None  # harden.registry.Resolver, when any reference was resolved
    unresolved: list[Any] = field(default_factory=list)  # harden.registry.Failure, one per reference

    def subset(self, wanted: Sequence[str]) -> Resolution:
        """Only the entries of `wanted` (what one worker's files need)."""
        return Resolution(
            {r: self.digests[r] for r in wanted if r in self.digests}, {r: self.locked[r] for r in wanted if r in self.locked}
        )


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
    """Resolve every reference once (in the order first named); nothing when none is wanted."""
    if not wanted:
        return Resolution()
    from harden.engine import pinning

    unique = list(dict.fromkeys(wanted))
    resolver = pinning.open_resolver(settings)
    with resolver:
        digests = dict(resolver.resolve_many(unique))
    return Resolution(digests, pinning.locked_entries(resolver, unique), resolver, pinning.unresolved(digests))


def context(settings: Settings, selector: Selector, resolution: Resolution) -> passes.Context:
    return passes.Context(settings=settings, chooses=selector.chooses, digests=resolution.digests, locked=resolution.locked)


def related(loaded: Sequence[Loaded], settings: Settings) -> list[tuple[object, ...]]:
    """For each file, the documents its passes see besides its own (harden.compose.project.related)."""
    paths: list[Path | None] = [item.source.path if item.source.kind == "compose" else None for item in loaded]
    return project.related(paths, [item.document for item in loaded], settings.compose_files)


def with_related(base: passes.Context, documents: tuple[object, ...]) -> passes.Context:
    return dataclasses.replace(base, related=documents) if documents else base
