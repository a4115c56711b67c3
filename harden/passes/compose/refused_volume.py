"""refused-volume: a service mounts a volume where its image version refuses one.

What: reports a service whose `volumes:` (short or long syntax, any type) put a mount at a path that the
image knowledge lists under `refused_volumes` for the image's version: PostgreSQL 18 and later
(`postgres`, `postgres:latest`, `postgres:18-alpine` and images derived from them) exit at
start when /var/lib/postgresql/data is a mount point, because their data now lives in
/var/lib/postgresql/18/docker. The message gives the fix the knowledge names (mount the volume
at /var/lib/postgresql instead). Not reported when the service sets a variable the knowledge
names under `refused_volumes_unless_env` (postgres: `PGDATA`, which moves the data directory
and turns the check off).

Reported only (display): moving a volume is a data migration (an old database needs
pg_upgrade, or a dump and a restore, to be readable by the new major version), never an edit
harden makes for you. Decision: reported as an error, since the service does not start.

Why: the image's own entrypoint refuses to start (docker-library/postgres, 18+:
"The suggested container configuration for 18+ is to place a single mount at
/var/lib/postgresql"); a Compose file written for an older major version with an unpinned tag
(`postgres`, `postgres:latest`) breaks on the next pull.

Fix safety: display (no fix).

Example (fixtures/refused-volume/postgres18):

    services:
      db:
        image: postgres:18
        volumes:
          - db-data:/var/lib/postgresql/data
    volumes:
      db-data:

is reported and left unchanged.
"""

from __future__ import annotations

from harden.compose import ComposeDocument, environment
from harden.model import Applicability, Finding, Rule, Severity
from harden.passes import Context
from harden.passes.compose.images import facts
from harden.passes.compose.layers import services
from harden.passes.compose.reading import mounts, normalise_path

RULE = Rule(
    id="refused-volume",
    title="No service mounts a volume where its image version refuses one",
    control="image entrypoint",
    applicability=Applicability.DISPLAY,
    kinds=("compose",),
)
RATIONALE = (
    "Some image versions refuse to start with a volume at a path an older version used (PostgreSQL 18+ at "
    "/var/lib/postgresql/data): the service fails at its next start."
)


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings = []
    for service in services(document, context):
        image = facts(service)
        if image is None or not image.refused_volumes:
            continue
        variables = environment(service.get("environment"))
        if any(variables.get(var) for var in image.refused_volumes_unless_env):
            continue
        refused = {normalise_path(path): fix for path, fix in image.refused_volumes.items()}
        for mount in mounts(service, here=True):
            fix = refused.get(normalise_path(mount.target))
            if fix is None:
                continue
            what = f"{mount.kind} {mount.source}" if mount.source else f"an anonymous {mount.kind}"
            by_name = image.inherited_by == "name"
            inherited = f" (if it is built on {image.inherited_from}, as its name suggests)" if by_name else ""
            message = f"mounts {what} at {mount.target}, which {service.image}{inherited} refuses at start: {fix}"
            line, column = document.service_position(service, "volumes", mount.index)
            findings.append(Finding(RULE, message, line, column, Severity.ERROR, RATIONALE, None, service.name, mount.target))
    return findings
