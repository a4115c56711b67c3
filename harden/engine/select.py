"""Selectors: which of the fixes the passes propose a run applies.

A selector answers `chooses(finding)` for a finding with a fix. Whatever it says, a `display`
finding is never applied, a fix that overlaps one applied in the same round waits for the next
round, and a fix whose `requires` are neither applied nor chosen is held back (engine.convergence).
For `harden check`, which applies nothing, the selector still says what `fix` would apply: a
pass that must know what another fix adds in the same run asks it (passes.Context.chooses).

- `All`: every fix, `unsafe` ones included (`--unsafe-fixes`).
- `WithEvidence`: `safe` and `review` fixes, never `unsafe` ones (the default of `fix` and
  `diff`: a fix without evidence that the service still works is shown, not applied).
- `SafeOnly`: only `safe` fixes (`--safe-only`).
- `ByRule`: only fixes of these rules, none of those (`--select` / `--ignore`; those options also
  decide which passes run at all: Settings.select and Settings.ignore).
- `ByIds`: exactly the findings with these ids (`Finding.id`, stable across runs): for a
  reviewed selection or saved decisions.
- `Without`: every finding but those with these ids (`harden fix --verify` leaves off the fixes
  that broke a service it could not repair).
- `Both`: what two selectors both choose.
- `PinMoves`: only fixes that move an existing pin (`harden pr`'s pin-refresh topic); with
  `moves=False`, every fix but those (its hardening topic), so that the two pull requests never
  change the same line.

Selectors are small picklable values: a worker process gets the run's selector with its files.
They are named tuples and plain classes, not dataclasses: each dataclass costs a run's start-up
about as much as a module (tests/bench/bench_startup.py).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from harden.config import Settings
from harden.model import Applicability, Finding


class Selector(Protocol):
    def chooses(self, finding: Finding) -> bool: ...


class All:
    __slots__ = ()

    def chooses(self, finding: Finding) -> bool:
        return True


class WithEvidence:
    __slots__ = ()

    def chooses(self, finding: Finding) -> bool:
        return finding.applicability is not Applicability.UNSAFE


class SafeOnly:
    __slots__ = ()

    def chooses(self, finding: Finding) -> bool:
        return finding.applicability is Applicability.SAFE


class ByRule(NamedTuple):
    select: frozenset[str] = frozenset()  # empty: every rule
    ignore: frozenset[str] = frozenset()

    def chooses(self, finding: Finding) -> bool:
        rule = finding.rule.id
        return (not self.select or rule in self.select) and rule not in self.ignore


class ByIds(NamedTuple):
    ids: frozenset[str]

    def chooses(self, finding: Finding) -> bool:
        return finding.id in self.ids


class Without(NamedTuple):
    ids: frozenset[str]

    def chooses(self, finding: Finding) -> bool:
        return finding.id not in self.ids


class Both(NamedTuple):
    first: Selector
    second: Selector

    def chooses(self, finding: Finding) -> bool:
        return self.first.chooses(finding) and self.second.chooses(finding)


class PinMoves(NamedTuple):
    moves: bool = True

    def chooses(self, finding: Finding) -> bool:
        from harden.passes.pins import moves_a_pin

        return moves_a_pin(finding.rule.id, finding.message) is self.moves


def from_settings(settings: Settings) -> Selector:
    """The selector the command line's options make: --select/--ignore, --safe-only, --unsafe-fixes."""
    tier: Selector = SafeOnly() if settings.safe_only else All() if settings.unsafe_fixes else WithEvidence()
    return Both(ByRule(settings.select, settings.ignore), tier) if settings.select or settings.ignore else tier
