"""Property tests: over generated Dockerfiles in many styles, `fix` only inserts lines (every
original line stays byte-identical, in order), agrees with BuildKit, and is idempotent; over
Compose files written in odd YAML, `fix` never writes a file that does not parse (it fixes, or
reports the file and leaves it alone). Examples are derandomized and no database is kept, so a
run is the same on every machine."""

from __future__ import annotations

import difflib
import re
from collections import Counter

import dockerfile
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from harden import compose, engine
from harden.config import Settings
from harden.engine.convergence import encode
from harden.engine.guard import semantic_changes
from harden.engine.load import InputError, decode
from harden.model import DocumentError, apply_edits
from harden.output.diff import split_lines
from harden.output.text import diagnostic

IMAGES = [
    "debian:bookworm",
    "alpine:3.20",
    "python:3.12-slim",
    "node:20",
    "scratch",
    "registry.example.com/x/y:1",
    "registry.access.redhat.com/ubi9/ubi",
    "gcr.io/distroless/static",
    "busybox",
    "postgres:16",
    "${BASE}",
]


@st.composite
def dockerfiles(draw: st.DrawFn) -> bytes:
    escape = draw(st.sampled_from(["\\", "`"]))
    lines: list[str] = []
    if escape == "`" or draw(st.booleans()):
        lines.append(f"# escape={escape}")
    if draw(st.booleans()):
        lines.append("# syntax=docker/dockerfile:1")
    if draw(st.booleans()):
        lines.append("ARG BASE=debian:bookworm")
    indent = draw(st.sampled_from(["", "  ", "\t"]))

    def kw(word: str) -> str:
        return word.lower() if draw(st.booleans()) and draw(st.booleans()) else word

    names: list[str] = []
    for index in range(draw(st.integers(1, 3))):
        image = draw(st.sampled_from(IMAGES + names))
        name = f"s{index}"
        names.append(name)
        lines.append(f"{kw('FROM')} {image} AS {name}" if draw(st.booleans()) else f"{kw('FROM')} {image}")
        for _ in range(draw(st.integers(0, 6))):
            choice = draw(st.integers(0, 9))
            if choice == 0:
                lines.append(f"{indent}{kw('RUN')} apt-get update {escape}")
                if draw(st.booleans()):
                    lines.append("    # a comment inside the continuation")
                if draw(st.booleans()):
                    lines.append("")
                lines.append("    && echo done")
            elif choice == 1:
                lines.extend([f"{indent}{kw('RUN')} <<EOF", "set -e", "USER root", "CMD fake", "EOF"])
            elif choice == 2:
                lines.append(f"{indent}{kw('COPY')} --chown=1:1 . /app")
            elif choice == 3:
                lines.append(f"{indent}{kw('USER')} {draw(st.sampled_from(['root', '0', 'app', 'node', '1000:1000']))}")
            elif choice == 4:
                lines.append(f"{indent}{kw('EXPOSE')} {draw(st.sampled_from(['80', '8080', '443/tcp 9000']))}")
            elif choice == 5:
                command = draw(st.sampled_from(['["app"]', "app --serve"]))
                lines.append(f"{indent}{kw('CMD')} {command}")
            elif choice == 6:
                lines.append(indent + kw("ENTRYPOINT") + ' ["/entrypoint.sh"]')
            elif choice == 7:
                lines.append("# a comment")
            elif choice == 8:
                lines.append("")
            else:
                lines.append(indent + kw("ENV") + ' A=1 B="two words"')
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(lines)
    if draw(st.booleans()):
        text += newline
    bom = "\ufeff" if draw(st.booleans()) else ""
    return (bom + text).encode("utf-8")


def only_insertions(before: str, after: str) -> bool:
    ending = "\r\n" if "\r\n" in before else "\n"
    assert before.endswith("\n") == after.endswith("\n")  # a missing final newline stays missing
    old, new = (
        split_lines(before + ("" if before.endswith("\n") else ending)),
        split_lines(after + ("" if after.endswith("\n") else ending)),
    )
    opcodes = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    return all(tag in ("equal", "insert") for tag, *_ in opcodes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dockerfiles())
def test_fix_inserts_lines_only_agrees_with_buildkit_and_is_idempotent(raw: bytes) -> None:
    result = engine.run_text("Dockerfile", "dockerfile", raw, Settings(offline=True))
    assert not result.errors, result.errors
    assert only_insertions(result.original, result.output)
    before = [c.cmd.upper() for c in dockerfile.parse_string(result.original)]
    after = [c.cmd.upper() for c in dockerfile.parse_string(result.output)]
    assert not Counter(before) - Counter(after)
    assert set(Counter(after) - Counter(before)) <= {"RUN", "USER"}
    again = engine.run_text("Dockerfile", "dockerfile", encode(result, result.output), Settings(offline=True))
    assert again.output == result.output and not again.applied


# --- Compose files written in odd YAML --------------------------------------------------------

COMPOSE_IMAGES = ["nginx:1.27", "redis:7", "postgres:16", "example/app:1"]
# read differently by Docker Compose and YAML 1.2, or refused by both (form feed), or just odd
ODD_CHARACTERS = ["\u0085", "\u2028", "\u2029", "\ufeff", "\x0c", "\t", "\u00a0", "\u200b"]


# Keys written in ways harden's line scanner must agree with ruamel.yaml on (after `inner`).
TRICKY = [
    ["dns: [  # a [ comment", '  "1.1.1.1",  # ]', "]"],
    ['"x-quoted: key #1": v', "'x-it''s': w"],
    ["hostname   : spaced", "domainname:    far"],
    ["platform: >", "stop_signal: SIGTERM"],
    ["extra_hosts: {", "  a: 1.2.3.4,  # c", "  b: 5.6.7.8", "}"],
    ["expose:", "  - 80", "  # a commented-out item", "  #- 81"],
    ["working_dir: |+", "  keep", "", ""],
    ["user: &u '1000'", "group_add: [*u]"],
    ["dns_search: !!seq [a, b]"],
    ["tmpfs:", "  - /run:size=1m", "", "  # trailing"],
    ["env_file:", "  - a.env # not part of it", "  - 'b.env'"],
    ["sysctls: {}", "annotations: {a: '#b'}"],
]


@st.composite
def yaml_values(draw: st.DrawFn, col: int, indent: int) -> list[str]:
    """A string value in one of YAML's spellings: the text after `key:` and its continuation lines
    (`col` is the key's column)."""
    pad = " " * (col + indent)
    word = draw(st.sampled_from(["a", "b c", "x" * 2000, "${VAR:-d}", "$$x", "é ü 漢字 🚀", "a:b", "#x", "it's"]))
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return [" " + word.replace("#", "") + draw(st.sampled_from(["", "  # a comment", " #c"]))]
    if kind == 1:
        return [' "' + word + draw(st.sampled_from(["\\t", "\t", "\\N"])) + 'tab"' + draw(st.sampled_from(["", "  # c"]))]
    if kind == 2:
        return [" first line", pad + "second line", "", pad + "third"]
    if kind == 3:
        return [' "multi', pad + 'line"']
    if kind == 4:
        return [" '" + word.replace("'", "''"), "", pad + "line'"]
    if kind == 5:
        indicator = draw(st.sampled_from(["|", ">", "|-", ">+", "|+", f"|{indent}", f">{indent}-"]))
        return [" " + indicator + draw(st.sampled_from(["", "  # c"])), pad + "line one", pad + "  deeper", "", pad + "end"]
    if kind == 6:
        return [""]  # empty: null
    if kind == 7:
        return [" &v" + str(col) + " anchored"]
    if kind == 8:
        return [" ''"]
    return [" !!str 5"]


@st.composite
def compose_services(draw: st.DrawFn, name: str, indent: int, anchors: list[str], lists: list[str]) -> list[str]:
    col = indent
    inner = " " * (2 * indent)
    image = draw(st.sampled_from(COMPOSE_IMAGES))
    style = draw(st.integers(0, 9))
    if style == 0:
        return [" " * col + f"{name}: {{image: {image}, command: [a, 'b'], environment: {{A: x}}}}"]
    if style == 1:
        return [" " * col + f'{name}: {{image: "{image}",', " " * (col + 2) + "labels: {a: b}}"]
    if style == 2 and anchors:
        return [" " * col + f"{name}: *{anchors[0]}"]  # the very mapping of an anchor
    if style == 3 and anchors:
        return [" " * col + f"{name}: {{<<: *{anchors[-1]}, image: {image}}}"]
    lines = [" " * col + f"{name}:" + draw(st.sampled_from(["", "  # a comment after the key"]))]
    dash = " " * draw(st.sampled_from([0, indent]))
    if anchors and draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from(anchors), min_size=1, max_size=2, unique=True))
        if len(chosen) == 1:
            lines.append(inner + f"<<: *{chosen[0]}")
        elif draw(st.booleans()):
            lines.append(inner + "<<: [" + ", ".join("*" + a for a in chosen) + "]")
        else:
            lines += [inner + "<<:"] + [inner + dash + "- *" + a for a in chosen]
    spelling = draw(st.integers(0, 5))
    lines += [
        [inner + "image: " + image],
        [inner + f'image: "{image}"'],
        [inner + f"image: '{image}'  # quoted"],
        [inner + "image: >-", inner + " " * indent + image],
        [inner + f"image: |{indent}-", inner + " " * indent + image],
        [inner + "? image", inner + ": " + image],
    ][spelling]
    tagged = draw(st.integers(0, 3))
    if tagged == 1:
        lines.append(inner + "security_opt: !override [label=disable]")
    elif tagged == 2:
        lines.append(inner + "cap_add: !reset []")
    elif tagged == 3 and "drop" in lists:
        lines.append(inner + "cap_drop: *drop")
    elif tagged == 3:
        lines += [inner + "cap_drop: &drop", inner + dash + "- NET_RAW"]  # a list other services alias
        lists.append("drop")
    if draw(st.booleans()):
        lines.append(inner + "environment:")
        for index in range(draw(st.integers(1, 3))):
            value = draw(yaml_values(2 * indent + indent, indent))
            lines.append(inner + " " * indent + f"E{index}:" + value[0])
            lines.extend(value[1:])
    command = draw(st.integers(0, 4))
    if command == 1:
        lines.append(inner + "command: [sh, -c, 'echo hi']")
    elif command == 2:
        lines += [inner + "command: [", inner + "  sh, -c,", inner + '  "echo"', inner + "]"]
    elif command == 3:
        lines += [inner + "command:", inner + dash + "- sh", inner + dash + "-  -c  # c", inner + dash + "- x"]
    elif command == 4:
        lines += [inner + "entrypoint:", inner + dash + "- >", inner + dash + "  folded", inner + dash + "  text"]
    if lists and tagged != 2 and draw(st.booleans()):
        lines.append(inner + "cap_add: *" + draw(st.sampled_from(lists)))
    if draw(st.booleans()):
        lines += [inner + "labels:", inner + " " * indent + "# a comment line", inner + " " * indent + "k: v"]
    if draw(st.booleans()):
        lines += [inner + line for line in draw(st.sampled_from(TRICKY))]
    if image != "example/app:1" and draw(st.booleans()):
        lines += [inner + "ports:", inner + dash + '- "8080:80"']
    if draw(st.booleans()):
        lines.append(" " * draw(st.integers(0, 2 * indent + 2)) + "# a comment between")
    if draw(st.booleans()):
        lines.append("")
    return lines


@st.composite
def compose_files(draw: st.DrawFn) -> bytes:
    """A Compose file meant to be one Docker Compose accepts, written in odd YAML. One in ten gets
    an odd character at a random place: one Docker Compose and YAML 1.2 read differently, which
    harden must report and leave alone, or one that breaks the file, which harden must refuse."""
    indent = draw(st.sampled_from([1, 2, 3, 4]))
    lines: list[str] = []
    start = draw(st.integers(0, 3))
    lines += [[], ["---"], ["# a file comment", "---"], ["%YAML 1.1", "---"]][start]
    anchors: list[str] = []
    for index in range(draw(st.integers(0, 2))):
        if draw(st.booleans()):
            lines += [f"x-d{index}: &d{index}", " " * indent + ("init: true" if index == 0 else "tty: true")]
        else:
            lines.append(f"x-d{index}: &d{index} {{restart: always}}")
        anchors.append(f"d{index}")
    lists: list[str] = []
    if draw(st.booleans()):
        lines += draw(st.sampled_from([["x-caps: &caps [CHOWN]"], ["x-caps: &caps", "  - CHOWN"]]))
        lists.append("caps")
    lines.append("services:" + draw(st.sampled_from(["", "  # the services"])))
    for index in range(draw(st.integers(1, 3))):
        lines += draw(compose_services(f"s{index}", indent, anchors, lists))
    lines += draw(st.sampled_from([[], ["..."], ["# the end"], ["... # end"]]))
    text = draw(st.sampled_from(["\n", "\r\n"])).join(lines) + draw(st.sampled_from(["", "\n"]))
    if draw(st.integers(0, 9)) == 0:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(ODD_CHARACTERS)) + text[at:]
    return (draw(st.sampled_from(["", "\ufeff"])) + text).encode("utf-8")


@settings(max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(compose_files())
def test_compose_fix_never_writes_a_broken_file(raw: bytes) -> None:
    """Whatever odd YAML a Compose file is written in, `fix` gives a valid, stable output, or
    reports the file (a finding and no change, or a `path:line:col:` error while reading it)."""
    result = engine.run_text("m.yaml", "compose", raw, Settings(offline=True))
    if result.errors:
        event("refused while reading")  # --hypothesis-show-statistics shows how often
        assert not result.findings and not result.applied, result.errors  # refused while reading, never after fixing
        errors = [diagnostic(error) for error in result.errors]
        assert all(re.match(r"m\.yaml:\d+:(\d+:)? ", error) for error in errors), errors
        return
    if any(f.rule.id == "compose-schema" for f in result.findings):
        event("reported by compose-schema, not fixed")
        assert result.output == result.original and not result.applied
        return
    event("fixed" if result.applied else "nothing to fix")
    again = engine.run_text("m.yaml", "compose", encode(result, result.output), Settings(offline=True))
    assert not again.errors and again.output == again.original, again.errors


@settings(max_examples=200, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(compose_files(), st.data())
def test_compose_removals_and_top_level_additions_change_only_what_they_say(raw: bytes, data: st.DataObject) -> None:
    """Over the same odd YAML: removing a key or an item of a service (or adding a top-level
    `networks:`) gives a file that parses and differs from the input only there, or a ValueError
    that says why not; never a broken file."""
    try:
        text = decode(raw)[0]
        document = compose.parse("m.yaml", text)
    except (DocumentError, InputError, ValueError):
        return
    if document.problems:
        return
    name = data.draw(st.sampled_from(sorted(document.services)))
    service = document.services[name]
    keys = service.keys()  # a Service is not a dict
    own = [key for key in keys if service.own(key)]
    lists = [key for key in own if isinstance(service.get(key), list) and service.get(key)]
    choice = data.draw(st.integers(0, 2))
    key, index = data.draw(st.sampled_from(own or ["-"])), 0
    try:
        if choice == 0 and own:
            edits, path = document.remove_key(service, key), ("services", name, key)
        elif choice == 1 and lists:
            key = data.draw(st.sampled_from(lists))
            index = data.draw(st.integers(0, len(service.get(key)) - 1))
            edits, path = document.remove_item(service, key, index), ("services", name, key)
        elif "networks" not in document.data:
            choice, edits, path = 2, document.add_top_level("networks", {"front": {"internal": True}}), ("networks",)
        else:
            return
    except ValueError as error:
        event("refused")
        assert str(error)
        return
    event(f"edited ({choice})")
    after = compose.parse("m.yaml", apply_edits(text, edits, document.newline))
    changes = semantic_changes(document.semantic(), after.semantic())
    assert all(tuple(c.path[: len(path)]) == path for c in changes), [c.describe() for c in changes]
    if choice == 0:
        assert not after.services[name].own(key)
    elif choice == 1:
        assert after.services[name].get(key) == [v for i, v in enumerate(service.get(key)) if i != index]
    else:
        assert after.semantic()["networks"] == {"front": {"internal": True}}
