"""The import rules of the README's Architecture section, checked on the source.

Each rule names a part of harden and what it must never import (at any depth of the module's
own code, lazily imported names included). A rule is checked by reading every module's
`import` statements with `ast`, so the test costs no import time and sees imports inside
functions too. The last test shows that the check fails when a rule is broken.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

HARDEN = Path(__file__).resolve().parent.parent / "harden"


@dataclass(frozen=True)
class Rule:
    part: str  # a module or package under harden, dotted: "passes", "cli"
    never: tuple[str, ...]  # module prefixes it must not import
    why: str


IO_MODULES = ("os", "pathlib", "subprocess", "shutil", "tempfile", "socket", "httpx", "io")
RULES = (
    Rule(
        "passes",
        (
            "harden.engine",
            "harden.registry",
            "harden.files",
            "harden.discover",
            "harden.output",
            "harden.cli",
            "harden.verify",
            "click",
            *IO_MODULES,
        ),
        "passes are pure: they read a document and a context, never files, the network or the terminal",
    ),
    Rule(
        "evidence",
        (
            "harden.passes",
            "harden.engine",
            "harden.registry",
            "harden.files",
            "harden.discover",
            "harden.output",
            "harden.cli",
            "click",
            *IO_MODULES,
        ),
        "evidence is pure, like the passes that read it: the engine reads the files it scans",
    ),
    Rule(
        "compose",
        ("harden.passes", "harden.engine", "harden.registry", "harden.output", "harden.cli", "click"),
        "documents know nothing of rules, runs or output",
    ),
    Rule(
        "dockerfile",
        ("harden.passes", "harden.engine", "harden.registry", "harden.output", "harden.cli", "click"),
        "documents know nothing of rules, runs or output",
    ),
    Rule(
        "images",
        ("harden.passes", "harden.engine", "harden.registry", "harden.output", "harden.cli", "click", "httpx"),
        "value types: importable by passes without the network stack",
    ),
    Rule(
        "knowledge",
        ("harden.passes", "harden.engine", "harden.registry", "harden.output", "harden.cli", "click"),
        "data about images",
    ),
    Rule(
        "registry",
        ("harden.passes", "harden.engine", "harden.output", "harden.cli", "harden.compose", "harden.dockerfile", "click"),
        "the network, and nothing about documents or rules",
    ),
    Rule("output", ("click", "harden.engine", "harden.registry", "harden.cli"), "renderers: data in, text out"),
    Rule("engine", ("harden.cli", "click", "harden.verify"), "the pipeline serves every front end, not only the command line"),
    Rule(
        "verify",
        ("harden.cli", "click", "harden.passes", "harden.registry", "harden.discover", "harden.files"),
        "verify runs containers through the engine's pipeline (engine, output, config, model), never passes or files directly",
    ),
    Rule("model", ("harden.",), "plain data that every part shares"),
    Rule(
        "configuration",
        ("harden.engine", "harden.registry", "harden.output", "harden.cli", "harden.verify", "click"),
        "the configuration file is read and checked before any run, by every front end",
    ),
    Rule("review", ("harden.cli", "click"), "the review serves any front end: the terminal is the command line's"),
    Rule(
        "bot.body",
        ("click", "harden.cli", "harden.engine", "harden.passes", "harden.registry", "harden.verify", "harden.bot.", *IO_MODULES),
        "the pull request's body is a renderer: results in, Markdown out (no run, no forge, no git)",
    ),
    Rule("bot.git", ("harden.", "click", "httpx", "jinja2"), "the git command line and the standard library only"),
    *(
        Rule(
            f"bot.{forge}",
            ("click", "harden.cli", "harden.engine", "harden.passes", "harden.bot.git", "harden.bot.body", "harden.bot.run"),
            "a forge's API client knows nothing of runs, git or bodies: GitLab could join with one module",
        )
        for forge in ("forge", "github", "gitea")
    ),
    *(
        Rule(f"bot.{part}", ("click", "harden.cli"), "the bot serves any front end: the terminal is the command line's")
        for part in ("run", "publish", "topics")
    ),
)


def imports(path: Path) -> set[str]:
    """Every module `path` imports (absolute names; relative imports resolved)."""
    package = ".".join(path.relative_to(HARDEN.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def modules_of(part: str) -> list[Path]:
    directory, single = HARDEN / part.replace(".", "/"), HARDEN / f"{part.replace('.', '/')}.py"
    return sorted(directory.rglob("*.py")) if directory.is_dir() else [single] if single.exists() else []


def violations(rule: Rule, modules: list[Path]) -> list[str]:
    found = []
    for path in modules:
        for name in sorted(imports(path)):
            if any(name == banned or name.startswith(banned if banned.endswith(".") else banned + ".") for banned in rule.never):
                found.append(f"{path.relative_to(HARDEN.parent)} imports {name}")
    return found


@pytest.mark.parametrize("rule", RULES, ids=[r.part for r in RULES])
def test_import_rule(rule: Rule) -> None:
    modules = modules_of(rule.part)
    assert modules, f"harden/{rule.part} does not exist"
    assert violations(rule, modules) == [], rule.why


def test_only_the_command_line_imports_click() -> None:
    users = [
        p.relative_to(HARDEN).as_posix() for p in sorted(HARDEN.rglob("*.py")) if "click" in {n.split(".")[0] for n in imports(p)}
    ]
    assert "cli/__init__.py" in users
    assert [p for p in users if not p.startswith("cli/")] == []


def test_a_broken_rule_is_seen(tmp_path: Path) -> None:
    bad = tmp_path / "harden" / "passes" / "bad.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("import os\nfrom harden import engine\n\n\ndef check():\n    from harden.registry import client\n")
    global HARDEN
    saved, HARDEN = HARDEN, tmp_path / "harden"
    try:
        found = violations(RULES[0], [bad])
    finally:
        HARDEN = saved
    assert found == [
        "harden/passes/bad.py imports harden.engine",
        "harden/passes/bad.py imports harden.registry",
        "harden/passes/bad.py imports harden.registry.client",
        "harden/passes/bad.py imports os",
    ]


def test_modules_and_functions_can_be_read_in_one_sitting() -> None:
    """No module over 500 lines, no function over 60: a part that grows is split along a seam."""
    long_modules, long_functions = [], []
    for path in sorted(HARDEN.rglob("*.py")):
        text = path.read_text()
        if text.count("\n") > 500:
            long_modules.append(f"{path.relative_to(HARDEN)}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            if is_function and node.end_lineno is not None and node.end_lineno - node.lineno + 1 > 60:
                long_functions.append(f"{path.relative_to(HARDEN)}: {node.name}")
    assert (long_modules, long_functions) == ([], [])
