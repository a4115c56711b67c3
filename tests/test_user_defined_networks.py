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


def check(tmp_path: Path, compose: str, unsafe: bool = False) -> tuple[list[Finding], str]:
    (tmp_path / "compose.yaml").write_text(compose)
    run = process([str(tmp_path / "compose.yaml")], Settings(offline=True, select=RULE, unsafe_fixes=unsafe))
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


@given(
    services.flatmap(
        lambda names: st.tuples(
            st.just(names),
            st.lists(st.tuples(st.sampled_from(names), st.sampled_from(names))),
            st.fixed_dictionaries({n: st.lists(st.sampled_from(["front", "back", "n1"]), unique=True) for n in names}),
        )
    )
)
def test_with_declared_networks_segmentation_keeps_them_and_every_edge(
    case: tuple[list[str], list[tuple[str, str]], dict[str, list[str]]],
) -> None:
    """A project's own networks stay; each edge shares a network; any other pair that shares a
    harden network is two clients of one service."""
    names, edges, declared = case
    added = networks_for(names, edges, declared, {"front", "back", "n1"})
    assert not set(added) & {"front", "back", "n1"}  # new names only
    after = {s: {*declared[s], *(n for n, m in added.items() if s in m)} for s in names}
    for source, target in edges:
        assert source == target or after[source] & after[target]
    reached = {t: {s for s, t2 in edges if t2 == t and s != t} for _, t in edges}
    for a, b in pairs(added):
        assert (a, b) in edges or (b, a) in edges or any({a, b} <= clients for clients in reached.values())
    assert all(after[name] for name in names)  # nobody left on no network


def test_the_fix_lists_each_pair_that_can_no_longer_talk(tmp_path: Path) -> None:
    compose = "services:\n  web:\n    image: nginx:1.27\n    depends_on: [api]\n  api:\n    image: example/api:1\n"
    compose += "    environment:\n      DB_URL: postgres://u@db:5432/x\n  db:\n    image: postgres:16\n"
    [finding], output = check(tmp_path, compose)
    assert finding.fix is not None and finding.applicability is Applicability.REVIEW
    assert [c.text for c in finding.fix.caveats] == ["could talk before and cannot after: db and web"]
    assert "networks:\n  api-net: {}\n  db-net: {}\n" in output


def test_host_mode_services_are_left_alone_and_a_change_that_cuts_nothing_is_not_made(tmp_path: Path) -> None:
    host = "services:\n  a:\n    image: x\n    network_mode: host\n  b:\n    image: y\n  c:\n    image: z\n"
    found, _ = check(tmp_path, host)
    assert [f.fix is None for f in found] == [True, False] and "network_mode: host" in found[0].message
    # two services that talk: new networks would cut no pair and open none
    pair = "services:\n  app:\n    image: example/app:1\n    environment:\n      DB_HOST: db\n  db:\n    image: postgres:16\n"
    assert check(tmp_path, pair) == ([], pair)
    # one service on the project's own network, the other alone on default: nothing shared
    own = "services:\n  a:\n    image: x\n    networks: [n]\n  b:\n    image: y\nnetworks:\n  n: {}\n"
    assert check(tmp_path, own) == ([], own)


OWN = """services:
  proxy:
    image: nginx:1.27
    ports: ["80:80"]
    depends_on: [app]
    networks: [front]
  app:
    image: example/app:1
    environment:
      DB_HOST: db
    networks:
      front:
        aliases: [api]
  db:
    image: postgres:16
  cache:
    image: redis:7
networks:
  front: {}
"""


def test_a_project_with_its_own_networks_keeps_them_and_only_adds(tmp_path: Path) -> None:
    """app keeps front (with its alias) and joins db-net, whose edge front did not cover; db and
    cache leave the default network they shared; Docker Compose merges the result as planned."""
    from compose_oracle import merged

    [finding], output = check(tmp_path, OWN)
    assert finding.applicability is Applicability.REVIEW  # cut: cache and db, which start no connection
    assert [c.text for c in finding.fix.caveats] == [  # type: ignore[union-attr]
        "could talk before and cannot after: cache and db",
        "can talk after and could not before: app and db",
    ]
    assert finding.message.startswith(
        "db, cache share the default network with every service on it; 1 inferred connection shares"
    )
    (tmp_path / "compose.yaml").write_text(output)
    project = merged([tmp_path / "compose.yaml"])
    joined = {name: set(service["networks"]) for name, service in project["services"].items()}
    assert joined == {"proxy": {"front"}, "app": {"front", "db-net"}, "db": {"db-net"}, "cache": {"cache-net"}}
    assert project["services"]["app"]["networks"]["front"]["aliases"] == ["api"]
    assert project["networks"]["cache-net"].get("internal") is True and not project["networks"]["db-net"].get("internal")
    assert check(tmp_path, output) == ([], output)  # a second run changes nothing


def test_services_on_a_default_network_the_project_configures_stay_on_it(tmp_path: Path) -> None:
    compose = OWN.replace("networks:\n  front: {}\n", "networks:\n  front: {}\n  default:\n    name: shared-proxy\n")
    [finding], output = check(tmp_path, compose)
    assert "db-net" in output and "cache-net" not in output  # db joins app on db-net, and keeps default
    assert "    networks: [default, db-net]\n" in output
    assert not any("cannot after" in c.text for c in finding.fix.caveats)  # type: ignore[union-attr]


def test_a_cut_pair_with_an_application_harden_cannot_bound_makes_the_fix_unsafe(tmp_path: Path) -> None:
    """awesome-compose's aspnet-mssql: the web application reaches the database through its own
    code (appsettings), which harden does not read: cutting web from db is unsafe."""
    compose = "services:\n  web:\n    build: app\n    ports: [80:80]\n  db:\n    image: postgres:16\n"
    [finding], _ = check(tmp_path, compose)
    assert finding.applicability is Applicability.UNSAFE
    assert finding.fix.caveats[-1].text == (  # type: ignore[union-attr]
        "harden cannot tell that these never talk: web: its image is built by the project, and its code may connect to "
        "any service"
    )


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
    assert any("never talk: app: ${HOST}" in c.text for c in finding.fix.caveats)  # type: ignore[union-attr]
    run = process([str(tmp_path / "compose.yaml")], Settings(offline=True, select=RULE, unsafe_fixes=True))
    output = run.results[0].output
    assert "db-net:\n    internal: true" in output  # db and cache need no egress, publish nothing
    assert "cache-net: {}" in output  # app's egress is unknown: assumed needed


def test_the_written_file_shares_networks_exactly_as_planned(tmp_path: Path) -> None:
    """A ring of four services: the output, read back, lets exactly the planned pairs share a network."""
    from ruamel.yaml import YAML

    compose = "services:\n" + "".join(f"  s{i}:\n    image: x{i}\n    depends_on: [s{(i + 1) % 4}]\n" for i in range(4))
    [finding], output = check(tmp_path, compose, unsafe=True)  # unknown images: unsafe
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
    environment = find().environment()  # podman-compose with Docker Compose's default network
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
        up = subprocess.run([*compose, "up", "-d"], cwd=directory, capture_output=True, text=True, timeout=300, env=environment)
        assert up.returncode == 0, up.stdout + up.stderr
        return [reaches(source, target) for source, target in pairs_asked]
    finally:
        subprocess.run([*compose, "down", "-t", "0", "-v"], cwd=directory, capture_output=True, timeout=300, env=environment)
        assert left(executable, name) == []


def test_segmented_services_reach_their_peers_and_not_the_others(tmp_path: Path) -> None:
    """Before the fix every service finds every other by name; after it, web still reaches api and
    api db, and web no longer finds db."""
    asked = [("web", "api"), ("api", "db"), ("web", "db")]
    assert reachable(tmp_path, RUNNING, asked) == [True, True, True]
    (tmp_path / "compose.yaml").write_text(RUNNING)
    run = process([str(tmp_path / "compose.yaml")], Settings(offline=True, select=RULE, unsafe_fixes=True))  # busybox: unknown
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
    database = "services:\n  web:\n    image: nginx:1.27\n    depends_on: [app]\n"
    database += "  app:\n    image: example/app:1\n    environment:\n      DB_HOST: db\n  db:\n    image: postgres:16\n"
    database += "    volumes:\n      - ./init.sql:/docker-entrypoint-initdb.d/init.sql\n"
    [finding], _ = check(tmp_path, database)
    assert finding.applicability is Applicability.REVIEW


def test_a_declared_network_is_kept_and_extended_on_podman(tmp_path: Path) -> None:
    """web and api keep the project's network; api, which names db in DB_URL, can reach db only
    after the fix; db and other, alone together on default before, are apart after it."""
    serve = '["sh", "-c", "echo ok > /tmp/ok.html && exec httpd -f -p 80 -h /tmp"]'
    httpd = f"    image: localhost/busybox:latest\n    command: {serve}\n"
    compose = f"services:\n  web:\n{httpd}    depends_on: [api]\n    networks: [front]\n  api:\n{httpd}"
    compose += f"    environment:\n      DB_URL: http://db:80/\n    networks: [front]\n  db:\n{httpd}  other:\n{httpd}"
    compose += "networks:\n  front: {}\n"
    asked = [("web", "api"), ("api", "db"), ("db", "other")]
    assert reachable(tmp_path, compose, asked) == [True, False, True]
    (tmp_path / "compose.yaml").write_text(compose)
    run = process([str(tmp_path / "compose.yaml")], Settings(offline=True, select=RULE, unsafe_fixes=True))  # busybox: unknown
    assert reachable(tmp_path, run.results[0].output, asked) == [True, True, False]


def test_every_multi_service_corpus_file_keeps_each_inferred_edge_and_cuts_the_rest(corpus: Path, tmp_path: Path) -> None:
    """The issue's acceptance, file by file: after `fix --unsafe-fixes --output`, each inferred edge
    shares a network; any other pair that shares one is two clients of one service or was put
    together by the project's own networks. Without --unsafe-fixes, every file left flat has an
    unsafe fix that names the services harden cannot bound."""
    import json

    from ruamel.yaml import YAML
    from test_cli import plain_invoke

    out = tmp_path / "out"
    base = ["--offline", "--select", "user-defined-networks", "--output"]
    assert plain_invoke("fix", *base, str(out), "--unsafe-fixes", str(corpus))[0] in (0, 1)
    graphs = json.loads(plain_invoke("graph", "--format", "json", str(corpus))[1])["graphs"]
    checked = 0
    for graph in graphs:
        original = Path(graph["path"]).resolve()
        written = out / original.relative_to(corpus.resolve())
        written = written if written.exists() else original  # not written: unchanged
        before = YAML(typ="safe", pure=True).load(original.read_text())
        after = YAML(typ="safe", pure=True).load(written.read_text())["services"]
        joined = [s for s in graph["services"] if "network_mode" not in after[s]]
        if len(joined) < 2:
            continue
        on = {s: set(after[s].get("networks") or ["default"]) for s in joined}
        edges = {tuple(sorted((e["source"], e["target"]))) for e in graph["edges"] if {e["source"], e["target"]} <= set(joined)}
        clients = {t: {e["source"] for e in graph["edges"] if e["target"] == t} for t in joined}
        declared = {s: set(before["services"][s].get("networks") or ()) for s in joined}
        for a, b in combinations(sorted(joined), 2):
            shared = on[a] & on[b]
            if (a, b) in edges:
                assert shared, (original, a, b)
            elif shared:
                explained = any({a, b} <= {t, *c} for t, c in clients.items()) or declared[a] & declared[b]
                assert explained, (original, a, b, shared)
        checked += 1
    assert checked >= 25
    from compose_oracle import accepts_all

    inputs = sorted(p for p in corpus.rglob("*") if p.name.startswith(("compose.", "docker-compose.")))
    outputs = [out / p.relative_to(corpus) for p in inputs]
    verdicts = accepts_all((p,) for p in outputs)
    suspects = [i for i, (ok, _) in enumerate(verdicts) if not ok]  # an input Compose refuses too is no failure
    refused = [
        f"{outputs[i]}: {verdicts[i][1]}"
        for i, (ok, _) in zip(suspects, accepts_all((inputs[i],) for i in suspects), strict=True)
        if ok
    ]
    assert len(inputs) == 39 and refused == []
    again = tmp_path / "again"
    assert plain_invoke("fix", *base, str(again), "--unsafe-fixes", str(out))[0] in (0, 1)
    assert [p for p in outputs if (again / p.relative_to(out)).read_bytes() != p.read_bytes()] == []  # a second run
    arguments = ["check", "--offline", "--select", "user-defined-networks", "--format", "json", str(corpus)]
    findings = json.loads(plain_invoke(*arguments)[1])
    for entry in findings["files"]:
        for finding in entry["findings"]:
            if finding["fix"] and finding["fix"]["applicability"] == "unsafe":
                assert "cannot tell that these never talk" in json.dumps(finding["fix"]), entry["path"]
