"""One clock: harden reads the time only through harden.clock, which tests can move."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from harden import clock

HARDEN = Path(__file__).resolve().parent.parent / "harden"
# Reading the clock directly: datetime.now/utcnow/today, date.today, time.time/monotonic/perf_counter.
DIRECT = re.compile(r"\b(?:datetime|dt|date)\.(?:datetime\.)?(?:now|utcnow|today)\(|\btime\.(?:time|monotonic|perf_counter)\b")


def test_nothing_but_harden_clock_reads_the_clock() -> None:
    offenders = [
        f"{path.relative_to(HARDEN)}:{number}: {line.strip()}"
        for path in sorted(HARDEN.rglob("*.py"))
        if path.name != "clock.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if DIRECT.search(line)
    ]
    assert offenders == []


def test_the_pattern_would_see_a_direct_read() -> None:
    assert DIRECT.search("when = dt.datetime.now(dt.UTC)") and DIRECT.search("start = time.monotonic()")
    assert not DIRECT.search("when = clock.now()")


def test_a_shifted_clock_moves_now_and_comes_back() -> None:
    before = clock.now()
    with clock.use(clock.ShiftedClock(dt.timedelta(days=3650))):
        assert clock.now() - before > dt.timedelta(days=3649)
    assert clock.now() - before < dt.timedelta(days=1)
