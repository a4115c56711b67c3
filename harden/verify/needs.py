"""Which capabilities a service needs: adaptive group testing over an oracle (pure search).

`harden verify --learn` (harden.verify.learn) asks which of Docker's default capabilities a
service of an unknown image needs. The oracle `works(dropped)` runs the hardened service once
with the capabilities `dropped` taken away (every other candidate kept) and tells whether it
worked. Each call is a whole container run (start, restart, teardown: seconds), so `needed`
asks as few as it can:

1. drop every candidate at once: when the service works, it needs none of them (one run);
2. else split the candidates in halves, recursively (binary splitting): a half whose removal
   breaks the service holds a needed capability and is split again; a half whose removal does
   not is unnecessary. When one half works, the other is known to break without a run of its
   own (its parent broke). The second half is tried first: Docker's order (DEFAULT_CAPABILITIES)
   puts the file and user capabilities services need most (CHOWN, DAC_OVERRIDE, FOWNER, SETGID,
   SETUID) in the first half, so the second half usually works and the first needs no run;
3. confirm: one run that drops everything but the capabilities found. When it works, they are
   the answer; when it breaks, the assumption below did not hold and the search starts over one
   capability at a time (`one_at_a_time`, the search `--learn` ran before, 14 runs).

Cost for Docker's 14 default capabilities, confirmation included: 1 run when none is needed;
5 to 10 for one (5 for CHOWN); 7 to 16 for two (10 for CHOWN and SETUID); 8 to 20 for three
(10 for nginx's CHOWN, SETGID, SETUID); 12 for postgres's four (CHOWN, DAC_OVERRIDE, SETGID,
SETUID). One at a time always costs 14: a service that needs many capabilities, scattered over
both halves, costs more runs than before, one that needs few (most) far fewer.

The assumption (what might break): needs are independent (monotone): dropping a set breaks the
service exactly when the set holds at least one needed capability. A service that works with
either of two capabilities (CHOWN or DAC_OVERRIDE, whichever it has) breaks the assumption: the
search then either keeps one of them, in a set the confirmation run shows working (not always
the one the one-at-a-time search would have kept), or its confirmation breaks and it starts over
one at a time. The oracle must be deterministic (a service that fails one start in ten gives a
wrong answer either way).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Works = Callable[[frozenset[str]], bool]  # whether the service works with these capabilities dropped


def needed(candidates: Sequence[str], works: Works, say: Callable[[str], None] = lambda _: None) -> tuple[str, ...]:
    """The candidates whose removal breaks the service, in their order (see the module
    docstring); `say` hears, in words, when the search falls back to one at a time."""
    everything = frozenset(candidates)
    if not candidates or works(everything):
        return ()
    found = set(_split(list(candidates), works))
    if works(everything - found):
        return tuple(c for c in candidates if c in found)
    say(f"without all but {', '.join(c for c in candidates if c in found)} it breaks too: trying one capability at a time")
    return one_at_a_time(candidates, works)


def _split(group: list[str], works: Works) -> list[str]:
    """The needed capabilities in `group`, which is known to hold at least one (dropping it
    broke the service, or the assumption says it must)."""
    if len(group) == 1:
        return group
    middle = len(group) // 2
    first, second = group[:middle], group[middle:]
    if works(frozenset(second)):
        return _split(first, works)
    found = _split(second, works)
    if works(frozenset(first)):
        return found
    return _split(first, works) + found


def one_at_a_time(candidates: Sequence[str], works: Works) -> tuple[str, ...]:
    """The candidates whose removal breaks the service, one run each: each is dropped together
    with those already found unnecessary, and kept when that breaks the service. Right without
    the independence assumption, but the kept set ran together only when the last one tried
    was unnecessary."""
    unnecessary: list[str] = []
    for capability in candidates:
        if works(frozenset([capability, *unnecessary])):
            unnecessary.append(capability)
    return tuple(c for c in candidates if c not in unnecessary)
