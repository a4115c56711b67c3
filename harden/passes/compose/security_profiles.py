"""security-profiles: a service turns off seccomp, AppArmor or SELinux confinement.

What: reports each `security_opt:` entry (on the service or merged from an anchor) that
disables a Linux security module: `seccomp:unconfined` or `seccomp=unconfined` (CIS Docker
Benchmark v1.6.0 5.22), `apparmor:unconfined` or `apparmor=unconfined` (5.2), and
`label:disable` or `label=disable` (5.3, SELinux). Both separators are read, as Docker reads
them; other spellings (`SECCOMP=unconfined`) are refused by Docker and not reported. A custom
profile (`seccomp=./profile.json`, `apparmor=my-profile`) and `label=type:...` keep
confinement and are not reported. Reported only: harden never removes an option that the
service may need (a debugger's ptrace, a sandbox that makes its own namespaces, a container
that reads host files labelled for another domain).

Why: the default seccomp profile blocks about 44 system calls that containers do not need and
that kernel exploits use (`keyctl`, `bpf`, `userfaultfd`, `mount`); the default AppArmor and
SELinux policies stop a process that escapes its namespaces from writing `/proc` and `/sys`
files or the host's files. With them off, one kernel bug or one mistake in capabilities is
enough to reach the host (KICS "Seccomp Profile Is Disabled"; hadolint, Trivy and Checkov do
not read Compose files).

The safer alternative: remove the option; if the service really needs one more system call,
copy Docker's default profile (moby's `profiles/seccomp/default.json`), allow that call, and
use `security_opt: ["seccomp=./seccomp.json"]`; for AppArmor load a profile of your own
(`apparmor=NAME`); for SELinux relabel the volume (`:z`/`:Z`) instead of disabling labels.

Fix safety: display (no fix).

Example (fixtures/security-profiles/display):

    services:
      debugger:
        image: example/debugger
        security_opt:
          - seccomp:unconfined
          - apparmor=unconfined
          - label:disable
          - no-new-privileges:true
      custom:
        image: example/app
        security_opt:
          - seccomp=./seccomp.json
          - label=type:container_runtime_t

reports the first three options of debugger and nothing of custom.
"""

from __future__ import annotations

from harden.compose import ComposeDocument
from harden.model import Applicability, Finding, Rule, Severity
from harden.passes import Context
from harden.passes.compose.layers import services, written_here
from harden.passes.compose.reading import as_list

RULE = Rule(
    id="security-profiles",
    title="No service turns off seccomp, AppArmor or SELinux",
    control="CIS 5.22, 5.2, 5.3",
    applicability=Applicability.DISPLAY,
    kinds=("compose",),
    peers="KICS Seccomp Profile Is Disabled",
)
RATIONALE = (
    "seccomp, AppArmor and SELinux confine what a process can ask of the kernel and which host files it can "
    "touch even after it escapes its namespaces; with one of them off, a single kernel bug reaches the host."
)

# (module, the value that turns it off) -> (control, what is lost)
_DISABLED: dict[tuple[str, str], tuple[str, str]] = {
    ("seccomp", "unconfined"): (
        "CIS 5.22",
        "turns off the default seccomp profile: every system call is allowed, keyctl, bpf and mount "
        "included, which kernel exploits use",
    ),
    ("apparmor", "unconfined"): (
        "CIS 5.2",
        "turns off the AppArmor profile (docker-default): nothing stops writes to /proc and /sys files or mounts",
    ),
    ("label", "disable"): (
        "CIS 5.3",
        "turns off SELinux separation: an escaped process is no longer kept from the host's and other containers' files",
    ),
}
_INSTEAD = {
    "seccomp": "use a profile that allows only the extra system call it needs (seccomp=./seccomp.json, from Docker's default)",
    "apparmor": "load an AppArmor profile of its own (apparmor=NAME)",
    "label": "relabel the volumes it uses (:z or :Z)",
}


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings = []
    for service in services(document, context):
        for index, item in enumerate(as_list(written_here(service, "security_opt")) or []):
            module = _disabled(item)
            if module is None:
                continue
            control, lost = _DISABLED[module]
            message = (
                f"security_opt {str(item).strip()} {lost} ({control}). harden does not remove it; remove it, or if the "
                f"service needs something the default forbids, {_INSTEAD[module[0]]}"
            )
            line, column = document.service_position(service, "security_opt", index)
            findings.append(
                Finding(RULE, message, line, column, Severity.WARNING, RATIONALE, None, service.name, f"security_opt {module[0]}")
            )
    return findings


def _disabled(item: object) -> tuple[str, str] | None:
    """(module, value) when the entry turns a security module off (Docker reads `:` or `=`)."""
    if not isinstance(item, str):
        return None
    text = item.strip()
    separator = min((i for i in (text.find("="), text.find(":")) if i >= 0), default=-1)
    if separator < 0:
        return None
    key = (text[:separator], text[separator + 1 :])
    return key if key in _DISABLED else None
