"""`harden graph` on the corpus: a hand-written expected graph for corpus projects (what a human
reading each Compose file sees), every project through the command in every format, a
structural check of the Mermaid output, and no credential of any corpus or fixture file in it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, corpus_files
from standin_apps import materialize

from harden.cli import main
from harden.compose import environment, parse
from harden.compose.masking import credential_name
from harden.config import Settings
from harden.engine import graphing

AWESOME = CORPUS / "awesome-compose"
COMPOSE_FILES = corpus_files("compose")
FIXTURE_COMPOSE = sorted(p for p in (Path(__file__).parent.parent / "fixtures").rglob("*.y*ml") if "services:" in p.read_text())

# project -> the edges (source, target, kind) a reader of its Compose file sees. Where harden's
# inference and the reading disagree, the comment says why.
EXPECTED: dict[str, set[tuple[str, str, str]]] = {
    # proxy -> backend is also in proxy/conf (COPY'd by proxy/Dockerfile), absent from the corpus:
    # the proxy is unread here; see test_nginx_flask_mysql_with_its_proxy_configuration
    "nginx-flask-mysql": {("backend", "db", "depends_on"), ("proxy", "backend", "depends_on")},
    "nginx-golang-postgres": {("backend", "db", "depends_on"), ("proxy", "backend", "depends_on")},
    "react-express-mongodb": {("frontend", "backend", "depends_on"), ("backend", "mongo", "depends_on")},
    "nextcloud-redis-mariadb": {("nc", "redis", "environment"), ("nc", "db", "environment")},
    "traefik-golang": {("frontend", "backend", "depends_on"), ("frontend", "backend", "proxy")},
    "gitea-postgres": {("gitea", "db", "environment")},
    "wordpress-mysql": {("wordpress", "db", "environment")},
    "react-express-mysql": {
        ("backend", "db", "depends_on"),
        ("backend", "db", "environment"),
        ("frontend", "backend", "depends_on"),
    },
    "react-java-mysql": {
        ("backend", "db", "depends_on"),
        ("backend", "db", "environment"),
        ("frontend", "backend", "depends_on"),
    },
    # redpanda's own advertised address names itself: no edge
    "wasmedge-kafka-mysql": {("etl", "db", "environment"), ("etl", "redpanda", "environment")},
    # nginx/nginx.conf is mounted at /tmp and envsubst'ed: the address is FLASK_SERVER_ADDR
    "nginx-flask-mongo": {
        ("web", "backend", "depends_on"),
        ("web", "backend", "environment"),
        ("backend", "mongo", "depends_on"),
    },
    # kibana reaches elasticsearch by its default elasticsearch.hosts (http://elasticsearch:9200),
    # which no knowledge entry records: the depends_on edge stands for it
    "elasticsearch-logstash-kibana": {("logstash", "elasticsearch", "depends_on"), ("kibana", "elasticsearch", "depends_on")},
    "pihole-cloudflared-DoH": {("pihole", "cloudflared", "depends_on")},
    # A reader sees grafana -> prometheus (its datasource, in ./grafana, not in the corpus and
    # not a proxy configuration) and pgadmin -> postgres (configured in pgadmin's UI): neither is
    # written in a form harden reads, so the graphs have no edge. The network pass must not take
    # an empty graph for proof that nothing talks: these services are not `unread`, so it is a
    # limit the README states.
    "prometheus-grafana": set(),
    "postgresql-pgadmin": set(),
}


def graph_of(directory: Path) -> object:
    run = graphing.graphs([str(directory)], Settings())
    assert not run.errors and len(run.graphs) == 1, run.errors
    return run.graphs[0][1]


@pytest.mark.parametrize("project", sorted(EXPECTED))
def test_expected_graph_of_corpus_project(corpus: Path, project: str) -> None:
    found = graph_of(AWESOME / project)
    assert {(e.source, e.target, e.kind) for e in found.edges} == EXPECTED[project]  # type: ignore[attr-defined]


def test_nginx_flask_mysql_with_its_proxy_configuration(corpus: Path, tmp_path: Path) -> None:
    project = materialize("nginx-flask-mysql", tmp_path)
    found = graph_of(project)
    proxy = [e for e in found.edges if e.kind == "proxy"]  # type: ignore[attr-defined]
    assert [(e.source, e.target) for e in proxy] == [("proxy", "backend")]
    assert proxy[0].evidence.endswith("proxy/conf:5: proxy_pass   http://backend:8000;")
    assert found.unread == {}  # type: ignore[attr-defined]
    assert graph_of(AWESOME / "nginx-flask-mysql").unread == {  # type: ignore[attr-defined]
        "proxy": f"proxy configuration {AWESOME / 'nginx-flask-mysql' / 'proxy' / 'conf'} does not exist"
    }


class Ran:
    def __init__(self, *args: str) -> None:
        result = CliRunner().invoke(main, ["graph", *args])
        self.returncode, self.stdout, self.stderr = result.exit_code, result.stdout, result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


def harden(*args: str) -> Ran:
    """`harden graph ARGS` in-process (the command is the same; a subprocess per project is slow)."""
    return Ran(*args)


KINDS = "depends_on|links|network_mode|extends|environment|command|healthcheck|proxy|knowledge"
MERMAID_LINE = re.compile(rf'^(%% .*|graph LR|  s\d+\["[^"\n]*"\]|  s\d+\(\["[^"\n]*"\]\)|  s\d+ -->\|({KINDS})\| s\d+)$')


def mermaid_problems(output: str) -> list[str]:
    """Lines that are not a well-formed node, edge, comment or header; edges to undeclared nodes."""
    problems = [line for line in output.splitlines() if line and not MERMAID_LINE.match(line)]
    for block in output.split("\n\n"):
        declared = set(re.findall(r"^  (s\d+)[\[(]", block, re.M))
        used = {n for a, b in re.findall(r"^  (s\d+) -->\|\w+\| (s\d+)$", block, re.M) for n in (a, b)}
        problems += [f"undeclared node {n}" for n in sorted(used - declared)]
    return problems


def test_mermaid_structural_check_sees_a_broken_line() -> None:
    assert mermaid_problems('graph LR\n  s0["a"]\n  s0 --> s1\n') == ["  s0 --> s1"]
    assert mermaid_problems('graph LR\n  s0["a"]\n  s0 -->|links| s1\n') == ["undeclared node s1"]
    assert mermaid_problems('graph LR\n  s0["a-b.c"]\n  s1(["d (exposed)"])\n  s0 -->|proxy| s1\n') == []


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=[p.parent.name for p in COMPOSE_FILES])
def test_every_corpus_project_in_every_format(path: Path) -> None:
    outputs = {}
    for form in ("text", "mermaid", "json"):
        run = harden("--format", form, str(path.parent))
        assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
        outputs[form] = run.stdout
    services = parse(str(path), path.read_text()).services
    assert outputs["text"].startswith(f"# {path}\n") and "exposed:" in outputs["text"]
    assert outputs["mermaid"].count("graph LR") == 1 and mermaid_problems(outputs["mermaid"]) == []
    assert json.loads(outputs["json"])["graphs"][0]["services"] == list(services)
    for name in services:
        assert f'"{name}' in outputs["mermaid"]


def credentials(path: Path) -> list[tuple[str, str]]:
    """(name, value) of every credential written in a Compose file's environments and URLs."""
    try:
        services = parse(str(path), path.read_text()).services
    except Exception:  # noqa: BLE001 - fixtures of bad input
        return []
    found = []
    for service in services.values():
        for name, value in environment(service.get("environment")).items():
            if value and credential_name(name) and "$" not in value:
                found.append((name, value))
            for password in re.findall(r"://[^\s:/@]*:([^\s/@]+)@", value or ""):
                found.append(("url", password))
    return found


def test_no_credential_of_any_corpus_or_fixture_file_in_graph_output(corpus: Path) -> None:
    files = COMPOSE_FILES + FIXTURE_COMPOSE
    secrets = [c for path in files for c in credentials(path)]
    assert ("MYSQL_ROOT_PASSWORD", "whalehello") in secrets and ("url", "whalehello") in secrets  # the check sees them
    for form in ("text", "json"):
        output = harden("--format", form, *map(str, files)).stdout  # bad fixtures are errors; the others are read
        assert "DATABASE_URL=mysql://root:***@db:3306/mysql" in output
        leaked = [c for c in secrets if f"{c[0]}={c[1]}" in output or f":{c[1]}@" in output]
        assert leaked == []


def test_bad_input_is_path_line_message_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  web: [unclosed\n")
    good = tmp_path / "ok" / "compose.yaml"
    good.parent.mkdir()
    good.write_text("services:\n  web: {image: app, depends_on: [db]}\n  db: {image: postgres}\n")
    run = harden(str(bad), str(good))
    assert run.returncode == 2 and re.match(rf"{re.escape(str(bad))}:\d+:\d+: ", run.stderr), run.stderr
    assert "web -> db (depends_on" in run.stdout  # the other file is still read
    only_good = harden(str(good))
    assert only_good.returncode == 0 and only_good.stderr == ""
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM scratch\n")
    none = harden(str(dockerfile))
    assert none.returncode == 2 and "no Compose file" in none.stderr
