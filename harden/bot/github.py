"""GitHub's REST API for `harden pr`: find, open, update and close the bot's pull request, comment
on it, and add labels, assignees and reviewers. GitHub Enterprise Server too: its API lives at
`https://HOST/api/v3` (GitHub Actions sets `GITHUB_API_URL` to it).

Every request carries `Accept: application/vnd.github+json`, `X-GitHub-Api-Version: 2022-11-28`
(the REST API version this client was written and tested against: GitHub keeps a dated version
working for at least 24 months after its successor) and `Authorization: Bearer <token>`. The
requests and the answers it reads are those of GitHub's OpenAPI description
(`@octokit/openapi` 23.0.2), which the tests validate every request and answer against
(tests/forges/github_fake.py).

The token: a personal access token, the `GITHUB_TOKEN` of a workflow (which needs
`permissions: contents: write, pull-requests: write`), or a GitHub App's installation token
(`installation_token`, with the optional extra `harden[github-app]` for PyJWT). git pushes with
the same token as `x-access-token:<token>` in a basic authorization header, which is what
GitHub documents for installation tokens and accepts for every kind of token.

What might break: GitHub adds a label that does not exist yet to the repository (with a grey
colour) rather than refusing it; an assignee without push access is silently ignored by GitHub.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

from harden import clock
from harden.bot.forge import ForgeError, JsonApi, PullRequest, basic_auth_header, token_hint

API_URL = "https://api.github.com"
TOKEN_VARIABLES = ("HARDEN_TOKEN", "GITHUB_TOKEN", "GH_TOKEN")
API_VERSION = "2022-11-28"
NEEDS = "write access to contents and pull requests (a workflow's `permissions: contents: write, pull-requests: write`)"
BODY_LIMIT = 65536  # GitHub refuses a longer body: "body is too long (maximum is 65536 characters)"


def _headers(bearer: str) -> dict[str, str]:
    return {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION, "Authorization": f"Bearer {bearer}"}


class GitHub:
    """One repository on GitHub (or GitHub Enterprise Server at `api_url`)."""

    name = "GitHub"
    body_limit = BODY_LIMIT

    def __init__(self, api_url: str, owner: str, repo: str, token: str, client: httpx.Client | None = None) -> None:
        self.owner, self.repo = owner, repo
        self._token = token
        self._api = JsonApi(self.name, api_url, _headers(token), token, token_hint(TOKEN_VARIABLES), NEEDS, client)
        self._path = f"/repos/{quote(owner, safe='')}/{quote(repo, safe='')}"

    def __repr__(self) -> str:
        return f"GitHub({self._api.api_url!r}, {self.owner!r}, {self.repo!r})"

    def git_auth_header(self) -> str:
        return basic_auth_header("x-access-token", self._token)

    def find_open(self, head: str) -> PullRequest | None:
        """The open pull request from this repository's branch `head` (the oldest when several
        target different bases). GitHub filters on `head=<owner>:<branch>`, which also keeps out
        pull requests from forks with a branch of the same name."""
        params = {"head": f"{self.owner}:{head}", "state": "open", "per_page": "100"}
        action = f"look for the open pull request from {head}"
        found = self._api.call("GET", f"{self._path}/pulls", action, params=params)
        if not isinstance(found, list):  # taken for "none", this would open a second pull request
            raise ForgeError(f"GitHub: cannot {action}: the answer is not a list as GitHub documents it")
        pulls = [_pull(item) for item in found]
        mine = sorted((pull for pull in pulls if pull.head == head), key=lambda pull: pull.number)
        return mine[0] if mine else None

    def open(self, head: str, base: str, title: str, body: str, draft: bool) -> PullRequest:
        payload = {"title": title, "head": head, "base": base, "body": body, "draft": draft}
        return _pull(self._api.call("POST", f"{self._path}/pulls", f"open a pull request from {head} into {base}", json=payload))

    def update(self, number: int, title: str, body: str) -> PullRequest:
        payload = {"title": title, "body": body}
        return _pull(self._api.call("PATCH", f"{self._path}/pulls/{number}", f"update pull request #{number}", json=payload))

    def close(self, number: int) -> None:
        self._api.call("PATCH", f"{self._path}/pulls/{number}", f"close pull request #{number}", json={"state": "closed"})

    def comment(self, number: int, text: str) -> None:
        action = f"comment on pull request #{number}"
        self._api.call("POST", f"{self._path}/issues/{number}/comments", action, json={"body": text})

    def label(self, number: int, labels: Sequence[str]) -> None:
        if labels:  # GitHub refuses an empty list (minItems: 1)
            action = f"label pull request #{number}"
            self._api.call("POST", f"{self._path}/issues/{number}/labels", action, json={"labels": list(labels)})

    def assign(self, number: int, assignees: Sequence[str]) -> None:
        if assignees:
            action = f"assign pull request #{number}"
            self._api.call("POST", f"{self._path}/issues/{number}/assignees", action, json={"assignees": list(assignees)})

    def request_review(self, number: int, reviewers: Sequence[str]) -> None:
        """Reviewers are user logins; `org/team` names a team (GitHub's team slug after the slash)."""
        users = [name for name in reviewers if "/" not in name]
        teams = [name.split("/", 1)[1] for name in reviewers if "/" in name]
        if users or teams:
            payload = {"reviewers": users, "team_reviewers": teams}
            action = f"request reviews on pull request #{number}"
            self._api.call("POST", f"{self._path}/pulls/{number}/requested_reviewers", action, json=payload)


def _pull(item: Any) -> PullRequest:
    """A PullRequest from GitHub's `pull-request` or `pull-request-simple` object."""
    try:
        return PullRequest(
            number=int(item["number"]),
            url=str(item["html_url"]),
            head=str(item["head"]["ref"]),
            base=str(item["base"]["ref"]),
            title=str(item["title"]),
            body=str(item.get("body") or ""),
            draft=bool(item.get("draft", False)),
        )
    except (KeyError, TypeError, ValueError):
        raise ForgeError("GitHub: the answer is not a pull request as GitHub documents it") from None


def installation_token(
    api_url: str, app_id: str | int, private_key_pem: str, owner: str, repo: str, client: httpx.Client | None = None
) -> str:
    """An installation token of a GitHub App for `owner/repo`, limited to that one repository:
    a JWT signed with the app's private key (RS256) finds the app's installation on the
    repository (`GET /repos/{owner}/{repo}/installation`), then buys a token for it
    (`POST /app/installations/{id}/access_tokens`). The token lives one hour, longer than a run.
    Needs PyJWT with cryptography (`pip install 'harden[github-app]'`)."""
    token = _app_jwt(app_id, private_key_pem)
    refused = "check the GitHub App's id and private key"
    api = JsonApi("GitHub", api_url, _headers(token), token, refused, "the GitHub App installed on the repository", client)
    path = f"/repos/{quote(owner, safe='')}/{quote(repo, safe='')}/installation"
    installation = api.call("GET", path, f"find the GitHub App's installation on {owner}/{repo}")
    if not isinstance(installation, dict) or not isinstance(installation.get("id"), int):
        raise ForgeError("GitHub: the answer is not an installation as GitHub documents it")
    action = f"get an installation token for {owner}/{repo}"
    answer = api.call("POST", f"/app/installations/{installation['id']}/access_tokens", action, json={"repositories": [repo]})
    if not isinstance(answer, dict) or not isinstance(answer.get("token"), str):
        raise ForgeError("GitHub: the answer is not an installation token as GitHub documents it")
    return str(answer["token"])


def _app_jwt(app_id: str | int, private_key_pem: str) -> str:
    """The app's JSON Web Token: issued a minute in the past (GitHub's advice against clock
    drift) and valid for nine minutes (GitHub accepts at most ten)."""
    try:
        import jwt
    except ImportError:
        raise ForgeError("a GitHub App needs PyJWT with cryptography: pip install 'harden[github-app]'") from None
    now = int(clock.now().timestamp())
    claims = {"iat": now - 60, "exp": now + int(dt.timedelta(minutes=9).total_seconds()), "iss": str(app_id)}
    try:
        return jwt.encode(claims, private_key_pem, algorithm="RS256")
    except NotImplementedError:
        raise ForgeError("a GitHub App needs PyJWT with cryptography: pip install 'harden[github-app]'") from None
    except (ValueError, TypeError, jwt.PyJWTError):
        raise ForgeError("the GitHub App's private key is not an RSA private key in PEM format") from None
