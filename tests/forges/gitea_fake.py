"""A fake Gitea/Forgejo API (`/api/v1`) on 127.0.0.1, written by hand from Gitea's documented
endpoints.

Gitea ships no OpenAPI 3 description that can be validated (RECIPES.md §5): a server serves
Swagger 2.0, which openapi-core does not read, and no package on PyPI, npm or Debian carries the
description. So this fake checks each request against JSON Schemas written here from Gitea's
swagger annotations and option structs (routers/api/v1/repo/pull.go, pull_review.go, issue.go,
issue_label.go, issue_comment.go; modules/structs: CreatePullRequestOption,
EditPullRequestOption, CreateIssueCommentOption, IssueLabelsOption, EditIssueOption,
PullReviewRequestOptions), and answers with the documented status codes (201 for a create or an
edit, 409 for a second pull request between the same branches). It is stricter than Gitea in one
way, on purpose: Gitea ignores a field it does not know, which would hide a client bug (a `draft`
flag Gitea does not have), so an unknown field or query parameter is a contract error here.

A request that breaks the contract is answered with 422 and recorded in `errors`; the `gitea_fake`
fixture fails the test at teardown while `errors` is not empty. Every request is recorded in
`requests`; `fail_next()` works as in the GitHub fake. Lists are paginated with `page` and
`limit` (at most 50 items a page, Gitea's default MAX_RESPONSE_ITEMS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import jsonschema

from forges.server import Answer, FakeServer, Recorded, route_pattern

PAGE_MAX = 50
_STRINGS = {"type": "array", "items": {"type": "string"}}
_IDS = {"type": "array", "items": {"type": "integer"}}


def _object(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties, "additionalProperties": False}


BODIES = {
    "create_pull": _object(
        ["head", "base", "title"],
        head={"type": "string", "minLength": 1},
        base={"type": "string", "minLength": 1},
        title={"type": "string", "minLength": 1},
        body={"type": "string"},
        assignee={"type": "string"},
        assignees=_STRINGS,
        milestone={"type": "integer"},
        labels=_IDS,
        due_date={"type": "string"},
        reviewers=_STRINGS,
        team_reviewers=_STRINGS,
    ),
    "edit_pull": _object(
        [],
        title={"type": "string"},
        body={"type": "string"},
        base={"type": "string"},
        assignee={"type": "string"},
        assignees=_STRINGS,
        milestone={"type": "integer"},
        labels=_IDS,
        state={"enum": ["open", "closed"]},
        due_date={"type": "string"},
        unset_due_date={"type": "boolean"},
        allow_maintainer_edit={"type": "boolean"},
    ),
    "create_comment": _object(["body"], body={"type": "string"}),
    "add_labels": _object(["labels"], labels=_IDS),
    "edit_issue": _object(
        [],
        title={"type": "string"},
        body={"type": "string"},
        ref={"type": "string"},
        assignee={"type": "string"},
        assignees=_STRINGS,
        milestone={"type": "integer"},
        state={"enum": ["open", "closed"]},
        due_date={"type": "string"},
        unset_due_date={"type": "boolean"},
    ),
    "request_reviewers": _object([], reviewers=_STRINGS, team_reviewers=_STRINGS),
}
_PAGING = {"page": r"[1-9][0-9]*", "limit": r"[0-9]+"}
QUERIES = {  # the query parameters each listing documents, with the pattern of their values
    "list_pulls": {
        **_PAGING,
        "state": r"open|closed|all",
        "sort": r"oldest|recentupdate|leastupdate|mostcomment|leastcomment|priority",
    },
    "list_labels": _PAGING,
}
ROUTES = [  # method, path under /api/v1, handler
    ("GET", "/repos/{owner}/{repo}/pulls", "list_pulls"),
    ("POST", "/repos/{owner}/{repo}/pulls", "create_pull"),
    ("GET", "/repos/{owner}/{repo}/pulls/{index}", "get_pull"),
    ("PATCH", "/repos/{owner}/{repo}/pulls/{index}", "edit_pull"),
    ("POST", "/repos/{owner}/{repo}/issues/{index}/comments", "create_comment"),
    ("GET", "/repos/{owner}/{repo}/labels", "list_labels"),
    ("POST", "/repos/{owner}/{repo}/issues/{index}/labels", "add_labels"),
    ("GET", "/repos/{owner}/{repo}/issues/{index}", "get_issue"),
    ("PATCH", "/repos/{owner}/{repo}/issues/{index}", "edit_issue"),
    ("POST", "/repos/{owner}/{repo}/pulls/{index}/requested_reviewers", "request_reviewers"),
]


@dataclass
class GiteaPull:
    number: int
    head: str
    base: str
    title: str
    body: str
    state: str = "open"
    fork: bool = False  # the head branch lives in another repository
    labels: list[int] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)


class GiteaFake(FakeServer):
    """The fake server; `url` is the API base URL to give the client (`.../api/v1`)."""

    def __init__(self, token: str, owner: str = "acme", repo: str = "app") -> None:
        super().__init__()
        self.token, self.owner, self.repo = token, owner, repo
        self.bot_login = "harden-bot"
        self.labels = {"security": 7, "automated": 9}  # the repository's labels: name -> id
        self.pulls: dict[int, GiteaPull] = {}
        self.comments: list[tuple[int, str]] = []
        self._routes = [(method, route_pattern(path), name) for method, path, name in ROUTES]

    @property
    def url(self) -> str:
        return self.origin + "/api/v1"

    def add_pull(
        self, head: str, base: str = "main", title: str = "a pull request", body: str = "", fork: bool = False
    ) -> GiteaPull:
        pull = GiteaPull(len(self.pulls) + 1, head, base, title, body, fork=fork)
        self.pulls[pull.number] = pull
        return pull

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Answer:
        full, query, body = self.decode(method, target, raw)
        path = full.removeprefix("/api/v1")
        with self.lock:
            self.requests.append(Recorded(method, path, query, body, headers))
            route = next(
                ((name, match) for verb, pattern, name in self._routes if verb == method and (match := pattern.match(path))), None
            )
            if route is None or not full.startswith("/api/v1/"):
                self.errors.append(f"{method} {full}: not an endpoint of Gitea's API (or not faked)")
                return 404, _error("Not Found"), {}
            name, match = route
            problems = self._check(name, query, body)
            if problems:
                self.errors += [f"{method} {path}: {problem}" for problem in problems]
                return 422, _error("; ".join(problems)), {}
            refusal = self._refuse(headers) or self._injected(method, path)
            if refusal:
                return refusal
            args = {key: unquote(value) for key, value in match.groupdict().items()}
            if (args.pop("owner"), args.pop("repo")) != (self.owner, self.repo):
                return 404, _error("The target couldn't be found."), {}
            answer: Answer = getattr(self, name)(body, query, **args)
            return answer

    def _check(self, name: str, query: dict[str, list[str]], body: Any) -> list[str]:
        """Contract errors of the request: unknown or malformed query parameters, a body that breaks its option's schema."""
        problems = []
        allowed = QUERIES.get(name, {})
        for key, values in query.items():
            if key not in allowed:
                problems.append(f"unknown query parameter {key!r}")
            elif not all(re.fullmatch(allowed[key], value) for value in values):
                problems.append(f"query parameter {key}={values} does not match {allowed[key]!r}")
        schema = BODIES.get(name)
        if schema is None and body is not None:
            problems.append("a body where none is documented")
        elif schema is not None:
            validator = jsonschema.Draft7Validator(schema)
            problems += [f"body: {error.message}" for error in validator.iter_errors(body)]
        return problems

    def _refuse(self, headers: dict[str, str]) -> Answer | None:
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if scheme.lower() in ("token", "bearer") and credential == self.token:
            return None
        return 401, _error("token is required" if not credential else "user does not exist"), {}

    def _injected(self, method: str, path: str) -> Answer | None:
        failure = self.take_failure(method, path)
        return (failure.status, _error(failure.message), dict(failure.headers)) if failure else None

    # The endpoints ------------------------------------------------------------------------------

    def _pull(self, index: str) -> GiteaPull | None:
        return self.pulls.get(int(index)) if index.isdigit() else None

    def list_pulls(self, body: Any, query: dict[str, list[str]]) -> Answer:
        state = query.get("state", ["open"])[-1]
        found = [pull for pull in sorted(self.pulls.values(), key=lambda pull: -pull.number) if state in ("all", pull.state)]
        return 200, [self.render(pull) for pull in _page(found, query)], {"X-Total-Count": str(len(found))}

    def create_pull(self, body: Any, query: dict[str, list[str]]) -> Answer:
        head, base = body["head"], body["base"]
        if head == base:
            return 422, _error("Invalid PullRequest: There are no changes between the head and the base"), {}
        existing = next(
            (pull for pull in self.pulls.values() if pull.state == "open" and (pull.head, pull.base) == (head, base)), None
        )
        if existing:
            targets = f"[id: {existing.number}, head_branch: {head}, base_branch: {base}]"
            return 409, _error(f"pull request already exists for these targets {targets}"), {}
        pull = self.add_pull(head, base, body["title"], body.get("body", ""))
        return 201, self.render(pull), {}

    def get_pull(self, body: Any, query: dict[str, list[str]], index: str) -> Answer:
        pull = self._pull(index)
        return (200, self.render(pull), {}) if pull else (404, _error("The target couldn't be found."), {})

    def edit_pull(self, body: Any, query: dict[str, list[str]], index: str) -> Answer:
        pull = self._pull(index)
        if pull is None:
            return 404, _error("The target couldn't be found."), {}
        pull.title, pull.body, pull.state = (
            body.get("title") or pull.title,
            body.get("body", pull.body),
            body.get("state", pull.state),
        )
        return 201, self.render(pull), {}

    def create_comment(self, body: Any, query: dict[str, list[str]], index: str) -> Answer:
        if self._pull(index) is None:
            return 404, _error("The target couldn't be found."), {}
        self.comments.append((int(index), body["body"]))
        comment = {
            "id": len(self.comments),
            "body": body["body"],
            "user": _user(self.bot_login),
            "html_url": f"{self._web(index)}#issuecomment-{len(self.comments)}",
        }
        return 201, comment, {}

    def list_labels(self, body: Any, query: dict[str, list[str]]) -> Answer:
        labels = [self._label(label_id) for label_id in sorted(self.labels.values())]
        return 200, _page(labels, query), {"X-Total-Count": str(len(labels))}

    def add_labels(self, body: Any, query: dict[str, list[str]], index: str) -> Answer:
        pull = self._pull(index)
        if pull is None:
            return 404, _error("The target couldn't be found."), {}
        unknown = [label_id for label_id in body["labels"] if label_id not in self.labels.values()]
        if unknown:
            return 422, _error(f"label does not exist [label_id: {unknown[0]}]"), {}
        pull.labels += [label_id for label_id in body["labels"] if label_id not in pull.labels]
        return 200, [self._label(label_id) for label_id in pull.labels], {}

    def get_issue(self, body: Any, query: dict[str, list[str]], index: str) -> Answer:
        pull = self._pull(index)
        return (200, self._issue(pull), {}) if pull else (404, _error("The target couldn't be found."), {})

    def edit_issue(self, body: Any, query: dict[str, list[str]], index: str) -> Answer:
        pull = self._pull(index)
        if pull is None:
            return 404, _error("The target couldn't be found."), {}
        if "assignees" in body:
            pull.assignees = list(body["assignees"])  # Gitea replaces the assignees
        return 201, self._issue(pull), {}

    def request_reviewers(self, body: Any, query: dict[str, list[str]], index: str) -> Answer:
        pull = self._pull(index)
        if pull is None:
            return 404, _error("The target couldn't be found."), {}
        added = [login for login in body.get("reviewers", []) if login not in pull.reviewers]
        pull.reviewers += added
        reviews = [{"id": number, "user": _user(login), "state": "REQUEST_REVIEW"} for number, login in enumerate(added, 1)]
        return 201, reviews, {}

    # Rendering ----------------------------------------------------------------------------------

    def render(self, pull: GiteaPull) -> dict[str, Any]:
        """`pull` as Gitea's `PullRequest` object (the fields a client reads, and a few more)."""
        repository = {"id": 1, "name": self.repo, "full_name": f"{self.owner}/{self.repo}", "owner": _user(self.owner)}
        fork = {"id": 2, "name": self.repo, "full_name": f"someone/{self.repo}", "owner": _user("someone")}
        head_repository = fork if pull.fork else repository
        return {
            "id": 100 + pull.number,
            "number": pull.number,
            "url": self._web(str(pull.number)),
            "html_url": self._web(str(pull.number)),
            "user": _user(self.bot_login),
            "title": pull.title,
            "body": pull.body,
            "state": pull.state,
            "labels": [self._label(label_id) for label_id in pull.labels],
            "assignees": [_user(login) for login in pull.assignees],
            "head": {
                "label": pull.head,
                "ref": pull.head,
                "sha": "0" * 40,
                "repo_id": head_repository["id"],
                "repo": head_repository,
            },
            "base": {"label": pull.base, "ref": pull.base, "sha": "1" * 40, "repo_id": 1, "repo": repository},
            "mergeable": True,
            "merged": False,
        }

    def _issue(self, pull: GiteaPull) -> dict[str, Any]:
        assignees = [_user(login) for login in pull.assignees]
        return {
            "id": 100 + pull.number,
            "number": pull.number,
            "title": pull.title,
            "state": pull.state,
            "assignees": assignees or None,
        }

    def _label(self, label_id: int) -> dict[str, Any]:
        name = next(name for name, known in self.labels.items() if known == label_id)
        return {"id": label_id, "name": name, "color": "e11d21", "description": ""}

    def _web(self, index: str) -> str:
        return f"{self.origin}/{self.owner}/{self.repo}/pulls/{index}"


def _page(items: list[Any], query: dict[str, list[str]]) -> list[Any]:
    page = int(query.get("page", ["1"])[-1])
    limit = min(int(query.get("limit", [str(PAGE_MAX)])[-1]) or PAGE_MAX, PAGE_MAX)
    return items[(page - 1) * limit : page * limit]


def _user(login: str) -> dict[str, Any]:
    return {"id": sum(map(ord, login)), "login": login, "username": login}


def _error(message: str) -> dict[str, Any]:
    """Gitea's `APIError`."""
    return {"message": message, "url": "https://gitea.example/api/swagger"}
