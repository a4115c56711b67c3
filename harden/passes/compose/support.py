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
- override files and `extends` (`route`, `without_inherited`; the model, `services`, `here`,
  `written_here`, is in compose_layers): a pass reads a service as Compose merges it, and
  edits or reports a key only where its effective value is set; a service that extends another
  adds only what the rule does not give the other in the same run.
- `limits_node`, `expand_defaults`: the `deploy.resources.limits` mapping a service writes, and
  a value as Compose interpolates it when no variable is set.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harden import knowledge
from harden.compose import ComposeDocument, Service, _is_alias_value, _merges, _own, parse
from harden.config import MAX_ROUNDS
from harden.model import (
    Applicability,
    Caveat,
    Claim,
    DocumentError,
    Edit,
    Finding,
    Fix,
    Rule,
    Severity,
    Unfixable,
    apply_edits,
)
from harden.passes import Context
from harden.passes.compose.layers import (
    ProjectService,
    bases,
    file_label,
    here,
    services,
    unseen,
    written_here,
)

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


def limits_node(document: ComposeDocument, service: Service) -> tuple[Any, str]:
    """(the `deploy.resources.limits` mapping written on the service in this file, or None and
    why not: it comes from an anchor or an alias, which other places share)."""
    node: Any = service.node
    for key in ("deploy", "resources", "limits"):
        if not _own(node, key):
            anchor = service.merged_from(key) if node is service.node else None
            return None, f"comes from anchor &{anchor}" if anchor else "comes from a merged mapping"
        if _is_alias_value(document, node, key):
            return None, f"is an alias ({key}: *...), shared with the other places that use it"
        node = node[key]
    return node, ""


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
    placed: bool = False  # something is written for it (an edit, rendered or not yet)

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

    `build` False (plan_findings, before a fix is applied): where things go and what they claim
    is decided, but no edit text is rendered, which is most of the cost."""
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


_VARIABLE = re.compile(r"\$(?:\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


def expand_defaults(text: str) -> str | None:
    """The text as Compose interpolates it when no variable is set: `${VAR:-default}` and
    `${VAR-default}` become their default (itself expanded), `$$` a `$`. None when a variable
    has no default (`$VAR`, `${VAR}`, `${VAR:?error}`, `${VAR:+value}`): its value is unknown."""
    result = ""
    i = 0
    while i < len(text):
        if text.startswith("$$", i):
            result += "$"
            i += 2
            continue
        match = _VARIABLE.match(text, i)
        if match is None:
            result += text[i]
            i += 1
            continue
        if match.group("bare") or match.group("op") not in (":-", "-"):
            return None
        end = _closing_brace(text, match.end())
        default = expand_defaults(text[match.end() : end]) if end is not None else None
        if end is None or default is None:
            return None
        result += default
        i = end + 1
    return result


def _closing_brace(text: str, start: int) -> int | None:
    depth = 1
    for i in range(start, len(text)):
        if text.startswith("${", i):
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return None


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


def per_service(texts: dict[str, str], names: Iterable[str]) -> tuple[Caveat, ...]:
    """What might break for each service (renderers join services with the same text)."""
    return tuple(Caveat(name, texts[name]) for name in names)


# --- override files and extends (the model is in compose_layers) ----------------------------


def route(service: Service, wants: list[Want]) -> tuple[list[Want], str]:
    """(the wants this file writes, a note naming where the others are written)."""
    if not isinstance(service, ProjectService):
        return wants, ""
    mine = [w for w in wants if here(service, w.key)]
    others = [w for w in wants if not here(service, w.key)]
    where: dict[str, list[str]] = {}
    for want in others:
        owner = service.project.owner(service.name, want.key)
        setter = service.project.setter(service.name, want.key)
        if owner is not None:
            label = file_label(owner, service.project.current)
        else:
            label = f"service {setter.service.name}" if setter is not None else "another file"
        where.setdefault(label, []).append(want.key)
    note = "; ".join(f"harden writes {', '.join(keys)} in {path}" for path, keys in where.items())
    return mine, note


def plan_findings(
    rule: Rule,
    rationale: str,
    document: ComposeDocument,
    wants: dict[str, list[Want]],
    context: Context,
    describe: Callable[[Unit, list[str]], tuple[str, tuple[Caveat, ...]]],
    blocked: str,
    requires: Callable[[list[str]], tuple[str, ...]] | None = None,
) -> list[Finding]:
    """Place the wants (`plan`) and turn each unit into a review finding with its fix, and each
    service nothing could be placed for into a finding that says `blocked: <why>`.

    `describe(unit, names)` gives the unit's message and what might break; `names` are the
    services of the unit that want something; `requires(names)` the ids of other findings whose
    fixes the unit's fix counts on. A service that extends another first loses what the other
    gets from the same rule (`without_inherited`), and its messages say so.

    Placing decides where edits go and what they claim without rendering them; each fix renders
    its edits only when applied, by placing again with rendering (once for all the units). A
    unit whose edits then cannot be rendered is Unfixable: what that placement says instead.
    """
    wants, notes, unseen_bases = without_inherited(rule, document, wants, context)
    units, unplaced = plan(document, wants, build=False)
    unplaced.update(unseen_bases)
    rendered: list[tuple[list[Unit], dict[str, str]]] = []

    def findings_of(units: list[Unit], unplaced: dict[str, str], built: bool) -> list[Finding]:
        findings = []
        for unit in units:
            names = [s.name for s in unit.services if s.name in wants]
            message, caveats = describe(unit, names)
            message += "".join(f"; {notes[n]}" for n in names if notes.get(n))
            edits = (lambda unit=unit: unit.edits) if built else (lambda unit=unit: render(unit))
            fix = Fix(Applicability.REVIEW, tuple(unit.claims), edits, caveats, requires(names) if requires else ())
            findings.append(Finding(rule, message, unit.line, unit.column, Severity.WARNING, rationale, fix, unit.subject))
        for name, reason in unplaced.items():
            service = document.services[name]
            message = f"{blocked}: {reason}"
            findings.append(Finding(rule, message, service.line, service.column, Severity.WARNING, rationale, None, name))
        return findings

    def render(unit: Unit) -> list[Edit]:
        if not rendered:
            built, left = plan(document, wants, build=True)
            rendered.append((built, {**left, **unseen_bases}))
        built, left = rendered[0]
        for other in built:
            if (other.line, other.column, other.subject) == (unit.line, unit.column, unit.subject):
                return other.edits
        names = {s.name for s in unit.services}
        raise Unfixable([f for f in findings_of(built, left, True) if set(f.subject.split(", ")) & names])

    return findings_of(units, unplaced, False)


def without_inherited(
    rule: Rule, document: ComposeDocument, wants: dict[str, list[Want]], context: Context
) -> tuple[dict[str, list[Want]], dict[str, str], dict[str, str]]:
    """(the wants less what each service inherits through `extends` from this rule's fix of the
    services it extends, a note per service, why nothing is placed for a service).

    Compose appends a base service's lists to those of the service that extends it, and a
    security_opt item written in both is an error; a scalar written in both is written twice.
    So each service that extends another keeps only the items (and values) its bases do not get
    from this rule in this run: what the rule does to each base's file is found by running the
    rule on that file first (`_additions`, with no such reduction inside). A list the service
    does not write itself is then added as its own key, which Compose appends to the inherited
    one. A service whose base is in a file harden does not read gets nothing: what it inherits
    may already hold what harden would add (a repeated security_opt item, which Compose refuses),
    or a value harden would override (`user`, `read_only`), or `deploy.resources.limits`, which
    Compose refuses beside `pids_limit`.
    """
    views = {s.name: s for s in services(document, context)} if wants else {}
    blocked = {name: unseen(views[name]) for name in wants if name in views and unseen(views[name])}
    wants = {name: found for name, found in wants.items() if name not in blocked}
    if _SIMULATING or not wants:
        return wants, {}, blocked
    reduced: dict[str, list[Want]] = {}
    notes: dict[str, str] = {}
    for name, service_wants in wants.items():
        service = views.get(name)
        inherited = bases(service) if service is not None else []
        if service is None or not inherited:
            reduced[name] = service_wants
            continue
        added = inherited_additions(rule, service, context)
        kept: list[Want] = []
        taken: list[str] = []
        for want in service_wants:
            less = _less(want, added.get(want.key, []), service)
            kept.extend([less] if less is not None else [])
            if less is None:
                taken.append(want.key)
            elif isinstance(want.value, list) and isinstance(less.value, list) and less.value != want.value:
                gone = [str(item) for item in want.value if item not in less.value]
                taken.append(f"{want.key} {', '.join(gone)}")
        if kept:
            reduced[name] = kept
        if taken:
            names = ", ".join(dict.fromkeys(layer.service.name for layer in inherited))
            notes[name] = f"{name} extends {names} and inherits {'; '.join(taken)} from harden's change there"
    heirs: dict[str, list[str]] = {}
    for name, view in views.items():
        for layer in bases(view):
            if layer.document is document:
                heirs.setdefault(layer.service.name, []).append(name)
    for name, found in heirs.items():
        if name in reduced:
            verb = "extends" if len(found) == 1 else "extend"
            notes[name] = f"{', '.join(found)} {verb} {name} and inherit{'s' if len(found) == 1 else ''} this"
    return reduced, notes, blocked


def inherited_additions(rule: Rule, service: Service, context: Context) -> dict[str, list[Any]]:
    """What the rule's fixes add, in this run, to the services this one extends: {key: what
    each base gets (the items added to a list, or the new value)}; nothing while the rule runs
    on a base's file to find out (`_additions`)."""
    added: dict[str, list[Any]] = {}
    for layer in bases(service) if not _SIMULATING else []:
        for key, value in _additions(rule, layer.document, context).get(layer.service.name, {}).items():
            added.setdefault(key, []).append(value)
    return added


def _less(want: Want, added: list[Any], service: Service) -> Want | None:
    """The want without what the bases get (None: nothing left); a list the service does not
    write itself becomes a key of its own."""
    value = want.value
    for addition in added:
        if isinstance(value, list) and isinstance(addition, list):
            value = [item for item in value if item not in addition]
        elif addition == value:
            return None
    if isinstance(value, list) and not value:
        return None
    extend = want.extend and want.key in service.node
    comments = want.comments
    if comments and isinstance(value, list):
        comments = {k: v for k, v in comments.items() if k in value}
    return Want(want.key, value, extend, comments)


# Nonzero while a rule runs on a base service's file to learn what it adds (`_additions`).
_SIMULATING = 0
# The last simulations: (rule id, the document, the context, what each service gets); the
# entries hold the document and context, so no id is reused while they are kept.
_ADDED: list[tuple[str, ComposeDocument, Context, dict[str, dict[str, Any]]]] = []


def _additions(rule: Rule, document: ComposeDocument, context: Context) -> dict[str, dict[str, Any]]:
    """What the rule's fixes add to each service of the document, as `harden fix` would apply
    them (the settings choose the fixes, rounds until none is left): {service: {key: the
    items added to a list, or the new value}}."""
    global _SIMULATING
    for rule_id, known, known_context, found in _ADDED:
        if rule_id == rule.id and known is document and known_context is context:
            return found
    from harden import passes

    module = passes.rule(rule.id)
    if module is None:
        return {}
    current = document
    _SIMULATING += 1
    try:
        for _ in range(MAX_ROUNDS):
            edits = _chosen_edits(module.check(current, context), current.path, context)
            if not edits:
                break
            current = parse(current.path, apply_edits(current.text, edits, current.newline))
    except DocumentError:
        current = document
    finally:
        _SIMULATING -= 1
    found = {name: _changed(service, current.services.get(name)) for name, service in document.services.items()}
    _ADDED[:] = [*_ADDED[-7:], (rule.id, document, context, found)]
    return found


def _chosen_edits(findings: list[Finding], path: str, context: Context) -> list[Edit]:
    """The edits of one round of the engine's fix loop, for one rule's findings: the fixes the
    run's selector chooses, in order, each unless it overlaps one before it (its requirements
    are not waited for: only this rule runs)."""
    taken: list[Edit] = []
    for finding in findings:
        if finding.fix is None or not context.chooses(dataclasses.replace(finding, path=path)):
            continue
        try:
            edits = finding.fix.edits()
        except Unfixable:
            continue
        if not any(a.overlaps(b) for a in edits for b in taken):
            taken.extend(edits)
    return taken


def _changed(before: Service, after: Service | None) -> dict[str, Any]:
    changed: dict[str, Any] = {}
    for key in after.keys() if after is not None else []:
        old, new = before.get(key), after.get(key)  # type: ignore[union-attr]
        if old != new:
            changed[key] = [item for item in new if item not in old] if isinstance(old, list) and isinstance(new, list) else new
    return changed


def in_anchor(unit: Unit, key: str | None = None) -> str:
    """` in anchor &x, shared by a, b` when the unit's edit (of `key`) goes into an anchor."""
    anchored = key in unit.anchored if key else bool(unit.anchored)
    return f" in anchor &{unit.anchor}, shared by {unit.subject}" if anchored else ""
