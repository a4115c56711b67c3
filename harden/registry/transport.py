"""HTTP under the registry session: every request ends by a deadline and reads a bounded body.

httpx's `timeout` applies to each socket operation separately, so a server that sends one
byte per second keeps a request alive forever, and `Response.content` reads a body whole
before anyone can check its size. This module closes both holes:

- `Deadline` holds, per thread, the monotonic time by which the current attempt must end.
  The network backend under httpx gives every connect, TLS handshake, write and read only
  what is left of it, so connect + send + headers + body together cannot outlast it. It is
  per thread because httpx's synchronous transport does all socket work in the calling
  thread, and each worker thread runs one request at a time.
- `read_answer` streams a body and stops at a size limit (and at the deadline), so a
  100 MB answer costs at most the limit in memory. It asks for no compression and refuses
  compressed bodies: a small gzip body can expand a thousandfold before any check runs.

What might break: httpx has no public way to hand httpcore a network backend, so
`deadline_client` puts one into the connection pool httpx builds (httpx 0.28); environment
proxies (`HTTPS_PROXY`, `NO_PROXY`) are mounted the way httpx itself does. A change in httpx
fails tests/registry/test_client_hostile.py. Name resolution (getaddrinfo) cannot be
interrupted and is not bounded by the deadline. A server that compresses a 200 answer
although `Accept-Encoding: identity` asked it not to is refused (no registry seen does).
"""

from __future__ import annotations

import email.utils
import json
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx
from httpx._utils import get_environment_proxies

from harden import clock

__all__ = ["Answer", "BodyRefused", "Deadline", "deadline_client", "json_value", "read_answer"]

ERROR_BODY_LIMIT = 64 * 1024  # enough for any OCI error document; larger ones are not read
_YEAR = 365 * 24 * 3600.0


class Deadline(threading.local):
    """The monotonic time by which the calling thread's current HTTP attempt must end."""

    at: float | None = None

    def clamp(self, timeout: float | None, expired: type[Exception]) -> float | None:
        """`timeout` shortened to what is left of the deadline; raise `expired` if none is."""
        if self.at is None:
            return timeout
        left = self.at - clock.monotonic()
        if left <= 0:
            raise expired("the request's deadline has passed")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        left = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, left), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        left = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_tcp(host, port, left, local_address, socket_options), self._deadline)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.NetworkStream:
        left = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, left, socket_options), self._deadline)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _deadline_transport(deadline: Deadline, proxy: str | None = None) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(proxy=proxy)
    pool = transport._pool
    pool._network_backend = _DeadlineBackend(pool._network_backend, deadline)
    return transport


def deadline_client(
    deadline: Deadline,
    *,
    timeout: float,
    transport: httpx.BaseTransport | None,
    on_request: Callable[[httpx.Request], None],
) -> httpx.Client:
    """An httpx.Client that follows no redirect itself and whose sockets obey `deadline`.

    A given `transport` (tests: `httpx.MockTransport`) is used as it is; only `read_answer`'s
    check between body chunks then applies the deadline.
    """
    mounts: Mapping[str, httpx.BaseTransport | None] | None = None
    if transport is None:
        transport = _deadline_transport(deadline)
        proxies = get_environment_proxies()  # what httpx would mount itself, with deadlines
        mounts = {key: None if url is None else _deadline_transport(deadline, url) for key, url in proxies.items()}
    return httpx.Client(
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        transport=transport,
        mounts=mounts,
        headers={"User-Agent": "harden", "Accept-Encoding": "identity"},
        event_hooks={"request": [on_request]},
    )


class BodyRefused(Exception):
    """A 200 answer's body that is not read: larger than the limit, or compressed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Answer:
    """A response read within limits: status, headers and (for 200) the whole body.

    The body of any other status is read only up to `ERROR_BODY_LIMIT`, and dropped (left
    empty) when larger or compressed: it is only ever searched for an error code.
    """

    status_code: int
    headers: httpx.Headers
    content: bytes
    method: str

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters (`; charset=...`)."""
        value: str = self.headers.get("Content-Type", "")
        return value.split(";", 1)[0].strip()

    def json(self) -> object:
        """The body as JSON; None when it is not JSON or nested too deeply to parse."""
        return json_value(self.content)

    def error_code(self) -> str:
        """The first OCI error code in the body (`MANIFEST_UNKNOWN`, `DENIED`), if any."""
        document = self.json() if self.content else None
        errors = document.get("errors") if isinstance(document, dict) else None
        first = errors[0] if isinstance(errors, list) and errors else None
        code = first.get("code") if isinstance(first, dict) else None
        if isinstance(code, str) and code.isascii() and code.replace("_", "").isalnum():
            return code[:40]
        return ""

    def retry_after(self) -> float | None:
        """`Retry-After` in seconds (delta-seconds or an HTTP date, at most a year), or None."""
        value = self.headers.get("Retry-After", "").strip()
        if not value:
            return None
        if value.isascii() and value.isdigit():  # not str.isdigit alone: "²" is a digit too
            return min(float(value), _YEAR)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        return min(max(0.0, when.timestamp() - clock.now().timestamp()), _YEAR)


def json_value(body: bytes) -> object:
    """`body` parsed as JSON; None when it is not JSON or nested too deeply to parse."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # json raises RecursionError for "[[[[...", not ValueError
        return None


def read_answer(resp: httpx.Response, limit: int, deadline: Deadline) -> Answer:
    """Read `resp` (sent with `stream=True`) into an `Answer`.

    Raise `BodyRefused` for a 200 answer whose body is compressed or larger than `limit`
    bytes (declared or seen; reading stops there), and httpx.ReadTimeout at the deadline.
    """
    method = resp.request.method
    if method == "HEAD":
        return Answer(resp.status_code, resp.headers, b"", method)
    ok = resp.status_code == 200
    cap = limit if ok else min(limit, ERROR_BODY_LIMIT)
    dropped = Answer(resp.status_code, resp.headers, b"", method)
    encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding != "identity":
        if ok:
            raise BodyRefused(f"compressed ({encoding[:20]!r}) although harden asks for no compression")
        return dropped
    declared = resp.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > cap:
        if ok:
            raise BodyRefused(f"too large ({int(declared)} bytes; harden reads at most {limit} bytes)")
        return dropped
    body = bytearray()
    for chunk in resp.iter_bytes():  # not compressed (checked above): the raw bytes
        body += chunk
        if len(body) > cap:
            if ok:
                raise BodyRefused(f"too large (more than {limit} bytes, the most harden reads)")
            return dropped
        deadline.clamp(None, httpx.ReadTimeout)
    return Answer(resp.status_code, resp.headers, bytes(body), method)
