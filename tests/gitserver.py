"""A real git server on 127.0.0.1 over HTTP with basic auth, and helpers for tests that push to it.

The server is RECIPES.md §4: the standard library's HTTP server in front of git's own
`git http-backend` (CGI), so fetch, push, protocol v0 and v2 and chunked uploads behave as
they do on a forge. Every request is logged (`GitServer.log`: method, path, user) so a test can
prove that no push reached the server. Users are a dict user -> password (a token); a
`read_only` user may fetch, and its pushes are answered 403.

Use the fixtures from any test file with one line at the top of the module:

    pytest_plugins = ["gitserver"]

which gives `git_env` (an isolated git environment: HOME in tmp_path, no system or user
configuration, no terminal prompts, a fixed author and committer), `git_token` (a fresh random
token) and `git_server` (a started server whose one user is `x-access-token` with that token,
stopped after the test). The helpers (`seed`, `commit_files`, `clone`, `git`, `basic_auth`)
are plain functions: `from gitserver import seed`.
"""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import tempfile
import threading
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import pytest

USER = "x-access-token"  # the user name GitHub expects with a token; any name works here
AUTHOR = ("Test Human", "human@example.com")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    user: str | None  # None: no or wrong credentials (answered 401)


def _backend() -> str:
    exec_path = subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=True).stdout.strip()
    return os.path.join(exec_path, "git-http-backend")


class _Handler(BaseHTTPRequestHandler):
    """One HTTP request: check basic auth, then hand the request to `git http-backend`."""

    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        out = bytearray()  # git sends pushes larger than http.postBuffer (1 MiB) chunked
        while size := int(self.rfile.readline().split(b";")[0], 16):
            out += self.rfile.read(size)
            self.rfile.readline()
        self.rfile.readline()
        return bytes(out)

    def _user(self) -> str | None:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user if self.server.git.users.get(user) == password else None

    def do_GET(self) -> None:
        body, user = self._body(), self._user()
        self.server.git.log.append(Request(self.command, self.path, user))
        if user is None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if user in self.server.git.read_only and "git-receive-pack" in self.path:
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._backend(body, user)

    do_POST = do_GET

    def _backend(self, body: bytes, user: str) -> None:
        url = urlsplit(self.path)
        env = {
            "PATH": os.environ["PATH"],
            "HOME": self.server.git.root,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_PROJECT_ROOT": self.server.git.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "REMOTE_USER": user,  # lets http-backend accept pushes without http.receivepack
        }
        answer = subprocess.run([self.server.git.backend], input=body, env=env, capture_output=True).stdout
        head, _, out = answer.partition(b"\r\n\r\n")
        headers = [line.split(":", 1) for line in head.decode().split("\r\n") if ":" in line]
        status = next((int(value.split()[0]) for key, value in headers if key.lower() == "status"), 200)
        self.send_response(status)
        for key, value in headers:
            if key.lower() != "status":
                self.send_header(key, value.strip())
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    git: GitServer


class GitServer:
    """Bare repositories under `root`, served at `url` (http://127.0.0.1:PORT/<name>) while entered."""

    def __init__(self, root: Path, users: Mapping[str, str], read_only: Collection[str] = ()) -> None:
        self.root = str(root)
        self.users = dict(users)
        self.read_only = set(read_only)  # users whose pushes are answered 403, as a token without write access
        self.log: list[Request] = []
        self.backend = _backend()
        self.httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.git = self
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def create_repo(self, name: str, branch: str = "main") -> str:
        """An empty bare repository whose HEAD names `branch`; returns its URL (no credentials)."""
        subprocess.run(["git", "init", "-q", "--bare", "-b", branch, os.path.join(self.root, name)], check=True)
        return f"{self.url}/{name}"

    def auth_header(self, user: str = USER) -> str:
        """The `Authorization` header line git needs for `user` (for http.extraHeader)."""
        return basic_auth(user, self.users[user])

    def receive_packs(self) -> list[Request]:
        """The push requests seen so far (the ref advertisement and the upload of a push)."""
        return [r for r in self.log if "git-receive-pack" in r.path]

    def __enter__(self) -> GitServer:
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def basic_auth(user: str, password: str) -> str:
    return "Authorization: Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def git_environment(home: Path) -> dict[str, str]:
    """An environment in which git reads no configuration but `home`'s, never prompts, and
    commits as a fixed human author (RECIPES.md §4)."""
    home.mkdir(parents=True, exist_ok=True)
    name, email = AUTHOR
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


def git(env: Mapping[str, str], cwd: Path, *args: str, header: str | None = None) -> str:
    """Run git in `cwd` (the auth header, if any, on the command line: fine for the tests' own
    git, never done by harden) and return its stdout, stripped."""
    auth = ["-c", f"http.extraHeader={header}"] if header else []
    done = subprocess.run(["git", *auth, *args], cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=60)
    if done.returncode:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def clone(env: Mapping[str, str], url: str, dest: Path, header: str) -> Path:
    """A clone of `url` at `dest` whose `origin` is `url` (no credentials stored)."""
    git(env, dest.parent, "clone", "-q", url, str(dest), header=header)
    return dest


def commit_files(
    env: Mapping[str, str],
    url: str,
    header: str | None,
    branch: str,
    files: Mapping[str, str | bytes],
    message: str = "A human change",
    start: str | None = None,
) -> str:
    """Push one commit writing `files` to `branch` of `url` (or a bare repository's path) (a human's: the environment's author,
    no trailer). The branch starts at `start` (a ref on the remote, e.g. "main") when it does
    not exist yet. Returns the commit's sha."""
    with tempfile.TemporaryDirectory(prefix="gitserver-") as tmp:
        work = Path(tmp) / "work"
        git(env, Path(tmp), "init", "-q", str(work))
        remote = git(env, work, "ls-remote", url, f"refs/heads/{branch}", header=header)
        source = branch if remote else start
        if source:
            git(env, work, "fetch", "-q", url, f"refs/heads/{source}", header=header)
            git(env, work, "checkout", "-q", "FETCH_HEAD")
        for name, content in files.items():
            path = work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        git(env, work, "add", "-A")
        git(env, work, "commit", "-q", "-m", message)
        git(env, work, "push", "-q", url, f"HEAD:refs/heads/{branch}", header=header)
        return git(env, work, "rev-parse", "HEAD")


def seed(server: GitServer, env: Mapping[str, str], name: str, files: Mapping[str, str | bytes], branch: str = "main") -> str:
    """A new repository `name` on the server whose `branch` (its default) holds `files` in one
    commit; returns its URL. Pushed straight into the bare repository (quicker than over HTTP,
    and not in the server's log)."""
    url = server.create_repo(name, branch)
    commit_files(env, os.path.join(server.root, name), None, branch, files, message="Initial commit")
    return url


@pytest.fixture
def git_env(tmp_path: Path) -> dict[str, str]:
    return git_environment(tmp_path / "home")


@pytest.fixture
def git_token() -> str:
    return secrets.token_hex(20)


@pytest.fixture
def git_server(tmp_path: Path, git_token: str) -> Iterator[GitServer]:
    root = tmp_path / "server"
    root.mkdir()
    with GitServer(root, {USER: git_token}) as server:
        yield server
