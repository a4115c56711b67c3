"""Small hand-written projects that exercise every compose pass on what real files contain:
variables in values, `!reset` and `!override`, anchors and merge keys, `deploy:` blocks,
`network_mode: service:x`, profiles, IPv6 ports, `extends`, override files. `harden fix` with
every rule must give a project Docker Compose accepts (tests/compose_oracle.py), and each input
is accepted too, so that no project proves nothing.
"""

from __future__ import annotations

from pathlib import Path

from compose_oracle import accepts_all, projects
from runs import process

from harden.config import Settings

PROJECTS: dict[str, dict[str, str]] = {
    "anchors-variables-ipv6": {
        "compose.yaml": """\
x-defaults: &defaults
  restart: unless-stopped
  security_opt:
    - label:disable
  deploy:
    resources:
      limits:
        memory: 512M
services:
  db:
    <<: *defaults
    image: postgres:${PG_VERSION:-16}
    ports:
      - "${PG_PORT:-5432}:5432"
      - "${SQL_PORT:-127.0.0.1:15432}:5433"
    volumes:
      - db:/var/lib/postgresql/data
  cache:
    <<: *defaults
    image: redis:7
    ports:
      - "[::]:6379:6379"
      - ":::16379:16379"
volumes:
  db:
""",
    },
    "reset-override-network-mode-profiles": {
        "compose.yaml": """\
services:
  db:
    image: mariadb:11
    tmpfs: /run/mysqld
    read_only: false
    cap_drop: !reset []
    security_opt: !override
      - apparmor:unconfined
    ports: !override
      - "3306:3306"
  app:
    image: example/app:1
    network_mode: "service:db"
    profiles: [app]
  vpn:
    image: example/vpn:1
    profiles: ["vpn"]
    cap_add: [NET_ADMIN]
    devices: [/dev/net/tun]
""",
    },
    "deploy-limits-and-long-ports": {
        "compose.yaml": """\
services:
  search:
    image: elasticsearch:8.13.0
    ports:
      - target: 9200
        published: "${ES_PORT:-9200}"
        host_ip: "${ES_HOST:-0.0.0.0}"
      - target: 9300
        published: 9300
        protocol: tcp
        mode: host
    deploy:
      replicas: 1
      resources:
        limits:
          cpus: "1"
          memory: 2G
          pids: 0
    mem_limit: 2G
  mongo:
    image: mongo:7
    ports: ["27017:27017", "127.0.0.1:27018:27018", "::1:27019:27019"]
    user: ${MONGO_UID:-999}
    deploy:
      resources:
        limits: {memory: 1G}
  minecraft:
    image: itzg/minecraft-server
    ports:
      - "25565:25565"
    deploy:
      resources:
        limits:
          memory: 1.5G
""",
    },
    "read-only-mounts": {
        "compose.yaml": """\
services:
  nginx:
    image: nginx:1.27
    ports: ["80:80", "443:443"]
    read_only: true
    tmpfs:
      - /tmp:size=64m
    volumes:
      - ./certs:/etc/nginx/certs:ro
      - type: tmpfs
        target: /var/cache/nginx
  pg:
    image: postgres:16
    volumes:
      - type: volume
        source: data
        target: /var/lib/postgresql/data
      - type: bind
        source: ./init
        target: /tmp
        read_only: true
    tmpfs:
      - /var/run/postgresql
volumes:
  data:
""",
    },
    "ranges-build-and-pids-variable": {
        "compose.yaml": """\
services:
  rabbit:
    image: rabbitmq:3-management
    ports:
      - "${AMQP_BIND:-127.0.0.1}:5672:5672"
      - "15672-15673:15672-15673"
      - 25672
      - "${MQTT_PORT:-1883}:1883/tcp"
    security_opt: ["no-new-privileges=true"]
  worker:
    build: .
    depends_on: [rabbit]
    pids_limit: ${PIDS:-200}
""",
        "Dockerfile": "FROM alpine:3.20\n",
    },
    "anchor-with-deploy-variable": {
        "compose.yaml": """\
x-base: &base
  image: postgres:16
  environment:
    POSTGRES_PASSWORD: example
services:
  primary:
    <<: *base
    volumes: [pg1:/var/lib/postgresql/data]
  standby:
    <<: *base
    volumes: [pg2:/var/lib/postgresql/data]
    deploy:
      resources:
        limits:
          memory: ${STANDBY_MEM:-1G}
volumes: {pg1: {}, pg2: {}}
""",
    },
    "extends-with-deploy": {
        "compose.yaml": """\
services:
  base:
    image: redis:7
    deploy:
      resources:
        limits:
          memory: 256M
  r1:
    extends: base
    ports: ["6380:6379"]
  r2:
    extends:
      service: base
    deploy:
      resources:
        limits:
          cpus: "0.5"
  r3:
    extends: r1
    image: nginx:1.27
    security_opt: [label:disable]
""",
    },
    "extends-another-file": {
        "compose.yaml": """\
services:
  web:
    extends:
      file: docker-compose.base.yml
      service: web
    ports: ["8080:80"]
  db:
    extends:
      file: docker-compose.base.yml
      service: db
volumes:
  db:
""",
        "docker-compose.base.yml": """\
services:
  web:
    image: nginx:1.27
    security_opt:
      - label:disable
  db:
    image: postgres:16
    volumes:
      - db:/var/lib/postgresql/data
volumes:
  db:
""",
    },
    "override-file": {
        "compose.yaml": """\
services:
  db:
    image: mysql:8.0
    ports:
      - "3306:3306"
    volumes:
      - /tmp
      - db:/var/lib/mysql
  cache:
    extends: db
    image: redis:7
    volumes: !reset []
volumes:
  db:
""",
        "compose.override.yaml": """\
services:
  db:
    security_opt:
      - seccomp:unconfined
    tmpfs:
      - /var/run/mysqld
    deploy:
      resources:
        limits:
          memory: 1G
  cache:
    security_opt:
      - label:disable
""",
    },
    "display-rules": {
        "compose.yaml": """\
services:
  agent:
    image: portainer/agent:2.20.0
    privileged: true
    pid: host
    network_mode: host
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
      - /:/host:ro
    devices:
      - /dev/kmsg
  dind:
    image: docker:26-dind
    environment:
      DOCKER_TLS_CERTDIR: ""
    ports:
      - "2375:2375"
""",
    },
}


def test_docker_compose_accepts_every_hardened_project(tmp_path: Path) -> None:
    pairs = []
    for name, files in PROJECTS.items():
        for side in ("input", "output"):
            for file, text in files.items():
                (tmp_path / side / name / file).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / side / name / file).write_text(text, encoding="utf-8")
        run = process([str(tmp_path / "input" / name)], Settings(offline=True), apply=True)
        for source, result in run.processed:
            assert not result.errors, result.errors
            (tmp_path / "output" / name / source.path.name).write_text(result.output, encoding="utf-8")
        for given in projects([tmp_path / "input" / name / f for f in files if f.endswith((".yaml", ".yml"))]):
            pairs.append((given, tuple(tmp_path / "output" / name / p.name for p in given)))
    verdicts = accepts_all([side for pair in pairs for side in pair])
    labels = [str(given[0].relative_to(tmp_path / "input")) for given, _ in pairs]
    assert [(label, message) for label, (ok, message) in zip(labels, verdicts[::2], strict=True) if not ok] == []
    assert [(label, message) for label, (ok, message) in zip(labels, verdicts[1::2], strict=True) if not ok] == []
    changed = sum(
        (tmp_path / "output" / name / f).read_text(encoding="utf-8") != text
        for name, files in PROJECTS.items()
        for f, text in files.items()
    )
    assert changed >= len(PROJECTS) - 1  # harden changed something in every project but display-rules
