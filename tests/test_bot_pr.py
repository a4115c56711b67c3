"""`harden pr` end to end: a real git server on 127.0.0.1 over HTTP with authentication
(tests/gitserver.py, RECIPES.md §4), and the GitHub fake that validates every request and answer
against GitHub's published OpenAPI description (tests/forges, RECIPES.md §5; a request the real
service would reject fails the test at teardown). The repository is a copy of the corpus's
awesome-compose nginx-flask-mysql project; runs are offline (no registry), so the hardening
topic is the one pull request, and pin-refresh has its own test against a real registry.

Each test drives the command line in-process with an isolated git environment, then reads the
server's bare repository and the fake's state: what a maintainer would see on the forge.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from forges.github_fake import GitHubFake
from forges.plugin import TOKEN
from gitserver import USER, GitServer, basic_auth, clone, commit_files, git, seed
from test_verify import podman

from harden.cli import main

__all__ = ["podman"]  # the fixture, for the --verify test

PROJECT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "awesome-compose" / "nginx-flask-mysql"
BRANCH = "harden/hardening"
MARKER = "<!-- harden:pull-request topic=hardening -->"


@dataclass
class Setup:
    server: GitServer
    fake: GitHubFake
    env: dict[str, str]
    url: str  # the repository on the git server
    bare: Path  # its bare repository, read directly
    work: Path  # the maintainer's clone harden pr runs in
    cache: Path

    def head(self, branch: str) -> str | None:
        found = git(self.env, self.bare, "for-each-ref", "--format=%(objectname)", f"refs/heads/{branch}")
        return found or None

    def show(self, branch: str, path: str) -> str:
        shown = subprocess.run(["git", "show", f"{branch}:{path}"], cwd=self.bare, env=self.env, capture_output=True, text=True)
        assert shown.returncode == 0, shown.stderr
        return shown.stdout

    def pushes(self) -> int:
        return len(self.server.receive_packs())

    def commit(self, branch: str, files: dict[str, str], message: str = "A human change") -> str:
        """A human's commit of `files` on `branch`, pushed over HTTP; its sha."""
        return commit_files(self.env, self.url, basic_auth(USER, TOKEN), branch, files, message=message)


def project_files(source: Path = PROJECT) -> dict[str, str]:
    return {p.relative_to(source).as_posix(): p.read_text() for p in sorted(source.rglob("*")) if p.is_file()}


@pytest.fixture
def setup(git_server: GitServer, github_fake: GitHubFake, git_env: dict[str, str], tmp_path: Path) -> Iterator[Setup]:
    git_server.users[USER] = TOKEN  # one token for the API and for git, as GITHUB_TOKEN is
    url = seed(git_server, git_env, "acme/app.git", project_files())
    work = clone(git_env, url, tmp_path / "work", basic_auth(USER, TOKEN))
    yield Setup(git_server, github_fake, git_env, url, Path(git_server.root) / "acme/app.git", work, tmp_path / "cache")


def environment(git_env: dict[str, str], cache: Path, **variables: str | None) -> dict[str, str | None]:
    """harden pr's environment: the isolated git one, a digest cache of its own, no token or
    GitHub Actions variable from the test's own environment but those given."""
    cleared = ("HARDEN_TOKEN", "GITHUB_TOKEN", "GH_TOKEN", "GITEA_TOKEN", "GITHUB_REPOSITORY", "GITHUB_API_URL")
    return {**git_env, **dict.fromkeys(cleared), "XDG_CACHE_HOME": str(cache), **variables}


def harden_pr(setup: Setup, *args: str, token: str | None = TOKEN) -> Result:
    """`harden pr` in the maintainer's clone (or the PATH that ends `args`), offline."""
    env = environment(setup.env, setup.cache, GITHUB_TOKEN=token)
    path = [] if args and args[-1].startswith("/") else [str(setup.work)]
    command = ["pr", "--api-url", setup.fake.url, "--offline", *args, *path]
    return CliRunner().invoke(main, command, env=env, catch_exceptions=False)


def dry_run_body(output: str) -> str:
    return output.split("\nbody:\n", 1)[1].removesuffix("\n")


def hardened_copy(tmp_path: Path, files: dict[str, str]) -> dict[str, str]:
    """What `harden fix --offline` makes of the same files: the branch must hold exactly that."""
    copy = tmp_path / "fixed"
    for name, text in files.items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_text(text)
    result = CliRunner().invoke(main, ["fix", "--offline", "-q", str(copy)], env={"XDG_CACHE_HOME": str(tmp_path / "fc")})
    assert result.exit_code in (0, 1), result.output
    return project_files(copy)


def test_the_first_run_opens_one_pull_request_and_a_second_changes_nothing(setup: Setup, tmp_path: Path) -> None:
    main_head = setup.head("main")
    result = harden_pr(setup)
    assert result.exit_code == 0, result.output
    assert re.search(r"hardening: opened #1 http", result.stdout)
    assert "pin-refresh: skipped: --offline" in result.stdout
    assert len(setup.fake.pulls) == 1
    pull = setup.fake.pulls[1]
    assert (pull.head, pull.base, pull.state) == (BRANCH, "main", "open")
    assert pull.title == "fix(security): harden container configuration"
    assert pull.body.startswith(MARKER + "\n") and "- [ ] drop: `cap-drop-all` in `compose.yaml` (`db`)" in pull.body
    # The branch holds the hardened files, one commit on main, with the trailer.
    assert setup.head("main") == main_head
    assert git(setup.env, setup.bare, "rev-parse", f"{BRANCH}^") == main_head
    message = git(setup.env, setup.bare, "log", "-1", "--format=%B", BRANCH)
    assert message.startswith("fix(security): harden container configuration\n\n- compose.yaml: ")
    assert message.endswith("Harden-Bot: hardening")
    expected = hardened_copy(tmp_path, project_files())
    assert expected != project_files()
    assert {name: setup.show(BRANCH, name) for name in expected} == expected
    # No worktree or temporary ref is left in the maintainer's clone.
    assert git(setup.env, setup.work, "worktree", "list").count("\n") == 0
    assert git(setup.env, setup.work, "status", "--porcelain") == ""

    pushes, requests = setup.pushes(), len(setup.fake.requests)
    again = harden_pr(setup)
    assert again.exit_code == 0, again.output
    assert "#1 is up to date" in again.stdout
    assert setup.pushes() == pushes  # no push
    assert [r for r in setup.fake.requests[requests:] if r.method != "GET"] == []  # no API write

    requests = len(setup.fake.requests)
    dry = harden_pr(setup, "--dry-run", "--topic", "hardening")
    assert dry.exit_code == 0, dry.output
    assert len(setup.fake.requests) == requests and setup.pushes() == pushes  # no request, no push
    assert f"branch: {BRANCH} (from main at {main_head[:12]})" in dry.stdout
    assert "commit message:\nfix(security): harden container configuration\n" in dry.stdout
    assert dry_run_body(dry.stdout) == pull.body


def test_the_token_is_never_shown_or_stored(setup: Setup) -> None:
    result = harden_pr(setup)
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    assert TOKEN not in (setup.work / ".git" / "config").read_text()
    assert TOKEN not in git(setup.env, setup.work, "remote", "-v")
    assert TOKEN not in git(setup.env, setup.bare, "log", "--all", "--format=%an %ae %cn %ce %B")
    assert all(TOKEN not in str(r.body) for r in setup.fake.requests)
    # An error names what went wrong, still without the token.
    setup.fake.fail_next(401, "Bad credentials", method="GET")
    refused = harden_pr(setup)
    assert refused.exit_code == 2
    assert "401" in refused.stderr and TOKEN not in refused.output


def test_a_change_on_main_rebuilds_the_branch_on_it_and_updates_the_body(setup: Setup) -> None:
    assert harden_pr(setup).exit_code == 0
    first = setup.head(BRANCH)
    compose = (PROJECT / "compose.yaml").read_text().replace("services:\n", "services:\n  cache:\n    image: redis:7.2\n", 1)
    main_head = setup.commit("main", {"compose.yaml": compose})
    result = harden_pr(setup)
    assert result.exit_code == 0, result.output
    assert "updated #1" in result.stdout
    assert setup.head(BRANCH) != first
    assert git(setup.env, setup.bare, "rev-parse", f"{BRANCH}^") == main_head  # rebuilt on the new main
    assert "cap_drop:" in setup.show(BRANCH, "compose.yaml").split("cache:", 1)[1].split("\n  backend:")[0]
    assert "- [ ] drop: `cap-drop-all` in `compose.yaml` (`cache`)" in setup.fake.pulls[1].body
    assert len(setup.fake.pulls) == 1
    assert [r.path for r in setup.fake.writes()] == ["/repos/acme/app/pulls", "/repos/acme/app/pulls/1"]


def test_a_human_commit_on_the_branch_stops_the_push_and_is_said_once(setup: Setup) -> None:
    assert harden_pr(setup).exit_code == 0
    human = setup.commit(BRANCH, {"NOTES.md": "keep this\n"}, message="A reviewer's fix")
    setup.commit("main", {"README.md": "main moved\n"})
    result = harden_pr(setup)
    assert result.exit_code == 0, result.output
    assert f"left {BRANCH} alone" in result.stdout and "commented on #1" in result.stdout
    assert setup.head(BRANCH) == human  # nothing force-pushed over it
    assert len(setup.fake.comments) == 1
    number, text = setup.fake.comments[0]
    assert number == 1 and human[:12] in text and "never force-pushes" in text
    again = harden_pr(setup)
    assert again.exit_code == 0 and setup.head(BRANCH) == human
    assert len(setup.fake.comments) == 1  # said once for this head of the branch


def test_a_ticked_drop_box_is_honoured(setup: Setup) -> None:
    assert harden_pr(setup).exit_code == 0
    pull = setup.fake.pulls[1]
    box = "- [ ] drop: `cap-drop-all` in `compose.yaml` (`db`)"
    assert box in pull.body and "cap_drop" in setup.show(BRANCH, "compose.yaml").split("  db:", 1)[1]
    pull.body = pull.body.replace(box, box.replace("[ ]", "[x]"))
    result = harden_pr(setup)
    assert result.exit_code == 0, result.output
    db_service = re.search(r"\n  db:\n(?:    .*\n|\n)*", setup.show(BRANCH, "compose.yaml") + "\n")
    assert db_service is not None and "cap_drop" not in db_service.group(0)
    assert "cap_drop" in setup.show(BRANCH, "compose.yaml").split("  backend:", 1)[1]  # the others stay
    assert "- [x] drop: `cap-drop-all` in `compose.yaml` (`db`)" in setup.fake.pulls[1].body  # kept dropped
    pushes, requests = setup.pushes(), len(setup.fake.writes())
    assert harden_pr(setup).exit_code == 0
    assert setup.pushes() == pushes and len(setup.fake.writes()) == requests
    # A ticked box whose finding the run no longer has is not listed as dropped.
    stale = "- [x] drop: `cap-drop-all` in `gone.yaml` (`old`) <!-- harden:drop 0123456789ab -->"
    setup.fake.pulls[1].body += stale + "\n"
    assert harden_pr(setup).exit_code == 0
    assert "0123456789ab" not in setup.fake.pulls[1].body
    assert "- [x] drop: `cap-drop-all` in `compose.yaml` (`db`)" in setup.fake.pulls[1].body


def test_nothing_left_closes_the_stale_pull_request(setup: Setup) -> None:
    assert harden_pr(setup).exit_code == 0
    merged = {name: setup.show(BRANCH, name) for name in project_files()}
    setup.commit("main", merged, message="Merge the hardening by hand")
    result = harden_pr(setup)
    assert result.exit_code == 0, result.output
    assert f"closed #1: nothing left to change; deleted {BRANCH}" in result.stdout
    assert setup.fake.pulls[1].state == "closed"
    assert "nothing left to change" in setup.fake.comments[0][1]
    assert setup.head(BRANCH) is None
    writes = len(setup.fake.writes())
    assert harden_pr(setup).exit_code == 0 and len(setup.fake.writes()) == writes  # nothing more to close


@pytest.mark.parametrize(
    ("status", "headers", "method", "says"),
    [
        (401, {}, "GET", "401"),
        (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "4102444800"}, "POST", "rate limit"),
        (422, {}, "POST", "422"),
        (502, {}, "POST", "502"),
    ],
)
def test_an_api_error_leaves_no_partial_state(setup: Setup, status: int, headers: dict[str, str], method: str, says: str) -> None:
    setup.fake.fail_next(status, "the forge says no", headers=headers, method=method, path=r"/pulls$")
    result = harden_pr(setup)
    assert result.exit_code == 2
    assert says in result.stderr and "Traceback" not in result.output
    assert setup.head(BRANCH) is None  # pushed, then undone (or never pushed)
    assert setup.fake.pulls == {}
    if method == "POST":
        assert "the push to harden/hardening was undone" in result.stderr
    recovered = harden_pr(setup)  # the next run starts from a clean state
    assert recovered.exit_code == 0 and len(setup.fake.pulls) == 1


def test_an_error_updating_the_body_puts_the_branch_back(setup: Setup) -> None:
    assert harden_pr(setup).exit_code == 0
    before, body = setup.head(BRANCH), setup.fake.pulls[1].body
    compose = (PROJECT / "compose.yaml").read_text().replace("services:\n", "services:\n  cache:\n    image: redis:7.2\n", 1)
    setup.commit("main", {"compose.yaml": compose})
    setup.fake.fail_next(500, "boom", method="PATCH")
    result = harden_pr(setup)
    assert result.exit_code == 2 and "500" in result.stderr
    assert "the push to harden/hardening was undone" in result.stderr
    assert setup.head(BRANCH) == before and setup.fake.pulls[1].body == body


def test_the_configuration_sets_labels_assignees_reviewers_draft_and_branch(setup: Setup) -> None:
    config = '[bot]\nbranch = "security/harden"\nlabels = ["security"]\n'
    config += 'assignees = ["alice"]\nreviewers = ["bob"]\ndraft = true\n'
    setup.commit("main", {".harden.toml": config})
    result = harden_pr(setup)
    assert result.exit_code == 0, result.output
    pull = setup.fake.pulls[1]
    assert (pull.head, pull.draft, pull.labels, pull.assignees, pull.reviewers) == (
        "security/harden",
        True,
        ["security"],
        ["alice"],
        ["bob"],
    )
    assert setup.head("security/harden") is not None and setup.head(BRANCH) is None


def test_the_bot_never_pushes_to_the_base_branch(setup: Setup) -> None:
    setup.commit("main", {".harden.toml": '[bot]\nbranch = "main"\n'})
    main_head, pushes = setup.head("main"), setup.pushes()
    result = harden_pr(setup)
    assert result.exit_code == 2
    assert "is the base branch" in result.stderr
    assert setup.head("main") == main_head and setup.pushes() == pushes and setup.fake.writes() == []


def test_gitea_opens_a_pull_request_and_a_second_run_changes_nothing(
    git_server: GitServer, gitea_fake: object, git_env: dict[str, str], tmp_path: Path
) -> None:
    git_server.users[TOKEN] = "x-oauth-basic"  # Gitea takes the token as the user name
    url = seed(git_server, git_env, "acme/app.git", project_files())
    work = clone(git_env, url, tmp_path / "work", basic_auth(TOKEN, "x-oauth-basic"))
    env = environment(git_env, tmp_path / "cache", GITEA_TOKEN=TOKEN)
    command = ["pr", "--forge", "gitea", "--api-url", f"{gitea_fake.origin}/api/v1", "--offline", str(work)]  # type: ignore[attr-defined]
    first = CliRunner().invoke(main, command, env=env, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "hardening: opened #1" in first.stdout
    writes = len(gitea_fake.writes())  # type: ignore[attr-defined]
    second = CliRunner().invoke(main, command, env=env, catch_exceptions=False)
    assert second.exit_code == 0 and "is up to date" in second.stdout
    assert len(gitea_fake.writes()) == writes  # type: ignore[attr-defined]


def test_pin_refresh_opens_its_own_pull_request_with_the_digest_table(setup: Setup, tmp_path: Path) -> None:
    from conftest import require
    from registry.oci_helpers import push_index, start_registry

    registry = start_registry(tmp_path / "registry", binary=require("docker-registry"))
    try:
        with httpx.Client(timeout=10) as client:
            old = push_index(client, registry.base, "library/redis", "7")[0]["digest"]
            new = push_index(client, registry.base, "library/redis", "7", platforms=(("linux", "arm64"),))[0]["digest"]
        compose = f"services:\n  cache:\n    image: redis:7@{old}\n    cap_drop: [ALL]\n"
        setup.commit("main", {"cache/compose.yaml": compose})
        git(setup.env, setup.work, "pull", "-q", "--ff-only", header=basic_auth(USER, TOKEN))
        env = environment(setup.env, setup.cache, GITHUB_TOKEN=TOKEN)
        mirror = f"docker.io={registry.base}"
        command = ["pr", "--api-url", setup.fake.url, "--topic", "pin-refresh", "--registry-mirror", mirror]
        command.append(str(setup.work / "cache"))
        result = CliRunner().invoke(main, command, env=env, catch_exceptions=False)
    finally:
        registry.stop()
    assert result.exit_code == 0, result.output
    pull = setup.fake.pulls[1]
    assert (pull.head, pull.title) == ("harden/pin-refresh", "chore(deps): refresh pinned image digests")
    assert old in pull.body and new in pull.body
    assert setup.show("harden/pin-refresh", "cache/compose.yaml") == compose.replace(old, new)
    assert setup.head(BRANCH) is None  # the hardening topic did not run
    shutil.rmtree(tmp_path / "registry", ignore_errors=True)


def test_verify_runs_first_and_its_report_is_in_the_body(setup: Setup, podman: str) -> None:
    from test_verify import CHOWNS

    setup.commit("main", {"app/compose.yaml": f"services:\n{CHOWNS}"})
    git(setup.env, setup.work, "pull", "-q", "--ff-only", header=basic_auth(USER, TOKEN))
    result = harden_pr(setup, "--verify", "--topic", "hardening", str(setup.work / "app"))
    assert result.exit_code == 0, result.output
    body = setup.fake.pulls[1].body
    assert "0 of 1 services broke after hardening" in body
    assert "no-new-privileges:true" in setup.show(BRANCH, "app/compose.yaml")


def test_signed_commits_when_asked(setup: Setup, tmp_path: Path) -> None:
    key = tmp_path / "signing"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, capture_output=True)
    git(setup.env, setup.work, "config", "gpg.format", "ssh")
    git(setup.env, setup.work, "config", "user.signingkey", str(key))
    assert harden_pr(setup, "--topic", "hardening").exit_code == 0
    assert "gpgsig -----BEGIN SSH SIGNATURE-----" not in git(setup.env, setup.bare, "cat-file", "-p", BRANCH)
    setup.fake.pulls.clear()
    git(setup.env, setup.bare, "branch", "-D", BRANCH)
    result = harden_pr(setup, "--topic", "hardening", "--sign")
    assert result.exit_code == 0, result.output
    assert "gpgsig -----BEGIN SSH SIGNATURE-----" in git(setup.env, setup.bare, "cat-file", "-p", BRANCH)


def test_the_service_graph_is_in_the_body_when_networks_change(
    git_server: GitServer, github_fake: GitHubFake, git_env: dict[str, str], tmp_path: Path
) -> None:
    git_server.users[USER] = TOKEN
    demo = Path(__file__).resolve().parent.parent / "fixtures" / "demo"
    url = seed(git_server, git_env, "acme/app.git", project_files(demo))
    work = clone(git_env, url, tmp_path / "work", basic_auth(USER, TOKEN))
    setup = Setup(git_server, github_fake, git_env, url, Path(git_server.root) / "acme/app.git", work, tmp_path / "cache")
    result = harden_pr(setup, "--topic", "hardening")
    assert result.exit_code == 0, result.output
    body = setup.fake.pulls[1].body
    assert "user-defined-networks" in git(git_env, setup.bare, "log", "-1", "--format=%B", BRANCH)
    graph = body.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert "%% compose.yaml" in graph and "graph LR" in graph


def test_a_pull_request_closed_without_merging_is_not_opened_again(setup: Setup) -> None:
    assert harden_pr(setup, "--topic", "hardening").exit_code == 0
    setup.fake.pulls[1].state = "closed"  # a maintainer said no
    compose = (PROJECT / "compose.yaml").read_text().replace("services:\n", "services:\n  cache:\n    image: redis:7.2\n", 1)
    setup.commit("main", {"compose.yaml": compose})
    branch, pushes, writes = setup.head(BRANCH), setup.pushes(), len(setup.fake.writes())
    result = harden_pr(setup, "--topic", "hardening")
    assert result.exit_code == 0, result.output
    assert "closed without merging" in result.stdout
    assert (setup.head(BRANCH), setup.pushes(), len(setup.fake.writes())) == (branch, pushes, writes)
    git(setup.env, setup.bare, "branch", "-D", BRANCH)  # the maintainer deletes the branch: a fresh start
    assert harden_pr(setup, "--topic", "hardening").exit_code == 0
    assert sorted(setup.fake.pulls) == [1, 2] and setup.fake.pulls[2].state == "open"


def test_a_broken_file_is_reported_and_the_others_still_go_into_the_pull_request(setup: Setup) -> None:
    setup.commit("main", {"broken/compose.yaml": "services:\n  web: [unclosed\n"})
    result = harden_pr(setup, "--topic", "hardening")
    assert result.exit_code == 2
    assert "broken/compose.yaml:" in result.stderr and "Traceback" not in result.output
    assert "opened #1" in result.stdout
    assert setup.show(BRANCH, "broken/compose.yaml") == "services:\n  web: [unclosed\n"  # untouched
    assert "cap_drop" in setup.show(BRANCH, "compose.yaml")


def test_a_lockfile_harden_cannot_read_stops_the_topic_with_its_line(setup: Setup) -> None:
    setup.commit("main", {"harden.lock": "not = [valid\n"})
    result = harden_pr(setup, "--topic", "hardening")
    assert result.exit_code == 2
    assert "harden pr: hardening: harden.lock:" in result.stderr and "Traceback" not in result.output
    assert setup.head(BRANCH) is None and setup.fake.writes() == []


def test_a_github_app_installation_token_opens_the_pull_request(setup: Setup, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from forges.github_fake import App

    made = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = made.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = made.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    setup.fake.app = App("12345", public.decode())
    setup.server.users[USER] = setup.fake.app.token  # the installation token is what git gets too
    key = tmp_path / "app.pem"
    key.write_bytes(private)
    env = environment(setup.env, setup.cache, HARDEN_GITHUB_APP_ID="12345", HARDEN_GITHUB_APP_KEY_FILE=str(key))
    command = ["pr", "--api-url", setup.fake.url, "--offline", "--topic", "hardening", str(setup.work)]
    result = CliRunner().invoke(main, command, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert [r.path for r in setup.fake.requests[:2]] == ["/repos/acme/app/installation", "/app/installations/4242/access_tokens"]
    assert setup.fake.pulls[1].head == BRANCH and setup.head(BRANCH) is not None
    assert setup.fake.app.token not in result.output and private.decode() not in result.output


def test_after_a_squash_merge_the_next_change_gets_a_new_pull_request(setup: Setup) -> None:
    assert harden_pr(setup, "--topic", "hardening").exit_code == 0
    squashed = {name: setup.show(BRANCH, name) for name in project_files()}
    setup.commit("main", squashed, message="fix(security): harden container configuration (#1)")
    setup.fake.pulls[1].state = "closed"  # merged by squashing: the branch stays (no auto-delete)
    compose = squashed["compose.yaml"].replace("services:\n", "services:\n  cache:\n    image: redis:7.2\n", 1)
    setup.commit("main", {"compose.yaml": compose})
    result = harden_pr(setup, "--topic", "hardening")
    assert result.exit_code == 0, result.output
    assert "opened #2" in result.stdout
    assert "- [ ] drop: `cap-drop-all` in `compose.yaml` (`cache`)" in setup.fake.pulls[2].body
    assert "`db`" not in setup.fake.pulls[2].body.split("### Drop a change", 1)[-1]  # the merged changes are not offered again


def test_refresh_is_not_an_option_of_pr_which_refreshes_pins_in_its_own_topic(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["pr", "--refresh", str(tmp_path)])
    assert result.exit_code == 2 and "No such option '--refresh'" in result.output
    assert "--topic [hardening|pin-refresh]" in CliRunner().invoke(main, ["pr", "--help"]).output
