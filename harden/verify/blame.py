"""Which fix broke a service, and the repair that makes it work: harden.verify.bisect over real runs.

For each service that worked in the original and broke hardened, `blame` runs the hardened
project again with fewer of that service's fixes applied (every other service keeps all of
its own), through the one pipeline with `ByIds` (harden.verify.project.harden_copy), until it
has the fixes that break it (bisect.culprits: one run per fix applied to the service, or one
more than the fixes its logs name when those alone break it). Then it
tries the narrowest repairs (bisect.narrowest): each repair is a verified record
(harden.verified: one `cap_add` or one writable path, for the service's image, or `build:<service>`
for a service that builds its image and names none) written into the hardened copy's
`.harden/verified.toml`, so that the same pipeline hardens the service with it, exactly as a
later `harden fix` in a project that commits the record would. The repair that made the service
work is reported with the record to commit; `drop` says to leave that fix off for the service
(nothing narrower worked; for a break that needs two fixes together, a repair of either is tried).

Each run starts, restarts and tears down the whole hardened project (harden.verify.run): a
service with four fixes and a capability repair can take some twenty runs; `--timeout` bounds
the whole verification.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from harden import clock, verified
from harden.config import Settings
from harden.engine.select import Both, ByIds, Selector
from harden.model import Finding
from harden.verify.bisect import Repair, culprits, named_rules, narrowest
from harden.verify.project import Project, harden_copy
from harden.verify.report import Outcome
from harden.verify.run import Runner


class Blame(NamedTuple):
    """Why a service broke: the fixes that break it (their ids and rules), and the repair that works."""

    service: str
    culprits: tuple[str, ...]  # finding ids
    rules: tuple[str, ...]
    repair: Repair | None
    record: verified.Record | None  # the verified record to commit for the repair (None when it is not one)


class Trial(NamedTuple):
    """Running the hardened project once with a chosen set of fixes (and perhaps a record)."""

    project: Project
    settings: Settings
    selector: Selector
    runner: Runner
    wrapper: Path | None
    workdir: Path

    def works(self, service: str, ids: frozenset[str], record: verified.Record | None = None, merged: bool = True) -> bool:
        """Whether `service` works (first start and restart) with only the fixes `ids` applied, and
        `record` beside the project's own records: merged with the project's record of the same
        image (a repair adds to what is known), or replacing it (`merged=False`: a measurement)."""
        copy = self.workdir / f"trial-{len(list(self.workdir.glob('trial-*')))}"
        self.project.copy(copy)
        if record is not None:  # the records in force where the run looks (perhaps a parent directory's)
            records = dict(verified.load(self.settings.search_from, self.settings.verified))
            name = verified.key(record.reference)
            records[name] = verified.merge(records[name], record) if merged and name in records else record
            (copy / verified.RECORDS_PATH).parent.mkdir(parents=True, exist_ok=True)
            (copy / verified.RECORDS_PATH).write_text(verified.render(records))
        settings = self.settings
        if record is not None:  # the records are read from where the run starts: the copy
            settings = dataclasses.replace(self.settings, search_from=(copy,), verified=None)
        harden_copy(self.project, settings, Both(self.selector, ByIds(ids)), copy)
        run = self.runner.stack("trial", copy, self.project.files, self.project.name("trial"), self.wrapper)
        shutil.rmtree(copy, ignore_errors=True)
        states = (run.first.get(service), run.restart.get(service))
        return all(state is not None and state.works for state in states)


def blame(outcome: Outcome, applied: list[Finding], image: str | None, trial: Trial) -> Blame:
    """The fixes that break `outcome.service` and the narrowest repair (see the module docstring)."""
    everything = frozenset(f.id for f in applied)
    others = everything - set(outcome.applied)

    def breaks(subset: frozenset[str]) -> bool:
        return not trial.works(outcome.service, others | subset)

    logs = "\n".join(outcome.why())
    named = named_rules(logs)
    found = culprits(outcome.applied, breaks, frozenset(f.id for f in applied if f.rule.id in named))
    rules = tuple(f.rule.id for f in applied if f.id in found)
    if not found or image is None:
        return Blame(outcome.service, found, rules, None, None)
    attempt = _attempt(image, trial, outcome.service, everything)
    repair = narrowest(rules, logs, attempt) or Repair(
        "drop", ", ".join(rules), "nothing narrower made it work: leave this fix off for the service"
    )
    record = _record(image, outcome.service, repair, trial.runner.engine.version) if repair.kind != "drop" else None
    return Blame(outcome.service, found, rules, repair, record)


def _attempt(image: str, trial: Trial, service: str, everything: frozenset[str]) -> Callable[[Repair], bool]:
    def works(repair: Repair) -> bool:
        if repair.kind == "drop":
            return False  # dropping the fix is what the culprits search already showed works
        return trial.works(service, everything, _record(image, service, repair, trial.runner.engine.version))

    return works


def _record(image: str, service: str, repair: Repair, engine: str) -> verified.Record:
    """The verified record a repair amounts to: one capability, or one writable path, for the service that ran."""
    caps = (repair.value,) if repair.kind == "cap_add" else ()
    paths = (repair.value,) if repair.kind == "tmpfs" else ()
    ran = f"harden verify: {repair.kind} {repair.value} made the service work ({repair.reason})"
    today = clock.now().date().isoformat()
    return verified.Record(image, "", engine, today, ran, caps, paths, (), "", "", (service,))
