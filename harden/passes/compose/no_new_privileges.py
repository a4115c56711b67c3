"""no-new-privileges: processes in a service cannot gain privileges through setuid binaries.

What: for each service whose `security_opt:` (own or merged) does not contain
`no-new-privileges` (`no-new-privileges:true`, `=true` or bare), add
`security_opt: [no-new-privileges:true]`, or append it to the `security_opt` list the user
wrote (their seccomp, AppArmor or SELinux options stay). When services merge an anchor and all
need it, it goes into the anchored mapping once. A service that extends another (`extends:`)
inherits that one's `security_opt`, which Compose appends to its own and refuses to repeat
("security_opt items at 0 and 1 are equal"): the option goes on the service it extends, once,
and on the extending service only when the other does not get it; a service that extends one
of a file harden does not read is reported, not changed.

Not fixed, only reported: an image whose entrypoint needs setuid binaries (image knowledge
`setuid_needed`: it calls `sudo` or `su`, or a setuid helper), and `no-new-privileges:false`
written by the user.

Why: with the flag set, the kernel ignores the setuid and setgid bits and file capabilities on
`execve`, so a compromised process running as an unprivileged user cannot become root through
a setuid binary left in the image (CIS Docker Benchmark v1.6.0 5.26; KICS "No New Privileges
Not Set"; hadolint, Trivy and Checkov do not read Compose files).

What might break (fix safety: review): a process that runs `sudo`, `su`, `newgrp`, or a setuid
`ping` on an old image, as a non-root user, keeps its own privileges instead of gaining the
binary's. Entrypoints that start as root and step down (gosu, su-exec, setpriv) are not
affected: they drop privileges, they do not gain them.

Example (fixtures/no-new-privileges/merge-existing):

    services:
      app:
        image: example/app:1.4
        security_opt:
          - apparmor:docker-default

becomes

    services:
      app:
        image: example/app:1.4
        security_opt:
          - apparmor:docker-default
          - no-new-privileges:true
"""

from __future__ import annotations

import re

from harden.compose import ComposeDocument, Service
from harden.model import Applicability, Caveat, Evidence, EvidenceKind, Finding, Fix, Rule, Severity
from harden.passes import Context
from harden.passes.compose import startup
from harden.passes.compose.images import facts, knowledge_evidence
from harden.passes.compose.layers import here, services, set_in
from harden.passes.compose.placement import Unit, in_anchor, per_service, plan_findings
from harden.passes.compose.reading import as_list
from harden.passes.compose.wants import Want

RULE = Rule(
    id="no-new-privileges",
    title="Services run with no-new-privileges",
    control="CIS 5.26",
    applicability=Applicability.REVIEW,
    kinds=("compose",),
    peers="KICS No New Privileges Not Set",
)
RATIONALE = (
    "no-new-privileges makes the kernel ignore setuid bits and file capabilities: a compromised process cannot "
    "become root through a setuid binary in the image."
)
OPTION = "no-new-privileges:true"
NO_GAIN = "no-new-privileges: a setuid binary (sudo, su) run by a non-root user no longer gains privileges"
# Low risk without knowledge: only a process that runs a setuid binary to gain privileges (sudo,
# su from a non-root user) notices the option, and entrypoints step down from root without one.
NO_SETUID_KNOWN = Evidence(EvidenceKind.LOW_RISK, "", "no setuid use known")
_SET = re.compile(r"^no-new-privileges(?:[:=](.*))?$")


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings: list[Finding] = []
    wants: dict[str, list[Want]] = {}
    evidence: dict[str, tuple[Evidence, ...]] = {}
    for service in services(document, context):
        if not here(service, "security_opt"):
            continue  # another file of the project sets it (or, unset, defines the service first)
        value = service.get("security_opt")
        options = as_list(value)
        if value is not None and options is None:
            line, column = document.service_position(service, "security_opt")
            message = f"security_opt is not a list{set_in(service, 'security_opt')}; harden leaves it alone"
            findings.append(_finding(line, column, Severity.INFO, message, service.name))
            continue
        setting = next((m for m in (_SET.match(str(o).strip()) for o in options or []) if m), None)
        if setting is not None:
            if (setting.group(1) or "true").strip().lower() == "false":
                line, column = document.service_position(service, "security_opt")
                message = (
                    f"no-new-privileges:false is set explicitly{set_in(service, 'security_opt')}; harden leaves it "
                    "(a choice you made)"
                )
                findings.append(_finding(line, column, Severity.INFO, message, service.name))
            continue
        image = facts(service)
        setuid = startup.of(service, context).setuid if service.has_build or _overridden(service) else ()
        if setuid:
            message = (
                f"no-new-privileges is not set, and harden does not add it: the service runs a setuid binary at start-up "
                f"({setuid[0]}), which the option disables"
            )
            findings.append(_finding(service.line, service.column, Severity.INFO, message, service.name))
            continue
        if image is not None and image.setuid_needed:
            message = (
                f"no-new-privileges is not set, and harden does not add it: {image.name}'s entrypoint needs setuid "
                "binaries, which the option disables"
            )
            findings.append(_finding(service.line, service.column, Severity.INFO, message, service.name))
            continue
        wants[service.name] = [Want("security_opt", [OPTION], extend=options is not None)]
        evidence[service.name] = (knowledge_evidence(image, "no setuid use") if image else NO_SETUID_KNOWN,)

    def describe(unit: Unit, names: list[str]) -> tuple[str, tuple[Caveat, ...]]:
        extended = [n for n in names if document.services[n].get("security_opt") is not None]
        kept = f" (added to the existing security_opt of {', '.join(extended)})" if extended else ""
        message = f"no-new-privileges is not set: harden adds security_opt {OPTION}{in_anchor(unit)}{kept}"
        return message, per_service(dict.fromkeys(names, NO_GAIN), names)

    blocked = "no-new-privileges is not set, and harden cannot add it here"
    findings.extend(plan_findings(RULE, RATIONALE, document, wants, context, describe, blocked, evidence=evidence))
    findings.sort(key=lambda f: (f.line, f.column))
    return findings


def _overridden(service: Service) -> bool:
    return service.get("entrypoint") is not None or service.get("command") is not None


def _finding(line: int, column: int, severity: Severity, message: str, subject: str, fix: Fix | None = None) -> Finding:
    return Finding(RULE, message, line, column, severity, RATIONALE, fix, subject)
