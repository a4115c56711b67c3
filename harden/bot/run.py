"""`harden pr`: harden the base branch in a clean worktree, and open or update one pull request per topic.

For each topic (harden.bot.topics), in order:

1. Make a clean temporary worktree at the remote base branch's head (fetched), and read the
   configuration there: the bot hardens the base branch as the base branch configures it.
2. Find the bot's open pull request for the topic's branch; its ticked drop boxes
   (harden.bot.body.ticked) are the reviewer's decisions, by finding id.
3. Run the one pipeline on the PATHs inside the worktree, with the configuration's selection
   within the topic, minus the dropped ids (`--verify` first verifies, as `harden fix --verify`),
   into the `Worktree` sink (harden.engine.sinks); commit the result on the base.
4. Publish:
   - nothing to change: close the bot's open pull request with a comment, and delete its branch
     when only the bot committed there;
   - the branch holds a commit without the `Harden-Bot` trailer (a human's): leave the branch
     alone and say so in one comment (once per head of the branch);
   - the branch already holds the same tree on the same base: push nothing;
   - else push with a lease on the branch's head as fetched (never a force over a commit the
     bot has not seen), then open the pull request (labels, assignees, reviewers, draft from
     `[tool.harden.bot]`) or update its title and body when they changed.
   A forge error after a push undoes the push (the branch goes back to where it was, or is
   deleted), and a forge error after opening closes what was opened, so that a failed run
   leaves the repository as it found it.

The default branch and the base are never pushed to (harden.bot.git.Repository.push refuses).
`--dry-run` fetches the base (a read), runs the same pipeline, prints the branch, the commit
message and the body, and makes no commit, no push and no API call: it cannot read ticked boxes,
so its body shows what the first run would open.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from harden import __version__
from harden.bot import body
from harden.bot.forge import Forge, ForgeError, PullRequest
from harden.bot.git import GitError, Repository
from harden.bot.topics import Topic
from harden.config import Settings
from harden.engine.select import Selector
from harden.model import DiagnosticKind, FileResult

GITHUB_BODY_LIMIT = 65536  # what --dry-run fits the body to (GitHub's limit, the smallest we know)
NETWORKS_RULE = "user-defined-networks"


class BotError(Exception):
    """The bot stopped for a topic; the message is one line, safe to print."""


class Skipped(Exception):
    """A topic the run's settings leave nothing to do for (harden.bot.topics.Topic.skipped)."""


@dataclass(frozen=True)
class BotConfig:
    """`[tool.harden.bot]` of the base branch's configuration."""

    branch: str | None = None
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    draft: bool = False


# What the command line gives the bot: the run's Settings (and bot configuration) for PATHs
# relative to the current directory, read from the configuration found there.
SettingsFor = Callable[[tuple[str, ...]], tuple[Settings, BotConfig]]


@dataclass(frozen=True)
class Request:
    paths: tuple[str, ...]  # relative to the repository's root
    base: str | None = None  # None: the remote's default branch
    dry_run: bool = False
    sign: bool = False
    verify_timeout: float | None = None  # None: no verification


@dataclass(frozen=True)
class Remote:
    """What the forge and the remote said about one topic before the run: the base's head, the
    branch's head (None: absent), the bot's open pull request and the boxes ticked in it."""

    base: str
    base_sha: str
    branch_sha: str | None
    pull: PullRequest | None
    dropped: list[body.Dropped]
    protected: tuple[str, ...]  # never pushed to: the remote's default branch and the base


@dataclass
class Built:
    """What one topic's run made: the results, the commit (None: nothing changed) and the body."""

    topic: Topic
    remote: Remote
    results: list[FileResult]
    message: str
    body: str
    config: BotConfig
    commit: str | None = None
    errors: list[str] = field(default_factory=list)


@contextlib.contextmanager
def inside(directory: Path) -> Iterator[None]:
    """Run with `directory` as the current directory: finding ids and messages name files as
    displayed (relative), so that a ticked box matches the same finding on the next run."""
    before = Path.cwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(before)


def build(topic: Topic, request: Request, repo: Repository, forge: Forge | None, settings_for: SettingsFor) -> Built:
    """Read the base branch's configuration in a clean worktree at its head, look at the topic's
    branch and pull request, run the pipeline, and commit what it wrote (not on a dry run)."""
    default = repo.default_branch()
    base = request.base or default
    base_sha = repo.fetch([base]).get(base)
    if base_sha is None:
        raise BotError(f"the base branch {base!r} is not on the remote")
    with repo.worktree(base_sha) as tree, inside(tree):
        settings, config = settings_for(request.paths)
        topic = topic.named(config.branch)
        if topic.branch == base:
            raise BotError(f"the bot's branch {topic.branch!r} is the base branch: choose another ([tool.harden.bot] branch)")
        remote = look(topic, base, base_sha, (default, base), repo, forge)
        why = topic.skipped(settings)
        if why is not None:
            raise Skipped(why)
        results, verified = _harden(topic, request, settings, [d.id for d in remote.dropped])
        # A ticked box whose finding this run no longer has (fixed on the base, or its id
        # changed) is not listed as dropped: the body says only what the branch holds.
        found = {finding.id for result in results for finding in result.findings}
        dropped = [d for d in remote.dropped if d.id in found]
        limit = forge.body_limit if forge is not None else GITHUB_BODY_LIMIT
        text = body.render(topic.name, results, dropped, _graph(results, settings), verified, limit, __version__)
        built = Built(topic, remote, results, topic.message(results), text, config, errors=_errors(results))
        if not request.dry_run and any(r.changed for r in results):
            built.commit = repo.commit(tree, base_sha, built.message, repo.identity(), request.sign)
        return built


def _errors(results: list[FileResult]) -> list[str]:
    """The files' errors as `path:line: message` (notes are not errors)."""
    return [
        f"{e.path}:{e.line}: {e.message}" if e.line else f"{e.path}: {e.message}"
        for r in results
        for e in r.errors
        if e.kind is not DiagnosticKind.NOTE
    ]


def _harden(topic: Topic, request: Request, settings: Settings, dropped: list[str]) -> tuple[list[FileResult], str | None]:
    """The one pipeline on the PATHs (inside the worktree), within the topic: the results, and
    verify's report when `--verify` ran first."""
    from harden import engine
    from harden.engine import select, sinks
    from harden.output import text
    from harden.verified import RecordsError

    settings = topic.settings(settings)
    selector: Selector = topic.selector(select.from_settings(settings), dropped)
    report = None
    if request.verify_timeout is not None:
        selector, report = _verified(request, settings, selector)
    try:
        run = engine.run(list(request.paths), settings, selector, sinks.Worktree())
    except engine.PinningError as error:
        raise BotError(text.diagnostic(error.diagnostic)) from None
    except RecordsError as error:
        raise BotError(str(error)) from None
    return run.results, report


def _verified(request: Request, settings: Settings, selector: Selector) -> tuple[Selector, str]:
    """`harden fix --verify`'s plan in the worktree: its selector and its report (BotError when
    verify could not run). The repairs it records (.harden/verified.toml) go into the commit."""
    from harden.verify import fixing

    assert request.verify_timeout is not None
    said = io.StringIO()
    plan = fixing.plan(request.paths, (), settings, selector, request.verify_timeout, said)
    if isinstance(plan, int):
        raise BotError(f"harden verify could not run (exit {plan}): {said.getvalue().strip()}")
    return plan.selector, said.getvalue()


def _graph(results: list[FileResult], settings: Settings) -> str | None:
    """The service graph (mermaid) of each Compose file whose networks the run changed, as written."""
    changed = [r.path for r in results if r.written and NETWORKS_RULE in r.applied_rules]
    if not changed:
        return None
    from harden.engine import graphing
    from harden.output import graph

    return graph.mermaid(graphing.graphs(changed, settings).graphs) or None


def look(topic: Topic, base: str, base_sha: str, protected: tuple[str, ...], repo: Repository, forge: Forge | None) -> Remote:
    """Fetch the topic's branch; read the bot's pull request and its ticked boxes (not on a dry run)."""
    branch_sha = repo.fetch([topic.branch]).get(topic.branch)
    pull = forge.find_open(topic.branch) if forge is not None else None
    dropped = body.ticked(pull.body) if pull is not None else []
    return Remote(base, base_sha, branch_sha, pull, dropped, tuple(dict.fromkeys(protected)))


def one_topic(
    topic: Topic, request: Request, repo: Repository, forge: Forge | None, settings_for: SettingsFor, out: TextIO
) -> list[str]:
    """Build and publish one topic; what went wrong with the files (printed by the caller)."""
    try:
        built = build(topic, request, repo, forge, settings_for)
    except Skipped as why:
        out.write(f"{topic.name}: skipped: {why}\n")
        return []
    if forge is None:
        _show_dry_run(built, out)
        return built.errors
    from harden.bot import publish

    out.write(f"{built.topic.name}: {publish.publish(built, repo, forge)}\n")
    return built.errors


def _show_dry_run(built: Built, out: TextIO) -> None:
    remote = built.remote
    changed = any(r.changed for r in built.results)
    out.write(f"harden pr --dry-run: topic {built.topic.name}\n")
    out.write(f"branch: {built.topic.branch} (from {remote.base} at {remote.base_sha[:12]})\n")
    if not changed:
        out.write("nothing to change: no commit, and the bot's open pull request (if any) would be closed\n\n")
        return
    out.write(f"commit message:\n{built.message}\n")
    out.write(f"title: {built.topic.title}\nbody:\n{built.body}\n")


def run(
    topics: Sequence[Topic],
    request: Request,
    repo: Repository,
    forge: Forge | None,
    settings_for: SettingsFor,
    out: TextIO,
    err: TextIO,
) -> int:
    """Every topic in turn; 0 when all went through, 2 when one stopped or a file could not be
    read (the other topics still run, as other files do)."""
    status = 0
    for topic in topics:
        try:
            for error in one_topic(topic, request, repo, forge, settings_for, out):
                err.write(error + "\n")
                status = 2
        except (BotError, ForgeError, GitError) as error:
            err.write(f"harden pr: {topic.name}: {error}\n")
            status = 2
    return status
