"""The command line: options in, one engine call, rendering out.

Exit codes follow black and ruff: 0 nothing to do, 1 findings to fix (check, diff) or findings
left after fixing (fix), 2 a usage or input error (any file: the others are still processed);
`--exit-zero` and `--exit-non-zero-on-fix` change them as ruff's do (harden/cli/exits.py).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from harden import __version__
from harden.cli.exits import EXIT_ERROR, EXIT_FINDINGS, EXIT_NON_ZERO_ON_FIX, EXIT_OK, EXIT_ZERO, Contract
from harden.cli.options import common_options, paths_of
from harden.cli.options import settings as settings_of
from harden.config import DEFAULT_MAX_FILE_SIZE, Settings
from harden.model import DiagnosticKind, FileResult

if TYPE_CHECKING:
    from harden.engine import Run
    from harden.engine.select import Selector
    from harden.engine.sinks import Sink


def use_color(choice: str) -> bool:
    """--color always or never; auto: standard output is a terminal and NO_COLOR is unset or
    empty (no-color.org, as the review and most command-line tools honour it)."""
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def guarded(command: Callable[..., int]) -> Callable[..., None]:
    """Turn the command's return into the exit status; internal errors become one line, exit 2."""

    @functools.wraps(command)
    def wrapper(**options: Any) -> None:
        try:
            status = command(**options)
        except click.ClickException:
            raise
        except BrokenPipeError:
            # `harden diff | head`: the reader has all it wanted. Quietly, as Python's documentation
            # advises: point standard output at /dev/null so that flushing it at exit cannot fail.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            status = EXIT_FINDINGS
        except Exception as error:  # noqa: BLE001 - the one place that turns bugs into a clean line
            if options.get("debug"):
                raise
            click.echo(f"harden: internal error: {type(error).__name__}: {error} (run with --debug for details)", err=True)
            status = EXIT_ERROR
        sys.exit(status)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harden")
def main() -> None:
    """harden rewrites Dockerfiles and Compose files to be secure, and shows a diff you can review.

    \b
    harden check PATH...   report what to harden
    harden diff PATH...    show the reviewed diff, write nothing
    harden fix PATH...     apply the fixes (or write a hardened copy with --output DIR)
    harden review PATH...  approve each change, as `git add -p` does, then apply those
    harden verify PATH...  run a Compose project as it is and hardened, and compare
    harden graph PATH...   show which service reaches which, and why
    harden pr [PATH]       open or update harden's pull requests (hardening, pin refresh)
    harden rules           list the rules; harden explain RULE documents one
    """


def _run(paths: tuple[str, ...], settings: Settings, sink: Sink, selector: Selector | None = None) -> Run:
    """The one engine call of every command: the PATHs, or one file from standard input, with the
    fixes `selector` chooses (by default the one the options make)."""
    from harden import engine
    from harden.engine import select
    from harden.verified import RecordsError

    if "-" in paths and paths != ("-",):
        raise click.BadParameter("`-` (standard input) cannot be combined with other paths", param_hint="PATH")
    stdin = sys.stdin.buffer if paths == ("-",) else None
    try:
        return engine.run(list(paths), settings, selector or select.from_settings(settings), sink, stdin)
    except engine.PinningError as error:
        from harden.output import text

        raise InputError(text.diagnostic(error.diagnostic)) from None
    except RecordsError as error:
        raise InputError(f"{error}") from None


def _report_errors(run: Run) -> int:
    """Print every error but those of writing (`fix` prints them in order with what it wrote)
    on standard error and, once per image reference, why it could not be resolved. Returns the
    number of errors printed (an unresolved reference is a finding, and a note, DiagnosticKind.NOTE,
    a file found but left out, neither is an error)."""
    from harden.output import text

    every = [*run.skipped, *(e for r in run.results for e in r.errors if e.kind is not DiagnosticKind.WRITE)]
    for error in every:
        click.echo(text.diagnostic(error), err=True)
    errors = [e for e in every if e.kind is not DiagnosticKind.NOTE]
    for failure in run.unresolved:
        click.echo(f"harden: could not resolve {failure.reference}: {failure.message}", err=True)
    return len(errors)


def _report(run: Run, output_format: str, diffs: dict[str, str] | None = None, left: bool = False) -> str:
    """The run in a machine-readable format (json, sarif or github); `left`: sarif and github list
    the findings left after fixing (fix, pin), JSON lists all (each with `applied`)."""
    from harden.output import github, json, sarif

    if output_format == "sarif":
        from harden import passes

        return sarif.render(run.results, run.skipped, run.unresolved, passes.all_passes(), left)
    if output_format == "github":
        return github.render(run.results, run.skipped, left)
    return json.render(run.results, run.skipped, run.unresolved, diffs)


class InputError(click.ClickException):
    """A bad input file harden cannot go on without (a lockfile): exit 2, like any input error."""

    exit_code = EXIT_ERROR


@main.command()
@common_options
@EXIT_ZERO
@guarded
def check(paths: tuple[str, ...], output_format: str, quiet: bool, color: str, exit_zero: bool, **options: Any) -> int:
    """Report what to harden in PATH... (files or directories; `-` reads standard input).

    Exits 0 when there is nothing to fix, 1 when there is (0 with --exit-zero), 2 on a usage or input error.
    """
    from harden.engine import sinks
    from harden.output import text

    paths = paths_of(paths, options)
    run = _run(paths, settings_of({**options, "paths": paths}), sinks.Report())
    errors = _report_errors(run)
    if output_format != "text":
        click.echo(_report(run, output_format), nl=False)
    elif not quiet:
        click.echo(text.text(run.results), nl=False, color=use_color(color))
        click.echo(text.summary(run.results, errors))
    return Contract(exit_zero).status(errors, [f for r in run.results for f in r.findings])


@main.command()
@common_options
@EXIT_ZERO
@guarded
def diff(
    paths: tuple[str, ...], output_format: str, quiet: bool, color: str, redact: bool, exit_zero: bool, **options: Any
) -> int:
    """Print the reviewed diff for PATH...: what each change does and might break, then a
    unified diff that `git apply` and `patch -p1` accept. Writes nothing; exits like check."""
    from harden.engine import sinks
    from harden.output import diff as diffs

    paths = paths_of(paths, options)
    run = _run(paths, settings_of({**options, "paths": paths}), sinks.Preview())
    errors = _report_errors(run)
    colored = use_color(color)
    if output_format == "json":
        click.echo(_report(run, output_format, {r.path: diffs.reviewed(r, redact=redact) for r in run.results}), nl=False)
    elif output_format != "text":
        click.echo(_report(run, output_format), nl=False)  # SARIF carries the fixes; annotations need no diff
    else:
        for result in run.results:
            reviewed = diffs.reviewed(result, color=colored, redact=redact)
            if reviewed:
                click.echo(reviewed, nl=False, color=colored)
    return Contract(exit_zero).status(errors, [f for r in run.results for f in r.findings])


@main.command()
@common_options
@click.option(
    "--output",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write a complete hardened copy under DIR instead of changing files in place.",
)
@click.option(
    "--verify",
    "verify_first",
    is_flag=True,
    help="First run each Compose project PATH as it is and hardened (as `harden verify`); write only the fixes "
    "that kept every working service working, with the repairs verify found (recorded in .harden/verified.toml).",
)
@click.option(
    "--decisions",
    "decisions_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Apply exactly what a review decided (`harden review --save-decisions FILE`), as the review wrote it.",
)
@click.option(
    "--verify-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=600.0,
    show_default=True,
    metavar="SECONDS",
    help="With --verify: give up (writing nothing) after this long.",
)
@EXIT_ZERO
@EXIT_NON_ZERO_ON_FIX
@guarded
def fix(
    paths: tuple[str, ...],
    output_format: str,
    quiet: bool,
    color: str,
    output_dir: Path | None,
    verify_first: bool,
    verify_timeout: float,
    exit_zero: bool,
    exit_non_zero_on_fix: bool,
    decisions_file: Path | None,
    **options: Any,
) -> int:
    """Apply the fixes to PATH... in place (or, with --output DIR, write every discovered file,
    changed or not, under DIR at its path relative to the PATH it was found under). `-` reads
    standard input and writes the result to standard output. With --verify, only the fixes that
    `harden verify` showed keep each working service working, or their repairs.

    Exits 0 when nothing is left to fix, 1 when findings remain (or, with --exit-non-zero-on-fix,
    when a file changed; 0 with --exit-zero), 2 on a usage or input error (--verify: also when
    verify could not run; nothing is written then), 130 on Ctrl-C during --verify.
    """
    given, paths = paths, paths_of(paths, options)
    settings = settings_of({**options, "paths": paths})
    contract = Contract(exit_zero, exit_non_zero_on_fix)
    if decisions_file is not None:
        from harden.cli import review

        if verify_first or "-" in paths:
            raise click.UsageError("--decisions takes neither --verify nor `-`")
        return review.replay(paths, settings, decisions_file, quiet, output_dir, options, contract)
    if not verify_first:
        return _apply(paths, settings, output_dir, quiet, output_format, contract)
    if output_dir is not None or "-" in paths:
        raise click.UsageError("--verify changes Compose projects in place: it takes neither --output nor `-`")
    from harden.engine import select
    from harden.verify import fixing

    files = tuple(options.get("compose_files") or ())
    plan = fixing.plan(given or (".",), files, settings, select.from_settings(settings), verify_timeout, sys.stderr)
    if isinstance(plan, int):
        return plan
    return _apply(paths, settings, None, quiet, output_format, contract, selector=plan.selector)


def _apply(
    paths: tuple[str, ...],
    settings: Settings,
    output_dir: Path | None,
    quiet: bool,
    output_format: str,
    contract: Contract,
    lock: bool = False,
    selector: Selector | None = None,
    wrap: Callable[[Sink], Sink] | None = None,
) -> int:
    """fix and pin: run with fixes applied, write the results, report what is left; exit as
    `contract` says (a changed file counts for --exit-non-zero-on-fix). `wrap`: a sink around the
    writing one (harden.review.edits.Reviewed)."""
    from harden.engine import sinks
    from harden.output import text

    keep = output_format != "text"  # text lists only what is left, not what was found or applied
    sink: Sink = sinks.Copy(output_dir, keep) if output_dir else sinks.InPlace(keep)
    if paths == ("-",):
        sink = sinks.Stdout(sys.stdout.buffer)
    if wrap is not None:
        sink = wrap(sink)
    run = _run(paths, settings, sink, selector)
    errors = _report_errors(run)
    for result in run.results:
        for error in (e for e in result.errors if e.kind is DiagnosticKind.WRITE):
            click.echo(text.diagnostic(error), err=True)
            errors += 1
        if result.written and result.applied_rules and not quiet and output_format == "text":
            rules = ", ".join(dict.fromkeys(result.applied_rules))
            click.echo(f"hardened {result.path} ({rules})", err=True)
    fixed = any(r.changed for r in run.results)
    if paths == ("-",):
        return contract.status(errors, _remaining(run.results), fixed)
    if lock:
        errors += _write_lockfile(run, settings, quiet)
    results = run.results
    if output_format != "text":  # SARIF and annotations: what is left to fix, in the written files
        click.echo(_report(run, output_format, left=True), nl=False)
    elif not quiet:
        changed = sum(1 for r in results if r.changed)
        written = sum(1 for r in results if r.written)
        where = f" into {output_dir}" if output_dir is not None else ""
        click.echo(f"{changed} of {len(results)} files hardened; {written} written{where}.{text.failed(errors)}", err=True)
        remaining = _remaining(results)
        if remaining:
            left = [dataclasses.replace(r, findings=r.remaining) for r in results if not r.errors]
            click.echo(text.text(left), nl=False, err=True)
    return contract.status(errors, _remaining(results), fixed)


def _write_lockfile(run: Run, settings: Settings, quiet: bool) -> int:
    """Write harden.lock: at --lockfile, else where one was found, else in the first directory
    PATH (the current directory for files). Returns the number of errors (0 or 1)."""
    from harden.discover import display_path
    from harden.engine import pinning, sinks

    try:
        path, count = pinning.write_lockfile(run.resolver, settings, sinks.written_by_harden)
    except OSError as error:
        click.echo(f"lockfile not written: {error}", err=True)
        return 1
    if not quiet:
        click.echo(f"wrote {display_path(path)} ({count} images)", err=True)
    return 0


def _remaining(results: list[FileResult]) -> list[Any]:
    """Findings that `fix` left: those the passes still report on the written output."""
    return [f for r in results if not r.errors for f in r.remaining]


@main.command()
@common_options
@click.option("--lock", is_flag=True, help="Write harden.lock with every digest resolved (see --lockfile).")
@EXIT_ZERO
@EXIT_NON_ZERO_ON_FIX
@guarded
def pin(
    paths: tuple[str, ...],
    output_format: str,
    quiet: bool,
    color: str,
    lock: bool,
    exit_zero: bool,
    exit_non_zero_on_fix: bool,
    **options: Any,
) -> int:
    """Pin every base image (FROM) and Compose image: to the digest its tag points to (from the
    lockfile, else the cache or the registry), in place; keep the tag for humans. Existing pins
    move only with --refresh. --lock records the digests in harden.lock, the input of
    reproducible and --offline runs."""
    from harden.passes.pins import PIN_RULES

    paths = paths_of(paths, options)
    settings = settings_of({**options, "paths": paths})
    settings = dataclasses.replace(settings, select=(settings.select & PIN_RULES) or PIN_RULES)
    return _apply(paths, settings, None, quiet, output_format, Contract(exit_zero, exit_non_zero_on_fix), lock=lock)


@main.command()
@click.argument("paths", nargs=-1, metavar="PATH...")
@click.option("-f", "--compose-file", "compose_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--select", metavar="RULE,...", help="Apply only these rules' fixes.")
@click.option("--ignore", metavar="RULE,...", help="Skip these rules.")
@click.option("--safe-only", is_flag=True, help="Verify only fixes that cannot change runtime behaviour.")
@click.option("--unsafe-fixes", is_flag=True, help="Verify also the fixes harden has no evidence for.")
@click.option("--offline", is_flag=True, help="Pin only from the lockfile and the cache; never contact a registry.")
@click.option("--timeout", "verify_timeout", type=click.FloatRange(min=0, min_open=True), default=600.0, show_default=True)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--learn", is_flag=True, help="Instead, record what unknown images need (many runs) in .harden/verified.toml.")
@click.option("--debug", is_flag=True, help="Show tracebacks for internal errors.")
@guarded
def verify(paths: tuple[str, ...], output_format: str, verify_timeout: float, **options: Any) -> int:
    """Run each Compose project PATH (a directory, or its files) as it is and hardened as `harden fix`
    would, always removed afterwards; for a service that broke, name the fix and its narrowest repair.

    Exits 0 when every service that worked still works, 1 when one broke (--learn: nothing learned), 2 on errors."""
    from harden import verify as verifying
    from harden.engine import select

    if not paths and not options["compose_files"]:
        raise click.UsageError("give at least one PATH (a Compose project directory or file)")
    settings = settings_of({**options, "paths": paths})
    args = (paths or (".",), tuple(options["compose_files"]), settings, select.from_settings(settings), verify_timeout)
    return verifying.main(*args, output_format, sys.stdout, sys.stderr, options["learn"])


@main.command()
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules(output_format: str) -> None:
    """List every rule: its id, the most its fix does (safe, review, review/unsafe or display),
    the control it serves and the files it applies to; then what the fix tiers mean."""
    from harden import passes
    from harden.output import rules as listing

    modules = passes.rule_modules()
    click.echo(listing.json_rows(modules) if output_format == "json" else listing.table(modules))


@main.command()
@click.argument("rule_id", metavar="RULE")
def explain(rule_id: str) -> None:
    """Print a rule's documentation: what it changes, why, what might break, an example."""
    from harden import passes
    from harden.output import rules as listing

    module = passes.rule(rule_id)
    if module is None:
        equivalents = listing.equivalents(rule_id)
        if not equivalents:
            raise click.BadParameter(f"unknown rule {rule_id!r} (see `harden rules`)", param_hint="RULE")
        for module in equivalents:
            click.echo(f"{rule_id} ({listing.peer_named(module, rule_id)}) is harden's {module.RULE.id}:\n")
            click.echo(listing.explanation(module))
        return
    click.echo(listing.explanation(module))


@main.command()
@click.argument("paths", nargs=-1, metavar="PATH...")
@click.option("-f", "--compose-file", "compose_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--env-file", "env_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["text", "mermaid", "json"]), default="text", show_default=True)
@click.option(
    "--max-file-size", type=int, default=DEFAULT_MAX_FILE_SIZE, show_default=True, metavar="BYTES", help="Refuse larger files."
)
@click.option("--debug", is_flag=True, help="Show tracebacks for internal errors.")
@guarded
def graph(paths: tuple[str, ...], output_format: str, **options: Any) -> int:
    """Print each Compose project's service graph: which service reaches which, with the evidence
    (file and line) of each edge; then the exposed services, egress and what could not be read.

    Exits 0, or 2 on a usage or input error (the other files are still read)."""
    from harden.engine import graphing
    from harden.output import graph as render
    from harden.output import text

    paths = paths_of(paths, options)
    run = graphing.graphs(list(paths), settings_of({**options, "paths": paths}))
    for error in run.errors:
        click.echo(text.diagnostic(error), err=True)
    click.echo(getattr(render, output_format)(run.graphs), nl=False)
    if not run.compose_files and not run.errors:
        click.echo(f"harden: no Compose file in {' '.join(paths)}: harden graph reads Compose projects", err=True)
    if not run.compose_files:
        return EXIT_ERROR
    return EXIT_ERROR if any(e.kind is not DiagnosticKind.NOTE for e in run.errors) else EXIT_OK


from harden.cli import config as _config  # noqa: E402,F401 - registers `harden config`
from harden.cli import pr as _pr  # noqa: E402, F401 - registers `harden pr`
from harden.cli import review as _review  # noqa: E402, F401 - registers `harden review`
