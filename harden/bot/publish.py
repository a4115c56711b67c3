"""Publishing one topic's commit: push it with a lease, then open, update or close the pull request.

The decisions (harden.bot.run's docstring has the whole flow):
- The bot's commits carry the `Harden-Bot` trailer. A commit on the branch without it is a
  human's: the bot then pushes nothing, says so in one comment per head of the branch (a hidden
  marker in the body remembers it said so), and leaves the branch alone, as Renovate does when
  someone else has edited its branch.
- The branch is pushed only when its tree or its base differ from what the run made, and always
  with `--force-with-lease` on the head the run fetched: a commit pushed meanwhile is never lost.
- The bot's branch with commits the base does not have, but no open pull request, is one a
  human closed without merging: "no, thanks", which the bot respects as Renovate and Dependabot
  do, until someone deletes the branch. A merged branch's commits are in the base, or their
  change is (a squash or rebase merge of the bot's one commit has its patch id: `git cherry`);
  one the bot closed itself was deleted with it.
- The title and body are written only when they differ, so that a run with nothing new makes
  no API write at all.
- A forge error after the push undoes the push; one after opening the pull request (labels,
  assignees, reviewers) closes it again: the run leaves no half-made state behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harden.bot.forge import Forge, ForgeError
from harden.bot.git import GitError, Repository

if TYPE_CHECKING:
    from harden.bot.run import Built


def publish(built: Built, repo: Repository, forge: Forge) -> str:
    """Push and open/update/close as the module docstring says; one line saying what was done."""
    remote = built.remote
    if built.commit is None:
        return _nothing_left(built, repo, forge)
    if remote.branch_sha is not None:
        ahead = repo.commits_between(remote.base_sha, remote.branch_sha)
        foreign = [c for c in ahead if not c.by_bot]
        if foreign:
            return _left_alone(built, forge, [f"{c.sha[:12]} {c.subject}" for c in foreign])
        if remote.pull is None and ahead and repo.unmerged(remote.base_sha, remote.branch_sha):
            return (
                f"left {built.topic.branch} alone: its pull request was closed without merging, and harden opens no "
                "new one while the branch is there (delete the branch to have harden open one again)"
            )
    pushed = _push(built, repo)
    try:
        return _pull_request(built, forge, pushed)
    except ForgeError as error:
        if not pushed:
            raise
        raise ForgeError(f"{error}; {_undo_push(built, repo)}", error.status) from None


def _push(built: Built, repo: Repository) -> bool:
    """Push the commit unless the branch already holds its tree on the same base; whether it pushed."""
    remote, commit = built.remote, built.commit
    assert commit is not None
    if (
        remote.branch_sha is not None
        and repo.tree(remote.branch_sha) == repo.tree(commit)
        and repo.parent(remote.branch_sha) == remote.base_sha
    ):
        return False
    repo.push(commit, built.topic.branch, remote.branch_sha, remote.protected)
    return True


def _undo_push(built: Built, repo: Repository) -> str:
    """Put the branch back where it was (delete it if the run made it); what was done, for the message."""
    remote, commit, branch = built.remote, built.commit, built.topic.branch
    assert commit is not None
    try:
        if remote.branch_sha is None:
            repo.delete_branch(branch, commit, remote.protected)
        else:
            repo.push(remote.branch_sha, branch, commit, remote.protected)
    except GitError as error:
        return f"undoing the push to {branch} failed too: {error}"
    return f"the push to {branch} was undone"


def _pull_request(built: Built, forge: Forge, pushed: bool) -> str:
    topic, pull, config = built.topic, built.remote.pull, built.config
    if pull is None:
        opened = forge.open(topic.branch, built.remote.base, topic.title, built.body, config.draft)
        try:
            if config.labels:
                forge.label(opened.number, config.labels)
            if config.assignees:
                forge.assign(opened.number, config.assignees)
            if config.reviewers:
                forge.request_review(opened.number, config.reviewers)
        except ForgeError as error:
            try:
                forge.close(opened.number)
            except ForgeError as again:
                raise ForgeError(f"{error}; closing #{opened.number} again failed too: {again}", error.status) from None
            raise ForgeError(f"{error}; #{opened.number} was closed again", error.status) from None
        return f"opened #{opened.number} {opened.url}"
    if pull.title == topic.title and pull.body == built.body:
        return f"#{pull.number} {'branch updated' if pushed else 'is up to date'} {pull.url}"
    forge.update(pull.number, topic.title, built.body)
    return f"updated #{pull.number} {pull.url}"


def _nothing_left(built: Built, repo: Repository, forge: Forge) -> str:
    """Nothing to change: close the bot's pull request, delete its branch if only the bot committed there."""
    remote, branch = built.remote, built.topic.branch
    said = "nothing to change"
    if remote.pull is not None:
        forge.comment(
            remote.pull.number,
            f"harden finds nothing left to change on `{remote.base}` (at {remote.base_sha[:12]}): the changes are there "
            "already, or every one was dropped. Closing this pull request; harden opens a new one when there is "
            "something to change again.",
        )
        forge.close(remote.pull.number)
        said = f"closed #{remote.pull.number}: nothing left to change"
    if remote.branch_sha is not None and all(c.by_bot for c in repo.commits_between(remote.base_sha, remote.branch_sha)):
        repo.delete_branch(branch, remote.branch_sha, remote.protected)
        said += f"; deleted {branch}"
    return said


def _left_alone(built: Built, forge: Forge, commits: list[str]) -> str:
    """Someone else committed on the branch: no push; one comment per head of the branch."""
    remote, branch = built.remote, built.topic.branch
    said = f"left {branch} alone: it has commits harden did not make ({', '.join(c[:12] for c in commits)})"
    pull = remote.pull
    marker = f"<!-- harden:left-alone {remote.branch_sha} -->"
    if pull is None or marker in pull.body:
        return said
    listed = "\n".join(f"- {commit}" for commit in commits)
    text = (
        f"This branch has commits harden did not make:\n\n{listed}\n\n"
        f"harden never force-pushes over someone else's commits, so it leaves `{branch}` alone and this pull "
        f"request no longer follows `{remote.base}`. To hand the branch back to harden, remove those commits, "
        "or close this pull request and delete the branch: the next run starts afresh."
    )
    forge.update(pull.number, pull.title, f"{pull.body}\n{marker}\n")
    try:
        forge.comment(pull.number, text)
    except ForgeError:
        forge.update(pull.number, pull.title, pull.body)
        raise
    return f"{said}; commented on #{pull.number}"
