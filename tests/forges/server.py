"""What the fake forges share: a threading HTTP server on 127.0.0.1 that hands each request to the
fake's `handle`, records it, and can be told to fail the next calls."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, Any, dict[str, str]]  # status, JSON body, extra headers


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # without the query and without the API's base path (/api/v3, /api/v1)
    query: dict[str, list[str]]
    body: Any  # the decoded JSON body, or None
    headers: dict[str, str]  # lower-case names


@dataclass
class Failure:
    status: int
    message: str
    headers: dict[str, str]
    errors: list[dict[str, Any]] | None
    method: str | None
    path: str | None  # a regular expression searched in the request's path
    times: int


class FakeServer:
    """The server half of a fake forge: `requests` (every request), `errors` (contract violations
    the fixture fails the test on), `fail_next()`. Subclasses answer in `handle`."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.errors: list[str] = []
        self.failures: list[Failure] = []
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Any:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Answer:
        raise NotImplementedError

    def decode(self, method: str, target: str, raw: bytes) -> tuple[str, dict[str, list[str]], Any]:
        """The request's path, query and JSON body (None, and a contract error, when it is not JSON)."""
        split = urlsplit(target)
        query = parse_qs(split.query, keep_blank_values=True)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
            self.errors.append(f"{method} {split.path}: the body is not JSON")
        return split.path, query, body

    def fail_next(
        self,
        status: int,
        message: str = "failure",
        headers: dict[str, str] | None = None,
        errors: list[dict[str, Any]] | None = None,
        method: str | None = None,
        path: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` requests (of `method`, whose path matches `path`) with `status`,
        the forge's error body with `message` (and `errors`), and `headers`."""
        self.failures.append(Failure(status, message, headers or {}, errors, method, path, times))

    def take_failure(self, method: str, path: str) -> Failure | None:
        """The first injected failure that matches this request, counted down (and forgotten when used up)."""
        for failure in self.failures:
            if failure.method in (None, method) and (failure.path is None or re.search(failure.path, path)):
                failure.times -= 1
                if failure.times <= 0:
                    self.failures.remove(failure)
                return failure
        return None

    def writes(self) -> list[Recorded]:
        """The requests that could change something (every method but GET)."""
        return [request for request in self.requests if request.method != "GET"]


def route_pattern(template: str) -> re.Pattern[str]:
    """A path template (`/repos/{owner}/{repo}/pulls`) as a regular expression with named groups."""
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")


def _handler_for(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, answer, extra = fake.handle(self.command, self.path, headers, raw)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the tests read `requests`, not a log on stderr

    return Handler
