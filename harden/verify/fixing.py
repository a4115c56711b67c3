"""`harden fix --verify`: fix Compose projects, keeping only the fixes that verified (or their repairs).

What: before anything is written, each project runs as it is and hardened with the fixes `fix`
would apply (harden.verify.verify_project). For every service that worked in the original and
broke hardened, verify has found the fixes that break it and the narrowest repair that made it
work again (harden.verify.blame), and `plan` decides:

- a repair that is a verified record (one `cap_add` or one tmpfs path, for the service's image
  or `build:<service>`) is merged into the project's `.harden/verified.toml`, the records file
  `fix` reads: the fix is then applied with that repair, as `review` with `verified` evidence,
  by this run and by every later `fix`, `check` or `diff` of a checkout that commits the file;
- otherwise (nothing narrower worked) the fixes that broke it are left off
  (harden.engine.select.Without), and the report says so.

Then verify runs again with those repairs and without those fixes (`fix_project`), because a
service can break for two reasons and blame finds one at a time, until every service that worked
works (at most ROUNDS verifications; the original runs only once: after the last, every fix
applied to a service that still broke is left off, unverified). Only then is anything written:
the records into the project, and the project through the one pipeline with `Plan.selector`,
exactly as `harden fix` does. A service that worked keeps its fixes (they verified); a service
that did not work in the original keeps its fixes too (they are not harden's to blame, and
cannot be verified: the report says so).

Why records and not an edit of the output: a record is evidence the next run reads again, so
the repair survives the next `harden fix`; an edit would be undone by it.

What might break: a project whose services broke costs two or three verifications, each with its
blame runs (`--verify-timeout` bounds them all). Nothing is written when verify cannot run (no
engine, a Compose file the engine refuses, `--verify-timeout`, Ctrl-C): the exit status is
verify's (2, or 130 on Ctrl-C).
"""

from __future__ import annotations

import dataclasses
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

ROUNDS = 3  # verifications of one project: the first, and after each set of repairs and fixes left off


@dataclass
class Plan:
    """What verify decided for the projects: the fixes to leave off, the records it wrote."""

    selector: Selector  # what `fix` then applies
    left_off: frozenset[str] = frozenset()  # finding ids
    records: dict[Path, list[verified.Record]] = field(default_factory=dict)  # records file -> the repairs written in it


@dataclass
class Decided:
    """One project's decisions so far, and the verifications that led to them."""

    reports: list[report.ProjectReport] = field(default_factory=list)
    left_off: frozenset[str] = frozenset()
    records: dict[str, verified.Record] = field(default_factory=dict)


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


def fix_project(
    project: Project, settings: Settings, selector: Selector, engine: Engine, runner: Runner, workdir: Path
) -> Decided:
    """Verify `project`, then again with the repairs and without the fixes left off, until every
    service that worked still works (a service can break for two reasons, and blame finds one
    at a time) or ROUNDS verifications were run: then every fix applied to a service that still
    broke is left off, unverified."""
    decided = Decided()
    for number in range(ROUNDS):
        here = workdir / f"round-{number}"
        here.mkdir()
        chosen = Both(selector, Without(decided.left_off)) if decided.left_off else selector
        before = decided.reports[-1].original if decided.reports else None
        project_report = verify_project(
            project, _with(settings, decided.records, project, here), chosen, engine, runner, here, before
        )
        decided.reports.append(project_report)
        left_off, records = decide(project_report)
        new_records = {k: r for k, r in records.items() if k not in decided.records or decided.records[k] != r}
        if not project_report.broke or (left_off <= decided.left_off and not new_records):
            break
        decided.left_off |= left_off
        for name, record in new_records.items():
            decided.records[name] = verified.merge(decided.records[name], record) if name in decided.records else record
    last = decided.reports[-1]
    if last.broke:  # still broken after the last round: its fixes are left off, unverified
        decided.left_off |= {i for o in last.broke for i in (o.applied or [f.id for f in last.applied])}
    return decided


def _with(settings: Settings, records: dict[str, verified.Record], project: Project, here: Path) -> Settings:
    """`settings` reading the project's records merged with `records`, from a copy of the project:
    the project itself is written only once every verification went through."""
    if not records:
        return settings
    copy = project.copy(here / "records")
    in_copy = copy / verified.RECORDS_PATH
    copied = Project(copy, project.files, project.shown)
    write_records(copied, records, search_from=settings.search_from, configured=settings.verified, path=in_copy)
    return dataclasses.replace(settings, search_from=(copy,), verified=None)


def plan(
    paths: tuple[str, ...], files: tuple[Path, ...], settings: Settings, selector: Selector, timeout: float, err: TextIO
) -> Plan | int:
    """Verify every project and write the repair records; the Plan, or verify's exit status on an
    error (nothing written then)."""
    decided: list[tuple[Project, Decided]] = []

    def each(project: Project, engine: Engine, runner: Runner, workdir: Path) -> None:
        decided.append((project, fix_project(project, settings, selector, engine, runner, workdir)))

    status = session(paths, files, timeout, err, each)
    if status is not None:
        return status
    for _, one in decided:
        err.write(report.text(one.reports[0]))
        for again in one.reports[1:]:
            err.write("harden fix --verify: again, with the repairs and without the fixes left off:\n" + report.text(again))
    empty = [one.reports[0].project for _, one in decided if not one.reports[0].outcomes]
    if empty:
        print(f"harden: {empty[0]}: no service was created, original or hardened: nothing verified, nothing written", file=err)
        return 2
    left_off: frozenset[str] = frozenset()
    written: dict[Path, list[verified.Record]] = {}
    for project, one in decided:
        left_off |= one.left_off
        if one.records:
            written[write_records(project, one.records, configured=settings.verified)] = list(one.records.values())
    _say([one for _, one in decided], left_off, written, err)
    return Plan(Both(selector, Without(left_off)) if left_off else selector, left_off, written)


def _say(decided: list[Decided], left_off: frozenset[str], written: dict[Path, list[verified.Record]], err: TextIO) -> None:
    """One line per decision, after verify's reports."""
    for one in decided:
        applied = {f.id: f.rule.id for r in one.reports for f in r.applied}
        for project_report in one.reports:
            for outcome in project_report.broke:
                if outcome.record is not None:
                    print(f"harden fix --verify: {outcome.service}: repaired with {outcome.repair}", file=err)
                    continue
                rules = sorted({applied[i] for i in set(outcome.culprits or outcome.applied) & left_off})
                why = outcome.repair or "no repair made it work"
                print(f"harden fix --verify: {outcome.service}: left off {', '.join(rules) or 'its fixes'}: {why}", file=err)
        for outcome in (o for o in one.reports[0].outcomes if o.verdict == "already broken" and o.applied):
            print(
                f"harden fix --verify: {outcome.service}: did not work in the original: its fixes are applied unverified",
                file=err,
            )
    for path, records in written.items():
        print(f"harden fix --verify: recorded {len(records)} repair(s) in {path}: commit it with the fix", file=err)
