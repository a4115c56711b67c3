"""The bot's topics: one pull request each, on a branch of its own, so that each can be merged alone.

- `hardening` (branch `harden/hardening`, or `[tool.harden.bot] branch`): every fix the run
  selects, first pins included, except those that move an existing pin. Commit and title:
  `fix(security): harden container configuration`.
- `pin-refresh` (branch `harden/pin-refresh`): only the fixes that move an existing pin to the
  digest its tag points to now (`--refresh`). Commit and title: `chore(deps): refresh pinned
  image digests`, as Renovate names its dependency updates.

The two never change the same line (harden.engine.select.PinMoves), so merging one leaves the
other applicable. Commit messages follow Conventional Commits 1.0: a type, a scope, a subject in
the imperative; a body listing what changed per file; and the trailer `Harden-Bot: <topic>`
(harden.bot.git.TRAILER), by which the bot knows its own commits from a human's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from harden.bot.git import TRAILER
from harden.config import Settings
from harden.engine.select import Both, PinMoves, Selector, Without
from harden.model import FileResult
from harden.passes.pins import PIN_RULES


@dataclass(frozen=True)
class Topic:
    name: str
    branch: str
    title: str
    refresh: bool  # the run moves existing pins (and chooses only those moves)

    def named(self, branch: str | None) -> Topic:
        """This topic on the branch the configuration names (`[tool.harden.bot] branch`: the
        hardening topic's; pin-refresh keeps its own, so that the two never share a branch)."""
        return dataclasses.replace(self, branch=branch) if branch and not self.refresh else self

    def skipped(self, settings: Settings) -> str | None:
        """Why this topic cannot run with these settings (None: it can)."""
        if not self.refresh:
            return None
        if not any(settings.rule_enabled(rule) for rule in PIN_RULES):
            return "the configuration selects no pin rule"
        if settings.offline:
            return "--offline: refreshing pins asks the registry what each tag points to now"
        return None

    def settings(self, settings: Settings) -> Settings:
        """The run's settings for this topic: pin-refresh refreshes, and runs only the pin rules
        the configuration selects (`skipped` says when there are none)."""
        if not self.refresh:
            return settings
        selected = frozenset(rule for rule in PIN_RULES if settings.rule_enabled(rule))
        return dataclasses.replace(settings, refresh=True, select=selected, ignore=frozenset())

    def selector(self, chosen: Selector, dropped: Sequence[str]) -> Selector:
        """What the configuration chooses, within this topic, minus the ids a reviewer dropped."""
        within: Selector = Both(chosen, PinMoves(moves=self.refresh))
        return Both(within, Without(frozenset(dropped))) if dropped else within

    def message(self, results: Sequence[FileResult]) -> str:
        """The commit message: the title, one line per changed file with its rules, the trailer."""
        lines = [self.title, ""]
        for result in results:
            if result.changed:
                rules = ", ".join(dict.fromkeys(result.applied_rules)) or "new files"
                lines.append(f"- {result.path}: {rules}")
        return "\n".join([*lines, "", f"{TRAILER}: {self.name}", ""])


HARDENING = "hardening"
PIN_REFRESH = "pin-refresh"
NAMES = (HARDENING, PIN_REFRESH)


def topics(names: Sequence[str]) -> list[Topic]:
    """The topics named, in NAMES order, on their default branches (`Topic.named` for the configuration's)."""
    made = {
        HARDENING: Topic(HARDENING, "harden/hardening", "fix(security): harden container configuration", False),
        PIN_REFRESH: Topic(PIN_REFRESH, "harden/pin-refresh", "chore(deps): refresh pinned image digests", True),
    }
    return [made[name] for name in NAMES if name in names]
