"""Compose values read as Compose reads them (harden/compose/values.py): ports, mounts and
environment in both syntaxes, checked against Docker Compose's own reading (`config`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compose_oracle import merged

from harden.compose import Mount, environment, mounts, parse_port, parse_volume, ports, split_colons

ROOT = Path(__file__).resolve().parent.parent
PORTS = [
    "80",
    "8080:80",
    "127.0.0.1:8081:81",
    "127.0.0.1::82",
    "[::1]:8083:83",
    "8084:84/udp",
    9090,
    {"target": 85, "published": "8085", "host_ip": "0.0.0.0", "protocol": "tcp"},
    {"target": 86},
]
VOLUMES = [
    "/data",
    "data:/var/lib/data",
    "./src:/app:ro",
    "/host:/container:rw,z",
    {"type": "bind", "source": "./conf", "target": "/etc/conf", "read_only": True},
    {"type": "tmpfs", "target": "/tmp"},
]
ENVIRONMENTS: list[Any] = [
    {"A": 1, "B": True, "C": 1.5, "D": None, "E": "", "F": "x=y"},
    ["A=1", "B", "C=", "D=x=y", "E=a b"],
]


def document_text() -> str:
    import json

    return json.dumps(
        {
            "services": {
                "web": {"image": "x", "ports": PORTS, "volumes": VOLUMES, "environment": ENVIRONMENTS[0]},
                "api": {"image": "x", "environment": ENVIRONMENTS[1]},
            },
            "volumes": {"data": {}},
        }
    )


def test_ports_as_compose_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(document_text(), encoding="utf-8")
    theirs = merged([path])["services"]["web"]["ports"]
    ours = ports(PORTS)
    assert len(ours) == len(theirs) == len(PORTS)
    for port, their in zip(ours, theirs, strict=True):
        host_ip = port.host_ip.strip("[]") if port.host_ip else None
        assert (host_ip, port.published or None, int(port.target), port.protocol or "tcp") == (
            their.get("host_ip"),
            their.get("published"),
            their["target"],
            their["protocol"],
        ), port


def test_port_fields() -> None:
    short = parse_port("[::]:8443:443/tcp", 3)
    assert short is not None
    assert (short.index, short.host_ip, short.published, short.target, short.protocol, short.long) == (
        3,
        "[::]",
        "8443",
        "443",
        "tcp",
        False,
    )
    assert short.all_interfaces and short.ipv6 and short.loopback() == "[::1]:8443:443/tcp"
    assert parse_port("8000-8002:80-82", 0).numbers("published") == {8000, 8001, 8002}
    assert parse_port("${PORT:-80}:80", 0).published == "${PORT:-80}"
    assert parse_port("3000", 0).loopback() == "127.0.0.1::3000"
    long = parse_port({"target": 80, "host_ip": "127.0.0.1"}, 1)
    assert long is not None and long.long and not long.all_interfaces and long.published == ""
    assert parse_port(True, 0) is None and parse_port(None, 0) is None
    assert ports("80:80") == [] and [p.index for p in ports([True, "80", 81])] == [1, 2]


def test_mounts_as_compose_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(document_text(), encoding="utf-8")
    theirs = merged([path])["services"]["web"]["volumes"]
    ours = mounts(VOLUMES)
    assert len(ours) == len(theirs)
    for mount, their in zip(ours, theirs, strict=True):
        source = str((tmp_path / mount.source).resolve()) if mount.source.startswith(".") else mount.source
        assert (mount.kind, source or None, mount.target, mount.read_only) == (
            their["type"],
            their.get("source"),
            their["target"],
            their.get("read_only", False),
        ), mount


def test_mount_fields() -> None:
    windows = parse_volume("C:\\data:/data:ro", 0)
    assert windows is not None and (windows.source, windows.target, windows.kind, windows.read_only) == (
        "C:\\data",
        "/data",
        "bind",
        True,
    )
    assert parse_volume("${DATA:-./d}:/d", 2) == Mount("${DATA:-./d}", "/d", "bind", False, 2)
    assert parse_volume(5, 0) is None and mounts(None) == []
    assert split_colons("${A:-x:y}:[::1]:z") == ["${A:-x:y}", "[::1]", "z"]


def test_environment_as_compose_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(document_text(), encoding="utf-8")
    services = merged([path])["services"]
    assert environment(ENVIRONMENTS[0]) == services["web"]["environment"]
    assert environment(ENVIRONMENTS[1]) == services["api"]["environment"]
    assert environment(ENVIRONMENTS[0]) == {"A": "1", "B": "true", "C": "1.5", "D": None, "E": "", "F": "x=y"}
    assert environment(ENVIRONMENTS[1]) == {"A": "1", "B": None, "C": "", "D": "x=y", "E": "a b"}
    assert environment(None) == {} and environment("A=1") == {}
