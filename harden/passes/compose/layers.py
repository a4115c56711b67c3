"""What Compose merges into a service: override files and `extends` (not a pass).

Compose builds a service from several mappings, merged in order, later ones winning
(harden.compose.merge):

- override files: compose.yaml, then compose.override.yaml beside it (or the `-f a -f b` order).
  The engine hands a file's passes the project's documents in that order (Context.related).
- `extends`: within each file, before the files are merged, a service that extends another is
  that service's mappings with its own merged on top (compose-go loader/extends.go, which uses
  the same merge as override files). `extends: base` and `extends: {service: base}` name a
  service of the same file; `extends: {file: other.yaml, service: base}` one of another file,
  which harden reads when it is part of the run (Context.related carries a
  harden.compose.project.Extended for it). An override file's service extends services of the override
  file, never those of the base file: Compose applies `extends` file by file.

A service's `Layer`s are these mappings in merge order: for each file of the project that
defines it, the chain of services it extends (`base` layers: another service's mapping), then
its own. A pass reads a service through `services()`: views whose `get` is the merged value, so
an override fragment without `image:` finds its image in the base file, and a service that
extends another sees what it inherits.

Who edits and reports a key (`here()`), so that a setting is changed where its effective value
is set, and never twice:

- the last layer that sets the key is one of the service's own: the file of that layer;
- it is a base layer (the key is inherited through `extends`): the base service's own analysis
  handles it, in its file, except for sequences and mappings that Compose appends or merges by
  name (APPEND_KEYS, MAPPING_KEYS): a service may add its own items to those, in its last own
  layer that writes the key (or its first own layer); what the base service gets from the same
  rule in the same run is taken off first (harden.passes.compose.inherit), because Compose
  rejects a repeated security_opt item;
- no layer sets it: the first file that defines the service.

A service that extends a service of a file that is not part of the run is read without what it
inherits; harden adds nothing to it and says why (`unseen()`): what it inherits may already hold
the item harden would add (Compose refuses a repeated security_opt item), a value harden would
override, or `deploy.resources.limits`, which Compose refuses beside `pids_limit`. Its own port
entries are still bound to loopback (a rewritten item cannot collide).
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harden.compose import APPEND_KEYS, MAPPING_KEYS, ComposeDocument, Service, merge, tag
from harden.compose.project import Extended
from harden.passes import Context


@dataclass(frozen=True)
class Layer:
    """One mapping Compose merges into a service."""

    document: ComposeDocument
    service: Service  # the service of `document` whose mapping it is
    base: bool  # another service's mapping, reached through `extends`


def extends_target(service: Service) -> tuple[str | None, str | None]:
    """(the service it extends, the file named, if any); (None, None) when it extends nothing."""
    value = service.get("extends")
    if isinstance(value, str):
        return value.strip() or None, None
    if isinstance(value, dict) and isinstance(value.get("service"), str):
        file = value.get("file")
        return value["service"], file if isinstance(file, str) else None
    return None, None


class Project:
    """The documents Compose merges with the current one, in merge order, and the files of the
    run that services extend."""

    def __init__(self, documents: list[ComposeDocument], index: int, sources: dict[tuple[str, str], ComposeDocument]) -> None:
        self.documents = documents
        self.index = index  # position of the current document
        self.current = documents[index]
        self.sources = sources  # (referrer path, extends.file) -> that file's document
        self._layers: dict[str, tuple[list[Layer], str]] = {}
        self._merged: dict[str, dict[str, Any]] = {}

    def layers(self, service: str) -> list[Layer]:
        return self._chains(service)[0]

    def unseen(self, service: str) -> str:
        """What harden could not read of the service ('' when it sees everything)."""
        return self._chains(service)[1]

    def value(self, service: str, key: str) -> Any:
        if service not in self._merged:
            self._merged[service] = merge([layer.service.node for layer in self.layers(service)])
        return self._merged[service].get(key)

    def setter(self, service: str, key: str) -> Layer | None:
        """The layer whose value of the key is the effective one (None: set nowhere)."""
        return next((layer for layer in reversed(self.layers(service)) if key in layer.service.node), None)

    def owner(self, service: str, key: str | None) -> ComposeDocument | None:
        """The file that edits and reports `key` of the service (None: a base service's own
        analysis does, or the service is not in this project)."""
        layers = self.layers(service)
        own = [layer for layer in layers if not layer.base]
        if not own:
            return None
        if key is None:
            return own[0].document
        found = self.setter(service, key)
        if found is not None and not found.base:
            return found.document
        if found is not None and key not in APPEND_KEYS | MAPPING_KEYS:
            return None
        return next((layer.document for layer in reversed(own) if key in layer.service.node), own[0].document)

    def live(self, service: str, key: str) -> bool:
        """Whether this file's value of the key reaches the merged model: it is set here, and no
        later layer replaces it (sequences like ports and volumes, and environment-style
        mappings, are merged, unless the later layer writes `!reset` or `!override`)."""
        layers = self.layers(service)
        mine = next((i for i, layer in enumerate(layers) if not layer.base and layer.document is self.current), None)
        if mine is None:
            return False
        node = layers[mine].service.node
        if key not in node or tag(node[key]) == "!reset":
            return False
        for layer in layers[mine + 1 :]:
            later = layer.service.node
            if key in later and (key not in APPEND_KEYS | MAPPING_KEYS or tag(later[key]) in ("!reset", "!override")):
                return False
        return True

    def _chains(self, service: str) -> tuple[list[Layer], str]:
        if service not in self._layers:
            layers: list[Layer] = []
            notes: list[str] = []
            for document in self.documents:
                chain, note = self._chain(document, service, frozenset())
                layers.extend(chain)
                notes.extend([note] if note else [])
            self._layers[service] = (layers, "; ".join(notes))
        return self._layers[service]

    def _chain(self, document: ComposeDocument, name: str, seen: frozenset[tuple[str, str]]) -> tuple[list[Layer], str]:
        service = document.services.get(name)
        if service is None:
            return [], ""
        own = [Layer(document, service, False)]
        base_name, file = extends_target(service)
        if base_name is None:
            return own, ""
        source = document if file is None else self._source(document, file)
        if source is None:
            return own, (
                f"{name} extends {base_name} in {file}, which is not part of this run: harden cannot see what {name} "
                "inherits, so it changes nothing that could repeat or contradict it (name both files to harden)"
            )
        seen = seen | {(document.path, name)}
        if (source.path, base_name) in seen or base_name not in source.services:
            return own, ""  # Compose refuses a cycle or a missing service: nothing to inherit
        chain, note = self._chain(source, base_name, seen)
        return [dataclasses.replace(layer, base=True) for layer in chain] + own, note

    def _source(self, document: ComposeDocument, file: str) -> ComposeDocument | None:
        found = self.sources.get((document.path, file))
        if found is None:
            return None
        # the version of the file this run reads now (the current one is re-parsed after each fix)
        return next((d for d in self.documents if d.path == found.path), found)


class ProjectService(Service):
    """A service of the current file that reads its values across what Compose merges into it.
    Its node, position and own/merged keys are the current file's (where edits land)."""

    def __init__(self, local: Service, project: Project, variables: Mapping[str, str]) -> None:
        super().__init__(local.document, local.name, local.node, local.line, local.column, variables)
        self.local = local
        self.project = project

    def get(self, key: str) -> Any:
        return self.project.value(self.name, key)


def project_of(document: ComposeDocument, context: Context) -> Project | None:
    """The document's project (None: it is alone and extends nothing). The document's own entry
    in Context.related is found by path: when a fix is applied, the passes run again on the new
    text, which takes the place of the file as it was read.

    Each call builds a new Project (a pass keeps no state between calls): its layers and merged
    values are computed when first read, so building one costs little (`harden diff` over a
    project of 80 services in two files took the same time as with a project kept between the
    passes of a file)."""
    related = [d for d in context.related if isinstance(d, ComposeDocument)]
    index = next((i for i, d in enumerate(related) if d is document or d.path == document.path), None)
    if index is None or len(related) < 2:
        if not any(extends_target(s)[0] for s in document.services.values()):
            return None
        related, index = [document], 0
    related[index] = document
    sources = {
        (m.referrer, m.file): m.document
        for m in context.related
        if isinstance(m, Extended) and isinstance(m.document, ComposeDocument)
    }
    return Project(related, index, sources)


def services(document: ComposeDocument, context: Context) -> list[Service]:
    """The document's services, as views across what Compose merges into them when it does."""
    project = project_of(document, context)
    if project is None:
        return [s.with_variables(context.variables) for s in document.services.values()]
    return [ProjectService(s, project, context.variables) for s in document.services.values()]


def here(service: Service, key: str | None = None) -> bool:
    """Whether this file edits and reports `key` of the service (`None`: a finding about the
    service as a whole, which its first file reports). Always true for a service alone."""
    if not isinstance(service, ProjectService):
        return True
    return service.project.owner(service.name, key) is service.project.current


def set_in(service: Service, key: str) -> str:
    """' in FILE' when the effective value of the key is set in another file of the project,
    ' in service B' (' in service B of FILE') when the service inherits it through `extends`."""
    if not isinstance(service, ProjectService):
        return ""
    found = service.project.setter(service.name, key)
    current = service.project.current
    if found is None or (found.document is current and not found.base):
        return ""
    where = "" if found.document is current else file_label(found.document, current)
    if found.base:
        return f" in service {found.service.name}" + (f" of {where}" if where else "")
    return f" in {where}"


def file_label(document: ComposeDocument, current: ComposeDocument) -> str:
    """How a message names another file of the project: its name when it is beside the current
    file (compose.override.yaml), else its path."""
    directory, name = posixpath.split(document.path)
    return name if directory == posixpath.dirname(current.path) else document.path


def written_here(service: Service, key: str) -> Any:
    """This file's own value of the key, when it reaches the merged model (for findings and
    edits about single items of ports, volumes, devices: each file handles the items it writes,
    and a service that extends another the items it writes itself)."""
    if not isinstance(service, ProjectService):
        return service.get(key)
    return service.local.get(key) if service.project.live(service.name, key) else None


def bases(service: Service) -> list[Layer]:
    """The layers the service inherits through `extends`, in merge order."""
    if not isinstance(service, ProjectService):
        return []
    return [layer for layer in service.project.layers(service.name) if layer.base]


def unseen(service: Service) -> str:
    """What harden could not read of the service ('' when it sees everything it inherits)."""
    return service.project.unseen(service.name) if isinstance(service, ProjectService) else ""


def deploy_limits(deploy: object) -> dict[str, Any] | None:
    """`deploy.resources.limits` of a plain `deploy` value, when it is a mapping."""
    resources = deploy.get("resources") if isinstance(deploy, dict) else None
    limits = resources.get("limits") if isinstance(resources, dict) else None
    return limits if isinstance(limits, dict) else None


def limits_here(service: Service) -> bool:
    """Whether this file writes the effective `deploy.resources.limits` mapping of the service
    (its last own layer that has one: a base service's is edited by that service's analysis)."""
    if not isinstance(service, ProjectService):
        return True
    layers = service.project.layers(service.name)
    found = next((layer for layer in reversed(layers) if deploy_limits(layer.service.get("deploy")) is not None), None)
    return found is not None and not found.base and found.document is service.project.current
