"""Compose projects: which compose files Compose merges, in which order, and how.

Without `-f`, `docker compose` reads the first of `compose.yaml`, `compose.yml`,
`docker-compose.yml`, `docker-compose.yaml` in a directory, then the first of
`compose.override.yml`, `compose.override.yaml`, `docker-compose.override.yml`,
`docker-compose.override.yaml` beside it (compose-go, cli/options.go: DefaultFileNames and
DefaultOverrideFileNames, in that order of preference), and merges them in that order: a key set
in a later file wins. harden groups the compose files it discovered the same way, so that each
file's passes see the whole project (passes.Context.related). Files in no such pair (a second
base name in the same directory, `compose.prod.yaml`, a file given alone) are each a project of
their own, as before, except fragments.

A fragment is a file whose services are all defined elsewhere: none has `image:`, `build:` or
`extends:` (`compose.prod.yaml` that only adds secrets, an override file beside no base file).
Compose cannot run it alone; people run it as `-f base -f fragment`. When harden walks a
directory, a fragment joins the project of the one file (or base and override pair) in its own
directory that defines all its services, after that project's files (fragments of one project
in name order), as `-f` would merge them. A fragment that no project there defines, or that
two could, is not hardened: hardened alone it would get settings (cap_drop, read_only) that
break the merged service; harden says so (`fragments`), and `-f` names the project.

An explicit order (a future `-f a -f b` option) is one project in the order given: pass it as
`explicit`, and those files are grouped in that order, and no others (Compose adds no override
file by name when `-f` is given).

`extends: {file: other.yaml, service: base}` names a file relative to the file that writes it.
When that file is part of the run too, every file's Context.related also carries an `Extended`
for it (after the project's documents), so that a service sees what it inherits; a file that
is not part of the run is not read (passes say what they could not see).

Merging (checked against Docker Compose 2.40, `docker-compose -f a -f b config`, in
tests/test_compose_override.py and tests/test_compose_extends.py):

- `merge()`: one service's mappings in order (override files and `extends`), see its docstring.
- `merge_top_level()`: the top-level `networks:`, `volumes:`, `secrets:` and `configs:` of a
  project's files: definitions merge by name, and each definition key by key, later files
  winning; an empty value (`front:`, `driver: null`) changes nothing that is set; `labels`
  merge by name whether written as a mapping or a `NAME=value` list (a name without `=` is "");
  other lists (`ipam.config`) are replaced; `!reset` removes a definition (or a whole
  top-level key, or a key of a definition), `!override` replaces it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from harden.compose.tree import is_map, plain, tag
from harden.compose.values import environment

if TYPE_CHECKING:
    from harden.compose.document import ComposeDocument

BASE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_NAMES = (
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
)
MAPPING_KEYS = frozenset({"annotations", "environment", "labels", "sysctls"})  # merged by name
APPEND_KEYS = frozenset(
    {
        "cap_add",
        "cap_drop",
        "configs",
        "devices",
        "dns",
        "dns_search",
        "env_file",
        "expose",
        "external_links",
        "extra_hosts",
        "ports",
        "secrets",
        "security_opt",
        "tmpfs",
        "volumes",
        "volumes_from",
    }
)
RESOURCE_KEYS = ("networks", "volumes", "secrets", "configs")  # top-level definitions services refer to by name


Definitions = Mapping[str, bool]  # a file's services: whether each defines itself (image, build or extends)


def definitions(document: object) -> dict[str, bool]:
    """A parsed Compose document's services, and whether each defines itself (see Definitions)."""
    return {
        name: any(service.get(key) is not None for key in ("image", "build", "extends"))
        for name, service in getattr(document, "services", {}).items()
    }


def groups(
    paths: Sequence[Path | None], explicit: Sequence[Path] = (), services: Sequence[Definitions | None] = ()
) -> dict[int, tuple[int, ...]]:
    """{index of a file: indexes of its project's files in merge order}, for files in a project
    of two or more (None in `paths`: not a compose file, or one that is left out). `services`
    (Definitions, per file; None or absent: unknown) groups fragments with their project."""
    keys = [_key(p) if p is not None else None for p in paths]
    found: dict[int, tuple[int, ...]] = {}
    if explicit:  # as with `docker compose -f`: no override file is added by name
        order = [_key(p) for p in explicit]
        members = tuple(keys.index(k) for k in order if k in keys)
        return dict.fromkeys(members, members) if len(members) > 1 else {}
    for names in _by_directory(keys).values():
        base = next((names[n] for n in BASE_NAMES if n in names), None)
        override = next((names[n] for n in OVERRIDE_NAMES if n in names), None)
        if base is not None and override is not None:
            found[base] = found[override] = (base, override)
    joined: dict[tuple[int, ...], list[int]] = {}
    for index, fragment in fragments(paths, services).items():
        if len(fragment.projects) == 1:
            joined.setdefault(fragment.projects[0], []).append(index)
    for members, extra in joined.items():
        project = (*members, *sorted(extra, key=lambda i: str(keys[i])))
        found.update(dict.fromkeys(project, project))
    return found


def _by_directory(keys: Sequence[Path | None]) -> dict[Path, dict[str, int]]:
    found: dict[Path, dict[str, int]] = {}
    for index, key in enumerate(keys):
        if key is not None:
            found.setdefault(key.parent, {})[key.name] = index
    return found


class Fragment(NamedTuple):
    """A file whose services are all defined elsewhere (module docstring)."""

    services: tuple[str, ...]
    projects: tuple[tuple[int, ...], ...]  # the projects beside it that define them all (one: it joins it)
    message: str  # why it is not hardened ('' when it joins a project)


def fragments(paths: Sequence[Path | None], services: Sequence[Definitions | None]) -> dict[int, Fragment]:
    """Every fragment of the run, by index (module docstring), with the projects it could join."""
    if not services or not any(d and not any(d.values()) for d in services):
        return {}
    keys = [_key(p) if p is not None else None for p in paths]
    pairs = groups(paths)  # base and override files: a fragment joins the pair, never one of it
    found: dict[int, Fragment] = {}
    for names in _by_directory(keys).values():
        members = sorted(names.values())
        alone = {i for i in members if services[i] and not any(services[i].values())}  # type: ignore[union-attr]
        projects = sorted({pairs.get(i, (i,)) for i in members if i not in alone and services[i] is not None})
        for index in sorted(alone):
            if index in pairs:
                continue  # an override file beside its base file is already in its project
            wanted = tuple(services[index] or {})
            defining = tuple(p for p in projects if all(_defines(services, p, name) for name in wanted))
            found[index] = Fragment(wanted, defining, _fragment_message(wanted, defining, paths))
    return found


def _defines(services: Sequence[Definitions | None], project: tuple[int, ...], name: str) -> bool:
    return any((services[i] or {}).get(name) for i in project)


def _fragment_message(wanted: tuple[str, ...], projects: tuple[tuple[int, ...], ...], paths: Sequence[Path | None]) -> str:
    if len(projects) == 1:
        return ""
    listed = ", ".join(wanted)
    what = f"its services ({listed}) have no image:, build: or extends: here: it extends services of another Compose file"
    if not projects:
        return (
            f"{what}, and no Compose file beside it defines them all; harden does not harden it alone (the merged services "
            "could break): name its project with -f BASE -f FRAGMENT"
        )
    files = " and ".join(" + ".join(_name(paths[i]) for i in p) for p in projects)
    return f"{what}, which {files} both define; harden does not harden it alone: name its project with -f BASE -f FRAGMENT"


def _name(path: Path | None) -> str:
    return path.name if path is not None else "?"


def _key(path: Path) -> Path:
    """The directory resolved, the name kept (a link named compose.yaml is read as one)."""
    try:
        return path.parent.resolve() / path.name
    except OSError:
        return path.absolute()


@dataclass(frozen=True)
class Extended:
    """`extends: {file: FILE}` written in the compose file shown as `referrer` names `document`,
    a file of this run."""

    referrer: str  # the referring document's path as shown (its `.path`)
    file: str  # extends.file as written
    document: object


def related(
    paths: Sequence[Path | None], documents: Sequence[object | None], explicit: Sequence[Path] = ()
) -> list[tuple[object, ...]]:
    """For each file, its project's parsed documents in merge order (passes.Context.related),
    then every `Extended` of the run; () for a file alone that extends no other file. `paths[i]`
    None: not a compose file. A file that did not parse is left out of its project (the other
    files are then hardened as if it were not there)."""
    usable = [p if p is not None and d is not None else None for p, d in zip(paths, documents, strict=True)]
    found = groups(usable, explicit, [definitions(d) if d is not None else None for d in documents])
    sources = extended(usable, documents)
    return [(*(documents[j] for j in found.get(i, ())), *sources) if i in found or sources else () for i in range(len(paths))]


def extended(paths: Sequence[Path | None], documents: Sequence[object | None]) -> tuple[Extended, ...]:
    """Every `extends: {file: ...}` of the run that names a file of the run."""
    index = {_key(p): i for i, p in enumerate(paths) if p is not None}
    found: dict[tuple[str, str], Extended] = {}
    for path, document in zip(paths, documents, strict=True):
        if path is None or document is None:
            continue
        for service in getattr(document, "services", {}).values():
            target = service.get("extends")
            file = target.get("file") if isinstance(target, dict) else None
            if not isinstance(file, str) or "$" in file:
                continue
            j = index.get(_key(path.parent / file))
            if j is not None:
                referrer = str(getattr(document, "path", path))
                found[(referrer, file)] = Extended(referrer, file, documents[j])
    return tuple(found.values())


# --- merging ---------------------------------------------------------------------------------


def merge(nodes: list[Any]) -> dict[str, Any]:
    """One service's mappings merged in order, as Compose merges override files and `extends`
    (compose-go override.Merge; loader/extends.go uses the same merge for a service and the
    one it extends): later mappings win.

    Mappings merge key by key; MAPPING_KEYS (environment, labels, ...) merge by name whether
    written as mappings or `NAME=value` lists (the result is a mapping, read by
    harden.compose.values.environment: values are strings, a name without `=` is None); the
    sequences in APPEND_KEYS (ports, volumes, cap_add, ...) are appended without duplicates
    (Compose appends, then de-duplicates cap_add, cap_drop, tmpfs, ports, volumes, expose and
    dns_opt, but rejects a repeated security_opt item, `security_opt items at 0 and 1 are
    equal`: measured with Docker Compose 2.40.3, see tests/test_compose_extends.py); other
    values, nested sequences included, are replaced; `!reset` removes a key, `!override`
    replaces it. The `extends` key itself is consumed by the merge and is absent from the result.
    """
    merged: dict[str, Any] = {}
    for node in nodes:
        _overlay(merged, node, top=True)
    merged.pop("extends", None)
    return merged


def _overlay(base: dict[str, Any], node: Any, top: bool) -> None:
    for key in node:
        value = node[key]
        written = tag(value)
        if written == "!reset":
            base.pop(key, None)
            continue
        new = plain(value, {})
        old = base.get(key)
        if written == "!override" or key not in base:
            base[key] = new
        elif top and key in MAPPING_KEYS and isinstance(old, dict | list) and isinstance(new, dict | list):
            base[key] = {**environment(old), **environment(new)}
        elif isinstance(old, dict) and is_map(value):
            _overlay(old, value, top=False)
        elif top and key in APPEND_KEYS and isinstance(old, list) and isinstance(new, list):
            old.extend(item for item in new if item not in old)
        else:
            base[key] = new


def merge_top_level(documents: Sequence[ComposeDocument], keys: Sequence[str] = RESOURCE_KEYS) -> dict[str, dict[str, Any]]:
    """The top-level definitions of a project's documents (in merge order) as Compose merges
    them (module docstring): {key: {name: definition}} for each of `keys` that a file sets and
    no later `!reset` removes; a definition is plain data (a mapping, or None for `name:`)."""
    merged: dict[str, dict[str, Any]] = {}
    for document in documents:
        for key in keys:
            if key not in document.data:
                continue
            value = document.data[key]
            written = tag(value)
            if written == "!reset":
                merged.pop(key, None)
            elif written == "!override" or key not in merged:
                new = plain(value, {})
                merged[key] = new if isinstance(new, dict) else {}  # `networks:` alone defines none
            elif is_map(value):
                _overlay_definition(merged[key], value)
    return merged


def _overlay_definition(base: dict[str, Any], node: Any) -> None:
    """A later file's mapping over what the earlier ones set (definitions, or keys of one)."""
    for key in node:
        value = node[key]
        written = tag(value)
        if written == "!reset":
            base.pop(key, None)
            continue
        new = plain(value, {})
        old = base.get(key)
        if written == "!override" or key not in base:
            base[key] = new
        elif new is None:
            continue  # an empty value changes nothing that is set
        elif key == "labels" and isinstance(old, dict | list) and isinstance(new, dict | list):
            base[key] = {**_labels(old), **_labels(new)}
        elif isinstance(old, dict) and is_map(value):
            _overlay_definition(old, value)
        else:
            base[key] = new


def _labels(value: Any) -> dict[str, str]:
    """`labels:` as Compose reads them: a `NAME` list item without `=` is the empty string."""
    return {name: setting or "" for name, setting in environment(value).items()}
