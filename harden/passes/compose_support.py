"""What the compose passes share (not a pass: it is not in PASS_MODULES).

- `facts`: the image knowledge of a service (None: unknown image, or built from a Dockerfile
  under a name harden does not know).
- `mounts`: a service's `volumes:` in short and long syntax, as (source, target, kind, read_only).
- `position`: the 1-based line and column of a key (or of a sequence item) of a service, in the
  service or in the anchored mapping it merges the key from.
- `plan`: where an edit lands (issue 4, item 2). When services get their settings from a merge
  key (`<<: *defaults`) and every service that merges that anchor needs the same value, the key
  goes into the anchored mapping once; otherwise on each service. A list the user set (on the
  service or in an anchor) is extended, never replaced; one that several services share through
  an anchor is extended only when all of them need the same items.
- override files (`services`, `here`, `route`, `written_here`): a pass reads a service across
  its Compose project (compose.yaml then compose.override.yaml, Context.related) and edits or
  reports a key only in the file that sets it last, or, when no file sets it, in the first file
  that defines the service; see the section at the end of this module.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harden import knowledge
from harden.compose import APPEND_KEYS, MAPPING_KEYS, ComposeDocument, Service, _merges, _tag, effective, where_set
from harden.model import Applicability, Claim, Edit, Finding, Fix, Rule, Severity
from harden.passes import Context

ROOT_USERS = frozenset({"root", "0", "root:root", "0:0", "root:0", "0:root"})
_MODES = frozenset(
    {
        "ro",
        "rw",
        "z",
        "Z",
        "cached",
        "delegated",
        "consistent",
        "nocopy",
        "shared",
        "slave",
        "private",
        "rshared",
        "rslave",
        "rprivate",
        "copy",
    }
)


def facts(service: Service) -> knowledge.ImageFacts | None:
    return knowledge.lookup(service.image) if service.image else None


def image_label(service: Service) -> str:
    if service.image:
        return f"image {service.image}"
    return "built from a Dockerfile" if service.has_build else "no image"


def user_of(service: Service, image: knowledge.ImageFacts | None) -> str | None:
    """The user the container starts as: `user:`, else the image's default, else None (unknown)."""
    user = service.get("user")
    if user is not None and str(user).strip():
        return str(user).strip()
    return image.default_user if image else None


def is_root(user: str | None) -> bool:
    return user is None or user in ROOT_USERS or user.split(":", 1)[0] in ("root", "0")


def as_list(value: object) -> list[Any] | None:
    """A sequence value as a list; None when absent or not a list (a string, a `!reset`)."""
    return list(value) if isinstance(value, list | tuple) else None


# --- volumes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mount:
    source: str  # "" for an anonymous volume
    target: str
    kind: str  # bind | volume | tmpfs | npipe | image | cluster
    read_only: bool
    index: int  # position in `volumes:`


def split_colons(text: str) -> list[str]:
    """Split at ':' outside `${...}` and `[...]` (interpolation defaults, IPv6 addresses)."""
    parts: list[str] = []
    depth_brace = depth_bracket = 0
    current = ""
    i = 0
    while i < len(text):
        char = text[i]
        if char == "$" and text[i + 1 : i + 2] == "{":
            depth_brace += 1
            current += "${"
            i += 2
            continue
        if char == "}" and depth_brace:
            depth_brace -= 1
        elif char == "[":
            depth_bracket += 1
        elif char == "]" and depth_bracket:
            depth_bracket -= 1
        elif char == ":" and not depth_brace and not depth_bracket:
            parts.append(current)
            current = ""
            i += 1
            continue
        current += char
        i += 1
    parts.append(current)
    return parts


def _is_mode(text: str) -> bool:
    return all(m in _MODES for m in text.split(","))


def _is_host_path(source: str) -> bool:
    return source.startswith(("/", ".", "~", "\\", "$")) or bool(re.match(r"^[A-Za-z]:[\\/]", source))


def parse_volume(item: object, index: int) -> Mount | None:
    if isinstance(item, dict):
        target = str(item.get("target", ""))
        source = str(item.get("source", "") or "")
        kind = str(item.get("type", "volume"))
        return Mount(source, target, kind, bool(item.get("read_only", False)), index)
    if not isinstance(item, str):
        return None
    parts = split_colons(item)
    if len(parts) >= 2 and len(parts[0]) == 1 and parts[0].isalpha() and parts[1][:1] in ("\\", "/"):
        parts = [parts[0] + ":" + parts[1], *parts[2:]]  # a Windows drive letter
    mode = ""
    if len(parts) >= 3 or (len(parts) == 2 and parts[0].startswith("/") and _is_mode(parts[1])):
        mode = parts.pop()
    if len(parts) == 1:
        return Mount("", parts[0], "volume", "ro" in mode.split(","), index)
    source, target = parts[0], ":".join(parts[1:])
    kind = "bind" if _is_host_path(source) else "volume"
    return Mount(source, target, kind, "ro" in mode.split(","), index)


def mounts(service: Service, here: bool = False) -> list[Mount]:
    """The service's mounts (across its project's files); `here`: only those this file writes,
    indexed as in this file (for positions and edits)."""
    found = []
    value = written_here(service, "volumes") if here else service.get("volumes")
    for index, item in enumerate(as_list(value) or []):
        mount = parse_volume(item, index)
        if mount is not None:
            found.append(mount)
    return found


def normalise_path(path: str) -> str:
    path = path.replace("\\", "/")
    while "//" in path:
        path = path.replace("//", "/")
    return path.rstrip("/") or "/"


def _resolved(path: str) -> str:
    """/var/run is a symbolic link to /run in Debian, Alpine and RHEL images."""
    path = normalise_path(path)
    return "/run" + path[len("/var/run") :] if path == "/var/run" or path.startswith("/var/run/") else path


def covered(path: str, targets: Iterable[str]) -> str | None:
    """The mount target (or tmpfs path) under which `path` lies, if any."""
    path = _resolved(path)
    for target in targets:
        resolved = _resolved(target)
        if path == resolved or path.startswith(resolved.rstrip("/") + "/"):
            return target
    return None


# --- positions -----------------------------------------------------------------------------


def _lc_key(node: Any, key: str) -> tuple[int, int] | None:
    try:
        line, column = node.lc.key(key)
    except (AttributeError, KeyError, TypeError):
        return None
    return int(line) + 1, int(column) + 1


def owner_node(document: ComposeDocument, service: Service, key: str) -> Any:
    """The mapping that holds the key in the text: the service, or the anchor it merges it from."""
    if service.own(key):
        return service.node
    anchor = service.merged_from(key)
    if anchor:
        info = document.anchors().get(anchor)
        if info is not None:
            return info.node
    return None


def position(document: ComposeDocument, service: Service, key: str | None = None, item: int | None = None) -> tuple[int, int]:
    if key is not None:
        node = owner_node(document, service, key)
        if node is not None:
            if item is not None:
                try:
                    line, column = node[key].lc.item(item)
                    return int(line) + 1, int(column) + 1
                except (AttributeError, KeyError, TypeError, IndexError):
                    pass
            found = _lc_key(node, key)
            if found:
                return found
    return service.line, service.column


# --- placement -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Want:
    """One key a pass wants on a service: `add` it with `value` when absent, or `extend` the list
    the user set with the items of `value`."""

    key: str
    value: object
    extend: bool = False
    comments: dict[str, str] | None = None

    def same(self, other: Want) -> bool:
        return (self.key, _freeze(self.value), self.extend, _freeze(self.comments)) == (
            other.key,
            _freeze(other.value),
            other.extend,
            _freeze(other.comments),
        )


def _freeze(value: object) -> object:
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass
class Unit:
    """Edits that become one finding: one service, or the services that merge one anchor."""

    services: list[Service]
    anchor: str | None
    line: int
    column: int
    edits: list[Edit] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    anchored: list[str] = field(default_factory=list)  # keys written into an anchored mapping
    placed: bool = False  # something is written for it (an edit, or one `check` did not build)

    @property
    def subject(self) -> str:
        return ", ".join(s.name for s in self.services)


class _Unplaceable(Exception):
    pass


def owns(node: Any, key: str) -> bool:
    return any(k == key for k, _ in node.non_merged_items())


def _merged_nodes(node: Any) -> list[Any]:
    return list(_merges(node))


def _reaches(node: Any, target: Any, seen: set[int] | None = None) -> bool:
    """Whether `node` merges `target`, directly or through other merged mappings."""
    seen = seen if seen is not None else set()
    for merged in _merged_nodes(node):
        if merged is target:
            return True
        if id(merged) not in seen:
            seen.add(id(merged))
            if _reaches(merged, target, seen):
                return True
    return False


def members(document: ComposeDocument, anchor: str) -> list[Service]:
    """Every service that a change to the anchored mapping reaches: the services that merge it
    (directly or through another anchored mapping) and a service that is itself the mapping."""
    node = document.anchors()[anchor].node
    return [s for s in document.services.values() if s.node is node or _reaches(s.node, node)]


def reached_paths(document: ComposeDocument, anchor: str) -> list[Claim]:
    """Where a key added to the anchored mapping shows up in `semantic()`: the mapping itself
    and every mapping that merges it, directly or through others (services and other anchors)."""
    target = document.anchors()[anchor].node
    found: list[Claim] = []
    seen: set[int] = set()
    stack: list[tuple[Any, Claim]] = [(document.data, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        own_items = getattr(node, "non_merged_items", None)
        if own_items is not None:
            if node is target or _reaches(node, target):
                found.append(path)
            stack.extend((value, (*path, key)) for key, value in own_items() if isinstance(value, dict | list))
        elif isinstance(node, list):
            stack.extend((value, (*path, index)) for index, value in enumerate(node) if isinstance(value, dict | list))
    return found


def owning_anchor(document: ComposeDocument, service: Service, key: str) -> str | None:
    """The anchored mapping that writes a merged key (following merges of merges)."""
    name = service.merged_from(key)
    anchors = document.anchors()
    seen: set[str] = set()
    while name is not None and name in anchors and name not in seen:
        seen.add(name)
        node = anchors[name].node
        if owns(node, key):
            return name
        name = next(
            (_anchor(m) for m in _merged_nodes(node) if key in m and _anchor(m) in anchors),
            None,
        )
    return None


def _anchor(node: Any) -> str | None:
    anchor = getattr(node, "anchor", None)
    value = getattr(anchor, "value", None)
    return str(value) if value else None


def _aliased(document: ComposeDocument, target: Any) -> bool:
    """Whether the mapping also appears as a plain alias (`logging: *log`), not only merged:
    a key added to it would then change that place too."""
    count = 0
    seen: set[int] = set()
    stack = [document.data]
    while stack:
        node: Any = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        own_items = getattr(node, "non_merged_items", None)
        children = [v for _, v in own_items()] if own_items is not None else list(node)
        for child in children:
            if child is target:
                count += 1
            if isinstance(child, dict | list):
                stack.append(child)
    return count > 1


def plan(document: ComposeDocument, wants: dict[str, list[Want]], build: bool = True) -> tuple[list[Unit], dict[str, str]]:
    """Place every service's wants: (units of edits, {service: why nothing was placed}).

    `build` False (`harden check`, Context.need_edits): where things go and what they claim is
    decided, but no edit text is rendered, which is most of the cost."""
    services = document.services
    wants = {name: list(w) for name, w in wants.items() if w}
    blocked: dict[str, str] = {}
    anchors = document.anchors()

    # An `extend` of a list merged from an anchor edits the anchored mapping: every service that
    # gets the list from there must want the same items. Drop services that cannot be served.
    changed = True
    while changed:
        changed = False
        for name in list(wants):
            reason = _extend_problem(document, services[name], wants)
            if reason:
                blocked[name] = reason
                del wants[name]
                changed = True

    units: list[Unit] = []
    done: set[tuple[str, str]] = set()  # (anchor, key) already edited
    placed: set[str] = set()
    # anchors that services merge directly first: the key lands next to what the services use
    for anchor, info in sorted(anchors.items(), key=lambda item: not item[1].merged_by):
        group = members(document, anchor)
        if not group or any(s.name in placed or s.name not in wants for s in group):
            continue
        keys = _anchor_keys(document, anchor, group, wants)
        if not keys or _aliased(document, info.node):
            continue
        unit = Unit(group, anchor, info.line, 1)
        try:
            for want in _ordered([w for w in wants[group[0].name] if w.key in keys]):
                key = want.key
                unit.edits.extend(_edit(document, anchor, want, build))
                unit.placed = True
                unit.anchored.append(key)
                unit.claims.extend((*path, key) for path in reached_paths(document, anchor))
                unit.claims.extend(("services", s.name, key) for s in group)
                done.add((anchor, key))
            for service in group:
                for want in _ordered(wants[service.name]):
                    if want.key not in keys:
                        _place_on_service(document, service, want, unit, done, build)
        except _Unplaceable:
            continue
        placed.update(s.name for s in group)
        units.append(unit)
    for name, service_wants in wants.items():
        if name in placed:
            continue
        service = services[name]
        unit = Unit([service], None, service.line, service.column)
        try:
            for want in _ordered(service_wants):
                _place_on_service(document, service, want, unit, done, build)
        except _Unplaceable as problem:
            blocked[name] = str(problem)
            continue
        units.append(unit)
    units.sort(key=lambda u: (u.line, u.column))
    return [u for u in units if u.placed], blocked


def _ordered(wants: list[Want]) -> list[Want]:
    """Extensions first: an extended list that ends its mapping and a key added to that mapping
    insert at the same offset, and the items must come before the new key."""
    return sorted(wants, key=lambda w: not w.extend)


def _extend_problem(document: ComposeDocument, service: Service, wants: dict[str, list[Want]]) -> str:
    for want in wants[service.name]:
        if not want.extend:
            if service.own(want.key):  # written, but with no value: `key:` or `key: !reset`
                return f"{want.key} is written here without a value (empty or !reset): harden leaves it"
            continue
        if service.own(want.key):
            continue
        anchor = owning_anchor(document, service, want.key)
        if anchor is None:
            return f"{want.key} is not a list harden can extend here"
        sharing = [s for s in members(document, anchor) if owning_anchor(document, s, want.key) == anchor]
        if not all(_wants_same(wants.get(s.name, []), want) for s in sharing):
            others = ", ".join(s.name for s in sharing if s.name != service.name)
            return (
                f"{want.key} comes from anchor &{anchor}, shared with {others}, which need other values; harden "
                "does not override a shared list for one service"
            )
    return ""


def _wants_same(service_wants: Sequence[Want], want: Want) -> bool:
    return any(w.same(want) for w in service_wants)


def _anchor_keys(document: ComposeDocument, anchor: str, group: list[Service], wants: dict[str, list[Want]]) -> list[str]:
    """Keys every service of the group wants with the same value: absent from all of them, or a
    list all of them get from this anchored mapping."""
    keys = []
    for want in wants[group[0].name]:
        if not all(_wants_same(wants[s.name], want) for s in group):
            continue
        if want.extend:
            if all(owning_anchor(document, s, want.key) == anchor for s in group):
                keys.append(want.key)
        elif all(not s.own(want.key) and s.merged_from(want.key) is None for s in group):
            keys.append(want.key)
    return keys


def _place_on_service(
    document: ComposeDocument, service: Service, want: Want, unit: Unit, done: set[tuple[str, str]], build: bool
) -> None:
    if want.extend and not service.own(want.key):
        anchor = owning_anchor(document, service, want.key)
        if anchor is None:
            raise _Unplaceable(f"{want.key} is not a list harden can extend here")
        if (anchor, want.key) not in done:
            unit.edits.extend(_edit(document, anchor, want, build))
            unit.placed = True
            done.add((anchor, want.key))
        unit.claims.extend((*path, want.key) for path in reached_paths(document, anchor))
        unit.claims.extend(("services", s.name, want.key) for s in members(document, anchor))
        return
    unit.edits.extend(_edit(document, service, want, build))
    unit.placed = True
    unit.claims.append(("services", service.name, want.key))


def _edit(document: ComposeDocument, owner: Service | str, want: Want, build: bool = True) -> list[Edit]:
    if not build:
        shared = document.shared(owner, want.key)  # what building the edit would raise (`check` says it too)
        if shared:
            raise _Unplaceable(f"{want.key}: {shared}")
        return []
    try:
        if want.extend:
            items = want.value if isinstance(want.value, list) else [want.value]
            return document.extend_sequence(owner, want.key, list(items), comments=want.comments)
        return document.add_key(owner, want.key, want.value, comments=want.comments)
    except (ValueError, KeyError, TypeError) as error:
        raise _Unplaceable(f"{want.key}: {error}") from None


# --- ports ---------------------------------------------------------------------------------

ALL_INTERFACES = frozenset({"", "0.0.0.0", "::", "[::]"})


@dataclass(frozen=True)
class Port:
    """One `ports:` entry. `host_ip` None: no address given (all interfaces)."""

    index: int
    host_ip: str | None
    published: str  # "" when only the container port is given (a random host port)
    target: str
    protocol: str
    long: bool  # long syntax (a mapping)
    text: str  # short syntax: the entry as a string; long: ""

    @property
    def all_interfaces(self) -> bool:
        return self.host_ip is None or self.host_ip in ALL_INTERFACES

    @property
    def ipv6(self) -> bool:
        return self.host_ip is not None and ":" in self.host_ip

    def numbers(self, which: str) -> set[int]:
        """The port numbers of `published` or `target`, ranges expanded (none for `${VAR}`)."""
        text = self.published if which == "published" else self.target
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", text.strip())
        if not match:
            return set()
        first = int(match.group(1))
        last = int(match.group(2) or first)
        return set(range(first, min(last, first + 65535) + 1))

    def loopback(self) -> str:
        """The short-syntax text bound to loopback (IPv6 `[::]` becomes `[::1]`)."""
        text = self.text
        if self.host_ip is None:
            return ("127.0.0.1:" if self.published else "127.0.0.1::") + text
        address = "[::1]" if self.ipv6 else "127.0.0.1"
        ip_text = ":".join(split_colons(text)[:-2])
        return address + text[len(ip_text) :]


def parse_port(item: object, index: int) -> Port | None:
    if isinstance(item, bool):
        return None
    if isinstance(item, int):
        return Port(index, None, "", str(item), "", False, str(item))
    if isinstance(item, dict):
        host_ip = item.get("host_ip")
        return Port(
            index,
            None if host_ip is None else str(host_ip),
            str(item.get("published", "") or ""),
            str(item.get("target", "")),
            str(item.get("protocol", "") or ""),
            True,
            "",
        )
    if not isinstance(item, str):
        return None
    text = item.strip()
    match = re.fullmatch(r"(.*)/([A-Za-z]+)", text)
    body, protocol = (match.group(1), match.group(2)) if match else (text, "")
    parts = split_colons(body)
    if len(parts) == 1:
        return Port(index, None, "", parts[0], protocol, False, text)
    if len(parts) == 2:
        return Port(index, None, parts[0], parts[1], protocol, False, text)
    host_ip = ":".join(parts[:-2])
    return Port(index, host_ip, parts[-2], parts[-1], protocol, False, text)


def ports(service: Service, here: bool = False) -> list[Port]:
    """The service's ports (across its project's files); `here`: as for `mounts`."""
    found = []
    value = written_here(service, "ports") if here else service.get("ports")
    for index, item in enumerate(as_list(value) or []):
        port = parse_port(item, index)
        if port is not None:
            found.append(port)
    return found


def truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def per_service(texts: dict[str, str], names: Iterable[str]) -> str:
    """`name: text` for each service, services with the same text joined (`api, worker: ...`)."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(texts[name], []).append(name)
    return "; ".join(f"{', '.join(group)}: {text}" for text, group in groups.items())


# --- override files ------------------------------------------------------------------------
#
# Compose merges a project's files in order (compose.yaml, then compose.override.yaml; or the
# `-f a -f b` order): a key set in a later file wins. The engine hands a file's passes the
# project's documents in that order (Context.related, the file itself included). A pass then
# reads a service's values across the project (`services()`: views whose `get` is the effective
# value, so an override fragment without `image:` finds its image in the base file), and each
# key belongs to exactly one file (`here()`): the last file that sets it (where_set), or, when no
# file sets it, the first file that defines the service. Only that file edits or reports the key.


class Project:
    """The documents Compose merges with the current one, in merge order."""

    def __init__(self, documents: list[ComposeDocument], index: int) -> None:
        self.documents = documents
        self.index = index  # position of the current document
        self.current = documents[index]
        self.merged = effective(documents)

    def value(self, service: str, key: str) -> Any:
        return self.merged.get(service, {}).get(key)

    def owner(self, service: str, key: str | None) -> ComposeDocument | None:
        """The file that edits and reports `key` of the service (None: not in this project)."""
        if key is not None:
            found = where_set(self.documents, service, key)
            if found is not None:
                return found
        return next((d for d in self.documents if service in d.services), None)

    def setter(self, service: str, key: str) -> ComposeDocument | None:
        """The file whose value of the key is the effective one (None: set nowhere)."""
        return where_set(self.documents, service, key)

    def live(self, service: str, key: str) -> bool:
        """Whether this file's value of the key reaches the merged model: it is set here, and no
        later file replaces it (sequences like ports and volumes, and environment-style mappings,
        are merged, unless the later file writes `!reset` or `!override`)."""
        found = self.current.services.get(service)
        if found is None or key not in found.node or _tag(found.node[key]) == "!reset":
            return False
        for document in self.documents[self.index + 1 :]:
            later = document.services.get(service)
            if later is None or key not in later.node:
                continue
            if key not in APPEND_KEYS | MAPPING_KEYS or _tag(later.node[key]) in ("!reset", "!override"):
                return False
        return True


class ProjectService(Service):
    """A service of the current file that reads its values across the project's files. Its
    node, position and own/merged keys are the current file's (where edits land)."""

    def __init__(self, local: Service, project: Project) -> None:
        super().__init__(local.document, local.name, local.node, local.line, local.column)
        self.local = local
        self.project = project

    def get(self, key: str) -> Any:
        return self.project.value(self.name, key)


# The last project built, by the identity of its documents (it holds them, so no id is reused
# while it is cached): the passes of one file run one after another on the same documents.
_LAST: list[tuple[tuple[int, ...], Project]] = []


def project_of(document: ComposeDocument, context: Context) -> Project | None:
    """The project of the document (None: it is alone). The document's own entry in
    Context.related is found by path: when a fix is applied, the passes run again on the new
    text, which takes the place of the file as it was read."""
    related = [d for d in context.related if isinstance(d, ComposeDocument)]
    if len(related) < 2:
        return None
    index = next((i for i, d in enumerate(related) if d is document or d.path == document.path), None)
    if index is None:
        return None
    related[index] = document
    identity = (index, *(id(d) for d in related))
    for key, project in list(_LAST):
        if key == identity:
            return project
    project = Project(related, index)
    _LAST[:] = [(identity, project)]
    return project


def services(document: ComposeDocument, context: Context) -> list[Service]:
    """The document's services, as views across its project's files when it has one."""
    project = project_of(document, context)
    if project is None:
        return list(document.services.values())
    return [ProjectService(s, project) for s in document.services.values()]


def here(service: Service, key: str | None = None) -> bool:
    """Whether this file edits and reports `key` of the service (`None`: a finding about the
    service as a whole, which its first file reports). Always true for a file alone."""
    if not isinstance(service, ProjectService):
        return True
    return service.project.owner(service.name, key) is service.project.current


def set_in(service: Service, key: str) -> str:
    """' in FILE' when the effective value of the key is set in another file of the project."""
    if not isinstance(service, ProjectService):
        return ""
    found = service.project.setter(service.name, key)
    if found is None or found is service.project.current:
        return ""
    return f" in {file_label(found, service.project.current)}"


def file_label(document: ComposeDocument, current: ComposeDocument) -> str:
    """How a message names another file of the project: its name when it is beside the current
    file (compose.override.yaml), else its path."""
    directory, name = posixpath.split(document.path)
    return name if directory == posixpath.dirname(current.path) else document.path


def written_here(service: Service, key: str) -> Any:
    """This file's value of the key, when it reaches the merged model (for findings and edits
    about single items of ports, volumes, devices: each file handles the items it writes)."""
    if not isinstance(service, ProjectService):
        return service.get(key)
    return service.local.get(key) if service.project.live(service.name, key) else None


def route(service: Service, wants: list[Want]) -> tuple[list[Want], str]:
    """(the wants this file writes, a note naming the files that write the others)."""
    if not isinstance(service, ProjectService):
        return wants, ""
    mine = [w for w in wants if here(service, w.key)]
    others = [w for w in wants if not here(service, w.key)]
    where: dict[str, list[str]] = {}
    for want in others:
        owner = service.project.owner(service.name, want.key)
        where.setdefault(file_label(owner, service.project.current) if owner else "another file", []).append(want.key)
    note = "; ".join(f"harden writes {', '.join(keys)} in {path}" for path, keys in where.items())
    return mine, note


def plan_findings(
    rule: Rule,
    rationale: str,
    document: ComposeDocument,
    wants: dict[str, list[Want]],
    context: Context,
    describe: Callable[[Unit, list[str]], tuple[str, str]],
    blocked: str,
) -> list[Finding]:
    """Place the wants (`plan`) and turn each unit into a review finding with its fix, and each
    service nothing could be placed for into a finding that says `blocked: <why>`.

    `describe(unit, names)` gives the unit's message and what might break; `names` are the
    services of the unit that want something.
    """
    units, unplaced = plan(document, wants, context.need_edits)
    findings = []
    for unit in units:
        names = [s.name for s in unit.services if s.name in wants]
        message, might_break = describe(unit, names)
        fix = Fix(tuple(unit.edits), Applicability.REVIEW, tuple(unit.claims), might_break)
        findings.append(Finding(rule, message, unit.line, unit.column, Severity.WARNING, rationale, fix, unit.subject))
    for name, reason in unplaced.items():
        service = document.services[name]
        message = f"{blocked}: {reason}"
        findings.append(Finding(rule, message, service.line, service.column, Severity.WARNING, rationale, None, name))
    return findings


def in_anchor(unit: Unit, key: str | None = None) -> str:
    """` in anchor &x, shared by a, b` when the unit's edit (of `key`) goes into an anchor."""
    anchored = key in unit.anchored if key else bool(unit.anchored)
    return f" in anchor &{unit.anchor}, shared by {unit.subject}" if anchored else ""
