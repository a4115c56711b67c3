"""The pipeline, and the only part of harden that reads or writes project files.

    paths -> load (discover, read, decode, parse) -> context (resolve image references once,
          related Compose documents) -> passes -> convergence (choose fixes with a selector,
          apply, re-parse, until none is left) -> guard (validate, semantic diff) -> sink

`check`, `diff` and `fix` differ only in their selector (harden.engine.select) and their sink
(harden.engine.sinks): `engine.run(paths, settings, selector, sink) -> Run`. One file's problem
is that file's error (a harden.model.Diagnostic), never the run's: bad input, a refused output
and even a bug met while handling one file end only that file; every other file is still
processed and written. Runs of many files stream and use every core (harden.engine.pool).

Modules: load, context (+ pinning: lockfile and resolver), convergence, guard, select, sinks,
pool, pipeline (run).
"""

from harden.engine.load import PinningError
from harden.engine.pipeline import Run, run, run_text

__all__ = ["PinningError", "Run", "run", "run_text"]
