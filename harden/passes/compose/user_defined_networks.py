"""user-defined-networks: services share a network only with the services they talk to.

What: a Compose project whose services all sit on the implicit `default` network (or on the
legacy bridge, `network_mode: bridge`) lets every service reach every other. From the service
graph (harden.passes.compose.graph: `depends_on`, `links`, hosts named in environment values and
commands, health checks, proxy configuration, each edge with the file and line it was read
from), harden gives each service that others reach a network of its own, `<service>-net`, joined
by that service and every service that reaches it; a service nothing reaches and that reaches
nothing gets a network of its own too, so that it stays off the others'. Each inferred edge then
shares a network, and a pair that shares none can no longer talk: the commentary lists each such
pair, for the reviewer to confirm. Two services that both reach a third still share its network
(a database's clients can reach each other): the commentary says so too. A network is
`internal: true` (no way out of the host) only when every member is known, by its image
knowledge, to need no egress and none publishes a port (an internal network publishes none).

Left alone, and reported: a project that already declares networks (harden does not yet extend a
segmentation someone designed), a project of several files or whose services use `extends:` or
are extended from another file, a
service whose mapping other services share through an anchor, services with `network_mode: host`, `none`, `service:` or
`container:` (they have no network of their own to join), and a project of one service.

Why: one flat network lets a compromised service reach every other one, the database's admin port
included; CIS Docker Benchmark v1.6.0 5.30 (containers on the default bridge), Docker's networking
documentation (user-defined bridge networks isolate the containers that are not attached to them).

What might break (fix safety: review when every service's environment and command were read;
unsafe when one was not, such as a `${VAR}` host without a value or an absent `env_file`, or
when a service that may start connections mounts configuration harden does not read): a
connection harden did not infer (a host name built at run time, a service found by DNS search
from a list). Every pair that loses its path is listed: test each that matters.

Example (fixtures/user-defined-networks/web-api-db):

    services:
      web:
        image: nginx:1.27
        ports: ["8080:80"]
        depends_on: [api]
      api:
        image: example/api:1
        environment:
          DATABASE_URL: postgres://app@db:5432/app
      db:
        image: postgres:16

becomes

    services:
      web:
        image: nginx:1.27
        ports: ["8080:80"]
        depends_on: [api]
        networks: [api-net]
      api:
        image: example/api:1
        environment:
          DATABASE_URL: postgres://app@db:5432/app
        networks: [api-net, db-net]
      db:
        image: postgres:16
        networks: [db-net]
    networks:
      api-net: {}
      db-net: {}
"""

from __future__ import annotations

import re
from itertools import combinations

from harden.compose import ComposeDocument
from harden.compose.project import Extended
from harden.model import NO_EVIDENCE, Applicability, Caveat, Evidence, EvidenceKind, Finding, Fix, Rule, Severity
from harden.passes import Context
from harden.passes.compose import graph as service_graph
from harden.passes.compose.layers import project_of
from harden.passes.compose.reading import mounts

RULE = Rule(
    id="user-defined-networks",
    title="Services share a network only with the services they talk to",
    control="CIS 5.30",
    applicability=Applicability.REVIEW,
    kinds=("compose",),
    gated=True,
)
RATIONALE = (
    "On one flat network every service can reach every other: a compromised web front end reaches the database's "
    "port directly. Networks per connection keep each service to the peers it needs."
)
ALONE = ("host", "none")  # network_mode values with no network to join (with service: and container:)
SHOWN_PAIRS = 12  # pairs listed in the commentary before "and N more"
SHOWN_NETWORKS = 6  # networks listed in the message (the semantic summary lists them all)


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    names = list(document.services)
    if len(names) < 2:
        return []
    if document.data.get("networks") or any(document.services[n].get("networks") is not None for n in names):
        line, column = document.key_position(document.data, "networks") or (1, 1)
        message = "the project declares its own networks; harden keeps them as they are (it does not extend them yet)"
        return [Finding(RULE, message, line, column, Severity.INFO, RATIONALE, None, "")]
    findings: list[Finding] = []
    joined = []
    for name in names:
        mode = document.services[name].get("network_mode")
        if isinstance(mode, str) and (mode in ALONE or mode.startswith(("service:", "container:"))):
            service = document.services[name]
            message = f"network_mode: {mode}: the service has no network of its own to segment; harden leaves it"
            findings.append(Finding(RULE, message, service.line, service.column, Severity.INFO, RATIONALE, None, name))
        else:
            joined.append(name)
    if len(joined) < 2:
        return findings
    why_not = _not_here(document, context, joined)
    if why_not:
        first = document.services[joined[0]]
        return [*findings, Finding(RULE, why_not, first.line, first.column, Severity.INFO, RATIONALE, None, "")]
    graph = service_graph.of(document, context)
    plan = networks_for(joined, [(e.source, e.target) for e in graph.edges])
    findings.append(_finding(document, joined, plan, graph))
    return findings


def _not_here(document: ComposeDocument, context: Context, joined: list[str]) -> str:
    """Why harden does not segment this file (yet), or ""."""
    extended_here = any(isinstance(m, Extended) and getattr(m.document, "path", None) == document.path for m in context.related)
    if extended_here:  # `extends:` takes the service, not the top-level networks it names
        return "another file extends services of this file; harden does not segment it (yet)"
    if project_of(document, context) is not None:
        return (
            "the services share one network; harden does not segment a project of several files or with extends: "
            "yet (give each service the networks of the services it talks to)"
        )
    for name in joined:
        for key in ("networks", "network_mode"):
            shared = document.shared(document.services[name], key)
            if shared:
                return f"the services share one network; harden cannot give {name} its networks here: {shared}"
    return ""


def networks_for(services: list[str], edges: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Network name -> its members (see the module docstring): one network per service others
    reach, joined by those that reach it; one per service with no edge at all."""
    inside = set(services)
    reached: dict[str, set[str]] = {}
    for source, target in edges:
        if source in inside and target in inside and source != target:
            reached.setdefault(target, set()).add(source)
    touched = set(reached) | {s for clients in reached.values() for s in clients}
    networks: dict[str, list[str]] = {}
    for service in services:
        if service in reached or service not in touched:
            members = {service, *reached.get(service, ())}
            networks[network_name(service, networks)] = [s for s in services if s in members]
    return networks


def network_name(service: str, taken: dict[str, list[str]]) -> str:
    """`<service>-net`, with what Compose refuses in a network name replaced."""
    name = re.sub(r"[^a-zA-Z0-9._-]", "-", f"{service}-net")
    while name in taken:
        name += "-"
    return name


def pairs(networks: dict[str, list[str]]) -> set[tuple[str, str]]:
    """Every pair of services that share a network (sorted within the pair)."""
    return {tuple(sorted(pair)) for members in networks.values() for pair in combinations(members, 2)}  # type: ignore[misc]


def _finding(document: ComposeDocument, joined: list[str], plan: dict[str, list[str]], graph: service_graph.Graph) -> Finding:
    inferred = {tuple(sorted((e.source, e.target))) for e in graph.edges if e.source in joined and e.target in joined}
    kept = pairs(plan)
    cut = sorted(set(combinations(sorted(joined), 2)) - kept)
    unasked = sorted(kept - inferred)
    internal = {n for n, members in plan.items() if _internal(members, graph)}
    memberships = {s: [n for n, members in plan.items() if s in members] for s in joined}
    listed = "; ".join(f"{n}: {', '.join(m)}" for n, m in list(plan.items())[:SHOWN_NETWORKS])
    listed += f"; and {len(plan) - SHOWN_NETWORKS} more" if len(plan) > SHOWN_NETWORKS else ""
    message = (
        f"the {len(joined)} services share one network, so each can reach every other: harden gives each the networks "
        f"of the services it talks to ({listed})"
    )
    caveats = [Caveat("", _listed("could talk before and cannot after", cut))] if cut else []
    if unasked:
        caveats.append(Caveat("", _listed("still share a network without an inferred connection", unasked)))
    unread = sorted(_unread(document, joined, graph).items())
    if unread:
        caveats.append(Caveat("", "harden could not read " + "; ".join(f"{s}: {why}" for s, why in unread)))
    evidence = (
        (NO_EVIDENCE,)
        if unread
        else (Evidence(EvidenceKind.BUILD, document.path, f"{len(graph.edges)} connections read in the project"),)
    )
    applicability = Applicability.UNSAFE if unread else Applicability.REVIEW
    claims = [("services", s, key) for s in joined for key in ("networks", "network_mode")] + [("networks",)]

    def build() -> list:  # type: ignore[type-arg]
        return _edits(document, joined, memberships, plan, internal)

    fix = Fix(applicability, tuple(claims), build, tuple(caveats), evidence=evidence)
    first = document.services[joined[0]]
    return Finding(RULE, message, first.line, first.column, Severity.WARNING, RATIONALE, fix, ", ".join(joined))


def _unread(document: ComposeDocument, joined: list[str], graph: service_graph.Graph) -> dict[str, str]:
    """What harden could not read of each service's connections: the graph's own, and the
    configuration a service mounts from the project (Grafana's datasources, Prometheus's scrape
    targets name other services in files harden does not interpret), except for a proxy whose
    configuration the graph read and a service known to start no connection (a database)."""
    found = dict(graph.unread)
    proxies = {e.source for e in graph.edges if e.kind == "proxy"}
    for name in joined:
        if name in found or name in proxies or graph.egress.get(name) is False:
            continue
        binds = [m.source for m in mounts(document.services[name]) if m.kind == "bind"]
        if binds:
            found[name] = f"the configuration it mounts from {binds[0]} may name other services"
    return found


def _internal(members: list[str], graph: service_graph.Graph) -> bool:
    return all(graph.egress.get(m) is False and m not in graph.exposed for m in members)


def _listed(what: str, found: list[tuple[str, str]]) -> str:
    shown = ", ".join(f"{a} and {b}" for a, b in found[:SHOWN_PAIRS])
    more = f", and {len(found) - SHOWN_PAIRS} more" if len(found) > SHOWN_PAIRS else ""
    return f"{what}: {shown}{more}"


def _edits(
    document: ComposeDocument,
    joined: list[str],
    memberships: dict[str, list[str]],
    plan: dict[str, list[str]],
    internal: set[str],
) -> list:  # type: ignore[type-arg]
    edits = []
    for name in joined:
        service = document.services[name]
        if service.get("network_mode") is not None:  # bridge: the legacy network, without names
            edits += document.remove_key(service, "network_mode")
        edits += document.add_key(service, "networks", memberships[name])
    definitions = {n: ({"internal": True} if n in internal else {}) for n in plan}
    edits += document.add_top_level("networks", definitions)
    return edits
