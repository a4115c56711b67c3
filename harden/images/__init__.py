"""Image references and what resolving one produces: value types both passes and the registry use.

- `reference`: the reference grammar (`parse`, `Reference`, `ReferenceError`)
- `resolution`: `Resolution`, `Failure`, `FailureKind`, the manifest media types, `utcnow`

Plain data and pure functions: importing this package does no I/O and imports no HTTP client
(passes import it; only `harden.registry` talks to registries).
"""

from harden.images.reference import DEFAULT_REGISTRY, Reference, ReferenceError, parse
from harden.images.resolution import (
    ACCEPT,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    INDEX_TYPES,
    MANIFEST_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    Failure,
    FailureKind,
    Resolution,
    utcnow,
)

__all__ = [
    "ACCEPT",
    "DEFAULT_REGISTRY",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "INDEX_TYPES",
    "MANIFEST_TYPES",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Failure",
    "FailureKind",
    "Reference",
    "ReferenceError",
    "Resolution",
    "parse",
    "utcnow",
]
