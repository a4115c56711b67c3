"""resource-limits: services limit their processes, and their memory and CPU are reported.

What: for each service without a PIDs limit (`pids_limit:` or `deploy.resources.limits.pids`,
own or merged), add `pids_limit: 1024` (the `pids` option changes the number);
when services merge an anchor, it goes into the anchored mapping once. A service that has a
`deploy.resources.limits` mapping gets `pids: 1024` in that mapping instead: Docker Compose
refuses `pids_limit` beside it unless `pids` there is equal ("can't set distinct values on
'pids_limit' and 'deploy.resources.limits.pids'"; a limits mapping without `pids` means 0), and
the Compose Specification allows `pids` there (an integer or a string). That mapping is edited
in the file and service that write it; one that comes from an anchor or an alias, which other
places share, is reported, not edited. A service that extends another (`extends:`) inherits
the limit harden adds there; one that extends a service of a file harden does not read is
reported, not changed (that file may set `deploy.resources.limits`).

A service without a memory limit (`mem_limit:` or `deploy.resources.limits.memory`) or a CPU
limit (`cpus:`, `cpu_quota:` or `deploy.resources.limits.cpus`) is reported, not fixed: a right
value depends on the workload and the host, and a wrong one kills the service (OOM) or slows it
down. A PIDs limit of 0 or -1 (unlimited) written by the user is reported.

The default, 1024: the limit counts threads as well as processes (each is a task in the pids
cgroup). The busiest common defaults stay well below it: Apache httpd's event MPM (up to 400
worker threads), PostgreSQL's 100 connections plus background workers, MySQL's 151 connection
threads plus its own, a Tomcat JVM (200 request threads plus GC and compiler threads). A fork
bomb still stops after 1024 tasks instead of exhausting the host's PID space, which would stop
every other container and the host's own services from starting processes.

Why: without limits one compromised or runaway service can starve the host and every other
container of processes (CIS Docker Benchmark v1.6.0 5.29), memory (5.11) or CPU (5.12) (KICS
"Pids Limit Not Set", "Memory Not Limited", "Cpus Not Limited"; hadolint, Trivy and Checkov do
not read Compose files).

What might break (fix safety: review): a service that runs more than 1024 threads and processes
(a large JVM with big thread pools, a pre-forking server tuned above 1024 workers, a build
runner) fails to create more with "Resource temporarily unavailable"; raise its limit.

Example (fixtures/resource-limits/pids):

    services:
      api:
        image: example/api:2
        mem_limit: 512m
        cpus: 1.5

becomes

    services:
      api:
        image: example/api:2
        mem_limit: 512m
        cpus: 1.5
        pids_limit: 1024

and (fixtures/resource-limits/deploy-limits-without-pids) a service with
`deploy.resources.limits` (`memory: 1.5G`) gets `pids: 1024` there, next to `memory`.
"""

from __future__ import annotations

from typing import Any

from harden.compose import ComposeDocument, Service, own
from harden.model import Applicability, Caveat, Evidence, EvidenceKind, Finding, Fix, Rule, Severity
from harden.passes import Context
from harden.passes.compose.inherit import inherited_additions
from harden.passes.compose.layers import deploy_limits, here, limits_here, services, set_in, unseen
from harden.passes.compose.placement import Unit, in_anchor, per_service, plan_findings, route
from harden.passes.compose.wants import Want
from harden.passes.options import Option

RULE = Rule(
    id="resource-limits",
    title="Services limit their PIDs; memory and CPU limits are reported",
    control="CIS 5.29, 5.11, 5.12",
    applicability=Applicability.REVIEW,
    kinds=("compose",),
    peers="KICS Pids Limit Not Set, Memory Not Limited, Cpus Not Limited",
)
RATIONALE = (
    "Without limits a compromised or runaway service can exhaust the host's processes, memory or CPU, and with "
    "them every other container on the host."
)
OPTIONS = (
    Option(
        "pids",
        1024,
        "the PIDs limit harden adds (pids_limit, or pids in deploy.resources.limits)",
        valid=lambda limit: limit >= 1,
        expects="at least 1",
    ),
)


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings: list[Finding] = []
    limit: int = context.options["pids"]
    wants: dict[str, list[Want]] = {}
    for service in services(document, context):
        limits = _limits(service)
        pids = service.get("pids_limit")
        if pids is None:
            pids = limits.get("pids")
        if pids is None and deploy_limits(service.get("deploy")) is not None:
            findings.extend(_pids_in_limits(document, service, limit, context))
        elif pids is None:
            service_wants = route(service, [Want("pids_limit", limit)])[0]
            if service_wants:
                wants[service.name] = service_wants
        elif _number(pids) is not None and (_number(pids) or 0) <= 0:
            key = "pids_limit" if service.get("pids_limit") is not None else "deploy"
            if here(service, key):
                line, column = document.service_position(service, key)
                message = (
                    f"PIDs are unlimited ({pids}){set_in(service, key)} (CIS 5.29); harden leaves a limit you set: a fork "
                    "bomb can exhaust the host"
                )
                findings.append(_finding(line, column, Severity.WARNING, message, service.name))
        missing = []
        if service.get("mem_limit") is None and limits.get("memory") is None:
            missing.append("memory (mem_limit, CIS 5.11)")
        if service.get("cpus") is None and service.get("cpu_quota") is None and limits.get("cpus") is None:
            missing.append("CPU (cpus, CIS 5.12)")
        if missing and here(service):
            severity = Severity.WARNING if service.get("mem_limit") is None and limits.get("memory") is None else Severity.INFO
            message = (
                f"no {' or '.join(missing)} limit: one runaway container can starve the host and the others; harden "
                "sets none (the right value depends on the workload): measure it (docker stats) and set a limit "
                "with headroom"
            )
            findings.append(_finding(service.line, service.column, severity, message, service.name, about="memory, cpus"))
    text = f"pids_limit {limit}: more than {limit} processes and threads fail with 'Resource temporarily unavailable'"

    def describe(unit: Unit, names: list[str]) -> tuple[str, tuple[Caveat, ...]]:
        message = f"no PIDs limit (CIS 5.29): harden adds pids_limit: {limit}{in_anchor(unit)}"
        return message, per_service(dict.fromkeys(names, text), names)

    blocked = "no PIDs limit (CIS 5.29), and harden cannot add one here"
    low_risk = {name: (_low_risk(limit),) for name in wants}
    findings.extend(plan_findings(RULE, RATIONALE, document, wants, context, describe, blocked, evidence=low_risk))
    findings.sort(key=lambda f: (f.line, f.column))
    return findings


def _finding(
    line: int, column: int, severity: Severity, message: str, subject: str, fix: Fix | None = None, about: str = ""
) -> Finding:
    return Finding(RULE, message, line, column, severity, RATIONALE, fix, subject, about)


def _limits(service: Service) -> dict[str, Any]:
    limits = deploy_limits(service.get("deploy"))
    return limits if limits is not None else {}


def _pids_in_limits(document: ComposeDocument, service: Service, limit: int, context: Context) -> list[Finding]:
    """Compose refuses `pids_limit` beside a `deploy.resources.limits` mapping that has no
    equal `pids` (compose-go loader/validate.go: "can't set distinct values"), so the limit goes
    into that mapping, in the file that writes it (a base service it extends: there)."""
    inherited = [deploy_limits(value) or {} for value in inherited_additions(RULE, service, context).get("deploy", [])]
    if not limits_here(service) or any("pids" in limits for limits in inherited):
        return []  # another file writes the mapping, or a service this one extends gets pids
    if unseen(service):
        line, column = document.service_position(service, "deploy")
        message = f"no PIDs limit (CIS 5.29), and harden cannot add one here: {unseen(service)}"
        return [_finding(line, column, Severity.WARNING, message, service.name)]
    text = f"pids {limit}: more than {limit} processes and threads fail with 'Resource temporarily unavailable'"
    node, shared = limits_node(document, service)
    line, column = document.service_position(service, "deploy")
    if node is None:
        message = (
            f"no PIDs limit (CIS 5.29), and harden does not add one: deploy.resources.limits {shared}, and Compose "
            f"refuses pids_limit beside it: add pids: {limit} to it"
        )
        return [_finding(line, column, Severity.WARNING, message, service.name)]
    message = (
        f"no PIDs limit (CIS 5.29): harden adds pids: {limit} to deploy.resources.limits (Compose refuses pids_limit "
        "beside deploy.resources.limits)"
    )
    claims = (("services", service.name, "deploy"),)
    caveats = (Caveat(service.name, text),)
    fix = Fix(Applicability.REVIEW, claims, lambda: document.add_key(node, "pids", limit), caveats, evidence=(_low_risk(limit),))
    return [_finding(line, column, Severity.WARNING, message, service.name, fix)]


def _low_risk(limit: int) -> Evidence:
    """A PIDs limit needs no evidence about the image: only a fork bomb, or a server with
    thousands of threads, reaches it (the `pids` option raises it)."""
    return Evidence(EvidenceKind.LOW_RISK, "", f"{limit} processes and threads: far above a service's usual count")


def limits_node(document: ComposeDocument, service: Service) -> tuple[Any, str]:
    """(the `deploy.resources.limits` mapping written on the service in this file, or None and
    why not: it comes from an anchor or an alias, which other places share)."""
    node: Any = service.node
    for key in ("deploy", "resources", "limits"):
        if not own(node, key):
            anchor = service.merged_from(key) if node is service.node else None
            return None, f"comes from anchor &{anchor}" if anchor else "comes from a merged mapping"
        if document.is_alias(node, key):
            return None, f"is an alias ({key}: *...), shared with the other places that use it"
        node = node[key]
    return node, ""


def _number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None
