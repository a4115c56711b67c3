"""env-secrets (harden/passes/compose/env_secrets.py): which values are credentials, that no
value reaches any output but the diff's own removed and context lines (and not even those with
--redact), that every moved value is found again in its secret file or its environment source,
that Docker Compose accepts every output, that a second run changes nothing, and how the
`.gitignore` is created or extended."""

from __future__ import annotations

import json
import re
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from compose_oracle import accepts_all
from conftest import ROOT
from ruamel.yaml import YAML

from harden.cli import main
from harden.passes.compose.credentials import judge

FIXTURES = sorted((ROOT / "fixtures" / "env-secrets").glob("*/input.yaml"))
# every credential value written in the fixtures (read from the inputs below, checked to be there)
VALUES = ("example-password", "wp-Pa55word", "Xk3v-9pLq", "ghp_0123456789abcdefghijABCDEFGHIJ012345", "anchored-pw")
VALUES += ("AKIAIOSFODNN7EXAMPLE", "change-me")


def unwrapped(text: str) -> str:
    """Commentary lines joined where they were wrapped."""
    return re.sub(r"\n#\s+", " ", text)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [args[0], "--offline", "--select", "env-secrets", *args[1:]], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("name", "value", "kind"),
    [
        ("POSTGRES_PASSWORD", "hunter2", "literal"),
        ("DB_PASSWD", "x1", "literal"),
        ("STRIPE_API_KEY", "abc", "literal"),
        ("AWS_SECRET_ACCESS_KEY", "abc", "literal"),
        ("SIGNING_KEY", "abc", "literal"),
        ("GITHUB_TOKEN", "${GH_TOKEN}", "variable"),
        ("GITHUB_TOKEN", "$GH_TOKEN", "variable"),
        ("GITHUB_TOKEN", "${GH_TOKEN:?set it}", "variable"),
        ("GITHUB_TOKEN", "${GH_TOKEN:-default}", "defaulted"),
        ("GITHUB_TOKEN", "pre-${GH_TOKEN}", "mixed"),
        ("DATABASE_URL", "mysql://root:pw@db:3306/x", "url"),
        ("UPSTREAM", "AKIAIOSFODNN7EXAMPLE", "literal"),  # by value: an AWS key id
        ("UPSTREAM", "-----BEGIN RSA PRIVATE KEY-----", "literal"),  # by value: a private key
        ("SEED", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "literal"),  # by value: hex entropy
    ],
)
def test_credentials_by_name_by_value_and_as_variables(name: str, value: str, kind: str) -> None:
    verdict = judge(name, value)
    assert verdict is not None and verdict.kind == kind


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MYSQL_RANDOM_ROOT_PASSWORD", "yes"),
        ("MYSQL_ALLOW_EMPTY_PASSWORD", "true"),
        ("MYSQL_ALLOW_EMPTY_PASSWORD", "1"),
        ("POSTGRES_PASSWORD_FILE", "/run/secrets/x"),
        ("DATABASE_PASSWORD", "/run/secrets/db-password"),
        ("POSTGRES_HOST_AUTH_METHOD", "trust"),
        ("POSTGRES_PASSWORD", ""),
        ("POSTGRES_PASSWORD", None),
        ("TOKEN_TTL", "3600"),
        ("LOG_LEVEL", "debug"),
        ("DATABASE_URL", "postgres://api@db:5432/api"),
        ("DATABASE_URL", "postgres://api:${PW}@db:5432/api"),
        ("IMAGE", "nginx:1.25-alpine"),
        ("OTHER", "${SOMETHING}"),
    ],
)
def test_not_credentials(name: str, value: str | None) -> None:
    assert judge(name, value) is None


def test_every_fixture_value_is_in_a_fixture() -> None:
    text = "".join(path.read_text() for path in FIXTURES)
    assert all(value in text for value in VALUES)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.parent.name for p in FIXTURES])
def test_no_value_is_printed(path: Path, tmp_path: Path) -> None:
    """`check --format json`, the text report, the commentary and `diff --redact` (text and JSON)
    hold no value; the plain diff shows values only in the lines of the file as it is (removed
    and context lines), never in an added line."""
    shutil.copy(path, tmp_path / "compose.yaml")
    target = str(tmp_path / "compose.yaml")
    outputs = [
        invoke("check", "--format", "json", target)[1],
        invoke("check", target)[1],
        invoke("diff", "--redact", target)[1],
        invoke("diff", "--redact", "--format", "json", target)[1],
        invoke("fix", "--format", "json", "--output", str(tmp_path / "out"), target)[1],
    ]
    code, plain, _ = invoke("diff", target)
    assert code == 1
    commentary = [line for line in plain.splitlines() if line.startswith("#")]
    added = [line for line in plain.splitlines() if line.startswith("+")]
    for value in VALUES:
        assert all(value not in text for text in [*outputs, *commentary, *added]), value
    assert "diff --git" in outputs[2] or not added


def test_the_diff_shows_removed_lines_and_redact_masks_them(tmp_path: Path) -> None:
    shutil.copy(ROOT / "fixtures/env-secrets/literal-and-variable/input.yaml", tmp_path / "compose.yaml")
    plain = invoke("diff", str(tmp_path / "compose.yaml"))[1]
    redacted = invoke("diff", "--redact", str(tmp_path / "compose.yaml"))[1]
    assert "-      POSTGRES_PASSWORD: example-password\n" in plain
    assert "-      POSTGRES_PASSWORD: ***\n" in redacted and "example-password" not in redacted
    assert "secrets/postgres_password (mode 0644; it holds a secret value, not shown here" in unwrapped(plain)
    assert "diff --git a/" + str(tmp_path / "secrets") not in plain  # the secret file is never in the diff


def _moved(output: Path) -> dict[str, str]:
    """What each secret of an output holds: a secret file's text, or `$VAR` for an environment secret."""
    data = YAML(typ="safe").load(output.read_text())
    found = {}
    for name, definition in (data.get("secrets") or {}).items():
        if "file" in definition and definition["file"].startswith("./secrets/"):
            found[name] = (output.parent / definition["file"]).read_text()
        elif "environment" in definition:
            found[name] = "$" + definition["environment"]
    return found


@pytest.mark.parametrize("path", FIXTURES, ids=[p.parent.name for p in FIXTURES])
def test_nothing_is_lost_compose_accepts_it_and_a_second_run_changes_nothing(path: Path, tmp_path: Path) -> None:
    project = tmp_path / "in"
    project.mkdir()
    shutil.copy(path, project / "compose.yaml")
    code, _, err = invoke("fix", str(project))
    assert code in (0, 1) and "Error" not in err, err
    before = YAML(typ="safe").load(path.read_text())
    after = YAML(typ="safe").load((project / "compose.yaml").read_text())
    moved = _moved(project / "compose.yaml")
    for service, old in before["services"].items():
        old_env = _environment(old.get("environment"))
        new_env = _environment(after["services"][service].get("environment"))
        for name, value in old_env.items():
            if name in new_env:
                assert new_env[name] == value
                continue
            secret = new_env[f"{name}_FILE"].removeprefix("/run/secrets/")
            assert secret in after["services"][service]["secrets"]
            variable = re.fullmatch(r"\$\{?(\w+)(:\?[^}]*)?\}?", value or "")
            assert moved[secret] == (f"${variable.group(1)}" if variable else value), name
    for name in (n for n, v in moved.items() if not v.startswith("$")):
        assert stat.S_IMODE((project / "secrets" / name).stat().st_mode) == 0o644
        assert stat.S_IMODE((project / "secrets").stat().st_mode) == 0o700  # keeps the host's other users out
    if any(not v.startswith("$") for v in moved.values()):
        assert (project / ".gitignore").read_text() == "secrets/\n"
    [(ok, message)] = accepts_all([(project / "compose.yaml",)])
    assert ok, message
    text = (project / "compose.yaml").read_bytes()
    assert invoke("fix", str(project))[0] in (0, 1) and (project / "compose.yaml").read_bytes() == text


def _environment(value: object) -> dict[str, str | None]:
    from harden.compose import environment

    return environment(value)


LITERAL = "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: pw-4Kq9\n"


def test_an_existing_gitignore_is_extended_once(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(LITERAL)
    (tmp_path / ".gitignore").write_text("*.log")  # no final newline
    code, out, _ = invoke("diff", str(tmp_path / "compose.yaml"))
    assert code == 1 and "(an existing file, changed: shown below)" in unwrapped(out)
    assert "--- a/" + str(tmp_path / ".gitignore") in out and "-*.log\n\\ No newline at end of file\n+*.log\n+secrets/\n" in out
    assert invoke("fix", str(tmp_path / "compose.yaml"))[0] == 0
    assert (tmp_path / ".gitignore").read_text() == "*.log\nsecrets/\n"
    assert (tmp_path / "secrets" / "postgres_password").read_text() == "pw-4Kq9"


def test_a_gitignore_that_ignores_the_secrets_already_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(LITERAL)
    (tmp_path / ".gitignore").write_text("/secrets\n")
    assert invoke("fix", str(tmp_path / "compose.yaml"))[0] == 0
    assert (tmp_path / ".gitignore").read_text() == "/secrets\n"
    assert (tmp_path / "secrets" / "postgres_password").read_text() == "pw-4Kq9"


def test_an_existing_secret_file_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(LITERAL)
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "postgres_password").write_text("other")
    code, _, err = invoke("fix", str(tmp_path / "compose.yaml"))
    assert code == 2 and "creates secrets/postgres_password, which exists already" in err and "pw-4Kq9" not in err
    assert (tmp_path / "compose.yaml").read_text() == LITERAL and not (tmp_path / ".gitignore").exists()


def test_fix_output_writes_the_secret_files_under_the_output(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "compose.yaml").write_text(LITERAL)
    (tmp_path / "in" / ".gitignore").write_text("*.log\n")
    code, out, _ = invoke("fix", "--format", "json", "--output", str(tmp_path / "out"), str(tmp_path / "in"))
    assert code == 0 and "pw-4Kq9" not in out
    assert (tmp_path / "out" / "secrets" / "postgres_password").read_text() == "pw-4Kq9"
    assert (tmp_path / "out" / ".gitignore").read_text() == "*.log\nsecrets/\n"
    assert (tmp_path / "in" / ".gitignore").read_text() == "*.log\n" and not (tmp_path / "in" / "secrets").exists()
    assert json.loads(out)["files"][0]["new_files"]


def test_the_corpus_credentials_are_moved_or_reported_and_never_printed(corpus: Path, tmp_path: Path) -> None:
    """Over ../shared/corpus: after `fix --output`, what env-secrets still reports is what harden
    has no `*_FILE` evidence for (each named here, read from the files), and no credential value
    found by `check` appears in its JSON."""
    code, before, _ = invoke("check", "--format", "json", str(corpus))
    found = [(e["path"], f) for e in json.loads(before)["files"] for f in e["findings"]]
    moved = [f for _, f in found if f["fix"] and f["fix"]["applicability"] != "display"]
    assert code == 1 and len(moved) >= 10 and all(f["fix"]["applicability"] == "review" for f in moved)
    # the corpus' values that are not also a service's or an image's name (gitea, wordpress, grafana, nextcloud are)
    assert not any(v in before for v in ("mysecretpassword", "whalehello", "somewordpress", "example_123"))
    out = tmp_path / "out"
    assert invoke("fix", "--output", str(out), str(corpus))[0] in (0, 1)
    after = json.loads(invoke("check", "--format", "json", str(out))[1])["files"]
    left = sorted(f"{Path(e['path']).parent.name} {f['subject']} {f['message'].split()[0]}" for e in after for f in e["findings"])
    assert left == [
        "aspnet-mssql db SA_PASSWORD",  # azure-sql-edge reads no SA_PASSWORD_FILE
        "react-rust-postgres backend PG_PASSWORD",  # built from the project's own Dockerfile
        "wasmedge-kafka-mysql etl DATABASE_URL",  # a URL with a password: the application builds it
        "wasmedge-mysql-nginx backend DATABASE_URL",
    ]


@pytest.mark.parametrize("name", ["TOKEN_URL", "GPG_KEY", "PUBLIC_KEY", "API_KEY_ID", "AUTH_METHOD"])
def test_names_that_hold_something_else_than_a_credential_are_not_moved(name: str) -> None:
    """The rule shared with build-secrets (harden.credentials): the last word, or a public one, says
    what the value is."""
    from harden.passes.compose.credentials import judge

    assert judge(name, "A035C8C19219BA821ECEA86B64E628F8D684696D-https://auth.example/x") is None


def test_a_credential_word_inside_a_longer_word_is_a_credential_name() -> None:
    """pi-hole's WEBPASSWORD (awesome-compose's pihole-cloudflared-DoH); AUTHOR is no AUTH."""
    from harden.credentials import credential_name

    assert credential_name("WEBPASSWORD") and credential_name("DBPASSWD") and not credential_name("AUTHOR")


UNKNOWN = "services:\n  app:\n    image: example.org/shop:2.1\n    environment:\n      LOG_LEVEL: info\n"
UNKNOWN += "      API_TOKEN: tok-7Hq2\n"


@pytest.mark.parametrize("unsafe", [False, True])
def test_a_credential_of_an_image_harden_does_not_know_gets_a_display_fix_never_applied(tmp_path: Path, unsafe: bool) -> None:
    """The display fix: shown by `diff` (what it would change, the value masked), listed by
    `check` as a display fix, never applied, not even with --unsafe-fixes."""
    (tmp_path / "compose.yaml").write_text(UNKNOWN)
    code, out, _ = invoke("diff", str(tmp_path / "compose.yaml"))
    text = unwrapped(out)
    assert code == 1 and "tok-7Hq2" not in out
    assert "env-secrets [display]" in text and "the display fix of API_TOKEN would change:" in text
    assert "#  -      API_TOKEN: ***" in out.replace("#       -", "#  -") and "#       +    secrets:" in out
    assert "#       +  api_token:\n#       +    file: ./secrets/api_token\n" in out
    assert "and create secrets/api_token (mode 0644; it would hold the value)" in text
    assert "diff --git" not in out  # nothing is applied
    assert "[display fix]" in invoke("check", str(tmp_path / "compose.yaml"))[1]
    report = json.loads(invoke("diff", "--format", "json", str(tmp_path / "compose.yaml"))[1])
    [finding] = report["files"][0]["findings"]
    assert finding["fix"]["applicability"] == "display" and finding["fix"]["edits"] and not finding["applied"]
    assert invoke("fix", *(["--unsafe-fixes"] if unsafe else []), str(tmp_path / "compose.yaml"))[0] == 1
    assert (tmp_path / "compose.yaml").read_text() == UNKNOWN
    assert not (tmp_path / "secrets").exists() and not (tmp_path / ".gitignore").exists()


def test_a_display_fix_of_a_value_another_fix_moves_uses_that_secret(tmp_path: Path) -> None:
    """url-and-unknown-image's shape: the unknown image's copy of the postgres password is given
    the secret the review fix defines; the display fix defines nothing of its own."""
    text = LITERAL + "  app:\n    image: example.org/shop:2.1\n    environment:\n      - DB_PASSWORD=pw-4Kq9\n"
    (tmp_path / "compose.yaml").write_text(text)
    out = unwrapped(invoke("diff", str(tmp_path / "compose.yaml"))[1])
    assert "move it to secret postgres_password, defined by the fix of the same value, remove DB_PASSWORD" in out
    proposed = "#       -    environment:\n#       -      - DB_PASSWORD=***\n"
    proposed += "#       +    secrets:\n#       +      - postgres_password"
    assert proposed in invoke("diff", str(tmp_path / "compose.yaml"))[1]
    commentary = out.split("diff --git")[0]
    assert "and create" not in commentary and "pw-4Kq9" not in commentary


ENTRYPOINT = ROOT / "fixtures" / "env-secrets" / "entrypoint-script"


def test_a_variable_the_projects_entrypoint_script_reads_as_file_is_moved_with_build_evidence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`file_env 'PG_PASSWORD'` (the official images' helper) and a literal SESSION_SECRET_FILE
    in the script the Dockerfile's ENTRYPOINT runs: review fixes with the script's path:line;
    MAIL_PASSWORD, which the script names only in a comment, keeps its display fix."""
    monkeypatch.chdir(tmp_path)  # short relative paths: the commentary wraps at spaces only
    project = Path("project")
    shutil.copytree(ENTRYPOINT, project)
    (project / "expected.yaml").unlink()
    out = unwrapped(invoke("diff", str(project))[1])
    script = "project/backend/docker-entrypoint.sh"
    assert f"evidence: build ({script}:15 reads PG_PASSWORD_FILE); knowledge (postgres: reads POSTGRES_PASSWORD_FILE)" in out
    assert f"evidence: build ({script}:16 reads SESSION_SECRET_FILE)" in out
    assert (
        "env-secrets [display] (OWASP rule 12) MAIL_PASSWORD holds a credential" in out
        and "Rq8-pg-Secret" not in out.split("diff --git")[0]
    )
    assert invoke("fix", str(project))[0] == 1
    assert (project / "compose.yaml").read_text() == (ENTRYPOINT / "expected.yaml").read_text()
    assert (project / "secrets" / "pg_password").read_text() == "Rq8-pg-Secret"
    [(ok, message)] = accepts_all([(project / "compose.yaml",)])
    assert ok, message


@pytest.mark.parametrize("override", ["command: [backend, --verbose]", "entrypoint: [/usr/local/bin/backend]"])
def test_a_service_that_replaces_how_its_image_starts_gets_no_script_evidence(tmp_path: Path, override: str) -> None:
    """With `command:` or `entrypoint:` set, the script may not run: no evidence, display fixes."""
    project = tmp_path / "project"
    shutil.copytree(ENTRYPOINT, project)
    compose = project / "compose.yaml"
    compose.write_text(compose.read_text().replace("    build: backend\n", f"    build: backend\n    {override}\n"))
    out = unwrapped(invoke("diff", str(project))[1])
    assert "reads PG_PASSWORD_FILE" not in out and "reads SESSION_SECRET_FILE" not in out
    assert "the display fix of PG_PASSWORD would change" in out and "the display fix of SESSION_SECRET would change" in out


ENV_FILE = ROOT / "fixtures" / "env-secrets" / "env-file"


def test_a_credential_in_an_env_file_is_moved_out_of_the_file_and_nothing_is_lost(tmp_path: Path) -> None:
    """db.env loses its POSTGRES_PASSWORD line (the diff shows it), the value is in the secret
    file, db gets POSTGRES_PASSWORD_FILE; app's API_TOKEN (an image harden does not know) gets a
    display fix that shows app.env's change masked; shared.env, read by two services, is
    reported with the change to make by hand. No value in the commentary or the JSON."""
    project = tmp_path / "project"
    shutil.copytree(ENV_FILE, project)
    for name in ("expected.yaml", "expected-db.env"):
        (project / name).unlink()
    code, out, _ = invoke("diff", str(project))
    commentary = unwrapped(out.split("diff --git")[0])
    assert code == 1 and all(v not in commentary for v in ("envfile-Pw-9", "tok-Zz81", "queue-Pw-4"))
    assert f"db: POSTGRES_PASSWORD ({project / 'db.env'}:3) -> POSTGRES_PASSWORD_FILE" in commentary
    assert f"new file: {project / 'db.env'} (an existing file, changed: shown below)" in commentary
    assert " POSTGRES_USER=app\n-POSTGRES_PASSWORD=envfile-Pw-9\n POSTGRES_DB=app\n" in out
    assert "and change app.env\n#       @@ -1,2 +1 @@\n#       -API_TOKEN=***\n#        MODE=prod\n" in out
    assert (
        "harden does not move it: cron also reads shared.env; by hand: remove the line from" in invoke("check", str(project))[1]
    )
    report = invoke("check", "--format", "json", str(project))[1]
    assert all(v not in report for v in ("envfile-Pw-9", "tok-Zz81", "queue-Pw-4"))
    code, fixed, _ = invoke("fix", str(project))
    assert code == 1 and "POSTGRES_PASSWORD" not in fixed  # the round after the move sees db.env without the line
    assert (project / "compose.yaml").read_text() == (ENV_FILE / "expected.yaml").read_text()
    assert (project / "db.env").read_text() == (ENV_FILE / "expected-db.env").read_text()
    assert (project / "secrets" / "postgres_password").read_text() == "envfile-Pw-9"
    assert (project / "app.env").read_text() == (ENV_FILE / "app.env").read_text()
    assert (project / "shared.env").read_text() == (ENV_FILE / "shared.env").read_text()
    [(ok, message)] = accepts_all([(project / "compose.yaml",)])
    assert ok, message
    again = invoke("fix", str(project))
    assert again[0] == 1 and "POSTGRES_PASSWORD" not in again[1]  # only app's and the shared file's are left
    assert (project / "compose.yaml").read_text() == (ENV_FILE / "expected.yaml").read_text()


def test_fix_output_writes_the_changed_env_file_under_the_output(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(ENV_FILE, project)
    assert invoke("fix", "--output", str(tmp_path / "out"), str(project / "compose.yaml"))[0] == 1
    assert (tmp_path / "out" / "db.env").read_text() == (ENV_FILE / "expected-db.env").read_text()
    assert (tmp_path / "out" / "secrets" / "postgres_password").read_text() == "envfile-Pw-9"
    assert (project / "db.env").read_text() == (ENV_FILE / "db.env").read_text()


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("POSTGRES_PASSWORD=${PG_PW}\n", "its value uses a variable"),
        ("POSTGRES_PASSWORD=envfile-Pw-9\nPOSTGRES_PASSWORD=envfile-Pw-9\n", "is set on more than one line"),
    ],
)
def test_an_env_file_credential_harden_cannot_move_as_written_is_reported(tmp_path: Path, line: str, why: str) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  db:\n    image: postgres:16\n    env_file: db.env\n")
    (tmp_path / "db.env").write_text(line)
    code, out, _ = invoke("check", str(tmp_path / "compose.yaml"))
    assert code == 1 and why in out and "by hand: remove the line from" in out and "envfile-Pw-9" not in out
    assert invoke("fix", str(tmp_path / "compose.yaml"))[0] == 1 and (tmp_path / "db.env").read_text() == line


def test_gitea_db_passwd_becomes_the_environment_to_ini_file_form_on_gitea_1_20_and_later(tmp_path: Path) -> None:
    """gitea's setup reads DB_PASSWD only when it creates app.ini, and environment-to-ini applies
    GITEA__database__PASSWD__FILE on every start (1.20+): a review fix; before 1.20, display."""
    compose = tmp_path / "compose.yaml"
    for tag, moved in (("latest", True), ("1.21-rootless", True), ("1.19", False), ("1.19.3-rootless", False)):
        compose.write_text(f"services:\n  gitea:\n    image: gitea/gitea:{tag}\n    environment:\n      - DB_PASSWD=gitea-Pw-2\n")
        out = unwrapped(invoke("diff", str(compose))[1])
        assert ("gitea: DB_PASSWD -> GITEA__database__PASSWD__FILE" in out) == moved, tag
        assert ("env-secrets [display]" in out) != moved, tag


def test_two_credentials_that_become_one_file_variable_are_not_both_moved(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    text = "services:\n  gitea:\n    image: gitea/gitea:1.22\n    environment:\n      - DB_PASSWD=a-Pw-1\n"
    compose.write_text(text + "      - GITEA__database__PASSWD=b-Pw-2\n")
    out = invoke("check", str(compose))[1]
    assert "GITEA__database__PASSWD holds a credential (by name); harden does not move it: DB_PASSWD also becomes" in out
    assert invoke("fix", str(compose))[0] == 1
    assert YAML(typ="safe").load(compose.read_text())["services"]["gitea"]["environment"] == [
        "GITEA__database__PASSWD__FILE=/run/secrets/db_passwd",
        "GITEA__database__PASSWD=b-Pw-2",
    ]
