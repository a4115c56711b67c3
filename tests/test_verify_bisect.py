"""The search behind `harden verify`'s blame and repairs (harden/verify/bisect.py), over oracles
that stand for real runs (tests/test_verify.py runs the real thing)."""

from __future__ import annotations

from harden.verify.bisect import DEFAULT_CAPABILITIES, Repair, candidates, culprits, named_rules, narrowest


def test_one_breaking_fix_is_found_with_one_run_per_fix() -> None:
    calls: list[frozenset[str]] = []

    def breaks(subset: frozenset[str]) -> bool:
        calls.append(subset)
        return "caps" in subset

    assert culprits(["user", "caps", "pids", "ro"], breaks) == ("caps",)
    assert len(calls) == 4


def test_two_fixes_that_break_only_together_are_both_named() -> None:
    assert culprits(["user", "caps", "pids"], lambda s: {"user", "caps"} <= s) == ("user", "caps")


def test_capability_repairs_try_the_one_the_log_names_first() -> None:
    repairs = candidates("cap-drop-all", "chown: changing ownership of '/data': Operation not permitted (CAP_CHOWN)")
    assert repairs[0] == Repair("cap_add", "CHOWN", "without CHOWN the service failed to start")
    assert [r.value for r in repairs] == ["CHOWN", *[c for c in DEFAULT_CAPABILITIES if c != "CHOWN"]]
    tried: list[str] = []

    def works(repair: Repair) -> bool:
        tried.append(repair.value)
        return repair.value == "SETUID"

    assert narrowest(["cap-drop-all"], "error: Operation not permitted", works) == repairs[DEFAULT_CAPABILITIES.index("SETUID")]
    assert tried[-1] == "SETUID" and len(tried) == DEFAULT_CAPABILITIES.index("SETUID") + 1


def test_read_only_repairs_cover_the_directory_the_log_names_then_drop_read_only() -> None:
    logs = 'nginx: [emerg] open() "/var/run/nginx.pid" failed (30: Read-only file system)\n'
    repairs = candidates("read-only-rootfs", logs)
    assert [(r.kind, r.value) for r in repairs] == [("tmpfs", "/var/run"), ("drop", "read-only-rootfs")]
    assert "Read-only file system" in repairs[0].reason
    assert narrowest(["read-only-rootfs"], logs, lambda r: False) is None
    # a tmpfs over /etc would hide the files the image ships: only dropping read_only is offered
    assert [r.kind for r in candidates("read-only-rootfs", "sh: can't create /etc/x: Read-only file system")] == ["drop"]


def test_the_path_a_read_only_error_names_is_not_the_date_in_its_timestamp() -> None:
    logs = '2026/11/27 20:51:47 [emerg] 1#1: mkdir() "/var/cache/nginx/client_temp" failed (30: Read-only file system)'
    assert [(r.kind, r.value) for r in candidates("read-only-rootfs", logs)][0] == ("tmpfs", "/var/cache/nginx")


def test_two_culprits_are_repaired_by_a_repair_of_either() -> None:
    tried: list[str] = []

    def works(repair: Repair) -> bool:
        tried.append(repair.value)
        return repair.value == "CHOWN"

    logs = "chown: changing ownership of '/var/run/postgresql': Operation not permitted"
    found = narrowest(["read-only-rootfs", "cap-drop-all"], logs, works)
    assert found == Repair("cap_add", "CHOWN", "without CHOWN the service failed to start")
    assert tried == ["CHOWN"]  # no tmpfs was named: read_only has no narrower repair to try first


def test_the_fixes_the_logs_name_are_tried_alone_first() -> None:
    """read_only named by `Read-only file system`: two runs (it alone breaks, none of the fixes
    does not) instead of one per fix, and the same culprit."""
    calls: list[frozenset[str]] = []

    def breaks(subset: frozenset[str]) -> bool:
        calls.append(subset)
        return "ro" in subset

    assert culprits(["user", "caps", "pids", "ro"], breaks, frozenset({"ro"})) == ("ro",)
    assert calls == [frozenset({"ro"}), frozenset()]


def test_named_fixes_that_do_not_break_alone_cost_one_run_and_the_search_runs_among_all() -> None:
    calls: list[frozenset[str]] = []

    def breaks(subset: frozenset[str]) -> bool:
        calls.append(subset)
        return {"user", "caps"} <= subset

    assert culprits(["user", "caps", "pids"], breaks, frozenset({"caps"})) == ("user", "caps")
    assert calls[0] == frozenset({"caps"}) and len(calls) == 4


def test_named_fixes_are_not_tried_alone_when_that_cannot_save_a_run() -> None:
    """Two fixes, one named: the search among both costs two runs, as trying the named one
    alone and then none would."""
    calls: list[frozenset[str]] = []

    def breaks(subset: frozenset[str]) -> bool:
        calls.append(subset)
        return {"caps", "ro"} <= subset

    assert culprits(["caps", "ro"], breaks, frozenset({"caps"})) == ("caps", "ro")
    assert calls == [frozenset({"ro"}), frozenset({"caps"})]


def test_the_logs_name_read_only_and_capabilities() -> None:
    assert named_rules("sh: can't create /etc/x: Read-only file system") == {"read-only-rootfs"}
    assert named_rules("chown: /tmp/owned: Operation not permitted") == {"cap-drop-all"}
    assert named_rules("needs CAP_NET_RAW") == {"cap-drop-all"}
    assert named_rules("exited: no config") == frozenset()
