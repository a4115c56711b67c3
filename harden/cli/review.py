"""`harden review PATH...` and `harden fix --decisions FILE`: the terminal side of harden.review.

The review is the one pipeline with another selector and sink: a Preview run with the options'
selector says which changes there are (harden.review.changes), the reviewer decides each
(harden.review.session), and the approved ones are written by the pipeline run again with a
ByIds selector of the approved fixes into the writing sink of `harden fix` (InPlace or Copy),
through harden.review.edits.Reviewed for the changes the reviewer edited. `harden fix
--decisions FILE` is that last run alone, with saved decisions, so it writes the same bytes.

The terminal work is click's (a dependency already): `click.prompt` reads each answer as a line,
`click.style` colours, `click.edit` runs $VISUAL or $EDITOR on a temporary file (the editor
command may carry arguments; it waits for the editor and reads the file back). Nothing here needs
a full-screen library: the review prints and asks, as `git add -p` does.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from harden.cli import InputError, _apply, _run, guarded, main, use_color
from harden.cli.exits import EXIT_ERROR, Contract
from harden.cli.options import common_options, paths_of
from harden.cli.options import settings as settings_of
from harden.config import Settings

if TYPE_CHECKING:  # imported where used: every command imports this module (start-up time)
    from harden.engine.sinks import Sink
    from harden.model import FileResult
    from harden.review import changes as offered
    from harden.review import decisions as saved
    from harden.review import edits
    from harden.review.session import Session

EXIT_INTERRUPTED = 130
NOT_A_TERMINAL = (
    "harden review: standard input is not a terminal, and the review asks about each change there; "
    "give --decisions FILE to apply saved decisions (or run `harden fix`)"
)
EDIT_HELP = """# ---
# Edit the hunks above: to remove a '-' line, make it a ' ' line (context); to remove a '+'
# line, delete it; add '+' lines where you want them. Keep the ' ' and '-' lines as they are:
# they are the file as harden read it. Lines starting with # are left out.
# The result must parse, validate and change only what this change's fixes change, or it is
# refused and the change is asked again. Delete every line to abandon the edit.
"""

DEFAULT_CONTRACT = Contract()  # a review's own exit: as `harden fix` without --exit-zero or --exit-non-zero-on-fix


@main.command()
@common_options
@click.option(
    "--save-decisions",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Record every decision by finding id in FILE (JSON), for `harden fix --decisions FILE`.",
)
@click.option(
    "--decisions",
    "decisions_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Start from saved decisions: ask only about the other changes (none when standard input is not a terminal).",
)
@guarded
def review(
    paths: tuple[str, ...],
    output_format: str,
    quiet: bool,
    color: str,
    redact: bool,
    save_decisions: Path | None,
    decisions_file: Path | None,
    **options: Any,
) -> int:
    """Review each change harden proposes for PATH..., as `git add -p` does: apply it, skip it,
    or edit it; then write the approved ones in place as `harden fix` does.

    Exits like `harden fix` (0 nothing left to fix, 1 findings left, 2 errors); 2 without writing
    anything when standard input is not a terminal and no --decisions is given; 130 when stopped
    with Ctrl-C or end of input (nothing written)."""
    from harden.engine import sinks
    from harden.review import changes as offered
    from harden.review import decisions as saved
    from harden.review.session import Session, summary

    interactive = sys.stdin.isatty()
    if not interactive and decisions_file is None:
        click.echo(NOT_A_TERMINAL, err=True)
        return EXIT_ERROR
    if "-" in paths or output_format != "text":
        raise click.UsageError("review reads files, not standard input, and prints text (no --format)")
    paths = paths_of(paths, options)
    settings = settings_of({**options, "paths": paths})
    prior = _load(decisions_file) if decisions_file is not None else None
    if prior is not None:
        settings = saved.replayed(settings, prior)
    run = _run(paths, settings, sinks.Preview())
    changes = offered.offer(run)
    colored = use_color(color)
    session = Session(changes, _shower(changes, paths, settings, colored, redact), _ask(colored), click.echo, _edit)
    if prior is not None:
        _prefill(session, prior)
    if interactive:
        try:
            session.run()
        except (click.Abort, KeyboardInterrupt):
            click.echo("\nharden: review stopped: nothing written", err=True)
            return EXIT_INTERRUPTED
    if not changes:
        click.echo("No changes to review.")
    else:
        click.echo("\n".join(summary(changes, session.decided)))
    made = _decisions(session, settings)
    if save_decisions is not None:
        _save(save_decisions, made)
    return write(paths, settings, made, quiet)


def _load(path: Path) -> saved.Decisions:
    from harden.review import decisions as saved

    try:
        return saved.load(path)
    except saved.DecisionsError as error:
        raise InputError(f"{path}: {error}") from None


def _save(path: Path, made: saved.Decisions) -> None:
    from harden.engine import sinks

    try:
        sinks.write_own_file(path, made.to_json().encode("utf-8"), lambda name: name == path.name)
    except OSError as error:
        raise InputError(f"decisions not saved: {error}") from None


def _shower(changes: list[offered.Change], paths: tuple[str, ...], settings: Settings, colored: bool, redact: bool) -> Any:
    """The function that shows change `i`: a header, why fixes go together, the reviewed diff of
    the change alone (commentary and coloured hunks: harden.output.diff)."""
    from harden.engine import select, sinks
    from harden.output import diff
    from harden.review import changes as offered

    def rerun(ids: frozenset[str]) -> list[FileResult]:
        return _run(paths, settings, sinks.Preview(), select.ByIds(ids)).results

    def show(index: int) -> None:
        change = changes[index]
        header = f"({index + 1}/{len(changes)}) {', '.join(change.paths)}: {change.label()}"
        click.echo(click.style(header, bold=True) if colored else header, color=colored)
        if len(change.members) > 1:
            click.echo(f"# offered together: {'; '.join(change.requirements())}")
        for view in offered.views(change, rerun):
            click.echo(diff.reviewed(view, color=colored, redact=redact), nl=False, color=colored)

    return show


def _ask(colored: bool) -> Any:
    from harden.review.session import PROMPT

    prompt = click.style(PROMPT.rstrip(), fg="blue", bold=True) + " " if colored else PROMPT

    def ask(_: str) -> str:
        answer: str = click.prompt(prompt, prompt_suffix="", default="", show_default=False)
        return answer

    return ask


def _edit(change: offered.Change) -> edits.Edited | None:
    """Edit a change in $VISUAL or $EDITOR; None when refused or abandoned (said why)."""
    from harden.review import edits, hunks

    why = _not_editable(change)
    if why:
        click.echo(f"harden: this change cannot be edited: {why}")
        return None
    view = change.views[0] if change.views else None
    if view is None:
        return None
    before, after = hunks.Lines.of(view.original).lines, hunks.Lines.of(view.output).lines
    buffer = f"# Edit the change {change.label()} of {view.path}\n{hunks.make(before, after)}{EDIT_HELP}"
    try:
        text = click.edit(buffer, extension=".diff")
    except click.ClickException as error:
        click.echo(f"harden: {error.format_message()}")
        return None
    if text is None or not [line for line in text.splitlines() if line.strip() and not line.startswith("#")]:
        click.echo("harden: edit abandoned")
        return None
    result = change.members[0].result
    claims = [claim for m in change.members if m.finding.fix for claim in m.finding.fix.all_claims()]
    try:
        return edits.make(result, change.ids, text, claims, [m.finding.rule.id for m in change.members])
    except edits.EditRefused as refused:
        click.echo(f"harden: the edited change is refused: {refused}")
        return None


def _not_editable(change: offered.Change) -> str:
    if len(change.paths) > 1:
        return "its fixes change several files (answer y or n)"
    if any(m.finding.secrets for m in change.members):
        return "it moves a credential (answer y or n)"
    if any(v.new_files for v in change.views or ()):
        return "it creates files (answer y or n)"
    return ""


def _prefill(session: Session, prior: saved.Decisions) -> None:
    """Decide the changes whose fixes the saved decisions all decide alike (an edit: when one of
    its saved edits covers exactly those fixes)."""
    from harden.review.session import APPLY, EDIT, SKIP

    edited = {frozenset(e.ids): e for e in prior.edits}
    for index, change in enumerate(session.changes):
        choices = {prior.choices.get(i) for i in change.ids}
        if choices == {"apply"}:
            session.decided[index] = APPLY
        elif choices == {"skip"}:
            session.decided[index] = SKIP
        elif choices == {"edit"} and change.ids in edited:
            session.decided[index], session.edits[index] = EDIT, edited[change.ids]


def _decisions(session: Session, settings: Settings) -> saved.Decisions:
    from harden.review import decisions as saved

    made = saved.Decisions(settings=saved.settings_of(settings))
    for index, change in enumerate(session.changes):
        for member in change.members:
            finding = member.finding
            made.choices[finding.id] = session.decided[index] or "undecided"
            made.about[finding.id] = {"rule": finding.rule.id, "path": member.result.path, "subject": finding.subject}
    made.edits = [session.edits[i] for i in sorted(session.edits)]
    return made


def write(
    paths: tuple[str, ...],
    settings: Settings,
    made: saved.Decisions,
    quiet: bool,
    output_dir: Path | None = None,
    contract: Contract = DEFAULT_CONTRACT,
) -> int:
    """Write the approved and edited changes as `harden fix` writes (the pipeline with a ByIds
    selector of the approved fixes); an approved fix the run did not apply is an error (exit 2):
    the files are not what they were when the decisions were made."""
    from harden.engine import select
    from harden.review import edits

    approved = made.approved()
    holder: list[edits.Reviewed] = []

    def wrap(inner: Sink) -> Sink:
        holder.append(edits.Reviewed(inner, made.edits))
        return holder[0]

    status = _apply(paths, settings, output_dir, quiet, "text", contract, selector=select.ByIds(approved), wrap=wrap)
    missing = sorted(approved - holder[0].applied) if holder else []
    for ident in missing:
        about = made.about.get(ident, {})
        what = f"{about.get('rule', '?')} ({about.get('subject', '')}) in {about.get('path', '?')}"
        click.echo(f"harden: the approved fix {ident}, {what}, was not applied: the files changed since the review", err=True)
    return EXIT_ERROR if missing else status


def replay(
    paths: tuple[str, ...],
    settings: Settings,
    path: Path,
    quiet: bool,
    output_dir: Path | None,
    options: dict[str, Any],
    contract: Contract = DEFAULT_CONTRACT,
) -> int:
    """`harden fix --decisions FILE`: write what a review decided (see `write`)."""
    given = [f"--{name.replace('_', '-')}" for name in ("unsafe_fixes", "safe_only", "select", "ignore") if options.get(name)]
    if given:
        raise click.UsageError(f"--decisions replays the review with its own options: drop {', '.join(given)}")
    from harden.review import decisions as saved

    made = _load(path)
    return write(paths, saved.replayed(settings, made), made, quiet, output_dir, contract)
