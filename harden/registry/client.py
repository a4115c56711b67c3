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

Hostile or broken registries (see `harden.registry.transport`): every HTTP attempt must end
within `timeout` seconds in total, connect, headers and body (a server that trickles one byte
a second is cut off); bodies are streamed and refused beyond a limit (manifests 4 MiB,
configs 8 MiB, token answers 1 MiB, error bodies read up to 64 KiB); redirects are followed
by hand, at most 10, and the plain-HTTP rule applies to every hop, token realms included.
httpx drops `Authorization` when a redirect leaves the origin, so credentials never follow
a redirect to another host.

Authentication follows the registry's `WWW-Authenticate` challenge: bearer tokens from the
realm (anonymously or with credentials), or basic auth. Once a registry's challenge is known,
later repositories fetch their token first, so each manifest costs the registry one request.
Tokens are cached per (registry, scope); a 401 for a cached token renews it once.
429 and 5xx answers and connection errors are retried with exponential backoff, honouring a
bounded `Retry-After`; the sleep function is injectable so tests do not wait.

Every outcome is a value: `Resolution` or `Failure`. Messages name the reference, the
registry, HTTP statuses and registry error codes, never credentials or tokens.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
import socket
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import NoReturn

import httpx

from harden import clock
from harden.registry.auth import Challenge, CredentialStore, TokenCache, parse_challenge, server_key
from harden.registry.model import (
    ACCEPT,
    INDEX_TYPES,
    MANIFEST_TYPES,
    Failure,
    FailureKind,
    Resolution,
    utcnow,
)
from harden.registry.reference import Reference
from harden.registry.transport import Answer, BodyRefused, Deadline, deadline_client, json_value, read_answer

__all__ = ["DOCKER_HUB_ENDPOINT", "RegistryClient", "RetryPolicy", "parse_platform"]

DOCKER_HUB_ENDPOINT = "https://registry-1.docker.io"
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # the OCI spec's suggested manifest limit
_MAX_CONFIG_BYTES = 8 * 1024 * 1024
_MAX_TOKEN_BYTES = 1024 * 1024  # Docker Hub's token answers are about 4 KiB
_MAX_TOKEN_LIFE = 3600.0  # a token is kept at most this long, whatever `expires_in` says
_MAX_REDIRECTS = 10  # as Docker (Go's net/http)
_TOKEN_RE = re.compile(r"[\x21-\x7e]+")
_CHILD_TYPES = frozenset(MANIFEST_TYPES - INDEX_TYPES)
_HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64"}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry 429, 5xx and connection errors.

    `attempts` counts every try of one request. Waits double from `backoff` up to
    `max_backoff`; a `Retry-After` longer than `max_retry_after` is not waited for: the
    reference fails at once as rate limited (Docker Hub may ask for hours).
    """

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0


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


class _Refused(Exception):
    """Internal: carries a failure's kind and message up to `resolve`, which returns it."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _refuse(kind: FailureKind, message: str) -> NoReturn:
    raise _Refused(kind, message)


@dataclass(frozen=True)
class _Target:
    """Where one repository lives: base URL, credential key, and a name for messages."""

    base: str
    repository: str
    auth_key: str  # registry name under which credentials and tokens are kept
    display: str  # e.g. "docker.io (via mirror 127.0.0.1:5000)"; never holds userinfo


def is_loopback(host: str) -> bool:
    """Whether `host` (name or IP, IPv6 with or without brackets) is this machine."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_port(url: httpx.URL) -> str:
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{url.port}" if url.port else host


class RegistryClient:
    """Resolve references against registries over one thread-safe `httpx.Client`.

    `mirrors` maps a registry name (`docker.io`) to the base URL that serves it
    (`http://127.0.0.1:5000`). Plain HTTP is used for loopback registries and the names in
    `insecure` (host or host:port) only; anything else must be HTTPS, redirects included.

    `timeout` is the deadline of each HTTP attempt as a whole: connecting, sending, the
    headers and the entire body must be done within `timeout` seconds (httpx's own timeout is
    per read, so a server trickling bytes would never time out). A request is tried at most
    `retry.attempts` times, each attempt with its own `timeout`; `resolve(deadline=...)`
    bounds a whole resolution. Name resolution (DNS) is not interruptible and not covered.
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
        self._mirrors = {server_key(k): v.rstrip("/") for k, v in (mirrors or {}).items()}
        self._insecure = frozenset(i.lower() for i in insecure)
        self._credentials = credentials if credentials is not None else CredentialStore()
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._tokens = TokenCache()
        self._challenges: dict[str, Challenge] = {}
        self._unresolvable: dict[str, str] = {}  # host -> why: DNS failed once this run
        self._lock = threading.Lock()
        self._count = 0
        self._attempt_deadline = Deadline()  # per thread: the current HTTP attempt's end
        self._resolve_deadline = Deadline()  # per thread: the current resolve's `deadline`
        self._http = deadline_client(self._attempt_deadline, timeout=timeout, transport=transport, on_request=self._on_request)

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far (manifests, blobs, tokens, redirects)."""
        with self._lock:
            return self._count

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def resolve(self, ref: Reference, platform: str | None = None, *, deadline: float | None = None) -> Resolution | Failure:
        """The digest `ref`'s tag (or digest) points to now; with `platform`, that platform's.

        `deadline` is a `harden.clock.monotonic()` time: no HTTP attempt outlives it and no
        retry starts after it; the reference then fails as `timed_out`.
        """
        self._resolve_deadline.at = deadline
        try:
            return self._resolve(ref, platform)
        except _Refused as refused:
            return Failure(ref.canonical, refused.kind, refused.message)
        finally:
            self._resolve_deadline.at = None

    def _resolve(self, ref: Reference, platform: str | None) -> Resolution:
        if not ref.is_pinnable:
            _refuse(
                FailureKind.UNSUPPORTED_DIGEST,
                f"digest algorithm {ref.digest_algorithm} is recognised but only sha256 digests can be pinned",
            )
        want = _parse_platform_or_refuse(platform)
        target = self._target(ref)
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

    def _head(self, ref: Reference, target: _Target, url: str, expected: str | None) -> Resolution | None:
        """Resolve with HEAD; None when the registry did not say enough (then GET).

        The digest is taken from the header without fetching the body: see the module
        docstring for why that is safe.
        """
        resp = self._request("HEAD", url, target, accept=ACCEPT, limit=0)
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
            _refuse(
                FailureKind.BAD_DIGEST,
                f"{target.display} answered {ref.lookup} with a different digest: refused",
            )
        return Resolution(ref.canonical, digest, media_type, None, utcnow())

    def _get_manifest(
        self, ref: Reference, target: _Target, url: str, expected: str | None
    ) -> tuple[dict[str, object], str, str]:
        """GET a manifest and verify it: (its JSON document, media type, sha256 digest of the body)."""
        resp = self._request("GET", url, target, accept=ACCEPT, limit=_MAX_MANIFEST_BYTES)
        self._check_status(resp, ref, target)
        body = resp.content
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        claimed = resp.headers.get("Docker-Content-Digest", "")
        if claimed and not _body_matches(claimed, body):
            _refuse(
                FailureKind.BAD_DIGEST,
                f"the manifest of {ref} from {target.display} does not match its "
                "Docker-Content-Digest header: refused (corrupted in transit?)",
            )
        if expected is not None and digest != expected:
            _refuse(
                FailureKind.BAD_DIGEST,
                f"the manifest of {ref} from {target.display} does not match the requested digest: refused",
            )
        document, media_type = _manifest_document(body, resp.media_type, ref, target)
        if not claimed and expected is None:
            self._confirm_digest(ref, target, digest)
        return document, media_type, digest

    def _confirm_digest(self, ref: Reference, target: _Target, digest: str) -> None:
        """Ask the registry whether it holds `digest`, computed from a body sent without one.

        A body altered in transit hashes to a digest the registry does not know.
        """
        url = f"{target.base}/v2/{target.repository}/manifests/{digest}"
        resp = self._request("HEAD", url, target, accept=ACCEPT, limit=0)
        claimed = resp.headers.get("Docker-Content-Digest", digest)
        if resp.status_code != 200 or claimed != digest:
            _refuse(
                FailureKind.BAD_DIGEST,
                f"the manifest of {ref} from {target.display} came without a digest header and "
                "the registry does not confirm the digest of the body: refused",
            )

    def _select_platform(
        self,
        ref: Reference,
        target: _Target,
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
            _refuse(FailureKind.PLATFORM_NOT_FOUND, f"{ref} has no manifest for {want}")
        config = document.get("config")
        config_digest = config.get("digest") if isinstance(config, dict) else None
        if not isinstance(config_digest, str) or not _is_sha256(config_digest):
            _refuse(FailureKind.BAD_RESPONSE, f"the manifest of {ref} has no usable config digest")
        url = f"{target.base}/v2/{target.repository}/blobs/{config_digest}"
        resp = self._request("GET", url, target, accept="*/*", limit=_MAX_CONFIG_BYTES)
        self._check_status(resp, ref, target)
        if not _body_matches(config_digest, resp.content):
            _refuse(FailureKind.BAD_DIGEST, f"the image config of {ref} does not match its digest")
        image = resp.json()
        if not isinstance(image, dict):
            _refuse(FailureKind.BAD_RESPONSE, f"{target.display} sent invalid JSON for {ref}")
        if not want.matches(image):
            found = f"{image.get('os')}/{image.get('architecture')}"
            _refuse(
                FailureKind.PLATFORM_NOT_FOUND,
                f"{ref} is a single-platform image for {found[:100]}, not {want}",
            )
        return Resolution(ref.canonical, digest, media_type, str(want), utcnow())

    def _check_status(self, resp: Answer, ref: Reference, target: _Target) -> None:
        """Turn every non-200 answer (after retries and auth) into a failure."""
        if resp.status_code == 200:
            return
        code = resp.error_code()
        suffix = f" ({code})" if code else ""
        if resp.status_code == 404:
            _refuse(
                FailureKind.NOT_FOUND,
                f"{ref.lookup} not found in {target.repository} on {target.display}{suffix}",
            )
        if resp.status_code in (401, 403):
            self._refuse_unauthorized(target, resp.status_code, code)
        _refuse(
            FailureKind.SERVER_ERROR,
            f"{target.display} answered HTTP {resp.status_code} for {ref}{suffix}",
        )

    # -- transport, retries, authentication ------------------------------------------------

    def _on_request(self, request: httpx.Request) -> None:
        with self._lock:
            self._count += 1

    def _target(self, ref: Reference) -> _Target:
        """The base URL for `ref`'s registry, enforcing HTTPS outside loopback and `insecure`."""
        mirror = self._mirrors.get(ref.registry)
        if mirror is not None:
            try:
                url = httpx.URL(mirror)
            except httpx.InvalidURL:
                _refuse(FailureKind.UNREACHABLE, f"invalid mirror URL for {ref.registry}")
            if url.scheme not in ("http", "https") or not url.host:
                _refuse(FailureKind.UNREACHABLE, f"invalid mirror URL for {ref.registry}")
            hostport = _host_port(url)
            if url.scheme == "http" and not self._plain_http_allowed(hostport, url.host):
                _refuse(
                    FailureKind.INSECURE,
                    f"mirror {hostport} for {ref.registry} uses plain HTTP; declare it insecure to allow that",
                )
            base = mirror
            display = f"{ref.registry} (via mirror {hostport})"
            return _Target(base, ref.repository, hostport, display)
        if ref.registry == "docker.io":
            return _Target(DOCKER_HUB_ENDPOINT, ref.repository, "docker.io", "docker.io")
        scheme = "http" if self._plain_http_allowed(ref.registry, ref.host) else "https"
        return _Target(f"{scheme}://{ref.registry}", ref.repository, ref.registry, ref.registry)

    def _plain_http_allowed(self, hostport: str, host: str) -> bool:
        return is_loopback(host) or hostport.lower() in self._insecure or host.strip("[]").lower() in self._insecure

    def _check_hop(self, hop: httpx.Request, came_from: httpx.URL, target: _Target) -> None:
        """Apply the plain-HTTP rule to where a redirect leads, as to the first request.

        httpx drops `Authorization` when a redirect leaves the origin, but a 307 or 308 keeps
        a POST's body, and the only POST is the refresh-token form: it may not leave its origin.
        """
        url = hop.url
        if hop.method == "POST" and (url.scheme, url.host, url.port) != (came_from.scheme, came_from.host, came_from.port):
            _refuse(
                FailureKind.INSECURE,
                f"{target.display} redirected a request carrying credentials to {_host_port(url)[:100]}: refused",
            )
        if url.scheme == "https" or (url.scheme == "http" and self._plain_http_allowed(_host_port(url), url.host)):
            return
        if url.scheme != "http":
            _refuse(FailureKind.BAD_RESPONSE, f"{target.display} redirected to a {url.scheme[:20]!r} URL: refused")
        _refuse(
            FailureKind.INSECURE,
            f"{target.display} redirected to plain HTTP at {_host_port(url)[:100]}: refused; "
            "declare that host insecure to allow it",
        )

    def _request(self, method: str, url: str, target: _Target, accept: str, limit: int) -> Answer:
        """Send with authentication: use what is known, answer one challenge, renew once."""
        scope = f"repository:{target.repository}:pull"
        auth, fresh = self._known_authorization(target, scope)
        while True:
            resp = self._send(method, url, target, {"Accept": accept}, auth, limit)
            if resp.status_code != 401 or fresh:
                return resp
            challenge = parse_challenge(resp.headers.get("WWW-Authenticate", ""))
            if challenge is None or challenge.scheme not in ("bearer", "basic"):
                return resp
            with self._lock:
                self._challenges[target.auth_key] = challenge
            if auth is not None and auth.startswith("Bearer "):
                self._tokens.drop(target.auth_key, scope, auth[len("Bearer ") :])
            auth = self._authorize(target, challenge, scope)
            if auth is None:
                return resp
            fresh = True

    def _known_authorization(self, target: _Target, scope: str) -> tuple[str | None, bool]:
        """An Authorization value before any 401: a cached token, or one fetched because the
        registry's challenge is already known. The flag says whether it was just obtained."""
        with self._lock:
            challenge = self._challenges.get(target.auth_key)
        if challenge is None:
            return None, False
        if challenge.scheme == "bearer":
            token = self._tokens.get(target.auth_key, scope)
            if token is not None:
                return f"Bearer {token}", False
        return self._authorize(target, challenge, scope), True

    def _authorize(self, target: _Target, challenge: Challenge, scope: str) -> str | None:
        """Answer a challenge: a basic-auth header, or a bearer token from the realm."""
        creds = self._credentials.lookup(target.auth_key)
        if challenge.scheme == "basic":
            if creds is None or creds.identity_token:
                return None
            pair = f"{creds.username}:{creds.secret}".encode()
            return "Basic " + base64.b64encode(pair).decode()
        realm = challenge.realm
        try:
            realm_url = httpx.URL(realm)
        except httpx.InvalidURL:
            realm_url = httpx.URL("")
        if realm_url.scheme not in ("http", "https") or not realm_url.host:
            _refuse(FailureKind.UNAUTHORIZED, f"{target.display} sent an unusable token realm")
        if realm_url.scheme == "http" and not self._plain_http_allowed(_host_port(realm_url), realm_url.host):
            _refuse(
                FailureKind.INSECURE,
                f"{target.display} asks for tokens over plain HTTP from {_host_port(realm_url)[:100]}",
            )
        params = {"scope": scope}
        if "service" in challenge.params:
            params["service"] = challenge.params["service"]
        if creds is not None and creds.identity_token:
            form = {**params, "grant_type": "refresh_token", "refresh_token": creds.secret}
            form["client_id"] = "harden"
            resp = self._send_raw("POST", realm_url, target, limit=_MAX_TOKEN_BYTES, data=form)
        else:
            basic = (creds.username, creds.secret) if creds is not None else None
            resp = self._send_raw("GET", realm_url, target, limit=_MAX_TOKEN_BYTES, params=params, auth=basic)
        if resp.status_code in (401, 403):
            self._refuse_unauthorized(target, resp.status_code, "token service", creds is not None)
        if resp.status_code != 200:
            _refuse(
                FailureKind.UNAUTHORIZED,
                f"the token service of {target.display} answered HTTP {resp.status_code}",
            )
        answer = resp.json()
        token = answer.get("token") or answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            _refuse(FailureKind.UNAUTHORIZED, f"the token service of {target.display} sent no token")
        if not _TOKEN_RE.fullmatch(token):  # it goes into a header: visible ASCII only
            _refuse(FailureKind.UNAUTHORIZED, f"the token service of {target.display} sent an unusable token")
        life = _token_life(answer.get("expires_in") if isinstance(answer, dict) else None)
        self._tokens.put(target.auth_key, scope, token, life)
        return f"Bearer {token}"

    def _refuse_unauthorized(self, target: _Target, status: int, code: str, has_creds: bool | None = None) -> NoReturn:
        if has_creds is None:
            has_creds = self._credentials.lookup(target.auth_key) is not None
        what = f"HTTP {status}" + (f", {code}" if code else "")
        if has_creds:
            _refuse(
                FailureKind.UNAUTHORIZED,
                f"{target.display} refused the configured credentials ({what})",
            )
        problem = self._credentials.problem(target.auth_key)
        why = (
            f"no credentials for {target.auth_key}: {problem}"
            if problem
            else (f"no credentials are configured for {target.auth_key} (docker login {target.auth_key})")
        )
        _refuse(FailureKind.UNAUTHORIZED, f"{target.display} requires authentication ({what}); {why}")

    def _send(self, method: str, url: str, target: _Target, headers: dict[str, str], auth: str | None, limit: int) -> Answer:
        if auth is not None:
            headers = {**headers, "Authorization": auth}
        return self._send_raw(method, httpx.URL(url), target, limit=limit, headers=headers)

    def _send_raw(
        self,
        method: str,
        url: httpx.URL,
        target: _Target,
        *,
        limit: int,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Answer:
        """One request with bounded retries on 429, 5xx and connection errors; a 200 body
        larger than `limit` bytes is refused."""
        policy = self._retry
        resp: Answer | None = None
        problem = self._unresolvable.get(url.host, "")
        for attempt in range(0 if problem else max(1, policy.attempts)):
            self._check_resolve_deadline(target)
            request = self._http.build_request(method, url, headers=headers, params=params, data=data)
            try:
                resp = self._attempt(request, auth, limit, target)
                problem = ""
            except BodyRefused as refused:
                _refuse(FailureKind.BAD_RESPONSE, f"the answer of {target.display} to {url.path[:100]} is {refused.reason}")
            except httpx.TimeoutException:
                self._check_resolve_deadline(target)
                resp, problem = None, f"timed out (no complete answer within {self._timeout:g} s)"
            except httpx.TransportError as error:
                resp, problem = None, f"connection failed ({type(error).__name__})"
                if _name_not_resolved(error):
                    # A host name that does not resolve will not resolve in a second either:
                    # fail now, and fail every later request to that host at once.
                    problem = "its host name does not resolve"
                    self._unresolvable[url.host] = problem
                    break
            if resp is not None and resp.status_code not in _RETRY_STATUSES:
                return resp
            if attempt + 1 >= policy.attempts:
                break
            wait = min(policy.max_backoff, policy.backoff * 2**attempt)
            retry_after = resp.retry_after() if resp is not None else None
            if retry_after is not None:
                if retry_after > policy.max_retry_after:
                    break
                wait = retry_after
            self._pause(wait, target)
        if resp is None:
            _refuse(FailureKind.UNREACHABLE, f"{target.display} is unreachable: {problem}")
        if resp.status_code == 429:
            retry_after = resp.retry_after()
            hint = f"; it asks to retry after {retry_after:.0f} s" if retry_after else ""
            _refuse(FailureKind.RATE_LIMITED, f"{target.display} rate-limits requests{hint}")
        return resp

    def _attempt(self, request: httpx.Request, auth: tuple[str, str] | None, limit: int, target: _Target) -> Answer:
        """One try within `timeout` (and the resolve's deadline): follow redirects, each hop
        checked, and read the final answer within `limit`."""
        end = clock.monotonic() + self._timeout
        outer = self._resolve_deadline.at
        self._attempt_deadline.at = end if outer is None else min(end, outer)
        try:
            resp = self._http.send(request, auth=auth, stream=True)
            hops = 0
            while resp.next_request is not None:
                hop = resp.next_request
                resp.close()  # a redirect's body is never read
                hops += 1
                if hops > _MAX_REDIRECTS:
                    _refuse(FailureKind.BAD_RESPONSE, f"{target.display} redirected more than {_MAX_REDIRECTS} times: refused")
                self._check_hop(hop, resp.request.url, target)
                resp = self._http.send(hop, stream=True)
            try:
                return read_answer(resp, limit, self._attempt_deadline)
            finally:
                resp.close()
        finally:
            self._attempt_deadline.at = None

    def _check_resolve_deadline(self, target: _Target) -> None:
        deadline = self._resolve_deadline.at
        if deadline is not None and clock.monotonic() >= deadline:
            _refuse(FailureKind.TIMED_OUT, f"timed out: no answer from {target.display} before the deadline")

    def _pause(self, seconds: float, target: _Target) -> None:
        """Back off before a retry, unless that would outlast the resolve's deadline."""
        deadline = self._resolve_deadline.at
        if deadline is not None and clock.monotonic() + seconds >= deadline:
            _refuse(FailureKind.TIMED_OUT, f"timed out: no answer from {target.display} before the deadline")
        self._sleep(seconds)


def _parse_platform_or_refuse(platform: str | None) -> _Platform | None:
    if platform is None:
        return None
    try:
        return parse_platform(platform)
    except ValueError as error:
        _refuse(FailureKind.INVALID_REFERENCE, str(error))


def _refuse_media_type(ref: Reference, target: _Target, media_type: str) -> NoReturn:
    shown = media_type[:100] or "none"
    _refuse(
        FailureKind.UNKNOWN_MEDIA_TYPE,
        f"{target.display} answered {ref} with media type {shown!r}, not an OCI or Docker schema 2 manifest or index: refused",
    )


def _manifest_document(body: bytes, content_type: str, ref: Reference, target: _Target) -> tuple[dict[str, object], str]:
    """A fetched manifest as a JSON object and its media type; refuse anything else.

    The media type is the Content-Type, or the document's `mediaType` when the header is
    missing; a `mediaType` that disagrees with the header, or a `schemaVersion` other than 2,
    means the body is not the manifest it claims to be.
    """
    document = json_value(body)
    if not isinstance(document, dict):
        _refuse(FailureKind.BAD_RESPONSE, f"{target.display} answered {ref} with a manifest that is not a JSON object: refused")
    declared = document.get("mediaType")
    media_type = content_type or (declared if isinstance(declared, str) else "")
    if media_type not in MANIFEST_TYPES:
        _refuse_media_type(ref, target, media_type)
    if declared is not None and declared != media_type:
        _refuse(
            FailureKind.BAD_RESPONSE,
            f"{target.display} served {ref} as {media_type} but the manifest declares another mediaType: refused",
        )
    if document.get("schemaVersion") != 2:
        _refuse(FailureKind.BAD_RESPONSE, f"the manifest of {ref} from {target.display} is not schemaVersion 2: refused")
    return document, media_type


def _is_sha256(digest: str) -> bool:
    algorithm, _, encoded = digest.partition(":")
    return algorithm == "sha256" and len(encoded) == 64 and all(c in "0123456789abcdef" for c in encoded)


def _body_matches(digest: str, body: bytes) -> bool:
    """Whether `body` hashes to `digest` (sha256, sha384 or sha512); unknown algorithms fail."""
    algorithm, _, encoded = digest.partition(":")
    hasher = _HASHES.get(algorithm)
    return hasher is not None and bool(hasher(body).hexdigest() == encoded)


def _token_life(expires_in: object) -> float:
    """Seconds to keep a token: `expires_in` up to `_MAX_TOKEN_LIFE`, else 60 (the spec's default)."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)) or not expires_in > 0:
        return 60.0
    return float(min(expires_in, _MAX_TOKEN_LIFE))  # min first: float(10**400) overflows


def _name_not_resolved(error: BaseException) -> bool:
    """Whether a transport error comes from DNS (socket.gaierror somewhere in its causes)."""
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
