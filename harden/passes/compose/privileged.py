"""privileged: a service runs with `privileged: true`.

What: reports every service whose effective `privileged:` is true (set on the service or merged
from an anchor). Reported only: harden never removes it, because whatever needed it (a VPN that
creates interfaces, Docker-in-Docker, a hardware agent) stops working without a replacement.

Why: a privileged container gets every capability, every host device, and no seccomp or
AppArmor confinement; root inside it can mount the host's disks and load kernel modules, so it
is root on the host (CIS Docker Benchmark v1.6.0 5.5; KICS "Privileged Containers Enabled";
hadolint, Trivy and Checkov do not read Compose files).

The safer alternative: remove `privileged: true` and grant exactly what the service uses: the
capabilities (`cap_add: [NET_ADMIN]` for a VPN or DHCP server, `SYS_ADMIN` only for FUSE
mounts), the device nodes (`devices: [/dev/net/tun]`), and, if it must, a seccomp profile
that allows one extra system call. `cap-drop-all` does not touch a privileged service.

Fix safety: display (no fix).

Example (fixtures/privileged/display):

    services:
      vpn:
        image: example/vpn
        privileged: true

is reported and left unchanged:

    compose.yaml:4:5: privileged vpn: privileged: true gives the container every capability ...
"""

from __future__ import annotations

from harden.compose import ComposeDocument
from harden.model import Applicability, Finding, Rule, Severity
from harden.passes import Context
from harden.passes.compose.images import facts
from harden.passes.compose.layers import here, services
from harden.passes.compose.reading import truthy

RULE = Rule(
    id="privileged",
    title="No service runs privileged",
    control="CIS 5.5",
    applicability=Applicability.DISPLAY,
    kinds=("compose",),
    peers="KICS Privileged Containers Enabled",
)
RATIONALE = (
    "A privileged container has every capability and every host device, without seccomp or AppArmor: root in it "
    "can mount the host's disks or load kernel modules, so a compromise of the service is a compromise of the host."
)


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings = []
    for service in services(document, context):
        if not truthy(service.get("privileged")) or not here(service, "privileged"):
            continue
        image = facts(service)
        needs = ", ".join(sorted(image.cap_add)) if image and image.cap_add else ""
        instead = f"cap_add: [{needs}] (what its image needs)" if needs else "cap_add: with the one capability it uses"
        message = (
            "privileged: true gives the container every capability and host device and turns off seccomp and "
            "AppArmor: root in it is root on the host. harden does not remove it; replace it with "
            f"{instead} and devices: for the device nodes it uses (e.g. /dev/net/tun for a VPN)"
        )
        line, column = document.service_position(service, "privileged")
        findings.append(Finding(RULE, message, line, column, Severity.ERROR, RATIONALE, None, service.name))
    return findings
