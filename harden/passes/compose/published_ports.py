"""published-ports: backing services publish their ports on loopback only.

What: for a service whose image knowledge says it is a database, cache, message broker or
search engine (postgres, mysql, mariadb, mongo, redis, rabbitmq, elasticsearch, ...; the `roles`
option), bind each port it publishes on all interfaces to `127.0.0.1`:

- short syntax: `"5432:5432"` becomes `"127.0.0.1:5432:5432"`, `0.0.0.0:5432:5432` becomes
  `127.0.0.1:5432:5432`, a range `"5432-5433:5432-5433"` and a protocol `"5353:5353/udp"` keep
  theirs, an IPv6 `"[::]:5432:5432"` becomes `"[::1]:5432:5432"`, and a container port alone
  (`- 5432`, which publishes a random host port on all interfaces) becomes
  `127.0.0.1::5432`; quoting is kept;
- long syntax: adds `host_ip: 127.0.0.1` (or replaces `host_ip: 0.0.0.0`, `::` with `::1`).

A variable (`${VAR:-default}`) is never rewritten itself. Compose splits a short entry at
its colons after it substitutes the variables, so a variable may hold an address as well as a
port: prefixing `127.0.0.1:` to `"${SQL_PORT:-127.0.0.1:13306}:3306"` gives
`127.0.0.1:127.0.0.1:13306:3306`, which Compose refuses (`invalid IP address`). harden reads an
entry with variables as Compose does when none is set, each variable its default:

- an address written literally (`127.0.0.1:${PORT}:5432`, `0.0.0.0:${PORT:-5432}:5432`) decides,
  whatever port the variable holds (a variable holding an address there would be invalid);
- a default that holds an address decides where the entry binds: `${SQL_PORT:-127.0.0.1:13306}`
  or `${BIND:-127.0.0.1}:5432:5432` is on loopback already (no finding), `${BIND:-0.0.0.0}` is
  reported (harden does not change a variable's default);
- defaults that hold only ports (`"${PORT:-5432}:5432"`) are taken to mean that the variable
  holds a port number, as its default does, and the entry gets the `127.0.0.1:` prefix (the
  finding says so: set such a variable to ADDRESS:PORT and Compose refuses the result);
- a variable without a default (`${PORT}`, `$PORT`, `${PORT:?}`) is unknown: reported, not
  rewritten. In the long syntax only `host_ip` holds the address: a variable there is read the
  same way (one in `published` holds a port, and `host_ip: 127.0.0.1` is added as usual).

Never a public entry point: a reverse proxy or web server users reach (knowledge
`public_entry_point`, or any role other than the four above) is left alone, because binding it
to loopback takes the site down, which is what a naive fixer does. Unknown images are left
alone too: harden cannot tell who needs their ports. A service on `network_mode: host`
publishes nothing (`ports:` is ignored). Ports inherited from an anchor shared with other
services are reported, not edited; a service that extends another (`extends:`) handles the
entries it writes itself, and those it inherits are handled on the service that writes them.

Why: other services of the project reach a database over the Compose network
(`db:5432`) whether or not its port is published; publishing it on every interface only adds
the rest of the world, and Docker's published ports bypass host firewalls such as ufw (CIS
Docker Benchmark v1.6.0 5.14; KICS "Container Traffic Not Bound To Host Interface"; hadolint,
Trivy and Checkov do not read Compose files).

What might break (fix safety: review): clients on other machines (an administrator's SQL
client, an application on another host) can no longer connect; connect through an SSH tunnel,
or bind to a private interface's address instead of 127.0.0.1. A port variable that you set to
ADDRESS:PORT although its default is a port number makes the rewritten entry invalid.

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

With variables (fixtures/published-ports/variables), `"${ADMIN_PORT:-33060}:33060"` becomes
`"127.0.0.1:${ADMIN_PORT:-33060}:33060"` and the long syntax entry with `published:
${X_PORT:-33063}` gets `host_ip: 127.0.0.1`; `"${SQL_PORT:-127.0.0.1:13306}:3306"` is left as
it is (loopback already), and `"${BIND_ADDRESS:-0.0.0.0}:33061:33061"` and
`"${REPLICA_PORT}:33062"` are reported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from harden.compose import ComposeDocument, Port, Service, parse_port, split_colons
from harden.compose.values import ALL_INTERFACES
from harden.model import Applicability, Caveat, Edit, Finding, Fix, Rule, Severity, Unfixable
from harden.passes import Context
from harden.passes.compose.images import facts, knowledge_evidence
from harden.passes.compose.layers import services
from harden.passes.compose.reading import expand_defaults, ports
from harden.passes.options import Option

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
# The roles of harden.knowledge.ImageFacts, as messages name them.
_ROLE_NAMES = {
    "database": "a database",
    "cache": "a cache",
    "broker": "a message broker",
    "search": "a search engine",
    "web": "a web server",
    "proxy": "a reverse proxy",
    "app": "an application",
    "runtime": "a language runtime",
    "tool": "a tool",
    "monitoring": "a monitoring service",
}
OPTIONS = (
    Option(
        "roles",
        ("database", "cache", "broker", "search"),
        "the image roles whose published ports harden binds to loopback (a public entry point never is)",
        valid=lambda roles: all(role in _ROLE_NAMES for role in roles),
        expects=f"roles among {', '.join(_ROLE_NAMES)}",
    ),
)


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings: list[Finding] = []
    for service in services(document, context):
        image = facts(service)
        if image is None or image.public_entry_point or image.role not in context.options["roles"]:
            continue
        if str(service.get("network_mode") or "").strip() == "host":
            continue
        verdicts = [(port, exposure(port, service.variables)) for port in ports(service, here=True)]
        exposed = [port for port, (fixable, _) in verdicts if fixable]
        what = f"{image.name} is {_ROLE_NAMES.get(image.role, image.role)} that other services reach over the Compose network"
        unknown = [(port, why) for port, (fixable, why) in verdicts if not fixable and why]
        if unknown:
            findings.append(_variable_finding(document, service, unknown, what))
        if not exposed:
            continue
        listed = ", ".join(_label(p) for p in exposed)
        if not service.own("ports"):
            line, column = document.service_position(service, "ports")
            message = (
                f"publishes {listed} on all interfaces, and {what}; harden does not edit ports inherited from anchor "
                f"&{service.merged_from('ports')}: bind them to 127.0.0.1 there or on the service"
            )
            findings.append(_finding(line, column, Severity.WARNING, message, service.name))
            continue
        line, column = document.service_position(service, "ports", exposed[0].index)
        message = (
            f"publishes {listed} on all interfaces, but {what}: harden binds "
            + ("them" if len(exposed) > 1 else "it")
            + " to loopback"
        )
        variables = [p for p in exposed if "$" in p.text or "$" in p.published]
        if variables:
            message += (
                f" ({', '.join(_label(p) for p in variables)}: harden takes each variable to hold a port number, as its "
                "default does)"
            )
        might = Caveat(
            service.name,
            f"ports {listed} bound to loopback: clients on other machines can no longer connect "
            f"(containers of this project still reach {service.name} over the Compose network)",
        )
        build = _binder(document, service, exposed, f"publishes {listed} on all interfaces ({what})")
        known = knowledge_evidence(image, f"{_ROLE_NAMES.get(image.role, image.role)}, not a public entry point")
        fix = Fix(Applicability.REVIEW, (("services", service.name, "ports"),), build, (might,), evidence=(known,))
        findings.append(_finding(line, column, Severity.WARNING, message, service.name, fix))
    return findings


def _binder(document: ComposeDocument, service: Service, exposed: list[Port], what: str) -> Callable[[], list[Edit]]:
    """The fix's builder: each exposed entry bound to loopback; Unfixable (a finding that says
    why) when an entry cannot be edited in place."""

    def build() -> list[Edit]:
        try:
            return [edit for port in exposed for edit in _bind(document, service, port)]
        except (ValueError, KeyError, TypeError) as error:
            line, column = document.service_position(service, "ports")
            message = f"{what}; harden cannot edit them here: {error}"
            raise Unfixable([_finding(line, column, Severity.WARNING, message, service.name)]) from None

    return build


def exposure(port: Port, variables: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """(whether harden binds the entry to loopback, why it reports it instead; '' when the entry
    already binds an address).

    An entry without variables, or whose address is written literally, is read as it stands.
    Otherwise the entry is read as Compose reads it with the project's variables (`.env`,
    `--env-file`; a `${VAR:-x}` the project does not set is its default): a variable the project
    does not set, without a default, is unknown (reported); a default that holds an
    address decides where it binds (loopback: nothing to do; all interfaces: reported, since
    harden does not change a variable's default); defaults that hold only ports leave the
    address where the text puts it, and a `127.0.0.1:` prefix binds it whatever port they hold.
    """
    if port.long:
        host = port.host_ip
        if host is None or "$" not in host:
            return port.all_interfaces, ""
        seen = expand_defaults(host, variables)
        if seen is None:
            return False, f"host_ip {host} depends on a variable without a default"
        if seen.strip() in ALL_INTERFACES:
            return False, f"host_ip {host} is {seen or 'empty'} (all interfaces) unless its variable is set"
        return False, ""
    if "$" not in port.text or (port.host_ip is not None and "$" not in port.host_ip):
        return port.all_interfaces, ""
    expanded = expand_defaults(port.text, variables)
    if expanded is None:
        return False, "its variable has no default: harden cannot tell which address it binds"
    unset = parse_port(expanded, port.index)
    if unset is None or not unset.all_interfaces:
        return False, ""
    if port.host_ip is None and len(split_colons(expanded)) == len(split_colons(port.text)):
        return True, ""
    return (
        False,
        f"it binds all interfaces ({expanded}) unless its variable is set, and harden does not change a variable's default",
    )


def _variable_finding(document: ComposeDocument, service: Service, unknown: list[tuple[Port, str]], what: str) -> Finding:
    line, column = document.service_position(service, "ports", unknown[0][0].index)
    details = "; ".join(f"{_label(port)}: {why}" for port, why in unknown)
    message = (
        f"publishes ports whose address comes from a variable ({details}), and {what}: harden does not rewrite them; "
        "make sure they bind 127.0.0.1 (a default such as ${VAR:-127.0.0.1:5432}, or 127.0.0.1: before a variable "
        "that holds only a port)"
    )
    return _finding(line, column, Severity.WARNING, message, service.name, about="ports from variables")


def _finding(
    line: int, column: int, severity: Severity, message: str, subject: str, fix: Fix | None = None, about: str = ""
) -> Finding:
    return Finding(RULE, message, line, column, severity, RATIONALE, fix, subject, about)


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
