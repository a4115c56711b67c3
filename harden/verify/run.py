"""Run one Compose project under an isolated name: up, wait, restart, wait, collect, always down.

What: `Runner.stack()` brings a project up (`up -d --build`), waits until every container has
settled, restarts them all once and waits again, and returns each service's `State` after the
first start and after the restart: its status, whether it is healthy (None without a health
check) and the last lines of its log. Whatever happens (an error, Ctrl-C, SIGTERM, the
`--timeout` deadline), it then tears the project down: `down -t 0 -v`, and every container,
volume and network still labelled with the project's name is removed; the images Compose built
are removed once the whole verification is over (`remove_built_images`).

How it decides: a container has settled when it has been in the same state (running, or
stopped) for SETTLE seconds and, when it is running with a health check, that check passed. A
running container whose published TCP port refuses connections does not work either
(harden.verify.ports: a server that failed behind a process that stays up, such as Django's
autoreloader). A
container that exits 0 has completed (a one-shot job) and counts as working, as Compose's
`service_completed_successfully` does. podman without systemd schedules no health checks:
the runner runs them itself (`podman healthcheck run`) while it waits. A check that never passes
is given up after WAIT seconds. Time is read only through harden.clock.

Why a restart: a first start and a restart differ (entrypoints chown or initialise data on the
first start only, and a tmpfs is empty again on the restart).

Every engine command runs in its own session, so that Ctrl-C reaches harden only, and harden
kills the command's whole process group before tearing down: no half-run `up` keeps creating
containers behind the teardown. During the teardown SIGINT is ignored, so that a second Ctrl-C
cannot leave containers behind.

What might break: a service that crashes later than SETTLE seconds after starting counts as
started. Images are built with the tags the Compose file names: a service with both `build:`
and `image:` rebuilds that tag (the hardened Dockerfile's image replaces the original's).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harden import clock
from harden.verify import ports
from harden.verify.engine import Engine

SETTLE = 3.0  # seconds in one state before a container counts as started (or as failed)
POLL = 0.5  # seconds between two looks at the containers
WAIT = 60.0  # longest wait for one start (a health check that never passes)
TEARDOWN_TIMEOUT = 120.0  # seconds for each teardown command, whatever the deadline
LOG_LINES = 30
LABEL = "com.docker.compose.project"


class Timeout(Exception):
    """The --timeout deadline passed."""


@dataclass
class State:
    """One service after one start."""

    status: str  # "running", "exited (1)", "not created"
    healthy: bool | None = None  # None: no health check
    logs: list[str] = field(default_factory=list)
    refused: tuple[int, ...] = ()  # published TCP ports (in the container) that refused a connection

    @property
    def works(self) -> bool:
        return self.status in ("running", "exited (0)") and self.healthy is not False and not self.refused


@dataclass
class StackRun:
    """What one project did: each service after its first start and after the restart."""

    first: dict[str, State]
    restart: dict[str, State]
    error: str = ""  # what `up` printed when it failed


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """SIGINT ignored inside the block (the main thread only: elsewhere signals cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Runner:
    def __init__(self, engine: Engine, deadline: float, progress: Callable[[str], None]) -> None:
        self.engine = engine
        self.deadline = deadline  # on clock.monotonic()
        self.progress = progress
        self.ran: set[str] = set()  # the project names brought up: their built images are removed at the end

    def call(
        self, command: list[str], cwd: Path | None = None, limit: float | None = None, data: bool = False
    ) -> tuple[int, str]:
        """Run `command` (its own session) until the deadline (or `limit` seconds); its exit
        status and its output (standard output and error together; with `data`, standard output
        only: what is parsed, such as `inspect`'s JSON, which podman's warnings on standard error
        would spoil). Timeout at the deadline; on any interruption the command's process group
        is killed first."""
        seconds = limit if limit is not None else self.deadline - clock.monotonic()
        if seconds <= 0:
            raise Timeout
        errors = subprocess.DEVNULL if data else subprocess.STDOUT
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
            start_new_session=True,
            env=self.engine.environment(),
        )
        try:
            output, _ = process.communicate(timeout=seconds)
        except BaseException as problem:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            if isinstance(problem, subprocess.TimeoutExpired):
                raise Timeout from None
            raise
        return process.returncode, output.decode("utf-8", "replace")

    def stack(
        self,
        which: str,
        directory: Path,
        files: tuple[str, ...],
        project: str,
        wrapper: Path | None,
        before_down: Callable[[str], None] | None = None,
    ) -> StackRun:
        """Up, wait, restart, wait, collect; always down (see the module docstring). `before_down`
        is called with the project name after the restart, while the containers still exist."""
        compose = self.engine.compose_command(project, files, wrapper)
        self.ran.add(project)
        try:
            self.progress(f"{which}: starting ({project})")
            status, output = self.call([*compose, "up", "-d", "--build"], cwd=directory)
            first = self.settle(project)
            self.progress(f"{which}: {_summary(first)}; restarting")
            ids = self.containers(project)
            if not ids:  # nothing was created: nothing to restart
                return StackRun(first, first, output.strip())
            self.call([*self.engine.cli, "restart", "-t", "1", *ids])
            restart = self.settle(project)
            self.progress(f"{which}: after the restart {_summary(restart)}")
            if before_down is not None:
                before_down(project)
            return StackRun(first, restart, "" if status == 0 else output.strip())
        finally:
            self.progress(f"{which}: tearing down")
            with shielded():
                self.down(compose, directory, project)

    def containers(self, project: str) -> list[str]:
        status, output = self.call([*self.engine.cli, "ps", "-a", "-q", "--filter", f"label={LABEL}={project}"], data=True)
        return output.split() if status == 0 else []

    def inspect(self, ids: list[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        status, output = self.call([*self.engine.cli, "inspect", *ids], data=True)
        try:
            found = json.loads(output) if status == 0 else []
        except json.JSONDecodeError:
            return []  # a container removed between ps and inspect: look again
        return [c for c in found if isinstance(c, dict)]

    def diff(self, container: str) -> list[tuple[str, str]]:
        """What `container` changed in its root filesystem (`docker diff`/`podman diff`): each
        change's kind (A added, C changed, D deleted) and path. Volumes and tmpfs are not in it."""
        status, output = self.call([*self.engine.cli, "diff", container], data=True)
        if status != 0:
            return []
        return [(kind, path) for kind, _, path in (line.partition(" ") for line in output.splitlines()) if path.startswith("/")]

    def settle(self, project: str) -> dict[str, State]:
        """Wait until every container has settled (or WAIT passed); each service's State."""
        start = clock.monotonic()
        end = min(self.deadline, start + WAIT)
        seen: dict[str, tuple[Any, float]] = {}  # container id -> (its state, since when)
        while True:
            containers = self.inspect(self.containers(project))
            now = clock.monotonic()
            settled = True
            for container in containers:
                state = (container["State"].get("Status"), container.get("RestartCount"))
                if seen.get(container["Id"], (None, 0.0))[0] != state:
                    seen[container["Id"]] = (state, now)
                healthy = self.health(container) if state[0] == "running" else None
                if now - seen[container["Id"]][1] < SETTLE or healthy is False:
                    settled = False
            if (settled and (containers or now - start >= SETTLE)) or now >= end:
                break
            time.sleep(POLL)
        if clock.monotonic() >= self.deadline:
            raise Timeout
        return self.states(containers)

    def health(self, container: dict[str, Any]) -> bool | None:
        """None without a health check; else whether it passed (run here when the engine does not)."""
        check = (container.get("Config") or {}).get("Healthcheck") or {}
        if not check.get("Test") or check["Test"][0] == "NONE":
            return None
        if not self.engine.schedules_healthchecks:
            status, _ = self.call([*self.engine.cli, "healthcheck", "run", container["Id"]])
            return status == 0
        return bool((container["State"].get("Health") or {}).get("Status") == "healthy")

    def states(self, containers: list[dict[str, Any]]) -> dict[str, State]:
        found: dict[str, State] = {}
        for container in containers:
            service = (container.get("Config") or {}).get("Labels", {}).get("com.docker.compose.service", container["Name"])
            status = container["State"].get("Status", "unknown")
            if status != "running":
                status = f"{status} ({container['State'].get('ExitCode', '?')})"
            healthy = self.health(container) if status == "running" else None
            refused = ports.refused(container, min(self.deadline, clock.monotonic() + ports.WAIT)) if status == "running" else ()
            _, logs = self.call([*self.engine.cli, "logs", "--tail", str(LOG_LINES), container["Id"]])
            state = State(status, healthy, logs.splitlines()[-LOG_LINES:], refused)
            if service not in found or found[service].works:  # replicas: the one that failed
                found[service] = state
        return found

    def down(self, compose: list[str], directory: Path, project: str) -> None:
        """Remove everything of `project`, whatever the deadline; a failure is shown, not raised.
        Containers first: a volume or network in use cannot be removed."""
        self.run_steps([[*compose, "down", "-t", "0", "-v"]], directory)
        cli, kill = self.engine.cli, ["-t", "0"] if self.engine.kind == "podman" else []
        for listing, remove in (
            (["ps", "-a"], ["rm", "-f", "-v", *kill]),
            (["volume", "ls"], ["volume", "rm", "-f"]),
            (["network", "ls"], ["network", "rm", "-f"]),
        ):
            try:
                _, output = self.call(
                    [*cli, *listing, "-q", "--filter", f"label={LABEL}={project}"], limit=TEARDOWN_TIMEOUT, data=True
                )
            except Timeout:
                output = ""
            if output.split():
                self.run_steps([[*cli, *remove, *output.split()]], directory)

    def remove_built_images(self) -> None:
        """Remove the images Compose built for the projects run (named after the project:
        `<project>_<service>` by podman-compose, `<project>-<service>` by Docker Compose), once
        no container uses them any more: kept until the end, they serve every trial as a cache."""
        for project in sorted(self.ran):
            found: list[str] = []
            for pattern in (f"{project}_*", f"{project}-*", f"localhost/{project}_*"):
                listing = [*self.engine.cli, "images", "-q", "--filter", f"reference={pattern}"]
                try:
                    found += self.call(listing, limit=TEARDOWN_TIMEOUT, data=True)[1].split()
                except Timeout:
                    continue
            if found:
                self.run_steps([[*self.engine.cli, "rmi", "-f", *dict.fromkeys(found)]], Path.cwd())

    def run_steps(self, steps: list[list[str]], directory: Path) -> None:
        for step in steps:
            try:
                status, output = self.call(step, cwd=directory, limit=TEARDOWN_TIMEOUT)
            except Timeout:
                status, output = -1, "timed out"
            if status != 0:
                self.progress(f"teardown: {' '.join(step[:4])}...: {output.strip()[-300:]}")


def _summary(states: dict[str, State]) -> str:
    working = sum(1 for s in states.values() if s.works)
    return f"{working} of {len(states)} services working"
