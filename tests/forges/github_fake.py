"""A fake GitHub REST API on 127.0.0.1 whose every request and answer is checked against GitHub's
own OpenAPI description.

The description is `generated/api.github.com.json` of the npm package `@octokit/openapi` 23.0.2
(RECIPES.md §5): `.ci/run` fetches it into `$HARDEN_GITHUB_OPENAPI` (default
`~/.cache/harden-openapi/api.github.com.json`). `contract()` loads it once per process with
openapi-core 0.23 (`spec_validator_cls=None`: validating the 13 MB description itself takes 23 s
and proves nothing about our client), with `http://127.0.0.1:{port}` and `.../api/v3` (GitHub
Enterprise Server) added to its servers.

The fake keeps pull requests, comments, labels, assignees and review requests in memory, and
answers the endpoints harden/bot/github.py calls as GitHub does, including the refusals a real
repository gives: a second open pull request for the same branches, a body over 65536
characters, an unknown head branch (when `branch_exists` says so), a review requested from the
pull request's author, a missing or wrong token (401) and a request without a User-Agent (403).

A request the real service would reject by its description (a wrong type, a missing field, an
unknown enum value, an endpoint that does not exist) is answered with 422 (404 for an unknown
endpoint) and recorded in `errors`; the `github_fake` fixture fails the test at teardown while
`errors` is not empty. An answer of the fake that does not validate is recorded there too (the
fake itself must be honest). `fail_next()` makes the next matching calls fail with a given status
and headers (401, 403 with a rate-limit reset, 422, 500); those answers are validated when the
description documents that status for the operation, and are GitHub's `basic-error` shape
otherwise. Every request is recorded (method, path, query, JSON body, headers) in `requests`.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from forges.server import Answer, FakeServer, Recorded, route_pattern

SPEC_VARIABLE = "HARDEN_GITHUB_OPENAPI"
BODY_LIMIT = 65536
DOCS = "https://docs.github.com/rest"


def spec_path() -> Path:
    """Where .ci/run puts GitHub's OpenAPI description."""
    return Path(os.environ.get(SPEC_VARIABLE) or Path.home() / ".cache" / "harden-openapi" / "api.github.com.json")


@dataclass(frozen=True)
class Contract:
    api: Any  # openapi_core.OpenAPI
    spec: dict[str, Any]

    def example(self, name: str) -> Any:
        """A deep copy of one of the description's `components/examples`, with GitHub's own
        `pull-request` example mended: its requested team lacks the required `type`."""
        value = copy.deepcopy(self.spec["components"]["examples"][name]["value"])
        for item in value if isinstance(value, list) else [value]:
            for team in item.get("requested_teams") or []:
                team.setdefault("type", "organization")
        return value


@functools.cache
def contract(path: Path) -> Contract:
    """GitHub's description, loaded once per process (about 0.3 s) for openapi-core."""
    from openapi_core import Config, OpenAPI

    spec = json.loads(path.read_text(encoding="utf-8"))
    port = {"port": {"default": "80"}}
    spec["servers"] += [
        {"url": "http://127.0.0.1:{port}", "variables": port},
        {"url": "http://127.0.0.1:{port}/api/v3", "variables": port},
    ]
    return Contract(OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None)), spec)


@dataclass
class Pull:
    number: int
    head: str
    base: str
    title: str
    body: str
    draft: bool
    state: str = "open"
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)


@dataclass
class App:
    """A GitHub App the fake knows: its id, its public key (PEM) and the repository it is installed on."""

    app_id: str
    public_key: str
    installation_id: int = 4242
    token: str = "ghs_installationtokenfromthefakeapp000001"


ROUTES: list[tuple[str, str, str]] = [  # method, path pattern of the description, handler
    ("GET", "/repos/{owner}/{repo}/pulls", "list_pulls"),
    ("POST", "/repos/{owner}/{repo}/pulls", "create_pull"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", "get_pull"),
    ("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}", "update_pull"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", "create_comment"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels", "add_labels"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/assignees", "add_assignees"),
    ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", "request_reviewers"),
    ("GET", "/repos/{owner}/{repo}/installation", "get_installation"),
    ("POST", "/app/installations/{installation_id}/access_tokens", "create_installation_token"),
]
APP_ROUTES = {"get_installation", "create_installation_token"}  # authenticated with the app's JWT


class GitHubFake(FakeServer):
    """The fake server; `url` is the API base URL to give the client (with `/api/v3` when `enterprise`)."""

    def __init__(self, contract: Contract, token: str, owner: str = "acme", repo: str = "app", enterprise: bool = False) -> None:
        super().__init__()
        self.contract, self.owner, self.repo = contract, owner, repo
        self.tokens = {token}
        self.prefix = "/api/v3" if enterprise else ""
        self.bot_login = "harden-bot"  # the token's user: the author of the pull requests it opens
        self.app: App | None = None
        self.branch_exists: Callable[[str], bool] | None = None
        self.pulls: dict[int, Pull] = {}
        self.comments: list[tuple[int, str]] = []
        self._next_number = 1
        self._routes = [(method, template, route_pattern(template), handler) for method, template, handler in ROUTES]

    @property
    def url(self) -> str:
        return self.origin + self.prefix

    def add_pull(self, head: str, base: str = "main", title: str = "a pull request", body: str = "", draft: bool = False) -> Pull:
        """A pull request that exists before the test (opened by someone, or by an earlier run)."""
        pull = Pull(self._next_number, head, base, title, body, draft)
        self.pulls[pull.number] = pull
        self._next_number += 1
        return pull

    # The request cycle ---------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Answer:
        full, query, body = self.decode(method, target, raw)
        path = full.removeprefix(self.prefix) if full.startswith(self.prefix + "/") else None
        with self.lock:
            self.requests.append(Recorded(method, path or full, query, body, headers))
            if path is None:
                self.errors.append(f"{method} {full}: outside the API's base path {self.prefix!r}")
                return 404, _error("Not Found"), {}
            return self._answer(method, full, path, query, headers, raw, body)

    def _answer(
        self, method: str, full: str, path: str, query: dict[str, list[str]], headers: dict[str, str], raw: bytes, body: Any
    ) -> Answer:
        route = self._route(method, path)
        if route is None:
            self.errors.append(f"{method} {path}: no such endpoint in GitHub's description (or not faked)")
            return 404, _error("Not Found"), {}
        template, handler, view_args = route
        request = self._mock_request(method, full, query, headers, raw, view_args)
        try:
            self.contract.api.validate_request(request)
        except Exception as error:  # openapi-core raises a family of errors; each is a contract violation
            self.errors.append(f"{method} {path}: request does not validate: {_explain(error)}")
            return self._validated(request, template, method, 422, _error("Invalid request.", status=422), {})
        refusal = self._refuse(handler, headers)
        if refusal is None:
            refusal = self._injected(method, path)
        status, answer, extra = refusal or getattr(self, handler)(body, query, **view_args)
        return self._validated(request, template, method, status, answer, extra)

    def _route(self, method: str, path: str) -> tuple[str, str, dict[str, str]] | None:
        for route_method, template, pattern, handler in self._routes:
            match = pattern.match(path)
            if match and route_method == method:
                return template, handler, {name: unquote(value) for name, value in match.groupdict().items()}
        return None

    def _mock_request(
        self, method: str, full: str, query: dict[str, list[str]], headers: dict[str, str], raw: bytes, view_args: dict[str, str]
    ) -> Any:
        from openapi_core.testing import MockRequest

        host = self.origin
        args = {name: values[-1] for name, values in query.items()}
        content_type = headers.get("content-type", "application/json").split(";")[0]
        return MockRequest(
            host,
            method.lower(),
            full,
            args=args,
            view_args=view_args,
            headers=headers,
            data=raw or None,
            content_type=content_type,
        )

    def _validated(self, request: Any, template: str, method: str, status: int, answer: Any, extra: dict[str, str]) -> Answer:
        """Check the fake's own answer against the description (when it documents the status)."""
        from openapi_core.testing import MockResponse

        documented = self.contract.spec["paths"][template][method.lower()]["responses"]
        if str(status) in documented:
            response = MockResponse(json.dumps(answer).encode(), status_code=status, headers=extra)
            try:
                self.contract.api.validate_response(request, response)
            except Exception as error:
                self.errors.append(f"{method} {template}: the fake's {status} answer does not validate: {_explain(error)}")
        return status, answer, extra

    def _refuse(self, handler: str, headers: dict[str, str]) -> Answer | None:
        """GitHub's refusals before any work: no User-Agent (403), a missing or wrong credential (401)."""
        if not headers.get("user-agent"):
            return (
                403,
                _error(
                    "Request forbidden by administrative rules. Please make sure your request has a User-Agent header", status=403
                ),
                {},
            )
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if handler in APP_ROUTES:
            if scheme.lower() == "bearer" and self._app_jwt_ok(credential):
                return None
            return 401, _error("A JSON web token could not be decoded", status=401), {}
        if scheme.lower() in ("bearer", "token") and credential in self.tokens:
            return None
        return 401, _error("Bad credentials", status=401), {}

    def _app_jwt_ok(self, credential: str) -> bool:
        """The app's JWT: RS256, signed by the app's key, issued by its id, living ten minutes at most."""
        import jwt

        if self.app is None:
            return False
        try:
            claims = jwt.decode(
                credential, self.app.public_key, algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False}
            )
        except jwt.PyJWTError:
            return False
        return claims.get("iss") == self.app.app_id and 0 < claims["exp"] - claims["iat"] <= 660

    def _injected(self, method: str, path: str) -> Answer | None:
        failure = self.take_failure(method, path)
        if failure is None:
            return None
        return failure.status, _error(failure.message, status=failure.status, errors=failure.errors), dict(failure.headers)

    # The endpoints ------------------------------------------------------------------------------

    def _repository(self, owner: str, repo: str) -> Answer | None:
        if (owner, repo) != (self.owner, self.repo):
            return 404, _error("Not Found", status=404), {}
        return None

    def _pull(self, number: str) -> Pull | Answer:
        pull = self.pulls.get(int(number))
        return pull if pull else (404, _error("Not Found", status=404), {})

    def list_pulls(self, body: Any, query: dict[str, list[str]], owner: str, repo: str) -> Answer:
        state, head, base = (query.get(name, [""])[-1] for name in ("state", "head", "base"))
        found = [
            pull
            for pull in sorted(self.pulls.values(), key=lambda pull: -pull.number)
            if (state in ("", pull.state) or state == "all")
            and (not head or ":" not in head or head == f"{self.owner}:{pull.head}")  # GitHub ignores a head without owner
            and (not base or base == pull.base)
        ]
        return self._repository(owner, repo) or (200, [self.render(pull, simple=True) for pull in found], {})

    def create_pull(self, body: Any, query: dict[str, list[str]], owner: str, repo: str) -> Answer:
        if refused := self._repository(owner, repo):
            return refused
        head, base = body["head"], body["base"]
        if any(pull.state == "open" and (pull.head, pull.base) == (head, base) for pull in self.pulls.values()):
            return _invalid(
                {"resource": "PullRequest", "code": "custom", "message": f"A pull request already exists for {owner}:{head}."}
            )
        if self.branch_exists is not None and not self.branch_exists(head):
            return _invalid({"resource": "PullRequest", "field": "head", "code": "invalid"})
        if head == base:
            return _invalid({"resource": "PullRequest", "code": "custom", "message": f"No commits between {base} and {head}"})
        if too_long := _too_long(body.get("body")):
            return too_long
        pull = self.add_pull(head, base, body.get("title", ""), body.get("body") or "", bool(body.get("draft", False)))
        return 201, self.render(pull), {"Location": f"{self.url}/repos/{owner}/{repo}/pulls/{pull.number}"}

    def get_pull(self, body: Any, query: dict[str, list[str]], owner: str, repo: str, pull_number: str) -> Answer:
        pull = self._pull(pull_number)
        return self._repository(owner, repo) or (pull if isinstance(pull, tuple) else (200, self.render(pull), {}))

    def update_pull(self, body: Any, query: dict[str, list[str]], owner: str, repo: str, pull_number: str) -> Answer:
        pull = self._pull(pull_number)
        if refused := self._repository(owner, repo) or (pull if isinstance(pull, tuple) else None) or _too_long(body.get("body")):
            return refused
        assert isinstance(pull, Pull)
        pull.title = body.get("title", pull.title)
        pull.body = body.get("body", pull.body)
        pull.state = body.get("state", pull.state)
        return 200, self.render(pull), {}

    def create_comment(self, body: Any, query: dict[str, list[str]], owner: str, repo: str, issue_number: str) -> Answer:
        pull = self._pull(issue_number)
        if refused := self._repository(owner, repo) or (pull if isinstance(pull, tuple) else None) or _too_long(body.get("body")):
            return refused
        self.comments.append((int(issue_number), body["body"]))
        comment = self.contract.example("issue-comment")
        comment.update(
            id=len(self.comments), body=body["body"], issue_url=f"{self.url}/repos/{owner}/{repo}/issues/{issue_number}"
        )
        comment["user"]["login"] = self.bot_login
        return 201, comment, {"Location": f"{self.url}/repos/{owner}/{repo}/issues/comments/{len(self.comments)}"}

    def add_labels(self, body: Any, query: dict[str, list[str]], owner: str, repo: str, issue_number: str) -> Answer:
        pull = self._pull(issue_number)
        if refused := self._repository(owner, repo) or (pull if isinstance(pull, tuple) else None):
            return refused
        assert isinstance(pull, Pull)
        names = body["labels"] if isinstance(body, dict) else body
        for label in names:
            name = label if isinstance(label, str) else label["name"]
            if name not in pull.labels:  # GitHub creates a label the repository does not have yet
                pull.labels.append(name)
        return 200, [self._label(name) for name in pull.labels], {}

    def add_assignees(self, body: Any, query: dict[str, list[str]], owner: str, repo: str, issue_number: str) -> Answer:
        pull = self._pull(issue_number)
        if refused := self._repository(owner, repo) or (pull if isinstance(pull, tuple) else None):
            return refused
        assert isinstance(pull, Pull)
        for assignee in body.get("assignees", []):
            login = assignee if isinstance(assignee, str) else assignee["login"]
            if login not in pull.assignees:
                pull.assignees.append(login)
        issue = self.contract.example("issue")
        issue.update(number=pull.number, title=pull.title, body=pull.body, state=pull.state)
        issue["assignees"] = [self._user(login) for login in pull.assignees]
        issue["assignee"] = issue["assignees"][0] if issue["assignees"] else None
        return 201, issue, {}

    def request_reviewers(self, body: Any, query: dict[str, list[str]], owner: str, repo: str, pull_number: str) -> Answer:
        pull = self._pull(pull_number)
        if refused := self._repository(owner, repo) or (pull if isinstance(pull, tuple) else None):
            return refused
        assert isinstance(pull, Pull)
        if self.bot_login in body.get("reviewers", []):
            return _invalid(
                {"resource": "PullRequest", "code": "custom", "message": "Review cannot be requested from pull request author."}
            )
        pull.reviewers += [login for login in body.get("reviewers", []) if login not in pull.reviewers]
        pull.teams += [slug for slug in body.get("team_reviewers", []) if slug not in pull.teams]
        return 201, self.render(pull, simple=True), {}

    def get_installation(self, body: Any, query: dict[str, list[str]], owner: str, repo: str) -> Answer:
        if refused := self._repository(owner, repo):
            return refused
        assert self.app is not None
        installation = self.contract.example("installation")
        installation.update(id=self.app.installation_id, app_id=int(self.app.app_id))
        return 200, installation, {}

    def create_installation_token(self, body: Any, query: dict[str, list[str]], installation_id: str) -> Answer:
        assert self.app is not None
        if int(installation_id) != self.app.installation_id:
            return 404, _error("Not Found", status=404), {}
        if body and body.get("repositories") not in (None, [self.repo]):
            return _invalid(
                {"resource": "Installation", "code": "custom", "message": "There is at least one repository that does not exist"}
            )
        self.tokens.add(self.app.token)
        token = self.contract.example("installation-token")
        token["token"] = self.app.token
        return 201, token, {}

    # Rendering ----------------------------------------------------------------------------------

    def render(self, pull: Pull, simple: bool = False) -> dict[str, Any]:
        """`pull` as GitHub's `pull-request` object (or `pull-request-simple`), built on the description's example."""
        item = self.contract.example("pull-request-simple-items")[0] if simple else self.contract.example("pull-request")
        web = f"https://github.example/{self.owner}/{self.repo}/pull/{pull.number}"
        item.update(
            number=pull.number,
            id=1000 + pull.number,
            html_url=web,
            title=pull.title,
            body=pull.body,
            draft=pull.draft,
            state=pull.state,
        )
        item["url"] = f"{self.url}/repos/{self.owner}/{self.repo}/pulls/{pull.number}"
        item["user"]["login"] = self.bot_login
        for side, ref in (("head", pull.head), ("base", pull.base)):
            item[side].update(ref=ref, label=f"{self.owner}:{ref}")
        item["labels"] = [self._label(name) for name in pull.labels]
        item["assignees"] = [self._user(login) for login in pull.assignees]
        item["assignee"] = item["assignees"][0] if item["assignees"] else None
        item["requested_reviewers"] = [self._user(login) for login in pull.reviewers]
        item["requested_teams"] = [self._team(slug) for slug in pull.teams]
        return item

    def _label(self, name: str) -> dict[str, Any]:
        label = self.contract.example("label")
        label.update(name=name, id=zlib.crc32(name.encode()))
        return label

    def _user(self, login: str) -> dict[str, Any]:
        user = self.contract.example("issue")["user"]
        user.update(login=login, id=zlib.crc32(login.encode()))
        return user

    def _team(self, slug: str) -> dict[str, Any]:
        team = self.contract.example("pull-request")["requested_teams"][0]
        team.update(slug=slug, name=slug, parent=None)  # `pull-request-simple` lists full teams, whose `parent` is required
        return team


def _error(message: str, status: int | None = None, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """GitHub's `basic-error` (with `errors` for a 422's `validation-error`)."""
    body: dict[str, Any] = {"message": message, "documentation_url": DOCS}
    if status is not None:
        body["status"] = str(status)
    if errors is not None:
        body["errors"] = errors
    return body


def _invalid(*errors: dict[str, Any]) -> Answer:
    return 422, _error("Validation Failed", status=422, errors=list(errors)), {}


def _too_long(text: Any) -> Answer | None:
    if isinstance(text, str) and len(text) > BODY_LIMIT:
        return _invalid(
            {
                "resource": "Issue",
                "field": "body",
                "code": "custom",
                "message": f"body is too long (maximum is {BODY_LIMIT} characters)",
            }
        )
    return None


def _explain(error: BaseException) -> str:
    """openapi-core's error with its causes (the schema errors sit in `__cause__`), each cut short."""
    parts = []
    cause: BaseException | None = error
    while cause is not None and len(parts) < 4:
        details = [str(item.message)[:200] for item in getattr(cause, "schema_errors", None) or ()]
        parts.append(f"{type(cause).__name__}: {str(cause)[:200]}" + (f" {details}" if details else ""))
        cause = cause.__cause__
    return " <- ".join(parts)


@contextmanager
def running(contract: Contract, token: str, **options: Any) -> Iterator[GitHubFake]:
    """A started fake, stopped afterwards."""
    fake = GitHubFake(contract, token, **options).start()
    try:
        yield fake
    finally:
        fake.stop()
