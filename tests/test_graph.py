"""The service graph (harden.passes.compose.graph): one golden-style test per inference source,
what is not a host, unread services, the files the engine reads for it, and credential masking."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harden import compose, passes
from harden.compose.attached import ENV_FILE, PROXY, Attached
from harden.compose.masking import credential_name, masked_setting, masked_url, masked_words
from harden.config import Settings
from harden.engine import graphing
from harden.passes.compose import graph


def graph_of(
    text: str, variables: dict[str, str] | None = None, attached: dict[str, tuple[Attached, ...]] | None = None
) -> graph.Graph:
    document = compose.parse("compose.yaml", textwrap.dedent(text))
    return graph.of(document, passes.Context(variables=variables or {}, attached=attached or {}))


def edges(found: graph.Graph) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, e.kind) for e in found.edges}


def test_depends_on_in_both_forms_and_links() -> None:
    found = graph_of(
        """\
        services:
          web:
            image: app
            depends_on: [db]
            links: ["cache:redis"]
          worker:
            image: app
            depends_on:
              db:
                condition: service_healthy
          db: {image: postgres}
          cache: {image: redis}
        """
    )
    assert edges(found) == {("web", "db", "depends_on"), ("web", "cache", "links"), ("worker", "db", "depends_on")}
    evidence = {e.target: e.evidence for e in found.edges if e.source == "web"}
    assert evidence == {"db": "compose.yaml:4: depends_on db", "cache": "compose.yaml:5: links cache:redis"}
    assert next(e.evidence for e in found.edges if e.source == "worker") == "compose.yaml:9: depends_on db"


def test_network_mode_service_and_extends() -> None:
    found = graph_of(
        """\
        services:
          vpn: {image: wireguard}
          client:
            image: app
            network_mode: "service:vpn"
          base: {image: app}
          child:
            extends: base
        """
    )
    assert edges(found) == {("client", "vpn", "network_mode"), ("child", "base", "extends")}
    assert "compose.yaml:5: network_mode: service:vpn" in {e.evidence for e in found.edges}


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("DB_HOST=db", True),
        ("DATABASE_URL=postgres://u:pw@db:5432/x", True),
        ("CACHE=redis://db", True),
        ("API=http://db:8080/v1", True),
        ("TARGET=db:5432", True),
        ("MONGO_URL=mongodb://a:27017,db:27017/x", True),
        ("KAFKA_BROKERS=kafka:9092,db:9092", True),
        ("DB_ADDR=db", True),
        ("POSTGRES_USER=db", False),  # a word equal to a service name, not in a host position
        ("MESSAGE=hello db", False),
        ("DB_HOST=db.example.com", False),
        ("DB_HOST=10.0.0.5", False),
    ],
)
def test_environment_names_a_host_only_in_a_host_form(setting: str, expected: bool) -> None:
    found = graph_of(f"services:\n  web:\n    image: app\n    environment:\n      - {setting}\n  db: {{image: postgres}}\n")
    assert (("web", "db", "environment") in edges(found)) is expected


def test_environment_map_form_interpolated_with_the_project_variables() -> None:
    text = """\
        services:
          web:
            image: app
            environment:
              DB_HOST: ${DB_HOST:-db}
              CACHE_URL: redis://${CACHE_NAME}:6379
          db: {image: postgres}
          cache: {image: redis}
        """
    assert edges(graph_of(text, {"CACHE_NAME": "cache"})) == {("web", "db", "environment"), ("web", "cache", "environment")}
    unset = graph_of(text)
    assert edges(unset) == {("web", "db", "environment")}
    assert unset.unread == {
        "web": "compose.yaml:6: CACHE_URL=redis://${CACHE_NAME}:6379: a variable the project's .env does not set"
    }


def test_an_unknown_password_does_not_hide_the_host() -> None:
    found = graph_of(
        "services:\n  web:\n    image: app\n    environment:\n      DATABASE_URL: postgres://app:${PW}@db/x\n"
        "  db: {image: postgres}\n"
    )
    assert edges(found) == {("web", "db", "environment")} and found.unread == {}
    assert found.edges[0].evidence == "compose.yaml:5: DATABASE_URL=postgres://app:***@db/x"


def test_a_host_variable_from_the_shell_is_unread() -> None:
    found = graph_of("services:\n  web:\n    image: app\n    environment:\n      - DB_HOST\n  db: {image: postgres}\n")
    assert edges(found) == set()
    assert found.unread == {"web": "compose.yaml:5: DB_HOST is taken from the shell that runs Compose"}


def test_command_entrypoint_and_healthcheck_words() -> None:
    found = graph_of(
        """\
        services:
          web:
            image: app
            command: ["--db", "postgres://u:hunter2@db/x", "--cache-host=cache"]
            entrypoint: wait-for-it api:8080 --
            healthcheck:
              test: ["CMD-SHELL", "mysqladmin ping -h sql --password=hunter2"]
          db: {image: postgres}
          cache: {image: redis}
          api: {image: app}
          sql: {image: mysql}
          other:
            image: app
            command: echo db cache api
        """
    )
    assert edges(found) == {
        ("web", "db", "command"),
        ("web", "cache", "command"),
        ("web", "api", "command"),
        ("web", "sql", "healthcheck"),
    }
    shown = " ".join(e.evidence for e in found.edges)
    assert "hunter2" not in shown and "u:***@db" in shown and "--password=***" in shown


def test_traefik_labels_make_the_traefik_service_reach_the_labelled_one() -> None:
    found = graph_of(
        """\
        services:
          edge:
            image: traefik:2.6
            ports: ["80:80"]
          app:
            image: app
            labels:
              - traefik.enable=true
              - traefik.http.routers.app.rule=Host(`x`)
          hidden:
            image: app
            labels: {traefik.enable: "false", traefik.http.routers.h.rule: "Host(`y`)"}
        """
    )
    assert edges(found) == {("edge", "app", "proxy")}
    assert found.edges[0].evidence == "compose.yaml:8: label traefik.enable"
    assert found.exposed == frozenset({"edge"})


def test_nginx_proxy_knowledge_routes_to_virtual_hosts() -> None:
    found = graph_of(
        "services:\n  proxy:\n    image: nginxproxy/nginx-proxy\n  site:\n    image: app\n"
        "    environment:\n      VIRTUAL_HOST: a.example\n"
    )
    assert edges(found) == {("proxy", "site", "knowledge")}


NGINX = """\
upstream api_pool {
    server api:8080;   # the API
    server 10.0.0.1:8080;
}
server {
    listen 80;
    location / { proxy_pass http://web:3000; }
    location /php { fastcgi_pass php:9000; }
    # proxy_pass http://old:1;
}
"""


def test_proxy_configuration_read_by_the_engine() -> None:
    text = (
        "services:\n  proxy: {image: nginx}\n  api: {image: app}\n  web: {image: app}\n  php: {image: php}\n  old: {image: app}\n"
    )
    conf = Attached(PROXY, "proxy/nginx.conf", NGINX, target="/etc/nginx/conf.d/default.conf")
    found = graph_of(text, attached={"proxy": (conf,)})
    assert edges(found) == {("proxy", "api", "proxy"), ("proxy", "web", "proxy"), ("proxy", "php", "proxy")}
    assert {e.evidence for e in found.edges} == {
        "proxy/nginx.conf:2: server api:8080;",
        "proxy/nginx.conf:7: location / { proxy_pass http://web:3000; }",
        "proxy/nginx.conf:8: location /php { fastcgi_pass php:9000; }",
    }
    missing = Attached(PROXY, "proxy/nginx.conf", None, "proxy/nginx.conf does not exist")
    assert graph_of(text, attached={"proxy": (missing,)}).unread == {
        "proxy": "proxy configuration proxy/nginx.conf does not exist"
    }
    variable = Attached(PROXY, "p.conf", "location / { proxy_pass http://$backend; }\n")
    assert "p.conf:1" in graph_of(text, attached={"proxy": (variable,)}).unread["proxy"]


def test_haproxy_and_caddy_directives() -> None:
    text = "services:\n  lb: {image: haproxy}\n  web1: {image: app}\n  web2: {image: app}\n"
    haproxy = Attached(PROXY, "haproxy.cfg", "backend b\n  server s1 web1:80 check\n")
    caddy = Attached(PROXY, "Caddyfile", ":80 {\n  reverse_proxy web2:8080\n}\n")
    assert edges(graph_of(text, attached={"lb": (haproxy, caddy)})) == {("lb", "web1", "proxy"), ("lb", "web2", "proxy")}


def test_env_files_are_read_and_overridden_by_environment() -> None:
    text = (
        "services:\n  web:\n    image: app\n    env_file: app.env\n    environment: {CACHE_HOST: elsewhere}\n"
        "  db: {image: postgres}\n  cache: {image: redis}\n"
    )
    env = Attached(ENV_FILE, "app.env", "# app\nDB_HOST=db\nCACHE_HOST=cache\nDB_PASSWORD=s3cret\n")
    found = graph_of(text, attached={"web": (env,)})
    assert edges(found) == {("web", "db", "environment")}
    assert found.edges[0].evidence == "app.env:2: DB_HOST=db"
    absent = Attached(ENV_FILE, "app.env", None, "app.env does not exist")
    assert graph_of(text, attached={"web": (absent,)}).unread == {"web": "env_file app.env does not exist"}
    optional = Attached(ENV_FILE, "app.env", None, "app.env does not exist", required=False)
    assert graph_of(text, attached={"web": (optional,)}).unread == {}


def test_hostnames_container_names_and_aliases_reach_their_service() -> None:
    found = graph_of(
        """\
        services:
          web:
            image: app
            environment: [A_HOST=pg, B_URL=http://search:9200, C_ADDR=REDIS-MAIN]
          db: {image: postgres, container_name: pg}
          es:
            image: elasticsearch:8.1.0
            networks: {back: {aliases: [search]}}
          cache: {image: redis, hostname: redis-main}
        networks: {back: {}}
        """
    )
    assert edges(found) == {("web", "db", "environment"), ("web", "es", "environment"), ("web", "cache", "environment")}


def test_exposed_and_egress() -> None:
    found = graph_of(
        "services:\n  web: {image: app, ports: ['8080:80']}\n  db: {image: 'postgres:16'}\n  cache: {image: redis}\n"
        "  built: {build: ., image: 'postgres:16'}\n"
    )
    assert found.exposed == frozenset({"web"})
    assert found.egress == {"web": None, "db": False, "cache": False, "built": None}


def test_no_edge_to_itself_and_one_edge_per_pair_and_kind() -> None:
    found = graph_of(
        "services:\n  db:\n    image: postgres\n    environment: [PGHOST=db]\n  web:\n    image: app\n"
        "    environment: [DB_HOST=db, DB_URL=postgres://db/x]\n"
    )
    assert [(e.source, e.target, e.kind, e.evidence) for e in found.edges] == [
        ("web", "db", "environment", "compose.yaml:7: DB_HOST=db")
    ]


def test_services_merged_across_override_files_with_evidence_in_the_file_that_writes_it(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: app\n  db:\n    image: postgres\n")
    (tmp_path / "compose.override.yaml").write_text("services:\n  web:\n    environment:\n      DB_HOST: db\n")
    run = graphing.graphs([str(tmp_path)], Settings())
    assert run.errors == [] and len(run.graphs) == 1
    path, found = run.graphs[0]
    assert path.endswith("compose.yaml") and edges(found) == {("web", "db", "environment")}
    assert found.edges[0].evidence.endswith("compose.override.yaml:4: DB_HOST=db")


def test_the_engine_reads_mounted_copied_and_env_files_within_the_project(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        textwrap.dedent(
            """\
            services:
              proxy:
                image: nginx
                volumes: ["./nginx:/etc/nginx/conf.d:ro"]
              built:
                build: front
              web:
                image: app
                env_file: [web.env, {path: optional.env, required: false}]
              outside:
                image: nginx
                volumes: ["../elsewhere.conf:/etc/nginx/nginx.conf"]
              api: {image: app}
              db: {image: postgres}
            """
        )
    )
    (tmp_path / "nginx").mkdir()
    (tmp_path / "nginx" / "site.conf").write_text("server { location / { proxy_pass http://web:80; } }\n")
    (tmp_path / "nginx" / "key.pem").write_text("server db:5432\n")  # not a configuration file: not read
    (tmp_path / "front").mkdir()
    (tmp_path / "front" / "Dockerfile").write_text("FROM nginx\nCOPY default.conf /etc/nginx/conf.d/default.conf\n")
    (tmp_path / "front" / "default.conf").write_text("location / { proxy_pass http://api:8080; }\n")
    (tmp_path / "web.env").write_text("DB_HOST=db\n")
    (tmp_path.parent / "elsewhere.conf").write_text("proxy_pass http://db;\n")
    found = graphing.graphs([str(tmp_path)], Settings()).graphs[0][1]
    assert edges(found) == {("proxy", "web", "proxy"), ("built", "api", "proxy"), ("web", "db", "environment")}
    assert found.unread == {
        "outside": f"proxy configuration {tmp_path.parent / 'elsewhere.conf'} is outside {tmp_path}: harden does not read it"
    }


def test_credential_masking() -> None:
    assert credential_name("POSTGRES_PASSWORD") and credential_name("API_KEY") and credential_name("--db-token")
    assert credential_name("DB_PASS") and credential_name("GITHUB_TOKEN") and not credential_name("DB_HOST")
    assert (
        masked_url("postgres://app:s3cr@t@db:5432/x and redis://:pw@cache")
        == "postgres://app:***@db:5432/x and redis://:***@cache"
    )
    assert masked_url("http://api:8080/path@x") == "http://api:8080/path@x"  # no password: the port is not one
    assert masked_setting("DB_PASSWORD", "hunter2") == "DB_PASSWORD=***"
    assert masked_setting("DATABASE_URL", "mysql://root:pw@db/x") == "DATABASE_URL=mysql://root:***@db/x"
    assert masked_setting("DB_HOST", "db") == "DB_HOST=db" and masked_setting("DB_HOST", None) == "DB_HOST"
    assert (
        masked_words("mysql -h db -pS3cret --password hunter2 TOKEN=abc x://u:p@h")
        == "mysql -h db -p*** --password *** TOKEN=*** x://u:***@h"
    )
