"""build-secrets (issue 12, item 4): credentials in ENV/ARG and credential files copied into the
image are reported without their values; an ARG used by one RUN becomes a secret mount that
BuildKit's parser reads as one and a POSIX shell runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dockerfile
import pytest

from harden import engine
from harden.config import Settings
from harden.dockerfile import parse, validate_output
from harden.model import Applicability, FileResult
from harden.passes.dockerfile.build_secrets import credential_name, credential_value

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "build-secrets"


def run(text: str, unsafe: bool = False) -> FileResult:
    settings = Settings(select=frozenset({"build-secrets"}), offline=True, unsafe_fixes=unsafe)
    return engine.run_text("Dockerfile", "dockerfile", text.encode(), settings)


def abouts(text: str) -> list[str]:
    result = run(text)
    assert result.errors == []
    return [f.about for f in result.findings]


@pytest.mark.parametrize(
    "name",
    ["DB_PASSWORD", "MYSQL_ROOT_PASSWD", "client_secret", "GITHUB_TOKEN", "SSH_KEY", "SECRET_KEY_BASE", "API_KEY", "X_APIKEY"]
    + ["AWS_SECRET_ACCESS_KEY", "GOOGLE_CREDENTIALS", "NPM_AUTH_TOKEN", "PRIVATE_KEY", "AUTH"],
)
def test_credential_names(name: str) -> None:
    assert credential_name(name)


@pytest.mark.parametrize(
    "name",
    ["PASSWORD_FILE", "TOKEN_URL", "SECRET_PATH", "API_KEY_ID", "GPG_KEY", "PUBLIC_KEY", "SSH_PUB_KEY", "KEY", "MONKEY"]
    + ["TOKENIZER", "USERNAME", "PWD", "AUTHOR", "AUTH_METHOD", "NODE_VERSION", "PATH"],
)
def test_not_credential_names(name: str) -> None:
    assert not credential_name(name)


@pytest.mark.parametrize(
    "value",
    [
        "ghp_0123456789abcdefghijABCDEFGHIJ0123456789",
        "AKIAIOSFODNN7EXAMPLE",
        "glpat-abcdefghij0123456789",
        "xoxb-123456789012-abcdefghij",
        "npm_0123456789abcdefghijABCDEFGHIJ012345",
        "postgres://app:s3cret@db:5432/app",
        "-----BEGIN OPENSSH PRIVATE KEY-----",
    ],
)
def test_credential_values(value: str) -> None:
    assert credential_value(value)


@pytest.mark.parametrize(
    "value",
    [
        "A035C8C19219BA821ECEA86B64E628F8D684696D",  # a GPG fingerprint: long and random-looking, and public
        "postgres://app:${DB_PASSWORD}@db/app",
        "postgres://db:5432/app",
        "https://example.com/token",
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ],
)
def test_not_credential_values(value: str) -> None:
    assert not credential_value(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM a\nENV DB_PASSWORD=x\n", ["stage 0: ENV DB_PASSWORD"]),
        ("FROM a\nENV DB_PASSWORD x y\n", ["stage 0: ENV DB_PASSWORD"]),  # the legacy form
        ("FROM a\nENV A=1 API_KEY=${API_KEY}\n", ["stage 0: ENV API_KEY"]),
        ("FROM a\nARG TOKEN\n", ["stage 0: ARG TOKEN"]),
        ('FROM a\nARG TOKEN=""\n', ["stage 0: ARG TOKEN"]),
        ("FROM a\nENV GIT=ghp_0123456789abcdefghijABCDEFGHIJ0123456789\n", ["stage 0: ENV GIT"]),  # by value
        ("ARG SECRET=abc\nFROM a\n", ["stage global: ARG SECRET"]),
        (
            "FROM a\nENV TOKEN=1\nFROM b\nENV TOKEN=2\nENV TOKEN=3\n",
            ["stage 0: ENV TOKEN", "stage 1: ENV TOKEN", "stage 1: ENV TOKEN (2)"],
        ),
        ("FROM a\nCOPY .env /app/\n", ["stage 0: COPY .env"]),
        ("FROM a\nADD .env.production /app/\n", ["stage 0: ADD .env.production"]),
        ("FROM a\nCOPY ./home/.ssh/id_rsa /root/.ssh/\n", ["stage 0: COPY ./home/.ssh/id_rsa"]),
        (
            "FROM a\nCOPY id_ed25519 tls/server.key key.pem /k/\n",
            ["stage 0: COPY id_ed25519", "stage 0: COPY tls/server.key", "stage 0: COPY key.pem"],
        ),
        ('FROM a\nCOPY [".npmrc", ".netrc", "/root/"]\n', ["stage 0: COPY .npmrc", "stage 0: COPY .netrc"]),
        ("FROM a\nCOPY .pypirc .git-credentials /root/\n", ["stage 0: COPY .pypirc", "stage 0: COPY .git-credentials"]),
        ("FROM a\nCOPY .docker/config.json /root/.docker/\n", ["stage 0: COPY .docker/config.json"]),
    ],
)
def test_each_finding_form(text: str, expected: list[str]) -> None:
    assert abouts(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "FROM a\nARG PASSWORD_FILE=/run/secrets/x\n",
        "FROM a\nENV TOKEN_URL=https://auth.example.com/token\n",
        "FROM a\nCOPY .env.example .env.sample .env.template /app/\n",
        "FROM a\nENV DB_PASSWORD=\n",  # an empty ENV holds nothing
        "ARG GITHUB_TOKEN\nFROM a\n",  # a global ARG without a default reaches FROM only
        "FROM a\nENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D PUBLIC_KEY=x\n",
        "FROM a\nCOPY certs/ca.pem fullchain.pem cert.pem /etc/ssl/\n",
        "FROM a AS b\nFROM c\nCOPY --from=b /root/.ssh/id_rsa /x\n",  # from a stage, not the build context
        "FROM a\nCOPY ${KEY_FILE} /x\nCOPY . /app\n",
        "FROM a\nRUN echo $DB_PASSWORD\n",
    ],
)
def test_false_positives(text: str) -> None:
    assert abouts(text) == []


def test_official_python_images_are_not_reported(corpus: Path) -> None:
    """They set ENV GPG_KEY to the release key's fingerprint: public, and long."""
    paths = [p for p in sorted((corpus / "official" / "python").rglob("Dockerfile")) if b"ENV GPG_KEY" in p.read_bytes()]
    assert len(paths) >= 10
    for path in paths:
        settings = Settings(select=frozenset({"build-secrets"}), offline=True)
        assert engine.run_text(str(path), "dockerfile", path.read_bytes(), settings).findings == [], path


SECRETS = ("hunter2", "s3cret", "ghp_0123456789abcdefghijABCDEFGHIJ0123456789", "topsecretvalue")


def test_no_value_in_messages_ids_or_json() -> None:
    text = (
        "ARG SECRET=topsecretvalue\nFROM a\nENV API_TOKEN=hunter2\nENV DATABASE_URL=postgres://app:s3cret@db/app\n"
        "ARG DEPLOY=ghp_0123456789abcdefghijABCDEFGHIJ0123456789\n"
    )
    result = run(text)
    assert len(result.findings) == 4
    for finding in result.findings:
        shown = " ".join([finding.message, finding.about, finding.rationale])
        assert not any(secret in shown for secret in SECRETS), shown
        assert "=***" in finding.message
    for fixture in sorted(d for d in FIXTURES.iterdir() if (d / "input.Dockerfile").is_file()):
        for arguments in (["check", "--format", "json"], ["check"], ["diff", "--unsafe-fixes"]):
            out = subprocess.run(
                [sys.executable, "-m", "harden", *arguments, "--select", "build-secrets", str(fixture / "input.Dockerfile")],
                capture_output=True,
                text=True,
            )
            assert out.returncode == 1 and "build-secrets" in out.stdout, out.stderr
            commentary = [line for line in out.stdout.splitlines() if not line.startswith((" ", "-", "+", "@"))]
            assert not any(secret in line for secret in SECRETS for line in [*commentary, out.stderr]), arguments


NPM = 'FROM node:22\nARG NPM_TOKEN\nRUN --mount=type=cache,target=/root/.npm \\\n    echo "token=${NPM_TOKEN}" > /tmp/npmrc\n'


def test_the_rewritten_run_is_a_secret_mount_for_buildkit() -> None:
    result = run(NPM, unsafe=True)
    assert [f.applicability for f in result.findings] == [Applicability.UNSAFE]
    assert result.errors == [] and result.applied
    commands = dockerfile.parse_string(result.output)
    assert [c.cmd.upper() for c in commands] == ["FROM", "RUN"]  # the ARG is gone
    run_command = commands[1]
    assert run_command.flags == ("--mount=type=secret,id=npm_token", "--mount=type=cache,target=/root/.npm")
    assert run_command.value[0].startswith('export NPM_TOKEN="$(cat /run/secrets/npm_token)" && echo')
    assert run(result.output, unsafe=True).output == result.output  # nothing left to fix


def test_the_rewritten_command_reads_the_secret_in_a_posix_shell(tmp_path: Path) -> None:
    """What BuildKit hands to /bin/sh -c, with the secret mount's directory replaced by a temporary one."""
    output = run(NPM, unsafe=True).output
    command = dockerfile.parse_string(output)[1].value[0]
    (tmp_path / "npm_token").write_text("the-value\n")
    script = command.replace("/run/secrets/", f"{tmp_path}/").replace("/tmp/npmrc", str(tmp_path / "npmrc"))
    subprocess.run(["sh", "-c", script], check=True, env={"PATH": "/usr/bin:/bin"})
    assert (tmp_path / "npmrc").read_text() == "token=the-value\n"


@pytest.mark.parametrize(
    "text",
    [
        "FROM a\nARG TOKEN\nRUN use $TOKEN\nRUN again ${TOKEN}\n",  # two RUNs
        "FROM a\nARG TOKEN\nENV T=$TOKEN\nRUN use $TOKEN\n",  # an ENV too
        "FROM a\nARG TOKEN\nRUN npm ci\n",  # no RUN names it: one may read it from its environment
        'FROM a\nARG TOKEN\nRUN ["sh", "-c", "use $TOKEN"]\n',  # exec form
        "FROM a\nARG TOKEN\nRUN <<EOF\nuse $TOKEN\nEOF\n",  # a heredoc
        'FROM a\nSHELL ["powershell", "-Command"]\nARG TOKEN\nRUN use $env:TOKEN $TOKEN\n',
        "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nARG TOKEN\nRUN use %TOKEN% $TOKEN\n",
        "FROM a\nARG TOKEN=abc\nRUN use $TOKEN\n",  # a literal default: reported, the value must be rotated
        "FROM a\nARG TOKEN\nARG TOKEN\nRUN use $TOKEN\n",  # declared again
        "FROM a\nARG TOKEN OTHER\nRUN use $TOKEN\n",  # one ARG, two names
        "ARG TOKEN\nFROM a\nRUN use $TOKEN\n",  # global: reported only with a literal default
    ],
)
def test_no_fix_where_harden_cannot_tell(text: str) -> None:
    result = run(text, unsafe=True)
    assert result.errors == [] and result.output == text
    assert all(f.fix is None for f in result.findings)


def test_the_output_check_lets_only_an_arg_disappear() -> None:
    before = parse("Dockerfile", "FROM a\nARG TOKEN\nRUN use $TOKEN\n")
    assert validate_output(before, parse("Dockerfile", "FROM a\nRUN use $TOKEN\n")) == []
    assert validate_output(before, parse("Dockerfile", "FROM a\nARG TOKEN\n")) == ["instructions disappeared: RUN"]
