"""sensitive-mount: a service bind-mounts a sensitive host directory.

What: reports bind mounts (short or long syntax, on the service or merged from an anchor)
of the host's system directories: `/`, `/boot`, `/dev`, `/etc`, `/lib`, `/lib64`, `/proc`,
`/sys`, `/usr`, `/bin`, `/sbin`, `/root`, `/var/lib/docker` (warning), anything under `/proc`,
`/sys`, `/boot`, `/dev` or `/var/lib/docker` (warning when writable, info when read-only), and
a writable directory under `/etc`, `/usr`, `/lib` or `/root` (info: prefer a named volume). A
read-only file under `/etc` (`/etc/localtime:/etc/localtime:ro`) is fine and not reported. The
Docker socket is `docker-socket`'s concern. Reported only: harden never removes a mount.

Why: a container that can write to the host's `/etc`, `/boot` or `/var/lib/docker` can add a
user, a cron job or a kernel, or rewrite another container's files; reading `/` or `/etc`
exposes `/etc/shadow` and every key on the host (CIS Docker Benchmark v1.6.0 5.6; KICS
"Volume Has Sensitive Host Directory"; hadolint, Trivy and Checkov do not read Compose files).

The safer alternative: a named volume (Docker manages it, nothing else on the host sees it)
for data the service owns; for a host file it only reads, that one file with `:ro`; for
monitoring agents that must read `/proc` or `/sys`, read-only mounts of exactly those.

Fix safety: display (no fix).

Example (fixtures/sensitive-mount/display):

    services:
      backup:
        image: example/backup
        volumes:
          - /etc:/host/etc
          - /etc/localtime:/etc/localtime:ro

reports the first mount (not the second) and leaves the file unchanged.
"""

from __future__ import annotations

from harden.compose import ComposeDocument
from harden.model import Applicability, Finding, Rule, Severity
from harden.passes import Context
from harden.passes.compose.layers import services
from harden.passes.compose.reading import mounts, normalise_path

RULE = Rule(
    id="sensitive-mount",
    title="No service mounts a sensitive host directory",
    control="CIS 5.6",
    applicability=Applicability.DISPLAY,
    kinds=("compose",),
    peers="KICS Volume Has Sensitive Host Directory",
)
RATIONALE = (
    "A container that can read the host's system directories sees its secrets; one that can write them can "
    "change what the host runs. Either way a compromised service reaches beyond its container."
)

_SENSITIVE = frozenset(
    {"/", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/sys", "/usr", "/bin", "/sbin", "/root", "/var/lib/docker"}
)
_SENSITIVE_TREES = ("/proc", "/sys", "/boot", "/dev", "/var/lib/docker")
_SYSTEM_TREES = ("/etc", "/usr", "/lib", "/root")
_SOCKET_DIRECTORIES = frozenset({"/run", "/var/run"})


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings = []
    for service in services(document, context):
        for mount in mounts(service, here=True):
            if mount.kind != "bind" or not mount.source.startswith("/"):
                continue
            source = normalise_path(mount.source)
            access = "read-only" if mount.read_only else "writable"
            if source in _SENSITIVE:
                severity = Severity.WARNING
                risk = f"mounts the host's {source} ({access}): " + (
                    "it reads what the host keeps there (keys, password hashes, other processes' details)"
                    if mount.read_only
                    else "it can change what the host runs"
                )
            elif _under(source, _SENSITIVE_TREES):
                severity = Severity.INFO if mount.read_only else Severity.WARNING
                risk = f"mounts {mount.source} from a host system tree ({access})"
            elif _under(source, _SYSTEM_TREES) and not mount.read_only:
                severity = Severity.INFO
                risk = f"mounts {mount.source} from a host system directory, writable"
            else:
                continue
            message = (
                f"{risk} (CIS 5.6). harden does not remove it; safer: a named volume for data the service owns, "
                "or only the file it reads, mounted :ro"
            )
            line, column = document.service_position(service, "volumes", mount.index)
            findings.append(Finding(RULE, message, line, column, severity, RATIONALE, None, service.name, mount.target))
    return findings


def _under(path: str, trees: tuple[str, ...]) -> bool:
    return any(path.startswith(tree + "/") for tree in trees)
