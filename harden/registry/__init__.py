"""Resolve image references to digests against OCI registries (issue 5).

The engine's entry point is `Resolver.resolve_many`; `Lockfile` and `find_lockfile` handle
`harden.lock`. The value types (`parse`, `Reference`, `Resolution`, `Failure`, ...) live in
`harden.images`, which passes import; they are re-exported here for the registry's existing
importers. Importing this package does no I/O.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Names are imported on first use (PEP 562): `harden check --offline` and the passes need
# references and results, not an HTTP client, so httpx is never imported for them.
_WHERE = {
    "Credentials": "harden.registry.auth",
    "CredentialStore": "harden.registry.auth",
    "DEFAULT_TTL": "harden.registry.cache",
    "DigestCache": "harden.registry.cache",
    "RegistryClient": "harden.registry.client",
    "RetryPolicy": "harden.registry.client",
    "LOCKFILE_NAME": "harden.registry.lockfile",
    "LockEntry": "harden.registry.lockfile",
    "Lockfile": "harden.registry.lockfile",
    "LockfileError": "harden.registry.lockfile",
    "find_lockfile": "harden.registry.lockfile",
    "Failure": "harden.images",
    "FailureKind": "harden.images",
    "Resolution": "harden.images",
    "Reference": "harden.images",
    "ReferenceError": "harden.images",
    "parse": "harden.images",
    "ProgressCallback": "harden.registry.resolver",
    "Resolver": "harden.registry.resolver",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'harden.registry' has no attribute {name!r}")


if TYPE_CHECKING:
    from harden.images import Failure, FailureKind, Reference, ReferenceError, Resolution, parse
    from harden.registry.auth import Credentials, CredentialStore
    from harden.registry.cache import DEFAULT_TTL, DigestCache
    from harden.registry.client import RegistryClient, RetryPolicy
    from harden.registry.lockfile import LOCKFILE_NAME, LockEntry, Lockfile, LockfileError, find_lockfile
    from harden.registry.resolver import ProgressCallback, Resolver

__all__ = [
    "DEFAULT_TTL",
    "LOCKFILE_NAME",
    "CredentialStore",
    "Credentials",
    "DigestCache",
    "Failure",
    "FailureKind",
    "LockEntry",
    "Lockfile",
    "LockfileError",
    "ProgressCallback",
    "Reference",
    "ReferenceError",
    "RegistryClient",
    "Resolution",
    "Resolver",
    "RetryPolicy",
    "find_lockfile",
    "parse",
]
