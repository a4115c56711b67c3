"""cap-drop-all: every service drops all capabilities and adds back only what its image needs.

What: for each service without `cap_drop: [ALL]` (own or merged), add `cap_drop: [ALL]` and a
`cap_add:` with the capabilities the image knowledge lists for its entrypoint, each with an
end-of-line comment that says why (postgres: CHOWN, DAC_OVERRIDE, SETGID, SETUID,
because its entrypoint fixes the data directory's ownership and steps down to `postgres` with
gosu). Lists the user wrote are extended, never replaced: a `cap_drop: [NET_RAW]` gets `ALL`
added, a `cap_add: [NET_ADMIN]` keeps NET_ADMIN and gets the missing ones; the finding says
so. When services merge an anchor (`<<: *defaults`) and all of them need the same value, the
key goes into the anchored mapping once. A privileged service is left to `privileged`. A
service that extends another (`extends:`) inherits what harden adds there (Compose appends the
lists) and gets only the capabilities the other does not get, in its own `cap_add`; it may so
keep capabilities the other service's image needs and its own does not. A service that extends
one of a file harden does not read is reported, not changed.

Unknown images (no knowledge entry, or built from a Dockerfile under a name harden does not
know): the fix is still offered, as `cap_drop: [ALL]` alone, and its message says what
commonly breaks, so the reviewer can add it back. Decision: an unknown image gets the fix
rather than a report, because most application images (a Python or Node server, a Go binary)
need no capability at all, and the review step is where the rare entrypoint that switches
user is caught; reporting only would leave every custom service with Docker's default set.

Why: Docker gives every container 14 capabilities by default (CHOWN, DAC_OVERRIDE, FOWNER,
FSETID, KILL, SETGID, SETUID, SETPCAP, NET_BIND_SERVICE, NET_RAW, SYS_CHROOT, MKNOD,
AUDIT_WRITE, SETFCAP); a compromised process can use them to read any file in the container,
forge packets (NET_RAW) or create device nodes. Dropping the ones the service does not use
takes them away from an attacker (CIS Docker Benchmark v1.6.0 5.4; KICS "Container
Capabilities Unrestricted"; hadolint, Trivy and Checkov do not read Compose files).

What might break (fix safety: review): an entrypoint that needs a capability the knowledge
does not list fails with "Operation not permitted": typically one that chowns a volume or
switches user (needs CHOWN, SETUID, SETGID; DAC_OVERRIDE and FOWNER when it fixes ownership of
data directories), or a server that binds a port below 1024 with `network_mode: host`
(NET_BIND_SERVICE; the knowledge lists it under `host_network_cap_add`, added only for such a
service: on its own network namespace Docker 20.10+ sets net.ipv4.ip_unprivileged_port_start=0,
so any process may bind any port and NET_BIND_SERVICE is not needed). A binary with file
capabilities (setcap) refuses to start when they are not in the bounding set.

Example (fixtures/cap-drop-all/redis):

    services:
      cache:
        image: redis:7
        volumes:
          - cache-data:/data
    volumes:
      cache-data:

becomes

    services:
      cache:
        image: redis:7
        volumes:
          - cache-data:/data
        cap_drop:
          - ALL
        cap_add:
          - CHOWN  # entrypoint chowns files in /data not owned by redis
          - SETGID  # gosu redis
          - SETUID  # gosu redis
    volumes:
      cache-data:
"""

from __future__ import annotations

from collections.abc import Callable

from harden import knowledge
from harden.compose import ComposeDocument, Service
from harden.model import NO_EVIDENCE, Applicability, Caveat, Evidence, EvidenceKind, Finding, Fix, Rule, Severity, finding_id
from harden.passes import Context
from harden.passes.compose import non_root as compose_non_root
from harden.passes.compose import startup
from harden.passes.compose.images import facts, image_label, is_root, user_evidence, user_of
from harden.passes.compose.layers import here, services, set_in
from harden.passes.compose.placement import Unit, in_anchor, per_service, plan_findings, route
from harden.passes.compose.reading import as_list, truthy
from harden.passes.compose.wants import Want

RULE = Rule(
    id="cap-drop-all",
    title="Services drop all capabilities and add back only what the image needs",
    control="CIS 5.4",
    applicability=Applicability.REVIEW,
    kinds=("compose",),
    peers="KICS Container Capabilities Unrestricted",
    gated=True,
)
RATIONALE = (
    "Docker's default capability set lets a compromised process read any file in the container, forge network "
    "packets and create device nodes. A service keeps only the capabilities its image needs."
)
# Capabilities a process uses only as root (or to become another user): a service that starts
# as a non-root user (`user:`) cannot use them, so they are not added back for it. Others
# (NET_BIND_SERVICE, NET_RAW, ...) stay: a binary with file capabilities needs them in the
# bounding set even when a non-root user runs it.
# SYS_CHROOT is one of them: the images that need it call chroot(2) as root, to step down
# (elasticsearch 7's `chroot --userspec`) or for sshd's privilege separation.
ROOT_ONLY = frozenset({"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "SETGID", "SETUID", "SYS_CHROOT"})
COMMONLY_BROKEN = (
    "an entrypoint that switches user (gosu, su-exec, s6-overlay) needs CHOWN, SETUID and SETGID, and DAC_OVERRIDE "
    "and FOWNER when it fixes ownership of data directories"
)


def capability(name: object) -> str:
    text = str(name).strip().upper()
    return text[4:] if text.startswith("CAP_") else text


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings: list[Finding] = []
    wants: dict[str, list[Want]] = {}
    notes: dict[str, str] = {}
    might: dict[str, str] = {}
    evidence: dict[str, tuple[Evidence, ...]] = {}
    assumed: set[str] = set()  # services whose capabilities count on the user compose-non-root adds
    for service in services(document, context):
        if truthy(service.get("privileged")):
            continue
        start = startup.of(service, context)
        image = start.facts
        drop = service.get("cap_drop")
        add = service.get("cap_add")
        drop_list, add_list = as_list(drop), as_list(add)
        if (drop is not None and drop_list is None) or (add is not None and add_list is None):
            findings.extend(_not_a_list(document, service, "cap_drop" if drop is not None and drop_list is None else "cap_add"))
            continue
        needed, non_root, assumes = _needed(service, start, context)
        assumed.update([service.name] if assumes else [])
        added = {capability(c) for c in add_list or []}
        missing = {cap: why for cap, why in needed.items() if cap not in added}
        if "ALL" in {capability(c) for c in drop_list or []}:
            findings.extend(_lacking(document, service, image, missing))
            continue
        service_wants = [Want("cap_drop", ["ALL"], extend=drop_list is not None)]
        if missing:
            service_wants.append(Want("cap_add", list(missing), extend=add_list is not None, comments=missing))
        service_wants, elsewhere = route(service, service_wants)
        if not service_wants:
            continue
        wants[service.name] = service_wants
        notes[service.name] = _note(service, image, drop_list, add_list, missing, non_root) + (
            f"; {elsewhere}" if elsewhere else ""
        )
        might[service.name] = _might_break(service, image, missing, non_root)
        evidence[service.name] = _evidence(document, service, start, missing)

    def describe(unit: Unit, names: list[str]) -> tuple[str, tuple[Caveat, ...]]:
        details = "; ".join((f"{n}: " if len(names) > 1 else "") + notes[n] for n in names)
        message = f"the container keeps Docker's default capabilities: harden adds cap_drop: [ALL]{in_anchor(unit)}; {details}"
        return message, per_service(might, names)

    blocked = "capabilities are not restricted, and harden cannot add cap_drop: [ALL] here"
    requires = _user_fixes(document, context, assumed)
    findings.extend(plan_findings(RULE, RATIONALE, document, wants, context, describe, blocked, requires, evidence))
    findings.sort(key=lambda f: (f.line, f.column))
    return findings


def _evidence(
    document: ComposeDocument, service: Service, start: startup.StartUp, missing: dict[str, str]
) -> tuple[Evidence, ...]:
    """Why the service still starts without Docker's default capabilities: what harden read of
    how it starts (its image's knowledge entry, which lists what it needs back; its build and
    scripts), or a non-root `user:` the project sets (such a process holds no capabilities); an
    unknown image run as root has none (unsafe)."""
    said = f"needs {', '.join(missing)}" if missing else "needs no capability"
    found = tuple(e._replace(detail=f"{e.detail}: {said}") if e.kind is EvidenceKind.KNOWLEDGE else e for e in start.evidence)
    if EvidenceKind.NONE not in {e.kind for e in found}:
        return found
    return (user_evidence(document, service) or NO_EVIDENCE,)


def _not_a_list(document: ComposeDocument, service: Service, key: str) -> list[Finding]:
    if not here(service, key):
        return []
    line, column = document.service_position(service, key)
    message = f"{key} is not a list (interpolated?){set_in(service, key)}; harden leaves capabilities alone"
    return [_finding(line, column, Severity.INFO, message, service.name)]


def _needed(service: Service, start: startup.StartUp, context: Context) -> tuple[dict[str, str], bool, bool]:
    """(the capabilities the service needs back, with why; whether it runs as a non-root user;
    whether that user is the one compose-non-root adds in the same run)."""
    image = start.facts
    needed = dict(sorted(start.caps.items()))
    if image and str(service.get("network_mode") or "").strip() == "host":  # no per-container port sysctl there
        needed = dict(sorted({**needed, **image.host_network_cap_add}.items()))
    user = service.get("user")
    assumes = False
    if (user is None or not str(user).strip()) and _non_root_fix_applies(context):
        user = compose_non_root.user_it_adds(facts(service))  # compose-non-root sets it in the same run
        assumes = bool(user)
    non_root = user is not None and str(user).strip() != "" and not is_root(str(user).strip())
    if non_root:  # the entrypoint runs as that user: it cannot use what only root uses
        needed = {cap: why for cap, why in needed.items() if cap not in ROOT_ONLY}
    return needed, non_root, assumes


def _lacking(
    document: ComposeDocument, service: Service, image: knowledge.ImageFacts | None, missing: dict[str, str]
) -> list[Finding]:
    """cap_drop: [ALL] is set already: what cap_add lacks is reported, never added."""
    if not missing or not here(service, "cap_drop"):
        return []
    line, column = document.service_position(service, "cap_drop")
    message = (
        f"cap_drop: [ALL] is set{set_in(service, 'cap_drop')}, but cap_add lacks {', '.join(missing)}, "
        f"which {image.name if image else ''}"
        f" needs ({_whys(missing)}); harden does not change capabilities you set: the entrypoint may fail"
    )
    return [_finding(line, column, Severity.WARNING, message, service.name)]


def _user_fixes(document: ComposeDocument, context: Context, assumed: set[str]) -> Callable[[list[str]], tuple[str, ...]]:
    """For the services of a unit: the ids of the compose-non-root fixes in this file that add
    the `user:` their capabilities count on (none when that user is set in another file of the
    project: the fix there is applied in the same run, by the same selector)."""
    found: list[dict[str, str]] = []

    def requires(names: list[str]) -> tuple[str, ...]:
        if not assumed.intersection(names):
            return ()
        if not found:
            fixes = [f for f in compose_non_root.check(document, context.for_pass(compose_non_root)) if f.fix is not None]
            found.append(
                {n: finding_id(f.rule.id, document.path, f.subject, f.about) for f in fixes for n in f.subject.split(", ")}
            )
        return tuple(dict.fromkeys(found[0][n] for n in names if n in assumed and n in found[0]))

    return requires


def _non_root_fix_applies(context: Context) -> bool:
    settings = context.settings
    return settings.rule_enabled(compose_non_root.RULE.id) and settings.applies(compose_non_root.RULE.applicability)


def _finding(line: int, column: int, severity: Severity, message: str, subject: str, fix: Fix | None = None) -> Finding:
    return Finding(RULE, message, line, column, severity, RATIONALE, fix, subject)


def _whys(caps: dict[str, str]) -> str:
    return "; ".join(f"{cap}: {why}" for cap, why in caps.items())


def _note(
    service: Service,
    image: knowledge.ImageFacts | None,
    drop_list: list[object] | None,
    add_list: list[object] | None,
    missing: dict[str, str],
    non_root: bool,
) -> str:
    parts = []
    if drop_list:
        parts.append(f"your cap_drop ({', '.join(map(str, drop_list))}) is kept and ALL added to it")
    if image is None and missing:  # from a verified record
        parts.append(f"cap_add {', '.join(missing)}, which a recorded run of {image_label(service)} needed")
    elif image is None:
        parts.append(f"unknown image ({image_label(service)}): no cap_add; if it breaks, {COMMONLY_BROKEN}")
    elif missing:
        parts.append(f"cap_add {', '.join(missing)}, which {image.name} needs (each commented with why)")
    else:
        parts.append(f"{image.name} needs no capability back")
    if image is not None and non_root and set(image.cap_add) & ROOT_ONLY:
        parts.append(
            f"it runs as user {service.get('user') or compose_non_root.user_it_adds(image)}, so the capabilities only root uses "
            f"({', '.join(sorted(set(image.cap_add) & ROOT_ONLY))}) are not added back"
        )
    if add_list:
        parts.append(f"your cap_add ({', '.join(map(str, add_list))}) is kept")
    return "; ".join(parts)


def _might_break(service: Service, image: knowledge.ImageFacts | None, missing: dict[str, str], non_root: bool) -> str:
    if image is None and missing:  # from a verified record
        return (
            f"cap_drop ALL + cap_add {', '.join(missing)} (what a recorded run needed); anything it did not do then "
            "and needs a capability fails with 'Operation not permitted'"
        )
    if image is None:
        user = user_of(service, None)
        if user is not None and not is_root(user):
            return (
                f"cap_drop ALL (unknown image, runs as {user}: a non-root process holds no "
                "capabilities, so this rarely breaks anything but a binary with file capabilities)"
            )
        return (
            f"cap_drop ALL, no cap_add (unknown image): {COMMONLY_BROKEN}; it fails with "
            "'Operation not permitted' until you add them"
        )
    caps = ", ".join(missing)
    text = "cap_drop ALL" + (f" + cap_add {caps}" if caps else "")
    how = f"runs as user {service.get('user') or compose_non_root.user_it_adds(image)}" if non_root else _how(image)
    if how:
        text += f" ({how})"
    return text + "; anything else that needs a capability fails with 'Operation not permitted'"


def _how(image: knowledge.ImageFacts) -> str:
    how = image.drops_privileges
    if how in ("gosu", "su-exec", "setpriv") and is_root(image.runtime_user):  # gitea: s6 and sshd stay root
        return f"entrypoint runs its service as {image.unprivileged_user or 'another user'} via {how}; its supervisor stays root"
    if how in ("gosu", "su-exec", "setpriv"):
        return f"entrypoint drops to user {image.runtime_user} via {how}"
    if how == "master-worker":
        return f"master process switches its workers to user {image.unprivileged_user or 'an unprivileged user'}"
    if how == "s6-overlay":
        return "s6-overlay init switches to the PUID/PGID user"
    return ""
