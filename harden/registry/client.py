"""A small OCI Distribution client that resolves one reference to a verified digest.

The happy path is one request: `HEAD /v2/<name>/manifests/<tag>` with all four manifest
media types in `Accept`, answered with `Docker-Content-Digest` and a `Content-Type` that is
one of those four. Everything else is about never pinning a wrong digest:

- an unknown `Content-Type` is refused (a registry that ignored our `Accept` may be
  describing something else, e.g. one platform's manifest);
- without the digest header the manifest is fetched with GET and hashed; a digest header on
  a GET must match the body, or the answer is refused; a digest computed from a body that
  came without any header is confirmed by asking the registry for that digest;
- a fetched manifest must be a JSON object with `schemaVersion` 2 whose `mediaType`, when
  present, agrees with the `Content-Type`; anything else is refused;
- with `platform="os/arch[/variant]"` the index is fetched and that platform's manifest
  digest returned (a single-platform image is checked against its config's os/arch).

Why a digest from a HEAD answer is trusted without fetching the body: a pin is
content-addressed. `image@sha256:...` makes Docker fetch the manifest with exactly that
digest and verify the bytes against it, so a wrong digest in a HEAD answer can only make the
pull fail; it can never make Docker run other content than what the registry serves for that
digest, and a registry that lies could serve anything under the tag anyway. Fetching the body
would cost one GET per reference, and Docker Hub counts GETs against its pull rate limit (not
HEADs); Renovate and `crane digest` make the same choice. A HEAD digest is used when it is a
well-formed sha256 digest and the Content-Type is one of the four manifest types; otherwise,
and always for `platform`, the manifest is fetched and checked as above.

The HTTP underneath (which URL serves a registry, plain HTTP, authentication, retries,
redirects, deadlines and body limits) is `harden.registry.session.RegistrySession`'s; this
module only builds manifest and blob URLs and judges the answers.

Every outcome is a value: `Resolution` or `Failure`. Messages name the reference, the
registry, HTTP statuses and registry error codes, never credentials or tokens.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import NoReturn

import httpx

from harden.images import (
    ACCEPT,
    INDEX_TYPES,
    MANIFEST_TYPES,
    Failure,
    FailureKind,
    Reference,
    Resolution,
    utcnow,
)
from harden.registry.auth import CredentialStore
from harden.registry.session import (
    DOCKER_HUB_ENDPOINT,
    Refused,
    RegistrySession,
    RetryPolicy,
    Target,
    is_loopback,
    refuse,
)
from harden.registry.transport import Answer, json_value

# DOCKER_HUB_ENDPOINT, RetryPolicy and is_loopback live in harden.registry.session; they are
# re-exported because callers import them from here.
__all__ = ["DOCKER_HUB_ENDPOINT", "RegistryClient", "RetryPolicy", "is_loopback", "parse_platform"]

_MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # the OCI spec's suggested manifest limit
_MAX_CONFIG_BYTES = 8 * 1024 * 1024
_CHILD_TYPES = frozenset(MANIFEST_TYPES - INDEX_TYPES)
_HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64"}


@dataclass(frozen=True)
class _Platform:
    os: str
    architecture: str
    variant: str | None

    def __str__(self) -> str:
        tail = f"/{self.variant}" if self.variant else ""
        return f"{self.os}/{self.architecture}{tail}"

    def matches(self, spec: object) -> bool:
        """Whether an index entry's or config's os/architecture/variant is this platform."""
        if not isinstance(spec, dict):
            return False
        arch = _ARCH_ALIASES.get(str(spec.get("architecture", "")), spec.get("architecture"))
        if spec.get("os") != self.os or arch != self.architecture:
            return False
        if self.variant is None:
            return True
        variant = spec.get("variant") or ("v8" if arch == "arm64" else None)
        return variant == self.variant


def parse_platform(text: str) -> _Platform:
    """Parse `os/arch[/variant]` (`linux/arm64`, `linux/arm/v7`); raise ValueError if malformed."""
    parts = text.strip().lower().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(f"invalid platform {text!r}: expected os/arch[/variant], e.g. linux/arm64")
    arch = _ARCH_ALIASES.get(parts[1], parts[1])
    variant = parts[2] if len(parts) == 3 else None
    if arch == "arm64" and variant == "v8":
        variant = None
    return _Platform(parts[0], arch, variant)


class RegistryClient:
    """Resolve references against registries through one `RegistrySession`.

    The keyword arguments configure that session (see `RegistrySession`): `mirrors` maps a
    registry name (`docker.io`) to the base URL that serves it; plain HTTP is used for loopback
    registries and the names in `insecure` only; `timeout` is the deadline of each HTTP attempt
    as a whole (connect, headers and body), each of at most `retry.attempts` tries having its
    own; `resolve(deadline=...)` bounds a whole resolution. Name resolution (DNS) is not
    interruptible and not covered. The client is thread-safe.
    """

    def __init__(
        self,
        *,
        mirrors: Mapping[str, str] | None = None,
        insecure: Collection[str] = (),
        credentials: CredentialStore | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._session = RegistrySession(
            mirrors=mirrors,
            insecure=insecure,
            credentials=credentials,
            timeout=timeout,
            retry=retry,
            sleep=sleep,
            transport=transport,
        )

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far (manifests, blobs, tokens, redirects)."""
        return self._session.requests_made

    def close(self) -> None:
        """Close the connection pool."""
        self._session.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def resolve(self, ref: Reference, platform: str | None = None, *, deadline: float | None = None) -> Resolution | Failure:
        """The digest `ref`'s tag (or digest) points to now; with `platform`, that platform's.

        `deadline` is a `harden.clock.monotonic()` time: no HTTP attempt outlives it and no
        retry starts after it; the reference then fails as `timed_out`.
        """
        with self._session.until(deadline):
            try:
                return self._resolve(ref, platform)
            except Refused as refused:
                return Failure(ref.canonical, refused.kind, refused.message)

    def _resolve(self, ref: Reference, platform: str | None) -> Resolution:
        if not ref.is_pinnable:
            refuse(
                FailureKind.UNSUPPORTED_DIGEST,
                f"digest algorithm {ref.digest_algorithm} is recognised but only sha256 digests can be pinned",
            )
        want = _parse_platform_or_refuse(platform)
        target = self._session.target(ref)
        url = f"{target.base}/v2/{target.repository}/manifests/{ref.lookup}"
        expected = ref.digest if ref.tag is None else None  # digest-only: verify that one
        if want is None:
            found = self._head(ref, target, url, expected)
            if found is not None:
                return found
        document, media_type, digest = self._get_manifest(ref, target, url, expected)
        if want is None:
            return Resolution(ref.canonical, digest, media_type, None, utcnow())
        return self._select_platform(ref, target, want, document, media_type, digest)

    # -- manifests -------------------------------------------------------------------------

    def _head(self, ref: Reference, target: Target, url: str, expected: str | None) -> Resolution | None:
        """Resolve with HEAD; None when the registry did not say enough (then GET).

        The digest is taken from the header without fetching the body: see the module
        docstring for why that is safe.
        """
        resp = self._session.request("HEAD", url, target, accept=ACCEPT, limit=0)
        if resp.status_code == 405:  # a registry without HEAD support: GET instead
            return None
        self._check_status(resp, ref, target)
        media_type = resp.media_type
        if media_type and media_type not in MANIFEST_TYPES:
            _refuse_media_type(ref, target, media_type)
        digest = resp.headers.get("Docker-Content-Digest", "")
        if not media_type or not _is_sha256(digest):
            return None
        if expected is not None and digest != expected:
            refuse(
                FailureKind.BAD_DIGEST,
                f"{target.display} answered {ref.lookup} with a different digest: refused",
            )
        return Resolution(ref.canonical, digest, media_type, None, utcnow())

    def _get_manifest(self, ref: Reference, target: Target, url: str, expected: str | None) -> tuple[dict[str, object], str, str]:
        """GET a manifest and verify it: (its JSON document, media type, sha256 digest of the body)."""
        resp = self._session.request("GET", url, target, accept=ACCEPT, limit=_MAX_MANIFEST_BYTES)
        self._check_status(resp, ref, target)
        body = resp.content
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        claimed = resp.headers.get("Docker-Content-Digest", "")
        if claimed and not _body_matches(claimed, body):
            refuse(
                FailureKind.BAD_DIGEST,
                f"the manifest of {ref} from {target.display} does not match its "
                "Docker-Content-Digest header: refused (corrupted in transit?)",
            )
        if expected is not None and digest != expected:
            refuse(
                FailureKind.BAD_DIGEST,
                f"the manifest of {ref} from {target.display} does not match the requested digest: refused",
            )
        document, media_type = _manifest_document(body, resp.media_type, ref, target)
        if not claimed and expected is None:
            self._confirm_digest(ref, target, digest)
        return document, media_type, digest

    def _confirm_digest(self, ref: Reference, target: Target, digest: str) -> None:
        """Ask the registry whether it holds `digest`, computed from a body sent without one.

        A body altered in transit hashes to a digest the registry does not know.
        """
        url = f"{target.base}/v2/{target.repository}/manifests/{digest}"
        resp = self._session.request("HEAD", url, target, accept=ACCEPT, limit=0)
        claimed = resp.headers.get("Docker-Content-Digest", digest)
        if resp.status_code != 200 or claimed != digest:
            refuse(
                FailureKind.BAD_DIGEST,
                f"the manifest of {ref} from {target.display} came without a digest header and "
                "the registry does not confirm the digest of the body: refused",
            )

    def _select_platform(
        self,
        ref: Reference,
        target: Target,
        want: _Platform,
        document: dict[str, object],
        media_type: str,
        digest: str,
    ) -> Resolution:
        """Pick `want`'s manifest from an index, or check a single manifest's platform."""
        if media_type in INDEX_TYPES:
            entries = document.get("manifests")
            for entry in entries if isinstance(entries, list) else []:
                if not isinstance(entry, dict) or not want.matches(entry.get("platform")):
                    continue
                child, child_type = entry.get("digest"), entry.get("mediaType")
                if isinstance(child, str) and _is_sha256(child) and isinstance(child_type, str) and child_type in _CHILD_TYPES:
                    return Resolution(ref.canonical, child, child_type, str(want), utcnow())
            refuse(FailureKind.PLATFORM_NOT_FOUND, f"{ref} has no manifest for {want}")
        config = document.get("config")
        config_digest = config.get("digest") if isinstance(config, dict) else None
        if not isinstance(config_digest, str) or not _is_sha256(config_digest):
            refuse(FailureKind.BAD_RESPONSE, f"the manifest of {ref} has no usable config digest")
        url = f"{target.base}/v2/{target.repository}/blobs/{config_digest}"
        resp = self._session.request("GET", url, target, accept="*/*", limit=_MAX_CONFIG_BYTES)
        self._check_status(resp, ref, target)
        if not _body_matches(config_digest, resp.content):
            refuse(FailureKind.BAD_DIGEST, f"the image config of {ref} does not match its digest")
        image = resp.json()
        if not isinstance(image, dict):
            refuse(FailureKind.BAD_RESPONSE, f"{target.display} sent invalid JSON for {ref}")
        if not want.matches(image):
            found = f"{image.get('os')}/{image.get('architecture')}"
            refuse(
                FailureKind.PLATFORM_NOT_FOUND,
                f"{ref} is a single-platform image for {found[:100]}, not {want}",
            )
        return Resolution(ref.canonical, digest, media_type, str(want), utcnow())

    def _check_status(self, resp: Answer, ref: Reference, target: Target) -> None:
        """Turn every non-200 answer (after retries and auth) into a failure."""
        if resp.status_code == 200:
            return
        code = resp.error_code()
        suffix = f" ({code})" if code else ""
        if resp.status_code == 404:
            refuse(
                FailureKind.NOT_FOUND,
                f"{ref.lookup} not found in {target.repository} on {target.display}{suffix}",
            )
        if resp.status_code in (401, 403):
            self._session.refuse_unauthorized(target, resp.status_code, code)
        refuse(
            FailureKind.SERVER_ERROR,
            f"{target.display} answered HTTP {resp.status_code} for {ref}{suffix}",
        )


def _parse_platform_or_refuse(platform: str | None) -> _Platform | None:
    if platform is None:
        return None
    try:
        return parse_platform(platform)
    except ValueError as error:
        refuse(FailureKind.INVALID_REFERENCE, str(error))


def _refuse_media_type(ref: Reference, target: Target, media_type: str) -> NoReturn:
    shown = media_type[:100] or "none"
    refuse(
        FailureKind.UNKNOWN_MEDIA_TYPE,
        f"{target.display} answered {ref} with media type {shown!r}, not an OCI or Docker schema 2 manifest or index: refused",
    )


def _manifest_document(body: bytes, content_type: str, ref: Reference, target: Target) -> tuple[dict[str, object], str]:
    """A fetched manifest as a JSON object and its media type; refuse anything else.

    The media type is the Content-Type, or the document's `mediaType` when the header is
    missing; a `mediaType` that disagrees with the header, or a `schemaVersion` other than 2,
    means the body is not the manifest it claims to be.
    """
    document = json_value(body)
    if not isinstance(document, dict):
        refuse(FailureKind.BAD_RESPONSE, f"{target.display} answered {ref} with a manifest that is not a JSON object: refused")
    declared = document.get("mediaType")
    media_type = content_type or (declared if isinstance(declared, str) else "")
    if media_type not in MANIFEST_TYPES:
        _refuse_media_type(ref, target, media_type)
    if declared is not None and declared != media_type:
        refuse(
            FailureKind.BAD_RESPONSE,
            f"{target.display} served {ref} as {media_type} but the manifest declares another mediaType: refused",
        )
    if document.get("schemaVersion") != 2:
        refuse(FailureKind.BAD_RESPONSE, f"the manifest of {ref} from {target.display} is not schemaVersion 2: refused")
    return document, media_type


def _is_sha256(digest: str) -> bool:
    algorithm, _, encoded = digest.partition(":")
    return algorithm == "sha256" and len(encoded) == 64 and all(c in "0123456789abcdef" for c in encoded)


def _body_matches(digest: str, body: bytes) -> bool:
    """Whether `body` hashes to `digest` (sha256, sha384 or sha512); unknown algorithms fail."""
    algorithm, _, encoded = digest.partition(":")
    hasher = _HASHES.get(algorithm)
    return hasher is not None and bool(hasher(body).hexdigest() == encoded)
