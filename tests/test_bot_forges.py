"""The forge clients of `harden pr` (harden/bot/github.py, harden/bot/gitea.py) against fake forges
on 127.0.0.1: the GitHub fake validates every request and answer against GitHub's OpenAPI
description, the Gitea fake against schemas written from Gitea's documented endpoints
(tests/forges/). Each call does what the forge documents; each failure gives a one-line message
that says what to do; the token never shows in a message, an exception, a log or a repr."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from forges.gitea_fake import GiteaFake
from forges.github_fake import App, Contract, GitHubFake, running
from forges.plugin import TOKEN

from harden import __version__, clock
from harden.bot.forge import ForgeError, load_token
from harden.bot.gitea import Gitea
from harden.bot.github import GitHub, installation_token

HEAD = "harden/hardening"


class FixedClock(clock.SystemClock):
    def __init__(self, when: dt.datetime) -> None:
        self.when = when

    def now(self) -> dt.datetime:
        return self.when


def github(fake: GitHubFake, token: str = TOKEN) -> GitHub:
    return GitHub(fake.url, "acme", "app", token)


def gitea(fake: GiteaFake, token: str = TOKEN) -> Gitea:
    return Gitea(fake.url, "acme", "app", token)


def basic(header: str) -> str:
    name, _, value = header.partition(": ")
    assert name == "Authorization" and value.startswith("Basic ")
    return base64.b64decode(value.removeprefix("Basic ")).decode()


def failure(call: Callable[[], object], caplog: pytest.LogCaptureFixture) -> ForgeError:
    """The ForgeError `call` raises; its text is one line without the token, and no log line holds the token."""
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ForgeError) as raised:
        call()
    error = raised.value
    assert "\n" not in str(error)
    for text in (str(error), repr(error), repr(error.args), caplog.text):
        assert TOKEN not in text
    # No httpx exception (whose request holds the headers) hangs on the error.
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    return error


# GitHub -----------------------------------------------------------------------------------------


def test_github_opens_finds_updates_and_closes_a_pull_request(github_fake: GitHubFake) -> None:
    forge = github(github_fake)
    assert forge.find_open(HEAD) is None
    opened = forge.open(HEAD, "main", "fix(security): harden", "the body", draft=True)
    assert (opened.number, opened.head, opened.base, opened.title, opened.body, opened.draft) == (
        1,
        HEAD,
        "main",
        "fix(security): harden",
        "the body",
        True,
    )
    assert opened.url.endswith("/acme/app/pull/1")
    assert forge.find_open(HEAD) == opened
    updated = forge.update(1, "fix(security): harden more", "a new body")
    assert (updated.title, updated.body, updated.draft) == ("fix(security): harden more", "a new body", True)
    forge.close(1)
    assert github_fake.pulls[1].state == "closed" and forge.find_open(HEAD) is None

    listing = github_fake.requests[0]
    assert (listing.method, listing.path, listing.query) == (
        "GET",
        "/repos/acme/app/pulls",
        {"head": [f"acme:{HEAD}"], "state": ["open"], "per_page": ["100"]},
    )
    assert github_fake.requests[1].body == {
        "title": "fix(security): harden",
        "head": HEAD,
        "base": "main",
        "body": "the body",
        "draft": True,
    }
    assert [(request.method, request.path, request.body) for request in github_fake.writes()[1:]] == [
        ("PATCH", "/repos/acme/app/pulls/1", {"title": "fix(security): harden more", "body": "a new body"}),
        ("PATCH", "/repos/acme/app/pulls/1", {"state": "closed"}),
    ]
    for request in github_fake.requests:
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["user-agent"] == f"harden/{__version__}"


def test_github_finds_only_the_open_pull_request_of_its_branch(github_fake: GitHubFake) -> None:
    github_fake.add_pull("someone/feature")
    github_fake.add_pull(HEAD, title="closed long ago").state = "closed"
    mine = github_fake.add_pull(HEAD, base="release", title="the bot's")
    github_fake.add_pull(HEAD, base="main", title="a newer one on another base")
    found = github(github_fake).find_open(HEAD)
    assert found is not None and (found.number, found.title, found.base) == (mine.number, "the bot's", "release")


def test_github_comments_labels_assigns_and_requests_reviews(github_fake: GitHubFake) -> None:
    forge = github(github_fake)
    number = forge.open(HEAD, "main", "t", "b", draft=False).number
    forge.comment(number, "Nothing left to harden: closing.")
    forge.label(number, ["security", "automated"])
    forge.assign(number, ["alice"])
    forge.request_review(number, ["bob", "acme/platform"])
    pull = github_fake.pulls[number]
    assert github_fake.comments == [(number, "Nothing left to harden: closing.")]
    assert (pull.labels, pull.assignees, pull.reviewers, pull.teams) == (
        ["security", "automated"],
        ["alice"],
        ["bob"],
        ["platform"],
    )
    assert [(request.path, request.body) for request in github_fake.writes()[1:]] == [
        (f"/repos/acme/app/issues/{number}/comments", {"body": "Nothing left to harden: closing."}),
        (f"/repos/acme/app/issues/{number}/labels", {"labels": ["security", "automated"]}),
        (f"/repos/acme/app/issues/{number}/assignees", {"assignees": ["alice"]}),
        (f"/repos/acme/app/pulls/{number}/requested_reviewers", {"reviewers": ["bob"], "team_reviewers": ["platform"]}),
    ]


def test_github_sends_nothing_for_empty_labels_assignees_and_reviewers(github_fake: GitHubFake) -> None:
    forge = github(github_fake)
    forge.label(1, [])
    forge.assign(1, [])
    forge.request_review(1, [])
    assert github_fake.requests == []


def test_github_enterprise_server_lives_under_api_v3(github_contract: Contract) -> None:
    with running(github_contract, TOKEN, enterprise=True) as fake:
        assert fake.url.endswith("/api/v3")
        forge = github(fake)
        assert forge.open(HEAD, "main", "t", "b", draft=False).number == 1
        assert forge.find_open(HEAD) is not None
        assert [request.path for request in fake.requests] == ["/repos/acme/app/pulls"] * 2 and fake.errors == []


def test_github_git_auth_is_the_token_as_x_access_token() -> None:
    forge = GitHub("https://api.github.com", "acme", "app", TOKEN)
    assert basic(forge.git_auth_header()) == f"x-access-token:{TOKEN}"
    assert TOKEN not in repr(forge) and forge.body_limit == 65536


WHEN = dt.datetime(2031, 5, 4, 10, 15, tzinfo=dt.UTC)
RESET = str(int((WHEN + dt.timedelta(minutes=14, seconds=30)).timestamp()))
ERRORS = [
    (
        401,
        "Bad credentials",
        {},
        None,
        ["the token was refused (401 Bad credentials)", "HARDEN_TOKEN, GITHUB_TOKEN or GH_TOKEN", "--token-file"],
    ),
    (
        403,
        "API rate limit exceeded for installation ID 4242.",
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": RESET},
        None,
        ["rate limit is used up", "resets at 2031-05-04 10:29 UTC, in 15 minutes", "nothing was changed"],
    ),
    (
        403,
        "You have exceeded a secondary rate limit.",
        {"Retry-After": "60"},
        None,
        ["secondary rate limit", "retry after 60 seconds"],
    ),
    (403, "You have exceeded a secondary rate limit.", {}, None, ["secondary rate limit", "retry after at least a minute"]),
    (
        403,
        "Resource not accessible by integration",
        {},
        None,
        ["permission denied (403 Resource not accessible by integration)", "contents and pull requests"],
    ),
    (404, "Not Found", {}, None, ["not found (404 Not Found)", "owner and name"]),
    (
        422,
        "Validation Failed",
        {},
        [
            {"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for acme:x."},
            {"resource": "PullRequest", "field": "base", "code": "invalid"},
        ],
        ["rejected (422 Validation Failed: A pull request already exists for acme:x.; base invalid)"],
    ),
    (
        500,
        "Internal Server Error",
        {},
        None,
        ["GitHub is unavailable (500 Internal Server Error)", "nothing was changed by this call"],
    ),
    (502, "Server Error", {}, None, ["GitHub is unavailable (502 Server Error)"]),
]


@pytest.mark.parametrize(("status", "message", "headers", "errors", "expected"), ERRORS, ids=lambda value: str(value)[:20])
def test_github_errors_say_what_happened_and_what_to_do(
    github_fake: GitHubFake,
    caplog: pytest.LogCaptureFixture,
    status: int,
    message: str,
    headers: dict[str, str],
    errors: list[dict[str, str]] | None,
    expected: list[str],
) -> None:
    github_fake.fail_next(status, message, headers=headers, errors=errors)
    with clock.use(FixedClock(WHEN)):
        error = failure(lambda: github(github_fake).open(HEAD, "main", "t", "b", draft=False), caplog)
    assert str(error).startswith(f"GitHub: cannot open a pull request from {HEAD} into main: ")
    for part in expected:
        assert part in str(error)
    assert error.status == status and github_fake.pulls == {}


def test_github_refuses_a_wrong_token_and_a_second_pull_request(
    github_fake: GitHubFake, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "ghp_aWrongTokenTheFakeDoesNotKnow000000000"
    refused = failure(lambda: github(github_fake, wrong).find_open(HEAD), caplog)
    assert refused.status == 401 and "Bad credentials" in str(refused) and wrong not in str(refused)
    github(github_fake).open(HEAD, "main", "t", "b", draft=False)
    twice = failure(lambda: github(github_fake).open(HEAD, "main", "t", "b", draft=False), caplog)
    assert twice.status == 422 and f"A pull request already exists for acme:{HEAD}." in str(twice)


def test_github_refuses_a_body_over_its_limit(github_fake: GitHubFake, caplog: pytest.LogCaptureFixture) -> None:
    forge = github(github_fake)
    assert forge.open(HEAD, "main", "t", "x" * forge.body_limit, draft=False).body == "x" * 65536
    too_long = failure(lambda: forge.update(1, "t", "x" * (forge.body_limit + 1)), caplog)
    assert "body is too long (maximum is 65536 characters)" in str(too_long)


def test_github_unreachable_is_a_network_error(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed when the block ends: nothing listens there
    error = failure(lambda: GitHub(f"http://127.0.0.1:{port}", "acme", "app", TOKEN).find_open(HEAD), caplog)
    assert error.status is None
    assert str(error).startswith(
        f"GitHub: cannot look for the open pull request from {HEAD}: GitHub is unreachable at http://127.0.0.1:{port} ("
    )


def test_a_token_the_forge_echoes_back_is_masked(github_fake: GitHubFake, caplog: pytest.LogCaptureFixture) -> None:
    github_fake.fail_next(422, f"Validation Failed for {TOKEN}")
    error = failure(lambda: github(github_fake).close(1), caplog)
    assert "Validation Failed for [token]" in str(error)


def test_the_github_fake_rejects_what_github_would_reject(github_fake: GitHubFake) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "User-Agent": "test"}
    draft_yes = httpx.post(
        f"{github_fake.url}/repos/acme/app/pulls",
        headers=headers,
        json={"title": "t", "head": HEAD, "base": "main", "draft": "yes"},
    )
    merged = httpx.get(f"{github_fake.url}/repos/acme/app/pulls", headers=headers, params={"state": "merged"})
    nowhere = httpx.get(f"{github_fake.url}/repos/acme/app/pullz", headers=headers)
    assert (draft_yes.status_code, merged.status_code, nowhere.status_code) == (422, 422, 404)
    assert len(github_fake.errors) == 3
    assert "InvalidRequestBody" in github_fake.errors[0] and "'yes' is not of type 'boolean'" in github_fake.errors[0]
    assert "InvalidParameter" in github_fake.errors[1] or "state" in github_fake.errors[1]
    assert "no such endpoint" in github_fake.errors[2]
    assert github_fake.pulls == {}
    github_fake.errors.clear()  # provoked on purpose: the fixture fails any test that leaves errors


@pytest.mark.parametrize("make", [GitHub, Gitea], ids=["GitHub", "Gitea"])
def test_an_answer_that_is_not_what_the_forge_documents_is_an_error_not_none(make: Callable[..., GitHub | Gitea]) -> None:
    """Taking a malformed listing for "no pull request" would open a second one: it is an error."""
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, json={"message": "a proxy's page"})))
    forge = make("http://127.0.0.1:9/api", "acme", "app", TOKEN, client)
    with pytest.raises(ForgeError, match="the answer is not a list as .* documents it"):
        forge.find_open(HEAD)
    with pytest.raises(ForgeError, match="the answer is not a pull request as .* documents it"):
        forge.open(HEAD, "main", "t", "b", draft=False)


@pytest.fixture(scope="module")
def app_key() -> tuple[str, str]:
    """A GitHub App's RSA key pair (private, public) in PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def test_a_github_app_gets_an_installation_token_for_the_repository(github_fake: GitHubFake, app_key: tuple[str, str]) -> None:
    private, public = app_key
    github_fake.app = App("12345", public)
    token = installation_token(github_fake.url, 12345, private, "acme", "app")
    assert token == github_fake.app.token
    assert [(request.method, request.path, request.body) for request in github_fake.requests] == [
        ("GET", "/repos/acme/app/installation", None),
        ("POST", "/app/installations/4242/access_tokens", {"repositories": ["app"]}),
    ]
    assert GitHub(github_fake.url, "acme", "app", token).find_open(HEAD) is None  # the new token works


def test_a_github_app_with_a_wrong_or_broken_key_says_so(
    github_fake: GitHubFake, app_key: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    private, public = app_key
    github_fake.app = App("99999", public)  # the key is right, the id is another app's
    refused = failure(lambda: installation_token(github_fake.url, 12345, private, "acme", "app"), caplog)
    assert refused.status == 401 and "check the GitHub App's id and private key" in str(refused)
    broken = failure(
        lambda: installation_token(github_fake.url, 12345, "-----BEGIN PRIVATE KEY-----\nnot a key\n", "acme", "app"), caplog
    )
    assert str(broken) == "the GitHub App's private key is not an RSA private key in PEM format"
    assert len(github_fake.requests) == 1  # the broken key never left the machine


def test_a_github_app_without_pyjwt_names_the_extra(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "jwt", None)  # `import jwt` raises ImportError
    error = failure(lambda: installation_token("http://127.0.0.1:9", 1, "key", "acme", "app"), caplog)
    assert "pip install 'harden[github-app]'" in str(error)


# Tokens -----------------------------------------------------------------------------------------


def test_load_token_reads_the_file_first_then_the_variables_in_order(tmp_path: Path) -> None:
    names = ("HARDEN_TOKEN", "GITHUB_TOKEN", "GH_TOKEN")
    token_file = tmp_path / "token"
    token_file.write_text(f"  {TOKEN}\n")
    assert load_token({"HARDEN_TOKEN": "from-the-environment"}, token_file, names) == TOKEN
    assert load_token({"GH_TOKEN": "third", "GITHUB_TOKEN": "second", "HARDEN_TOKEN": " "}, None, names) == "second"
    with pytest.raises(
        ForgeError, match=r"^no forge token: set HARDEN_TOKEN, GITHUB_TOKEN or GH_TOKEN, or pass --token-file FILE$"
    ):
        load_token({"OTHER": "x"}, None, names)
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ForgeError, match="the token file is empty"):
        load_token({}, tmp_path / "empty", names)
    with pytest.raises(ForgeError, match="cannot read the token file: No such file or directory") as missing:
        load_token({"HARDEN_TOKEN": TOKEN}, tmp_path / "missing", names)
    assert missing.value.status is None


# Gitea ------------------------------------------------------------------------------------------


def test_gitea_opens_a_draft_as_wip_and_keeps_it_until_a_human_removes_it(gitea_fake: GiteaFake) -> None:
    forge = gitea(gitea_fake)
    assert forge.find_open(HEAD) is None
    opened = forge.open(HEAD, "main", "fix(security): harden", "the body", draft=True)
    assert gitea_fake.pulls[1].title == "WIP: fix(security): harden"
    assert (opened.number, opened.title, opened.draft, opened.head, opened.base) == (
        1,
        "fix(security): harden",
        True,
        HEAD,
        "main",
    )
    assert forge.find_open(HEAD) == opened
    assert forge.update(1, "fix(security): harden more", "new").title == "fix(security): harden more"
    assert gitea_fake.pulls[1].title == "WIP: fix(security): harden more"
    gitea_fake.pulls[1].title = "fix(security): harden more"  # a human marks it ready
    assert forge.update(1, "fix(security): again", "newer").draft is False
    assert gitea_fake.pulls[1].title == "fix(security): again"
    forge.close(1)
    assert gitea_fake.pulls[1].state == "closed" and forge.find_open(HEAD) is None
    assert gitea_fake.writes()[0].body == {
        "head": HEAD,
        "base": "main",
        "title": "WIP: fix(security): harden",
        "body": "the body",
    }
    assert {request.headers["authorization"] for request in gitea_fake.requests} == {f"token {TOKEN}"}


def test_gitea_finds_its_pull_request_past_the_first_page_and_not_a_forks(gitea_fake: GiteaFake) -> None:
    mine = gitea_fake.add_pull(HEAD, title="the bot's")
    for number in range(60):
        gitea_fake.add_pull(f"feature/{number}")
    gitea_fake.add_pull(HEAD, title="a fork's branch of the same name", fork=True)
    found = gitea(gitea_fake).find_open(HEAD)
    assert found is not None and (found.number, found.title) == (mine.number, "the bot's")
    assert [request.query["page"] for request in gitea_fake.requests] == [["1"], ["2"], ["3"]]


def test_gitea_labels_by_id_and_refuses_an_unknown_label(gitea_fake: GiteaFake, caplog: pytest.LogCaptureFixture) -> None:
    forge = gitea(gitea_fake)
    gitea_fake.add_pull(HEAD)
    forge.label(1, ["automated", "security"])
    assert gitea_fake.pulls[1].labels == [9, 7] and gitea_fake.writes()[-1].body == {"labels": [9, 7]}
    error = failure(lambda: forge.label(1, ["security", "no-such-label"]), caplog)
    assert str(error) == "Gitea: cannot label pull request #1: acme/app has no label 'no-such-label'; create it first"
    assert len(gitea_fake.writes()) == 1


def test_gitea_adds_assignees_to_those_a_human_chose(gitea_fake: GiteaFake) -> None:
    forge = gitea(gitea_fake)
    gitea_fake.add_pull(HEAD)
    forge.assign(1, ["alice"])
    gitea_fake.pulls[1].assignees.append("carol")
    forge.assign(1, ["carol", "bob"])
    forge.assign(1, ["bob"])  # nothing new: no write
    assert gitea_fake.pulls[1].assignees == ["alice", "carol", "bob"]
    assert [request.body for request in gitea_fake.writes()] == [
        {"assignees": ["alice"]},
        {"assignees": ["alice", "carol", "bob"]},
    ]


def test_gitea_comments_and_requests_reviews(gitea_fake: GiteaFake) -> None:
    forge = gitea(gitea_fake)
    gitea_fake.add_pull(HEAD)
    forge.comment(1, "closing")
    forge.request_review(1, ["bob", "acme/platform"])
    forge.request_review(1, [])
    assert gitea_fake.comments == [(1, "closing")] and gitea_fake.pulls[1].reviewers == ["bob"]
    assert [(request.path, request.body) for request in gitea_fake.writes()] == [
        ("/repos/acme/app/issues/1/comments", {"body": "closing"}),
        ("/repos/acme/app/pulls/1/requested_reviewers", {"reviewers": ["bob"], "team_reviewers": ["platform"]}),
    ]


def test_gitea_git_auth_is_the_token_as_user_name() -> None:
    forge = Gitea("https://gitea.example/api/v1", "acme", "app", TOKEN)
    assert basic(forge.git_auth_header()) == f"{TOKEN}:x-oauth-basic"
    assert TOKEN not in repr(forge)


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (401, {}, "the token was refused (401 failure); set a valid token in HARDEN_TOKEN, GITEA_TOKEN or FORGEJO_TOKEN"),
        (403, {}, "permission denied (403 failure); the token needs the scopes write:repository and write:issue"),
        (429, {"Retry-After": "30"}, "a rate limit stopped this call (429 failure); retry after 30 seconds"),
        (500, {}, "Gitea is unavailable (500 failure); nothing was changed by this call"),
    ],
)
def test_gitea_errors_say_what_happened_and_what_to_do(
    gitea_fake: GiteaFake, caplog: pytest.LogCaptureFixture, status: int, headers: dict[str, str], expected: str
) -> None:
    gitea_fake.fail_next(status, headers=headers)
    error = failure(lambda: gitea(gitea_fake).open(HEAD, "main", "t", "b", draft=False), caplog)
    assert str(error).startswith(f"Gitea: cannot open a pull request from {HEAD} into main: {expected}")
    assert error.status == status and gitea_fake.pulls == {}


def test_gitea_refuses_a_wrong_token_and_a_second_pull_request(gitea_fake: GiteaFake, caplog: pytest.LogCaptureFixture) -> None:
    refused = failure(lambda: gitea(gitea_fake, "a-wrong-token-of-some-length").find_open(HEAD), caplog)
    assert refused.status == 401
    gitea(gitea_fake).open(HEAD, "main", "t", "b", draft=False)
    twice = failure(lambda: gitea(gitea_fake).open(HEAD, "main", "t", "b", draft=False), caplog)
    assert twice.status == 409 and "pull request already exists for these targets" in str(twice)


def test_the_gitea_fake_rejects_what_the_client_must_not_send(gitea_fake: GiteaFake) -> None:
    headers = {"Authorization": f"token {TOKEN}"}
    draft = httpx.post(
        f"{gitea_fake.url}/repos/acme/app/pulls",
        headers=headers,
        json={"head": HEAD, "base": "main", "title": "t", "draft": True},
    )
    names = httpx.post(f"{gitea_fake.url}/repos/acme/app/issues/1/labels", headers=headers, json={"labels": ["security"]})
    state = httpx.get(f"{gitea_fake.url}/repos/acme/app/pulls", headers=headers, params={"state": "merged"})
    assert (draft.status_code, names.status_code, state.status_code) == (422, 422, 422)
    assert "Additional properties are not allowed ('draft' was unexpected)" in gitea_fake.errors[0]
    assert "'security' is not of type 'integer'" in gitea_fake.errors[1]
    assert "state=['merged']" in gitea_fake.errors[2]
    assert gitea_fake.pulls == {}
    gitea_fake.errors.clear()  # provoked on purpose: the fixture fails any test that leaves errors
