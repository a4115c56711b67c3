"""The search behind `harden verify --learn`'s capabilities (harden/verify/needs.py), over oracles
that stand for real runs (tests/test_verify.py runs the real thing). Each oracle call is a
container run: the tests count them."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from harden.verify.bisect import DEFAULT_CAPABILITIES
from harden.verify.needs import needed, one_at_a_time

EVERYTHING = frozenset(DEFAULT_CAPABILITIES)


def oracle(works: Callable[[frozenset[str]], bool]) -> tuple[Callable[[frozenset[str]], bool], list[frozenset[str]]]:
    """`works`, recording each set of capabilities it was asked about."""
    calls: list[frozenset[str]] = []

    def counted(dropped: frozenset[str]) -> bool:
        assert dropped <= EVERYTHING
        calls.append(dropped)
        return works(dropped)

    return counted, calls


def independent(needs: set[str]) -> Callable[[frozenset[str]], bool]:
    """A service that breaks exactly when a capability it needs is dropped."""
    return lambda dropped: not dropped & needs


def test_a_service_that_needs_nothing_costs_one_run() -> None:
    works, calls = oracle(independent(set()))
    assert needed(DEFAULT_CAPABILITIES, works) == ()
    assert calls == [EVERYTHING]


def test_a_service_that_needs_chown_costs_five_runs_the_last_confirming_it() -> None:
    works, calls = oracle(independent({"CHOWN"}))
    assert needed(DEFAULT_CAPABILITIES, works) == ("CHOWN",)
    assert len(calls) == 5
    assert calls[0] == EVERYTHING and calls[-1] == EVERYTHING - {"CHOWN"}


def test_a_service_that_needs_chown_and_setuid_costs_ten_runs() -> None:
    works, calls = oracle(independent({"CHOWN", "SETUID"}))
    assert needed(DEFAULT_CAPABILITIES, works) == ("CHOWN", "SETUID")
    assert len(calls) == 10
    assert calls[-1] == EVERYTHING - {"CHOWN", "SETUID"}


def test_for_independent_needs_the_answer_is_the_one_at_a_time_answer_and_ran_last() -> None:
    """Every set of up to three needed capabilities: the same answer as one at a time (the
    search `--learn` ran before), and the last run dropped everything but it. The bound on the
    runs is the binary splitting's worst case (with 0 and 1 needs: 1 and 10 runs)."""
    for size in range(4):
        for needs in itertools.combinations(DEFAULT_CAPABILITIES, size):
            works, calls = oracle(independent(set(needs)))
            found = needed(DEFAULT_CAPABILITIES, works)
            assert found == needs == one_at_a_time(DEFAULT_CAPABILITIES, independent(set(needs)))
            assert calls[-1] == EVERYTHING - set(needs)
            assert len(calls) <= 2 + 8 * size  # all, the confirmation, two runs a level (4) per need


def test_when_the_confirmation_breaks_the_search_falls_back_to_one_at_a_time() -> None:
    """Not independent: the service needs CHOWN and either FSETID or SETPCAP, which fall in
    different halves. Each half dropped alone works, the set found (CHOWN) does not: the
    confirmation breaks, and one at a time keeps CHOWN and SETPCAP (FSETID went first)."""

    def service(dropped: frozenset[str]) -> bool:
        return "CHOWN" not in dropped and not {"FSETID", "SETPCAP"} <= dropped

    works, calls = oracle(service)
    said: list[str] = []
    assert needed(DEFAULT_CAPABILITIES, works, said.append) == ("CHOWN", "SETPCAP")
    assert calls[4] == EVERYTHING - {"CHOWN"}  # the confirmation, which broke
    assert len(calls) == 5 + len(DEFAULT_CAPABILITIES)
    assert said == ["without all but CHOWN it breaks too: trying one capability at a time"]


def test_one_at_a_time_drops_each_with_those_found_unnecessary() -> None:
    works, calls = oracle(independent({"DAC_OVERRIDE"}))
    assert one_at_a_time(DEFAULT_CAPABILITIES, works) == ("DAC_OVERRIDE",)
    assert calls[:3] == [frozenset({"CHOWN"}), frozenset({"CHOWN", "DAC_OVERRIDE"}), frozenset({"CHOWN", "FOWNER"})]
    assert len(calls) == len(DEFAULT_CAPABILITIES)
