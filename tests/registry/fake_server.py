"""A stdlib HTTP server on 127.0.0.1 that misbehaves on purpose.

For what the real `docker-registry` cannot be made to do: trickle bytes, answer 100 MB,
redirect elsewhere, send a body that is not JSON under a correct digest. Every request is
recorded in `seen` and answered by the test's `respond(exchange)`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
CHUNK = b" " * 65536


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Exchange:
    """One request and the ways to answer it, well or badly."""

    def __init__(self, handler: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        self.handler = handler
        self.method = handler.command
        self.path = handler.path
        self.headers = {k.lower(): v for k, v in handler.headers.items()}
        self.body = handler.rfile.read(int(self.headers.get("content-length") or 0))
        self.stopping = stopping

    def reply(self, status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        h = self.handler
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        if "Content-Length" not in (headers or {}):
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if self.method != "HEAD":
            h.wfile.write(body)

    def reply_json(self, status: int, document: Any, headers: dict[str, str] | None = None) -> None:
        self.reply(status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(document).encode())

    def stream(self, status: int, headers: dict[str, str], chunks: Iterable[bytes]) -> None:
        """Headers, then `chunks` until the client hangs up; the body ends when the connection does."""
        h = self.handler
        h.close_connection = True
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Connection", "close")
        h.end_headers()
        try:
            for chunk in chunks:
                h.wfile.write(chunk)
        except OSError:  # the client stopped reading: what a bounded client does
            pass

    def trickle(self, data: bytes, every: float = 0.05) -> None:
        """Write `data` one byte at a time, until done, the client hangs up or the server stops."""
        self.handler.close_connection = True
        try:
            for i in range(len(data)):
                self.handler.wfile.write(data[i : i + 1])
                self.handler.wfile.flush()
                if self.stopping.wait(every):
                    return
        except OSError:
            pass

    def hang(self) -> None:
        """Answer nothing until the server stops."""
        self.handler.close_connection = True
        self.stopping.wait(120)


def repeat(chunk: bytes, total: int) -> Iterator[bytes]:
    """`total` bytes made of `chunk`, produced lazily."""
    sent = 0
    while sent < total:
        yield chunk[: total - sent]
        sent += len(chunk)


@dataclass
class FakeServer:
    respond: Callable[[Exchange], None]
    seen: list[Seen] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    _httpd: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def hostport(self) -> str:
        return self.base.removeprefix("http://")

    def start(self) -> FakeServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                exchange = Exchange(self, server.stopping)
                server.seen.append(Seen(exchange.method, exchange.path, exchange.headers, exchange.body))
                server.respond(exchange)

            do_GET = do_HEAD = do_POST = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


@contextmanager
def fake_server(respond: Callable[[Exchange], None]) -> Iterator[FakeServer]:
    server = FakeServer(respond).start()
    try:
        yield server
    finally:
        server.stop()
