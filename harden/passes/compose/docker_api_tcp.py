"""docker-api-tcp: the Docker API is reachable over TCP without TLS.

What: reports, per service,

- a published port 2375 (the Docker API's unencrypted port), host or container side, short or
  long syntax (error);
- a Docker daemon started in the service that listens on `tcp://` without `--tlsverify`
  (`command:` or `entrypoint:` of a Docker-in-Docker service, or the `docker:dind` image with
  `DOCKER_TLS_CERTDIR` set empty) (error);
- a client pointed at `DOCKER_HOST=tcp://HOST:2375` where HOST is not a socket proxy service of
  the same file (warning): the API it talks to is unauthenticated and unencrypted.

A `DOCKER_HOST` that names a socket proxy service of this file (an image whose name contains
`socket-proxy`) is the recommended setup (see `docker-socket`) and is not reported. Reported
only: harden changes nothing.

Why: the Docker API is root on the host; on a TCP port without TLS client certificates anyone
who can reach the port has it (CIS Docker Benchmark v1.6.0 2.7, "Ensure TLS authentication
for Docker daemon is configured"; KICS and dclint have no Compose rule for it).

The safer alternative: do not publish the API; keep it on an internal network behind a socket
proxy that allows only the calls its clients need; if it must be remote, `--tlsverify` with
client certificates on port 2376, or `DOCKER_HOST=ssh://user@host`.

Fix safety: display (no fix).

Example (fixtures/docker-api-tcp/display):

    services:
      dind:
        image: docker:dind
        environment:
          DOCKER_TLS_CERTDIR: ""
        ports:
          - "2375:2375"

is reported (two findings) and left unchanged.
"""

from __future__ import annotations

import re

from harden import knowledge
from harden.compose import ComposeDocument, Service, environment
from harden.model import Applicability, Finding, Rule, Severity
from harden.passes import Context
from harden.passes.compose.layers import here, services
from harden.passes.compose.reading import ports

RULE = Rule(
    id="docker-api-tcp",
    title="The Docker API is not exposed over TCP without TLS",
    control="CIS 2.7",
    applicability=Applicability.DISPLAY,
    kinds=("compose",),
)
RATIONALE = (
    "The Docker API is root on the host. Over plain TCP anyone who can reach the port can start a privileged "
    "container; only TLS with client certificates (or SSH) authenticates who is asking."
)

_API_PORT = 2375
_TCP_HOST = re.compile(r"(?:-H|--host)[=\s]+[\"']?tcp://", re.IGNORECASE)
_DOCKER_HOST = re.compile(r"^tcp://\[?([^\]/:]+)\]?(?::(\d+))?", re.IGNORECASE)


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings = []
    views = services(document, context)
    proxies = {s.name for s in views if s.image and "socket-proxy" in s.image}
    for service in views:
        for port in ports(service, here=True):
            if _API_PORT in port.numbers("target") | port.numbers("published"):
                line, column = document.service_position(service, "ports", port.index)
                message = (
                    "publishes port 2375, the Docker API without TLS: whoever reaches it controls the daemon (root on "
                    "the host). harden does not remove it; do not publish the API, or use --tlsverify with client "
                    "certificates on 2376"
                )
                findings.append(_finding(line, column, Severity.ERROR, message, service, f"port {port.text or port.target}"))
        if _daemon_without_tls(service) and here(service, "image"):
            line, column = document.service_position(service, "image")
            message = (
                "starts a Docker daemon listening on tcp:// without --tlsverify: every container on its network "
                "controls it. harden does not change it; keep TLS on (the docker:dind image generates certificates "
                "when DOCKER_TLS_CERTDIR is set) or use the daemon's unix socket"
            )
            findings.append(_finding(line, column, Severity.ERROR, message, service, "daemon"))
        host = environment(service.get("environment")).get("DOCKER_HOST") or ""
        match = _DOCKER_HOST.match(host.strip())
        if (
            match
            and (match.group(2) or str(_API_PORT)) == str(_API_PORT)
            and match.group(1) not in proxies
            and here(service, "environment")
        ):
            line, column = document.service_position(service, "environment")
            message = (
                f"talks to the Docker API over plain TCP (DOCKER_HOST={host.strip()}): unauthenticated and "
                "unencrypted. harden does not change it; point it at a socket proxy that allows only the calls it "
                "needs, or use TLS (tcp://HOST:2376 with DOCKER_TLS_VERIFY=1)"
            )
            findings.append(_finding(line, column, Severity.WARNING, message, service, "DOCKER_HOST"))
    findings.sort(key=lambda f: (f.line, f.column))
    return findings


def _finding(line: int, column: int, severity: Severity, message: str, service: Service, about: str) -> Finding:
    return Finding(RULE, message, line, column, severity, RATIONALE, None, service.name, about)


def _command_text(value: object) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _daemon_without_tls(service: Service) -> bool:
    command = _command_text(service.get("entrypoint")) + " " + _command_text(service.get("command"))
    if _TCP_HOST.search(command) and "--tlsverify" not in command:
        return True
    image = service.image or ""
    dind = knowledge.normalise_repository(image) == "library/docker" and "dind" in knowledge.tag_of(image)
    variables = environment(service.get("environment"))
    certificates = variables.get("DOCKER_TLS_CERTDIR", "unset")
    return dind and certificates is not None and not certificates.strip()
