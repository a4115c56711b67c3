"""host-namespaces: a service shares a namespace with the host.

What: reports `network_mode: host` (CIS Docker Benchmark v1.6.0 5.10), `pid: host` (5.16),
`ipc: host` (5.17), `uts: host` (5.21) and `userns_mode: host` (5.31), set on the service or
merged from an anchor, one finding per key. Reported only: harden never removes them, because
what needed them (a DHCP or mDNS responder, a monitoring agent that reads host processes)
stops working without a replacement.

Why: a namespace is a wall between the container and the host. With the host's network stack
the container can bind any host port and reach every service listening on the host's loopback
(a database on 127.0.0.1, the Docker API on tcp://127.0.0.1:2375), and `ports:` is ignored;
with its process namespace it can see and signal every host process and read their command
lines and environments; with its IPC namespace it can read host shared memory; with its UTS
namespace it can rename the host; `userns_mode: host` turns off the daemon's user-namespace
remapping, so root in the container is root on the host again. (KICS "Shared Host Network
Namespace", "Host Namespace is Shared", "Shared Host IPC Namespace", "Shared Host User
Namespace"; hadolint, Trivy and Checkov do not read Compose files.)

The safer alternatives: a bridge network with only the ports users need published, bound to
an interface (`published-ports`); `pid: "service:other"` or `ipc: "service:other"` to share
with one container instead of the host; `hostname:` instead of `uts: host`; remove
`userns_mode: host`.

Fix safety: display (no fix).

Example (fixtures/host-namespaces/display):

    services:
      agent:
        image: example/agent
        network_mode: host
        pid: host

is reported (two findings) and left unchanged.
"""

from __future__ import annotations

from harden.compose import ComposeDocument
from harden.model import Applicability, Finding, Rule, Severity
from harden.passes import Context
from harden.passes.compose.layers import here, services

RULE = Rule(
    id="host-namespaces",
    title="No service shares the host's network, PID, IPC, UTS or user namespace",
    control="CIS 5.10, 5.16, 5.17, 5.21, 5.31",
    applicability=Applicability.DISPLAY,
    kinds=("compose",),
    peers=("KICS Shared Host Network Namespace, Host Namespace is Shared, Shared Host IPC Namespace, Shared Host User Namespace"),
)
RATIONALE = (
    "Namespaces are what separate a container from the host. Sharing one with the host gives a compromised "
    "service the host's network, processes, shared memory, hostname or user ids."
)

# key -> (control, severity, risk, safer alternative)
_KEYS: dict[str, tuple[str, Severity, str, str]] = {
    "network_mode": (
        "CIS 5.10",
        Severity.WARNING,
        "shares the host's network stack: it can bind any host port and reach every service listening on the "
        "host's loopback (databases, the Docker API), and ports: is ignored",
        "use a bridge network and publish only the ports users need, bound to an interface",
    ),
    "pid": (
        "CIS 5.16",
        Severity.WARNING,
        "shares the host's process namespace: it sees and can signal every host process and read their command "
        "lines and environments (secrets included)",
        'share with one container instead (pid: "service:NAME"), or not at all',
    ),
    "ipc": (
        "CIS 5.17",
        Severity.WARNING,
        "shares the host's IPC namespace: it can read and write the shared memory and message queues of host processes",
        'share with one container instead (ipc: shareable there, ipc: "service:NAME" here), or not at all',
    ),
    "uts": (
        "CIS 5.21",
        Severity.WARNING,
        "shares the host's UTS namespace: with SYS_ADMIN it can change the host's hostname",
        "remove it and set hostname: if the service needs a particular name",
    ),
    "userns_mode": (
        "CIS 5.31",
        Severity.WARNING,
        "opts out of the daemon's user-namespace remapping: root in the container is root on the host again",
        "remove userns_mode: host",
    ),
}


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings = []
    for service in services(document, context):
        for key, (control, severity, risk, instead) in _KEYS.items():
            value = service.get(key)
            if not isinstance(value, str) or value.strip().lower() != "host" or not here(service, key):
                continue
            message = f"{key}: host ({control}) {risk}. harden does not remove it; safer: {instead}"
            line, column = document.service_position(service, key)
            findings.append(Finding(RULE, message, line, column, severity, RATIONALE, None, service.name, key))
    return findings
