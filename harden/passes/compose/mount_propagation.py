"""mount-propagation: a bind mount propagates mounts to or from the host (`shared`).

What: reports each bind mount in `volumes:` (on the service or merged from an anchor) whose
propagation is `shared` or `rshared`: the short syntax's options (`/mnt:/mnt:rshared`,
`/data:/data:ro,shared`) or the long syntax's `bind: {propagation: shared}`. `slave`,
`rslave`, `private` and `rprivate` (Docker's default) are not reported. Reported only:
harden never changes it, because what asked for it (a storage plugin, a container that mounts
disks for others, a CSI driver) would stop working.

Why: with shared propagation, mounts made inside the container appear on the host and on
every other mount of that tree, and the host's mounts appear inside: a compromised container
can mount over host paths that other processes trust (CIS Docker Benchmark v1.6.0 5.20,
"Ensure mount propagation mode is not set to shared"; KICS has no Compose query for it).

The safer alternative: `rslave` when the container only needs to see what the host mounts
later (a backup agent, a monitoring exporter reading `/`), and the default `rprivate`
otherwise; keep `rshared` for the storage driver that mounts for other containers, alone.

Fix safety: display (no fix).

Example (fixtures/mount-propagation/display):

    services:
      storage:
        image: example/storage
        volumes:
          - /mnt/disks:/mnt/disks:rshared
          - type: bind
            source: /srv
            target: /srv
            bind:
              propagation: shared
      exporter:
        image: example/exporter
        volumes:
          - /:/host:ro,rslave

reports both mounts of storage, and nothing of exporter.
"""

from __future__ import annotations

from harden.compose import ComposeDocument, split_colons
from harden.model import Applicability, Finding, Rule, Severity
from harden.passes import Context
from harden.passes.compose.layers import services, written_here
from harden.passes.compose.reading import as_list, mounts

RULE = Rule(
    id="mount-propagation",
    title="No bind mount uses shared propagation",
    control="CIS 5.20",
    applicability=Applicability.DISPLAY,
    kinds=("compose",),
)
RATIONALE = (
    "With shared propagation, mounts made in the container appear on the host and the host's in the container: a "
    "compromised service can mount over host paths that other processes trust."
)
_SHARED = frozenset({"shared", "rshared"})


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings = []
    for service in services(document, context):
        items = as_list(written_here(service, "volumes")) or []
        for mount in mounts(service, here=True):
            propagation = _propagation(items[mount.index])
            if mount.kind != "bind" or propagation not in _SHARED:
                continue
            message = (
                f"bind mount {mount.source} -> {mount.target} has {propagation} propagation (CIS 5.20): mounts made in "
                "the container reach the host and the host's reach the container. harden does not change it; use "
                "rslave if the service only needs to see what the host mounts later, else remove it (rprivate)"
            )
            line, column = document.service_position(service, "volumes", mount.index)
            findings.append(Finding(RULE, message, line, column, Severity.WARNING, RATIONALE, None, service.name, mount.target))
    return findings


def _propagation(item: object) -> str:
    """The propagation mode a `volumes:` entry sets ('' when none)."""
    if isinstance(item, dict):
        bind = item.get("bind")
        return str(bind.get("propagation", "") or "").strip() if isinstance(bind, dict) else ""
    if not isinstance(item, str):
        return ""
    parts = split_colons(item.strip())
    options = parts[-1].split(",") if len(parts) >= 3 else []
    return next((o.strip() for o in options if o.strip() in _SHARED), "")
