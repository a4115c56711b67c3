"""`harden verify PATH...`: run each Compose project as it is and as harden hardens it, and compare.

What: for each project (harden.verify.project), two temporary copies of its directory: one
unchanged, one hardened through the one pipeline (`harden.engine.run` with the `--output` copy
sink, the fixes the command line's options choose). Each copy runs in turn under its own
project name with the engine the user has (harden.verify.engine), started, restarted and
always torn down (harden.verify.run); the report (harden.verify.report) says per service
whether it worked before and after. Progress goes to standard error while it runs.

Exit status: 0 when every service that worked in the original works hardened, 1 when one broke,
2 on a usage, input or engine error, for a project of which no service was created (the
engine refused the file: its error is in the report) and on `--timeout` (everything started is removed first),
130 on Ctrl-C or SIGTERM (likewise). With `--learn` (harden.verify.learn) it records what each
image harden does not know needs instead: 0 when records were written, 1 when nothing was
learned (no such image, or its services did not work in the original), 2 and 130 as above.
Only this package does a verification's I/O; the passes stay pure and never import it.

`verify_project(..., selector)` is the seam for bisecting which fix broke a service: pass
`Both(selector, ByIds(ids))` to verify a subset of the applied fixes (harden.engine.select).

What might break: two runs of a project's services cost two start-ups, two restarts and the
settling time (harden.verify.run.SETTLE) each; images the project builds are built twice.
"""

from __future__ import annotations

import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TextIO

from harden import clock
from harden.config import Settings
from harden.engine.select import Selector
from harden.verified import RecordsError, render
from harden.verify import report
from harden.verify.blame import Trial, blame
from harden.verify.engine import Engine, EngineError, find
from harden.verify.project import Project, ProjectError, harden_copy, write_records
from harden.verify.run import Runner, StackRun, Timeout, shielded

EXIT_OK, EXIT_BROKE, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


def verify_project(
    project: Project,
    settings: Settings,
    selector: Selector,
    engine: Engine,
    runner: Runner,
    workdir: Path,
    before: StackRun | None = None,
) -> report.ProjectReport:
    """Run `project` original and hardened (with the fixes `selector` chooses) in `workdir`; the
    original's run is `before` when given (the original does not change between two verifications)."""
    hardened = project.copy(workdir / "hardened")
    applied, errors = harden_copy(project, settings, selector, hardened)
    if errors:
        from harden.output import text

        raise ProjectError("\n".join(text.diagnostic(error) for error in errors))
    wrapper = engine.write_wrapper(workdir)
    if before is None:
        original = project.copy(workdir / "original")
        before = runner.stack("original", original, project.files, project.name("original"), wrapper)
    after = runner.stack("hardened", hardened, project.files, project.name("hardened"), wrapper)
    errors_up = [f"{which}: {run.error}" for which, run in (("original", before), ("hardened", after)) if run.error]
    outcomes = report.compare(before, after, applied, project.dockerfiles())
    trial = Trial(project, settings, selector, runner, wrapper, workdir)
    images = project.images(builds=True)
    for outcome in (o for o in outcomes if o.verdict == "broke" and o.applied):
        runner.progress(f"{outcome.service} broke: finding which fix broke it")
        found = blame(outcome, applied, images.get(outcome.service), trial)
        outcome.culprits, outcome.broken_by, outcome.record = found.culprits, found.rules, found.record
        outcome.repair = f"{found.repair.kind} {found.repair.value}: {found.repair.reason}" if found.repair else ""
    return report.ProjectReport(project.shown, engine.version, outcomes, applied, errors_up, before)


def _learn(project: Project, settings: Settings, engine: Engine, runner: Runner, workdir: Path, out: TextIO, err: TextIO) -> int:
    """Learn the project's unknown images, write and print their records; how many were written."""
    from harden.verify import learn

    found = learn.learn_project(project, settings, engine, runner, workdir)
    for why in found.skipped:
        print(f"harden: {project.shown}: {why}", file=err)
    if not found.records:
        print(f"harden: {project.shown}: no image to learn: nothing was recorded", file=err)
        return 0
    path = write_records(project, found.records, replace=True, configured=settings.verified)
    out.write(f"{project.shown}: recorded {len(found.records)} image(s) in {path}:\n\n{render(found.records)}")
    return len(found.records)


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM handled as Ctrl-C (KeyboardInterrupt), so that it tears down too."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def session(
    paths: tuple[str, ...],
    files: tuple[Path, ...],
    timeout: float,
    err: TextIO,
    each: Callable[[Project, Engine, Runner, Path], None],
) -> int | None:
    """Find the engine and call `each(project, engine, runner, workdir)` for every project, in a
    temporary directory removed afterwards; None when all went through, else the exit status
    after saying why on `err` (an error, `--timeout`, Ctrl-C or SIGTERM: everything started
    was removed first). What `harden verify` and `harden fix --verify` share."""

    def progress(message: str) -> None:
        print(f"harden verify: {message}", file=err, flush=True)

    try:
        projects = [Project.of(path, files) for path in paths]
        engine = find()
        progress(f"using {engine.version} ({' '.join(Path(part).name for part in engine.compose)})")
        runner = Runner(engine, clock.monotonic() + timeout, progress)
        with _sigterm_interrupts(), tempfile.TemporaryDirectory(prefix="harden-verify-", ignore_cleanup_errors=True) as work:
            try:
                for number, project in enumerate(projects):
                    workdir = Path(work) / str(number)
                    workdir.mkdir()
                    each(project, engine, runner, workdir)
            finally:
                with shielded():
                    runner.remove_built_images()
    except (ProjectError, EngineError, RecordsError, OSError) as error:
        print(f"harden: {error}", file=err)
        return EXIT_ERROR
    except Timeout:
        print(f"harden: verify timed out after {timeout:g} s (--timeout); everything it started was removed", file=err)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("harden: verify interrupted; everything it started was removed", file=err)
        return EXIT_INTERRUPTED
    return None


def main(
    paths: tuple[str, ...],
    files: tuple[Path, ...],
    settings: Settings,
    selector: Selector,
    timeout: float,
    output_format: str,
    out: TextIO,
    err: TextIO,
    learn: bool = False,
) -> int:
    """The `harden verify` command (see the module docstring); its exit status. With `learn`,
    `harden verify --learn` (harden.verify.learn) instead of the comparison."""
    reports: list[report.ProjectReport] = []
    learned = 0

    def each(project: Project, engine: Engine, runner: Runner, workdir: Path) -> None:
        nonlocal learned
        if learn:
            learned += _learn(project, settings, engine, runner, workdir, out, err)
        else:
            reports.append(verify_project(project, settings, selector, engine, runner, workdir))

    status = session(paths, files, timeout, err, each)
    if status is not None:
        return status
    if learn:
        return EXIT_OK if learned else EXIT_BROKE
    out.write(report.as_json(reports) if output_format == "json" else "".join(report.text(r) for r in reports))
    for empty in (r for r in reports if not r.outcomes):
        print(f"harden: {empty.project}: no service was created, original or hardened: nothing was verified", file=err)
    if any(not r.outcomes for r in reports):
        return EXIT_ERROR
    return EXIT_BROKE if any(r.broke for r in reports) else EXIT_OK


__all__ = ["main", "session", "verify_project"]
