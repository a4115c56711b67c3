"""published-ports: backing services publish their ports on loopback only.

What: for a service whose image knowledge says it is a database, cache, message broker or
search engine (postgres, mysql, mariadb, mongo, redis, rabbitmq, elasticsearch, ...), bind each
port it publishes on all interfaces to `127.0.0.1`:

- short syntax: `"5432:5432"` becomes `"127.0.0.1:5432:5432"`, `0.0.0.0:5432:5432` becomes
  `127.0.0.1:5432:5432`, a range `"5432-5433:5432-5433"` and a protocol `"5353:5353/udp"` keep
  theirs, an IPv6 `"[::]:5432:5432"` becomes `"[::1]:5432:5432"`, and a container port alone
  (`- 5432`, which publishes a random host port on all interfaces) becomes
  `127.0.0.1::5432`; quoting is kept, `${VAR}` in ports is kept;
- long syntax: adds `host_ip: 127.0.0.1` (or replaces `host_ip: 0.0.0.0`, `::` with `::1`).

Never a public entry point: a reverse proxy or web server users reach (knowledge
`public_entry_point`, or any role other than the four above) is left alone, because binding it
to loopback takes the site down, which is what a naive fixer does. Unknown images are left
alone too: harden cannot tell who needs their ports. A service on `network_mode: host`
publishes nothing (`ports:` is ignored). Ports inherited from an anchor shared with other
services are reported, not edited.

Why: other services of the project reach a database over the Compose network
(`db:5432`) whether or not its port is published; publishing it on every interface only adds
the rest of the world, and Docker's published ports bypass host firewalls such as ufw (CIS
Docker Benchmark v1.6.0 5.14; KICS "Container Traffic Not Bound To Host Interface"; hadolint,
Trivy and Checkov do not read Compose files).

What might break (fix safety: review): clients on other machines (an administrator's SQL
client, an application on another host) can no longer connect; connect through an SSH tunnel,
or bind to a private interface's address instead of 127.0.0.1.

Example (fixtures/published-ports/short-syntax):

    services:
      db:
        image: postgres:16
        ports:
          - "5432:5432"
      web:
        image: nginx:1.27
        ports:
          - "80:80"

becomes

    services:
      db:
        image: postgres:16
        ports:
          - "127.0.0.1:5432:5432"
      web:
        image: nginx:1.27
        ports:
          - "80:80"
"""

from __future__ import annotations

from harden.compose import ComposeDocument, Service
from harden.model import Applicability, Edit, Finding, Fix, Rule, Severity
from harden.passes import Context
from harden.passes.compose_layers import services
from harden.passes.compose_support import Port, facts, ports, position

RULE = Rule(
    id="published-ports",
    title="Databases, caches, brokers and search engines publish ports on loopback only",
    control="CIS 5.14",
    applicability=Applicability.REVIEW,
    kinds=("compose",),
    peers="KICS Container Traffic Not Bound To Host Interface",
)
RATIONALE = (
    "Services of the project reach a database over the Compose network whether or not its port is published; "
    "publishing it on every interface only exposes it to other machines, past host firewalls such as ufw."
)
PRIVATE_ROLES = frozenset({"database", "cache", "broker", "search"})
_ROLE_NAMES = {"database": "a database", "cache": "a cache", "broker": "a message broker", "search": "a search engine"}


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings: list[Finding] = []
    for service in services(document, context):
        image = facts(service)
        if image is None or image.public_entry_point or image.role not in PRIVATE_ROLES:
            continue
        if str(service.get("network_mode") or "").strip() == "host":
            continue
        exposed = [p for p in ports(service, here=True) if p.all_interfaces and "$" not in (p.host_ip or "")]
        if not exposed:
            continue
        listed = ", ".join(_label(p) for p in exposed)
        what = f"{image.name} is {_ROLE_NAMES[image.role]} that other services reach over the Compose network"
        if not service.own("ports"):
            line, column = position(document, service, "ports")
            message = (
                f"publishes {listed} on all interfaces, and {what}; harden does not edit ports inherited from anchor "
                f"&{service.merged_from('ports')}: bind them to 127.0.0.1 there or on the service"
            )
            findings.append(_finding(line, column, Severity.WARNING, message, service.name))
            continue
        try:
            edits = [edit for port in exposed for edit in _bind(document, service, port)] if context.need_edits else []
        except (ValueError, KeyError, TypeError) as error:
            line, column = position(document, service, "ports")
            message = f"publishes {listed} on all interfaces ({what}); harden cannot edit them here: {error}"
            findings.append(_finding(line, column, Severity.WARNING, message, service.name))
            continue
        line, column = position(document, service, "ports", exposed[0].index)
        message = (
            f"publishes {listed} on all interfaces, but {what}: harden binds "
            + ("them" if len(exposed) > 1 else "it")
            + " to loopback"
        )
        might = (
            f"{service.name}: ports {listed} bound to loopback: clients on other machines can no longer connect "
            f"(containers of this project still reach {service.name} over the Compose network)"
        )
        fix = Fix(tuple(edits), Applicability.REVIEW, (("services", service.name, "ports"),), might)
        findings.append(_finding(line, column, Severity.WARNING, message, service.name, fix))
    return findings


def _finding(line: int, column: int, severity: Severity, message: str, subject: str, fix: Fix | None = None) -> Finding:
    return Finding(RULE, message, line, column, severity, RATIONALE, fix, subject)


def _label(port: Port) -> str:
    if port.long:
        return f"{port.published or '(random)'}->{port.target}" + (f"/{port.protocol}" if port.protocol else "")
    return port.text


def _bind(document: ComposeDocument, service: Service, port: Port) -> list[Edit]:
    if not port.long:
        return document.replace_item(service, "ports", port.index, port.loopback())
    item = service.node["ports"][port.index]
    address = "::1" if port.ipv6 else "127.0.0.1"
    if port.host_ip is None:
        return document.add_key(item, "host_ip", address)
    return document.replace_scalar(item, "host_ip", address)
