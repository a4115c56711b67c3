"""The edits the coming features need (harden/compose/remove.py, edits.py, render.py): remove a
key or a sequence item (block and flow, with their comments and blank lines), add a top-level
key, and render nested mappings in the file's style.

Each case is a small document, an operation and the exact output. Every output re-parses, differs
from the input only where the operation says (semantically), and is accepted by the real Docker
Compose (tests/compose_oracle.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from compose_oracle import accepts_all

from harden.compose import ComposeDocument, parse, validate_output
from harden.model import Edit, apply_edits

Operation = Callable[[ComposeDocument], list[Edit]]
NETWORKS = {"frontend": {}, "backend": {"internal": True}}
SECRETS = {"db_password": {"file": "./db_password.txt"}}


@dataclass(frozen=True)
class Case:
    text: str
    operation: Operation
    expected: str
    changed: tuple[Any, ...]  # the semantic path the operation changes (nothing else may change)


def web(document: ComposeDocument) -> Any:
    return document.services["web"]


BLOCK = (
    "services:\n  web:\n    image: nginx\n    # drop everything\n    cap_drop: [ALL]\n    ports:\n"
    "      - 80:80  # public\n      - 443:443\n\n    read_only: true\n\n  db:\n    image: postgres\n"
)
FLOW = "services:\n  web: {image: nginx, cap_drop: [ALL], ports: ['80:80', '443:443']}\n  db: {image: postgres}\n"
LONG = (
    "services:\n  web:\n    image: x\n    ports:\n      - published: 8080\n        target: 80\n      - target: 443\n"
    "    deploy:\n      resources:\n        limits:\n          pids: 100\n"
)
TOP = "services:\n  web:\n    image: x\n    volumes: [data:/data]\n\nvolumes:\n  data:\n"
MERGING = "services:\n  web:\n    <<: *d\n    image: x\n  api:\n    <<: *d\n    image: y\n"
NETWORKED = TOP + "\nnetworks:\n  frontend:\n  backend:\n"

CASES = {
    # --- remove_key, block ---
    "key with its head comment": Case(
        BLOCK,
        lambda d: d.remove_key(web(d), "cap_drop"),
        BLOCK.replace("    # drop everything\n    cap_drop: [ALL]\n", ""),
        ("services", "web", "cap_drop"),
    ),
    "key with a block sequence and its comments": Case(
        BLOCK,
        lambda d: d.remove_key(web(d), "ports"),
        BLOCK.replace("    ports:\n      - 80:80  # public\n      - 443:443\n", ""),
        ("services", "web", "ports"),
    ),
    "last key: the gap before it goes": Case(
        BLOCK,
        lambda d: d.remove_key(web(d), "read_only"),
        BLOCK.replace("\n    read_only: true\n", ""),
        ("services", "web", "read_only"),
    ),
    "first entry: the gap after it goes": Case(
        BLOCK,
        lambda d: d.remove_key(d.data["services"], "web"),
        "services:\n  db:\n    image: postgres\n",
        ("services", "web"),
    ),
    "last entry of the file": Case(
        BLOCK,
        lambda d: d.remove_key(d.data["services"], "db"),
        BLOCK.replace("\n  db:\n    image: postgres\n", ""),
        ("services", "db"),
    ),
    "block scalar with a blank line": Case(
        "services:\n  web:\n    image: x\n    command: |\n      echo a\n\n      echo b\n    user: root\n",
        lambda d: d.remove_key(web(d), "command"),
        "services:\n  web:\n    image: x\n    user: root\n",
        ("services", "web", "command"),
    ),
    "CRLF": Case(
        "services:\r\n  web:\r\n    image: x\r\n    user: root\r\n    init: true\r\n",
        lambda d: d.remove_key(web(d), "user"),
        "services:\r\n  web:\r\n    image: x\r\n    init: true\r\n",
        ("services", "web", "user"),
    ),
    "last line without a line break": Case(
        "services:\n  web:\n    image: x\n    user: root",
        lambda d: d.remove_key(web(d), "user"),
        "services:\n  web:\n    image: x",
        ("services", "web", "user"),
    ),
    "the only key leaves {}": Case(
        LONG,
        lambda d: d.remove_key(web(d).node["deploy"]["resources"]["limits"], "pids"),
        LONG.replace("        limits:\n          pids: 100\n", "        limits: {}\n"),
        ("services", "web", "deploy", "resources", "limits", "pids"),
    ),
    "first key of a mapping in a sequence item": Case(
        LONG,
        lambda d: d.remove_key(web(d).node["ports"][0], "published"),
        LONG.replace("      - published: 8080\n        target: 80\n", "      - target: 80\n"),
        ("services", "web", "ports", 0),
    ),
    "a variable of an environment mapping, with its comment": Case(
        "services:\n  web:\n    image: x\n    environment:\n      A: '1'\n      DB_PASSWORD: secret  # move me\n",
        lambda d: d.remove_key(web(d).node["environment"], "DB_PASSWORD"),
        "services:\n  web:\n    image: x\n    environment:\n      A: '1'\n",
        ("services", "web", "environment", "DB_PASSWORD"),
    ),
    "a top-level key": Case(
        "services:\n  web:\n    image: x\n\nnetworks:\n  front:\n  back:\n\nvolumes:\n  data:\n",
        lambda d: d.remove_key(d.data, "networks"),
        "services:\n  web:\n    image: x\n\nvolumes:\n  data:\n",
        ("networks",),
    ),
    "the key of an anchored mapping": Case(
        "x-d: &d\n  restart: always\n  init: true\n" + MERGING,
        lambda d: d.remove_key("d", "restart"),
        "x-d: &d\n  init: true\n" + MERGING,
        (),  # x-d, web and api all lose it
    ),
    # --- remove_key, flow ---
    "flow: a middle entry": Case(
        FLOW, lambda d: d.remove_key(web(d), "cap_drop"), FLOW.replace(" cap_drop: [ALL],", ""), ("services", "web", "cap_drop")
    ),
    "flow: the last entry": Case(
        FLOW,
        lambda d: d.remove_key(web(d), "ports"),
        FLOW.replace(", ports: ['80:80', '443:443']", ""),
        ("services", "web", "ports"),
    ),
    "flow: the only entry": Case(
        "services:\n  web: {image: x, labels: {a: b}}\n",
        lambda d: d.remove_key(web(d).node["labels"], "a"),
        "services:\n  web: {image: x, labels: {}}\n",
        ("services", "web", "labels", "a"),
    ),
    "flow: an entry on a line of its own": Case(
        "services:\n  web: {\n    image: x,\n    user: root,\n  }\n",
        lambda d: d.remove_key(web(d), "user"),
        "services:\n  web: {\n    image: x,\n  }\n",
        ("services", "web", "user"),
    ),
    "flow: the last entry on a line of its own, no trailing comma": Case(
        "services:\n  web: {\n    image: x,\n    user: root\n  }\n",
        lambda d: d.remove_key(web(d), "user"),
        "services:\n  web: {\n    image: x\n  }\n",
        ("services", "web", "user"),
    ),
    # --- remove_item ---
    "item with its head comment": Case(
        "services:\n  web:\n    image: x\n    environment:\n      - A=1\n      # the password\n"
        "      - DB_PASSWORD=secret\n      - B=2\n",
        lambda d: d.remove_item(web(d), "environment", 1),
        "services:\n  web:\n    image: x\n    environment:\n      - A=1\n      - B=2\n",
        ("services", "web", "environment"),
    ),
    "last item with an end-of-line comment": Case(
        BLOCK,
        lambda d: d.remove_item(web(d), "ports", 0),
        BLOCK.replace("      - 80:80  # public\n", ""),
        ("services", "web", "ports"),
    ),
    "item of a mapping in a sequence": Case(
        LONG,
        lambda d: d.remove_item(web(d), "ports", 1),
        LONG.replace("      - target: 443\n", ""),
        ("services", "web", "ports"),
    ),
    "the only item leaves []": Case(
        "services:\n  web:\n    image: x\n    ports:\n    - 80:80\n    user: root\n",
        lambda d: d.remove_item(web(d), "ports", 0),
        "services:\n  web:\n    image: x\n    ports: []\n    user: root\n",
        ("services", "web", "ports"),
    ),
    "flow: an item": Case(
        FLOW, lambda d: d.remove_item(web(d), "ports", 0), FLOW.replace("'80:80', ", ""), ("services", "web", "ports")
    ),
    "flow: the last item": Case(
        FLOW, lambda d: d.remove_item(web(d), "ports", 1), FLOW.replace(", '443:443'", ""), ("services", "web", "ports")
    ),
    "flow: the only item": Case(
        FLOW, lambda d: d.remove_item(web(d), "cap_drop", 0), FLOW.replace("[ALL]", "[]"), ("services", "web", "cap_drop")
    ),
    # --- add_top_level and nested mappings ---
    "top level: at the end, after a blank line like the others": Case(
        TOP,
        lambda d: d.add_top_level("networks", NETWORKS),
        TOP + "\nnetworks:\n  frontend: {}\n  backend:\n    internal: true\n",
        ("networks",),
    ),
    "top level: after a given key": Case(
        TOP,
        lambda d: d.add_top_level("secrets", SECRETS, after="services"),
        TOP.replace("\nvolumes:", "\nsecrets:\n  db_password:\n    file: ./db_password.txt\n\nvolumes:"),
        ("secrets",),
    ),
    "top level: a file without blank lines or a final line break": Case(
        "services:\n  web:\n    image: x\nvolumes:\n  data:",
        lambda d: d.add_top_level("secrets", SECRETS),
        "services:\n  web:\n    image: x\nvolumes:\n  data:\nsecrets:\n  db_password:\n    file: ./db_password.txt",
        ("secrets",),
    ),
    "top level: a file of flow mappings": Case(
        FLOW,
        lambda d: d.add_top_level("networks", NETWORKS),
        FLOW + "networks: {frontend: {}, backend: {internal: true}}\n",
        ("networks",),
    ),
    "top level: a flow top level": Case(
        "{services: {web: {image: x}}}\n",
        lambda d: d.add_top_level("secrets", SECRETS),
        "{services: {web: {image: x}}, secrets: {db_password: {file: ./db_password.txt}}}\n",
        ("secrets",),
    ),
    "long-syntax networks in a block service": Case(
        NETWORKED,
        lambda d: d.add_key(web(d), "networks", {"frontend": {"aliases": ["www", "web"]}, "backend": None}),
        NETWORKED.replace(
            "    volumes: [data:/data]\n",
            "    volumes: [data:/data]\n    networks:\n      frontend:\n        aliases: [www, web]\n      backend:\n",
        ),
        ("services", "web", "networks"),
    ),
    "long-syntax networks in a block file of block sequences": Case(
        "services:\n  web:\n    image: x\n    cap_add:\n      - NET_ADMIN\nnetworks:\n  frontend:\n",
        lambda d: d.add_key(web(d), "networks", {"frontend": {"aliases": ["www"]}}),
        "services:\n  web:\n    image: x\n    cap_add:\n      - NET_ADMIN\n    networks:\n      frontend:\n"
        "        aliases:\n          - www\nnetworks:\n  frontend:\n",
        ("services", "web", "networks"),
    ),
    "long-syntax networks in a flow service": Case(
        FLOW + "networks: {frontend: {}}\n",
        lambda d: d.add_key(web(d), "networks", {"frontend": {"aliases": ["www"]}}),
        FLOW.replace("'443:443']}", "'443:443'], networks: {frontend: {aliases: [www]}}}") + "networks: {frontend: {}}\n",
        ("services", "web", "networks"),
    ),
    "long-syntax secrets: mappings in a block sequence": Case(
        "services:\n  web:\n    image: x\nsecrets:\n  db_password:\n    file: ./db_password.txt\n",
        lambda d: d.add_key(web(d), "secrets", [{"source": "db_password", "target": "db", "mode": 288}, "db_password"]),
        "services:\n  web:\n    image: x\n    secrets:\n      - source: db_password\n        target: db\n        mode: 288\n"
        "      - db_password\nsecrets:\n  db_password:\n    file: ./db_password.txt\n",
        ("services", "web", "secrets"),
    ),
}


def run(case: Case) -> tuple[ComposeDocument, str]:
    document = parse("compose.yaml", case.text)
    return document, apply_edits(document.text, case.operation(document), document.newline)


@pytest.mark.parametrize("name", sorted(CASES))
def test_edit_output(name: str) -> None:
    case = CASES[name]
    document, output = run(case)
    assert output == case.expected
    after = parse("compose.yaml", output)
    gone = [f"services disappeared: {case.changed[1]}"] if case.changed[:1] == ("services",) and len(case.changed) == 2 else []
    assert validate_output(document, after) == gone
    before, now = document.semantic(), after.semantic()
    assert before != now
    assert without(before, case.changed) == without(now, case.changed)


def without(data: dict[str, Any], path: tuple[Any, ...]) -> Any:
    """The data with what `path` names taken out (nothing at all for the empty path but x- and services)."""
    if not path:
        return {k: v for k, v in data.items() if k not in ("services",) and not k.startswith("x-")}
    copy: Any = dict(data)
    node = copy
    for part in path[:-1]:
        node[part] = dict(node[part]) if isinstance(node[part], dict) else list(node[part])
        node = node[part]
    if isinstance(node, dict):
        node.pop(path[-1], None)
    else:
        node[path[-1]] = None
    return copy


def test_docker_compose_accepts_every_output(tmp_path: Path) -> None:
    projects = []
    for index, name in enumerate(sorted(CASES)):
        directory = tmp_path / str(index)
        directory.mkdir()
        (directory / "db_password.txt").write_text("x\n", encoding="utf-8")
        path = directory / "compose.yaml"
        path.write_text(run(CASES[name])[1], encoding="utf-8")
        projects.append((path,))
    results = accepts_all(projects)
    refused = [f"{name}: {message}" for name, (ok, message) in zip(sorted(CASES), results, strict=True) if not ok]
    assert refused == [], "\n".join(refused)


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "operation", "reason"),
    [
        (
            "x-d: &d\n  restart: always\nservices:\n  web:\n    <<: *d\n    image: x\n",
            lambda d: d.remove_key(web(d), "restart"),
            "merged from an anchor",
        ),
        (
            "x-caps: &caps [NET_ADMIN]\nservices:\n  web:\n    image: x\n    cap_add: *caps\n",
            lambda d: d.remove_key(d.data, "x-caps"),
            "defines the anchor &caps",
        ),
        (
            "x-w: &w\n  image: x\n  user: root\nservices:\n  web: *w\n  api: *w\n",
            lambda d: d.remove_key(web(d), "user"),
            "also used at x-w, services.api",
        ),
        ("services:\n  web:\n    image: x\n    ? user\n    : root\n", lambda d: d.remove_key(web(d), "user"), "explicit key"),
        ("services:\n  web:\n    image: x\n", lambda d: d.remove_key(d.data, "services"), "only top-level key"),
        (
            "x-p: &p '80:80'\nservices:\n  web:\n    image: x\n    ports: [*p, '81:81']\n",
            lambda d: d.remove_item(web(d), "ports", 0),
            "is an alias",
        ),
        ("services:\n  web:\n    image: x\n    ports: ['80:80']\n", lambda d: d.remove_item(web(d), "ports", 1), "no item 1"),
        (TOP, lambda d: d.add_top_level("volumes", {"x": {}}), "already set"),
        (TOP, lambda d: d.add_top_level("networks", NETWORKS, after="configs"), "no top-level key 'configs'"),
    ],
)
def test_refused_edits_say_why(text: str, operation: Operation, reason: str) -> None:
    document = parse("compose.yaml", text)
    with pytest.raises(ValueError, match=reason):
        operation(document)


def test_removing_an_alias_use_keeps_the_anchor() -> None:
    text = (
        "x-caps: &caps [NET_ADMIN]\nservices:\n  web:\n    image: x\n    cap_add: *caps\n"
        "  api:\n    image: y\n    cap_add: *caps\n"
    )
    document = parse("compose.yaml", text)
    output = apply_edits(text, document.remove_key(web(document), "cap_add"))
    assert output == text.replace("    image: x\n    cap_add: *caps\n", "    image: x\n")
    assert parse("compose.yaml", output).services["api"].get("cap_add") == ["NET_ADMIN"]


def test_blank_lines_a_block_scalar_keeps_stay() -> None:
    """Found by the property test: the blank lines before the removed key were the text of the
    `|+` scalar before it."""
    text = "services:\n  web:\n    image: x\n    working_dir: |+\n      keep\n\n\n    ports:\n    - '8080:80'\n"
    document = parse("compose.yaml", text)
    output = apply_edits(text, document.remove_key(web(document), "ports"))
    assert output == "services:\n  web:\n    image: x\n    working_dir: |+\n      keep\n\n\n"
    assert parse("compose.yaml", output).services["web"].get("working_dir") == "keep\n\n\n"


def test_the_style_says_whether_the_file_writes_mappings_in_flow() -> None:
    assert parse("compose.yaml", FLOW).style.flow_mappings
    assert not parse("compose.yaml", BLOCK).style.flow_mappings
    one_each = "services:\n  web: {image: x}\n"  # `services:` is a block, `web` a flow mapping: a tie is block
    assert not parse("compose.yaml", one_each).style.flow_mappings
    assert not parse("compose.yaml", "services:\n  web: {}\n  db: {}\n").style.flow_mappings  # empty ones say nothing
