"""The engine as the tests call it most: one run over paths, fixes applied or not, nothing written."""

from __future__ import annotations

from harden import engine
from harden.config import Settings
from harden.engine import select, sinks


def process(paths: list[str], settings: Settings, apply: bool = True) -> engine.Run:
    """The paths with the selector the settings make; fixes applied (and kept: nothing is
    written) or, with `apply` False, only checked, as `harden check` does."""
    sink: sinks.Sink = sinks.Preview() if apply else sinks.Report()
    return engine.run(paths, settings, select.from_settings(settings), sink)
