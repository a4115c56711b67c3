"""The image knowledge base (harden/knowledge/images/*.toml): every entry loads, names its
evidence, uses real capability names, and covers the images the corpus compose files pull."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from harden import engine, knowledge
from harden.config import Settings
from harden.knowledge import (
    IMAGES_DIR,
    ImageFacts,
    _entries,
    _facts,
    distro_family,
    lookup,
    normalise_repository,
    with_variant,
)
from harden.model import FileResult

CORPUS = Path("/work/shared/corpus")

# capabilities(7), without the CAP_ prefix (as compose's cap_add spells them)
LINUX_CAPABILITIES = {
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "BPF",
    "CHECKPOINT_RESTORE",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "PERFMON",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYSLOG",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "WAKE_ALARM",
}
ROLES = {"database", "cache", "broker", "search", "web", "proxy", "app", "runtime", "tool", "monitoring"}
DISTROS = {"debian", "alpine", "rhel", "rhel-minimal", "distroless", "scratch", "windows", ""}
# the loader documents these; "chroot" (chroot --userspec) and "capsh" (capsh --user) are
# step-downs that exist in real images (elasticsearch 7, pihole 6) but are not in its list
STEP_DOWNS = {"gosu", "su-exec", "setpriv", "clickhouse-su", "s6-overlay", "master-worker", "", "chroot", "capsh"}
OVERRIDABLE = {f.name for f in dataclasses.fields(ImageFacts)} - {"name", "repositories", "variants"}


def all_facts() -> list[ImageFacts]:
    unique: dict[str, ImageFacts] = {}
    for facts in _entries().values():
        unique[facts.name] = facts
    return [unique[name] for name in sorted(unique)]


def variant_views(facts: ImageFacts) -> list[tuple[str, ImageFacts]]:
    """The entry itself and the entry as each variant overrides it."""
    views = [("<default>", facts)]
    for pattern, overrides in facts.variants.items():
        views.append((pattern, with_variant(facts, overrides)))  # the same override path lookup() takes
    return views


def entry(image: str) -> ImageFacts:
    facts = lookup(image)
    assert facts is not None, f"no knowledge entry for {image}"
    return facts


def test_every_file_loads() -> None:
    knowledge._index.cache_clear()
    knowledge._load.cache_clear()
    entries = _entries()
    files = sorted(p.stem for p in IMAGES_DIR.glob("*.toml"))
    assert files, "no image entries"
    assert sorted({f.name for f in entries.values()}) == files


def test_no_repository_claimed_twice() -> None:
    seen: dict[str, str] = {}
    for path in sorted(IMAGES_DIR.glob("*.toml")):
        facts = _facts(path.stem, tomllib.loads(path.read_text(encoding="utf-8")))
        assert facts.repositories, f"{path.name}: no repositories"
        for repository in facts.repositories:
            assert repository not in seen, f"{repository} in both {seen.get(repository)} and {path.name}"
            seen[repository] = path.name


@pytest.mark.parametrize("facts", all_facts(), ids=lambda f: f.name)
def test_entry_has_evidence(facts: ImageFacts) -> None:
    assert any("http" in line for line in facts.evidence), f"{facts.name}: no evidence URL"


@pytest.mark.parametrize("facts", all_facts(), ids=lambda f: f.name)
def test_entry_fields_are_well_formed(facts: ImageFacts) -> None:
    for pattern, overrides in facts.variants.items():
        re.compile(pattern)
        assert set(overrides) <= OVERRIDABLE, f"{facts.name} [{pattern}]: {set(overrides) - OVERRIDABLE}"
    for where, view in variant_views(facts):
        label = f"{facts.name} [{where}]"
        assert view.role in ROLES, label
        assert view.distro in DISTROS, label
        assert view.drops_privileges in STEP_DOWNS, label
        assert isinstance(view.cap_add, dict), label
        for cap, why in view.cap_add.items():
            assert not cap.upper().startswith("CAP_"), f"{label}: {cap} has the CAP_ prefix"
            assert cap in LINUX_CAPABILITIES, f"{label}: {cap} is not a Linux capability"
            assert str(why).strip(), f"{label}: {cap} has no reason"
        for cap, why in view.host_network_cap_add.items():
            assert cap in LINUX_CAPABILITIES and str(why).strip(), f"{label}: host_network_cap_add {cap}"
        assert all(p.startswith("/") for p in view.refused_volumes) and all(view.refused_volumes.values()), label
        assert view.inherited_by in {"", "derives_from", "name"}, label
        assert all(p.startswith("/") for p in (*view.writable_paths, *view.data_paths)), label
        assert all(isinstance(p, int) and 0 < p < 65536 for p in view.ports), label
        for var, file_var in view.secret_file_vars.items():
            # VAR_FILE, or another variable that sets the same value (gitea: DB_PASSWD -> GITEA__database__PASSWD__FILE)
            named = file_var.startswith(var) or var.endswith(file_var.removesuffix("__FILE").rpartition("__")[2])
            assert named and file_var.endswith("FILE"), f"{label}: {var} -> {file_var}"
        if view.drops_privileges in {"gosu", "su-exec", "setpriv", "clickhouse-su", "chroot", "capsh"}:
            assert {"SETUID", "SETGID"} <= set(view.cap_add), f"{label}: step-down without SETUID/SETGID"
        if view.default_user not in {"root", "0"} and view.drops_privileges not in {"master-worker", "s6-overlay"}:
            assert view.runtime_user == view.default_user, label


def corpus_images() -> list[tuple[str, str]]:
    """(compose file, image) for every service that pulls its image instead of building it."""
    yaml = YAML(typ="safe")
    found: list[tuple[str, str]] = []
    for path in sorted(CORPUS.glob("**/compose.y*ml")):
        document = yaml.load(path.read_text(encoding="utf-8")) or {}
        for service in (document.get("services") or {}).values():
            if isinstance(service, dict) and service.get("image") and "build" not in service:
                found.append((str(path.relative_to(CORPUS)), str(service["image"])))
    return found


def test_corpus_has_images() -> None:
    if not CORPUS.is_dir():
        pytest.skip("corpus not available")
    assert len(corpus_images()) > 30


@pytest.mark.parametrize("compose,image", corpus_images() if CORPUS.is_dir() else [])
def test_corpus_image_resolves(compose: str, image: str) -> None:
    facts = lookup(image)
    assert facts is not None, f"{compose}: no knowledge entry for {image} ({normalise_repository(image)})"
    assert distro_family(image) is not None or facts.distro == "", f"{compose}: {image}"


def test_concrete_facts() -> None:
    # postgres: gosu everywhere (Alpine moved from su-exec to gosu in docker-library/postgres 3e9b4ea)
    assert entry("postgres").drops_privileges == "gosu"
    assert entry("postgres:16-alpine").drops_privileges == "gosu"
    assert entry("postgres:16-alpine").distro == "alpine"
    assert distro_family("postgres:16-alpine") == "alpine"
    assert entry("postgres:17").data_paths == ("/var/lib/postgresql/data",)
    assert entry("postgres:latest").data_paths == ("/var/lib/postgresql",)
    assert entry("postgres").secret_file_vars["POSTGRES_PASSWORD"] == "POSTGRES_PASSWORD_FILE"
    assert {"CHOWN", "SETUID", "SETGID"} <= set(entry("postgres").cap_add)
    # measured (RUNTIME.md §8): its chmods end in `|| :`, and it never writes /tmp
    assert "FOWNER" not in entry("postgres").cap_add and "/tmp" not in entry("postgres").writable_paths

    # redis: gosu up to 7, setpriv from 8 (redis/docker-library-redis)
    assert entry("docker.io/library/redis:7").drops_privileges == "gosu"
    assert entry("redis:7.2-alpine").drops_privileges == "gosu"
    assert entry("redis").drops_privileges == "setpriv"
    assert entry("redis:alpine").distro == "alpine"
    assert entry("redis").nonroot_works

    # nginx: master-worker, needs to chown its temp dirs and bind 80
    nginx = entry("nginx")
    assert nginx.public_entry_point
    assert nginx.drops_privileges == "master-worker"
    assert {"CHOWN", "SETUID", "SETGID"} <= set(nginx.cap_add)
    # Docker 20.10+ sets ip_unprivileged_port_start=0 per container network namespace (RUNTIME.md §8)
    assert "NET_BIND_SERVICE" not in nginx.cap_add and "NET_BIND_SERVICE" in nginx.host_network_cap_add
    assert {"/var/cache/nginx", "/var/run", "/tmp"} <= set(nginx.writable_paths)
    assert entry("nginx:alpine").distro == "alpine"
    unprivileged = entry("nginxinc/nginx-unprivileged:alpine")
    assert unprivileged.ports == (8080,) and unprivileged.cap_add == {} and unprivileged.distro == "alpine"

    # mysql: Oracle Linux by default, Debian for tags built before 2022-06-13
    assert entry("mysql:8").distro == "rhel-minimal"
    assert entry("mysql:8.0.19").distro == "debian"
    assert entry("mysql:8.0-debian").distro == "debian"
    assert entry("mysql").secret_file_vars["MYSQL_ROOT_PASSWORD"] == "MYSQL_ROOT_PASSWORD_FILE"
    assert entry("mariadb:11.4-ubi").default_user == "mysql"
    assert entry("rabbitmq:3-management-alpine").drops_privileges == "su-exec"

    # images that never run as root need no capabilities
    for image in ("grafana/grafana", "prom/prometheus", "memcached", "haproxy", "gitea/gitea:1.22-rootless"):
        assert entry(image).cap_add == {}, image
    # file capabilities on the binary: NET_BIND_SERVICE must stay in the bounding set
    assert "NET_BIND_SERVICE" in entry("caddy").cap_add
    assert "NET_BIND_SERVICE" in entry("visibilityspots/cloudflared").cap_add

    # linuxserver images under every registry name
    for name in ("linuxserver/plex", "lscr.io/linuxserver/plex:latest", "ghcr.io/linuxserver/plex"):
        assert entry(name).drops_privileges == "s6-overlay", name
    assert "NET_ADMIN" in entry("lscr.io/linuxserver/wireguard").cap_add

    # elastic: 7.x steps down with chroot, 8+ runs as uid 1000
    assert entry("elasticsearch:7.16.1").default_user == "root"
    assert "SYS_CHROOT" in entry("elasticsearch:7.16.1").cap_add
    assert entry("elasticsearch:8.15.0").default_user == "1000"

    assert entry("dpage/pgadmin4:latest").setuid_needed
    assert entry("pihole/pihole:latest").setuid_needed
    assert entry("mcr.microsoft.com/mssql/server:2022-latest").default_user == "mssql"


def test_public_entry_points() -> None:
    public = {
        "nginx",
        "httpd",
        "traefik:2.6",
        "caddy",
        "wordpress",
        "nextcloud:apache",
        "gitea/gitea",
        "grafana/grafana",
        "portainer/portainer-ce:alpine",
        "pihole/pihole",
        "kibana:7.16.1",
        "dpage/pgadmin4",
        "linuxserver/plex",
    }
    backends = {
        "postgres",
        "mysql",
        "mariadb",
        "mongo",
        "redis",
        "rabbitmq",
        "elasticsearch:8.15.0",
        "opensearchproject/opensearch",
        "memcached",
        "redislabs/redismod",
        "mcr.microsoft.com/mssql/server",
        "mcr.microsoft.com/azure-sql-edge:1.0.4",
        "docker.redpanda.com/vectorized/redpanda:v22.2.2",
    }
    for image in public:
        assert entry(image).public_entry_point, image
    for image in backends:
        assert not entry(image).public_entry_point, image
    assert entry("wordpress:fpm").public_entry_point is False
    assert entry("wordpress:6-fpm-alpine").distro == "alpine"


def test_unknown_image() -> None:
    assert lookup("example.com/nobody/nothing:1") is None


# --- corrections of issue 10, each through the pass that reads the fact ------------------------


def _compose(text: str, rule: str) -> FileResult:
    settings = Settings(select=frozenset({rule}), offline=True)
    return engine.run_text("compose.yaml", "compose", text.encode(), settings)


def _service(result: FileResult, name: str) -> dict[str, object]:
    services = YAML(typ="safe").load(result.output)["services"]
    return dict(services[name])


def test_every_entry_and_every_variant_has_evidence_of_its_own_kind() -> None:
    for facts in all_facts():
        assert facts.evidence, facts.name
        for line in facts.evidence:
            assert line.startswith(("https://", "../shared/RUNTIME.md §")), f"{facts.name}: {line[:60]}"
            assert ": " in line, f"{facts.name}: evidence without a quoted line: {line[:60]}"


def test_read_only_is_not_applied_where_the_knowledge_says_it_breaks() -> None:
    pihole = _compose("services:\n  dns:\n    image: pihole/pihole:latest\n", "read-only-rootfs")
    assert "read_only" not in _service(pihole, "dns")
    [finding] = pihole.findings
    assert finding.fix is None and "setcap" in finding.message and "exits 1" in finding.message
    gitea = _compose("services:\n  git:\n    image: gitea/gitea:1.22\n", "read-only-rootfs")
    assert "read_only" not in _service(gitea, "git") and "/etc/s6" in gitea.findings[0].message
    volumes = "    volumes: [data:/var/lib/gitea, config:/etc/gitea]\n"
    rootless = _compose("services:\n  git:\n    image: gitea/gitea:1.22-rootless\n" + volumes, "read-only-rootfs")
    assert _service(rootless, "git")["read_only"] is True


def test_nextcloud_keeps_its_php_conf_d_and_skips_read_only_with_redis_host() -> None:
    plain = _compose("services:\n  nc:\n    image: nextcloud:apache\n    volumes: [nc:/var/www/html]\n", "read-only-rootfs")
    assert "/usr/local/etc/php/conf.d" not in list(_service(plain, "nc")["tmpfs"])  # type: ignore[call-overload]
    text = "services:\n  nc:\n    image: nextcloud:apache\n    environment:\n      - REDIS_HOST=redis\n"
    with_redis = _compose(text + "    volumes: [nc:/var/www/html]\n", "read-only-rootfs")
    assert "read_only" not in _service(with_redis, "nc") and "redis-session.ini" in with_redis.findings[0].message
    empty = _compose(text.replace("=redis", "=") + "    volumes: [nc:/var/www/html]\n", "read-only-rootfs")
    assert _service(empty, "nc")["read_only"] is True


def test_rabbitmq_gets_no_tmpfs_over_its_config_directory() -> None:
    result = _compose("services:\n  mq:\n    image: rabbitmq:4\n    volumes: [mq:/var/lib/rabbitmq]\n", "read-only-rootfs")
    assert "/etc/rabbitmq" not in list(_service(result, "mq")["tmpfs"])  # type: ignore[call-overload]


def test_no_sys_chroot_beside_a_non_root_user() -> None:
    text = "services:\n  es:\n    image: elasticsearch:7.16.1\n    user: elasticsearch\n"
    assert "cap_add" not in _service(_compose(text, "cap-drop-all"), "es")
    as_root = _service(_compose(text.replace("    user: elasticsearch\n", ""), "cap-drop-all"), "es")
    assert "SYS_CHROOT" in list(as_root["cap_add"])  # type: ignore[call-overload]


def test_net_bind_service_only_with_host_networking() -> None:
    bridge = _service(_compose("services:\n  web:\n    image: nginx\n", "cap-drop-all"), "web")
    assert list(bridge["cap_add"]) == ["CHOWN", "SETGID", "SETUID"]  # type: ignore[call-overload]
    host = _service(_compose("services:\n  web:\n    image: nginx\n    network_mode: host\n", "cap-drop-all"), "web")
    assert "NET_BIND_SERVICE" in list(host["cap_add"])  # type: ignore[call-overload]
    # file capabilities on the binary: it stays whatever the network
    assert "NET_BIND_SERVICE" in entry("caddy").cap_add


def test_no_message_says_an_image_steps_down_to_root() -> None:
    for image in ("nginx", "gitea/gitea", "httpd", "nextcloud"):
        for rule in ("compose-non-root", "cap-drop-all"):
            result = _compose(f"services:\n  s:\n    image: {image}\n", rule)
            text = " ".join(
                [f.message for f in result.findings] + [c.text for f in result.findings if f.fix for c in f.fix.caveats]
            )
            assert "to root" not in text and "to user root" not in text, (image, rule, text)


def test_postgres_needs_neither_fowner_nor_tmp() -> None:
    db = _service(_compose("services:\n  db:\n    image: postgres:16\n", "cap-drop-all"), "db")
    assert list(db["cap_add"]) == ["CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID"]  # type: ignore[call-overload]


def test_redismod_can_write_its_redis_owned_data() -> None:
    facts = entry("redislabs/redismod")
    assert "DAC_OVERRIDE" in facts.cap_add and facts.unprivileged_user == "999:999" and facts.nonroot_works
    result = _compose("services:\n  r:\n    image: redislabs/redismod\n", "compose-non-root")
    assert _service(result, "r")["user"] == "999:999"


def test_refused_volume_reports_postgres_18_data_mounts() -> None:
    text = "services:\n  db:\n    image: {}\n    volumes:\n      - pg:/var/lib/postgresql/data\nvolumes:\n  pg:\n"
    [finding] = _compose(text.format("postgres"), "refused-volume").findings
    assert finding.fix is None and "mount the volume at /var/lib/postgresql" in finding.message
    assert _compose(text.format("postgres:17-alpine"), "refused-volume").findings == []
    assert _compose(text.format("pgvector/pgvector:pg17"), "refused-volume").findings == []
    assert _compose(text.format("pgvector/pgvector:pg18"), "refused-volume").findings
    with_pgdata = text.replace("    volumes:", "    environment:\n      PGDATA: /var/lib/postgresql/data\n    volumes:")
    assert _compose(with_pgdata.format("postgres:18"), "refused-volume").findings == []


# --- new images and inheritance -----------------------------------------------------------------


def test_new_images() -> None:
    assert entry("valkey/valkey:8").drops_privileges == "setpriv" and entry("valkey/valkey:8-alpine").distro == "alpine"
    assert entry("nginxproxy/nginx-proxy").public_entry_point and entry("jwilder/nginx-proxy").name == "nginx-proxy"
    assert "/etc/nginx/conf.d" in entry("nginxproxy/nginx-proxy:1.6").writable_paths
    bitnami = entry("bitnami/postgresql:16")
    assert bitnami.default_user == "1001" and bitnami.cap_add == {} and bitnami.inherited_from == ""


def test_inheritance_by_file() -> None:
    postgis = entry("postgis/postgis:16-3.4")
    assert (postgis.name, postgis.inherited_from, postgis.inherited_by) == ("postgis", "postgres", "derives_from")
    assert postgis.drops_privileges == "gosu" and postgis.data_paths == ("/var/lib/postgresql/data",)
    assert postgis.evidence[0].startswith("https://github.com/postgis/") and len(postgis.evidence) > 1
    assert entry("postgis/postgis:18-3.6").data_paths == ("/var/lib/postgresql",)
    assert entry("timescale/timescaledb:latest-pg16").data_paths == ("/var/lib/postgresql/data",)
    assert entry("nginxproxy/nginx-proxy").cap_add == entry("nginx").cap_add


def test_inheritance_by_name() -> None:
    for name in ("ghcr.io/acme/postgres:16", "acme/app-postgresql", "registry.example.com/team/postgres-custom:1"):
        facts = entry(name)
        assert (facts.inherited_from, facts.inherited_by) == ("postgres", "name"), name
    assert entry("ghcr.io/acme/postgres:16").data_paths == ("/var/lib/postgresql/data",)
    for name in ("prometheuscommunity/postgres-exporter", "acme/postgres-backup", "bitnami/postgres-operator"):
        assert lookup(name) is None, name
    sonarr = entry("lscr.io/linuxserver/sonarr:latest")
    assert (sonarr.inherited_from, sonarr.inherited_by, sonarr.drops_privileges) == ("linuxserver", "name", "s6-overlay")
    assert entry("lscr.io/linuxserver/plex").name == "linuxserver-plex"  # an entry of its own wins
    assert entry("postgres").inherited_by == ""


# --- clickhouse, envoy, kafka, pgbouncer (issue 10, item 6) -------------------------------------


def test_clickhouse_steps_down_itself_and_gets_no_optional_capabilities() -> None:
    facts = entry("clickhouse/clickhouse-server:24.8")
    assert (facts.default_user, facts.runtime_user, facts.drops_privileges) == ("root", "clickhouse", "clickhouse-su")
    assert entry("clickhouse").name == "clickhouse" and entry("clickhouse/clickhouse-server:24.8-alpine").distro == "alpine"
    result = _compose("services:\n  ch:\n    image: clickhouse/clickhouse-server:24.8\n", "cap-drop-all")
    # IPC_LOCK, SYS_NICE and NET_ADMIN are optional features (its README): never added
    assert list(_service(result, "ch")["cap_add"]) == ["CHOWN", "SETGID", "SETUID"]  # type: ignore[call-overload]
    assert "IPC_LOCK" in facts.notes and "optional" in facts.notes


def test_clickhouse_read_only_is_reported_not_applied() -> None:
    text = "services:\n  ch:\n    image: {}\n    volumes: [ch:/var/lib/clickhouse]\n"
    current = _compose(text.format("clickhouse/clickhouse-server:24.8"), "read-only-rootfs")
    assert "read_only" not in _service(current, "ch") and "users.d/default-user.xml" in current.findings[0].message
    # the older yandex images write users.d only when a user or password is configured
    old = _compose(text.format("yandex/clickhouse-server:21.3"), "read-only-rootfs")
    assert _service(old, "ch")["read_only"] is True
    assert "/var/log/clickhouse-server" in list(_service(old, "ch")["tmpfs"])  # type: ignore[call-overload]
    with_password = text.format("yandex/clickhouse-server:21.3") + "    environment:\n      CLICKHOUSE_PASSWORD: x\n"
    assert "read_only" not in _service(_compose(with_password, "read-only-rootfs"), "ch")
    yandex = entry("yandex/clickhouse-server:21.3")
    assert (yandex.inherited_from, yandex.drops_privileges) == ("clickhouse", "gosu")


def test_envoy_steps_down_with_su_exec_and_breaks_read_only_only_when_renumbered() -> None:
    facts = entry("envoyproxy/envoy:v1.31-latest")
    assert (facts.default_user, facts.runtime_user, facts.drops_privileges) == ("root", "envoy", "su-exec")
    result = _compose("services:\n  edge:\n    image: envoyproxy/envoy:v1.31-latest\n", "cap-drop-all")
    assert list(_service(result, "edge")["cap_add"]) == ["CHOWN", "SETGID", "SETUID"]  # type: ignore[call-overload]
    text = "services:\n  edge:\n    image: envoyproxy/envoy:v1.31-latest\n"
    assert _service(_compose(text, "read-only-rootfs"), "edge")["read_only"] is True
    renumbered = _compose(text + "    environment:\n      ENVOY_UID: '1000'\n", "read-only-rootfs")
    assert "read_only" not in _service(renumbered, "edge") and "usermod" in renumbered.findings[0].message
    distroless = entry("envoyproxy/envoy:distroless-v1.31.0")
    assert (distroless.default_user, distroless.cap_add, distroless.distro) == ("65532", {}, "distroless")


@pytest.mark.parametrize(
    "image,user,config_dir",
    [
        ("apache/kafka:3.9.0", "appuser", "/opt/kafka/config"),
        ("confluentinc/cp-kafka:7.7.1", "1000", "/etc/kafka"),
        ("bitnami/kafka:3.7", "1001", "/opt/bitnami/kafka/config"),
    ],
)
def test_kafka_images_run_unprivileged_and_render_config_at_start(image: str, user: str, config_dir: str) -> None:
    facts = entry(image)
    assert (facts.default_user, facts.runtime_user, facts.cap_add, facts.drops_privileges) == (user, user, {}, "")
    # the start scripts write into a directory that ships files: no tmpfs there (it would hide them), no read_only
    assert config_dir in facts.read_only_breaks and not any(p.startswith(config_dir) for p in facts.writable_paths)
    text = f"services:\n  broker:\n    image: {image}\n    volumes: [data:{facts.data_paths[0]}]\n"
    result = _compose(text, "read-only-rootfs")
    assert "read_only" not in _service(result, "broker") and "tmpfs" not in _service(result, "broker")
    assert config_dir in result.findings[0].message
    assert "cap_add" not in _service(_compose(text, "cap-drop-all"), "broker")


def test_pgbouncer_images() -> None:
    edoburu = entry("edoburu/pgbouncer:latest")
    assert (edoburu.default_user, edoburu.cap_add) == ("postgres", {})
    # it writes pgbouncer.ini and userlist.txt into /etc/pgbouncer, which ships only examples and an empty userlist
    text = (
        "services:\n  pool:\n    image: edoburu/pgbouncer:latest\n    environment:\n      DATABASE_URL: postgres://u:p@db/app\n"
    )
    service = _service(_compose(text, "read-only-rootfs"), "pool")
    assert service["read_only"] is True and "/etc/pgbouncer" in list(service["tmpfs"])  # type: ignore[call-overload]
    mounted = text + "    volumes: [./pgbouncer:/etc/pgbouncer]\n"
    assert "/etc/pgbouncer" not in list(_service(_compose(mounted, "read-only-rootfs"), "pool").get("tmpfs", []))  # type: ignore[call-overload]
    bitnami = entry("bitnami/pgbouncer:1")
    assert (bitnami.default_user, bitnami.cap_add, bitnami.ports) == ("1001", {}, (6432,))
    result = _compose("services:\n  pool:\n    image: bitnami/pgbouncer:1\n", "read-only-rootfs")
    assert "read_only" not in _service(result, "pool") and "/opt/bitnami/pgbouncer/conf" in result.findings[0].message
    # a pooler is not a postgres derivative: its name never inherits postgres' facts
    assert entry("edoburu/pgbouncer").inherited_from == "" and lookup("acme/pgbouncer") is None
