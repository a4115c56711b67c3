"""user-defined-networks (harden/passes/compose/user_defined_networks.py): networks from the
service graph keep every inferred connection and cut the rest; what is left alone is reported."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from runs import process

from harden.config import Settings
from harden.model import Applicability, Finding
from harden.passes.compose import graph as service_graph
from harden.passes.compose import user_defined_networks as networks
from harden.passes.compose.user_defined_networks import networks_for, pairs

RULE = frozenset({"user-defined-networks"})


def check(tmp_path: Path, compose: str) -> tuple[list[Finding], str]:
    (tmp_path / "compose.yaml").write_text(compose)
    run = process([str(tmp_path / "compose.yaml")], Settings(offline=True, select=RULE))
    [result] = run.results
    return result.findings, result.output


def test_each_service_others_reach_gets_a_network_joined_by_its_clients() -> None:
    plan = networks_for(["web", "api", "db", "cron"], [("web", "api"), ("api", "db"), ("cron", "db")])
    assert plan == {"api-net": ["web", "api"], "db-net": ["api", "db", "cron"]}
    assert pairs(plan) == {("api", "web"), ("api", "db"), ("cron", "db"), ("api", "cron")}  # db's clients share db-net


def test_a_service_with_no_connection_gets_a_network_of_its_own() -> None:
    assert networks_for(["a", "b"], []) == {"a-net": ["a"], "b-net": ["b"]}


services = st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), min_size=2, max_size=6, unique=True)


@given(
    services.flatmap(lambda names: st.tuples(st.just(names), st.lists(st.tuples(st.sampled_from(names), st.sampled_from(names)))))
)
def test_segmentation_never_removes_an_inferred_edge(case: tuple[list[str], list[tuple[str, str]]]) -> None:
    names, edges = case
    plan = networks_for(names, edges)
    shared = pairs(plan)
    for source, target in edges:
        if source != target:
            assert tuple(sorted((source, target))) in shared
    reached = {t: {s for s, t2 in edges if t2 == t and s != t} for _, t in edges}
    for a, b in shared:  # any other pair that shares a network: two clients of one service
        edge = (a, b) in edges or (b, a) in edges
        assert edge or any({a, b} <= clients for clients in reached.values()), (a, b, plan)
    assert all(any(name in members for members in plan.values()) for name in names)  # nobody left off


def test_the_fix_lists_each_pair_that_can_no_longer_talk(tmp_path: Path) -> None:
    compose = "services:\n  web:\n    image: nginx:1.27\n    depends_on: [api]\n  api:\n    image: example/api:1\n"
    compose += "    environment:\n      DB_URL: postgres://u@db:5432/x\n  db:\n    image: postgres:16\n"
    [finding], output = check(tmp_path, compose)
    assert finding.fix is not None and finding.applicability is Applicability.REVIEW
    assert [c.text for c in finding.fix.caveats] == ["could talk before and cannot after: db and web"]
    assert "networks:\n  api-net: {}\n  db-net: {}\n" in output


def test_a_project_with_its_own_networks_and_host_mode_services_are_left_alone(tmp_path: Path) -> None:
    own = "services:\n  a:\n    image: x\n    networks: [n]\n  b:\n    image: y\nnetworks:\n  n: {}\n"
    [finding], output = check(tmp_path, own)
    assert finding.fix is None and "declares its own networks" in finding.message and output == own
    host = "services:\n  a:\n    image: x\n    network_mode: host\n  b:\n    image: y\n  c:\n    image: z\n"
    found, _ = check(tmp_path, host)
    assert [f.fix is None for f in found] == [True, False] and "network_mode: host" in found[0].message


def test_an_unread_service_makes_the_fix_unsafe_and_internal_needs_known_egress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = service_graph.of

    def unread(document: object, context: object) -> service_graph.Graph:
        graph = real(document, context)  # type: ignore[arg-type]
        return service_graph.Graph(graph.services, graph.edges, graph.exposed, {"db": False, "cache": False}, {"app": "${HOST}"})

    monkeypatch.setattr(networks.service_graph, "of", unread)
    compose = "services:\n  db:\n    image: postgres:16\n  cache:\n    image: redis:7\n    depends_on: [db]\n"
    compose += "  app:\n    image: example/app:1\n    depends_on: [cache]\n"
    [finding], output = check(tmp_path, compose)
    assert finding.applicability is Applicability.UNSAFE
    assert any("harden could not read app: ${HOST}" in c.text for c in finding.fix.caveats)  # type: ignore[union-attr]
    run = process([str(tmp_path / "compose.yaml")], Settings(offline=True, select=RULE, unsafe_fixes=True))
    output = run.results[0].output
    assert "db-net:\n    internal: true" in output  # db and cache need no egress, publish nothing
    assert "cache-net: {}" in output  # app's egress is unknown: assumed needed


def test_the_written_file_shares_networks_exactly_as_planned(tmp_path: Path) -> None:
    """A ring of four services: the output, read back, lets exactly the planned pairs share a network."""
    from ruamel.yaml import YAML

    compose = "services:\n" + "".join(f"  s{i}:\n    image: x{i}\n    depends_on: [s{(i + 1) % 4}]\n" for i in range(4))
    [finding], output = check(tmp_path, compose)
    planned = networks_for([f"s{i}" for i in range(4)], [(f"s{i}", f"s{(i + 1) % 4}") for i in range(4)])
    written = YAML(typ="safe", pure=True).load(output)
    assert set(written["networks"]) == set(planned)
    joined = {name: set(service["networks"]) for name, service in written["services"].items()}
    shared = {tuple(sorted((a, b))) for a, b in combinations(sorted(joined), 2) if joined[a] & joined[b]}
    assert shared == pairs(planned) and ("s0", "s2") not in shared


RUNNING = """services:
  web:
    image: localhost/busybox:latest
    command: ["sh", "-c", "echo ok > /tmp/ok.html && exec httpd -f -p 80 -h /tmp"]
    depends_on: [api]
  api:
    image: localhost/busybox:latest
    command: ["sh", "-c", "echo ok > /tmp/ok.html && exec httpd -f -p 80 -h /tmp"]
    environment:
      DB_URL: http://db:80/
  db:
    image: localhost/busybox:latest
    command: ["sh", "-c", "echo ok > /tmp/ok.html && exec httpd -f -p 80 -h /tmp"]
"""


def reachable(tmp_path: Path, compose_text: str, pairs_asked: list[tuple[str, str]]) -> list[bool]:
    """Bring `compose_text` up on podman with harden verify's wrapper (Docker's semantics), and say
    for each (source, target) whether source finds target by its service name and gets its page;
    always torn down."""
    import subprocess
    import sys
    import uuid

    from conftest import require
    from test_verify import left

    from harden.verify.engine import find

    executable = require("podman")
    if subprocess.run([executable, "image", "exists", "localhost/busybox:latest"], check=False).returncode != 0:
        pytest.fail("localhost/busybox:latest is missing (.ci/setup-runtime builds it)")
    directory = tmp_path / uuid.uuid4().hex[:8]
    directory.mkdir()
    (directory / "compose.yaml").write_text(compose_text)
    name = f"harden-test-networks-{directory.name}"
    wrapper = find().write_wrapper(directory)
    compose = [str(Path(sys.executable).parent / "podman-compose"), "--podman-path", str(wrapper), "--in-pod", "false"]
    compose += ["-p", name]

    def reaches(source: str, target: str) -> bool:
        # the bare name asked of the container's first DNS server (busybox's nslookup otherwise tries
        # only the search domain); the page fetched with nc (busybox's wget crashes here)
        script = (
            "dns=$(awk '/^nameserver/ {print $2; exit}' /etc/resolv.conf); "
            f'ip=$(nslookup {target} "$dns" 2>/dev/null | awk "/^Address/ {{a=\\$NF}} END {{print a}}"); '
            'case "$ip" in ""|*:*) exit 1;; esac; '
            'printf "GET /ok.html HTTP/1.0\\r\\n\\r\\n" | nc -w 3 "$ip" 80 | grep -q "200 OK"'
        )
        command = [executable, "exec", f"{name}_{source}_1", "sh", "-c", script]
        return subprocess.run(command, capture_output=True, check=False, timeout=60).returncode == 0

    try:
        up = subprocess.run([*compose, "up", "-d"], cwd=directory, capture_output=True, text=True, timeout=300)
        assert up.returncode == 0, up.stdout + up.stderr
        return [reaches(source, target) for source, target in pairs_asked]
    finally:
        subprocess.run([*compose, "down", "-t", "0", "-v"], cwd=directory, capture_output=True, timeout=300)
        assert left(executable, name) == []


def test_segmented_services_reach_their_peers_and_not_the_others(tmp_path: Path) -> None:
    """Before the fix every service finds every other by name; after it, web still reaches api and
    api db, and web no longer finds db."""
    asked = [("web", "api"), ("api", "db"), ("web", "db")]
    assert reachable(tmp_path, RUNNING, asked) == [True, True, True]
    (tmp_path / "compose.yaml").write_text(RUNNING)
    run = process([str(tmp_path / "compose.yaml")], Settings(offline=True, select=RULE))
    assert reachable(tmp_path, run.results[0].output, asked) == [True, True, False]


def test_configuration_a_service_mounts_may_name_other_services_so_the_fix_is_unsafe(tmp_path: Path) -> None:
    """awesome-compose's prometheus-grafana: Grafana reaches Prometheus through a datasource file
    it mounts, which harden does not read; a database's mounted init scripts start no connection."""
    compose = "services:\n  prometheus:\n    image: prom/prometheus\n  grafana:\n    image: grafana/grafana\n"
    compose += "    volumes:\n      - ./grafana:/etc/grafana/provisioning/datasources\n"
    [finding], _ = check(tmp_path, compose)
    assert finding.applicability is Applicability.UNSAFE
    assert any(
        "grafana: the configuration it mounts from ./grafana may name other services" in c.text for c in finding.fix.caveats
    )  # type: ignore[union-attr]
    database = "services:\n  app:\n    image: example/app:1\n    environment:\n      DB_HOST: db\n  db:\n    image: postgres:16\n"
    database += "    volumes:\n      - ./init.sql:/docker-entrypoint-initdb.d/init.sql\n"
    [finding], _ = check(tmp_path, database)
    assert finding.applicability is Applicability.REVIEW
