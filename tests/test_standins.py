"""The stand-ins for the official images (tests/standins/build) run plain and hardened as harden's
knowledge base says, under Docker's semantics, and serve; a deliberately wrong entry makes one fail.

Each stand-in is built from Debian packages plus the official image's own entrypoint scripts: a pass
here says the knowledge entry holds for that stand-in, not for the official image itself.

Containers run the way Docker runs them (../shared/RUNTIME.md §8): `--read-only-tmpfs=false` with
`--read-only` (podman otherwise mounts tmpfs on /run, /tmp and /var/tmp and hides a missing tmpfs),
and `net.ipv4.ip_unprivileged_port_start=0` (Docker sets it in every container's network namespace).
The hardened run takes every setting from `harden.knowledge.lookup`: `cap_drop: ALL` plus the entry's
`cap_add`, `read_only` plus a tmpfs on each of its `writable_paths`, `no-new-privileges`, and a named
volume on each of its `data_paths`. Each container starts, serves, restarts on the same volume and
serves again (entrypoints that chown on first start behave differently on the second).
"""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from conftest import ROOT, require

from harden.knowledge import ImageFacts, lookup

BUILD = ROOT / "tests" / "standins" / "build"
PREFIX = "harden-standin-test-"
SERVE_TIMEOUT = 180.0  # generous: a hang, not a speed, is what this bound catches
PASSWORD = "standin-test-password"


@dataclass(frozen=True)
class Standin:
    reference: str  # the name the corpus uses; the stand-in is tagged localhost/<reference>
    port: int  # the port the service listens on inside the container
    probe: str  # "pg_isready" | "redis" | "http" | "mariadb-admin"
    env: dict[str, str] = field(default_factory=dict)

    @property
    def image(self) -> str:
        return "localhost/" + (self.reference if ":" in self.reference else self.reference + ":latest")


STANDINS = [
    Standin("postgres:16", 5432, "pg_isready", {"POSTGRES_PASSWORD": PASSWORD}),
    Standin("postgres:latest", 5432, "pg_isready", {"POSTGRES_PASSWORD": PASSWORD}),
    Standin("redis:7", 6379, "redis"),
    Standin("redis:alpine", 6379, "redis"),
    Standin("nginx", 80, "http"),
    Standin("mariadb:10.6.4-focal", 3306, "mariadb-admin", {"MARIADB_ROOT_PASSWORD": PASSWORD}),
]


def podman(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check, timeout=timeout)


@pytest.fixture(scope="session")
def standins(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Build the stand-ins once: xdist workers take a lock, so the second one finds them built (the
    script is idempotent and then takes seconds). The rootfs cache lives outside the session's
    private XDG_CACHE_HOME (tests/conftest.py), so it survives between runs."""
    require("podman")
    cache = os.environ.get("HARDEN_STANDINS_CACHE") or str(Path.home() / ".cache" / "harden-standins")
    lock_path = tmp_path_factory.getbasetemp().parent / "harden-standins.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run(
            [str(BUILD)], capture_output=True, text=True, env={**os.environ, "HARDEN_STANDINS_CACHE": cache}, timeout=1800
        )
    assert result.returncode == 0, f"tests/standins/build failed:\n{result.stdout}\n{result.stderr}"


class Runner:
    """Starts containers and volumes with unique names and removes all of them at the end."""

    def __init__(self) -> None:
        self.containers: list[str] = []
        self.volumes: list[str] = []

    def volume(self) -> str:
        name = PREFIX + uuid.uuid4().hex[:12]
        self.volumes.append(name)
        podman("volume", "create", name)
        return name

    def run(self, image: str, options: list[str]) -> str:
        name = PREFIX + uuid.uuid4().hex[:12]
        self.containers.append(name)
        podman("run", "-d", "--name", name, "--sysctl", "net.ipv4.ip_unprivileged_port_start=0", *options, image)
        return name

    def cleanup(self) -> None:
        for name in self.containers:
            podman("rm", "-f", "-t", "0", name, check=False)
        for name in self.volumes:
            podman("volume", "rm", "-f", name, check=False)


@pytest.fixture
def runner(standins: None) -> Iterator[Runner]:
    started = Runner()
    try:
        yield started
    finally:
        started.cleanup()


def hardened_options(facts: ImageFacts) -> list[str]:
    """What `harden fix` applies for this entry, as podman options (Docker's read_only semantics)."""
    options = ["--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--read-only", "--read-only-tmpfs=false"]
    for capability in sorted(facts.cap_add):
        options += ["--cap-add", capability]
    for path in facts.writable_paths:
        options += ["--tmpfs", path]
    return options


def published_port(container: str, port: int) -> int:
    """The host port podman chose for `-p 127.0.0.1::PORT` (no race between xdist workers); 0 when
    the container has already stopped (nothing is published then, and nothing answers on port 0)."""
    addresses = podman("port", container, f"{port}/tcp").stdout.split()
    return int(addresses[0].rsplit(":", 1)[1]) if addresses else 0


def serves(standin: Standin, container: str, host_port: int) -> bool:
    """One attempt of the service's own readiness check, over TCP (not the init-time socket server)."""
    if standin.probe == "pg_isready":
        return podman("exec", container, "pg_isready", "-h", "127.0.0.1", "-U", "postgres", check=False).returncode == 0
    if standin.probe == "mariadb-admin":
        command = ["mariadb-admin", "--protocol=tcp", "-h", "127.0.0.1", "-uroot", f"-p{PASSWORD}", "ping"]
        return podman("exec", container, *command, check=False).returncode == 0
    request = b"PING\r\n" if standin.probe == "redis" else b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"
    expected = b"+PONG" if standin.probe == "redis" else b"HTTP/1.1 200"
    try:
        with socket.create_connection(("127.0.0.1", host_port), timeout=5) as connection:
            connection.sendall(request)
            return connection.recv(64).startswith(expected)
    except OSError:
        return False


def wait_until_serving(standin: Standin, container: str, host_port: int) -> None:
    """Poll the service until it answers; fail with its log as soon as the container stops."""
    deadline = time.monotonic() + SERVE_TIMEOUT
    while time.monotonic() < deadline:
        if serves(standin, container, host_port):
            return
        state = podman("inspect", "-f", "{{.State.Status}}", container).stdout.strip()
        if state not in ("running", "created", "configured"):
            pytest.fail(f"{container} ({standin.reference}) is {state}:\n{logs(container)}")
        time.sleep(0.5)
    pytest.fail(f"{container} ({standin.reference}) did not serve within {SERVE_TIMEOUT} s:\n{logs(container)}")


def logs(container: str) -> str:
    result = podman("logs", container, check=False)
    return result.stdout + result.stderr


def start_and_restart(runner: Runner, standin: Standin, options: list[str], facts: ImageFacts) -> str:
    """Run the stand-in with a named volume on each data path, check it serves, restart, check again."""
    volumes = [f"{runner.volume()}:{path}" for path in facts.data_paths]
    environment = [f"{key}={value}" for key, value in standin.env.items()]
    container = runner.run(
        standin.image,
        [*options, "-p", f"127.0.0.1::{standin.port}", *[f"-v{v}" for v in volumes], *[f"-e{e}" for e in environment]],
    )
    host_port = published_port(container, standin.port)
    wait_until_serving(standin, container, host_port)
    podman("restart", "-t", "20", container)
    wait_until_serving(standin, container, host_port)
    return container


def knowledge(standin: Standin) -> ImageFacts:
    facts = lookup(standin.reference)
    assert facts is not None, f"harden's knowledge base has no entry for {standin.reference}"
    return facts


@pytest.mark.parametrize("standin", STANDINS, ids=lambda s: s.reference)
def test_standin_serves_plain(runner: Runner, standin: Standin) -> None:
    label = podman("image", "inspect", "-f", '{{index .Labels "org.harden.standin"}}', standin.image).stdout
    assert "not the official image" in label
    start_and_restart(runner, standin, [], knowledge(standin))


@pytest.mark.parametrize("standin", STANDINS, ids=lambda s: s.reference)
def test_standin_serves_hardened_as_knowledge_says(runner: Runner, standin: Standin) -> None:
    facts = knowledge(standin)
    container = start_and_restart(runner, standin, hardened_options(facts), facts)
    assert podman("exec", container, "grep", "NoNewPrivs", "/proc/1/status").stdout.split() == ["NoNewPrivs:", "1"]
    effective = podman("inspect", "-f", "{{range .EffectiveCaps}}{{.}} {{end}}", container).stdout.split()
    assert sorted(effective) == sorted(f"CAP_{name}" for name in facts.cap_add)
    root_write = podman("exec", container, "touch", "/harden-root-write", check=False)
    assert root_write.returncode != 0 and "Read-only file system" in root_write.stderr


def without_cap(capability: str) -> Callable[[ImageFacts], ImageFacts]:
    return lambda facts: replace(facts, cap_add={k: v for k, v in facts.cap_add.items() if k != capability})


def without_tmpfs(path: str) -> Callable[[ImageFacts], ImageFacts]:
    return lambda facts: replace(facts, writable_paths=tuple(p for p in facts.writable_paths if p != path))


WRONG_ENTRIES = [
    (STANDINS[0], without_cap("SETUID"), "operation not permitted"),
    (STANDINS[4], without_tmpfs("/var/cache/nginx"), "Read-only file system"),
]


@pytest.mark.parametrize(("standin", "wrong", "why"), WRONG_ENTRIES, ids=["postgres-without-SETUID", "nginx-without-cache-tmpfs"])
def test_wrong_knowledge_entry_breaks_the_hardened_container(
    runner: Runner, standin: Standin, wrong: Callable[[ImageFacts], ImageFacts], why: str
) -> None:
    facts = wrong(knowledge(standin))
    assert facts != knowledge(standin)
    volumes = [f"-v{runner.volume()}:{path}" for path in facts.data_paths]
    environment = [f"-e{key}={value}" for key, value in standin.env.items()]
    options = [*hardened_options(facts), "-p", f"127.0.0.1::{standin.port}", *volumes, *environment]
    container = runner.run(standin.image, options)
    host_port = published_port(container, standin.port)
    deadline = time.monotonic() + SERVE_TIMEOUT
    while podman("inspect", "-f", "{{.State.Status}}", container).stdout.strip() == "running":
        assert not serves(standin, container, host_port), f"{standin.reference} served with a wrong entry"
        assert time.monotonic() < deadline, f"{container} neither served nor stopped:\n{logs(container)}"
        time.sleep(0.5)
    assert why.lower() in logs(container).lower(), logs(container)


def test_build_without_the_debian_mirror_fails_clearly(tmp_path: Path) -> None:
    """Nothing cached and a mirror that does not answer: exit 1 and a sentence naming the mirror."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens on it once the socket is closed
    mirror = f"http://127.0.0.1:{port}/debian"
    environment = {**os.environ, "HARDEN_STANDINS_CACHE": str(tmp_path), "HARDEN_STANDINS_MIRROR": mirror}
    result = subprocess.run([str(BUILD), "--rootfs-only"], capture_output=True, text=True, env=environment, timeout=120)
    assert result.returncode == 1
    assert f"cannot reach the Debian mirror {mirror}" in result.stderr
    assert list(tmp_path.iterdir()) == []


def settings_ran(facts: ImageFacts) -> str:
    """The hardening `test_standin_serves_hardened_as_knowledge_says` runs, in words."""
    caps = " + cap_add " + ", ".join(sorted(facts.cap_add)) if facts.cap_add else ""
    tmpfs = " + tmpfs " + ", ".join(facts.writable_paths) if facts.writable_paths else ""
    return f"cap_drop ALL{caps}; read_only{tmpfs}; no-new-privileges"


@pytest.mark.parametrize("standin", STANDINS, ids=lambda s: s.reference)
def test_each_exercised_entry_records_what_ran(runner: Runner, standin: Standin) -> None:
    """Each knowledge entry a stand-in exercises keeps a `verified` line that says exactly what
    ran (issue 11): the reference, that it was a stand-in and not the official image, and the
    settings, which are the entry's own today (change the entry and this fails until the run is
    made again and the line rewritten)."""
    facts = knowledge(standin)
    start_and_restart(runner, standin, hardened_options(facts), facts)  # the run the line records
    wanted = f"{standin.reference}: started, served and restarted with {settings_ran(facts)}"
    lines = [line for line in facts.verified if wanted in line]
    assert lines, f"{facts.name}.toml has no verified line containing {wanted!r}"
    assert all("stand-in built from Debian packages, not the official image" in line for line in lines)
