"""What `harden verify` found: per service, the original run against the hardened run.

What: `compare()` turns the two runs of a project into one `Outcome` per service, with its
verdict: `works` (it worked in the original and works hardened), `broke` (it worked in the
original, not hardened: harden's fixes broke it) or `already broken` (it did not work in the
original: reported as such, never blamed on harden, whatever the hardened run did). A service
works when it is running (or exited 0, a completed job), with a health check healthy, and
accepts connections on the TCP ports it publishes (harden.verify.ports), both after its first
start and after a restart. `text()` and `as_json()` render a project's report.

Why log lines: a break is only useful with its cause. The lines shown are those that name the
usual causes of a hardening break (`Operation not permitted`: a dropped capability;
`Read-only file system`: read_only without a tmpfs; `Permission denied`: a user or a mount
mode), else the last lines of the log.

What might break: a service that only one of the two runs created (a Compose file the hardened
copy made invalid) is `not created` in the other; the services are the union of both runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harden.model import Finding
from harden.verified import Record, key, render
from harden.verify.run import StackRun, State

WHY = re.compile(r"operation not permitted|read-only file system|permission denied", re.IGNORECASE)
SHOWN_LINES = 5
MISSING = State("not created")


@dataclass
class Outcome:
    service: str
    original: tuple[State, State]  # after the first start, after the restart
    hardened: tuple[State, State]
    applied: list[str] = field(default_factory=list)  # ids of the fixes applied to this service
    culprits: tuple[str, ...] = ()  # ids of the fixes that break it (harden.verify.blame)
    broken_by: tuple[str, ...] = ()  # their rules
    repair: str = ""  # the narrowest repair that made it work, in words
    record: Record | None = None  # the verified record that repair amounts to, to commit in .harden/verified.toml

    def rendered_record(self) -> str:
        return render({key(self.record.reference): self.record}) if self.record else ""

    @property
    def verdict(self) -> str:
        if not all(state.works for state in self.original):
            return "already broken"
        return "works" if all(state.works for state in self.hardened) else "broke"

    def why(self) -> list[str]:
        """The log lines that show why the service does not work (hardened; original if already broken)."""
        states = self.original if self.verdict == "already broken" else self.hardened
        # both starts: the engine's log of a container that exited at once is sometimes still
        # incomplete when read the first time (a partial line, an empty one)
        logs = list(dict.fromkeys(line for state in states for line in state.logs if line.strip()))
        matching = [line for line in logs if WHY.search(line)]
        return (matching or logs)[-SHOWN_LINES:]


@dataclass
class ProjectReport:
    project: str  # as the user named it
    engine: str  # "podman 4.3.1"
    outcomes: list[Outcome]
    applied: list[Finding]
    errors: list[str]  # "original: <what `up` printed>", when it failed
    original: StackRun | None = None  # the original's run, for another verification of the same project

    @property
    def broke(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.verdict == "broke"]


def compare(
    original: StackRun, hardened: StackRun, applied: list[Finding], dockerfiles: Mapping[str, Path] | None = None
) -> list[Outcome]:
    """One Outcome per service; a service's fixes are those about it and those of the Dockerfile
    it builds from (`dockerfiles`: service -> that file, resolved)."""
    services = sorted({*original.first, *original.restart, *hardened.first, *hardened.restart})
    built = dockerfiles or {}
    outcomes = []
    for service in services:
        ids = [f.id for f in applied if service in f.subject.split(", ") or _built_by(f, built.get(service))]
        outcomes.append(
            Outcome(
                service,
                (original.first.get(service, MISSING), original.restart.get(service, MISSING)),
                (hardened.first.get(service, MISSING), hardened.restart.get(service, MISSING)),
                ids,
            )
        )
    return outcomes


def _built_by(finding: Finding, dockerfile: Path | None) -> bool:
    return dockerfile is not None and Path(finding.path).resolve() == dockerfile


def _run(states: tuple[State, State]) -> str:
    def one(state: State) -> str:
        health = {None: "", True: ", healthy", False: ", unhealthy"}[state.healthy]
        refused = f", port {', '.join(map(str, state.refused))} refused" if state.refused else ""
        return f"{'started' if state.status == 'running' else state.status}{health}{refused}"

    return f"{one(states[0])}; after a restart {one(states[1])}"


def text(report: ProjectReport) -> str:
    lines = [f"harden verify {report.project} ({report.engine}): {len(report.outcomes)} services"]
    for error in report.errors:
        which, _, said = error.partition(": ")
        lines.append(f"  {which}: compose up failed:")
        lines += [f"         | {line.strip()}" for line in said.splitlines()[-SHOWN_LINES:]]
    for outcome in report.outcomes:
        label = {"works": "ok", "broke": "BROKE", "already broken": "broken"}[outcome.verdict]
        lines.append(f"  {label:6} {outcome.service}: original {_run(outcome.original)}; hardened {_run(outcome.hardened)}")
        if outcome.verdict == "already broken":
            lines.append("         did not work in the original: not blamed on harden")
        if outcome.verdict != "works":
            lines += [f"         | {line}" for line in outcome.why()]
        if outcome.verdict == "broke":
            rules = sorted({f.rule.id for f in report.applied if f.id in outcome.applied})
            lines.append(f"         fixes applied to it: {', '.join(rules) or 'none (a fix to another service?)'}")
            if outcome.broken_by:
                lines.append(f"         broken by: {', '.join(outcome.broken_by)}")
            if outcome.repair:
                lines.append(f"         repair: {outcome.repair}")
            if outcome.record:
                lines.append("         commit this record in .harden/verified.toml and `harden fix` applies the repair:")
                record = outcome.rendered_record().splitlines()
                lines += [f"         | {line}" for line in record if line and not line.startswith("#")]
    already = sum(1 for o in report.outcomes if o.verdict == "already broken")
    lines.append(f"{len(report.broke)} of {len(report.outcomes)} services broke after hardening; {already} did not work before.")
    return "\n".join(lines) + "\n"


def as_json(reports: list[ProjectReport]) -> str:
    def state(s: State) -> dict[str, object]:
        return {"status": s.status, "healthy": s.healthy, "refused": list(s.refused), "works": s.works}

    projects = [
        {
            "project": r.project,
            "engine": r.engine,
            "errors": r.errors,
            "applied": [{"id": f.id, "rule": f.rule.id, "subject": f.subject} for f in r.applied],
            "services": [
                {
                    "service": o.service,
                    "verdict": o.verdict,
                    "original": {"start": state(o.original[0]), "restart": state(o.original[1])},
                    "hardened": {"start": state(o.hardened[0]), "restart": state(o.hardened[1])},
                    "applied": o.applied,
                    "why": o.why() if o.verdict != "works" else [],
                    "broken_by": list(o.broken_by),
                    "repair": o.repair,
                    "record": o.rendered_record(),
                }
                for o in r.outcomes
            ],
        }
        for r in reports
    ]
    return json.dumps({"projects": projects}, indent=2) + "\n"
