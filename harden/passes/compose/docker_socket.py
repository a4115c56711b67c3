"""docker-socket: a service mounts the Docker socket.

What: reports a service whose `volumes:` (short or long syntax, on the service or merged from
an anchor) bind-mount the container engine's API socket: `/var/run/docker.sock` or
`/run/docker.sock` (also Podman's and containerd's sockets, and a rootless daemon's
`docker.sock`), or the whole `/run` or `/var/run` directory that holds it. Reported only:
harden never removes the mount, because what needed it (a reverse proxy that discovers
containers, a CI runner, Portainer) stops working without a replacement.

Why: the socket is the Docker API without authentication. Whoever can write to it can start a
privileged container that mounts the host's `/`: the service is root on the host (CIS Docker
Benchmark v1.6.0 5.32; KICS "Docker Socket Mounted In Container"; hadolint, Trivy and Checkov
do not read Compose files). Mounting it `:ro` does not help: a read-only bind mount of a socket
still lets the process connect to it and send any request.

The safer alternative: a socket proxy (for example tecnativa/docker-socket-proxy or
linuxserver/socket-proxy) that alone mounts the socket and lets through only the read-only
API calls the service needs (`CONTAINERS=1`, `POST=0`), on an internal network; the service
reaches it with `DOCKER_HOST=tcp://socket-proxy:2375` (Traefik:
`--providers.docker.endpoint=tcp://socket-proxy:2375`). A service that must start
containers (a CI runner, Portainer) needs write access, and is then as powerful as root:
run it on a host of its own, or use rootless Docker.

Fix safety: display (no fix).

Example (fixtures/docker-socket/display):

    services:
      proxy:
        image: traefik:2.6
        volumes:
          - /var/run/docker.sock:/var/run/docker.sock:ro

is reported and left unchanged.
"""

from __future__ import annotations

import re

from harden.compose import ComposeDocument
from harden.model import Applicability, Finding, Rule, Severity
from harden.passes import Context
from harden.passes.compose.layers import services
from harden.passes.compose.reading import mounts, normalise_path

RULE = Rule(
    id="docker-socket",
    title="No service mounts the Docker socket",
    control="CIS 5.32",
    applicability=Applicability.DISPLAY,
    kinds=("compose",),
    peers="KICS Docker Socket Mounted In Container",
)
RATIONALE = (
    "The Docker socket is the daemon's API without authentication: a process that can write to it can start a "
    "privileged container with the host's / mounted, so the service is root on the host."
)

_SOCKET = re.compile(r"(^|/)(docker|podman|containerd)\.sock$")
_SOCKET_DIRECTORIES = frozenset({"/run", "/var/run", "/var/run/docker", "/run/docker", "/run/containerd"})


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings = []
    for service in services(document, context):
        for mount in mounts(service, here=True):
            if mount.kind != "bind":
                continue
            source = normalise_path(mount.source)
            if _SOCKET.search(source):
                what = f"mounts the container engine's socket {mount.source}"
            elif source in _SOCKET_DIRECTORIES:
                what = f"mounts {mount.source}, the directory that holds the Docker socket"
            else:
                continue
            read_only = " (:ro does not help: a read-only mount of a socket still accepts every request)"
            message = (
                f"{what}{read_only if mount.read_only else ''}: full control of the Docker daemon, which is root "
                "on the host. harden does not remove it; safer: a socket proxy (e.g. tecnativa/docker-socket-proxy) "
                "that allows only the read-only API calls it needs (CONTAINERS=1, POST=0), reached with "
                "DOCKER_HOST=tcp://socket-proxy:2375 on an internal network"
            )
            line, column = document.service_position(service, "volumes", mount.index)
            findings.append(Finding(RULE, message, line, column, Severity.ERROR, RATIONALE, None, service.name, mount.target))
    return findings
