"""`harden fix --verify`: fix Compose projects, keeping only the fixes that verified (or their repairs).

What: before anything is written, each project runs as it is and hardened with the fixes `fix`
would apply (harden.verify.verify_project). For every service that worked in the original and
broke hardened, verify has found the fixes that break it and the narrowest repair that made it
work again (harden.verify.blame), and `plan` decides:

- a repair that is a verified record (one `cap_add`, one tmpfs path for the service's image) is
  merged into the project's `.harden/verified.toml`, the records file `fix` reads: the fix is
  then applied with that repair, as `review` with `verified` evidence, by this run and by every
  later `fix`, `check` or `diff` of a checkout that commits the file;
- otherwise (a `build:` service, a break that needs two fixes together, nothing narrower worked)
  the fixes that broke it are left off (harden.engine.select.Without), and the report says so.

Then the caller writes the project through the one pipeline with `Plan.selector`, exactly as
`harden fix` does. A service that worked keeps its fixes (they verified); a service that did
not work in the original keeps its fixes too (they are not harden's to blame, and cannot be
verified: the report says so).

Why records and not an edit of the output: a record is evidence the next run reads again, so
the repair survives the next `harden fix`; an edit would be undone by it.

What might break: each repair and each fix left off was verified with every other fix applied,
not all of them together in one more run: `harden verify` afterwards runs them together.
Nothing is written when verify cannot run (no engine, a Compose file the engine refuses,
`--verify-timeout`, Ctrl-C): the exit status is verify's (2, or 130 on Ctrl-C).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from harden import verified
from harden.config import Settings
from harden.engine.select import Both, Selector, Without
from harden.verify import report, session, verify_project
from harden.verify.engine import Engine
from harden.verify.project import Project, write_records
from harden.verify.run import Runner


@dataclass
class Plan:
    """What verify decided for the projects: the fixes to leave off, the records it wrote."""

    selector: Selector  # what `fix` then applies
    left_off: frozenset[str] = frozenset()  # finding ids
    records: dict[Path, list[verified.Record]] = field(default_factory=dict)  # records file -> the repairs written in it


def decide(project_report: report.ProjectReport) -> tuple[frozenset[str], dict[str, verified.Record]]:
    """The fixes to leave off and the repair records to write for one project's report."""
    left_off: set[str] = set()
    records: dict[str, verified.Record] = {}
    every = {f.id for f in project_report.applied}
    for outcome in project_report.broke:
        if outcome.record is not None:
            name = verified.key(outcome.record.reference)
            records[name] = verified.merge(records[name], outcome.record) if name in records else outcome.record
        else:  # the fixes found to break it; failing that, every fix applied to it, or to any service
            left_off |= set(outcome.culprits or outcome.applied or every)
    return frozenset(left_off), records


def plan(
    paths: tuple[str, ...], files: tuple[Path, ...], settings: Settings, selector: Selector, timeout: float, err: TextIO
) -> Plan | int:
    """Verify every project and write the repair records; the Plan, or verify's exit status on an
    error (nothing written then)."""
    reports: list[report.ProjectReport] = []
    decided: list[tuple[Project, frozenset[str], dict[str, verified.Record]]] = []

    def each(project: Project, engine: Engine, runner: Runner, workdir: Path) -> None:
        project_report = verify_project(project, settings, selector, engine, runner, workdir)
        reports.append(project_report)
        decided.append((project, *decide(project_report)))

    status = session(paths, files, timeout, err, each)
    if status is not None:
        return status
    err.write("".join(report.text(r) for r in reports))
    empty = [r.project for r in reports if not r.outcomes]
    if empty:
        print(f"harden: {empty[0]}: no service was created, original or hardened: nothing verified, nothing written", file=err)
        return 2
    left_off: frozenset[str] = frozenset()
    written: dict[Path, list[verified.Record]] = {}
    for project, dropped, records in decided:
        left_off |= dropped
        if records:
            written[write_records(project, records)] = list(records.values())
    _say(reports, left_off, written, err)
    return Plan(Both(selector, Without(left_off)) if left_off else selector, left_off, written)


def _say(
    reports: list[report.ProjectReport], left_off: frozenset[str], written: dict[Path, list[verified.Record]], err: TextIO
) -> None:
    """One line per decision, after verify's report."""
    for project_report in reports:
        for outcome in project_report.broke:
            if outcome.record is not None:
                print(f"harden fix --verify: {outcome.service}: repaired with {outcome.repair}", file=err)
                continue
            ids = set(outcome.culprits or outcome.applied) & left_off
            rules = sorted({f.rule.id for f in project_report.applied if f.id in ids})
            print(
                f"harden fix --verify: {outcome.service}: left off {', '.join(rules) or 'its fixes'}: "
                f"{outcome.repair or 'no repair made it work'}",
                file=err,
            )
        for outcome in (o for o in project_report.outcomes if o.verdict == "already broken" and o.applied):
            print(
                f"harden fix --verify: {outcome.service}: did not work in the original: its fixes are applied unverified",
                file=err,
            )
    for path, records in written.items():
        print(f"harden fix --verify: recorded {len(records)} repair(s) in {path}: commit it with the fix", file=err)
