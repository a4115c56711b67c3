"""Which container engine `harden verify` drives, and how to call it with Docker's semantics.

What: `find()` returns an `Engine`: the engine's command line (`docker` or `podman`, for
`inspect`, `logs`, `restart`, `rm`) and its Compose command line (`docker compose`, or
`podman-compose`). Docker is chosen when its daemon answers and the compose plugin is
installed, else podman with podman-compose; HARDEN_ENGINE=docker or =podman chooses one. None
usable: `EngineError`, which the command line turns into one line and exit status 2.

Why Docker's semantics: a verification that passes on podman must pass on Docker, or it proves
nothing (../shared/RUNTIME.md §8). Two differences matter for hardening, and podman-compose is
given a wrapper (`--podman-path`) that removes them on `run` and `create`:
- under `--read-only` podman mounts tmpfs on /run, /tmp and /var/tmp by itself, which hides the
  very missing-tmpfs breaks verify must find: the wrapper adds `--read-only-tmpfs=false`;
- Docker lets any user bind ports below 1024 (net.ipv4.ip_unprivileged_port_start=0, moby#41030)
  and podman does not: the wrapper adds that sysctl, except in a network namespace the container
  shares (host, another container's, a named one), where Docker does not set it either;
- podman makes the capabilities `cap_add` names ambient for a container that runs as a non-root
  user, so they stay effective after the user switch; Docker does not (moby#8460: a non-root
  process keeps them only in its inheritable and bounding sets, moby#36587; moby#52830 would
  change that and is not merged). `cap_add: [CHOWN]` with a non-root `user:` works on podman
  and fails on Docker. The wrapper runs `run` and `create` with `--runtime`, an OCI runtime
  wrapper (OCI_RUNTIME, kept in harden's cache directory) that empties the ambient, effective and permitted sets of a non-root
  process in the container's config.json before calling the real runtime; the container keeps
  that runtime for its restarts.

Why not `podman compose`: it hands the file to an external provider (podman-compose or
docker-compose through the API socket) without a way to pass the wrapper, and the API socket
gives read-only containers the implicit tmpfs anyway (podman 4.3 has no switch for it).

What might break: the wrapper inserts `--read-only-tmpfs=false` after the first `--read-only`
argument, which podman-compose writes among the options before the image; a command argument
spelled `--read-only` in a service that is not read_only would get it too. The wrapper is a
POSIX shell script in the run's temporary directory: a host without /bin/sh cannot use podman.
The OCI runtime wrapper removes a non-root process's capabilities where Docker would keep them
inheritable (a setuid or file-capability binary could gain them on Docker, without
no-new-privileges): there, verify on podman reports a break that Docker would not have.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PROBE_TIMEOUT = 30.0  # seconds for `docker info` / `podman info`: a stuck daemon is no engine

# podman with Docker's semantics (see the module docstring). `$port` is unquoted on purpose: empty
# when the container shares a network namespace, and then it must vanish from the arguments.
WRAPPER = """#!/bin/sh
# harden verify: podman with Docker's semantics (harden/verify/engine.py)
if [ "$1" = run ] || [ "$1" = create ]; then
  port=--sysctl=net.ipv4.ip_unprivileged_port_start=0 prev= seen=
  for a; do
    case "$prev=$a" in
      --network=host|--net=host|--network=container:*|--net=container:*|--network=ns:*) port= ;;
      *=--network=host|*=--net=host|*=--network=container:*|*=--net=container:*|*=--network=ns:*) port= ;;
    esac
    prev=$a
  done
  for a; do
    shift
    set -- "$@" "$a"
    if [ "$a" = --read-only ] && [ -z "$seen" ]; then set -- "$@" --read-only-tmpfs=false; seen=1; fi
  done
  sub=$1; shift
  exec PODMAN RUNTIME "$sub" $port "$@"
fi
exec PODMAN "$@"
"""

# The OCI runtime podman is given for Docker's capabilities of a non-root process (see above).
OCI_RUNTIME = """#!PYTHON
# harden verify: the OCI runtime with Docker's capabilities for a non-root process (harden/verify/engine.py)
import json, os, sys

args = sys.argv[1:]
if "create" in args and "--bundle" in args:
    path = os.path.join(args[args.index("--bundle") + 1], "config.json")
    with open(path) as file:
        spec = json.load(file)
    process = spec.get("process") or {}
    if (process.get("user") or {}).get("uid", 0) != 0:
        for name in ("ambient", "effective", "permitted"):
            (process.get("capabilities") or {})[name] = []
        with open(path, "w") as file:
            json.dump(spec, file)
os.execv(REAL, [REAL, *args])
"""


class EngineError(Exception):
    """No usable engine, or the engine refused a command verify cannot do without."""


@dataclass(frozen=True)
class Engine:
    kind: str  # "docker" or "podman"
    cli: tuple[str, ...]  # the engine's own command line
    compose: tuple[str, ...]  # the Compose command line (before its global options)
    version: str  # "podman 4.3.1", for the report
    schedules_healthchecks: bool  # False: verify runs each health check itself
    runtime: str = ""  # podman: the path of its OCI runtime (crun, runc), wrapped for Docker's capabilities

    def compose_command(self, project: str, files: tuple[str, ...], wrapper: Path | None) -> list[str]:
        """The Compose command line for `project` with these files (none: the directory's own)."""
        command = list(self.compose)
        if self.kind == "podman":
            if wrapper is None:
                raise EngineError("podman needs the wrapper that gives it Docker's semantics")
            command += ["--podman-path", str(wrapper), "--in-pod", "false"]
        command += ["-p", project]
        for name in files:
            command += ["-f", name]
        return command

    def environment(self) -> dict[str, str]:
        """The environment of the engine's commands: podman-compose puts a service that names no
        network on the project's only declared network, where Docker Compose puts it on `default`
        (a segmentation harden verifies would be another one); its compatibility setting restores
        Docker's behaviour."""
        if self.kind != "podman":
            return dict(os.environ)
        return {**os.environ, "PODMAN_COMPOSE_DEFAULT_NET_BEHAVIOR_COMPAT": "1"}

    def oci_runtime(self) -> Path:
        """The OCI runtime wrapper for this engine's runtime, written once (see _oci_runtime_path)."""
        text = OCI_RUNTIME.replace("PYTHON", sys.executable).replace("REAL", repr(self.runtime))
        path = _oci_runtime_path(text)
        if not path.is_file() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.name}.{os.getpid()}")
            partial.write_text(text)
            partial.chmod(0o755)
            os.replace(partial, path)
        return path

    def write_wrapper(self, directory: Path) -> Path | None:
        """Write the podman wrapper into `directory` (podman only); its path."""
        if self.kind != "podman":
            return None
        runtime = f"--runtime {_quote(str(self.oci_runtime()))}" if self.runtime else ""
        path = directory / "podman"
        path.write_text(WRAPPER.replace("PODMAN", _quote(self.cli[0])).replace("RUNTIME", runtime))
        path.chmod(0o755)
        return path


def _oci_runtime_path(text: str) -> Path:
    """Where the OCI runtime wrapper lives: in harden's cache directory, named by its content,
    not in the run's temporary directory, because podman keeps a container's runtime path: a
    container left by a run that was killed must still be removable after its directory is gone."""
    import hashlib

    import platformdirs

    name = f"oci-runtime-{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    return Path(platformdirs.user_cache_dir("harden")) / "verify" / name


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _answers(command: list[str]) -> str | None:
    """The command's standard output when it exits 0 within PROBE_TIMEOUT, else None."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PROBE_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _docker() -> Engine | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    version = _answers([docker, "info", "--format", "{{.ServerVersion}}"])
    if version is None or _answers([docker, "compose", "version"]) is None:
        return None
    return Engine("docker", (docker,), (docker, "compose"), f"docker {version}", True)


def _podman_compose() -> str | None:
    """podman-compose on PATH, or beside the Python running harden (a virtual environment)."""
    beside = Path(sys.executable).parent / "podman-compose"
    return shutil.which("podman-compose") or (str(beside) if beside.is_file() else None)


def _podman() -> Engine | None:
    podman, compose = shutil.which("podman"), _podman_compose()
    if podman is None or compose is None:
        return None
    version = _answers([podman, "version", "--format", "{{.Client.Version}}"])
    runtime = _answers([podman, "info", "--format", "{{.Host.OCIRuntime.Path}}"])
    if version is None or not runtime:
        return None
    return Engine("podman", (podman,), (compose,), f"podman {version}", False, runtime)


def find() -> Engine:
    """The engine to verify with (see the module docstring); EngineError when none is usable."""
    wanted = os.environ.get("HARDEN_ENGINE", "")
    if wanted not in ("", "docker", "podman"):
        raise EngineError(f"HARDEN_ENGINE={wanted!r}: use docker or podman")
    for kind, probe in (("docker", _docker), ("podman", _podman)):
        if wanted in ("", kind):
            engine = probe()
            if engine is not None:
                return engine
    asked = f"{wanted} (HARDEN_ENGINE)" if wanted else "Docker with the compose plugin, or podman with podman-compose"
    raise EngineError(f"no usable container engine: {asked} is needed, installed and running")
