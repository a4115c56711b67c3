"""user-defined-networks: services share a network only with the services they talk to.

What: a Compose project whose services sit on the implicit `default` network (or on the legacy
bridge, `network_mode: bridge`) lets every one of them reach every other. From the service graph
(harden.passes.compose.graph: `depends_on`, `links`, hosts named in environment values and
commands, health checks, proxy configuration, each edge with the file and line it was read from),
harden gives each service that others reach a network of its own, `<service>-net`, joined by that
service and every service that reaches it; a service nothing reaches and that reaches nothing gets
a network of its own too, so that it stays off the others'. Each inferred edge then shares a
network, and a pair that shares none can no longer talk: the commentary lists each such pair, for
the reviewer to confirm. Two services that both reach a third still share its network (a
database's clients can reach each other): the commentary says so too. A network is `internal:
true` (no way out of the host) only when every member is known, by its image knowledge, to need
no egress and none publishes a port (an internal network publishes none).

A project that declares networks keeps them: a service keeps every network it names, and harden
only adds. A service that names none (it is on `default`) is segmented as above; an inferred edge
whose two services share none of the project's networks gets the target's `<service>-net` (the
commentary lists these pairs as "can talk after and could not before"). Decisions: services on a
`default` network the project configures itself (top-level `networks: default:`, often an
external proxy network) stay on it; and when segmenting would cut no pair and open none (two
services that talk, or every client of one database), harden changes nothing: the diff would
rename the network and protect nothing.

Left alone, and reported: a project of several files or whose services use `extends:` or are
extended from another file, a service whose mapping other services share through an anchor,
services with `network_mode: host`, `none`, `service:` or `container:` (they have no network of
their own to join), and a project of one service.

Why: one flat network lets a compromised service reach every other one, the database's admin port
included; CIS Docker Benchmark v1.6.0 5.30 (containers on the default bridge), Docker's networking
documentation (user-defined bridge networks isolate the containers that are not attached to them).

What might break: a connection harden did not infer. The fix is `review` when every pair it cuts
is between services whose connections harden read in full: a database, cache, broker or search
engine (it serves, it starts no connection), or a proxy whose configuration harden read (nginx,
HAProxy, Caddy, Traefik's labels) and that starts the image's own way (no `command:` of its
own). It is `unsafe` when a cut pair has a member harden cannot bound:
an application (built by the project, or an image harden does not know) whose code may name a
host, a service that mounts configuration harden does not read (Grafana's datasources), or one
whose environment or command harden could not read (a `${VAR}` host, an absent `env_file`).
Every pair that loses its path is listed: test each that matters.

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
from collections.abc import Mapping
from itertools import combinations

from harden import knowledge
from harden.compose import ComposeDocument, Service
from harden.compose.project import Extended
from harden.compose.tree import is_map, is_seq
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
BRIDGE = "bridge (network_mode)"  # the legacy bridge, as a network name no project can declare
# Knowledge entries whose every connection the graph reads from their configuration or labels.
CONFIG_READ = frozenset({"nginx", "nginx-unprivileged", "haproxy", "caddy", "traefik"})
SHOWN_PAIRS = 12  # pairs listed in the commentary before "and N more"
SHOWN_NETWORKS = 6  # networks listed in the message (the semantic summary lists them all)

Pair = tuple[str, str]


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    names = list(document.services)
    if len(names) < 2:
        return []
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
    declared = declared_networks(document, joined)
    graph = service_graph.of(document, context)
    plan = networks_for(joined, [(e.source, e.target) for e in graph.edges], declared, set(_top_level(document)))
    segmentation = Segmentation(document, context, joined, declared, plan, graph)
    if segmentation.changes_nothing():
        return findings
    return [*findings, segmentation.finding()]


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
    top = document.data.get("networks")
    if "networks" in document.data and not is_map(top):
        return "the top-level networks: is not a mapping of networks; harden leaves the networks alone"
    for name in joined:
        value = document.services[name].get("networks")
        if value is not None and not (is_seq(value) or is_map(value)):
            return f"{name}: networks: is neither a list nor a mapping; harden leaves the networks alone"
        for key in ("networks", "network_mode"):
            shared = document.shared(document.services[name], key)
            if shared:
                return f"harden cannot give {name} its networks here: {shared}"
    return ""


def _top_level(document: ComposeDocument) -> Mapping[str, object]:
    top = document.data.get("networks")
    return top if is_map(top) else {}


def declared_networks(document: ComposeDocument, joined: list[str]) -> dict[str, list[str]]:
    """Service -> the networks it names, which it keeps; `default` for a service that names none
    when the project configures `default` itself (module docstring), else nothing."""
    configured_default = "default" in _top_level(document)
    declared = {}
    for name in joined:
        value = document.services[name].get("networks")
        if value is None:
            declared[name] = ["default"] if configured_default else []
        else:
            declared[name] = [str(n) for n in value]
    return declared


def networks_for(
    services: list[str],
    edges: list[Pair],
    declared: Mapping[str, list[str]] | None = None,
    taken: set[str] | None = None,
) -> dict[str, list[str]]:
    """The networks harden adds, name -> members (module docstring): for each service others reach
    and that shares no network with a client, `<service>-net`, joined by it and each such client;
    for each service left on no network at all, one of its own. `declared`: the networks each
    service keeps; `taken`: names already used in the project."""
    inside = set(services)
    on = {s: set((declared or {}).get(s, ())) for s in services}
    used = set(taken or ()) | {n for networks in on.values() for n in networks}
    owned: dict[str, str] = {}  # service -> the network harden adds for it
    for target in services:
        for source in dict.fromkeys(s for s, t in edges if t == target and s in inside and s != target):
            if on[source] & on[target]:
                continue
            if target not in owned:
                owned[target] = network_name(target, used)
                used.add(owned[target])
            on[source].add(owned[target])
            on[target].add(owned[target])
    for service in services:
        if not on[service]:
            owned[service] = network_name(service, used)
            used.add(owned[service])
            on[service].add(owned[service])
    ordered = sorted(owned.items(), key=lambda item: services.index(item[0]))
    return {name: [s for s in services if name in on[s]] for _, name in ordered}


def network_name(service: str, taken: set[str]) -> str:
    """`<service>-net`, with what Compose refuses in a network name replaced."""
    name = re.sub(r"[^a-zA-Z0-9._-]", "-", f"{service}-net")
    while name in taken:
        name += "-"
    return name


def pairs(networks: Mapping[str, list[str]]) -> set[Pair]:
    """Every pair of services that share a network (sorted within the pair)."""
    return {tuple(sorted(pair)) for members in networks.values() for pair in combinations(members, 2)}  # type: ignore[misc]


def members(memberships: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Service -> its networks, turned into network -> its members."""
    found: dict[str, list[str]] = {}
    for service, networks in memberships.items():
        for network in networks:
            found.setdefault(network, []).append(service)
    return found


class Segmentation:
    """One project's networks before and after the fix, and the finding that says so."""

    def __init__(
        self,
        document: ComposeDocument,
        context: Context,
        joined: list[str],
        declared: dict[str, list[str]],
        plan: dict[str, list[str]],
        graph: service_graph.Graph,
    ) -> None:
        self.document, self.context, self.joined, self.graph = document, context, joined, graph
        self.declared, self.plan = declared, plan
        self.added = {s: [n for n, m in plan.items() if s in m] for s in joined}
        self.before = {s: self.declared[s] or [self._implicit(s)] for s in joined}
        self.after = {s: [*self.declared[s], *self.added[s]] for s in joined}
        shared_before, shared_after = pairs(members(self.before)), pairs(members(self.after))
        self.cut = sorted(shared_before - shared_after)
        self.opened = sorted(shared_after - shared_before)
        self.inferred = {tuple(sorted((e.source, e.target))) for e in graph.edges if e.source in joined and e.target in joined}
        self.unasked = sorted(shared_after - self.inferred)

    def _implicit(self, service: str) -> str:
        return BRIDGE if self.document.services[service].get("network_mode") == "bridge" else "default"

    def changes_nothing(self) -> bool:
        bridged = any(BRIDGE in networks for networks in self.before.values())
        return not (self.cut or self.opened or bridged)

    def finding(self) -> Finding:
        opaque = opaque_services(self.document, self.context, self.joined, self.graph)
        unproven = [pair for pair in self.cut if pair[0] in opaque or pair[1] in opaque]
        caveats = [Caveat("", _listed("could talk before and cannot after", self.cut))] if self.cut else []
        if self.opened:
            caveats.append(Caveat("", _listed("can talk after and could not before", self.opened)))
        if self.unasked:
            caveats.append(Caveat("", _listed("still share a network without an inferred connection", self.unasked)))
        if unproven:
            caveats.append(Caveat("", "harden cannot tell that these never talk: " + _reasons(opaque, unproven)))
        evidence = (
            (NO_EVIDENCE,)
            if unproven
            else (Evidence(EvidenceKind.BUILD, self.document.path, f"{len(self.graph.edges)} connections read in the project"),)
        )
        applicability = Applicability.UNSAFE if unproven else Applicability.REVIEW
        changed = [s for s in self.joined if self.added[s]]
        claims = [("services", s, key) for s in changed for key in ("networks", "network_mode")] + [("networks",)]
        fix = Fix(applicability, tuple(claims), self._edits, tuple(caveats), evidence=evidence)
        first = self.document.services[self.joined[0]]
        return Finding(RULE, self._message(), first.line, first.column, Severity.WARNING, RATIONALE, fix, ", ".join(self.joined))

    def _message(self) -> str:
        listed = "; ".join(f"{n}: {', '.join(m)}" for n, m in list(self.plan.items())[:SHOWN_NETWORKS])
        listed += f"; and {len(self.plan) - SHOWN_NETWORKS} more" if len(self.plan) > SHOWN_NETWORKS else ""
        does = f"harden gives each the networks of the services it talks to ({listed})"
        if not any(self.declared.values()):
            return f"the {len(self.joined)} services share one network, so each can reach every other: {does}"
        flat = [s for s in self.joined if not self.declared[s]]
        parts = [f"{', '.join(flat)} share the default network with every service on it"] if len(flat) > 1 else []
        uncovered = len(set(self.opened) & self.inferred)
        if uncovered:
            many = "connections share" if uncovered > 1 else "connection shares"
            parts.append(f"{uncovered} inferred {many} none of the project's networks")
        return f"{'; '.join(parts) or 'the project keeps its networks'}: {does}"

    def _edits(self) -> list:  # type: ignore[type-arg]
        document, edits = self.document, []
        for name in self.joined:
            if not self.added[name]:
                continue
            service = document.services[name]
            value = service.get("networks")
            if service.get("network_mode") is not None:  # bridge: the legacy network, without names
                edits += document.remove_key(service, "network_mode")
            if value is None:
                edits += document.add_key(service, "networks", self.after[name])
            elif is_seq(value):
                edits += document.extend_sequence(service, "networks", self.added[name])
            else:
                for network in self.added[name]:
                    edits += document.add_key(document.mapping(service)["networks"], network, {})
        definitions = {n: ({"internal": True} if self._internal(m) else {}) for n, m in self.plan.items()}
        top = document.data.get("networks")
        if top is None:
            return edits + document.add_top_level("networks", definitions)
        for network, definition in definitions.items():
            edits += document.add_key(top, network, definition)
        return edits

    def _internal(self, network_members: list[str]) -> bool:
        return all(self.graph.egress.get(m) is False and m not in self.graph.exposed for m in network_members)


def opaque_services(document: ComposeDocument, context: Context, joined: list[str], graph: service_graph.Graph) -> dict[str, str]:
    """Service -> why harden cannot list every service it connects to: what the graph could not
    read; an application (its code may name any host); configuration a service mounts that harden
    does not read. Not opaque: a service known to start no connection (a database), and a proxy
    whose connections the graph reads (CONFIG_READ) from the configuration it found, as long as
    it starts the image's own way (a `command:` may template another file, as envsubst does)."""
    found = dict(graph.unread)
    for name in joined:
        if name in found or graph.egress.get(name) is False:
            continue
        service = document.services[name]
        binds = [m.source for m in mounts(service) if m.kind == "bind" and not m.source.endswith(".sock")]
        entry = _knowledge_name(service, context)
        started = [key for key in ("command", "entrypoint") if service.get(key) is not None]
        if entry in CONFIG_READ and not started and not (entry == "traefik" and binds):
            continue
        if entry in CONFIG_READ and started:
            found[name] = f"its {started[0]} may build or choose a configuration harden does not read"
        elif binds:
            found[name] = f"the configuration it mounts from {binds[0]} may name other services"
        elif service.has_build:
            found[name] = "its image is built by the project, and its code may connect to any service"
        else:
            image = service.resolved_image or service.image or "its image"
            found[name] = f"harden reads {image}'s environment and command, not the connections its code makes"
    return found


def _knowledge_name(service: Service, context: Context) -> str:
    """The knowledge entry of the image the service runs, or of the image its build starts FROM."""
    reference = service.resolved_image if not service.has_build else None
    build = context.builds.get(service.name) if service.has_build else None
    if build is not None and build.document is not None and build.stage is not None:
        reference = build.document.external_base(build.stage)
    facts = knowledge.lookup(reference) if reference else None
    return facts.name if facts is not None else ""


def _reasons(opaque: dict[str, str], unproven: list[Pair]) -> str:
    """Each reason once, after the services it holds for (a project of 30 built services says
    it once)."""
    services: dict[str, list[str]] = {}
    for name in sorted({s for pair in unproven for s in pair if s in opaque}):
        services.setdefault(opaque[name], []).append(name)
    shown = [(names[:SHOWN_PAIRS], len(names) - SHOWN_PAIRS, why) for why, names in services.items()]
    return "; ".join(f"{', '.join(names)}{f' and {more} more' if more > 0 else ''}: {why}" for names, more, why in shown)


def _listed(what: str, found: list[Pair]) -> str:
    shown = ", ".join(f"{a} and {b}" for a, b in found[:SHOWN_PAIRS])
    more = f", and {len(found) - SHOWN_PAIRS} more" if len(found) > SHOWN_PAIRS else ""
    return f"{what}: {shown}{more}"
