"""What the Compose passes know of how a service starts: its image's knowledge entry, and, for a
service that builds its image or overrides its `command:` or `entrypoint:`, what harden read in
the project (harden.evidence.runtime: the Dockerfile's FROM chain, USER, ENTRYPOINT and CMD, the
start-up scripts the build copies, the override's shell text), each fact with file and line.

cap-drop-all and read-only-rootfs ask `of(service, context)` for the capabilities the service
needs back, the paths it writes at start-up, what keeps `read_only` from applying, and the
evidence that their fix keeps it working. Decisions:

- A service with `image:` and no override is what the knowledge base says of that image (as
  before): evidence `knowledge`, or none for an unknown image. A verified record of the image
  (harden.verified: a recorded run, `.harden/verified.toml`) adds what it showed the image
  needs, as `verified` evidence; an image harden does not know then gets `review` fixes.
- A `build:` service inherits the knowledge entry of the base image its Dockerfile reaches
  (`FROM nginx`, through stage names), plus what its own ENTRYPOINT/CMD and scripts do. Both
  are unions: more capabilities added back and more tmpfs paths only weaken the hardening, they
  never break the service.
- A `command:` override adds what its text does; the image's entrypoint still runs, so its
  knowledge still holds. An `entrypoint:` override replaces the entrypoint: what the knowledge
  base says about it no longer holds (the entry still names the image's data paths and user).
- Evidence: `build` (or `knowledge` and `build`) when everything that runs at start-up was read:
  no unreadable script, no opaque command (`eval`, `source`), no base image harden cannot see or
  does not know, and no replaced entrypoint whose programs harden cannot read. Otherwise none:
  the fix is `unsafe`, shown with what to verify.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from harden import knowledge
from harden.compose import Service
from harden.model import NO_EVIDENCE, Evidence, EvidenceKind
from harden.passes.compose.images import facts, knowledge_evidence

if TYPE_CHECKING:
    from harden.passes import Context

# The keys of a service that decide how it starts (harden.evidence.runtime reads these).
_KEYS = ("image", "build", "environment", "entrypoint", "command", "user", "volumes", "tmpfs")


class StartUp(NamedTuple):
    """How a service starts, as far as harden can tell (see the module docstring)."""

    facts: knowledge.ImageFacts | None  # the knowledge entry that applies (the build's base image's)
    caps: dict[str, str]  # capability -> why, from knowledge and from what harden read
    tmpfs: tuple[str, ...]  # runtime directories written at start-up (read in the project)
    blocks_read_only: tuple[str, ...]  # why read_only cannot be applied (`file:line: ...`)
    evidence: tuple[Evidence, ...]  # why the service still works once hardened ((NO_EVIDENCE,): unsafe)
    unknown: tuple[str, ...]  # what could not be read
    setuid: tuple[str, ...] = ()  # `file:line: text` where start-up runs a setuid binary (sudo, su)

    @property
    def recorded(self) -> bool:
        """A verified record (a recorded run) says what the service needs."""
        return any(e.kind is EvidenceKind.VERIFIED for e in self.evidence)


def of(service: Service, context: Context, what: str = "") -> StartUp:
    """How `service` starts; `what` is said of the knowledge entry when it is the evidence."""
    return _with_record(_read(service, context, what), _record(service, context))


def _read(service: Service, context: Context, what: str) -> StartUp:
    """What the knowledge base and the project's own files say (see the module docstring)."""
    image = facts(service)
    overridden = any(service.get(key) is not None for key in ("entrypoint", "command"))
    if not service.has_build and not overridden:
        evidence = knowledge_evidence(image, what) if image else NO_EVIDENCE
        return StartUp(image, dict(image.cap_add) if image else {}, (), (), (evidence,), ())
    from harden.evidence.runtime import of_service  # here: most services are plain images

    runtime = of_service(service.name, _plain(service), context)
    holds = runtime.base_facts if not runtime.entrypoint_overridden else None
    caps = dict(holds.cap_add) if holds else {}
    for capability, seen in runtime.needs_caps.items():
        caps.setdefault(capability, "; ".join(f"{o.where}: {o.text}" for o in seen[:2]))
    blocks = tuple(w.reason for w in runtime.blocks_read_only)  # each names its file and line
    unknown = tuple(runtime.unknown)
    # sudo and su gain root through their setuid bit, which no-new-privileges disables (gosu,
    # su-exec and setpriv are run by root and need no setuid bit)
    setuid = tuple(f"{o.where}: {o.text}" for o in runtime.switches_user if o.command in ("sudo", "su"))
    return StartUp(runtime.base_facts, caps, runtime.tmpfs, blocks, _evidence(runtime, holds, what), unknown, setuid)


def _with_record(start: StartUp, record: Any) -> StartUp:
    """A verified record of the image adds what the recorded run needed, and is evidence: the
    run showed the service working hardened with it (whatever else harden could not read),
    except for read_only when the record says its run did not show that."""
    if record is None:
        return start
    from harden.verified import READ_ONLY_NOT_VERIFIED

    caps = dict(start.caps)
    for capability in record.cap_add:
        caps.setdefault(capability, f"a recorded run needed it ({record.source})")
    ran = Evidence(EvidenceKind.VERIFIED, record.source, f"{record.engine}, {record.date}: {record.ran}".strip(", :"))
    known = tuple(e for e in start.evidence if e.kind is not EvidenceKind.NONE)
    tmpfs = tuple(dict.fromkeys((*start.tmpfs, *record.writable_paths)))
    blocks = start.blocks_read_only
    if record.note.startswith(READ_ONLY_NOT_VERIFIED):  # the run wrote outside runtime directories
        blocks = (*blocks, f"{record.source}: {record.note}")
    return start._replace(caps=caps, tmpfs=tmpfs, evidence=(ran, *known), blocks_read_only=blocks)


def _evidence(runtime: Any, holds: knowledge.ImageFacts | None, what: str) -> tuple[Evidence, ...]:
    """What was read (`build`) and the knowledge that still holds, or NO_EVIDENCE when part of
    the start-up is unread."""
    if _unread(runtime, holds):
        return (NO_EVIDENCE,)
    known = (knowledge_evidence(holds, what),) if holds is not None else ()
    read = [*runtime.inherited_from[-1:], *(f"{o.where} {o.command}".strip() for o in runtime.observations[:3])]
    if not read:
        return known or (NO_EVIDENCE,)
    where = runtime.observations[0].where if runtime.observations else runtime.inherited_from[-1].split(" ", 1)[0]
    return (Evidence(EvidenceKind.BUILD, where, "; ".join(read)), *known)


def _unread(runtime: Any, holds: knowledge.ImageFacts | None) -> bool:
    """Whether something that runs at start-up was not read, and knowledge does not cover it."""
    if runtime.entrypoint_overridden:
        return True  # the replacement's programs are the image's own files, which harden cannot read
    covered_by_knowledge = ("only the knowledge base tells", "is not in the knowledge base")
    for reason in runtime.unknown:
        if any(words in reason for words in covered_by_knowledge):
            if holds is None:
                return True
            continue
        return True  # an unreadable build or script, an opaque command, an invisible base image
    return holds is None and not runtime.observations


def _record(service: Service, context: Context) -> Any:
    """The verified record of the service's image that covers the service (harden.verified.Record), or None."""
    if not context.verified:
        return None
    from harden.verified import BUILD, key

    image = service.resolved_image or (f"{BUILD}{service.name}" if service.has_build and not service.image else None)
    if not image:
        return None
    record = context.verified.get(key(image))
    return record if record is not None and record.covers(service.name) else None


def _plain(service: Service) -> dict[str, Any]:
    return {key: service.get(key) for key in _KEYS if service.get(key) is not None}
