"""Docker image references: the grammar of distribution/reference, plus Docker's normalisation.

A reference is what a Dockerfile `FROM` or a Compose `image:` names::

    reference  := name [ ":" tag ] [ "@" digest ]
    name       := [ domain "/" ] path
    domain     := host [ ":" port ]            host: DNS name, IPv4, or "[" IPv6 "]"
    path       := component ( "/" component )*  component: [a-z0-9]+ joined by ".", "_", "__" or "-"+
    tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
    digest     := algorithm ":" hex             algorithm: e.g. sha256, sha512, multihash+base58

The first path segment is a registry only when it contains "." or ":", is "localhost", or has
an upper-case letter; otherwise the registry is `docker.io`, and a single-component docker.io
name lives under `library/` (`python` is `docker.io/library/python`). `index.docker.io` and
`registry-1.docker.io` are aliases of `docker.io`.

harden keeps the user's own spelling when it pins (`python:3.12` becomes
`python:3.12@sha256:...`, never `docker.io/library/python:3.12@...`), so `Reference` remembers
the original text; `canonical` is the fully qualified spelling used as a cache and lockfile key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["DEFAULT_REGISTRY", "Reference", "ReferenceError", "parse"]

DEFAULT_REGISTRY = "docker.io"
DEFAULT_TAG = "latest"
_DOCKER_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_NAME_MAX = 255  # distribution's NameTotalLengthMax

# The regular expressions of github.com/distribution/reference (regexp.go), in Python syntax.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|{_IPV6})"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE_RE = re.compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?", re.ASCII)
_DOMAIN_RE = re.compile(rf"({_HOST})(?::([0-9]+))?", re.ASCII)
_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}")

# Hex lengths of the algorithms go-digest knows; their encodings must be lower-case hex.
_KNOWN_ALGORITHMS = {"sha256": 64, "sha384": 96, "sha512": 128}


class ReferenceError(ValueError):  # shadows the weakref builtin on purpose: the spec's name
    """The text is not a valid image reference; the message says why."""


@dataclass(frozen=True)
class Reference:
    """A parsed image reference.

    `registry` and `repository` are normalised (`docker.io`, `library/python`); `original`
    is the text as the user wrote it, which `pinned` and `name_text` preserve.
    """

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None
    original: str = field(default="", compare=False)

    @property
    def host(self) -> str:
        """The registry host without its port (IPv6 keeps its brackets)."""
        match = _DOMAIN_RE.fullmatch(self.registry)
        return match.group(1) if match else self.registry

    @property
    def port(self) -> int | None:
        """The registry port, if the reference names one."""
        match = _DOMAIN_RE.fullmatch(self.registry)
        return int(match.group(2)) if match and match.group(2) else None

    @property
    def digest_algorithm(self) -> str | None:
        """The digest's algorithm (`sha256`, `sha512`, ...), or None without a digest."""
        return self.digest.partition(":")[0] if self.digest else None

    @property
    def is_pinnable(self) -> bool:
        """Whether the existing digest (if any) is one harden can pin: only sha256."""
        return self.digest is None or self.digest_algorithm == "sha256"

    @property
    def name_text(self) -> str:
        """The name as the user spelled it, without tag or digest (`python`, `ghcr.io/a/b`)."""
        if not self.original:
            return self.canonical_name
        text = self.original.partition("@")[0]
        if self.tag is not None:
            text = text[: -(len(self.tag) + 1)]
        return text

    @property
    def canonical_name(self) -> str:
        """The fully qualified repository: `docker.io/library/python`."""
        return f"{self.registry}/{self.repository}"

    @property
    def lookup(self) -> str:
        """What to ask the registry for: the tag (default `latest`) or, without a tag, the digest."""
        if self.tag is None and self.digest is not None:
            return self.digest
        return self.tag or DEFAULT_TAG

    @property
    def canonical(self) -> str:
        """The cache and lockfile key: `docker.io/library/python:3.12` (`:latest` when untagged).

        A tag wins over a digest, because the tag is what gets resolved (and refreshed); a
        digest-only reference is keyed by its digest.
        """
        separator = "@" if self.tag is None and self.digest is not None else ":"
        return f"{self.canonical_name}{separator}{self.lookup}"

    def pinned(self, digest: str) -> str:
        """The user's spelling with `@digest` appended, keeping the tag and replacing any old digest.

        `python:3.12` -> `python:3.12@sha256:...`. Only well-formed sha256 digests are accepted.
        """
        _check_digest(digest)
        if not digest.startswith("sha256:"):
            raise ReferenceError(f"cannot pin to {digest!r}: only sha256 digests are pinned")
        tag = f":{self.tag}" if self.tag is not None else ""
        return f"{self.name_text}{tag}@{digest}"

    def __str__(self) -> str:
        return self.original or self.canonical


def parse(text: str) -> Reference:
    """Parse an image reference; raise `ReferenceError` with a clear message if it is invalid."""
    if not text:
        raise ReferenceError("empty image reference")
    if text != text.strip():
        raise ReferenceError(f"invalid image reference {text!r}: surrounding whitespace")
    if _IDENTIFIER_RE.fullmatch(text):
        raise ReferenceError(
            f"invalid image reference {text!r}: a 64-character hexadecimal string is an image ID, not a repository name"
        )
    match = _REFERENCE_RE.fullmatch(text)
    if match is None:
        raise ReferenceError(_explain(text))
    name, tag, digest = match.group(1), match.group(2), match.group(3)
    if len(name) > _NAME_MAX:
        raise ReferenceError(f"invalid image reference {text[:40]!r}...: the name is longer than {_NAME_MAX} characters")
    if digest is not None:
        _check_digest(digest)
    registry, repository = _split_domain(name)
    return Reference(registry, repository, tag, digest, original=text)


def _split_domain(name: str) -> tuple[str, str]:
    """Docker's rule for where the registry ends and the repository begins (splitDockerDomain)."""
    first, slash, rest = name.partition("/")
    is_domain = slash and (any(c in first for c in ".:") or first == "localhost" or first.lower() != first)
    registry, repository = (first, rest) if is_domain else (DEFAULT_REGISTRY, name)
    if registry.lower() in _DOCKER_ALIASES:
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and "/" not in repository:
        repository = f"library/{repository}"
    return registry, repository


def _check_digest(digest: str) -> None:
    """Validate a digest: the grammar always, and the exact encoding for algorithms we know."""
    if not re.fullmatch(_DIGEST, digest, re.ASCII):
        raise ReferenceError(f"invalid digest {digest!r}: expected algorithm:hex")
    algorithm, _, encoded = digest.partition(":")
    length = _KNOWN_ALGORITHMS.get(algorithm)
    if length is not None and not re.fullmatch(rf"[a-f0-9]{{{length}}}", encoded):
        raise ReferenceError(f"invalid digest {digest[:20]}...: {algorithm} needs {length} lower-case hex characters")


def _explain(text: str) -> str:
    """Say, as precisely as cheaply possible, why `text` is not a reference."""
    prefix = f"invalid image reference {text!r}"
    name = text.partition("@")[0]
    if "@" in text and not re.fullmatch(_DIGEST, text.partition("@")[2], re.ASCII):
        return f"{prefix}: the part after '@' is not a digest (algorithm:hex, at least 32 hex digits)"
    if "://" in text:
        return f"{prefix}: a reference has no URL scheme"
    last = name.rpartition("/")[2]
    if ":" in last:
        tag = last.partition(":")[2]
        if not re.fullmatch(_TAG, tag, re.ASCII):
            return f"{prefix}: invalid tag {tag!r} (letters, digits, '_', '.', '-'; at most 128)"
    path = name.partition("/")[2] if "/" in name else name
    if path != path.lower() and _REFERENCE_RE.fullmatch(text.lower()):
        return f"{prefix}: repository names must be lower-case"
    return f"{prefix}: expected [registry/]repository[:tag][@digest]"
