"""Registry credentials, authentication challenges and the bearer-token cache.

Credentials come from Docker's own configuration, so `docker login` is all a user does:
`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, read lazily on first use.
For a registry, `credHelpers[host]` wins, then `credsStore`, then `auths[host].auth`
(base64 of `user:password`). A helper is run as `docker-credential-<name> get` with the
server URL on stdin and answers `{"Username": ..., "Secret": ...}` on stdout; the username
`<token>` marks an identity (refresh) token. A helper that does not answer within
`HELPER_TIMEOUT` seconds is killed; the registry is then tried anonymously, and a refusal
says that the helper hung (`CredentialStore.problem`).

Secrets are held in `Credentials`, whose repr hides them, and are never printed, logged or
written; tokens live only in the in-memory `TokenCache`.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harden.clock import monotonic

__all__ = [
    "HELPER_TIMEOUT",
    "Challenge",
    "CredentialHelperError",
    "CredentialStore",
    "Credentials",
    "TokenCache",
    "parse_challenge",
]

DOCKER_HUB_SERVER = "https://index.docker.io/v1/"  # the key `docker login` uses for Docker Hub
_DOCKER_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
HELPER_TIMEOUT = 20.0
_PARAM_RE = re.compile(r'([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')
_SEPARATOR_RE = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Credentials:
    """A username and a secret; `identity_token` marks an OAuth2 refresh token as the secret."""

    username: str
    secret: str = field(repr=False)
    identity_token: bool = False

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, secret=<hidden>)"


@dataclass(frozen=True)
class Challenge:
    """A parsed `WWW-Authenticate` header: scheme (`bearer`/`basic`) and its parameters."""

    scheme: str
    params: Mapping[str, str]

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")


def parse_challenge(header: str) -> Challenge | None:
    """Parse `Bearer realm="...",service="...",scope="..."` (quoted commas allowed).

    The parameters are matched where the previous one ended, and text that is not a
    parameter is skipped up to the next comma or space, so the work is linear in the
    header's length (searching anywhere, a 64 KiB header without `=` took minutes).
    """
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        m = _PARAM_RE.match(rest, pos)
        if m is not None:
            params[m.group(1).lower()] = m.group(2).replace('\\"', '"') if m.group(2) is not None else m.group(3)
            pos = m.end()
            continue
        separator = _SEPARATOR_RE.search(rest, pos)
        if separator is None:
            break
        pos = separator.end()
    return Challenge(scheme.lower(), params)


def server_key(registry: str) -> str:
    """Normalise a config key or registry name to a host[:port] (Docker's ConvertToHostname)."""
    key = registry
    for scheme in ("https://", "http://"):
        if key.startswith(scheme):
            key = key[len(scheme) :]
    key = key.split("/", 1)[0]
    return "docker.io" if key.lower() in _DOCKER_HOSTS else key


HelperRunner = Callable[[str, str], Credentials | None]


class CredentialHelperError(Exception):
    """A credential helper that did not answer in time; the message names it, never a secret."""


def run_credential_helper(helper: str, server_url: str, timeout: float = HELPER_TIMEOUT) -> Credentials | None:
    """Ask `docker-credential-<helper> get` for `server_url`'s credentials; None if it has none.

    Raise `CredentialHelperError` when it does not answer within `timeout` seconds (it is
    killed). The helper's stderr and stdout are never echoed: they could contain the secret.
    """
    try:
        done = subprocess.run(
            [f"docker-credential-{helper}", "get"],
            input=server_url.encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except OSError:
        return None
    except subprocess.TimeoutExpired:
        # `from None`: the exception holds whatever the helper printed, possibly the secret.
        raise CredentialHelperError(f"docker-credential-{helper} did not answer within {timeout:g} s") from None
    if done.returncode != 0:
        return None
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    user, secret = answer.get("Username"), answer.get("Secret")
    if not isinstance(user, str) or not isinstance(secret, str) or not secret:
        return None
    if user == "<token>":
        return Credentials("", secret, identity_token=True)
    return Credentials(user, secret)


class CredentialStore:
    """Credentials per registry from Docker's config file and credential helpers.

    `static` entries (registry -> Credentials) take precedence, for callers and tests that
    already hold credentials. Nothing is read until the first `lookup`.
    """

    def __init__(
        self,
        config_path: Path | None = None,
        *,
        static: Mapping[str, Credentials] | None = None,
        helper_runner: HelperRunner = run_credential_helper,
    ) -> None:
        self._config_path = config_path
        self._static = {server_key(k): v for k, v in (static or {}).items()}
        self._run_helper = helper_runner
        self._config: dict[str, object] | None = None
        self._found: dict[str, Credentials | None] = {}
        self._problems: dict[str, str] = {}
        self._lock = threading.Lock()

    @staticmethod
    def default_config_path() -> Path:
        """`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`."""
        base = os.environ.get("DOCKER_CONFIG")
        return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"

    def lookup(self, registry: str) -> Credentials | None:
        """The credentials for `registry` (host[:port]), or None for anonymous access."""
        key = server_key(registry)
        with self._lock:
            if key not in self._found:
                self._found[key] = self._static.get(key) or self._from_config(key)
            return self._found[key]

    def problem(self, registry: str) -> str | None:
        """Why `lookup` found nothing for `registry` when a credential helper failed (hung)."""
        with self._lock:
            return self._problems.get(server_key(registry))

    def _ask_helper(self, key: str, helper: str, server_url: str) -> Credentials | None:
        try:
            return self._run_helper(helper, server_url)
        except CredentialHelperError as error:
            self._problems[key] = str(error)
            return None

    def _load(self) -> dict[str, object]:
        if self._config is None:
            path = self._config_path or self.default_config_path()
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
            self._config = data if isinstance(data, dict) else {}
        return self._config

    def _from_config(self, key: str) -> Credentials | None:
        config = self._load()
        server_url = DOCKER_HUB_SERVER if key == "docker.io" else key
        helpers = config.get("credHelpers")
        if isinstance(helpers, dict):
            for name, helper in helpers.items():
                if server_key(str(name)) == key and isinstance(helper, str) and helper:
                    return self._ask_helper(key, helper, server_url)
        store = config.get("credsStore")
        if isinstance(store, str) and store:
            found = self._ask_helper(key, store, server_url)
            if found is not None:
                return found
        auths = config.get("auths")
        if isinstance(auths, dict):
            for name, entry in auths.items():
                if server_key(str(name)) == key and isinstance(entry, dict):
                    found = _from_auth_entry(entry)
                    if found is not None:
                        return found
        return None


def _from_auth_entry(entry: Mapping[str, object]) -> Credentials | None:
    """Decode one `auths` entry: `identitytoken`, `auth` (base64 user:pass) or username/password."""
    token = entry.get("identitytoken")
    if isinstance(token, str) and token:
        return Credentials("", token, identity_token=True)
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return Credentials(user, password) if sep and user else None
    name, secret = entry.get("username"), entry.get("password")
    if isinstance(name, str) and isinstance(secret, str) and name:
        return Credentials(name, secret)
    return None


class TokenCache:
    """Bearer tokens per (registry, scope) until shortly before they expire.

    A token is dropped `margin` seconds early (at most a tenth of its life) so that one
    issued for 300 s is not sent in its last moments; a 401 despite that is handled by the
    client, which renews once.
    """

    def __init__(self, clock: Callable[[], float] = monotonic, margin: float = 10.0) -> None:
        self._clock = clock
        self._margin = margin
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, registry: str, scope: str) -> str | None:
        """A live token for (registry, scope), or None."""
        with self._lock:
            entry = self._tokens.get((registry, scope))
            if entry is None or entry[1] <= self._clock():
                return None
            return entry[0]

    def put(self, registry: str, scope: str, token: str, expires_in: float) -> None:
        """Keep `token` for `expires_in` seconds, minus the safety margin."""
        life = max(0.0, expires_in - min(self._margin, expires_in / 10))
        with self._lock:
            self._tokens[(registry, scope)] = (token, self._clock() + life)

    def drop(self, registry: str, scope: str, token: str | None = None) -> None:
        """Forget the token for (registry, scope) (only if it is still `token`, when given)."""
        with self._lock:
            entry = self._tokens.get((registry, scope))
            if entry is not None and (token is None or entry[0] == token):
                del self._tokens[(registry, scope)]
