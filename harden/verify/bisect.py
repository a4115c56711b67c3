"""Which applied fixes broke a service, and the narrowest repair: pure search over an oracle.

`harden verify` knows that a service worked in the original configuration and not in the
hardened one. `culprits` finds the fixes responsible by running the hardened configuration again
with fewer fixes applied (the oracle `breaks(subset)` builds the configuration with only those
finding ids applied, through the one pipeline and harden.engine.select.ByIds, and tells whether
the service still fails). It returns a 1-minimal set: every fix in it is needed for the break
(removing any one makes the service work), found with one run per applied fix, or, when the
fixes the logs name (`named_rules`: `Read-only file system` names read_only) break the service
applied alone, with one run more than there are such fixes (2 instead of 5 for a service with
five fixes that writes to its read-only root). A break that needs two fixes together (a user and
the capabilities that user no longer needs) returns both.

`narrowest` then tries repairs in order, each one run: for a capability fix, one `cap_add` at a
time from Docker's default set (the capability a log line names first); for `read_only`, a tmpfs
at the directory a `Read-only file system` log line names when it holds runtime state (`/run`,
`/tmp`, `/var/cache/<x>`, ...; never `/etc` or `/usr`, whose shipped files a tmpfs would hide);
and, failing those, dropping the fix for that service, with the reason. It returns the first that makes the service work.

What might break: an oracle that is not deterministic (a service that fails one start in ten)
gives a wrong culprit; verify restarts each configuration once and reports a service that did
not work in the original as such, which keeps most flaky services out of the search.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

# Docker's default capability set: what `cap_drop: [ALL]` takes away, in the order tried.
DEFAULT_CAPABILITIES = (
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "NET_RAW",
    "SYS_CHROOT",
    "MKNOD",
    "AUDIT_WRITE",
    "SETFCAP",
)
# A path at the start of a word or after a quote or parenthesis (not the `/11/27` of a date in a
# log line's timestamp), followed later on the line by the error.
_READ_ONLY_PATH = re.compile(r"""(?:^|(?<=[\s"'`(]))(/[^\s"'`:()]+)["'`]?[^\n]*?Read-only file system""")


class Repair(NamedTuple):
    """One change to the hardened service that makes it work again."""

    kind: str  # cap_add | tmpfs | drop
    value: str  # the capability, the tmpfs path, or the rule id of the fix dropped
    reason: str  # why, in words (with the log line when one said it)


def culprits(
    applied: Sequence[str], breaks: Callable[[frozenset[str]], bool], suspects: frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """A 1-minimal subset of `applied` (finding ids) that still breaks the service. `breaks`
    is called with subsets only; the caller knows `breaks(frozenset(applied))` is true.
    `suspects` (the fixes the logs name, `named_rules`) are tried first when that can save a run
    (they are at least two fewer than the fixes applied): when only they, applied alone, still
    break the service, the search runs among them (one run each) instead of among all; else one
    run is lost and the search runs among all. When the break has more than one cause, the
    culprits found are then those the logs named."""
    named = [fix for fix in applied if fix in suspects]
    if named and len(named) + 1 < len(applied) and breaks(frozenset(named)):
        applied = named
    kept = list(applied)
    for fix in applied:
        trial = [f for f in kept if f != fix]
        if breaks(frozenset(trial)):
            kept = trial
    return tuple(kept)


def named_rules(logs: str) -> frozenset[str]:
    """The rules whose fixes the log lines name: `Read-only file system` (EROFS, which only a
    read-only mount gives) names read-only-rootfs; `Operation not permitted` (EPERM) or a
    `CAP_` name names cap-drop-all, its most common cause."""
    rules = {"read-only-rootfs"} if "Read-only file system" in logs else set()
    if "Operation not permitted" in logs or re.search(r"\bCAP_[A-Z_]+\b", logs):
        rules.add("cap-drop-all")
    return frozenset(rules)


def candidates(rule: str, logs: str) -> list[Repair]:
    """The repairs to try for a culprit fix of `rule`, narrowest first, guided by the logs."""
    if rule == "cap-drop-all":
        named = [c for c in DEFAULT_CAPABILITIES if re.search(rf"\b(CAP_)?{c}\b", logs)]
        order = named + [c for c in DEFAULT_CAPABILITIES if c not in named]
        return [Repair("cap_add", c, f"without {c} the service failed to start") for c in order]
    if rule == "read-only-rootfs":
        found = [Repair("tmpfs", _directory(path), line.strip()) for line, path in _read_only_paths(logs) if _runtime(path)]
        unique = list({r.value: r for r in found}.values())
        return [*unique, Repair("drop", rule, "the service writes where no tmpfs can go: read_only is left off")]
    return [Repair("drop", rule, f"the service does not work with {rule}: left off for it")]


def narrowest(rules: Sequence[str], logs: str, works: Callable[[Repair], bool]) -> Repair | None:
    """The first candidate repair of the culprit fixes' `rules` with which the service works
    (each tried once, with every fix applied), or None. Two fixes that break a service only
    together (read_only's fresh tmpfs and the CHOWN that would have given it to the service's
    user) are repaired by a repair of either."""
    for repair in (r for rule in rules for r in candidates(rule, logs) if r.kind != "drop"):
        if works(repair):
            return repair
    return None


def _read_only_paths(logs: str) -> list[tuple[str, str]]:
    return [(line, match.group(1)) for line in logs.splitlines() for match in [_READ_ONLY_PATH.search(line)] if match]


# Where a tmpfs may go: directories of runtime state. A tmpfs over a directory the image ships
# files in (/etc, /usr, /opt) would hide them; over data (/var/lib) it would lose it.
RUNTIME_DIRECTORIES = ("/run/", "/var/run/", "/tmp/", "/var/tmp/", "/var/cache/", "/var/log/", "/dev/shm/")


def _runtime(path: str) -> bool:
    return path.startswith(RUNTIME_DIRECTORIES) and _directory(path) != "/var/cache"


def _directory(path: str) -> str:
    """The directory a tmpfs should cover for a file written at `path` (the path itself when it
    names a directory a process creates, such as `mkdir /run/app`: a trailing component without
    a dot is taken as a directory only when the log says so, so the parent is the safe choice)."""
    parent = path.rsplit("/", 1)[0]
    return parent or "/"
