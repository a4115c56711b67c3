"""The service graph of a Compose project: which service reaches which, and why (pure; not a pass).

`of(document, context) -> Graph` reads the services of the document's project as Compose merges
them (harden.passes.compose.layers: override files, `extends`) and infers an `Edge` (source
reaches target) from:

- `depends_on` (list and map forms), `links` (`db`, `db:alias`), `network_mode: service:x`
  (and `container:NAME` of a service's container_name): kinds `depends_on`, `links`, `network_mode`;
- `extends: x` (same file): kind `extends`. It is a relation of configuration, not of traffic
  (what the service inherits is read through the merge); it is listed so that a reviewer sees it;
- environment values (map and list forms, and the service's `env_file:` files, which the
  `environment:` entries override) and `command:`/`entrypoint:` words that name a service as a
  host (harden.passes.compose.hosts: URLs, `host:port`, a bare name only in a host position such
  as `DB_HOST=db` or `-h db`): kinds `environment`, `command`; `healthcheck.test` the same, kind
  `healthcheck`. Values are read with the project's interpolation variables (Context.variables);
- reverse-proxy configuration: Traefik labels (`traefik.*` on a service, not `traefik.enable=false`)
  when the project runs a Traefik service, which then reaches it; nginx, HAProxy and Caddy
  directives in the configuration files bind-mounted into a service or copied by its build
  (Context.attached): kind `proxy`;
- image knowledge: nginx-proxy routes to every service that sets `VIRTUAL_HOST`: kind `knowledge`.

A host is a service's name, its `container_name`, `hostname` or a network alias (compared
without case, as DNS does); a link alias only for the service that writes the link. Each pair
and kind gives one edge (the first evidence found), never a service to itself. Every edge's
evidence is `path:line: what was read`, with credentials masked (harden.compose.masking).

`exposed`: the services that publish `ports:`. `egress`: False for an image that knowledge
says is a database, cache, broker or search engine (it serves, it does not call out), else None
(unknown: assumed to need the outside world). `unread`: the services whose reachability harden
could not read fully, and why: a `${VAR}` in a host position that the project's `.env` does not
set, a host variable taken from the shell, an absent (required) `env_file`, a proxy configuration
that is referenced but missing or names an nginx `$variable`, an `extends` of a file not in the run.

What might break (the limits a reviewer must know): connections an application makes from its
own configuration files or code are not seen; a service discovered at run time (Traefik's
exposed-by-default without labels, Consul) is not seen; files only an override file's service
mounts are read for the first file of the project only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from harden.compose import ComposeDocument, Service
from harden.compose.attached import ENV_FILE, PROXY, Attached
from harden.compose.interpolate import DotenvError, parse_dotenv, resolve
from harden.compose.masking import masked_setting, masked_words
from harden.compose.tree import is_map, is_seq, key_owner
from harden.compose.values import environment
from harden.knowledge import lookup
from harden.passes import Context
from harden.passes.compose import hosts as hostnames
from harden.passes.compose.layers import ProjectService, extends_target
from harden.passes.compose.layers import services as project_services
from harden.passes.compose.reading import ports

KINDS = ("depends_on", "links", "network_mode", "extends", "environment", "command", "healthcheck", "proxy", "knowledge")
NO_EGRESS_ROLES = frozenset({"database", "cache", "broker", "search"})


@dataclass(frozen=True)
class Edge:
    source: str  # the service that connects
    target: str  # the service it reaches
    kind: str  # one of KINDS
    evidence: str  # "path:line: what was read"


@dataclass(frozen=True)
class Graph:
    services: tuple[str, ...]
    edges: tuple[Edge, ...]
    exposed: frozenset[str]  # services with published ports
    egress: dict[str, bool | None]  # service -> needs the outside world; None: unknown (assumed yes)
    unread: dict[str, str]  # service -> why its reachability could not be read fully


def of(document: ComposeDocument, context: Context) -> Graph:
    """The graph of the document's project (module docstring)."""
    services = _services(document, context)
    reader = _Reader(services, context)
    for service in services.values():
        reader.read(service)
    reader.proxies()
    return Graph(
        services=tuple(services),
        edges=tuple(reader.edges.values()),
        exposed=frozenset(name for name, s in services.items() if ports(s)),
        egress={name: _egress(s) for name, s in services.items()},
        unread=reader.unread,
    )


def _services(document: ComposeDocument, context: Context) -> dict[str, Service]:
    """Every service of the project, each as Compose merges it, in the order first defined."""
    documents = [d for d in context.related if isinstance(d, ComposeDocument)] or [document]
    found: dict[str, Service] = {}
    for current in documents:
        current = document if current.path == document.path else current
        for service in project_services(current, context):
            found.setdefault(service.name, service)
    return found


def _egress(service: Service) -> bool | None:
    image = service.resolved_image
    facts = lookup(image) if image and not service.has_build else None
    return False if facts is not None and facts.role in NO_EGRESS_ROLES else None


def _hostnames(services: dict[str, Service]) -> dict[str, str]:
    """DNS name (lower-case) -> service: names, container_name, hostname, network aliases."""
    names = {name.lower(): name for name in services}
    for name, service in services.items():
        for key in ("container_name", "hostname"):
            value = service.get(key)
            if isinstance(value, str) and value:
                names.setdefault(value.lower(), name)
        networks = service.get("networks")
        for settings in networks.values() if isinstance(networks, dict) else ():
            aliases = settings.get("aliases") if isinstance(settings, dict) else None
            for alias in aliases if isinstance(aliases, list) else ():
                names.setdefault(str(alias).lower(), name)
    return names


def _layers(service: Service) -> list[tuple[ComposeDocument, Any]]:
    """(document, mapping) of each mapping Compose merges into the service, in merge order."""
    if isinstance(service, ProjectService):
        return [(layer.document, layer.service.node) for layer in service.project.layers(service.name)]
    return [(service.document, service.node)]


def _entry_name(item: object) -> str:
    return str(item).split("=", 1)[0].split(":", 1)[0].strip()


def where(service: Service, key: str, entry: str | None = None) -> str:
    """`path:line` of a key of the service where its effective value is written (the last layer
    that writes it), or of the entry `entry` of its mapping or list (a variable, a target)."""
    for document, node in reversed(_layers(service)):
        owner = key_owner(node, key, set())
        if owner is None:
            continue
        value = owner[key]
        position = None
        if entry is not None and is_map(value) and entry in value:
            position = document.key_position(value, entry)
        elif entry is not None and is_seq(value):
            index = next((i for i, item in enumerate(value) if _entry_name(item) == entry), None)
            position = document.item_position(owner, key, index) if index is not None else None
        elif entry is None:
            position = document.key_position(owner, key)
        if position is not None:
            return f"{document.path}:{position[0]}"
    return f"{service.document.path}:{service.line}"


@dataclass
class _Reader:
    services: dict[str, Service]
    context: Context
    edges: dict[tuple[str, str, str], Edge] = field(default_factory=dict)
    unread: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.names = _hostnames(self.services)

    def add(self, source: str, target_host: str, kind: str, evidence: str, aliases: dict[str, str] | None = None) -> None:
        target = (aliases or {}).get(target_host.lower()) or self.names.get(target_host.lower())
        if target is not None and target != source and (source, target, kind) not in self.edges:
            self.edges[(source, target, kind)] = Edge(source, target, kind, evidence)

    def not_read(self, service: str, why: str) -> None:
        self.unread.setdefault(service, why)

    def read(self, service: Service) -> None:
        name = service.name
        depends = service.get("depends_on")
        for target in depends if isinstance(depends, dict | list) else ():
            self.add(name, str(target), "depends_on", f"{where(service, 'depends_on', str(target))}: depends_on {target}")
        links = service.get("links")
        for link in links if isinstance(links, list) else ():
            target = _entry_name(link)
            self.add(name, target, "links", f"{where(service, 'links', target)}: links {link}")
        self._network_mode(service)
        self._extends(service)
        self._environment(service)
        self._commands(service)
        if isinstance(service, ProjectService) and service.project.unseen(name):
            self.not_read(name, service.project.unseen(name))

    def _network_mode(self, service: Service) -> None:
        mode = service.get("network_mode")
        if isinstance(mode, str) and mode.startswith(("service:", "container:")):
            target = mode.split(":", 1)[1]
            self.add(service.name, target, "network_mode", f"{where(service, 'network_mode')}: network_mode: {mode}")

    def _extends(self, service: Service) -> None:
        local = service.local if isinstance(service, ProjectService) else service  # the merge drops `extends`
        base, file = extends_target(local)
        if base is not None and file is None:
            self.add(service.name, base, "extends", f"{where(local, 'extends')}: extends {base}")

    def _environment(self, service: Service) -> None:
        settings = environment(service.get("environment"))
        for name, value in settings.items():
            self._setting(service, name, value, where(service, "environment", name))
        for file in (f for f in self.context.attached.get(service.name, ()) if f.kind == ENV_FILE):
            self._env_file(service, file, set(settings))
        self._virtual_host(service, settings)

    def _env_file(self, service: Service, file: Attached, overridden: set[str]) -> None:
        if file.text is None:
            if file.required:
                self.not_read(service.name, f"env_file {file.problem}")
            return
        try:
            values = parse_dotenv(file.text, self.context.variables)
        except DotenvError as error:
            self.not_read(service.name, f"env_file {file.source}:{error.line}: {error.message}")
            return
        lines = file.text.splitlines()
        for name, value in values.items():
            if name not in overridden:
                number = next(
                    (i for i, line in enumerate(lines, 1) if line.lstrip().removeprefix("export ").lstrip().startswith(name)), 1
                )
                self._setting(service, name, value, f"{file.source}:{number}", interpolated=True)

    def _setting(self, service: Service, name: str, value: str | None, place: str, interpolated: bool = False) -> None:
        """One environment variable: an edge for each service it names as a host, or unread."""
        host_position = hostnames.host_variable(name)
        if value is None:
            if host_position:
                self.not_read(service.name, f"{place}: {name} is taken from the shell that runs Compose")
            return
        found = hostnames.in_value(value if interpolated else self._readable(value), host_position)
        if found.unknown:
            self.not_read(service.name, f"{place}: {masked_setting(name, value)}: a variable the project's .env does not set")
        for host in found.names:
            self.add(service.name, host, "environment", f"{place}: {masked_setting(name, value)}")

    def _readable(self, text: str) -> str:
        """The text interpolated with the project's variables; each unknown `${VAR}` (or `$VAR`)
        is hostnames.UNKNOWN_MARK, so that a host made of one is seen as unknown."""
        resolved = resolve(text, self.context.variables)
        if resolved is not None:
            return resolved
        return resolve(_mark_unknown(text, self.context.variables), self.context.variables) or hostnames.UNKNOWN_MARK

    def _virtual_host(self, service: Service, settings: dict[str, str | None]) -> None:
        if not settings.get("VIRTUAL_HOST"):
            return
        for proxy in self.services.values():
            facts = lookup(proxy.resolved_image or "") if proxy.image else None
            if facts is not None and facts.name == "nginx-proxy":
                evidence = f"{where(service, 'environment', 'VIRTUAL_HOST')}: VIRTUAL_HOST (knowledge: nginx-proxy routes to it)"
                self.add(proxy.name, service.name, "knowledge", evidence)

    def _commands(self, service: Service) -> None:
        for key in ("command", "entrypoint"):
            self._words(service, key, service.get(key), "command")
        health = service.get("healthcheck")
        if isinstance(health, dict) and not health.get("disable"):
            test = health.get("test")
            words = [w for w in test if w not in ("CMD", "CMD-SHELL", "NONE")] if isinstance(test, list) else test
            self._words(service, "healthcheck", words, "healthcheck")

    def _words(self, service: Service, key: str, value: object, kind: str) -> None:
        words = [str(w) for w in value] if isinstance(value, list) else [value] if isinstance(value, str) else []
        if not words:
            return
        found = hostnames.in_words([self._readable(w) for w in words])
        shown = masked_words(" ".join(words))
        if found.unknown:
            self.not_read(
                service.name, f"{where(service, key)}: {key}: {shown}: a host set from a variable the project's .env does not set"
            )
        for host in found.names:
            self.add(service.name, host, kind, f"{where(service, key)}: {key}: {shown}")

    def proxies(self) -> None:
        """Traefik labels, and the proxy configuration files services read (Context.attached)."""
        traefik = [s.name for s in self.services.values() if s.image and _knowledge_name(s) == "traefik"]
        for service in self.services.values():
            for label in _traefik_labels(service):
                for proxy in traefik:
                    self.add(proxy, service.name, "proxy", f"{where(service, 'labels', label)}: label {label}")
            for file in self.context.attached.get(service.name, ()):
                if file.kind == PROXY:
                    self._proxy_file(service.name, file)

    def _proxy_file(self, name: str, file: Attached) -> None:
        if file.text is None:
            self.not_read(name, f"proxy configuration {file.problem}")
            return
        for number, line, found in hostnames.proxy_hosts(file.text):
            if found.unknown:
                self.not_read(name, f"{file.source}:{number}: {line}: an nginx variable harden cannot resolve")
            for host in found.names:
                self.add(name, host, "proxy", f"{file.source}:{number}: {masked_words(line)}")


def _knowledge_name(service: Service) -> str:
    facts = lookup(service.resolved_image or "")
    return facts.name if facts is not None else ""


def _traefik_labels(service: Service) -> Iterator[str]:
    """The `traefik.*` labels of a service that Traefik routes to (none with traefik.enable=false)."""
    labels = environment(service.get("labels"))
    if str(labels.get("traefik.enable", "")).strip().lower() == "false":
        return
    yield from (name for name in labels if name.startswith("traefik.") and name != "traefik.docker.network")


def _mark_unknown(text: str, variables: Mapping[str, str]) -> str:
    """The text with each variable the project does not set (without a default) replaced by
    UNKNOWN_MARK, so that the rest of it can still be read."""

    def mark(match: re.Match[str]) -> str:
        inner = match["braced"] or match["plain"]
        name = re.match(r"[_A-Za-z][_A-Za-z0-9]*", inner or "")
        if name is None or name[0] in variables or re.match(r"[_A-Za-z][_A-Za-z0-9]*:?-", inner or ""):
            return match[0]
        return hostnames.UNKNOWN_MARK

    return re.sub(
        r"\$\$|\$\{(?P<braced>[^}]*)\}|\$(?P<plain>[_A-Za-z][_A-Za-z0-9]*)", lambda m: m[0] if m[0] == "$$" else mark(m), text
    )
