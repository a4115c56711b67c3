"""What resolving a reference produces: a `Resolution` or a `Failure`, never an exception.

Failures are values so that one bad image (a typo'd tag, a private repository, a registry
that is down) becomes a finding about that image while every other image is still pinned.
No message ever contains a credential or a token: they are built from the reference, the
HTTP status and the registry's error code only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from harden import clock

__all__ = [
    "ACCEPT",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "INDEX_TYPES",
    "MANIFEST_TYPES",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Failure",
    "FailureKind",
    "Resolution",
    "utcnow",
]

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
MANIFEST_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST})

# All four, always: with fewer a registry answers 404, 400, or one platform's digest
# instead of the index's (RECIPES.md section 1.2).
ACCEPT = ", ".join([OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST])


class FailureKind(StrEnum):
    """Why a reference could not be resolved; stable strings for findings and tests."""

    INVALID_REFERENCE = "invalid_reference"  # the text is not a reference
    UNSUPPORTED_DIGEST = "unsupported_digest"  # a digest algorithm harden cannot pin
    NOT_FOUND = "not_found"  # 404: no such repository or tag
    UNAUTHORIZED = "unauthorized"  # 401/403: no or wrong credentials
    UNREACHABLE = "unreachable"  # connection refused, DNS, a request's timeout
    TIMED_OUT = "timed_out"  # the run's time limit (--timeout) ran out before an answer
    RATE_LIMITED = "rate_limited"  # 429 after bounded retries
    SERVER_ERROR = "server_error"  # 5xx after bounded retries, or an unexpected status
    BAD_DIGEST = "bad_digest"  # the digest header does not match the body: refused
    BAD_RESPONSE = "bad_response"  # a manifest that is not the JSON it claims to be
    UNKNOWN_MEDIA_TYPE = "unknown_media_type"  # not one of the four manifest types: refused
    PLATFORM_NOT_FOUND = "platform_not_found"  # the image has no manifest for --platform
    INSECURE = "insecure"  # plain HTTP to a registry not declared insecure
    OFFLINE = "offline"  # offline mode and neither lockfile nor cache knows it


@dataclass(frozen=True)
class Resolution:
    """A reference resolved to a verified digest.

    `reference` is the canonical key (`docker.io/library/python:3.12`). `platform` is None
    for the digest the tag itself points to (the multi-platform index for multi-arch
    images) and `"os/arch[/variant]"` when one platform's manifest was chosen instead.
    `from_cache` says whether it came from the lockfile or cache rather than the network.
    """

    reference: str
    digest: str
    media_type: str
    platform: str | None
    resolved_at: dt.datetime
    from_cache: bool = False

    @property
    def is_index(self) -> bool:
        """Whether the digest names a multi-platform index (manifest list)."""
        return self.media_type in INDEX_TYPES


@dataclass(frozen=True)
class Failure:
    """A reference that could not be resolved, and why, in words a user can act on."""

    reference: str
    kind: FailureKind
    message: str

    def __str__(self) -> str:
        return f"{self.reference}: {self.message}"


def utcnow() -> dt.datetime:
    """The current time in UTC, to the second (what lockfiles and caches record)."""
    return clock.now().replace(microsecond=0)
