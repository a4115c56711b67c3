"""harden.evidence.runtime.of_service, over builds read by the engine (harden.engine.context)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harden.config import Settings
from harden.engine.context import Dockerfiles, _build
from harden.evidence.runtime import Runtime, of_service
from harden.passes import Context

ENTRYPOINT = """#!/bin/sh
set -e
if [ "$(id -u)" = 0 ]; then
    chown -R app "$DATA"
    exec gosu app "$0" "$@"
fi
envsubst < /t/app.conf.template > /etc/app/app.conf
echo $$ > /run/app/app.pid
exec "$@"
"""


def runtime_of(tmp_path: Path, dockerfile: str, service: dict[str, Any], scripts: dict[str, str] | None = None) -> Runtime:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    for name, text in (scripts or {}).items():
        (tmp_path / name).write_text(text)
    settings = Settings()
    build = _build(service["build"], tmp_path, Dockerfiles([], settings))
    return of_service("app", service, Context(settings=settings, builds={"app": build}))


def caps(runtime: Runtime) -> dict[str, list[str]]:
    return {cap: [f"{Path(o.source).name}:{o.line}" for o in seen] for cap, seen in runtime.needs_caps.items()}


def test_entrypoint_script_copied_from_the_context_gives_caps_and_paths(tmp_path: Path) -> None:
    dockerfile = (
        "FROM debian:bookworm\nENV DATA=/data\nCOPY docker-entrypoint.sh /usr/local/bin/\n"
        'ENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["app"]\n'
    )
    runtime = runtime_of(tmp_path, dockerfile, {"build": "."}, {"docker-entrypoint.sh": ENTRYPOINT})
    assert caps(runtime) == {
        "CHOWN": ["docker-entrypoint.sh:4"],
        "SETGID": ["docker-entrypoint.sh:5"],
        "SETUID": ["docker-entrypoint.sh:5"],
    }
    assert [o.detail for o in runtime.switches_user] == ["app"]
    assert runtime.tmpfs == ("/run",)
    (blocked,) = runtime.blocks_read_only
    assert (blocked.path, blocked.observation.line) == ("/etc/app/app.conf", 7)
    assert "a directory the image ships files in" in blocked.reason
    assert runtime.user is None and runtime.image == "debian:bookworm"


def test_chmod_after_chown_to_another_user_needs_fowner(tmp_path: Path) -> None:
    script = "chown -R app /data\nchmod 700 /data/db\necho x > /data/db/flag\n"
    dockerfile = 'FROM debian\nCOPY start.sh /start.sh\nCMD ["/start.sh"]\n'
    runtime = runtime_of(tmp_path, dockerfile, {"build": "."}, {"start.sh": script})
    assert caps(runtime) == {"CHOWN": ["start.sh:1"], "DAC_OVERRIDE": ["start.sh:3"], "FOWNER": ["start.sh:2"]}


def test_setcap_in_the_cmd_shell_form(tmp_path: Path) -> None:
    runtime = runtime_of(tmp_path, "FROM debian\nCMD setcap cap_net_raw+ep /usr/bin/ping && exec app\n", {"build": "."})
    assert caps(runtime) == {"SETFCAP": ["Dockerfile:2"]}
    assert runtime.blocks_read_only == ()


def test_build_target_picks_that_stages_user_not_the_last(tmp_path: Path) -> None:
    dockerfile = "FROM node:22 AS builder\nUSER node\nRUN npm ci\n\nFROM nginx:1.27\nUSER root\n"
    runtime = runtime_of(tmp_path, dockerfile, {"build": {"context": ".", "target": "builder"}})
    assert runtime.user == "node"
    assert runtime.user_from.endswith("Dockerfile:2 USER node")
    assert runtime.image == "node:22"


def test_from_nginx_through_a_named_stage_chain_reaches_the_knowledge_entry(tmp_path: Path) -> None:
    dockerfile = "FROM nginx:1.27-alpine AS base\nRUN true\nFROM base AS conf\nCOPY site.conf /etc/nginx/conf.d/\nFROM conf\n"
    runtime = runtime_of(tmp_path, dockerfile, {"build": "."})
    assert runtime.image == "nginx:1.27-alpine"
    assert runtime.base_facts is not None and runtime.base_facts.name == "nginx"
    assert [Path(i).name for i in runtime.inherited_from] == [
        "Dockerfile:5 FROM conf",
        "Dockerfile:3 FROM base",
        "Dockerfile:1 FROM nginx:1.27-alpine",
    ]
    assert runtime.user == "root" and "knowledge base" in runtime.user_from
    assert "/etc/nginx/conf.d" in runtime.ships_files_at


def test_entrypoint_override_voids_knowledge_and_drops_the_image_scripts(tmp_path: Path) -> None:
    dockerfile = 'FROM redis:7\nCOPY docker-entrypoint.sh /usr/local/bin/\nENTRYPOINT ["docker-entrypoint.sh"]\n'
    service = {"build": ".", "entrypoint": ["sh", "-c", "echo port 6379 > /redis.conf && exec redis-server /redis.conf"]}
    runtime = runtime_of(tmp_path, dockerfile, service, {"docker-entrypoint.sh": ENTRYPOINT})
    assert runtime.entrypoint_overridden and "does not hold" in runtime.voided
    assert [(w.path, w.where, w.observation.source) for w in runtime.writes] == [("/redis.conf", "image", "entrypoint:")]
    assert runtime.needs_caps == {}  # the script's gosu and chown no longer run


def test_image_service_with_entrypoint_override_says_so(tmp_path: Path) -> None:
    service = {"image": "postgres:17", "entrypoint": "docker-entrypoint.sh postgres"}
    runtime = of_service("db", service, Context())
    assert runtime.base_facts is not None and runtime.base_facts.name == "postgres"
    assert runtime.entrypoint_overridden and runtime.voided


def test_command_override_writing_under_home_with_a_volume_elsewhere(tmp_path: Path) -> None:
    service = {
        "image": "memcached:1.6",
        "command": "sh -c 'memcached -P /home/memcache/m.pid > /home/memcache/log 2>&1'",
        "volumes": ["cache:/var/cache/x"],
    }
    runtime = of_service("cache", service, Context())
    assert [(w.path, w.where, w.observation.line) for w in runtime.writes] == [("/home/memcache/log", "image", 1)]
    assert "on the image's root filesystem" in runtime.writes[0].reason


def test_write_under_a_volume_is_not_a_read_only_blocker(tmp_path: Path) -> None:
    service = {
        "image": "busybox",
        "command": ["sh", "-c", "echo 1 > /data/x"],
        "volumes": [{"type": "volume", "target": "/data"}],
    }
    assert [w.where for w in of_service("x", service, Context()).writes] == ["volume"]


def test_a_script_outside_the_build_context_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.sh").write_text("chown app /data\n")
    context = tmp_path / "app"
    context.mkdir()
    dockerfile = 'FROM debian\nCOPY ../secret.sh /start.sh\nCMD ["/start.sh"]\n'
    runtime = runtime_of(context, dockerfile, {"build": "."})
    assert runtime.needs_caps == {}
    assert any("outside the build context" in u for u in runtime.unknown), runtime.unknown


def test_a_symbolic_link_out_of_the_build_context_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.sh").write_text("chown app /data\n")
    context = tmp_path / "app"
    context.mkdir()
    (context / "start.sh").symlink_to(tmp_path / "secret.sh")
    runtime = runtime_of(context, 'FROM debian\nCOPY start.sh /start.sh\nCMD ["/start.sh"]\n', {"build": "."})
    assert runtime.needs_caps == {}
    assert any("outside the build context" in u for u in runtime.unknown), runtime.unknown


def test_a_missing_script_is_unknown_not_an_exception(tmp_path: Path) -> None:
    runtime = runtime_of(tmp_path, 'FROM debian\nCOPY start.sh /start.sh\nCMD ["/start.sh"]\n', {"build": "."})
    assert any("start.sh does not exist" in u for u in runtime.unknown), runtime.unknown


def test_a_non_root_user_needs_no_capability(tmp_path: Path) -> None:
    dockerfile = 'FROM debian\nCOPY start.sh /start.sh\nCMD ["/start.sh"]\n'
    runtime = runtime_of(tmp_path, dockerfile, {"build": ".", "user": "1000"}, {"start.sh": "chown app /data\n"})
    assert runtime.needs_caps == {} and runtime.user == "1000"
