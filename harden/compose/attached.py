"""Files a Compose service reads besides its Compose file, as the engine read them (pure data).

The service graph (harden.passes.compose.graph) reads who a service reaches from two kinds of
file that are not the Compose file: its `env_file:` files, and the reverse-proxy configuration
it is given (bind-mounted, or copied by the Dockerfile its `build:` builds, into a proxy's
configuration directory: `PROXY_CONFIG_DIRS`). The engine reads them (harden.engine.attached)
and hands them to the passes in Context.attached, service -> `Attached` files; here is what
they are and which Compose values name them.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

ENV_FILE, PROXY = "env_file", "proxy"
# Where nginx, HAProxy and Caddy read their configuration in their official images.
PROXY_CONFIG_DIRS = ("/etc/nginx", "/usr/local/etc/haproxy", "/etc/haproxy", "/etc/caddy")


@dataclass(frozen=True)
class Attached:
    """One file a service reads: `text`, or None and `problem` says why it could not be read."""

    kind: str  # ENV_FILE | PROXY
    source: str  # the file as harden shows paths
    text: str | None
    problem: str = ""
    target: str = ""  # PROXY: where the container sees it; ENV_FILE: ""
    required: bool = True  # ENV_FILE: `required: false` files may be absent (Compose skips them)


def proxy_config_target(target: str) -> bool:
    """Whether a path in a container is (under) a proxy's configuration directory."""
    path = posixpath.normpath(target) if target else ""
    return any(path == d or path.startswith(d + "/") for d in PROXY_CONFIG_DIRS)


def env_files(value: object) -> list[tuple[str, bool]]:
    """A service's `env_file:` entries as (path as written, required): a string, a list of
    strings, or a list of `{path, required}` mappings (Compose 2.24)."""
    items = value if isinstance(value, list) else [value] if isinstance(value, str) else []
    found: list[tuple[str, bool]] = []
    for item in items:
        if isinstance(item, str):
            found.append((item, True))
        elif isinstance(item, dict) and isinstance(item.get("path"), str):
            required = item.get("required", True)
            found.append((item["path"], required is not False and str(required).lower() != "false"))
    return found
