"""dangerous-capabilities: a service adds a capability that is close to root on the host.

What: reports each `cap_add:` entry (on the service or merged from an anchor) that adds
`SYS_ADMIN`, `SYS_MODULE`, `SYS_PTRACE`, `NET_ADMIN` or `ALL`, written in any of the forms
Docker accepts (`SYS_ADMIN`, `CAP_SYS_ADMIN`, `sys_admin`). Other capabilities, and
`cap_drop:` entries, are not reported. Reported only: removing the capability would break
the service that asked for it (a VPN creates interfaces with NET_ADMIN, a FUSE mount needs
SYS_ADMIN, a profiler attaches with SYS_PTRACE); the message says what to verify. When
harden's image knowledge says the image needs the capability, the message says why.

Why: these capabilities undo most of what the container's isolation gives (CIS Docker
Benchmark v1.6.0 5.4): SYS_ADMIN allows mount, namespace and many device operations and is
the usual way out of a container; SYS_MODULE loads code into the host kernel; SYS_PTRACE
lets a process read and change other processes' memory (with `pid: host`, the host's);
NET_ADMIN reconfigures the network the container sees (interfaces, routes, firewall rules,
sniffing with promiscuous mode); ALL is every one of them (KICS "Added Capabilities";
hadolint, Trivy and Checkov do not read Compose files).

The safer alternative: keep the capability only where the service uses it, and check what
it uses it for: for NET_ADMIN, whether the service really creates interfaces or routes (DHCP,
VPN) or only needed it in an old release; for SYS_MODULE, load the module on the host
(`modprobe wireguard`) and drop it; for SYS_ADMIN, a FUSE device (`devices: [/dev/fuse]`)
often needs only that; for SYS_PTRACE, add it to a debugging override file, not the
production one; never ALL.

Fix safety: display (no fix).

Example (fixtures/dangerous-capabilities/display):

    services:
      vpn:
        image: example/vpn
        cap_add:
          - NET_ADMIN
          - cap_sys_module
          - CHOWN
      web:
        image: example/web
        cap_add: [NET_BIND_SERVICE]
        cap_drop: [ALL]

reports NET_ADMIN and SYS_MODULE of vpn, and nothing of web.
"""

from __future__ import annotations

from harden.compose import ComposeDocument
from harden.model import Applicability, Finding, Rule, Severity
from harden.passes import Context
from harden.passes.compose.images import facts
from harden.passes.compose.layers import services, written_here
from harden.passes.compose.reading import as_list

RULE = Rule(
    id="dangerous-capabilities",
    title="No service adds SYS_ADMIN, SYS_MODULE, SYS_PTRACE, NET_ADMIN or ALL",
    control="CIS 5.4",
    applicability=Applicability.DISPLAY,
    kinds=("compose",),
    peers="KICS Added Capabilities",
)
RATIONALE = (
    "Some capabilities undo the container's isolation: mounting, loading kernel modules, reading other "
    "processes' memory or rewriting the network. A compromised service that holds one reaches beyond its container."
)

# capability -> (severity, what it allows, what to verify)
_DANGEROUS: dict[str, tuple[Severity, str, str]] = {
    "ALL": (
        Severity.ERROR,
        "adds every capability, nearly what privileged: true gives",
        "list the few capabilities the service uses instead",
    ),
    "SYS_ADMIN": (
        Severity.ERROR,
        "allows mount, namespace and many device operations: the usual way out of a container",
        "verify what it mounts; a FUSE mount often needs only devices: [/dev/fuse]",
    ),
    "SYS_MODULE": (
        Severity.ERROR,
        "loads code into the host's kernel",
        "load the module on the host (modprobe) and remove the capability",
    ),
    "SYS_PTRACE": (
        Severity.WARNING,
        "reads and changes other processes' memory (the host's, with pid: host)",
        "keep it for a debugging override file, not production",
    ),
    "NET_ADMIN": (
        Severity.WARNING,
        "reconfigures interfaces, routes and firewall rules, and can sniff traffic",
        "verify that the service creates interfaces or routes (a VPN, a DHCP server); otherwise remove it",
    ),
}


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings = []
    for service in services(document, context):
        image = facts(service)
        for index, item in enumerate(as_list(written_here(service, "cap_add")) or []):
            capability = _name(item)
            if capability not in _DANGEROUS:
                continue
            severity, allows, verify = _DANGEROUS[capability]
            known = image.cap_add.get(capability) if image else None
            if known:
                advice = f"Its image needs it ({known}), so harden leaves it; keep the service's other rights minimal"
            else:
                advice = f"harden does not remove it, which would break the service that asked for it; {verify}"
            message = f"cap_add {str(item).strip()} {allows} (CIS 5.4). {advice}"
            line, column = document.service_position(service, "cap_add", index)
            about = f"cap_add {capability}"
            findings.append(Finding(RULE, message, line, column, severity, RATIONALE, None, service.name, about))
    return findings


def _name(item: object) -> str:
    """The capability's name as Docker reads it: upper-case, without the CAP_ prefix."""
    return str(item).strip().upper().removeprefix("CAP_") if isinstance(item, str) else ""
