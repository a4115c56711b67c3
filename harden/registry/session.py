"""HTTP to OCI registries for the registry client: where to send, as whom, how often, how long.

`RegistrySession` does everything below "send this request for this repository", so that
`harden.registry.client` is only about manifests and digests:

- `target` picks the base URL that serves a reference's registry (a mirror, Docker Hub's
  endpoint, or the registry itself) and applies the plain-HTTP rule: plain HTTP only for
  loopback hosts and the names in `insecure`; anything else must be HTTPS. The rule applies
  to every hop, redirects and token realms included.
- `request` sends with authentication. It follows the registry's `WWW-Authenticate`
  challenge: bearer tokens from the realm (anonymously or with credentials), or basic auth.
  Once a registry's challenge is known, later repositories fetch their token first, so each
  manifest costs the registry one request. Tokens are cached per (registry, scope); a 401 for
  a cached token renews it once.
- 429 and 5xx answers and connection errors are retried with exponential backoff, honouring a
  bounded `Retry-After` (`RetryPolicy`); the sleep function is injectable so tests do not wait.
- Redirects are followed by hand, at most 10, each hop checked (`_check_hop`). httpx drops
  `Authorization` when a redirect leaves the origin, so credentials never follow a redirect to
  another host; the refresh-token POST may not leave its origin at all.
- Deadlines (with `harden.registry.transport`): every HTTP attempt must end within `timeout`
  seconds in total, connect, headers and body (a server that trickles one byte a second is cut
  off); bodies are streamed and refused beyond the caller's limit (the client's: manifests
  4 MiB, configs 8 MiB; token answers 1 MiB here; error bodies are read up to 64 KiB).
  `until(deadline)` bounds a whole resolution: no attempt outlives it and no retry starts
  after it.

Every refusal is raised as `Refused(kind, message)`; `RegistryClient.resolve` returns it as a
`Failure`. Messages name the registry, HTTP statuses and registry error codes, never
credentials or tokens.

What might break: name resolution (DNS) cannot be interrupted and is not bounded by any
deadline; a host name that does not resolve fails at once, without retries, and so does every
later request to that host in the same session. A `Retry-After` longer than
`RetryPolicy.max_retry_after` is not waited for: the reference fails as rate limited. A token
is kept at most an hour, whatever its `expires_in` says.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import socket
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NoReturn

import httpx

from harden import clock
from harden.images import FailureKind, Reference
from harden.registry.auth import Challenge, CredentialStore, TokenCache, parse_challenge, server_key
from harden.registry.transport import Answer, BodyRefused, Deadline, deadline_client, read_answer

__all__ = ["DOCKER_HUB_ENDPOINT", "Refused", "RegistrySession", "RetryPolicy", "Target", "is_loopback", "refuse"]

DOCKER_HUB_ENDPOINT = "https://registry-1.docker.io"
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAX_TOKEN_BYTES = 1024 * 1024  # Docker Hub's token answers are about 4 KiB
_MAX_TOKEN_LIFE = 3600.0  # a token is kept at most this long, whatever `expires_in` says
_MAX_REDIRECTS = 10  # as Docker (Go's net/http)
_TOKEN_RE = re.compile(r"[\x21-\x7e]+")


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


class Refused(Exception):
    """A failure's kind and message, raised up to `RegistryClient.resolve`, which returns it."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def refuse(kind: FailureKind, message: str) -> NoReturn:
    """Fail the reference being resolved (raise `Refused`)."""
    raise Refused(kind, message)


@dataclass(frozen=True)
class Target:
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


class RegistrySession:
    """HTTP to registries for one user (one `CredentialStore`) over one thread-safe `httpx.Client`.

    `mirrors` maps a registry name (`docker.io`) to the base URL that serves it
    (`http://127.0.0.1:5000`). Plain HTTP is used for loopback registries and the names in
    `insecure` (host or host:port) only; anything else must be HTTPS, redirects included.

    `timeout` is the deadline of each HTTP attempt as a whole: connecting, sending, the
    headers and the entire body must be done within `timeout` seconds (httpx's own timeout is
    per read, so a server trickling bytes would never time out). A request is tried at most
    `retry.attempts` times, each attempt with its own `timeout`; `until(deadline)` bounds all
    requests of the calling thread. Name resolution (DNS) is not interruptible and not covered.
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
        self._unresolvable: dict[str, str] = {}  # host -> why: DNS failed once this session
        self._lock = threading.Lock()
        self._count = 0
        self._attempt_deadline = Deadline()  # per thread: the current HTTP attempt's end
        self._overall_deadline = Deadline()  # per thread: the deadline given to `until`
        self._http = deadline_client(self._attempt_deadline, timeout=timeout, transport=transport, on_request=self._on_request)

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far (manifests, blobs, tokens, redirects)."""
        with self._lock:
            return self._count

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _on_request(self, request: httpx.Request) -> None:
        with self._lock:
            self._count += 1

    @contextmanager
    def until(self, deadline: float | None) -> Iterator[None]:
        """Bound the calling thread's requests by `deadline`, a `harden.clock.monotonic()` time.

        No HTTP attempt outlives it and no retry starts after it: the request then fails as
        `timed_out`. None sets no deadline.
        """
        self._overall_deadline.at = deadline
        try:
            yield
        finally:
            self._overall_deadline.at = None

    def target(self, ref: Reference) -> Target:
        """The base URL for `ref`'s registry, enforcing HTTPS outside loopback and `insecure`."""
        mirror = self._mirrors.get(ref.registry)
        if mirror is not None:
            try:
                url = httpx.URL(mirror)
            except httpx.InvalidURL:
                refuse(FailureKind.UNREACHABLE, f"invalid mirror URL for {ref.registry}")
            if url.scheme not in ("http", "https") or not url.host:
                refuse(FailureKind.UNREACHABLE, f"invalid mirror URL for {ref.registry}")
            hostport = _host_port(url)
            if url.scheme == "http" and not self._plain_http_allowed(hostport, url.host):
                refuse(
                    FailureKind.INSECURE,
                    f"mirror {hostport} for {ref.registry} uses plain HTTP; declare it insecure to allow that",
                )
            base = mirror
            display = f"{ref.registry} (via mirror {hostport})"
            return Target(base, ref.repository, hostport, display)
        if ref.registry == "docker.io":
            return Target(DOCKER_HUB_ENDPOINT, ref.repository, "docker.io", "docker.io")
        scheme = "http" if self._plain_http_allowed(ref.registry, ref.host) else "https"
        return Target(f"{scheme}://{ref.registry}", ref.repository, ref.registry, ref.registry)

    def _plain_http_allowed(self, hostport: str, host: str) -> bool:
        return is_loopback(host) or hostport.lower() in self._insecure or host.strip("[]").lower() in self._insecure

    def request(self, method: str, url: str, target: Target, accept: str, limit: int) -> Answer:
        """Send with authentication: use what is known, answer one challenge, renew once.

        The answer may have any status but 429 (that is refused as rate limited); a 200 body
        larger than `limit` bytes is refused.
        """
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

    def refuse_unauthorized(self, target: Target, status: int, code: str, has_creds: bool | None = None) -> NoReturn:
        """Refuse a 401 or 403: the configured credentials were refused, or say why there are none."""
        if has_creds is None:
            has_creds = self._credentials.lookup(target.auth_key) is not None
        what = f"HTTP {status}" + (f", {code}" if code else "")
        if has_creds:
            refuse(
                FailureKind.UNAUTHORIZED,
                f"{target.display} refused the configured credentials ({what})",
            )
        problem = self._credentials.problem(target.auth_key)
        why = (
            f"no credentials for {target.auth_key}: {problem}"
            if problem
            else (f"no credentials are configured for {target.auth_key} (docker login {target.auth_key})")
        )
        refuse(FailureKind.UNAUTHORIZED, f"{target.display} requires authentication ({what}); {why}")

    # -- authentication ---------------------------------------------------------------------

    def _known_authorization(self, target: Target, scope: str) -> tuple[str | None, bool]:
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

    def _authorize(self, target: Target, challenge: Challenge, scope: str) -> str | None:
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
            refuse(FailureKind.UNAUTHORIZED, f"{target.display} sent an unusable token realm")
        if realm_url.scheme == "http" and not self._plain_http_allowed(_host_port(realm_url), realm_url.host):
            refuse(
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
            self.refuse_unauthorized(target, resp.status_code, "token service", creds is not None)
        if resp.status_code != 200:
            refuse(
                FailureKind.UNAUTHORIZED,
                f"the token service of {target.display} answered HTTP {resp.status_code}",
            )
        answer = resp.json()
        token = answer.get("token") or answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            refuse(FailureKind.UNAUTHORIZED, f"the token service of {target.display} sent no token")
        if not _TOKEN_RE.fullmatch(token):  # it goes into a header: visible ASCII only
            refuse(FailureKind.UNAUTHORIZED, f"the token service of {target.display} sent an unusable token")
        life = _token_life(answer.get("expires_in") if isinstance(answer, dict) else None)
        self._tokens.put(target.auth_key, scope, token, life)
        return f"Bearer {token}"

    # -- retries, redirects, deadlines ------------------------------------------------------

    def _send(self, method: str, url: str, target: Target, headers: dict[str, str], auth: str | None, limit: int) -> Answer:
        if auth is not None:
            headers = {**headers, "Authorization": auth}
        return self._send_raw(method, httpx.URL(url), target, limit=limit, headers=headers)

    def _send_raw(
        self,
        method: str,
        url: httpx.URL,
        target: Target,
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
            self._check_deadline(target)
            request = self._http.build_request(method, url, headers=headers, params=params, data=data)
            try:
                resp = self._attempt(request, auth, limit, target)
                problem = ""
            except BodyRefused as refused:
                refuse(FailureKind.BAD_RESPONSE, f"the answer of {target.display} to {url.path[:100]} is {refused.reason}")
            except httpx.TimeoutException:
                self._check_deadline(target)
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
            refuse(FailureKind.UNREACHABLE, f"{target.display} is unreachable: {problem}")
        if resp.status_code == 429:
            retry_after = resp.retry_after()
            hint = f"; it asks to retry after {retry_after:.0f} s" if retry_after else ""
            refuse(FailureKind.RATE_LIMITED, f"{target.display} rate-limits requests{hint}")
        return resp

    def _attempt(self, request: httpx.Request, auth: tuple[str, str] | None, limit: int, target: Target) -> Answer:
        """One try within `timeout` (and the `until` deadline): follow redirects, each hop
        checked, and read the final answer within `limit`."""
        end = clock.monotonic() + self._timeout
        outer = self._overall_deadline.at
        self._attempt_deadline.at = end if outer is None else min(end, outer)
        try:
            resp = self._http.send(request, auth=auth, stream=True)
            hops = 0
            while resp.next_request is not None:
                hop = resp.next_request
                resp.close()  # a redirect's body is never read
                hops += 1
                if hops > _MAX_REDIRECTS:
                    refuse(FailureKind.BAD_RESPONSE, f"{target.display} redirected more than {_MAX_REDIRECTS} times: refused")
                self._check_hop(hop, resp.request.url, target)
                resp = self._http.send(hop, stream=True)
            try:
                return read_answer(resp, limit, self._attempt_deadline)
            finally:
                resp.close()
        finally:
            self._attempt_deadline.at = None

    def _check_hop(self, hop: httpx.Request, came_from: httpx.URL, target: Target) -> None:
        """Apply the plain-HTTP rule to where a redirect leads, as to the first request.

        httpx drops `Authorization` when a redirect leaves the origin, but a 307 or 308 keeps
        a POST's body, and the only POST is the refresh-token form: it may not leave its origin.
        """
        url = hop.url
        if hop.method == "POST" and (url.scheme, url.host, url.port) != (came_from.scheme, came_from.host, came_from.port):
            refuse(
                FailureKind.INSECURE,
                f"{target.display} redirected a request carrying credentials to {_host_port(url)[:100]}: refused",
            )
        if url.scheme == "https" or (url.scheme == "http" and self._plain_http_allowed(_host_port(url), url.host)):
            return
        if url.scheme != "http":
            refuse(FailureKind.BAD_RESPONSE, f"{target.display} redirected to a {url.scheme[:20]!r} URL: refused")
        refuse(
            FailureKind.INSECURE,
            f"{target.display} redirected to plain HTTP at {_host_port(url)[:100]}: refused; "
            "declare that host insecure to allow it",
        )

    def _check_deadline(self, target: Target) -> None:
        deadline = self._overall_deadline.at
        if deadline is not None and clock.monotonic() >= deadline:
            refuse(FailureKind.TIMED_OUT, f"timed out: no answer from {target.display} before the deadline")

    def _pause(self, seconds: float, target: Target) -> None:
        """Back off before a retry, unless that would outlast the `until` deadline."""
        deadline = self._overall_deadline.at
        if deadline is not None and clock.monotonic() + seconds >= deadline:
            refuse(FailureKind.TIMED_OUT, f"timed out: no answer from {target.display} before the deadline")
        self._sleep(seconds)


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
