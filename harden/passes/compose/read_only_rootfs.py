"""read-only-rootfs: services run with a read-only root filesystem.

What: for each service without `read_only:` (own or merged), add `read_only: true` and a
`tmpfs:` for every path the image writes at runtime outside its volumes: always `/tmp` (the
`tmpfs` option: the paths every service gets, whatever its image), plus what the image
knowledge lists (postgres `/var/run/postgresql`, nginx `/var/cache/nginx` and `/var/run`). A
path already covered by a volume, a bind mount or an existing tmpfs stays as it is (named
volumes already mounted stay writable); a path at or under a read-only mount gets no tmpfs
either: it is not writable with or without read_only, and Compose refuses a tmpfs at a mount's
target ("target /tmp already mounted"). An existing `tmpfs:` list is extended, never replaced.
When services merge an anchor and all need the same value, the key goes into the anchored
mapping once (`read_only: true` usually does; `tmpfs` only when their images write the same
paths). A service that extends another (`extends:`) inherits what harden adds there and gets
only the rest (its own tmpfs paths, in a list Compose appends to the inherited one); a service
that extends one of a file harden does not read is reported, not changed.

A language runtime (knowledge role `runtime`: python, node, golang, .NET, distroless) says
nothing of what the application run on it writes (Django's runserver creates `db.sqlite3` in its
working directory, an upload handler writes beside the code): for a service of such an image, or
built FROM one, the fix is `unsafe` unless a verified record (`harden verify --learn`) covers it.

Not fixed, only reported: a service whose image keeps its data outside any volume (read_only
would stop the database from writing; mount a volume there first), an image the knowledge says
read_only breaks (`read_only_breaks`: pi-hole's start script setcaps a file on the root
filesystem and exits 1 when it cannot; `read_only_breaks_if_env`: nextcloud writes
redis-session.ini beside its shipped PHP .ini files when the service sets REDIS_HOST; a tmpfs
would hide those files, so no tmpfs can make it work), `read_only: false` written
by the user (a choice harden respects), and a service that is already `read_only: true` but
lacks a tmpfs for a path its image writes (it may fail to start).

Why: a read-only root filesystem stops an attacker (or a bug) from changing the container's
binaries and configuration, or dropping tools into it, and it makes every writable path an
explicit decision (CIS Docker Benchmark v1.6.0 5.13; hadolint, Trivy and Checkov do not read
Compose files).

What might break (fix safety: review): anything the image writes outside its volumes and the
tmpfs paths fails with "Read-only file system": for unknown images, pid files, caches,
`/var/run`, generated configuration and uploads are the usual suspects. tmpfs contents are lost
on restart and count against the container's memory.

Example (fixtures/read-only-rootfs/postgres):

    services:
      db:
        image: postgres:16
        volumes:
          - db-data:/var/lib/postgresql/data
    volumes:
      db-data:

becomes

    services:
      db:
        image: postgres:16
        volumes:
          - db-data:/var/lib/postgresql/data
        read_only: true
        tmpfs:
          - /tmp
          - /var/run/postgresql
    volumes:
      db-data:
"""

from __future__ import annotations

import re

from harden.compose import ComposeDocument, Mount, Service, environment
from harden.knowledge import ImageFacts
from harden.model import NO_EVIDENCE, Applicability, Caveat, Evidence, EvidenceKind, Finding, Fix, Rule, Severity
from harden.passes import Context
from harden.passes.compose import startup
from harden.passes.compose.images import image_label
from harden.passes.compose.layers import here, services, set_in
from harden.passes.compose.placement import Unit, in_anchor, per_service, plan_findings, route
from harden.passes.compose.reading import as_list, covered, mounts, normalise_path, truthy
from harden.passes.compose.wants import Want
from harden.passes.options import Option

RULE = Rule(
    id="read-only-rootfs",
    title="Services run with a read-only root filesystem and tmpfs for what they write",
    control="CIS 5.13",
    applicability=Applicability.REVIEW,
    kinds=("compose",),
    gated=True,
)
RATIONALE = (
    "A read-only root filesystem keeps an attacker from changing the container's binaries and configuration or "
    "adding tools to it, and makes every writable path an explicit decision."
)
_TMPFS_PATH = re.compile(r"/[^:\s]*")  # a tmpfs entry is `PATH[:OPTIONS]`
OPTIONS = (
    Option(
        "tmpfs",
        ("/tmp",),
        "the paths every service gets a tmpfs for, whatever its image (besides those its image is known to write)",
        valid=lambda paths: all(_TMPFS_PATH.fullmatch(path) for path in paths),
        expects="absolute paths, without ':' or spaces",
    ),
)


def _writes(image: ImageFacts) -> str:
    if image.writable_paths:
        return f"writes {', '.join(image.writable_paths)} outside its volumes"
    return "writes nothing outside its volumes"


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings: list[Finding] = []
    wants: dict[str, list[Want]] = {}
    notes: dict[str, str] = {}
    might: dict[str, str] = {}
    evidence: dict[str, tuple[Evidence, ...]] = {}
    for service in services(document, context):
        start = startup.of(service, context)
        image = start.facts
        tmpfs_value = service.get("tmpfs")
        tmpfs_list = [tmpfs_value] if isinstance(tmpfs_value, str) else as_list(tmpfs_value)
        tmpfs_paths = [str(t).split(":", 1)[0].strip() for t in tmpfs_list or []]
        service_mounts = mounts(service)
        writable = [m for m in service_mounts if not m.read_only]
        needed = _needed((*context.options["tmpfs"], *start.tmpfs), image, service_mounts, tmpfs_paths)
        leave, finding = _leaves_alone(document, service, image, needed, service_mounts)
        if not leave and start.blocks_read_only:
            leave, finding = _written_at_start(document, service, start.blocks_read_only)
        if finding is not None:
            findings.append(finding)
        if leave:
            continue
        service_wants = [Want("read_only", True)]
        if needed:
            service_wants.append(Want("tmpfs", needed, extend=tmpfs_value is not None))
        service_wants, elsewhere = route(service, service_wants)
        if not service_wants:
            continue
        wants[service.name] = service_wants
        kept = [m for m in writable if m.kind != "tmpfs" and m.target]
        name = image.name if image else ("a recorded run" if start.recorded else None)
        notes[service.name] = _note(name, image_label(service), needed, tmpfs_paths) + (f"; {elsewhere}" if elsewhere else "")
        might[service.name] = _might_break(image is None and not start.recorded, needed, kept)
        # an unknown image may write anywhere: no evidence (unsafe)
        evidence[service.name] = tuple(
            e._replace(detail=f"{e.detail}: {_writes(image)}") if image and e.kind is EvidenceKind.KNOWLEDGE else e
            for e in start.evidence
        )
        if image is not None and image.role == "runtime" and not start.recorded:
            notes[service.name] += f"; {image.name} is a language runtime: the application decides what it writes"
            might[service.name] = _might_break(True, needed, kept)
            evidence[service.name] = (NO_EVIDENCE,)

    def describe(unit: Unit, names: list[str]) -> tuple[str, tuple[Caveat, ...]]:
        details = "; ".join((f"{n}: " if len(names) > 1 else "") + notes[n] for n in names)
        message = f"root filesystem is writable: harden adds read_only: true{in_anchor(unit, 'read_only')}; {details}"
        return message, per_service(might, names)

    blocked = "root filesystem is writable, and harden cannot add read_only here"
    findings.extend(plan_findings(RULE, RATIONALE, document, wants, context, describe, blocked, evidence=evidence))
    findings.sort(key=lambda f: (f.line, f.column))
    return findings


def _leaves_alone(
    document: ComposeDocument,
    service: Service,
    image: ImageFacts | None,
    needed: list[str],
    service_mounts: list[Mount],
) -> tuple[bool, Finding | None]:
    """(True, what to say, if anything) when harden adds no read_only to `service`: one is set
    already (true or false), the image keeps data outside volumes, or tmpfs is one value that
    would have to grow; else (False, None)."""
    read_only = service.get("read_only")
    tmpfs_value = service.get("tmpfs")
    tmpfs_list = [tmpfs_value] if isinstance(tmpfs_value, str) else as_list(tmpfs_value)
    if read_only is not None and not truthy(read_only):
        if (read_only is False or str(read_only).strip().lower() == "false") and here(service, "read_only"):
            line, column = document.service_position(service, "read_only")
            message = f"read_only: false is set explicitly{set_in(service, 'read_only')}; harden leaves it (a choice you made)"
            return True, _finding(line, column, Severity.INFO, message, service.name)
        return True, None
    breaks = _breaks(service, image)
    if truthy(read_only):
        if image is not None and breaks and here(service, "read_only"):
            line, column = document.service_position(service, "read_only")
            message = f"read_only: true is set{set_in(service, 'read_only')}, but {image.name} breaks under it: {breaks}"
            return True, _finding(line, column, Severity.WARNING, message, service.name)
        if image is not None and needed and here(service, "read_only"):
            line, column = document.service_position(service, "read_only")
            message = (
                f"read_only: true is set{set_in(service, 'read_only')}, but nothing keeps {', '.join(needed)} "
                f"writable, which {image.name} "
                "writes at runtime: it may fail to start; add a tmpfs (or volume) for each"
            )
            return True, _finding(line, column, Severity.WARNING, message, service.name)
        return True, None
    if image is not None and breaks:
        if not here(service, "read_only"):
            return True, None
        message = f"root filesystem is writable; harden does not add read_only: {image.name} breaks under it: {breaks}"
        return True, _finding(service.line, service.column, Severity.INFO, message, service.name)
    data = [p for p in (image.data_paths if image else ()) if not _on_volume(p, [m.target for m in service_mounts])]
    if data:
        if not here(service, "read_only"):
            return True, None
        message = (
            f"root filesystem is writable; harden does not add read_only: {image.name if image else ''} keeps "
            f"its data in {', '.join(data)}, which is not on a volume, so read_only would stop it writing "
            "(and the data is lost with the container): mount a named volume there first"
        )
        return True, _finding(service.line, service.column, Severity.WARNING, message, service.name)
    if (tmpfs_value is not None and tmpfs_list is None) or (isinstance(tmpfs_value, str) and needed):
        if not here(service, "tmpfs"):
            return True, None
        line, column = document.service_position(service, "tmpfs")
        message = (
            "root filesystem is writable; harden does not add read_only: tmpfs is written as a single value "
            f"{set_in(service, 'tmpfs').strip() or 'here'} and {', '.join(needed)} would need adding to it (make it a list)"
        )
        return True, _finding(line, column, Severity.WARNING, message, service.name)
    return False, None


def _written_at_start(document: ComposeDocument, service: Service, blocks: tuple[str, ...]) -> tuple[bool, Finding | None]:
    """read_only is not added: the service writes at start-up where its image ships files (a tmpfs
    there would hide them), read in its build or command."""
    if not here(service):
        return True, None
    message = (
        f"root filesystem is writable; harden does not add read_only: the service writes at start-up where its image "
        f"ships files ({'; '.join(blocks[:2])}{'; ...' if len(blocks) > 2 else ''}), and a tmpfs there would hide them"
    )
    return True, _finding(service.line, service.column, Severity.INFO, message, service.name)


def _breaks(service: Service, image: ImageFacts | None) -> str:
    """Why read_only breaks the service's image ("" when nothing known does): always
    (`read_only_breaks`), or because the service sets a variable (`read_only_breaks_if_env`)."""
    if image is None:
        return ""
    variables = environment(service.get("environment"))
    # an empty value counts as unset, as the entrypoints test it (`[ -z "${REDIS_HOST:-}" ]`)
    reasons = [why for var, why in image.read_only_breaks_if_env.items() if var in variables and variables[var] != ""]
    return "; ".join([image.read_only_breaks, *reasons] if image.read_only_breaks else reasons)


def _needed(always: tuple[str, ...], image: ImageFacts | None, service_mounts: list[Mount], tmpfs_paths: list[str]) -> list[str]:
    """The paths the service writes (`always`, and what its image is known to write) that no
    writable mount or tmpfs covers yet. A read-only mount keeps its path unwritable with or
    without read_only, and Compose refuses a tmpfs at a mount's target ("target /tmp already
    mounted"), so a path under one is not needed either."""
    paths = list(dict.fromkeys([*always, *(image.writable_paths if image else ())]))
    writable = [m.target for m in service_mounts if not m.read_only]
    read_only = [m.target for m in service_mounts if m.read_only]
    return [p for p in paths if not covered(p, [*writable, *tmpfs_paths]) and not covered(p, read_only)]


def _finding(line: int, column: int, severity: Severity, message: str, subject: str, fix: Fix | None = None) -> Finding:
    return Finding(RULE, message, line, column, severity, RATIONALE, fix, subject)


def _on_volume(path: str, targets: list[str]) -> bool:
    """A data path is on a volume when a mount covers it or lies inside it (postgres' data
    directory /var/lib/postgresql/data inside /var/lib/postgresql)."""
    path = normalise_path(path)
    return bool(covered(path, targets)) or any(normalise_path(t).startswith(path + "/") for t in targets)


def _note(name: str | None, label: str, needed: list[str], existing: list[str]) -> str:
    tmpfs = f"tmpfs {', '.join(needed)}" if needed else "no tmpfs needed"
    if existing and needed:
        tmpfs += f" (added to your tmpfs {', '.join(existing)})"
    if name is None:
        return f"{tmpfs}; unknown image ({label}): harden does not know what else it writes"
    return f"{tmpfs}, where {name} writes at runtime"


def _might_break(unknown: bool, needed: list[str], kept: list[Mount]) -> str:
    text = "read_only" + (f" with tmpfs {', '.join(needed)}" if needed else "")
    if kept:
        where = ", ".join(f"volume {m.source} ({m.target})" if m.kind == "volume" and m.source else m.target for m in kept)
        text += f"; data stays writable in {where}"
    if unknown:
        return text + (
            "; unknown image: writes anywhere else (pid files, caches, /var/run, generated config, uploads) fail "
            "with 'Read-only file system': add a tmpfs or volume for each"
        )
    return text + "; tmpfs contents are lost on restart"
