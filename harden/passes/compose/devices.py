"""devices: a service maps host devices into the container.

What: reports `devices:` entries (short `HOST:CONTAINER[:PERMISSIONS]` or long syntax, on the
service or merged from an anchor) and `device_cgroup_rules:` that allow device access; a rule
that allows every device (`a *:* rwm`) is an error. Reported only: harden never removes a
device, because the service uses it (a GPU, a serial adapter, /dev/net/tun for a VPN).

Why: a device node is a door into the host kernel's drivers. A writable block device gives
the container the host's disk below any file permission; `/dev/mem` or `/dev/kmsg` expose the
kernel (CIS Docker Benchmark v1.6.0 5.18; hadolint, Trivy and Checkov do not read Compose
files, KICS has no Compose query for it).

The safer alternative: map only the device nodes the service uses, one by one, never a
whole `/dev`, with the least permissions (`/dev/ttyUSB0:/dev/ttyUSB0:r` when it only reads;
`rwm` is the default), and prefer a device-specific group (`group_add`) to running as root.

Fix safety: display (no fix).

Example (fixtures/devices/display):

    services:
      zigbee:
        image: example/zigbee
        devices:
          - /dev/ttyUSB0:/dev/ttyUSB0

is reported and left unchanged.
"""

from __future__ import annotations

import re

from harden.compose import ComposeDocument, split_colons
from harden.model import Applicability, Finding, Rule, Severity
from harden.passes import Context
from harden.passes.compose.layers import services, written_here
from harden.passes.compose.reading import as_list

RULE = Rule(
    id="devices",
    title="Host devices are mapped one by one, with the least permissions",
    control="CIS 5.18",
    applicability=Applicability.DISPLAY,
    kinds=("compose",),
)
RATIONALE = (
    "A host device node gives the container direct access to a kernel driver and the hardware behind it, below "
    "the file permissions and namespaces that otherwise confine it."
)

_ALL_DEVICES = re.compile(r"^\s*a\s+\*:\*\s+[rwm]+\s*$")


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings = []
    for service in services(document, context):
        devices = as_list(written_here(service, "devices")) or []
        for index, item in enumerate(devices):
            host, permissions = _device(item)
            if not host:
                continue
            line, column = document.service_position(service, "devices", index)
            access = f"with permissions {permissions}" if permissions else "read, write and mknod (rwm, the default)"
            message = (
                f"maps the host device {host} {access} (CIS 5.18): the container reaches its kernel driver directly. "
                "harden does not remove it; make sure it is the one node the service needs, with the least "
                "permissions (:r when it only reads)"
            )
            findings.append(
                Finding(RULE, message, line, column, Severity.WARNING, RATIONALE, None, service.name, f"device {host}")
            )
        for index, rule_text in enumerate(as_list(written_here(service, "device_cgroup_rules")) or []):
            if not isinstance(rule_text, str):
                continue
            line, column = document.service_position(service, "device_cgroup_rules", index)
            about = f"device_cgroup_rules {rule_text.strip()}"
            if _ALL_DEVICES.match(rule_text):
                message = (
                    f"device_cgroup_rules allows every device ({rule_text.strip()}): any device node the container "
                    "creates or is given is usable, the host's disks included. harden does not remove it; allow "
                    "only the major:minor numbers the service uses"
                )
                findings.append(Finding(RULE, message, line, column, Severity.ERROR, RATIONALE, None, service.name, about))
            else:
                message = (
                    f"device_cgroup_rules allows device access ({rule_text.strip()}); harden does not remove it: "
                    "keep it to the devices the service uses"
                )
                findings.append(Finding(RULE, message, line, column, Severity.INFO, RATIONALE, None, service.name, about))
    return findings


def _device(item: object) -> tuple[str, str]:
    if isinstance(item, dict):
        return str(item.get("source", "") or ""), str(item.get("permissions", "") or "")
    if not isinstance(item, str):
        return "", ""
    parts = split_colons(item.strip())
    permissions = parts[2] if len(parts) > 2 else ""
    return parts[0], permissions
