"""`harden verify --learn PATH`: what a service of an image harden does not know needs, measured.

What: for each service whose image is not in the knowledge base (harden.knowledge.lookup is
None; an image written with a variable is left out) and that works in the original (first start
and restart, harden.verify.run):

1. writes: the original runs as written (a service that is not `read_only`) and the engine lists
   what each container wrote to its root filesystem (`podman diff`/`docker diff`, taken after
   the restart). A path under a runtime directory (/run, /var/run, /tmp, /var/tmp,
   /var/cache/<x>, /var/log/<x>) becomes a writable path (a tmpfs); a path under a mount (a
   volume) needs nothing; any other path means read_only was not verified: the record lists no
   writable paths, says so in its `note`, and the runs below leave read_only off that service.
2. capabilities: starting from Docker's default set (harden.verify.bisect.DEFAULT_CAPABILITIES),
   the hardened project (every fix, the `--unsafe-fixes` tier) runs with a verified record whose
   `cap_add` is the default set minus the capabilities tried (harden.verify.blame.Trial);
   harden.verify.needs chooses which to drop together in each run (all at once, then halves,
   then one run to confirm the set found; one at a time when that confirmation breaks). A
   capability is kept when its removal breaks start-up or health.
3. the records are merged into the project's `.harden/verified.toml` (harden.verified.render;
   a record of the same image is replaced) and printed.

Cost: one run of the original plus a few runs of the whole hardened project: 1 when the service
needs no default capability, 5 when it needs one, about 10 for two (harden.verify.needs; 14
more when its confirmation breaks), each a start-up, restart and teardown (about ten seconds
for a busybox service on podman); `--timeout` bounds the whole command.

What might break: a write directly in /run or /tmp gives that whole directory as a tmpfs; a
runtime directory the image ships files in is hidden by its tmpfs. A capability needed only
later than the settling time (harden.verify.run.SETTLE), or only on some code path, is not
seen. Needs are taken to be independent (harden.verify.needs states the assumption): the
final set of capabilities ran together (the confirmation run), except after the fallback to one
at a time, where it ran together only when the last one tried was unnecessary: run `harden
verify` afterwards (it uses the record as evidence). A service that is `read_only`
in the original is learned as it is (it can only have written to its own tmpfs and volumes).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import NamedTuple

from harden import clock, knowledge, verified
from harden.config import Settings
from harden.engine import select
from harden.verify import needs
from harden.verify.bisect import DEFAULT_CAPABILITIES
from harden.verify.blame import Trial
from harden.verify.engine import Engine
from harden.verify.project import Project, ProjectError, harden_copy
from harden.verify.run import Runner

RUNTIME = ("/run", "/var/run", "/tmp", "/var/tmp")  # a tmpfs at the directory a write is under
RUNTIME_PARENTS = ("/var/cache", "/var/log")  # a tmpfs at /var/cache/<x>, never /var/cache itself
# What the engine itself writes into every container (mount points of /etc/hosts and the like).
ENGINE_PATHS = ("/etc", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/run", "/run/.containerenv", "/.containerenv")


class Writes(NamedTuple):
    """Where a service wrote, classified (see the module docstring)."""

    tmpfs: tuple[str, ...]  # runtime directories: writable paths
    elsewhere: tuple[str, ...]  # paths read_only would refuse that no tmpfs may cover


class Learned(NamedTuple):
    """One project's result: the records learned and what was not learned, and why."""

    records: dict[str, verified.Record]  # by verified.key
    skipped: list[str]  # "service: why"


def classify(changes: list[tuple[str, str]], mounts: tuple[str, ...]) -> Writes:
    """Where the written paths (`diff` lines) fall: the leaves only (a changed directory whose
    child is listed says nothing more), without the engine's own files and what is under a mount."""
    paths = [path for _, path in changes if path not in ENGINE_PATHS]
    leaves = [p for p in paths if not any(other.startswith(p + "/") for other in paths)]
    tmpfs: list[str] = []
    elsewhere: list[str] = []
    for path in leaves:
        if any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts):
            continue
        directory = _runtime_directory(path)
        (tmpfs if directory else elsewhere).append(directory or path)
    return Writes(tuple(dict.fromkeys(tmpfs)), tuple(elsewhere))


def _runtime_directory(path: str) -> str:
    """The tmpfs for a write at `path`: the first directory below a runtime directory (the
    runtime directory itself for a file written directly in it), or "" when none may be."""
    for base in RUNTIME:
        if path.startswith(base + "/"):
            parts = path[len(base) + 1 :].split("/")
            return f"{base}/{parts[0]}" if len(parts) > 1 else base
    for base in RUNTIME_PARENTS:
        parts = path[len(base) + 1 :].split("/") if path.startswith(base + "/") else []
        if len(parts) > 1:
            return f"{base}/{parts[0]}"
    return ""


def learn_project(project: Project, settings: Settings, engine: Engine, runner: Runner, workdir: Path) -> Learned:
    """Learn each unknown image's needs in `project` (see the module docstring)."""
    unknown = {s: i for s, i in project.images().items() if knowledge.lookup(i) is None}
    skipped = [f"{s}: {i} is in the knowledge base" for s, i in project.images().items() if s not in unknown]
    wrapper = engine.write_wrapper(workdir)
    seen: dict[str, tuple[Writes, str]] = {}  # service -> (its writes, the image that ran)

    def look(name: str) -> None:
        for container in runner.inspect(runner.containers(name)):
            service = ((container.get("Config") or {}).get("Labels") or {}).get("com.docker.compose.service", "")
            mounts = tuple(str(m.get("Destination", "")) for m in container.get("Mounts") or [])
            digest = str(container.get("ImageDigest") or container.get("Image") or "")
            seen[service] = (classify(runner.diff(container["Id"]), mounts), digest)

    original = runner.stack(
        "original", project.copy(workdir / "original"), project.files, project.name("original"), wrapper, look
    )
    unsafe = dataclasses.replace(settings, unsafe_fixes=True, safe_only=False)
    selector = select.from_settings(unsafe)
    applied, errors = harden_copy(project, unsafe, selector, project.copy(workdir / "hardened"))
    if errors:
        from harden.output import text

        raise ProjectError("\n".join(text.diagnostic(error) for error in errors))
    trial = Trial(project, unsafe, selector, runner, wrapper, workdir)
    records: dict[str, verified.Record] = {}
    for service, image in unknown.items():
        states = (original.first.get(service), original.restart.get(service))
        if not all(state is not None and state.works for state in states) or service not in seen:
            skipped.append(f"{service}: did not work in the original: nothing to learn")
            continue
        if verified.key(image) in records:
            continue  # another service of the same image was learned
        writes, digest = seen[service]
        read_only = [f for f in applied if f.rule.id == "read-only-rootfs" and service in f.subject.split(", ")]
        ids = frozenset(f.id for f in applied) - ({f.id for f in read_only} if writes.elsewhere else set())
        caps = _capabilities(trial, service, image, ids, writes)
        records[verified.key(image)] = _record(image, service, digest, engine.version, caps, writes)
    return Learned(records, skipped)


def _capabilities(trial: Trial, service: str, image: str, ids: frozenset[str], writes: Writes) -> tuple[str, ...]:
    """The default capabilities whose removal breaks the service (harden.verify.needs: a few
    runs, each with a record whose `cap_add` is the default set minus the capabilities dropped)."""

    def works(dropped: frozenset[str]) -> bool:
        keep = tuple(c for c in DEFAULT_CAPABILITIES if c not in dropped)
        record = verified.Record(image, "", "", "", "harden verify --learn", keep, writes.tmpfs, (), "", "")
        worked = trial.works(service, ids, record, merged=False)
        names = "every default capability" if not keep else ", ".join(c for c in DEFAULT_CAPABILITIES if c in dropped)
        trial.runner.progress(f"{service}: dropped {names}: {'works' if worked else 'breaks'}")
        return worked

    def say(message: str) -> None:
        trial.runner.progress(f"{service}: {message}")

    caps = needs.needed(DEFAULT_CAPABILITIES, works, say)
    for capability in DEFAULT_CAPABILITIES:
        trial.runner.progress(f"{service}: without {capability} it {'breaks: kept' if capability in caps else 'works'}")
    return caps


def _record(image: str, service: str, digest: str, engine: str, caps: tuple[str, ...], writes: Writes) -> verified.Record:
    """The record of what the runs of `service` showed (see the module docstring); no read_only
    claim when the service wrote where no tmpfs may go."""
    note, paths = "", writes.tmpfs
    if writes.elsewhere:
        note = (
            f"{verified.READ_ONLY_NOT_VERIFIED}: the service writes {', '.join(writes.elsewhere[:5])} (not a runtime directory)"
        )
        paths = ()
    added = f"cap_add {', '.join(caps)}" if caps else "no capability"
    kept = f"read_only, tmpfs {', '.join(paths)}" if paths else ("read_only" if not note else "without read_only")
    ran = f"harden verify --learn: every fix (--unsafe-fixes), cap_drop ALL + {added}, {kept}"
    today = clock.now().date().isoformat()
    return verified.Record(image, digest, engine, today, ran, caps, paths, (), note, "", (service,))
