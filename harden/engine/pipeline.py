"""`run`: the one pipeline every command goes through.

    paths -> inputs (discovery, or standard input) -> read + decode + parse
          -> resolve image references once -> passes -> choose fixes (selector) -> apply
          -> re-parse + validate + semantic guard -> sink (report, preview, in place, copy, stdout)

A run of a few files (fewer than POOL_MIN_FILES) loads them all, resolves their image
references, and analyses them one by one. A run of many files streams (harden.engine.pool):
no parsed document outlives the analysis of its file, and files are analysed on a process
pool. Either way every result goes to the sink as soon as it and those before it are ready,
and outputs are the same byte for byte.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from harden import knowledge, passes
from harden.config import Settings
from harden.discover import Source
from harden.engine import context, convergence, load
from harden.engine.select import Selector, from_settings
from harden.engine.sinks import Preview, Sink, slim
from harden.model import Diagnostic, FileResult

POOL_MIN_FILES = 500  # below this, workers and a second parse cost about what a second core gains (check)


def workers_for(settings: Settings, count: int) -> int:
    if settings.workers is not None:
        return max(1, settings.workers)
    return max(1, os.cpu_count() or 1) if count >= POOL_MIN_FILES else 1


def streams(settings: Settings, count: int) -> bool:
    """Whether a run of `count` inputs streams (two phases, harden.engine.pool) rather than loading everything."""
    return count >= POOL_MIN_FILES or workers_for(settings, count) > 1


@dataclass
class Run:
    """What one command did: every file's result (in input order), what discovery skipped, the
    resolver used, and the image references it could not resolve (one Failure per reference,
    however many files name it: the CLI says why once for each)."""

    processed: list[tuple[Source, FileResult]] = field(default_factory=list)
    skipped: list[Diagnostic] = field(default_factory=list)
    resolver: Any = None  # harden.registry.Resolver, when any image reference was resolved
    unresolved: list[Any] = field(default_factory=list)  # harden.registry.Failure

    @property
    def results(self) -> list[FileResult]:
        return [result for _, result in self.processed]

    def hand(self, sink: Sink, source: Source, result: FileResult, taken: bool = False) -> None:
        """Give a finished result to the sink (unless a worker's copy of it `taken` it), then keep
        only what reports need (never the snapshot of what was read; the texts and the findings
        only when the sink keeps them)."""
        if not taken:
            sink.take(source, result)
        slim(result, sink.keeps_texts, sink.keeps_findings, taken=True)
        self.processed.append((dataclasses.replace(source, snapshot=None), result))


def run(paths: list[str], settings: Settings, selector: Selector, sink: Sink, stdin: BinaryIO | None = None) -> Run:
    """Harden `paths` (files, directories, or `-` alone for `stdin`) as `selector` chooses, and
    hand each file's result to `sink`. Raises pinning.PinningError for a lockfile it cannot read,
    passes.options.OptionError for rule options it cannot use (before reading any file)."""
    passes.check_options(settings)
    knowledge.use_project(settings.images)
    items, skipped = load.inputs(paths, settings, stdin)
    outcome = Run(skipped=skipped)
    if streams(settings, len(items)):
        from harden.engine import pool  # here: a run of a few files never needs it (start-up time)

        pool.run_streaming(items, settings, selector, sink, outcome, workers_for(settings, len(items)))
    else:
        run_together(items, settings, selector, sink, outcome)
    return outcome


def run_text(
    display: str, kind: str, raw: bytes, settings: Settings, selector: Selector | None = None, sink: Sink | None = None
) -> FileResult:
    """One file given as bytes (named `display`), through the same pipeline as standard input;
    by default with the settings' selector, into a Preview (fixes applied, nothing written)."""
    passes.check_options(settings)
    knowledge.use_project(settings.images)
    item = load.Input(Source(Path(display), display, kind, display), raw)
    outcome = Run()
    run_together([item], settings, selector or from_settings(settings), sink or Preview(), outcome)
    return outcome.results[0]


def run_together(items: list[load.Input], settings: Settings, selector: Selector, sink: Sink, outcome: Run) -> None:
    """Load every input, resolve all references at once, analyse each file in order."""
    loaded = [load.read(item, settings) for item in items]
    resolution = context.resolve([r for item in loaded for r in context.references(item, settings)], settings)
    outcome.resolver, outcome.unresolved = resolution.resolver, resolution.unresolved
    base = context.context(settings, selector, resolution)
    for item, file_context in zip(loaded, context.for_files(base, loaded, settings), strict=True):
        result = convergence.analyse(item, settings, file_context, sink.applies)
        outcome.hand(sink, item.source, result)
