"""The bot's git: a temporary worktree, a commit, a push with a lease, through the git command line.

Everything goes through `git -C <dir> ...` in a child process (no library), so the user's git
behaves as it does for them: their identity, their signing set-up (gpg or ssh), their
`.gitattributes` (line endings, filters). Every child runs with `LC_ALL=C` (messages in English,
so they can be recognised) and `GIT_TERMINAL_PROMPT=0`: without credentials git fails at once
instead of waiting for a password nobody will type, and its stdin is never the terminal.

The token: `auth_header` (`Authorization: Basic ...`, from the forge) reaches git only through
`GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n` in the environment of the network
commands (ls-remote, fetch, push). It is never on a command line (`ps` shows those to every
user), never in `.git/config`, never in a remote URL. The key is `http.<remote URL>.extraHeader`,
first emptied and then set: the most specific URL match, so it replaces an extra header that
actions/checkout persisted for the forge (`http.https://github.com/.extraheader`) instead of
being sent beside it. git's error output is scrubbed of the header, the token and any
`user:password@` in a URL before it becomes a `GitError`.

What the bot never does: push to a protected branch (`push` refuses before git runs), push
without a lease (`--force-with-lease` with the sha the bot last saw, or empty: the branch must not
exist), run the repository's git hooks (they belong to the people working in the repository;
the pull request is checked by its CI), or touch the user's checkout (all work happens in a
detached worktree in a temporary directory, removed afterwards).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

__all__ = ["BOT_IDENTITY", "TRAILER", "Commit", "GitError", "Identity", "Repository"]

TRAILER = "Harden-Bot"  # every bot commit carries `Harden-Bot: <topic>`; a commit without it is a human's
# No hook of the repository runs (pre-push, post-checkout, reference-transaction...): /dev/null holds none.
NO_HOOKS = ("-c", "core.hooksPath=/dev/null")
# Variables that point git at another repository or index: set when harden runs inside a git
# hook, they would make `git -C <worktree>` work on the hook's repository instead.
REPOSITORY_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY")
AUTH_FAILURES = ("terminal prompts disabled", "could not read username", "could not read password", "authentication failed")
URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")


class GitError(Exception):
    """A git command failed. str(error) is one line, safe to print: git's message with any
    credential removed."""


@dataclass(frozen=True)
class Identity:
    name: str
    email: str


# RFC 2606 reserves .invalid: the address is made up on purpose and can never reach anyone.
BOT_IDENTITY = Identity("harden", "harden@users.noreply.invalid")


@dataclass(frozen=True)
class Commit:
    sha: str
    author: str  # "Name <email>"
    subject: str
    by_bot: bool  # the message has the Harden-Bot trailer


def strip_credentials(url: str) -> str:
    """`url` without a `user:password@` part (http and https only: an ssh user is no secret)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _secrets_of(header: str | None) -> list[str]:
    """The strings that must never be shown: the header, its credential, and the decoded
    `user:token` and token of a Basic credential. Longest first, so none is left half-masked."""
    if not header:
        return []
    found = {header.strip()}
    credential = header.partition(":")[2].strip().partition(" ")[2].strip()
    found.add(credential)
    try:
        decoded = base64.b64decode(credential, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    found.update({decoded, decoded.partition(":")[2]})
    return sorted((s for s in found if len(s) >= 4), key=len, reverse=True)


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return URL_CREDENTIALS.sub(r"\1***@", text)


class Repository:
    """A git repository and one of its remotes, worked on by the bot.

    `environ` is the environment git children start from (default: this process's); `auth_header`
    authenticates the network commands (see the module docstring). Raises GitError when `path`
    is not inside a git repository or git is not installed.
    """

    def __init__(
        self, path: Path, remote: str = "origin", auth_header: str | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        self.remote = remote
        self._auth_header = auth_header
        self._secrets = _secrets_of(auth_header)
        base = dict(os.environ if environ is None else environ)
        for name in REPOSITORY_VARIABLES:
            base.pop(name, None)
        self._environ = {**base, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
        self.root = Path(self._git("rev-parse", "--show-toplevel", cwd=path))

    def _git(
        self,
        *args: str,
        cwd: Path | None = None,
        network: bool = False,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> str:
        """Run git in `cwd` (default: the repository) and return its stdout without the final
        newline; GitError (scrubbed) when it fails and `check`."""
        environ = {**self._environ, **(env or {}), **(self._auth_environment() if network else {})}
        try:
            done = subprocess.run(
                ["git", *NO_HOOKS, "-C", str(cwd or self.root), *args],
                env=environ,
                input=input,
                stdin=None if input is not None else subprocess.DEVNULL,
                capture_output=True,
                text=True,
            )
        except FileNotFoundError:
            raise GitError("git is not installed (harden pr runs the git command line)") from None
        if check and done.returncode:
            raise GitError(self._message(args, done.stderr))
        return done.stdout.rstrip("\n")

    def _message(self, args: Sequence[str], stderr: str) -> str:
        command = next(a for a in args if not a.startswith("-") and "=" not in a)
        if any(failure in stderr.lower() for failure in AUTH_FAILURES):
            given = "the token was refused" if self._auth_header else "no token was given"
            return f"git {command}: authentication failed for remote {self.remote!r} ({given})"
        if "returned error: 403" in stderr:
            needed = "write" if command == "push" else "read"
            return f"git {command}: remote {self.remote!r} answered HTTP 403: the token lacks permission (contents: {needed})"
        lines = [line.strip() for line in _scrub(stderr, self._secrets).splitlines() if line.strip()]
        return f"git {command} failed: " + ("; ".join(lines) or "no message")

    def _auth_environment(self) -> dict[str, str]:
        """The auth header as `http.<url>.extraHeader` for each URL of the remote, appended to
        any GIT_CONFIG_COUNT entries the environment already has."""
        if not self._auth_header:
            return {}
        urls = self._git("remote", "get-url", "--all", self.remote).splitlines()
        urls += self._git("remote", "get-url", "--push", "--all", self.remote).splitlines()
        count = int(self._environ.get("GIT_CONFIG_COUNT", "0") or "0")
        entries: dict[str, str] = {}
        for url in dict.fromkeys(urls):
            for value in ("", self._auth_header):  # "" empties the list, so ours is the only header
                entries[f"GIT_CONFIG_KEY_{count}"] = f"http.{url}.extraHeader"
                entries[f"GIT_CONFIG_VALUE_{count}"] = value
                count += 1
        return {**entries, "GIT_CONFIG_COUNT": str(count)}

    def remote_url(self) -> str:
        """The remote's fetch URL, without any `user:password@` (safe to print)."""
        return strip_credentials(self._git("remote", "get-url", self.remote))

    def default_branch(self) -> str:
        """The branch the remote's HEAD names (asked of the remote, not the local checkout)."""
        out = self._git("ls-remote", "--symref", self.remote, "HEAD", network=True)
        for line in out.splitlines():
            target, _, name = line.partition("\t")
            if name == "HEAD" and target.startswith("ref: refs/heads/"):
                return target.removeprefix("ref: refs/heads/")
        raise GitError(f"git ls-remote: the remote {self.remote!r} names no default branch (is it empty?)")

    def fetch(self, branches: Sequence[str]) -> dict[str, str | None]:
        """Fetch each of `branches` that exists on the remote into `refs/harden/<remote>/<branch>`
        (the user's remote-tracking refs stay as they were). Returns branch -> sha, None for a
        branch the remote does not have (its old refs/harden ref is deleted).

        A shallow clone (actions/checkout's default, fetch-depth 1) is made complete here: at a
        shallow boundary git cannot see that the base is an ancestor of the bot's branch, and
        the base's old commits would look like foreign commits on it. That costs one full fetch.
        """
        wanted = {f"refs/heads/{b}": b for b in branches}
        out = self._git("ls-remote", "--heads", self.remote, *wanted, network=True)
        present = [wanted[ref] for _, ref in (line.split("\t", 1) for line in out.splitlines()) if ref in wanted]
        local = {b: f"refs/harden/{self.remote}/{b}" for b in branches}
        if present:
            specs = [f"+refs/heads/{b}:{local[b]}" for b in present]
            complete = ["--unshallow"] if self._git("rev-parse", "--is-shallow-repository") == "true" else []
            self._git("fetch", "--quiet", "--no-tags", "--no-write-fetch-head", *complete, self.remote, *specs, network=True)
        found: dict[str, str | None] = {}
        for branch in branches:
            if branch in present:
                found[branch] = self._git("rev-parse", "--verify", local[branch])
            else:
                self._git("update-ref", "-d", local[branch])
                found[branch] = None
        return found

    def identity(self) -> Identity:
        """The user's git identity (GIT_AUTHOR_NAME/EMAIL, else user.name/user.email), or
        BOT_IDENTITY when either half is missing (never half of each)."""
        name = self._environ.get("GIT_AUTHOR_NAME") or self._git("config", "--get", "user.name", check=False)
        email = self._environ.get("GIT_AUTHOR_EMAIL") or self._git("config", "--get", "user.email", check=False)
        return Identity(name, email) if name and email else BOT_IDENTITY

    @contextmanager
    def worktree(self, start: str) -> Iterator[Path]:
        """A clean detached worktree at commit `start`, in a new temporary directory outside the
        repository; removed (and pruned) afterwards, also when the block raises."""
        path = Path(tempfile.mkdtemp(prefix="harden-worktree-"))
        try:
            self._git("worktree", "add", "--quiet", "--detach", str(path), f"{start}^{{commit}}")
            yield path
        finally:
            self._git("worktree", "remove", "--force", str(path), check=False)
            self._git("worktree", "prune", check=False)
            shutil.rmtree(path, ignore_errors=True)

    def commit(self, worktree: Path, parent: str, message: str, identity: Identity, sign: bool) -> str | None:
        """Commit everything in `worktree` (`git add -A`: .gitattributes conversions apply) on
        `parent` as `identity` (author and committer); None when the tree equals `parent`'s.

        Signed (`-S`, with the user's signing set-up: gpg.format, user.signingKey) when `sign`
        or the user's git has commit.gpgSign. The worktree's HEAD moves to the new commit.
        """
        self._git("add", "-A", cwd=worktree)
        tree = self._git("write-tree", cwd=worktree)
        if tree == self.tree(parent):
            return None
        signed = sign or self._git("config", "--type=bool", "--get", "commit.gpgSign", check=False) == "true"
        people = {
            "GIT_AUTHOR_NAME": identity.name,
            "GIT_AUTHOR_EMAIL": identity.email,
            "GIT_COMMITTER_NAME": identity.name,
            "GIT_COMMITTER_EMAIL": identity.email,
        }
        text = message if message.endswith("\n") else message + "\n"
        args = ["commit-tree", *(["-S"] if signed else []), tree, "-p", parent, "-F", "-"]
        sha = self._git(*args, cwd=worktree, input=text, env=people)
        self._git("update-ref", "HEAD", sha, cwd=worktree)
        return sha

    def tree(self, rev: str) -> str:
        return self._git("rev-parse", "--verify", "--end-of-options", f"{rev}^{{tree}}")

    def parent(self, rev: str) -> str:
        return self._git("rev-parse", "--verify", "--end-of-options", f"{rev}^1")

    def commits_between(self, base: str, head: str) -> list[Commit]:
        """The commits in `head` but not in `base` (base..head), oldest first."""
        fields = "%H%x00%an <%ae>%x00%s%x00%(trailers:key=" + TRAILER + ",valueonly)%x1e"
        out = self._git("log", "--reverse", f"--format={fields}", "--end-of-options", f"{base}..{head}", "--")
        commits = []
        for record in out.split("\x1e"):
            if record.strip():
                sha, author, subject, trailer = record.lstrip("\n").split("\x00")
                commits.append(Commit(sha, author, subject, by_bot=bool(trailer.strip())))
        return commits

    def unmerged(self, base: str, head: str) -> list[str]:
        """The commits of base..head whose change `base` does not hold yet, by patch id (`git
        cherry`): a commit squashed or rebased into `base` unchanged counts as merged."""
        out = self._git("cherry", "--end-of-options", base, head)
        return [line[2:] for line in out.splitlines() if line.startswith("+ ")]

    def push(self, sha: str, branch: str, expected: str | None, protected: Sequence[str]) -> None:
        """Set the remote's `branch` to `sha` if it still is `expected` (None: it must not exist).
        GitError, before any git runs, when `branch` is protected; GitError when the lease
        fails (someone else moved the branch): nothing is changed then. Pushing the sha the
        branch already has changes nothing and is no error, whatever `expected` says."""
        self._refuse_protected(branch, protected)
        lease = f"--force-with-lease=refs/heads/{branch}:{expected or ''}"
        self._git("push", "--quiet", lease, self.remote, f"{sha}:refs/heads/{branch}", network=True)

    def delete_branch(self, branch: str, expected: str, protected: Sequence[str]) -> None:
        """Delete the remote's `branch` if it still is `expected`; refuses a protected branch."""
        self._refuse_protected(branch, protected)
        lease = f"--force-with-lease=refs/heads/{branch}:{expected}"
        self._git("push", "--quiet", lease, self.remote, f":refs/heads/{branch}", network=True)

    def _refuse_protected(self, branch: str, protected: Sequence[str]) -> None:
        if branch in protected:
            raise GitError(f"refusing to push to {branch!r}: it is protected (the bot never changes the default branch)")
