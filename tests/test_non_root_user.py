"""non-root-user never breaks a build: one test per breakage class of issue 10 (the golden
fixtures under fixtures/non-root-user/ pin the outputs; these say what is reported and why, check
the outputs with BuildKit's parser, and cover what a single-file fixture cannot: the stage a
Compose service builds)."""

from __future__ import annotations

from pathlib import Path

import dockerfile
import pytest
from runs import process

from harden import dockerfile as harden_dockerfile
from harden import engine, passes
from harden.config import Settings
from harden.model import FileResult
from harden.passes.dockerfile import non_root_user, users

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "non-root-user"
RULE = frozenset({"non-root-user"})


def fix(text: str, unsafe_fixes: bool = True) -> FileResult:
    """`fix --select non-root-user`, with --unsafe-fixes unless told otherwise (these tests are
    about whether the edit builds; which tier each fix is in is tested below)."""
    settings = Settings(select=RULE, offline=True, unsafe_fixes=unsafe_fixes)
    return engine.run_text("Dockerfile", "dockerfile", text.encode(), settings)


def messages(result: FileResult) -> list[str]:
    return [f.message for f in result.findings if f.rule.id == "non-root-user"]


def added(result: FileResult) -> list[str]:
    before = result.original.splitlines()
    return [line for line in result.output.splitlines() if line not in before]


@pytest.mark.parametrize(
    "case", ["creates-user", "dotnet-app", "dotnet-chiseled", "dotnet-6", "distroless-user-root", "distroless", "scratch"]
)
def test_outputs_parse_with_buildkit_and_add_no_run_on_shell_less_bases(case: str) -> None:
    result = fix((FIXTURES / case / "input.Dockerfile").read_text())
    commands = [c.cmd.upper() for c in dockerfile.parse_string(result.output)]
    original = [c.cmd.upper() for c in dockerfile.parse_string(result.original)]
    new = list(commands)
    for command in original:
        new.remove(command)
    assert set(new) <= {"USER", "RUN"}
    if case in ("creates-user", "dotnet-app", "dotnet-chiseled", "distroless-user-root", "distroless", "scratch"):
        assert "RUN" not in new, (case, new)


def test_a_user_the_dockerfile_creates_is_used_not_created_again() -> None:
    result = fix((FIXTURES / "creates-user" / "input.Dockerfile").read_text())
    assert added(result) == ["USER svc"]


def test_dotnet_images_use_their_app_user_and_chiseled_ones_already_run_as_it() -> None:
    app = fix((FIXTURES / "dotnet-app" / "input.Dockerfile").read_text())
    assert added(app) == ["USER app"]  # not `addgroup -S app`: the image ships app (uid 1654)
    chiseled = fix((FIXTURES / "dotnet-chiseled" / "input.Dockerfile").read_text())
    assert messages(chiseled) == [] and chiseled.output == chiseled.original
    old = fix((FIXTURES / "dotnet-6" / "input.Dockerfile").read_text())
    assert added(old)[0].startswith("RUN groupadd --system app")  # .NET 6 ships no app user


def test_a_new_user_is_unsafe_and_a_user_the_image_ships_or_the_dockerfile_creates_is_review() -> None:
    new_user = fix('FROM debian:12\nCMD ["app"]\n', unsafe_fixes=False)
    [finding] = new_user.findings
    assert finding.fix is not None and str(finding.fix.applicability) == "unsafe"
    assert new_user.output == new_user.original  # shown, not applied, by default
    for case, kind in (("creates-user", "build"), ("dotnet-app", "knowledge")):
        result = fix((FIXTURES / case / "input.Dockerfile").read_text(), unsafe_fixes=False)
        [finding] = result.findings
        assert finding.fix is not None and str(finding.fix.applicability) == "review"
        assert [str(e.kind) for e in finding.fix.evidence] == [kind]
        assert result.output != result.original


@pytest.mark.parametrize("case", ["arg-unknown", "arg-default-unseen"])
def test_an_invisible_base_image_is_reported_not_fixed(case: str) -> None:
    result = fix((FIXTURES / case / "input.Dockerfile").read_text())
    assert result.output == result.original
    [message] = messages(result)
    assert "harden cannot see into" in message and "FROM ${BASE_IMAGE}" in message
    assert all(f.fix is None for f in result.findings)


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("user-root-comment", "Dockerfile:3 explains it in a comment above the USER line"),
    ],
)
def test_an_explicit_user_root_is_respected(case: str, why: str) -> None:
    result = fix((FIXTURES / case / "input.Dockerfile").read_text())
    assert result.output == result.original
    [message] = messages(result)
    assert why in message and "respected" in message


def test_an_explicit_root_on_the_user_line_or_a_global_ignore_is_respected() -> None:
    same_line = fix('FROM ubuntu:24.04\nUSER root  # needs raw sockets\nCMD ["ping"]\n')
    assert same_line.output == same_line.original and "says why on the USER line" in messages(same_line)[0]
    for ignored in (
        "# hadolint global ignore=DL3002\nFROM ubuntu:24.04\nUSER 0\n",
        "FROM ubuntu:24.04\n# hadolint ignore=DL3002\nUSER 0\n",
    ):
        silenced = fix(ignored + 'CMD ["ping"]\n')  # harden.suppressions: the equivalent rule is silenced
        assert silenced.output == silenced.original and messages(silenced) == []
    plain = fix('FROM ubuntu:24.04\nUSER root\nCMD ["ping"]\n')
    assert "USER app" in added(plain)


def test_created_users_are_read_from_every_useradd_dialect() -> None:
    text = (
        "FROM alpine:3.20\n"
        "RUN addgroup -S -g 1000 web && adduser -S -D -H -u 1000 -G web -s /sbin/nologin web\n"
        'RUN useradd --uid=2000 --comment "service user" --shell /bin/false -m svc; adduser --system --ingroup web api\n'
        "RUN useradd $NAME\n"
    )
    document = harden_dockerfile.parse("Dockerfile", text)
    found = users.created(document, document.chain(document.stages[-1]))
    assert [(c.name, c.is_user, c.line) for c in found] == [
        ("web", False, 2),
        ("web", True, 2),
        ("svc", True, 3),
        ("api", True, 3),
    ]


def test_decisions_name_the_user_and_where_it_was_read() -> None:
    def choice(text: str) -> non_root_user.Choice:
        document = harden_dockerfile.parse("Dockerfile", text)
        context = passes.Context().for_pass(non_root_user)
        [decision] = non_root_user.decisions(document, context)
        assert decision.choice is not None
        return decision.choice

    made = choice('FROM debian:12\nRUN useradd -r svc\nCMD ["x"]\n')
    assert (made.user, made.kind, made.source) == ("svc", "build", "Dockerfile:2")
    shipped = choice('FROM mcr.microsoft.com/dotnet/aspnet:8.0\nCMD ["x"]\n')
    assert (shipped.user, shipped.kind) == ("app", "knowledge")
    assert shipped.source.startswith("harden/knowledge/images/dotnet.toml: https://github.com/dotnet/dotnet-docker/")
    unknown = choice('FROM registry.example.com/base:1\nCMD ["x"]\n')
    assert (unknown.user, unknown.kind) == ("65532:65532", "none")


MULTI_STAGE = """FROM python:3.12-slim AS builder
RUN pip install --prefix=/install flask
COPY . /src
CMD ["python", "/src/app.py"]

FROM python:3.12-slim AS prod
COPY --from=builder /install /usr/local
CMD ["python", "/src/app.py"]
"""


@pytest.mark.parametrize("workers", [1, 2])
def test_user_goes_into_the_stage_compose_builds(tmp_path: Path, workers: int) -> None:
    """`target: builder`: the USER goes into builder, not into the last stage; the pool groups
    the Dockerfile with the Compose file that builds it, so both runs agree."""
    (tmp_path / "Dockerfile").write_text(MULTI_STAGE)
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    build:\n      context: .\n      target: builder\n")
    settings = Settings(select=RULE, offline=True, workers=workers, unsafe_fixes=True)
    run = process([str(tmp_path)], settings)
    [result] = [r for r in run.results if r.kind == "dockerfile"]
    lines = result.output.splitlines()
    user = lines.index("USER app")
    assert user < lines.index("FROM python:3.12-slim AS prod")  # in builder
    assert lines.count("USER app") == 1
    [message] = messages(result)
    assert message.startswith("stage builder (the build.target of compose service web) runs as root")


def test_a_target_other_stages_are_built_from_is_reported(tmp_path: Path) -> None:
    text = 'FROM debian:12 AS base\nRUN true\n\nFROM base AS final\nRUN apt-get update\nCMD ["x"]\n'
    (tmp_path / "Dockerfile").write_text(text)
    (tmp_path / "compose.yaml").write_text("services:\n  dev:\n    build:\n      context: .\n      target: base\n")
    run = process([str(tmp_path)], Settings(select=RULE, offline=True))
    [result] = [r for r in run.results if r.kind == "dockerfile"]
    assert result.output == result.original
    [message] = messages(result)
    assert "stage final is built FROM it" in message and result.findings[0].fix is None
