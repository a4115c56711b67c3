"""Gitea's and Forgejo's API (`/api/v1`) for `harden pr`: the same interface as the GitHub client.

What this relies on (Gitea's swagger annotations in routers/api/v1/repo/pull.go, pull_review.go,
issue.go, issue_label.go and issue_comment.go, and modules/structs; Forgejo keeps these
endpoints): `GET /repos/{owner}/{repo}/pulls?state=open&page=&limit=` lists pull requests (the
bot keeps the one whose `head.ref` is its branch and whose head repository is this one);
`POST .../pulls` (`CreatePullRequestOption`: head, base, title, body; 201); `PATCH
.../pulls/{index}` (`EditPullRequestOption`: title, body, state; 201); `POST
.../issues/{index}/comments` (`body`; 201); `GET .../labels` and `POST .../issues/{index}/labels`
(`IssueLabelsOption`: label ids; 200); `GET`/`PATCH .../issues/{index}` (`EditIssueOption`:
assignees, which replaces the list; 201); `POST .../pulls/{index}/requested_reviewers`
(`PullReviewRequestOptions`: reviewers, team_reviewers; 201). Errors carry `message` (409 for a
second pull request between the same branches, 422 for a validation error). The API is
authenticated with `Authorization: token <token>` (a token needs the `write:repository` and
`write:issue` scopes). No server ran in the tests: Gitea ships no OpenAPI 3 description that can
be validated (RECIPES.md §5), so tests/forges/gitea_fake.py is written from these endpoints.

Decisions:
- Draft: Gitea has no draft flag; a pull request whose title starts with `WIP:` (Gitea's default
  `WORK_IN_PROGRESS_PREFIXES`, `WIP:` and `[WIP]`) is a work in progress that cannot be merged.
  So `open(draft=True)` prefixes the title with `WIP: `, `update` keeps the prefix while the pull
  request has one (a human who removed it marked it ready, as on GitHub), and a PullRequest's
  `title` is shown without the prefix and `draft` says whether it had one.
- Labels: Gitea adds labels by id and only those that exist, so names are looked up in the
  repository's labels; an unknown name is a ForgeError naming it (GitHub would create it).
- Assignees: Gitea's issue edit replaces the assignees, so the bot reads the current ones and
  sends them with the new ones: nobody a human assigned is removed.
- git: Gitea and Forgejo take a token as the user name of basic authentication when the password
  is empty or `x-oauth-basic` (services/auth/basic.go, the GitHub convention they inherited); with
  a real user name and the token as password, Gitea checks that the name is the token's owner,
  which the bot does not know. So git pushes with `<token>:x-oauth-basic`.
- Body limit: Gitea documents none; the bot keeps GitHub's 65536 characters, so the body reads the
  same on both forges.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

from harden.bot.forge import ForgeError, JsonApi, PullRequest, basic_auth_header, token_hint

TOKEN_VARIABLES = ("HARDEN_TOKEN", "GITEA_TOKEN", "FORGEJO_TOKEN")
NEEDS = "the scopes write:repository and write:issue, and write access to the repository"
BODY_LIMIT = 65536
WIP_PREFIXES = ("WIP:", "[WIP]")  # Gitea's default; an instance may configure others
PAGE = 50  # Gitea's default MAX_RESPONSE_ITEMS; an instance may cut pages shorter, so only an empty page ends a list
MAX_PAGES = 100  # 5000 open pull requests or labels: past that, a forge that keeps answering is broken


class Gitea:
    """One repository on a Gitea or Forgejo server whose API is at `api_url` (`https://HOST/api/v1`)."""

    name = "Gitea"
    body_limit = BODY_LIMIT

    def __init__(self, api_url: str, owner: str, repo: str, token: str, client: httpx.Client | None = None) -> None:
        self.owner, self.repo = owner, repo
        self._token = token
        headers = {"Accept": "application/json", "Authorization": f"token {token}"}
        self._api = JsonApi(self.name, api_url, headers, token, token_hint(TOKEN_VARIABLES), NEEDS, client)
        self._path = f"/repos/{quote(owner, safe='')}/{quote(repo, safe='')}"

    def __repr__(self) -> str:
        return f"Gitea({self._api.api_url!r}, {self.owner!r}, {self.repo!r})"

    def git_auth_header(self) -> str:
        return basic_auth_header(self._token, "x-oauth-basic")

    def find_open(self, head: str) -> PullRequest | None:
        """The open pull request from this repository's branch `head` (the oldest when several target different bases)."""
        pulls = self._pages(f"{self._path}/pulls", f"look for the open pull request from {head}", {"state": "open"})
        mine = [item for item in pulls if _head(item) == head and _same_repository(item)]
        return min((_pull(item) for item in mine), key=lambda pull: pull.number, default=None)

    def open(self, head: str, base: str, title: str, body: str, draft: bool) -> PullRequest:
        payload = {"head": head, "base": base, "title": f"WIP: {title}" if draft else title, "body": body}
        return _pull(self._api.call("POST", f"{self._path}/pulls", f"open a pull request from {head} into {base}", json=payload))

    def update(self, number: int, title: str, body: str) -> PullRequest:
        action = f"update pull request #{number}"
        current = _pull(self._api.call("GET", f"{self._path}/pulls/{number}", action))
        payload = {"title": f"WIP: {title}" if current.draft else title, "body": body}
        return _pull(self._api.call("PATCH", f"{self._path}/pulls/{number}", action, json=payload))

    def close(self, number: int) -> None:
        self._api.call("PATCH", f"{self._path}/pulls/{number}", f"close pull request #{number}", json={"state": "closed"})

    def comment(self, number: int, text: str) -> None:
        action = f"comment on pull request #{number}"
        self._api.call("POST", f"{self._path}/issues/{number}/comments", action, json={"body": text})

    def label(self, number: int, labels: Sequence[str]) -> None:
        if not labels:
            return
        action = f"label pull request #{number}"
        known: dict[str, int] = {}
        for item in self._pages(f"{self._path}/labels", action, {}):
            if isinstance(item, dict) and isinstance(item.get("id"), int):
                known.setdefault(str(item.get("name")), item["id"])
        missing = [name for name in labels if name not in known]
        if missing:
            names = ", ".join(repr(name) for name in missing)
            raise ForgeError(f"Gitea: cannot {action}: {self.owner}/{self.repo} has no label {names}; create it first")
        self._api.call("POST", f"{self._path}/issues/{number}/labels", action, json={"labels": [known[name] for name in labels]})

    def assign(self, number: int, assignees: Sequence[str]) -> None:
        if not assignees:
            return
        action = f"assign pull request #{number}"
        issue = self._api.call("GET", f"{self._path}/issues/{number}", action)
        users = issue.get("assignees") if isinstance(issue, dict) else None
        current = [str(user.get("login")) for user in users or [] if isinstance(user, dict)]
        wanted = current + [name for name in assignees if name not in current]
        if wanted != current:
            self._api.call("PATCH", f"{self._path}/issues/{number}", action, json={"assignees": wanted})

    def request_review(self, number: int, reviewers: Sequence[str]) -> None:
        """Reviewers are user names; `org/team` names a team (the team's name after the slash)."""
        users = [name for name in reviewers if "/" not in name]
        teams = [name.split("/", 1)[1] for name in reviewers if "/" in name]
        if users or teams:
            action = f"request reviews on pull request #{number}"
            payload = {"reviewers": users, "team_reviewers": teams}
            self._api.call("POST", f"{self._path}/pulls/{number}/requested_reviewers", action, json=payload)

    def _pages(self, path: str, action: str, params: dict[str, str]) -> list[Any]:
        """Every item of a paginated list (`page` from 1, `limit` items a page, until an empty page)."""
        items: list[Any] = []
        for page in range(1, MAX_PAGES + 1):
            found = self._api.call("GET", path, action, params={**params, "page": str(page), "limit": str(PAGE)})
            if not isinstance(found, list):
                raise ForgeError(f"Gitea: cannot {action}: the answer is not a list as Gitea documents it")
            if not found:
                break
            items += found
        return items


def _head(item: Any) -> str | None:
    head = item.get("head") if isinstance(item, dict) else None
    return head.get("ref") if isinstance(head, dict) else None


def _same_repository(item: dict[str, Any]) -> bool:
    """Whether the pull request's head branch lives in the base repository (not in a fork)."""
    head, base = item.get("head") or {}, item.get("base") or {}
    return head.get("repo_id") is not None and head.get("repo_id") == base.get("repo_id")


def _pull(item: Any) -> PullRequest:
    """A PullRequest from Gitea's `PullRequest` object; a `WIP:` title is a draft (see the module)."""
    try:
        title = str(item["title"])
        wip = next((prefix for prefix in WIP_PREFIXES if title.upper().startswith(prefix)), None)
        return PullRequest(
            number=int(item["number"]),
            url=str(item["html_url"]),
            head=str(item["head"]["ref"]),
            base=str(item["base"]["ref"]),
            title=title[len(wip) :].lstrip() if wip else title,
            body=str(item.get("body") or ""),
            draft=wip is not None,
        )
    except (KeyError, TypeError, ValueError):
        raise ForgeError("Gitea: the answer is not a pull request as Gitea documents it") from None
