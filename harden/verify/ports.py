"""Whether a running container accepts connections on the TCP ports its service publishes.

Why: a container can keep running while its server failed (Django's autoreloader stays up when
runserver cannot open its database): running and healthy-without-a-check is not working. Each
published TCP port is tried at the container's own address on its networks, not at the host
port: Docker's userland proxy and rootless port forwarders accept on the host whatever the
container does, which would make every port look open.

What counts: a connection accepted is a port that works; a connection refused (nothing listens)
is tried again until WAIT seconds have passed (a server still starting), then reported; no answer
at all (the host cannot reach container addresses, as with Docker Desktop) says nothing, and the
port is not reported. A server that listens only on 127.0.0.1 inside the container refuses: it
cannot be reached through its published port on Docker either.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from harden import clock

WAIT = 20.0  # seconds a refused port is tried again (a server still starting: most listen within seconds)
POLL = 0.5
CONNECT_TIMEOUT = 1.0


def refused(container: dict[str, Any], until: float) -> tuple[int, ...]:
    """The container ports of `container` (an `inspect` record) that still refused at `until`."""
    settings = container.get("NetworkSettings") or {}
    published = sorted(
        {int(spec.split("/")[0]) for spec, binds in (settings.get("Ports") or {}).items() if binds and spec.endswith("/tcp")}
    )
    addresses = [n.get("IPAddress") for n in (settings.get("Networks") or {}).values() if n.get("IPAddress")]
    if not published or not addresses:
        return ()
    waiting = set(published)
    while True:
        waiting = {port for port in waiting if _refuses(addresses, port)}
        if not waiting or clock.monotonic() >= until:
            return tuple(sorted(waiting))
        time.sleep(POLL)


def _refuses(addresses: list[str], port: int) -> bool:
    """True when every address refused the connection (an address that did not answer says nothing)."""
    answered = False
    for address in addresses:
        try:
            with socket.create_connection((address, port), timeout=CONNECT_TIMEOUT):
                return False
        except ConnectionRefusedError:
            answered = True
        except OSError:
            continue
    return answered
