"""The project configuration (`[tool.harden]` in pyproject.toml, or `.harden.toml`): discovery,
precedence of flags over the file, an observed effect of every key, `harden config`'s sources,
and errors with the file's line.

The registry keys are seen working against a real `docker-registry` on 127.0.0.1 (the recipes
in RECIPES.md §1, through tests/registry/oci_helpers.py), behind the counting proxy for the cache.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from conftest import require
from registry.fake_server import fake_server
from registry.oci_helpers import push_image, running_proxy, start_registry

from harden import configuration, knowledge
from harden.cli import main

SUDO_AND_CHMOD = "FROM alpine:3.20@sha256:" + "1" * 64 + "\nUSER nobody\nRUN sudo ls && chmod 777 /srv\n"
UNKNOWN_APP = "services:\n  app:\n    image: example.org/app:1@sha256:" + "2" * 64 + "\n"


@pytest.fixture(autouse=True)
def _in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / ".cache"))
    yield
    knowledge.use_project({})  # the CliRunner runs in this process: leave no project entry behind


def harden(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write(path: str, text: str) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


def rules_found(*args: str) -> list[tuple[str, str]]:
    """(file, rule) of each finding of `harden check --offline --format json`."""
    _, out, err = harden("check", "--offline", "--format", "json", *args)
    files = json.loads(out)["files"]
    return sorted((f["path"], finding["rule"]) for f in files for finding in f["findings"])


def effective(*args: str) -> dict[str, Any]:
    code, out, err = harden("config", "--format", "json", *args)
    assert code == 0, err
    values: dict[str, Any] = json.loads(out)["values"]
    return values


# -- discovery ---------------------------------------------------------------------------------


def test_the_closest_configuration_wins(tmp_path: Path) -> None:
    write("pyproject.toml", '[tool.harden]\nselect = ["sudo"]\n')
    write("sub/.harden.toml", 'select = ["chmod-777"]\n')
    write("sub/Dockerfile", SUDO_AND_CHMOD)
    assert configuration.find(Path("sub/Dockerfile")) == tmp_path / "sub" / ".harden.toml"
    assert rules_found("sub") == [("sub/Dockerfile", "chmod-777")]
    assert configuration.find(Path(".")) == tmp_path / "pyproject.toml"


def test_harden_toml_comes_before_pyproject_in_one_directory(tmp_path: Path) -> None:
    write("pyproject.toml", '[tool.harden]\nselect = ["sudo"]\n')
    write(".harden.toml", 'select = ["chmod-777"]\n')
    assert configuration.find(tmp_path) == tmp_path / ".harden.toml"
    assert effective(".")["select"] == {"value": ["chmod-777"], "source": ".harden.toml:1"}


def test_a_pyproject_without_the_table_is_skipped(tmp_path: Path) -> None:
    write(".harden.toml", 'ignore = ["sudo"]\n')
    write("app/pyproject.toml", '[project]\nname = "app"  # harden is named, but there is no [tool.harden]\n')
    write("app/Dockerfile", SUDO_AND_CHMOD)
    assert configuration.find(Path("app")) == tmp_path / ".harden.toml"
    assert rules_found("app") == [("app/Dockerfile", "chmod-777")]


def test_nothing_found_leaves_every_default(tmp_path: Path) -> None:
    write("Dockerfile", SUDO_AND_CHMOD)
    assert configuration.find(tmp_path) is None
    code, out, _ = harden("config", ".")
    assert code == 0 and out.startswith("# configuration file: none")
    assert all(value["source"] == "default" for value in effective(".").values())
    assert rules_found(".") == [("Dockerfile", "chmod-777"), ("Dockerfile", "sudo")]


def test_paths_with_other_configurations_are_named_and_the_first_one_is_used() -> None:
    write("a/.harden.toml", 'ignore = ["sudo"]\n')
    write("a/Dockerfile", SUDO_AND_CHMOD)
    write("b/.harden.toml", 'ignore = ["chmod-777"]\n')
    write("b/Dockerfile", SUDO_AND_CHMOD)
    code, _, err = harden("check", "--offline", "a", "b")
    assert code == 1
    assert "harden: b: its closest configuration is" in err and "a/.harden.toml (the first PATH's)" in err
    assert rules_found("a", "b") == [("a/Dockerfile", "chmod-777"), ("b/Dockerfile", "chmod-777")]


# -- precedence: the file, then a flag typed on the command line --------------------------------

FLAGGED = [
    ("select", 'select = ["sudo"]', ["--select", "chmod-777"], ["chmod-777"], "flag --select"),
    ("ignore", 'ignore = ["sudo"]', ["--ignore", "chmod-777"], ["chmod-777", "sudo"], ".harden.toml:1 + flag --ignore"),
    ("unsafe-fixes", "unsafe-fixes = true", ["--no-unsafe-fixes"], False, "flag --no-unsafe-fixes"),
    (
        "registry.mirrors",
        '[registry]\nmirrors = { "docker.io" = "http://127.0.0.1:1" }',
        ["--registry-mirror", "docker.io=http://127.0.0.1:2"],
        {"docker.io": "http://127.0.0.1:2"},
        "flag --registry-mirror",
    ),
    (
        "registry.insecure",
        '[registry]\ninsecure = ["a.test"]',
        ["--insecure-registry", "b.test"],
        ["b.test"],
        "flag --insecure-registry",
    ),
    ("registry.jobs", "[registry]\njobs = 3", ["--jobs", "5"], 5, "flag --jobs"),
    ("registry.cache-ttl", "[registry]\ncache-ttl = 0", ["--cache-ttl", "2"], 2.0, "flag --cache-ttl"),
    ("registry.timeout", "[registry]\ntimeout = 30", ["--timeout", "7"], 7.0, "flag --timeout"),
]


@pytest.mark.parametrize(("key", "line", "flag", "value", "source"), FLAGGED, ids=[f[0] for f in FLAGGED])
def test_a_flag_overrides_the_file(key: str, line: str, flag: list[str], value: Any, source: str) -> None:
    write(".harden.toml", line + "\n")
    from_file = effective(".")[key]
    assert from_file["source"].startswith(".harden.toml:") and from_file["value"] != value
    assert effective(*flag, ".")[key] == {"value": value, "source": source}


def test_select_on_the_command_line_starts_the_selection_over() -> None:
    """As ruff's: the file's select, extend-select and ignore no longer apply."""
    write(".harden.toml", 'select = ["chmod-777"]\nextend-select = ["curl-pipe-shell"]\nignore = ["sudo"]\n')
    write("Dockerfile", SUDO_AND_CHMOD)
    assert rules_found(".") == [("Dockerfile", "chmod-777")]
    assert rules_found("--select", "sudo", ".") == [("Dockerfile", "sudo")]


# -- every key has an effect ---------------------------------------------------------------------


def test_select_ignore_and_extend_select_choose_the_rules() -> None:
    write("Dockerfile", SUDO_AND_CHMOD)
    write(".harden.toml", 'select = ["sudo"]\n')
    assert rules_found(".") == [("Dockerfile", "sudo")]
    write(".harden.toml", 'select = ["sudo"]\nextend-select = ["chmod-777"]\n')
    assert rules_found(".") == [("Dockerfile", "chmod-777"), ("Dockerfile", "sudo")]
    write(".harden.toml", 'ignore = ["sudo"]\n')
    assert rules_found(".") == [("Dockerfile", "chmod-777")]


def test_per_file_ignores_silence_a_rule_in_the_files_they_match_only() -> None:
    write("project/.harden.toml", '[per-file-ignores]\n"legacy/Dockerfile" = ["sudo"]\n')
    write("project/legacy/Dockerfile", SUDO_AND_CHMOD)
    write("project/new/Dockerfile", SUDO_AND_CHMOD)
    assert rules_found("project") == [
        ("project/legacy/Dockerfile", "chmod-777"),
        ("project/new/Dockerfile", "chmod-777"),
        ("project/new/Dockerfile", "sudo"),
    ]


def test_exclude_leaves_files_out_of_the_walk_but_not_a_file_named() -> None:
    write(".harden.toml", 'exclude = ["vendor/"]\n')
    write("vendor/Dockerfile", SUDO_AND_CHMOD)
    write("app/Dockerfile", SUDO_AND_CHMOD)
    assert {path for path, _ in rules_found(".")} == {"app/Dockerfile"}
    assert {path for path, _ in rules_found("vendor/Dockerfile")} == {"vendor/Dockerfile"}


def test_unsafe_fixes_in_the_file_applies_them() -> None:
    write("compose.yaml", UNKNOWN_APP)
    _, before, _ = harden("diff", "--offline", ".")
    assert "+    read_only: true" not in before
    write(".harden.toml", "unsafe-fixes = true\n")
    _, after, _ = harden("diff", "--offline", ".")
    assert "+    read_only: true" in after


def test_a_rule_option_changes_the_fix() -> None:
    write("compose.yaml", UNKNOWN_APP)
    write(".harden.toml", "[rules.resource-limits]\npids = 512\n")
    _, out, _ = harden("diff", "--offline", ".")
    assert "+    pids_limit: 512" in out and "1024" not in out


def test_a_knowledge_override_describes_the_projects_own_image() -> None:
    """Unknown, example.org/app gets no cap_drop by default; described by the project, it gets
    cap_drop ALL with the capability the description names, as a `review` fix with its evidence."""
    write("compose.yaml", UNKNOWN_APP)
    _, before, _ = harden("diff", "--offline", ".")
    assert "+    cap_drop:" not in before.split("diff --git")[-1]
    write(
        ".harden.toml",
        '[images.app]\nrepositories = ["example.org/app"]\nrole = "app"\nevidence = ["docker/entrypoint.sh:3: chown app /data"]\n'
        '[images.app.cap_add]\nCHOWN = "the entrypoint chowns /data"\n',
    )
    _, after, _ = harden("diff", "--offline", ".")
    hunk = after.split("diff --git")[-1]
    assert "+    cap_drop:" in hunk and "CHOWN" in hunk
    assert "cap-drop-all [review]" in after and "evidence: knowledge (app: needs CHOWN)" in after


def test_verified_names_the_records_file() -> None:
    write("compose.yaml", UNKNOWN_APP)
    write(
        "security/records.toml",
        '[[image]]\nreference = "example.org/app:1"\ncap_add = ["SETUID"]\nwritable_paths = ["/run/app"]\nservices = ["app"]\n',
    )
    _, before, _ = harden("diff", "--offline", ".")
    assert "/run/app" not in before
    write(".harden.toml", 'verified = "security/records.toml"\n')
    _, after, _ = harden("diff", "--offline", ".")
    assert "+      - SETUID" in after and "+      - /run/app" in after and "evidence: verified" in after
    assert effective(".")["verified"]["value"] == str(Path.cwd() / "security" / "records.toml")


def test_bot_defaults_are_checked_and_shown() -> None:
    write(".harden.toml", '[bot]\nbranch = "harden/fixes"\nlabels = ["security"]\ndraft = true\n')
    values = effective(".")
    assert values["bot.branch"] == {"value": "harden/fixes", "source": ".harden.toml:2"}
    assert values["bot.draft"]["value"] is True and values["bot.reviewers"]["source"] == "default"


# -- registry settings, against a real registry ---------------------------------------------------


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A docker-registry on 127.0.0.1 with docker.io's python:3.12 (its base URL, the digest)."""
    binary = require("docker-registry") if not os.path.exists("/usr/bin/docker-registry") else "/usr/bin/docker-registry"
    running = start_registry(tmp_path_factory.mktemp("registry"), binary=binary)
    try:
        with httpx.Client(timeout=10) as client:
            digest = push_image(client, running.base, "library/python", "3.12")["digest"]
        yield running.base, digest
    finally:
        running.stop()


def test_the_configured_mirror_is_asked(registry: tuple[str, str]) -> None:
    base, digest = registry
    write("Dockerfile", "FROM python:3.12\nUSER nobody\n")
    write(".harden.toml", f'[registry]\nmirrors = {{ "docker.io" = "{base}" }}\n')
    code, out, err = harden("diff", ".")
    assert f"+FROM python:3.12@{digest}" in out, err


def test_cache_ttl_zero_asks_the_registry_every_run(registry: tuple[str, str]) -> None:
    base, _ = registry
    write("Dockerfile", "FROM python:3.12\nUSER nobody\n")
    with running_proxy(base) as proxy:
        write(".harden.toml", f'[registry]\nmirrors = {{ "docker.io" = "{proxy.base}" }}\n')
        harden("check", ".")
        harden("check", ".")
        assert proxy.manifest_requests() == 1  # the second run used the cache
        write(".harden.toml", f'[registry]\nmirrors = {{ "docker.io" = "{proxy.base}" }}\ncache-ttl = 0\n')
        harden("check", ".")
        assert proxy.manifest_requests() == 2


def test_the_configured_timeout_bounds_the_run() -> None:
    write("Dockerfile", "FROM alpine:3.20\nUSER nobody\n")
    with fake_server(lambda exchange: exchange.hang()) as fake:
        write(".harden.toml", f'[registry]\nmirrors = {{ "docker.io" = "{fake.base}" }}\ntimeout = 1\n')
        code, _, err = harden("check", ".")
    assert code == 1 and "within the run's 1 s (--timeout)" in err


def test_jobs_and_insecure_reach_the_settings() -> None:
    from harden.cli.options import configured

    write(".harden.toml", '[registry]\njobs = 3\ninsecure = ["registry.internal:5000"]\n')
    settings, _, _ = configured({"paths": (".",)})
    assert settings.jobs == 3 and settings.insecure == ("registry.internal:5000",)


# -- errors: path:line: message, exit 2, nothing written ------------------------------------------

BAD = [
    ("unknown key", '[tool.harden]\nselect = ["sudo"]\nselct = ["sudo"]\n', "pyproject.toml:3: unknown key 'selct'"),
    ("bad type", "[tool.harden]\n\nunsafe-fixes = 1\n", "pyproject.toml:3: unsafe-fixes must be true or false, not 1"),
    (
        "unknown rule",
        '[tool.harden]\nignore = [\n  "sudo",\n  "no-such-rule",\n]\n',
        "pyproject.toml:4: unknown rule 'no-such-rule'",
    ),
    ("unknown rule in rules", "[tool.harden.rules.nope]\nx = 1\n", "pyproject.toml:1: unknown rule 'nope' in [rules]"),
    (
        "unknown option",
        "[tool.harden]\n[tool.harden.rules.resource-limits]\npid = 5\n",
        "pyproject.toml:3: rules.resource-limits: no option 'pid'",
    ),
    (
        "bad option value",
        "[tool.harden.rules.resource-limits]\npids = true\n",
        "pyproject.toml:2: rules.resource-limits: option pids must be an integer",
    ),
    (
        "bad registry",
        "[tool.harden.registry]\njobs = 0\n",
        "pyproject.toml:2: registry.jobs must be an integer from 1 to 64, not 0",
    ),
    (
        "bad image field",
        '[tool.harden.images.app]\nrepositories = ["a/b"]\nevidence = ["x"]\ncap-add = {}\n',
        "pyproject.toml:4: images.app.cap-add: unknown field",
    ),
    ("bad toml", "[tool.harden]\nselect = [\n", "pyproject.toml:2: not valid TOML"),
]


@pytest.mark.parametrize(("text", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_bad_configuration_is_an_error_with_its_line(text: str, message: str) -> None:
    write("pyproject.toml", text)
    original = write("Dockerfile", SUDO_AND_CHMOD).read_bytes()
    code, out, err = harden("fix", "--offline", ".")
    assert code == 2 and out == ""
    assert err.startswith(message), err
    assert Path("Dockerfile").read_bytes() == original
    code, _, err = harden("config", ".")
    assert code == 2 and err.startswith(message)


def test_a_mirror_credential_is_never_printed() -> None:
    write(".harden.toml", '[registry]\nmirrors = { "docker.io" = "https://alice:s3cret@mirror.test" }\n')
    code, out, _ = harden("config", ".")
    assert code == 0 and "https://***@mirror.test" in out and "s3cret" not in out
    write(".harden.toml", '[registry]\nmirrors = { "docker.io" = "ftp://alice:s3cret@mirror.test" }\n')
    code, _, err = harden("config", ".")
    assert code == 2 and ".harden.toml:2: the mirror of docker.io must be an http:// or https:// URL" in err
    assert "s3cret" not in err
