"""Resolve image references to digests against OCI registries (issue 5).

The engine's entry point is `Resolver.resolve_many`; `parse` and `Reference.pinned` turn
a reference's text into its pinned spelling; `Lockfile` and `find_lockfile` handle
`harden.lock`. Importing this package does no I/O.
"""

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
