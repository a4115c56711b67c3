"""The forge seam of `harden pr`: what the bot asks of GitHub, Gitea or Forgejo, and how it fails.

`Forge` is the small interface every forge client implements (harden/bot/github.py,
harden/bot/gitea.py; GitLab could join with merge requests). The run never sees HTTP: it gets
`PullRequest` values back, or a `ForgeError` whose text is one line, safe to print.

The token: it comes from a file (`--token-file`) or the environment only (`load_token`), never
from a command-line value, which `ps` and shell histories show. It is sent in request headers
and nowhere else. An error message is built from the forge's name, the HTTP status and the
forge's own `message` field (and, for a network error, the host and the reason), never from
request headers or URLs; as a last guard, `JsonApi` replaces the token with `[token]` should a
forge ever echo it back. What might break: a forge that reports an error only in HTML (a proxy's
error page) gets the HTTP reason phrase instead of its message.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from harden import __version__, clock

USER_AGENT = f"harden/{__version__}"
TIMEOUT = 30.0  # seconds for each call: a forge that takes longer is treated as unavailable
_MESSAGE_LIMIT = 300  # characters of a forge's message kept in an error: one readable line


@dataclass(frozen=True)
class PullRequest:
    """A pull request as the bot needs it."""

    number: int
    url: str  # the web page (html_url)
    head: str  # branch name, e.g. "harden/hardening"
    base: str  # e.g. "main"
    title: str
    body: str
    draft: bool


class ForgeError(Exception):
    """A forge call failed; str(error) is a one-line message safe to print (never the token).
    `status`: the HTTP status, or None (network error, missing token)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Forge(Protocol):
    """What the bot asks of a forge. Every method raises ForgeError on failure; each call is one
    request or a short read-then-write, so a failure leaves nothing half done on the forge."""

    name: str  # "GitHub", "Gitea"
    body_limit: int  # the most characters a pull-request body may hold

    def git_auth_header(self) -> str: ...  # "Authorization: Basic <b64>" for git's http.extraHeader

    def find_open(self, head: str) -> PullRequest | None: ...  # the open PR from this repository's branch `head`

    def open(self, head: str, base: str, title: str, body: str, draft: bool) -> PullRequest: ...

    def update(self, number: int, title: str, body: str) -> PullRequest: ...

    def close(self, number: int) -> None: ...

    def comment(self, number: int, text: str) -> None: ...

    def label(self, number: int, labels: Sequence[str]) -> None: ...

    def assign(self, number: int, assignees: Sequence[str]) -> None: ...

    def request_review(self, number: int, reviewers: Sequence[str]) -> None: ...


def load_token(environ: Mapping[str, str], token_file: Path | None, names: Sequence[str]) -> str:
    """The forge token: `token_file`'s content (stripped) when given, else the first of the
    environment variables `names` that is set and not blank. Never a command-line value.
    A missing or empty source is a ForgeError naming the variables and --token-file."""
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else "not readable as UTF-8 text"
            raise ForgeError(f"{token_file}: cannot read the token file: {reason}") from None
        if not token:
            raise ForgeError(f"{token_file}: the token file is empty")
        return token
    for name in names:
        token = environ.get(name, "").strip()
        if token:
            return token
    raise ForgeError(f"no forge token: set {_alternatives(names)}, or pass --token-file FILE")


def basic_auth_header(user: str, password: str) -> str:
    """A git `http.extraHeader` value for basic authentication."""
    credential = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Authorization: Basic {credential}"


def token_hint(names: Sequence[str]) -> str:
    """What to do about a refused token that came from `names` or --token-file."""
    return f"set a valid token in {_alternatives(names)}, or pass --token-file FILE"


def _alternatives(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


class JsonApi:
    """One forge's JSON API over httpx: the base URL, the headers (the token among them), and
    every failure turned into a ForgeError. `refused` tells what to do when the forge refuses
    the token (401: `token_hint(...)`); `needs` says which permissions the bot needs (403)."""

    def __init__(
        self,
        forge: str,
        api_url: str,
        headers: Mapping[str, str],
        token: str,
        refused: str,
        needs: str,
        client: httpx.Client | None = None,
    ) -> None:
        self.forge = forge
        self.api_url = api_url.rstrip("/")
        self._headers = {"User-Agent": USER_AGENT, **headers}
        self._token = token
        self._refused = refused
        self._needs = needs
        self._client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=True)

    def __repr__(self) -> str:
        return f"JsonApi({self.forge!r}, {self.api_url!r})"

    def call(self, method: str, path: str, action: str, json: Any = None, params: Mapping[str, str] | None = None) -> Any:
        """The decoded JSON answer of `method path` (None for an empty one). `action` says what the
        call does ("open the pull request"), for the error message."""
        fail = f"{self.forge}: cannot {action}"
        try:
            response = self._client.request(method, self.api_url + path, headers=self._headers, json=json, params=params)
        except httpx.HTTPError as error:
            reason = f"{self.forge} is unreachable at {_origin(self.api_url)} ({_reason(error)})"
            raise self._safe(f"{fail}: {reason}", None) from None
        if not response.is_success:
            raise self._safe(f"{fail}: {self._explain(response)}", response.status_code)
        try:
            return response.json() if response.content else None
        except ValueError:
            raise self._safe(f"{fail}: the answer is not JSON (HTTP {response.status_code})", response.status_code) from None

    def _safe(self, message: str, status: int | None) -> ForgeError:
        if len(self._token) >= 8:  # a shorter "token" would blank out ordinary words
            message = message.replace(self._token, "[token]")
        return ForgeError(message, status)

    def _explain(self, response: httpx.Response) -> str:
        status, said = response.status_code, _message(response)
        if status == 401:
            return f"the token was refused ({status} {said}); {self._refused}"
        if status in (403, 429):
            limit = _rate_limit(response, said)
            if limit:
                return f"{limit}; nothing was changed by this call"
            if status == 403:
                return f"permission denied ({status} {said}); the token needs {self._needs}"
        if status == 404:
            return f"not found ({status} {said}); check the repository's owner and name, and that the token can see it"
        if status in (409, 422):
            return f"the request was rejected ({status} {said}{_details(response)})"
        if status >= 500:
            return f"{self.forge} is unavailable ({status} {said}); nothing was changed by this call, try again later"
        return f"unexpected answer ({status} {said})"


def _rate_limit(response: httpx.Response, said: str) -> str | None:
    """The rate-limit sentence of a 403 or 429, or None when the refusal is something else.
    GitHub: `X-RateLimit-Remaining: 0` with `X-RateLimit-Reset` (epoch seconds) is the primary
    limit; `Retry-After` (seconds), or a message naming the secondary limit, is the secondary one
    (GitHub asks to wait at least a minute when it gives no time)."""
    headers = response.headers
    if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset", "").isdigit():
        reset = dt.datetime.fromtimestamp(int(headers["x-ratelimit-reset"]), dt.UTC)
        minutes = max(0, math.ceil((reset - clock.now()).total_seconds() / 60))
        when = f"{reset:%Y-%m-%d %H:%M} UTC, in {minutes} minute{'' if minutes == 1 else 's'}"
        return f"the API rate limit is used up ({response.status_code} {said}); it resets at {when}"
    kind = "a secondary rate limit" if response.status_code == 403 else "a rate limit"  # GitHub's secondary limits use both
    retry = headers.get("retry-after", "")
    if retry.isdigit():
        return f"{kind} stopped this call ({response.status_code} {said}); retry after {int(retry)} seconds"
    if "secondary rate limit" in said.lower() or response.status_code == 429:
        return f"{kind} stopped this call ({response.status_code} {said}); retry after at least a minute"
    return None


def _message(response: httpx.Response) -> str:
    """The forge's `message` field, on one line and cut short; else the HTTP reason phrase."""
    try:
        body = response.json()
    except ValueError:
        body = None
    said = body.get("message") if isinstance(body, dict) else None
    return _one_line(said) if isinstance(said, str) and said.strip() else response.reason_phrase or "no message"


def _details(response: httpx.Response) -> str:
    """GitHub's `errors[]` of a 422: each error's message, else its code (and field)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return ""
    parts = []
    for error in errors:
        if isinstance(error, dict):
            text = error.get("message") or " ".join(str(error[key]) for key in ("field", "code") if error.get(key))
            parts.append(_one_line(str(text)))
        elif isinstance(error, str):
            parts.append(_one_line(error))
    parts = [part for part in parts if part]
    return ": " + "; ".join(parts) if parts else ""


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MESSAGE_LIMIT else line[: _MESSAGE_LIMIT - 1] + "…"


def _origin(url: str) -> str:
    """The scheme, host and port of `url`, without any user information."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def _reason(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return f"no answer within {TIMEOUT:.0f} seconds"
    return _one_line(str(error)) or type(error).__name__
