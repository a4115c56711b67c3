"""What one Compose service does at start-up, from its image's knowledge entry, its build and its
`command:`/`entrypoint:` overrides, with every derived fact carrying the observations behind it.

`of_service(name, service, context)` reads:

- the knowledge entry (harden.knowledge) of its `image:`, or, for a service with `build:`, of the
  external image its built stage (`target:`, else the last) reaches through FROM chains and stage
  names; the Dockerfile's own USER/ENTRYPOINT/CMD/ENV through that chain (harden.evidence.image);
- the scripts the build copies from its context and starts with, as the engine read them
  (harden.dockerfile.build.Build.scripts), and the Dockerfile's ENTRYPOINT/CMD themselves;
- the service's `user:`, `environment:` (variables in scripts), `command:` and `entrypoint:`.

Derived, only for a container that starts as root or as a user harden cannot tell (a non-root
process keeps no capability): capabilities from observations (gosu, su-exec, setpriv, runuser,
su, sudo, s6-setuidgid: SETUID and SETGID; chown/chgrp: CHOWN; chmod of a path the script chowned
to another user before: FOWNER; a write into such a path: DAC_OVERRIDE; setcap: SETFCAP; chroot:
SYS_CHROOT); and each written absolute path, classified: `runtime` (under /run, /var/run, /tmp,
/var/tmp, /var/cache/<x>, /dev/shm, /var/lib/<x>/tmp: a tmpfs candidate), `volume` (a volume or
tmpfs of the service covers it), `image` (anywhere else: `read_only` cannot be applied, the
observation is the reason) or `unknown` (its path uses a variable harden cannot tell).

An `entrypoint:` override replaces the image's entrypoint (and drops its CMD, as Docker does):
what the knowledge base says about that entrypoint no longer holds, and `voided` says so. A
service with both `image:` and `build:` is read from its build (the image name is the tag of what
is built). Example::

    from harden.evidence.runtime import of_service
    runtime = of_service("web", {"build": ".", "command": "sh -c 'envsubst < t > /etc/app.conf'"}, context)
    runtime.needs_caps        # {"CHOWN": (Observation(... source="docker-entrypoint.sh", line=12 ...),)}
    runtime.blocks_read_only  # (Write("/etc/app.conf", "image", observation, reason),)
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from harden import knowledge
from harden.evidence import image
from harden.evidence.shell import Observation, scan, scan_argv, scan_compose

if TYPE_CHECKING:
    from harden.dockerfile.build import Build

__all__ = ["Runtime", "Write", "of_service"]

_RUNTIME = re.compile(r"^(/run|/var/run|/tmp|/var/tmp|/dev/shm|/var/cache/[^/]+|/var/lib/[^/]+/tmp)(/|$)")
_SWITCH_CAPS = ("SETGID", "SETUID")
_SWITCHERS = frozenset({"gosu", "su-exec", "setpriv", "runuser", "su", "sudo", "s6-setuidgid"})
# Directories every Linux image ships files in, besides what its Dockerfile copies.
SYSTEM_DIRECTORIES = ("/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/opt", "/var/lib", "/var/www", "/srv")


class Context(Protocol):
    """What `of_service` reads of harden.passes.Context (typed here so that this package never
    imports the passes that will import it)."""

    @property
    def builds(self) -> Mapping[str, Build]: ...


class Write(NamedTuple):
    path: str
    where: str  # runtime | volume | image | unknown
    observation: Observation
    reason: str  # in words, for a finding
    tmpfs: str = ""  # for `runtime`: the directory a tmpfs would cover


class Runtime(NamedTuple):
    service: str
    image: str | None  # the reference whose knowledge applies (image:, or the build's base image)
    base_facts: knowledge.ImageFacts | None
    inherited_from: tuple[str, ...]  # how the base was reached: "Dockerfile:1 FROM nginx AS base", ...
    user: str | None  # the user it starts as; None: not known
    user_from: str  # where that user is set, in words
    switches_user: tuple[Observation, ...]
    needs_caps: dict[str, tuple[Observation, ...]]
    writes: tuple[Write, ...]
    ships_files_at: tuple[str, ...]  # directories the image has files in
    entrypoint_overridden: bool
    voided: str  # why knowledge about the image's entrypoint does not hold, or ""
    observations: tuple[Observation, ...]  # everything read, in order
    unknown: tuple[str, ...]  # what could not be read, and why

    @property
    def tmpfs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(w.tmpfs for w in self.writes if w.where == "runtime"))

    @property
    def blocks_read_only(self) -> tuple[Write, ...]:
        return tuple(w for w in self.writes if w.where == "image")


class _Image(NamedTuple):
    reference: str | None
    inherited_from: tuple[str, ...]
    user: str | None
    user_from: str
    observations: list[Observation]
    ships: tuple[str, ...]
    unknown: list[str]


def of_service(name: str, service: Mapping[str, Any], context: Context) -> Runtime:
    """What the service does at start-up (see the module docstring)."""
    build = context.builds.get(name) if service.get("build") is not None else None
    env = _service_env(service.get("environment"))
    read = _from_build(build, service, env) if build is not None else _from_image(service.get("image"))
    facts = knowledge.lookup(read.reference) if read.reference else None
    unknown = list(read.unknown)
    if read.reference and facts is None:
        unknown.append(f"the image {read.reference} is not in the knowledge base")
    observations = list(read.observations)
    overridden = "entrypoint" in service
    voided = ""
    for key in ("entrypoint", "command"):
        if key in service:
            observations += scan_compose(service[key], f"{key}:", 1, env)
    if overridden:
        voided = (
            "the service's entrypoint: replaces the image's entrypoint, so what the knowledge base says about it does not hold"
        )
    user, user_from = read.user, read.user_from
    if service.get("user") is not None and str(service.get("user")).strip():
        user, user_from = str(service["user"]).strip(), "the service's user:"
    elif user is None and facts is not None:
        user, user_from = facts.default_user, f"the knowledge base entry {facts.name} (default_user)"
    unknown += [
        f"{o.where}: {o.command} {o.detail}: what it runs is not read".replace("  ", " ")
        for o in observations
        if o.kind == "opaque"
    ]
    root = user is None or user.split(":", 1)[0] in ("root", "0")
    return Runtime(
        service=name,
        image=read.reference,
        base_facts=facts,
        inherited_from=read.inherited_from,
        user=user,
        user_from=user_from,
        switches_user=tuple(o for o in observations if o.kind in ("user", "supervisor")),
        needs_caps=_capabilities(observations) if root else {},
        writes=tuple(_classify(o, service, read.ships) for o in observations if o.kind == "write"),
        ships_files_at=read.ships,
        entrypoint_overridden=overridden,
        voided=voided,
        observations=tuple(observations),
        unknown=tuple(unknown),
    )


def _from_image(reference: object) -> _Image:
    ref = reference if isinstance(reference, str) and "$" not in reference else None
    unknown = [] if ref or reference is None else [f"the image {reference} is set from a variable"]
    why = "the image's own entrypoint scripts are not in this project: only the knowledge base tells what they do"
    return _Image(ref, (), None, "", [], SYSTEM_DIRECTORIES, [*unknown, why] if ref else unknown)


def _from_build(build: Build, service: Mapping[str, Any], env: dict[str, str]) -> _Image:
    document, stage = build.document, build.stage
    if document is None or stage is None:
        return _Image(None, (), None, "", [], SYSTEM_DIRECTORIES, [f"the build cannot be read: {build.problem}"])
    chain = document.chain(stage)
    inherited = tuple(f"{document.path}:{s.instructions[0].start_line + 1} FROM {s.base}" for s in chain)
    reference = document.external_base(stage)
    unknown = [] if reference else [f"{inherited[-1]}: the base image is set from a build argument without a default"]
    process = image.process(document, stage)
    env = {**image.environment(document, stage), **env}
    copied = image.copied_files(document, stage)
    observations: list[Observation] = []
    started: set[str] = set()
    for key, setting in (("entrypoint", process.entrypoint), ("command", process.cmd)):
        if setting is None or key in service or (key == "command" and "entrypoint" in service):
            continue  # replaced by the service (an entrypoint: override drops the image's CMD too)
        argv = image.argv(setting.instruction)
        observations += scan_argv(argv, document.path, setting.instruction.start_line + 1, env)
        started.update(c.image_path for c in image.scripts_started(argv, copied, image.workdir_of(document, stage)))
    if "entrypoint" not in service and (process.entrypoint is None or (process.cmd is None and "command" not in service)):
        unknown.append("the base image's ENTRYPOINT or CMD is inherited: only the knowledge base tells what it does")
    for script in build.scripts:
        if script.image_path not in started:
            continue
        if script.text is None:
            unknown.append(f"the start-up script {script.image_path} cannot be read: {script.problem}")
        else:
            observations += scan(script.text, script.source, env)
    user, user_from = None, ""
    if process.user is not None:
        user = image.user_name(process.user)
        user_from = f"{document.path}:{process.user.instruction.start_line + 1} USER {process.user.instruction.args.strip()}"
    ships = tuple(sorted({posixpath.dirname(p) for p in copied} - {"/"}))
    return _Image(reference, inherited, user, user_from, observations, SYSTEM_DIRECTORIES + ships, unknown)


def _service_env(value: object) -> dict[str, str]:
    """`environment:` as a mapping or a list of NAME=value (a name without value is not known)."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return dict(str(v).split("=", 1) for v in value if "=" in str(v))
    return {}


def _capabilities(observations: list[Observation]) -> dict[str, tuple[Observation, ...]]:
    needs: dict[str, list[Observation]] = {}
    for observation in observations:
        for capability in _needed(observation, observations):
            needs.setdefault(capability, []).append(observation)
    return {capability: tuple(found) for capability, found in sorted(needs.items())}


def _needed(observation: Observation, observations: list[Observation]) -> tuple[str, ...]:
    kind = observation.kind
    if kind == "user" and observation.command in _SWITCHERS:
        return _SWITCH_CAPS
    if kind == "owner":
        return ("CHOWN",)
    if kind == "capability":
        return ("SETFCAP",)
    if kind == "chroot":
        return ("SYS_CHROOT",)
    if kind in ("mode", "write") and _chowned_away(observation, observations):
        return ("FOWNER",) if kind == "mode" else ("DAC_OVERRIDE",)
    return ()


def _chowned_away(observation: Observation, observations: list[Observation]) -> Observation | None:
    """An earlier chown (in the same file) of this path or a directory above it, to a user other
    than root: root then acts on a file it does not own."""
    for earlier in observations[: observations.index(observation)]:
        other = earlier.detail.split(":", 1)[0] not in ("root", "0", "")
        same_file = earlier.kind == "owner" and earlier.command == "chown" and earlier.source == observation.source
        if same_file and other and _under(observation.path, earlier.path):
            return earlier
    return None


def _classify(observation: Observation, service: Mapping[str, Any], ships: tuple[str, ...]) -> Write:
    path = observation.path
    if observation.unknown:
        return Write(path, "unknown", observation, f"{observation.where} writes to {path}, whose value harden cannot tell")
    mounted = next((t for t in _mount_targets(service) if _under(path, t)), None)
    if mounted is not None:
        return Write(path, "volume", observation, f"{observation.where} writes to {path}, under the mount {mounted}")
    runtime = _RUNTIME.match(path)
    if runtime is not None:
        return Write(path, "runtime", observation, f"{observation.where} writes to {path}, a runtime directory", runtime.group(1))
    shipped = next((d for d in ships if path.startswith(d + "/")), None)
    where = f"into {shipped}, a directory the image ships files in" if shipped else "on the image's root filesystem"
    return Write(path, "image", observation, f"{observation.where} writes {path} {where}: read_only would make it fail")


def _mount_targets(service: Mapping[str, Any]) -> list[str]:
    """Where the service's volumes and tmpfs mounts are (short and long syntax)."""
    targets = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, Mapping):
            targets.append(str(volume.get("target", "")))
        elif isinstance(volume, str):
            parts = volume.split(":")
            targets.append(parts[1] if len(parts) > 1 else parts[0])
    tmpfs = service.get("tmpfs") or []
    for entry in [tmpfs] if isinstance(tmpfs, str) else tmpfs:
        targets.append(str(entry).split(":", 1)[0])
    return [posixpath.normpath(t) for t in targets if t.startswith("/")]


def _under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")
