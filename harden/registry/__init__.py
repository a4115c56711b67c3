"""Resolve image references to digests against OCI registries (issue 5).

The engine's entry point is `Resolver.resolve_many`; `parse` and `Reference.pinned` turn
a reference's text into its pinned spelling; `Lockfile` and `find_lockfile` handle
`harden.lock`. Importing this package does no I/O.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Names are imported on first use (PEP 562): `harden check --offline` and the passes need
# references and results, not an HTTP client, so httpx is never imported for them.
_WHERE = {
    "Credentials": "auth",
    "CredentialStore": "auth",
    "DEFAULT_TTL": "cache",
    "DigestCache": "cache",
    "RegistryClient": "client",
    "RetryPolicy": "client",
    "LOCKFILE_NAME": "lockfile",
    "LockEntry": "lockfile",
    "Lockfile": "lockfile",
    "LockfileError": "lockfile",
    "find_lockfile": "lockfile",
    "Failure": "model",
    "FailureKind": "model",
    "Resolution": "model",
    "Reference": "reference",
    "ReferenceError": "reference",
    "parse": "reference",
    "ProgressCallback": "resolver",
    "Resolver": "resolver",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"harden.registry.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'harden.registry' has no attribute {name!r}")


if TYPE_CHECKING:
    from harden.registry.auth import Credentials, CredentialStore
    from harden.registry.cache import DEFAULT_TTL, DigestCache
    from harden.registry.client import RegistryClient, RetryPolicy
    from harden.registry.lockfile import LOCKFILE_NAME, LockEntry, Lockfile, LockfileError, find_lockfile
    from harden.registry.model import Failure, FailureKind, Resolution
    from harden.registry.reference import Reference, ReferenceError, parse
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
