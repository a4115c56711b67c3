"""The schema gate (harden/compose/validate.py): whatever jsonschema-rs accepts, jsonschema
accepts too, so asking jsonschema-rs first never hides a schema error.

The documents: every Compose file of the corpus and of fixtures/, then generated variants of
them (a value somewhere replaced by another value of any JSON type, a key added), which are
invalid in every way the schema can say.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from conftest import ROOT, corpus_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harden.compose import validate
from harden.compose.document import parse
from harden.model import DocumentError


def plain_documents() -> list[Any]:
    yaml_files = (p for p in (ROOT / "fixtures").rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml"))
    paths = corpus_files("compose") + sorted(yaml_files)
    found = []
    for path in paths:
        try:
            document = parse(str(path), path.read_text(encoding="utf-8"))
        except (DocumentError, UnicodeDecodeError):
            continue
        if isinstance(document.semantic(), dict):
            found.append(validate._jsonable(document.semantic()))
    return found


DOCUMENTS = plain_documents()


def jsonschema_accepts(data: Any) -> bool:
    return not any(True for _ in validate._validator().iter_errors(data))


def test_the_gate_and_jsonschema_agree_on_every_real_file() -> None:
    assert len(DOCUMENTS) > 50
    verdicts = [(validate._gate().is_valid(d), jsonschema_accepts(d)) for d in DOCUMENTS]
    assert all(gate == full for gate, full in verdicts)
    assert {full for _, full in verdicts} == {True, False}  # the files hold valid and invalid ones


KEYS = ["a", "image", "x-k", "ports", "1"]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 70000)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "ALL", "1.5", "80:80", "x-a", "no", "service:a", "${A}", "host"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "image", "x-k", "ports", "1"]), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths_of(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths_of(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths_of(value, (*prefix, index))
    return found


@st.composite
def variants(draw: st.DrawFn) -> Any:
    data = copy.deepcopy(draw(st.sampled_from(DOCUMENTS)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths_of(data)))
        if not path:
            continue
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        value = draw(json_values)
        if isinstance(parent, dict) and draw(st.booleans()):
            parent[draw(st.sampled_from(["a", "image", "user", "cap_drop", "ports", "x-a", "read_only", "pids"]))] = value
        else:
            parent[path[-1]] = value
    return data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variants())
def test_what_the_gate_accepts_jsonschema_accepts(data: Any) -> None:
    if validate._gate().is_valid(data):
        assert jsonschema_accepts(data), data


def test_the_gate_says_invalid_where_jsonschema_finds_errors() -> None:
    invalid = {"services": {"a": {"image": "x", "cap_drop": "ALL"}}}
    assert not validate._gate().is_valid(invalid) and not jsonschema_accepts(invalid)
    assert validate.schema_problems(invalid) == [(("services", "a", "cap_drop"), "services.a.cap_drop must be a list, not 'ALL'")]


@pytest.mark.parametrize("value", [1.0, True, 2**40])
def test_numbers_where_the_schema_wants_an_integer(value: Any) -> None:
    data = {"services": {"a": {"image": "x", "pids_limit": value}}}
    if validate._gate().is_valid(data):
        assert jsonschema_accepts(data)
