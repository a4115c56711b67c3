"""traefik-api-insecure: Traefik serves its API and dashboard without authentication on a published port.

What: reports a service that starts Traefik with `--api.insecure` (`--api.insecure=true`, or
`--api.insecure` alone, in `command:` as a string or a list) or sets
`TRAEFIK_API_INSECURE=true` in `environment:`, and publishes the port of Traefik's `traefik`
entry point (8080, or the port of `--entrypoints.traefik.address`) on an interface other than
loopback. The option alone, with the port not published or published on 127.0.0.1, is not
reported: only other containers (or the host) reach it. A static configuration file
(`traefik.yml`) is not read. Reported only: harden does not change Traefik's configuration.

Why: `api.insecure` serves the API and the dashboard on the `traefik` entry point with no
authentication. Whoever reaches the port reads every router, service, middleware and backend
address of the installation: a map of what to attack, and the rules that protect it (CIS
Docker Benchmark v1.6.0 5.9, "Ensure that only needed ports are open on the container";
Traefik's own documentation: "not recommended in production").

The safer alternative: remove `--api.insecure` and the published 8080; expose the dashboard
through a router on the `api@internal` service with an authentication middleware
(`basicauth` or forward auth) over TLS, or publish it on 127.0.0.1 only and reach it through
an SSH tunnel.

Fix safety: display (no fix).

Example (fixtures/traefik-api-insecure/display):

    services:
      proxy:
        image: traefik:v3.1
        command:
          - --providers.docker
          - --api.insecure=true
        ports:
          - "80:80"
          - "8080:8080"
      local:
        image: traefik:v3.1
        command: --api.insecure=true
        ports:
          - "127.0.0.1:8080:8080"
      internal:
        image: traefik:v3.1
        environment:
          TRAEFIK_API_INSECURE: "true"

reports proxy, and nothing of local or internal.
"""

from __future__ import annotations

import re

from harden.compose import ComposeDocument, Service, environment
from harden.model import Applicability, Finding, Rule, Severity
from harden.passes import Context
from harden.passes.compose.layers import here, services
from harden.passes.compose.reading import ports, truthy

RULE = Rule(
    id="traefik-api-insecure",
    title="Traefik's API and dashboard are not published without authentication",
    control="CIS 5.9",
    applicability=Applicability.DISPLAY,
    kinds=("compose",),
)
RATIONALE = (
    "Traefik's insecure API has no authentication: whoever reaches its port reads every route, backend and "
    "middleware of the installation, a map of what to attack."
)
_INSECURE = re.compile(r"^--api\.insecure(?:=(.*))?$", re.IGNORECASE)
_ENTRY_POINT = re.compile(r"^--entrypoints\.traefik\.address=.*:(\d+)(?:/\w+)?$", re.IGNORECASE)
_DEFAULT_PORT = 8080


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings = []
    for service in services(document, context):
        where = _insecure(service)
        if where is None:
            continue
        port = _entry_point_port(_words(service.get("command")))
        published = [p for p in ports(service, here=True) if port in p.numbers("target") and not _loopback(p.host_ip)]
        if not published:
            continue
        message = (
            f"Traefik serves its API and dashboard without authentication ({where}) on port {port}, published as "
            f"{published[0].text or port}: whoever reaches it reads every route and backend. harden does not change it; "
            "remove --api.insecure and the published port, and serve the dashboard through a router on api@internal "
            "with an authentication middleware, or publish it on 127.0.0.1 only"
        )
        line, column = document.service_position(service, "ports", published[0].index)
        findings.append(Finding(RULE, message, line, column, Severity.ERROR, RATIONALE, None, service.name, "api.insecure"))
    return findings


def _words(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value]
    return str(value).split() if isinstance(value, str) else []


def _insecure(service: Service) -> str | None:
    """Where the service turns the insecure API on ('command', 'environment'), if it does."""
    for word in _words(service.get("command")):
        match = _INSECURE.match(word)
        if match and (match.group(1) is None or truthy(match.group(1))) and here(service, "command"):
            return "--api.insecure in command"
    if truthy(environment(service.get("environment")).get("TRAEFIK_API_INSECURE")) and here(service, "environment"):
        return "TRAEFIK_API_INSECURE=true"
    return None


def _entry_point_port(words: list[str]) -> int:
    for word in words:
        match = _ENTRY_POINT.match(word)
        if match:
            return int(match.group(1))
    return _DEFAULT_PORT


def _loopback(host_ip: str | None) -> bool:
    return host_ip is not None and (host_ip.startswith("127.") or host_ip.strip("[]") == "::1" or host_ip == "localhost")
