"""What harden knows about well-known images: data in `images/*.toml`, one file per image.

Passes ask two questions of an image reference: which entry describes it (`lookup`), and which
Linux distribution family it is built on (`distro_family`), for the user-creation snippet.
Every entry names its evidence: the official Dockerfile or entrypoint line, or documentation.
Data, not code: adding an image is adding a TOML file (the format is in images/README.md).

Inheritance: an image built `FROM` a known one takes that entry's facts, marked with
`inherited_from` (the entry) and `inherited_by` (why): "derives_from" when the image has its own
file that says `derives_from = "postgres"` (its own fields override the parent's, its evidence
comes first), "name" when only its name matches a parent's `derived_names` pattern (`*/postgres`,
`*-postgresql`). Decision: a name match is weaker evidence than a file, so the lead's evidence
wiring can tell them apart; names of tools that sit beside a database rather than derive from it
(`postgres-exporter`, `...-backup`, `...-operator`) never match, whatever the pattern says.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path

from harden.knowledge import schema

IMAGES_DIR = Path(__file__).parent / "images"


@dataclass(frozen=True)
class ImageFacts:
    name: str  # the file's stem, e.g. "postgres"
    repositories: tuple[str, ...]  # normalised repository names, e.g. "library/postgres"
    role: str  # database | cache | broker | search | web | proxy | app | runtime | tool | monitoring
    distro: str  # debian | alpine | rhel | rhel-minimal | distroless | scratch | windows | ""
    default_user: str  # the user the container starts as ("root", "node", "1000", ...)
    unprivileged_user: str  # a non-root user the image ships, "" if none
    runtime_user: str  # the user the main process ends up as, after any step-down
    drops_privileges: str  # "gosu", "su-exec", "setpriv", "clickhouse-su", "s6-overlay", "master-worker" or ""
    nonroot_works: bool  # `user: <unprivileged_user>` in compose keeps it working
    cap_add: dict[str, str]  # capability -> why the image needs it (after cap_drop: ALL)
    writable_paths: tuple[str, ...]  # written at runtime outside volumes (tmpfs for read_only)
    data_paths: tuple[str, ...]  # where it keeps data (expected to be volumes)
    secret_file_vars: dict[str, str]  # FOO -> FOO_FILE the image reads the secret from
    ports: tuple[int, ...]
    public_entry_point: bool  # users reach it directly: never bind it to loopback
    setuid_needed: bool  # its entrypoint needs setuid binaries: no-new-privileges breaks it
    evidence: tuple[str, ...]
    notes: str = ""
    variants: dict[str, dict[str, object]] = field(default_factory=dict)  # tag regex -> overrides
    # Capabilities needed only with `network_mode: host`, where Docker's per-container
    # net.ipv4.ip_unprivileged_port_start=0 does not apply (binding a port below 1024).
    host_network_cap_add: dict[str, str] = field(default_factory=dict)
    read_only_breaks: str = ""  # why read_only breaks the image whatever the service sets ("": it does not)
    read_only_breaks_if_env: dict[str, str] = field(default_factory=dict)  # VAR -> why, when the service sets VAR
    refused_volumes: dict[str, str] = field(default_factory=dict)  # mount target the image refuses -> the fix
    refused_volumes_unless_env: tuple[str, ...] = ()  # ...unless the service sets one of these variables
    derives_from: str = ""  # the entry (file stem) this image is built FROM, per its own file
    derived_names: tuple[str, ...] = ()  # glob patterns of other images' names that inherit this entry
    inherited_from: str = ""  # set by the loader: the entry these facts come from
    inherited_by: str = ""  # "derives_from" or "name" (see the module docstring); "" when not inherited
    # Recorded runs of this entry (never inherited): what ran, on what, when, and that it was a
    # stand-in built from Debian packages where it was (tests/test_standins.py keeps them true).
    verified: tuple[str, ...] = ()


def normalise_repository(reference: str) -> str:
    """`python:3.12`, `docker.io/library/python@sha256:..` -> `library/python`;
    `ghcr.io/org/app:1` -> `ghcr.io/org/app`."""
    name = reference.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        host = parts[0].lower()
        if host in ("docker.io", "index.docker.io", "registry-1.docker.io"):
            parts = parts[1:]
        else:
            return "/".join([host, *parts[1:]])
    if len(parts) == 1:
        parts = ["library", parts[0]]
    return "/".join(parts)


def tag_of(reference: str) -> str:
    name = reference.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


_REPOSITORIES_LINE = re.compile(r"^repositories\s*=\s*(\[.*\])\s*$", re.MULTILINE)


@cache
def _index() -> dict[str, Path]:
    """Repository -> the file describing it, from each file's one-line `repositories = [...]`;
    a file is parsed whole only when an image it covers is looked up (start-up time)."""
    index: dict[str, Path] = {}
    for path in sorted(IMAGES_DIR.glob("*.toml")):
        text = path.read_text(encoding="utf-8")
        match = _REPOSITORIES_LINE.search(text)
        names = tomllib.loads(f"r = {match.group(1)}")["r"] if match else _load(path).repositories
        for name in names:
            index[normalise_repository(str(name))] = path
    return index


@cache
def _load(path: Path) -> ImageFacts:
    return entry(path.stem, tomllib.loads(path.read_text(encoding="utf-8")))


def entry(name: str, data: dict[str, object]) -> ImageFacts:
    """The facts of one entry as parsed from TOML (a shipped file or a project's own entry),
    merged with the shipped entry it `derives_from`; schema.KnowledgeError when it is not valid."""
    schema.check(name, data)
    parent = str(data.get("derives_from", ""))
    if not parent:
        return _facts(name, data)
    parent_path = IMAGES_DIR / f"{parent}.toml"
    if not parent_path.is_file() or parent == name:
        raise schema.KnowledgeError("derives_from", f"{parent!r} names no other shipped entry")
    parent_data = tomllib.loads(parent_path.read_text(encoding="utf-8"))
    if "derives_from" in parent_data:
        raise schema.KnowledgeError("derives_from", f"{parent}.toml derives from another entry itself")
    merged = {k: v for k, v in parent_data.items() if k not in ("repositories", "derived_names", "verified")}
    merged.update(data)
    merged["evidence"] = [*data.get("evidence", []), *parent_data.get("evidence", [])]  # type: ignore[misc]
    return replace(_facts(name, merged), inherited_from=parent, inherited_by="derives_from")


def _entries() -> dict[str, ImageFacts]:
    """Every entry, by repository (loads every file: for tests and listings)."""
    return {repository: _load(path) for repository, path in _index().items()}


def _facts(name: str, data: dict[str, object]) -> ImageFacts:
    """ImageFacts from an entry schema.check accepted (the types are known)."""

    def strings(key: str) -> tuple[str, ...]:
        return tuple(str(v) for v in data.get(key, []))  # type: ignore[attr-defined]

    def mapping(key: str) -> dict[str, str]:
        return {str(k): str(v) for k, v in data.get(key, {}).items()}  # type: ignore[attr-defined]

    variants: dict[str, dict[str, object]] = data.get("variants", {})  # type: ignore[assignment]
    ports: list[int] = data.get("ports", [])  # type: ignore[assignment]
    return ImageFacts(
        name=name,
        repositories=tuple(normalise_repository(r) for r in strings("repositories")),
        role=str(data.get("role", "app")),
        distro=str(data.get("distro", "")),
        default_user=str(data.get("default_user", "root")),
        unprivileged_user=str(data.get("unprivileged_user", "")),
        runtime_user=str(data.get("runtime_user", data.get("default_user", "root"))),
        drops_privileges=str(data.get("drops_privileges", "")),
        nonroot_works=bool(data.get("nonroot_works", False)),
        cap_add=mapping("cap_add"),
        writable_paths=strings("writable_paths"),
        data_paths=strings("data_paths"),
        secret_file_vars=mapping("secret_file_vars"),
        ports=tuple(int(p) for p in ports),
        public_entry_point=bool(data.get("public_entry_point", False)),
        setuid_needed=bool(data.get("setuid_needed", False)),
        evidence=strings("evidence"),
        verified=strings("verified"),
        notes=str(data.get("notes", "")),
        variants={str(k): dict(v) for k, v in variants.items()},
        host_network_cap_add=mapping("host_network_cap_add"),
        read_only_breaks=str(data.get("read_only_breaks", "")),
        read_only_breaks_if_env=mapping("read_only_breaks_if_env"),
        refused_volumes=mapping("refused_volumes"),
        refused_volumes_unless_env=strings("refused_volumes_unless_env"),
        derives_from=str(data.get("derives_from", "")),
        derived_names=strings("derived_names"),
    )


_DERIVED_NAMES_LINE = re.compile(r"^derived_names\s*=\s*(\[.*\])\s*$", re.MULTILINE)
# Names of images that run beside a database (or other entry) rather than being built FROM it.
_NOT_DERIVED = re.compile(r"exporter|backup|operator|client|admin|proxy|bouncer|pooler|agent|sidecar|(^|[-_/])ui($|[-_])")


@cache
def _derived_patterns() -> tuple[tuple[str, Path], ...]:
    """(glob, the file it inherits from) from each file's one-line `derived_names = [...]`."""
    found: list[tuple[str, Path]] = []
    for path in sorted(IMAGES_DIR.glob("*.toml")):
        match = _DERIVED_NAMES_LINE.search(path.read_text(encoding="utf-8"))
        if match:
            found.extend((str(pattern), path) for pattern in tomllib.loads(f"r = {match.group(1)}")["r"])
    return tuple(found)


def _by_name(repository: str) -> Path | None:
    """The entry an unknown repository inherits by its name, if one matches (see the module docstring)."""
    if _NOT_DERIVED.search(repository.rsplit("/", 1)[-1]):
        return None
    return next((path for pattern, path in _derived_patterns() if fnmatchcase(repository, pattern)), None)


# The project's own entries (harden.configuration: `[tool.harden.images.<name>]`), by repository:
# they come before the shipped ones. Set once per run by the engine (use_project).
_project: dict[str, ImageFacts] = {}
_project_source: tuple[tuple[str, str], ...] = ()


def project_entry(name: str, data: dict[str, object]) -> ImageFacts:
    """A project's own entry: the shipped schema (`entry`), and it must name the repositories it
    describes and its evidence (as every shipped entry does); it matches those repositories only."""
    if not data.get("repositories"):
        raise schema.KnowledgeError("repositories", "a project's entry must name the images it describes")
    if not data.get("evidence"):
        raise schema.KnowledgeError("evidence", "a project's entry must name its evidence (a file and line, a document)")
    if "derived_names" in data:
        raise schema.KnowledgeError("derived_names", "a project's entry matches its repositories only")
    return entry(name, data)


def use_project(entries: Mapping[str, Mapping[str, object]]) -> None:
    """Make `entries` (name -> entry data, already checked by project_entry) the project's own
    entries for every later lookup; an empty mapping removes them. Cheap when nothing changed
    (the engine calls it at the start of each run and of each worker's task)."""
    global _project, _project_source
    source = tuple(sorted((name, repr(data)) for name, data in entries.items()))
    if source == _project_source:
        return
    found: dict[str, ImageFacts] = {}
    for name, data in entries.items():
        facts = project_entry(name, dict(data))
        found.update((repository, facts) for repository in facts.repositories)
    _project, _project_source = found, source


def lookup(reference: str) -> ImageFacts | None:
    """The entry for an image reference (a project's own entry first), with the overrides of the
    first variant whose tag pattern matches (e.g. `-alpine` tags are built on Alpine); for an
    unknown name that a known entry's `derived_names` matches, that entry, marked as inherited by name."""
    repository = normalise_repository(reference)
    path = _index().get(repository)
    facts = _project.get(repository) or (_load(path) if path is not None else None)
    if facts is None:
        parent = _by_name(repository)
        if parent is None:
            return None
        facts = replace(_load(parent), inherited_from=parent.stem, inherited_by="name")
    tag = tag_of(reference)
    for pattern, overrides in facts.variants.items():
        if re.search(pattern, tag):
            return with_variant(facts, overrides)
    return facts


def with_variant(facts: ImageFacts, overrides: dict[str, object]) -> ImageFacts:
    """The entry as a tag variant's overrides change it (TOML lists become tuples)."""
    fields = {k: (tuple(v) if isinstance(v, list) else v) for k, v in overrides.items()}
    return replace(facts, **fields)  # type: ignore[arg-type]


_ALPINE_TAG = re.compile(r"(^|[-_.])alpine")
_DEBIAN_TAG = re.compile(
    r"(^|[-_.])(bookworm|bullseye|buster|stretch|trixie|sid|slim|jammy|focal|noble|bionic|xenial|"
    r"oracular|plucky|questing)"
)
_WINDOWS_TAG = re.compile(r"(^|[-_.])(windowsservercore|nanoserver|ltsc\d+|servercore)")
_FAMILY_BY_REPOSITORY = {
    "library/alpine": "alpine",
    "library/busybox": "alpine",
    "library/debian": "debian",
    "library/ubuntu": "debian",
    "library/fedora": "rhel",
    "library/centos": "rhel",
    "library/rockylinux": "rhel",
    "library/almalinux": "rhel",
    "library/oraclelinux": "rhel",
    "library/amazonlinux": "rhel",
    "library/photon": "rhel",
}


def distro_family(reference: str) -> str | None:
    """debian | alpine | rhel | rhel-minimal | distroless | scratch | windows, or None."""
    if reference == "scratch":
        return "scratch"
    repository = normalise_repository(reference)
    tag = tag_of(reference)
    if repository.startswith(("mcr.microsoft.com/windows", "mcr.microsoft.com/powershell")) or _WINDOWS_TAG.search(tag):
        return "windows"
    if "distroless" in repository or repository.startswith("cgr.dev/chainguard/"):
        return "distroless"
    if "ubi" in repository.rsplit("/", 1)[-1] and repository.startswith(("registry.access.redhat.com", "registry.redhat.io")):
        last = repository.rsplit("/", 1)[-1]
        return "rhel-minimal" if ("minimal" in last or "micro" in last) else "rhel"
    if repository.startswith(("registry.fedoraproject.org", "quay.io/centos", "public.ecr.aws/amazonlinux")):
        return "rhel"
    if _ALPINE_TAG.search(tag) or repository.endswith("/alpine"):
        return "alpine"
    if repository in _FAMILY_BY_REPOSITORY:
        return _FAMILY_BY_REPOSITORY[repository]
    facts = lookup(reference)
    if facts and facts.distro:
        return facts.distro
    if _DEBIAN_TAG.search(tag):
        return "debian"
    return None
