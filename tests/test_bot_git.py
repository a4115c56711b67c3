"""harden.bot.git against a real git server on 127.0.0.1 over HTTP with basic auth (tests/gitserver.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from gitserver import USER, GitServer, basic_auth, clone, commit_files, git, seed

from harden.bot.git import BOT_IDENTITY, TRAILER, GitError, Identity, Repository

COMPOSE = "services:\n  web:\n    image: nginx:1.27\n    ports:\n      - 8080:80\n"
BOT = BOT_IDENTITY


@pytest.fixture
def origin(git_server: GitServer, git_env: dict[str, str]) -> str:
    return seed(git_server, git_env, "app", {"compose.yaml": COMPOSE, "README.md": "# app\n"})


@pytest.fixture
def checkout(git_server: GitServer, git_env: dict[str, str], origin: str, tmp_path: Path) -> Path:
    return clone(git_env, origin, tmp_path / "checkout", git_server.auth_header())


@pytest.fixture
def repo(git_server: GitServer, git_env: dict[str, str], checkout: Path) -> Repository:
    return Repository(checkout, auth_header=git_server.auth_header(), environ=git_env)


def remote_heads(env: dict[str, str], server: GitServer, url: str, cwd: Path) -> dict[str, str]:
    out = git(env, cwd, "ls-remote", "--heads", url, header=server.auth_header())
    return {ref.removeprefix("refs/heads/"): sha for sha, ref in (line.split("\t") for line in out.splitlines())}


def bot_commit(repo: Repository, start: str, text: str, topic: str = "hardening") -> str:
    """A bot commit on `start` that writes `text` into compose.yaml."""
    with repo.worktree(start) as tree:
        (tree / "compose.yaml").write_text(text)
        sha = repo.commit(tree, start, f"fix(security): harden\n\n{TRAILER}: {topic}\n", BOT, sign=False)
    assert sha is not None
    return sha


def test_default_branch_is_the_remotes_head(git_server: GitServer, git_env: dict[str, str], tmp_path: Path) -> None:
    url = seed(git_server, git_env, "trunk-repo", {"a.txt": "a\n"}, branch="trunk")
    checkout = clone(git_env, url, tmp_path / "trunk", git_server.auth_header())
    repo = Repository(checkout, auth_header=git_server.auth_header(), environ=git_env)
    assert repo.default_branch() == "trunk"
    assert repo.root == checkout.resolve()


def test_no_repository_or_no_git_is_a_clear_error(git_env: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(GitError, match="git rev-parse failed: fatal: not a git repository"):
        Repository(tmp_path, environ=git_env)
    with pytest.raises(GitError, match="git is not installed"):
        Repository(tmp_path, environ={**git_env, "PATH": str(tmp_path)})


def test_fetch_present_and_absent_branches(repo: Repository, git_env: dict[str, str], checkout: Path) -> None:
    main = git(git_env, checkout, "rev-parse", "origin/main")
    assert repo.fetch(["main", "harden/hardening"]) == {"main": main, "harden/hardening": None}
    assert git(git_env, checkout, "rev-parse", "refs/harden/origin/main") == main

    sha = bot_commit(repo, main, COMPOSE + "# changed\n")
    repo.push(sha, "harden/hardening", None, ["main"])
    assert repo.fetch(["harden/hardening"]) == {"harden/hardening": sha}
    repo.delete_branch("harden/hardening", sha, ["main"])
    assert repo.fetch(["harden/hardening"]) == {"harden/hardening": None}
    refs = git(git_env, checkout, "for-each-ref", "--format=%(refname)", "refs/harden/")
    assert refs.splitlines() == ["refs/harden/origin/main"]  # the stale ref went with the branch


def test_worktree_is_clean_detached_outside_and_removed(repo: Repository, git_env: dict[str, str], checkout: Path) -> None:
    main = git(git_env, checkout, "rev-parse", "HEAD")
    (checkout / "compose.yaml").write_text("local edit, not committed\n")  # the user's checkout is not used
    with repo.worktree("main") as tree:
        assert tree.is_dir()
        assert not tree.resolve().is_relative_to(checkout.resolve())
        assert git(git_env, tree, "status", "--porcelain") == ""
        assert git(git_env, tree, "rev-parse", "--abbrev-ref", "HEAD") == "HEAD"  # detached
        assert git(git_env, tree, "rev-parse", "HEAD") == main
        assert (tree / "compose.yaml").read_text() == COMPOSE
    assert not tree.exists()
    assert git(git_env, checkout, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert (checkout / "compose.yaml").read_text() == "local edit, not committed\n"


def test_worktree_is_removed_when_the_block_raises(repo: Repository, git_env: dict[str, str], checkout: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), repo.worktree("main") as tree:
        (tree / "new.txt").write_text("x\n")
        raise RuntimeError("boom")
    assert not tree.exists()
    assert git(git_env, checkout, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_commit_is_none_when_nothing_changed_and_made_otherwise(
    repo: Repository, git_env: dict[str, str], checkout: Path
) -> None:
    main = git(git_env, checkout, "rev-parse", "HEAD")
    with repo.worktree(main) as tree:
        (tree / "compose.yaml").write_text(COMPOSE)  # rewritten, same bytes
        assert repo.commit(tree, main, "nothing\n", BOT, sign=False) is None
        (tree / "compose.yaml").write_text(COMPOSE.replace("1.27", "1.28"))
        sha = repo.commit(tree, main, f"fix: pin\n\n{TRAILER}: hardening", BOT, sign=False)
        assert sha is not None
        assert git(git_env, tree, "status", "--porcelain") == ""  # HEAD moved with the commit
    assert repo.parent(sha) == main
    assert repo.tree(sha) != repo.tree(main)
    people = git(git_env, checkout, "log", "-1", "--format=%an <%ae>|%cn <%ce>", sha)
    assert people == "harden <harden@users.noreply.invalid>|harden <harden@users.noreply.invalid>"
    assert git(git_env, checkout, "log", "-1", "--format=%B", sha) == f"fix: pin\n\n{TRAILER}: hardening"


def test_identity_is_the_users_else_the_bots(git_env: dict[str, str], checkout: Path) -> None:
    assert Repository(checkout, environ=git_env).identity() == Identity("Test Human", "human@example.com")
    bare_env = {k: v for k, v in git_env.items() if not k.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_"))}
    assert Repository(checkout, environ=bare_env).identity() == BOT_IDENTITY
    git(bare_env, checkout, "config", "user.name", "Configured")
    assert Repository(checkout, environ=bare_env).identity() == BOT_IDENTITY  # never half of each
    git(bare_env, checkout, "config", "user.email", "configured@example.com")
    assert Repository(checkout, environ=bare_env).identity() == Identity("Configured", "configured@example.com")


def test_push_creates_a_branch(
    repo: Repository, git_server: GitServer, git_env: dict[str, str], origin: str, checkout: Path
) -> None:
    main = git(git_env, checkout, "rev-parse", "HEAD")
    sha = bot_commit(repo, main, COMPOSE + "# hardened\n")
    assert "harden/hardening" not in remote_heads(git_env, git_server, origin, checkout)
    repo.push(sha, "harden/hardening", None, ["main"])
    assert remote_heads(git_env, git_server, origin, checkout) == {"main": main, "harden/hardening": sha}


def test_a_stale_lease_fails_and_changes_nothing(
    repo: Repository, git_server: GitServer, git_env: dict[str, str], origin: str, checkout: Path
) -> None:
    main = git(git_env, checkout, "rev-parse", "HEAD")
    first = bot_commit(repo, main, COMPOSE + "# first\n")
    second = bot_commit(repo, main, COMPOSE + "# second\n")
    repo.push(first, "harden/hardening", None, ["main"])
    with pytest.raises(GitError, match="stale info"):
        repo.push(second, "harden/hardening", None, ["main"])  # the branch must not exist, but does
    with pytest.raises(GitError, match="stale info"):
        repo.push(second, "harden/hardening", main, ["main"])  # the bot saw another sha
    with pytest.raises(GitError, match="stale info"):
        repo.delete_branch("harden/hardening", main, ["main"])
    assert remote_heads(git_env, git_server, origin, checkout)["harden/hardening"] == first
    repo.push(first, "harden/hardening", None, ["main"])  # already there: nothing to push, no error
    repo.push(second, "harden/hardening", first, ["main"])  # the right lease goes through
    assert remote_heads(git_env, git_server, origin, checkout)["harden/hardening"] == second


def test_the_default_branch_is_refused_before_git_runs(repo: Repository, git_server: GitServer, checkout: Path) -> None:
    main = repo.fetch(["main"])["main"]
    assert main is not None
    sha = bot_commit(repo, main, COMPOSE + "# on main?\n")
    seen = list(git_server.log)
    with pytest.raises(GitError, match="refusing to push to 'main': it is protected"):
        repo.push(sha, "main", main, ["main"])
    with pytest.raises(GitError, match="protected"):
        repo.delete_branch("main", main, ["main"])
    assert git_server.log == seen  # not even a ref advertisement was asked for
    repo.push(sha, "harden/hardening", None, ["main"])
    assert git_server.receive_packs()  # a push is visible in the log when one is made


def test_commits_between_tells_a_human_commit(
    repo: Repository, git_server: GitServer, git_env: dict[str, str], origin: str, checkout: Path
) -> None:
    main = git(git_env, checkout, "rev-parse", "HEAD")
    bot = bot_commit(repo, main, COMPOSE + "# bot\n")
    repo.push(bot, "harden/hardening", None, ["main"])
    human = commit_files(git_env, origin, git_server.auth_header(), "harden/hardening", {"notes.txt": "mine\n"}, "Keep port 8080")
    head = repo.fetch(["harden/hardening"])["harden/hardening"]
    assert head == human
    assert [(c.sha, c.subject, c.by_bot) for c in repo.commits_between(main, human)] == [
        (bot, "fix(security): harden", True),
        (human, "Keep port 8080", False),
    ]
    assert repo.commits_between(main, bot)[0].author == "harden <harden@users.noreply.invalid>"
    assert repo.commits_between(bot, bot) == []


def test_a_signed_commit_with_ssh_signing(repo: Repository, git_env: dict[str, str], checkout: Path, tmp_path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "key")], check=True)
    git(git_env, checkout, "config", "gpg.format", "ssh")
    git(git_env, checkout, "config", "user.signingKey", str(tmp_path / "key"))
    signers = tmp_path / "allowed_signers"
    signers.write_text(f"{BOT.email} {(tmp_path / 'key.pub').read_text()}")
    git(git_env, checkout, "config", "gpg.ssh.allowedSignersFile", str(signers))
    main = git(git_env, checkout, "rev-parse", "HEAD")
    with repo.worktree(main) as tree:
        (tree / "compose.yaml").write_text(COMPOSE + "# signed\n")
        signed = repo.commit(tree, main, f"fix: signed\n\n{TRAILER}: hardening\n", BOT, sign=True)
        (tree / "compose.yaml").write_text(COMPOSE + "# unsigned\n")
        unsigned = repo.commit(tree, main, f"fix: unsigned\n\n{TRAILER}: hardening\n", BOT, sign=False)
    assert signed and unsigned
    assert "-----BEGIN SSH SIGNATURE-----" in git(git_env, checkout, "cat-file", "-p", signed)
    assert "gpgsig" not in git(git_env, checkout, "cat-file", "-p", unsigned)
    verify = ["git", "verify-commit"]
    assert subprocess.run([*verify, signed], cwd=checkout, env=git_env, capture_output=True).returncode == 0
    assert subprocess.run([*verify, unsigned], cwd=checkout, env=git_env, capture_output=True).returncode != 0
    git(git_env, checkout, "config", "commit.gpgSign", "true")  # the user signs every commit: so does the bot
    with repo.worktree(main) as tree:
        (tree / "compose.yaml").write_text(COMPOSE + "# configured\n")
        configured = repo.commit(tree, main, f"fix: configured\n\n{TRAILER}: hardening\n", BOT, sign=False)
    assert configured and subprocess.run([*verify, configured], cwd=checkout, env=git_env).returncode == 0


def test_gitattributes_line_endings_make_a_one_line_change(
    git_server: GitServer, git_env: dict[str, str], tmp_path: Path
) -> None:
    lines = ["services:", "  web:", "    image: nginx:1.27", "    read_only: false", "    ports:", "      - 8080:80"]
    files = {".gitattributes": "*.yaml text eol=crlf\n", "compose.yaml": "\n".join(lines) + "\n"}
    url = seed(git_server, git_env, "crlf", files)
    checkout = clone(git_env, url, tmp_path / "crlf", git_server.auth_header())
    repo = Repository(checkout, auth_header=git_server.auth_header(), environ=git_env)
    main = git(git_env, checkout, "rev-parse", "HEAD")
    with repo.worktree(main) as tree:
        on_disk = (tree / "compose.yaml").read_bytes()
        assert on_disk.count(b"\r\n") == len(lines)  # checked out with CRLF
        (tree / "compose.yaml").write_bytes(on_disk.replace(b"read_only: false", b"read_only: true"))
        sha = repo.commit(tree, main, f"fix: read-only\n\n{TRAILER}: hardening\n", BOT, sign=False)
    assert sha is not None
    blob = subprocess.run(["git", "cat-file", "blob", f"{sha}:compose.yaml"], cwd=checkout, env=git_env, capture_output=True)
    assert b"\r" not in blob.stdout and b"read_only: true\n" in blob.stdout
    assert git(git_env, checkout, "diff", "--numstat", main, sha) == "1\t1\tcompose.yaml"


def git_logging_argv(tmp_path: Path, env: dict[str, str]) -> tuple[dict[str, str], Path]:
    """An environment whose `git` (first on PATH) logs its argv and two variables, then runs git."""
    real, log, bin_dir = shutil.which("git"), tmp_path / "argv.log", tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "prompt=$GIT_TERMINAL_PROMPT lang=$LC_ALL $*" >> "{log}"\nexec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return {**env, "PATH": f"{bin_dir}:{env['PATH']}"}, log


def test_the_token_is_never_in_config_urls_argv_or_errors(
    git_server: GitServer, git_env: dict[str, str], git_token: str, checkout: Path, tmp_path: Path
) -> None:
    env, log = git_logging_argv(tmp_path, git_env)
    header = git_server.auth_header()
    secrets = [git_token, header.split()[-1]]
    repo = Repository(checkout, auth_header=header, environ=env)
    main = repo.fetch(["main", "harden/hardening"])["main"]
    assert main is not None and repo.default_branch() == "main"
    sha = bot_commit(repo, main, COMPOSE + "# hardened\n")
    repo.push(sha, "harden/hardening", None, ["main"])
    with pytest.raises(GitError) as stale:
        repo.push(bot_commit(repo, main, COMPOSE + "# again\n"), "harden/hardening", None, ["main"])
    repo.delete_branch("harden/hardening", sha, ["main"])

    argv = log.read_text()
    assert "ls-remote" in argv and "push" in argv and "prompt=0 lang=C" in argv  # the wrapper saw the children
    stored = (checkout / ".git" / "config").read_text() + git(git_env, checkout, "remote", "-v") + repo.remote_url()
    for secret in secrets:
        assert secret not in argv
        assert secret not in stored
        assert secret not in str(stale.value)
    assert {r.user for r in git_server.log} == {USER}  # every request carried the header


def test_a_refused_token_says_authentication_failed_without_the_token(git_env: dict[str, str], checkout: Path) -> None:
    wrong = "wrong-" + "0123456789abcdef" * 2
    header = basic_auth(USER, wrong)
    repo = Repository(checkout, auth_header=header, environ=git_env)
    for call in (repo.default_branch, lambda: repo.fetch(["main"])):
        with pytest.raises(GitError) as error:
            call()
        message = str(error.value)
        assert "authentication failed" in message and "the token was refused" in message
        assert wrong not in message and header.split()[-1] not in message and "\n" not in message


def test_without_a_token_git_fails_at_once_with_a_clear_error(git_env: dict[str, str], checkout: Path, tmp_path: Path) -> None:
    env, log = git_logging_argv(tmp_path, {k: v for k, v in git_env.items() if k != "GIT_TERMINAL_PROMPT"})
    repo = Repository(checkout, environ=env)
    with pytest.raises(GitError, match=r"authentication failed for remote 'origin' \(no token was given\)"):
        repo.default_branch()
    assert "prompt=0" in log.read_text()  # harden itself turned prompts off


def test_credentials_in_a_remote_url_are_never_shown(git_env: dict[str, str], checkout: Path, origin: str) -> None:
    git(git_env, checkout, "remote", "set-url", "origin", origin.replace("http://", "http://someone:hunter2-password@"))
    assert Repository(checkout, environ=git_env).remote_url() == origin


def test_whatever_git_prints_a_git_error_shows_no_credential(
    git_env: dict[str, str], git_token: str, checkout: Path, tmp_path: Path
) -> None:
    """git itself hides credentials, but verbose tracing (GIT_CURL_VERBOSE) or another git may
    print them: a git that echoes the header, the token and a URL with a password on failure."""
    real, bin_dir = shutil.which("git"), tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").write_text(
        "#!/bin/sh\n"
        f'case "$*" in *ls-remote*) ;; *) exec "{real}" "$@" ;; esac\n'
        'echo "> $GIT_CONFIG_VALUE_0$GIT_CONFIG_VALUE_1" >&2\n'
        f'echo "fatal: unable to access http://x-access-token:{git_token}@127.0.0.1/app: 502" >&2\n'
        "exit 128\n"
    )
    (bin_dir / "git").chmod(0o755)
    header = basic_auth(USER, git_token)
    repo = Repository(checkout, auth_header=header, environ={**git_env, "PATH": f"{bin_dir}:{git_env['PATH']}"})
    with pytest.raises(GitError) as error:
        repo.default_branch()
    message = str(error.value)
    assert message.startswith("git ls-remote failed: > ***; fatal: unable to access http://***@127.0.0.1/app")
    assert git_token not in message and header.split()[-1] not in message


def test_a_persisted_checkout_header_is_replaced_not_doubled(
    git_server: GitServer, git_env: dict[str, str], origin: str, checkout: Path
) -> None:
    """actions/checkout stores `http.https://github.com/.extraheader` in .git/config; the bot's
    header must win over it, not be sent beside it (the server then sees two)."""
    stale = basic_auth(USER, "an-old-token-from-checkout")
    git(git_env, checkout, "config", f"http.{git_server.url}/.extraheader", stale)
    git(git_env, checkout, "config", f"http.{origin}.extraheader", stale)  # as specific as the bot's
    git(git_env, checkout, "config", "http.extraHeader", stale)
    repo = Repository(checkout, auth_header=git_server.auth_header(), environ=git_env)
    seen = len(git_server.log)
    assert repo.default_branch() == "main"
    users = [r.user for r in git_server.log[seen:]]
    assert users and set(users) == {USER}  # with two headers the server reads the first: the stale one


def test_a_token_without_write_access_is_named(git_server: GitServer, git_env: dict[str, str], checkout: Path) -> None:
    git_server.users["reader"] = "reader-token"
    git_server.read_only.add("reader")
    repo = Repository(checkout, auth_header=git_server.auth_header("reader"), environ=git_env)
    main = repo.fetch(["main"])["main"]
    assert main is not None
    with pytest.raises(
        GitError, match=r"git push: remote 'origin' answered HTTP 403: the token lacks permission \(contents: write\)"
    ):
        repo.push(bot_commit(repo, main, COMPOSE + "# x\n"), "harden/hardening", None, ["main"])


def test_the_repositorys_hooks_never_run(repo: Repository, git_env: dict[str, str], checkout: Path, tmp_path: Path) -> None:
    ran = tmp_path / "hooks-ran"
    for hook in ("post-checkout", "pre-push", "reference-transaction", "pre-commit", "post-commit"):
        script = checkout / ".git" / "hooks" / hook
        script.write_text(f"#!/bin/sh\necho {hook} >> {ran}\n")
        script.chmod(0o755)
    git(git_env, checkout, "checkout", "-q", "-b", "proof")  # the hooks do run for the user's own git
    assert ran.exists()
    ran.unlink()
    main = repo.fetch(["main"])["main"]
    assert main is not None
    repo.push(bot_commit(repo, main, COMPOSE + "# hooks\n"), "harden/hardening", None, ["main"])
    assert not ran.exists()


def test_a_shallow_clone_sees_only_the_branchs_own_commits(
    repo: Repository, git_server: GitServer, git_env: dict[str, str], origin: str, tmp_path: Path
) -> None:
    """actions/checkout clones one commit deep: the base's history must not look like commits on the branch."""
    header = git_server.auth_header()
    old_main = repo.fetch(["main"])["main"]
    assert old_main is not None
    bot = bot_commit(repo, old_main, COMPOSE + "# bot\n")
    repo.push(bot, "harden/hardening", None, ["main"])
    human = commit_files(git_env, origin, header, "harden/hardening", {"notes.txt": "mine\n"}, "Keep port 8080")
    for step in ("two", "three"):
        commit_files(git_env, origin, header, "main", {"README.md": f"# app {step}\n"}, f"main moves: {step}")
    git(git_env, tmp_path, "clone", "-q", "--depth", "1", origin, str(tmp_path / "shallow"), header=header)
    shallow = Repository(tmp_path / "shallow", auth_header=header, environ=git_env)
    heads = shallow.fetch(["main", "harden/hardening"])
    assert heads["harden/hardening"] == human and heads["main"] is not None
    assert [c.sha for c in shallow.commits_between(heads["main"], human)] == [bot, human]
