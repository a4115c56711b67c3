"""Positions for passes from the document's API (harden/compose/locate.py): keys, values, items
and services, 1-based, merges followed, without ruamel's `.lc` or private names."""

from __future__ import annotations

from pathlib import Path

import pytest

from harden.compose import ComposeDocument, parse
from harden.engine.load import decode
from harden.model import DocumentError

ROOT = Path(__file__).resolve().parent.parent
TEXT = (
    "x-b: &b\n"  # 1
    "  restart: always\n"  # 2
    "x-a: &a\n"  # 3
    "  <<: *b\n"  # 4
    "  init: true\n"  # 5
    "x-p: &p '80:80'\n"  # 6
    "services:\n"  # 7
    "  web:\n"  # 8
    "    <<: *a\n"  # 9
    "    image: &img nginx\n"  # 10
    '    user: "1000"\n'  # 11
    "    command: !reset\n"  # 12
    "    entrypoint:\n"  # 13
    "    ports:\n"  # 14
    "      - 443:443\n"  # 15
    "      - *p\n"  # 16
    "    dns: [1.1.1.1, 8.8.8.8]\n"  # 17
    "    labels: {a: b}\n"  # 18
    "  api: {image: *img, cap_add: [NET_ADMIN]}\n"  # 19
)


@pytest.fixture(scope="module")
def document() -> ComposeDocument:
    return parse("c.yaml", TEXT)


def test_key_positions_follow_merges(document: ComposeDocument) -> None:
    web = document.services["web"]
    assert document.key_position(web, "image") == (10, 5)
    assert document.key_position(web, "init") == (5, 3)  # merged from &a
    assert document.key_position(web, "restart") == (2, 3)  # from &b, which &a merges
    assert document.key_position(web, "cap_add") is None
    assert document.key_position("a", "init") == (5, 3)
    assert document.key_position(web.node["labels"], "a") == (18, 14)
    assert document.key_position(document.services["api"], "cap_add") == (19, 22)


def test_value_positions(document: ComposeDocument) -> None:
    web = document.services["web"]
    assert document.value_position(web, "image") == (10, 17)  # after the anchor
    assert document.value_position(web, "user") == (11, 11)  # the quote
    assert document.value_position(web, "command") == (12, 20)  # empty, after the tag
    assert document.value_position(web, "entrypoint") == (13, 16)  # empty: right after the colon
    assert document.value_position(web, "restart") == (2, 12)
    assert document.value_position(document.services["api"], "image") == (19, 16)  # the alias itself
    assert document.value_position(web, "cap_add") is None


def test_item_positions(document: ComposeDocument) -> None:
    web = document.services["web"]
    assert document.item_position(web, "ports", 0) == (15, 9)
    assert document.item_position(web, "ports", 1) == (14, 5)  # an alias item: the key
    assert document.item_position(web, "dns", 1) == (17, 20)
    assert document.item_position(web, "dns", 2) is None
    assert document.item_position(web, "image", 0) is None
    assert document.item_position(document.services["api"], "cap_add", 0) == (19, 32)


def test_service_positions(document: ComposeDocument) -> None:
    web = document.services["web"]
    assert document.service_position(web) == (8, 3)
    assert document.service_position(web, "image") == (10, 5)
    assert document.service_position(web, "init") == (5, 3)
    assert document.service_position(web, "dns", 1) == (17, 20)
    assert document.service_position(web, "dns", 5) == (17, 5)
    assert document.service_position(web, "nothing") == (8, 3)


def test_aliases(document: ComposeDocument) -> None:
    web, api = document.services["web"], document.services["api"]
    assert document.is_alias(api, "image") and not document.is_alias(web, "image")
    assert document.is_alias(web.node["ports"], 1) and not document.is_alias(web.node["ports"], 0)


def test_service_positions_point_at_each_key_over_the_corpus(corpus: Path) -> None:
    """Every key of every service of the corpus and the fixtures: the position a finding about it
    gets is where the key is written (on the service, or in the anchored mapping it merges)."""
    compared = 0
    for path, text in texts(corpus):
        try:
            document = parse(path, text)
        except (DocumentError, ValueError):  # fixtures of bad input
            continue
        lines = text.splitlines()
        for service in document.services.values():
            for key in [*service.keys()]:
                line, column = document.service_position(service, key)
                if not service.own(key) and service.merged_from(key) is None:
                    assert (line, column) == (service.line, service.column), (path, service.name, key)
                    continue
                assert lines[line - 1][column - 1 :].lstrip("\"'").startswith(key), (path, service.name, key)
                compared += 1
    assert compared > 500


def texts(corpus: Path) -> list[tuple[str, str]]:
    from test_compose_corpus import FILES

    found = [(str(p), decode(p.read_bytes())[0]) for p in FILES]
    found += [(str(p), p.read_text(encoding="utf-8")) for p in sorted((ROOT / "fixtures").rglob("*.y*ml"))]
    return found
