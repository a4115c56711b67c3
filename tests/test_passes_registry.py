"""The pass registry is consistent: kinds in PASS_MODULES match each RULE, ids are unique,
and every pass has a docstring with what, why and what might break."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from harden import engine, passes
from harden.cli import main
from harden.config import Settings
from harden.engine.select import from_settings
from harden.engine.sinks import Report
from harden.passes import PASS_MODULES, Context, all_passes, kind_of, options

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_registry_kinds_match_rules() -> None:
    for name in PASS_MODULES:
        module = importlib.import_module(f"harden.passes.{name}")
        assert kind_of(name) in module.RULE.kinds, name
        assert len([n for n in PASS_MODULES if importlib.import_module(f"harden.passes.{n}").RULE is module.RULE]) == len(
            module.RULE.kinds
        ), name  # a rule of several kinds has one module for each, sharing one RULE


def test_rule_ids_are_unique_and_documented() -> None:
    rules = {m.RULE.id: m.RULE for m in all_passes()}
    assert all(rules[m.RULE.id] is m.RULE for m in all_passes())  # one id, one rule
    assert [m.RULE.id for m in passes.rule_modules()] == list(rules)
    for module in all_passes():
        doc = (module.__doc__ or "").lower()
        safety = "might break" in doc or "fix safety: display" in doc  # a display rule changes nothing
        assert module.RULE.control and safety and "why" in doc, module.RULE.id


# --- options --------------------------------------------------------------------------------

EXPECTED_OPTIONS = {
    "non-root-user": {"user": "app", "uid": 65532},
    "resource-limits": {"pids": 1024},
    "read-only-rootfs": {"tmpfs": ("/tmp",)},
    "published-ports": {"roles": ("database", "cache", "broker", "search")},
}


def test_options_and_their_defaults() -> None:
    """Each pass gets exactly its declared options, at their defaults when nothing is set; every
    option is named in its pass's docstring, and its default passes its own check."""
    for module in all_passes():
        context = Context().for_pass(module)
        assert dict(context.options) == EXPECTED_OPTIONS.get(module.RULE.id, {}), module.RULE.id
        for option in options.declared(module):
            assert f"`{option.name}`" in (module.__doc__ or ""), (module.RULE.id, option.name)
            assert option.value(module.RULE.id, option.default) == option.default
        with pytest.raises(TypeError):
            context.options["x"] = 1  # type: ignore[index]  # read-only


def test_options_set_in_settings_override_the_defaults() -> None:
    module = passes.rule("non-root-user")
    settings = Settings(rule_options={"non-root-user": {"uid": 1000}, "resource-limits": {"pids": 99}})
    assert dict(Context(settings).for_pass(module).options) == {"user": "app", "uid": 1000}
    assert dict(Context(settings).for_pass(passes.rule("read-only-rootfs")).options) == {"tmpfs": ("/tmp",)}
    tmpfs = {"read-only-rootfs": {"tmpfs": ["/tmp", "/run"]}}  # a list, as a configuration file writes it
    assert Context(Settings(rule_options=tmpfs)).for_pass(passes.rule("read-only-rootfs")).options["tmpfs"] == ("/tmp", "/run")


@pytest.mark.parametrize(
    ("rule_options", "message"),
    [
        ({"no-such-rule": {}}, "no rule 'no-such-rule' to set options of (see `harden rules`)"),
        ({"resource-limits": {"pid": 5}}, "resource-limits: no option 'pid' (its options: pids)"),
        ({"cap-drop-all": {"pids": 5}}, "cap-drop-all: no option 'pids' (it has none)"),
        ({"resource-limits": 5}, "resource-limits: options must be a mapping of option names to values, not 5"),
        ({"resource-limits": {"pids": "512"}}, "resource-limits: option pids must be an integer (at least 1), not '512'"),
        ({"resource-limits": {"pids": True}}, "resource-limits: option pids must be an integer (at least 1), not True"),
        ({"resource-limits": {"pids": 0}}, "resource-limits: option pids must be an integer (at least 1), not 0"),
        ({"non-root-user": {"uid": 0}}, "non-root-user: option uid must be an integer (at least 1), not 0"),
        ({"non-root-user": {"user": "root"}}, "non-root-user: option user must be a string (a user name useradd accepts"),
        ({"non-root-user": {"user": "app; rm -rf /"}}, "non-root-user: option user must be a string"),
        ({"read-only-rootfs": {"tmpfs": "/tmp"}}, "read-only-rootfs: option tmpfs must be a list of strings"),
        ({"read-only-rootfs": {"tmpfs": ["tmp"]}}, "read-only-rootfs: option tmpfs must be a list of strings (absolute paths"),
        ({"read-only-rootfs": {"tmpfs": ["/tmp:size=1m"]}}, "read-only-rootfs: option tmpfs must be a list of strings (absolute"),
        (
            {"published-ports": {"roles": ["db"]}},
            "published-ports: option roles must be a list of strings (roles among database,",
        ),
    ],
)
def test_a_run_with_options_harden_cannot_use_fails_before_reading_a_file(
    rule_options: dict[str, object], message: str, tmp_path: Path
) -> None:
    settings = Settings(rule_options=rule_options, offline=True)  # type: ignore[arg-type]
    with pytest.raises(options.OptionError) as refused:
        engine.run_text("Dockerfile", "dockerfile", b"FROM scratch\n", settings)
    assert str(refused.value).startswith(message)
    with pytest.raises(options.OptionError):
        engine.run([str(tmp_path / "missing")], settings, from_settings(settings), Report())


def fixed(path: Path, rule: str, **rule_options: object) -> str:
    kind = "compose" if path.suffix == ".yaml" else "dockerfile"
    options = {rule: rule_options} if rule_options else {}
    # --unsafe-fixes: the fixtures here are a new user and an unknown image, fixes without evidence
    settings = Settings(select=frozenset({rule}), offline=True, rule_options=options, unsafe_fixes=True)
    result = engine.run_text(path.name, kind, path.read_bytes(), settings)
    assert not result.errors
    return result.output


def test_non_root_user_creates_the_user_its_options_name() -> None:
    debian = FIXTURES / "non-root-user" / "debian" / "input.Dockerfile"
    assert "useradd --system --no-log-init --gid app app\nUSER app\n" in fixed(debian, "non-root-user")
    assert "useradd --system --no-log-init --gid svc svc\nUSER svc\n" in fixed(debian, "non-root-user", user="svc")
    scratch = FIXTURES / "non-root-user" / "scratch" / "input.Dockerfile"
    assert "USER 65532:65532\n" in fixed(scratch, "non-root-user")
    assert "USER 1000:1000\n" in fixed(scratch, "non-root-user", uid=1000)


def test_read_only_rootfs_gives_every_service_the_tmpfs_its_option_lists() -> None:
    unknown = FIXTURES / "read-only-rootfs" / "unknown-image" / "input.yaml"
    assert "tmpfs:\n      - /tmp\n" in fixed(unknown, "read-only-rootfs")
    assert "tmpfs:\n      - /tmp\n      - /run\n" in fixed(unknown, "read-only-rootfs", tmpfs=["/tmp", "/run"])
    assert "tmpfs" not in fixed(unknown, "read-only-rootfs", tmpfs=[])


def test_published_ports_binds_the_roles_its_option_lists() -> None:
    text = (
        "services:\n  db:\n    image: postgres:16\n    ports: ['5432:5432']\n"
        "  cache:\n    image: redis:7\n    ports: ['6379:6379']\n"
    )
    path = Path("compose.yaml")
    settings = Settings(select=frozenset({"published-ports"}), offline=True)
    default = engine.run_text(path.name, "compose", text.encode(), settings).output
    assert "127.0.0.1:5432:5432" in default and "127.0.0.1:6379:6379" in default
    only = dataclasses.replace(settings, rule_options={"published-ports": {"roles": ["database"]}})
    output = engine.run_text(path.name, "compose", text.encode(), only).output
    assert "127.0.0.1:5432:5432" in output and "'6379:6379'" in output


def test_explain_lists_a_rules_options() -> None:
    result = CliRunner().invoke(main, ["explain", "resource-limits"])
    assert result.exit_code == 0
    assert result.stdout.endswith(
        "\n\noptions:\n  pids = 1024\n      the PIDs limit harden adds (pids_limit, or pids in deploy.resources.limits)\n"
        "      (must be at least 1)\n"
    )
    result = CliRunner().invoke(main, ["explain", "published-ports"])
    assert '  roles = ["database", "cache", "broker", "search"]\n' in result.stdout
    result = CliRunner().invoke(main, ["explain", "cap-drop-all"])
    assert result.exit_code == 0 and "options:" not in result.stdout
