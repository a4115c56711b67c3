"""The rules as `harden rules` lists them and `harden explain` documents one: a table (or JSON
rows), and what the fix tiers mean."""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from types import ModuleType

from harden.passes.options import describe

TIERS = """Fix tiers (as ruff's): safe fixes cannot change what a container does, and `harden fix`
applies them. review fixes change behaviour, and harden has evidence that the service still
works (knowledge: an image knowledge entry with its cited source; build: what harden read in the
project's Dockerfile, scripts and Compose file, with file and line; verified: a recorded run;
low-risk: a setting nothing a working service is known to use), so `harden fix` applies them
too. unsafe fixes have no evidence (an image harden knows nothing about, a script it cannot
read): `check` and `diff` show them with what to verify, and only `--unsafe-fixes` applies them.
display findings are reported only. A rule shown as review/unsafe gives each fix the tier its
evidence earns."""


def table(modules: Sequence[ModuleType]) -> str:
    """One line per rule (id, tiers, control, files, title), then the tiers explained."""
    rows = [(m.RULE.id, m.RULE.tiers, m.RULE.control, ",".join(m.RULE.kinds), m.RULE.title) for m in modules]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[4] for row in rows]
    return "\n".join(lines) + "\n\n" + TIERS


def json_rows(modules: Sequence[ModuleType]) -> str:
    rows = [
        {
            "id": m.RULE.id,
            "applicability": str(m.RULE.applicability),
            "unsafe_without_evidence": m.RULE.gated,
            "control": m.RULE.control,
            "kinds": list(m.RULE.kinds),
            "title": m.RULE.title,
            "peers": m.RULE.peers,
        }
        for m in modules
    ]
    return json.dumps(rows, indent=2)


def explanation(module: ModuleType) -> str:
    """A rule's documentation: its header, its module docstring, what fix tiers mean (for a rule
    with fixes), and its options last."""
    rule = module.RULE
    lines = [f"{rule.id}: {rule.title}", f"control: {rule.control}    fix: {rule.tiers}    files: {', '.join(rule.kinds)}"]
    if rule.peers:
        lines.append(f"equivalents: {rule.peers}")
    lines += ["", inspect.cleandoc(module.__doc__ or "")]
    if rule.applicability != "display":
        lines += ["", TIERS]
    options = describe(module)
    if options:
        lines += ["", *options]
    return "\n".join(lines)


def equivalents(peer_id: str) -> list[ModuleType]:
    """The rules whose peers name `peer_id` (a hadolint, KICS, Trivy or Checkov id, any case)."""
    from harden import passes

    return [m for m in passes.all_passes() if peer_named(m, peer_id)]


def peer_named(module: ModuleType, peer_id: str) -> str:
    """The peer entry of the rule that names `peer_id` as a whole word ("hadolint DL3002"), or ""."""
    wanted = peer_id.strip().lower()
    peers: str = module.RULE.peers
    for peer in peers.replace(";", ",").split(","):
        words = peer.strip().split()
        ids = [i.lower() for w in words[1:] for i in w.split("/")]
        if wanted in ids or wanted in (peer.strip().lower(), " ".join(words[1:]).lower()):
            return peer.strip()
    return ""
