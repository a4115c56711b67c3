"""The suite's date-sensitive tests pass with the operating system's clock set years ahead.

Every module below reads dates somewhere (lockfiles, the digest cache and its TTL, pins and
refreshes, the demo, the command line); they run again in a subprocess under libfaketime
(Debian's `faketime`), which moves the clock of everything in that process, so a date read
outside harden.clock would be caught too. Left out: the bearer-token tests, whose tokens are
checked by the real registry (a Go program, on the real clock).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT, require

DATE_SENSITIVE = [
    "tests/test_demo.py",
    "tests/test_cli.py",
    "tests/test_pins_over_time.py",
    "tests/test_golden.py",
    "tests/registry/test_registry_lockfile.py",
    "tests/registry/test_registry_resolver.py",
    "tests/registry/test_pin_refresh.py",
    "tests/registry/test_pin_corpus.py",
]


def faketime(days_ahead: int, *command: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [require("faketime"), "-f", f"+{days_ahead}d", *command], cwd=ROOT, env=environment, capture_output=True, text=True
    )


@pytest.mark.parametrize("days_ahead", [400, 30 * 365])
def test_date_sensitive_tests_pass_years_ahead(days_ahead: int) -> None:
    import datetime as dt

    year = faketime(days_ahead, sys.executable, "-c", "import datetime; print(datetime.date.today().year)")
    assert int(year.stdout) >= dt.date.today().year + days_ahead // 366, year.stderr  # the clock really moved
    run = faketime(days_ahead, sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", *DATE_SENSITIVE)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
