"""The one clock harden reads.

Every reading of the time goes through this module: `now()` for dates (when a digest was
resolved, whether a cache entry is still fresh, a `Retry-After` date) and `monotonic()` for
durations (deadlines, token lifetimes). Nothing else in harden calls `datetime.now`,
`time.time` or `time.monotonic` (tests/test_clock.py checks the source for it).

Why: what harden proposes must not depend on today's date. The lockfile is used whatever its
age, and a pin moves only when the user asks (`--refresh`). The date only decides how long a
cached registry answer is trusted (`--cache-ttl`). Tests swap the clock with `use()` to run
date-sensitive paths years ahead, and the suite also runs a part of itself under libfaketime
(tests/test_dates.py), which moves the operating system's clock for code that would bypass
this module.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager


class SystemClock:
    """The real clock."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class ShiftedClock(SystemClock):
    """The real clock moved by `offset` (for tests: the same run, years from now). A plain class:
    every run imports this module, and a dataclass costs start-up time."""

    def __init__(self, offset: dt.timedelta) -> None:
        self.offset = offset

    def now(self) -> dt.datetime:
        return super().now() + self.offset


_current: SystemClock = SystemClock()


def now() -> dt.datetime:
    """The current date and time, timezone-aware, in UTC."""
    return _current.now()


def monotonic() -> float:
    """Seconds on a clock that never goes back (for durations and deadlines only)."""
    return _current.monotonic()


@contextmanager
def use(clock: SystemClock) -> Iterator[SystemClock]:
    """Read time from `clock` inside the block (tests only)."""
    global _current
    previous, _current = _current, clock
    try:
        yield clock
    finally:
        _current = previous
