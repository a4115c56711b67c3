"""Corpus Compose projects run for real on the stand-ins (tests/standins/build) with their vendored
app sources (tests/standins/apps, tests/standin_apps.py), original and hardened.

- nginx-flask-mysql through `harden verify --offline`, as a user runs it: a database stand-in
  (mariadb:10-focal), a backend built from the corpus Dockerfile (FROM python:3.10-alpine, target
  builder, `pip install -r requirements.txt` offline from the python stand-in's wheelhouse) and a
  proxy built FROM nginx:1.13-alpine. Every service must work in the original (started, and
  healthy where it has a health check, before and after a restart): the stand-ins are good enough.
- django, brought up directly (its own podman-compose run with harden verify's wrapper for
  Docker's semantics, ../shared/RUNTIME.md §8), because a break there is one verify cannot see:
  the container keeps running (Django's autoreloader survives the failure) but never serves.
  Its runserver writes db.sqlite3 beside the code: read_only (applied with --unsafe-fixes only,
  python being a language runtime) stops it serving; the default fixes do not.

A pass here says the project works on stand-ins built from Debian packages, not on the official
images. Tests that publish the projects' fixed host ports (80, 8000) hold one lock, so that xdist
workers take turns. Nothing is left afterwards: no container, volume or network with the projects'
labels, and the images the runs built are removed.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import require
from standin_apps import OVERLAY, images, materialize, missing, podman_image_exists, runnable_projects

LABEL = "com.docker.compose.project"
SERVE_TIMEOUT = 120.0  # generous: a hang, not a speed, is what this bound catches
STANDIN_TAGS = {
    "localhost/mariadb:10-focal",
    "localhost/nginx:1.13-alpine",
    "localhost/python:3.10-alpine",
    "localhost/python:3.7-alpine",
}


def podman(*args: str, check: bool = False, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check, timeout=timeout)


@pytest.fixture(scope="module")
def standins(corpus: Path) -> None:
    """podman and the stand-ins both projects need; a failure when CI=true, else a skip."""
    require("podman")
    absent = [image for name in ("nginx-flask-mysql", "django") for image in images(name) if not podman_image_exists(image)]
    if absent:
        message = f"stand-ins missing: {', '.join(absent)} (tests/standins/build builds them)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}, and CI=true: .ci/run must run tests/standins/build")
        pytest.skip(message)


@contextmanager
def host_ports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One lock for every run that publishes the projects' fixed host ports (xdist workers take turns)."""
    with open(tmp_path_factory.getbasetemp().parent / "harden-standin-apps.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def left(project: str) -> list[str]:
    """Every container, volume and network labelled with Compose project `project`."""
    found = []
    for kind in (["ps", "-a"], ["volume", "ls"], ["network", "ls"]):
        listing = podman(*kind, "-q", "--filter", f"label={LABEL}={project}")
        found += [f"{kind[0]} {line}" for line in listing.stdout.split()]
    return found


def remove_built_images(project: str) -> None:
    """The images Compose built for `project` (tagged localhost/<project>_<service>)."""
    listing = podman("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", f"reference=localhost/{project}_*")
    for image in listing.stdout.split():
        podman("rmi", image)


# --- the helper -----------------------------------------------------------------------------------


def test_runnable_projects_are_those_the_standins_and_the_vendored_sources_complete(corpus: Path, tmp_path: Path) -> None:
    assert runnable_projects(lambda image: image in STANDIN_TAGS) == ["django", "flask", "nginx-flask-mysql"]
    assert runnable_projects(lambda image: False) == []
    reasons = missing("flask-redis", lambda image: image in STANDIN_TAGS)
    assert (
        "redislabs/redismod: no local image localhost/redislabs/redismod:latest (tests/standins/build makes the stand-ins)"
        in reasons
    )
    assert "web: COPY requirements.txt: not in the build context" in reasons


def test_without_the_vendored_sources_no_project_is_complete(
    corpus: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    vendored = {"django", "flask", "nginx-flask-mysql"}
    assert vendored <= set(runnable_projects(lambda image: True))
    monkeypatch.setattr("standin_apps.OVERLAY", tmp_path)
    assert vendored & set(runnable_projects(lambda image: True)) == set()
    reasons = missing("nginx-flask-mysql", lambda image: True)
    assert "backend: COPY requirements.txt: not in the build context" in reasons
    assert "proxy: COPY conf: not in the build context" in reasons
    assert "secret db-password: file db/password.txt is missing" in reasons


def test_materialize_copies_the_project_then_the_overlay_writable(corpus: Path, tmp_path: Path) -> None:
    project = materialize("nginx-flask-mysql", tmp_path)
    assert project == tmp_path / "nginx-flask-mysql"
    assert (project / "compose.yaml").read_bytes() == (
        corpus / "awesome-compose" / "nginx-flask-mysql" / "compose.yaml"
    ).read_bytes()
    assert (project / "backend" / "hello.py").read_bytes() == (
        OVERLAY / "nginx-flask-mysql" / "backend" / "hello.py"
    ).read_bytes()
    assert os.access(project / "backend" / "Dockerfile", os.W_OK)  # read-only in the corpus


# --- the python stand-in --------------------------------------------------------------------------


def test_python_standin_installs_offline_and_puts_entry_points_on_path(standins: None) -> None:
    label = podman("image", "inspect", "-f", '{{index .Labels "org.harden.standin"}}', "localhost/python:3.10-alpine").stdout
    assert "python:3.10-alpine" in label and "not the official image" in label
    names = "python python3 pip pip3 flask gunicorn"
    script = f"pip install -q flask gunicorn && for c in {names}; do command -v $c; done && flask --version"
    done = podman("run", "--rm", "--network", "none", "localhost/python:3.10-alpine", "sh", "-c", script)
    assert done.returncode == 0, done.stdout + done.stderr
    paths = done.stdout.split()[:6]
    assert paths == [f"/usr/local/bin/{name}" for name in ("python", "python3", "pip", "pip3", "flask", "gunicorn")]
    assert "Flask 2.0.1" in done.stdout and "Werkzeug 2.0.3" in done.stdout
    absent = podman("run", "--rm", "--network", "none", "localhost/python:3.10-alpine", "pip", "install", "requests")
    said = absent.stdout + absent.stderr
    assert absent.returncode != 0 and "No matching distribution found for requests" in said
    assert "Retrying" not in said and "NewConnectionError" not in said, said  # it never looked for an index


# --- nginx-flask-mysql through harden verify ------------------------------------------------------


@pytest.fixture(scope="module")
def verified(standins: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`harden verify --offline --format json` of nginx-flask-mysql, once per session (xdist workers
    share the result through a file): its exit status, report (the project's JSON), standard error
    and the isolated project names it announced. The images the runs built are removed after it."""
    session = os.environ.get("PYTEST_XDIST_TESTRUNUID") or str(os.getpid())
    saved = tmp_path_factory.getbasetemp().parent / f"harden-standin-apps-verify-{session}.json"
    with host_ports(tmp_path_factory):
        if not saved.exists():
            project = materialize("nginx-flask-mysql", tmp_path_factory.mktemp("verify"))
            command = [sys.executable, "-m", "harden", "verify", "--offline", "--format", "json", str(project)]
            done = subprocess.run(command, capture_output=True, text=True, timeout=1500, check=False)
            names = sorted(set(re.findall(r"starting \((harden-verify-[0-9a-f]+-(?:original|hardened|trial))\)", done.stderr)))
            for name in names:
                remove_built_images(name)
            result = {"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr, "names": names}
            saved.write_text(json.dumps(result))
        result = json.loads(saved.read_text())
    assert result["returncode"] in (0, 1), result["stdout"] + result["stderr"]
    return {**result, "report": json.loads(result["stdout"])["projects"][0]}


def test_every_service_of_nginx_flask_mysql_works_in_the_original_on_the_standins(verified: dict[str, Any]) -> None:
    services = {s["service"]: s for s in verified["report"]["services"]}
    assert sorted(services) == ["backend", "db", "proxy"]
    for name, service in services.items():
        for when in ("start", "restart"):
            assert service["original"][when]["status"] == "running", (name, when, service)
            assert service["original"][when]["works"] is True, (name, when, service)
    assert services["db"]["original"]["start"]["healthy"] is True  # mysqladmin ping with the secret
    assert services["db"]["original"]["restart"]["healthy"] is True


def test_verify_leaves_nothing_of_nginx_flask_mysql(verified: dict[str, Any]) -> None:
    assert [n for n in verified["names"] if n.endswith(("-original", "-hardened"))], verified["stderr"]
    for name in verified["names"]:
        assert left(name) == []


def test_every_service_of_nginx_flask_mysql_works_hardened(verified: dict[str, Any]) -> None:
    services = verified["report"]["services"]
    hardened = {s["service"]: (s["verdict"], s["hardened"], s["broken_by"], s["why"]) for s in services}
    assert all(s["verdict"] == "works" for s in services), hardened


def test_the_python_entry_records_what_ran(verified: dict[str, Any]) -> None:
    """The knowledge entry of the image the backend is built FROM says what ran, and that it was a stand-in."""
    from harden import knowledge

    facts = knowledge.lookup("python:3.10-alpine")
    assert facts is not None
    backend = {s["service"]: s for s in verified["report"]["services"]}["backend"]
    assert backend["verdict"] == "works"
    lines = [line for line in facts.verified if "nginx-flask-mysql backend and django web" in line]
    assert lines and all("a stand-in built from Debian packages, not the official image" in line for line in lines)


# --- django, whose hardened break verify cannot see -----------------------------------------------


class Stack:
    """One podman-compose project with Docker's semantics, under a unique name; always torn down."""

    def __init__(self, directory: Path, wrapper: Path) -> None:
        self.directory = directory
        self.name = f"harden-standin-app-{uuid.uuid4().hex[:10]}"
        self.compose = [str(Path(sys.executable).parent / "podman-compose"), "--podman-path", str(wrapper), "--in-pod", "false"]
        self.compose += ["-p", self.name]

    def serve(self, port: int) -> tuple[int, str]:
        """Up, then GET http://127.0.0.1:PORT/ until it answers, the container stops or its log
        shows a Python traceback; the HTTP status (0: none) and the container's log. Always down."""
        try:
            up = subprocess.run(
                [*self.compose, "up", "-d", "--build"], cwd=self.directory, capture_output=True, text=True, timeout=600
            )
            assert up.returncode == 0, up.stdout + up.stderr
            container = podman("ps", "-a", "-q", "--filter", f"label={LABEL}={self.name}").stdout.split()[0]
            deadline = time.monotonic() + SERVE_TIMEOUT
            status, log = 0, ""
            while status == 0 and time.monotonic() < deadline:
                status = http_status(port)
                logs = podman("logs", container)
                log = logs.stdout + logs.stderr
                running = podman("inspect", "-f", "{{.State.Status}}", container).stdout.strip() == "running"
                if not running or "Traceback (most recent call last)" in log:
                    break
                time.sleep(0.5)
            return status, log
        finally:
            subprocess.run([*self.compose, "down", "-t", "0", "-v"], cwd=self.directory, capture_output=True, timeout=300)
            remove_built_images(self.name)
            assert left(self.name) == []


def http_status(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def harden_fix(project: Path, *options: str) -> str:
    """`harden fix --offline` in place, as a user runs it (its defaults, or `options`); the Compose file it wrote."""
    command = [sys.executable, "-m", "harden", "fix", "--offline", *options, str(project)]
    subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    return (project / "compose.yaml").read_text()


@pytest.fixture
def wrapper(tmp_path: Path) -> Path:
    """harden verify's podman wrapper: the Docker semantics verify runs with."""
    from harden.verify.engine import find

    path = find().write_wrapper(tmp_path)
    assert path is not None
    return path


def test_django_serves_in_the_original_on_the_standins(
    standins: None, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, wrapper: Path
) -> None:
    with host_ports(tmp_path_factory):
        status, log = Stack(materialize("django", tmp_path), wrapper).serve(8000)
    assert status == 200, log


def test_django_serves_hardened_by_default(
    standins: None, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, wrapper: Path
) -> None:
    project = materialize("django", tmp_path)
    text = harden_fix(project)
    assert "cap_drop:" in text and "no-new-privileges:true" in text and "read_only" not in text
    with host_ports(tmp_path_factory):
        status, log = Stack(project, wrapper).serve(8000)
    assert status == 200, log


def test_django_with_read_only_does_not_serve(
    standins: None, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, wrapper: Path
) -> None:
    """Why read_only is unsafe for it: with --unsafe-fixes harden adds it, and the app cannot open
    the database it creates beside its code."""
    project = materialize("django", tmp_path)
    assert "read_only: true" in harden_fix(project, "--unsafe-fixes")
    with host_ports(tmp_path_factory):
        status, log = Stack(project, wrapper).serve(8000)
    assert status != 200 and "django.db.utils.OperationalError: unable to open database file" in log, log
