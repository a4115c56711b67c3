"""The exit status contract, ruff's (https://docs.astral.sh/ruff/linter/#exit-codes).

0: nothing to fix (`check`, `diff`) or nothing left after fixing (`fix`, `pin`); 1: findings
(left); 2: a usage or input error in any file, or an internal error. Two flags change it as
ruff's do:

- `--exit-zero` (check, diff, fix, pin): 0 even when findings remain, for a CI step that only
  reports. Errors still exit 2, as ruff "will still exit with a status code of 2 if it
  terminates abnormally": a file harden could not read was not checked, and saying 0 then
  would hide it.
- `--exit-non-zero-on-fix` (fix, pin): 1 when harden changed a file (in place, the copy under
  `--output`, or standard output for `-`), even when nothing is left. A pre-commit hook or a CI
  job that fixes then fails, so that the change is reviewed and committed rather than lost.

`--exit-zero` wins when both are given, as in ruff (its status code is tested first there).
Statuses of other commands (verify's 1 for a broken service, 130 for Ctrl-C) are not findings
and are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click

from harden.model import Severity

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

EXIT_ZERO = click.option(
    "--exit-zero",
    is_flag=True,
    help="Exit 0 even when findings remain (errors still exit 2), as ruff's --exit-zero.",
)
EXIT_NON_ZERO_ON_FIX = click.option(
    "--exit-non-zero-on-fix",
    is_flag=True,
    help="Exit 1 when a file was changed, even if nothing is left to fix (as ruff's flag; pre-commit then shows the change).",
)


@dataclass(frozen=True, slots=True)
class Contract:
    """What the flags of one command line asked of its exit status."""

    exit_zero: bool = False
    non_zero_on_fix: bool = False

    def status(self, errors: int, findings: list[Any], changed: bool = False) -> int:
        """2 for errors; else 1 for a finding that is not `info` (or, with --exit-non-zero-on-fix,
        a changed file), unless --exit-zero; else 0."""
        if errors:
            return EXIT_ERROR
        if self.exit_zero:
            return EXIT_OK
        if self.non_zero_on_fix and changed:
            return EXIT_FINDINGS
        return EXIT_FINDINGS if any(f.severity is not Severity.INFO for f in findings) else EXIT_OK
