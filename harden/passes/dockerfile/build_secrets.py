"""build-secrets: credentials reach the build through secret mounts, never ENV, ARG or COPY.

What: in every stage (and, with a literal default, the ARGs before the first FROM: without one,
a global ARG reaches only FROM lines, and a stage that declares it again is reported there):

- `ENV` or `ARG` whose name says it holds a credential: a word `PASSWORD`, `PASSWD`, `SECRET`,
  `TOKEN`, `CREDENTIAL(S)`, `APIKEY`/`API_KEY`, `AUTH`, or a name ending in `_KEY` (`SSH_KEY`,
  `SECRET_KEY_BASE`). Not a credential: a name whose last word says it holds something else
  (`PASSWORD_FILE`, `TOKEN_URL`, `SECRET_PATH`, `API_KEY_ID`, ...), a public one (`PUBLIC_KEY`,
  `GPG_KEY`, which official images set to a key's fingerprint), and an `ENV` with an empty value;
- `ENV` or `ARG` whose literal value looks like a credential whatever its name (a private key, an
  AWS access key id, GitHub, GitLab, Slack, npm, Stripe, OpenAI or Google API tokens, a URL with a
  password: `postgres://u:***@db/x`);
- `COPY`/`ADD` of a file that holds credentials, by name: `.env` (and `.env.local`, `.env.prod`;
  not `.env.example`, `.sample`, `.template`, `.dist`), `id_rsa`, `id_dsa`, `id_ecdsa`,
  `id_ed25519`, `*.key`, `*.pem` (not a certificate: `ca.pem`, `cert.pem`, `fullchain.pem`),
  `*.p12`, `*.pfx`, `.npmrc`, `.netrc`, `.pypirc`, `.git-credentials`, `.docker/config.json`,
  `.aws/credentials`. A directory or glob source that would include one (`COPY . .` without a
  `.dockerignore`) is not reported: a pass never lists the build context. `COPY --from` copies
  from another stage, not the context, and a source written with a variable cannot be read.

Every finding names the form to use instead, with the build's side of it (`docker build --secret`
and Compose's `build: secrets:` with a top-level `secrets: <id>: environment: <NAME>`). Values are
never printed: messages, `about` and claims show `***` or only the name.

Why: an `ENV` value is in the image's configuration (`docker inspect` shows it to anyone who can
pull the image); an `ARG` value used by a `RUN` is in the image's history, and a copied file is in
a layer even if a later step deletes it (CIS Docker Benchmark v1.6.0 4.10, "Ensure secrets are not
stored in Dockerfiles"; hadolint DL3064 and BuildKit's SecretsUsedInArgOrEnv check names; tally
`require-secret-mounts`). A literal value in the Dockerfile is also in the repository's history
and must be rotated. A secret mount (`RUN --mount=type=secret`) exists only while that RUN runs.

The fix: an `ARG` without a literal default, declared in a stage and referenced by exactly one
`RUN` of that stage (and nothing else), is removed, and that RUN reads the secret:

    RUN --mount=type=secret,id=<id> export NAME="$(cat /run/secrets/<id>)" && <command>

where `<id>` is the name in lower case. This form, not `--mount=type=secret,id=<id>,env=NAME`,
because every BuildKit Dockerfile frontend since 1.2 accepts it (Docker 18.09+ with BuildKit,
the builder Docker Compose v2 uses), while the `env=` option needs frontend 1.10 (BuildKit 0.16,
Docker Engine 27.3): an older builder refuses it, and a `# syntax=docker/dockerfile:1.10` line
would make every build pull the frontend image from Docker Hub. Only a shell-form RUN of a
POSIX shell is rewritten (not exec form, a heredoc, a `SHELL` of another shell, a Windows base).

The build must then pass the secret. For each Compose service of the run that builds this
Dockerfile (Context.builders), the rule's Compose half (harden/passes/compose/build_secrets.py)
moves the argument from the service's `build.args` to `build.secrets`, with a top-level secret
read from where the value came from (`${VAR}`: `environment: VAR`; a literal: a secret file
`./secrets/<id>`, mode 0644 in a `secrets/` directory of mode 0700, git-ignored). The two halves
are decided alike in both files and land together or not at all: both are `review` (evidence: build, the Compose file's line) when
every service of the run that builds the Dockerfile can pass every moved argument, else both
`unsafe`; and a half the run chooses is held back (`requires` names the others) unless the run
chooses all of them. Without a Compose file of the run that builds it, the fix is `unsafe` and the
finding spells out the build's side (`docker build --secret id=<id>,env=NAME` or Compose's).

What might break (fix safety: review with its Compose counterparts, else unsafe, applied only with
--unsafe-fixes): a build without Compose must pass the value as a secret, not a build argument:
`docker build --secret id=<id>,env=NAME ...` (NAME set in its environment) instead of
`--build-arg NAME=...`, which now builds with an empty NAME (the finding says so). Other RUN steps
after the ARG had NAME in their environment: one that reads it without naming it (npm reading
`${NPM_TOKEN}` from `.npmrc`) no longer gets it. When no secret is passed, NAME is set and empty
where it was unset. A Compose service outside the run that builds the Dockerfile is not seen.

Example (fixtures/build-secrets/basic):

    FROM node:22-slim
    ARG NPM_TOKEN
    ENV API_TOKEN=hunter2
    ARG PASSWORD_FILE=/run/secrets/db_password
    ENV TOKEN_URL=https://auth.example.com/token
    COPY .npmrc .env.example /app/
    RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > /app/.npmrc && npm ci

becomes

    FROM node:22-slim
    ENV API_TOKEN=hunter2
    ...
    RUN --mount=type=secret,id=npm_token export NPM_TOKEN="$(cat /run/secrets/npm_token)" && echo ...

with `ENV API_TOKEN` and `COPY .npmrc` reported (display).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harden.credentials import credential_name
from harden.dockerfile import DockerfileDocument, Instruction, Stage
from harden.model import (
    NO_EVIDENCE,
    Applicability,
    Caveat,
    Claim,
    Edit,
    Evidence,
    Finding,
    Fix,
    Rule,
    Severity,
    finding_id,
    prebuilt,
)
from harden.passes import Context
from harden.passes.dockerfile import shell

RULE = Rule(
    id="build-secrets",
    title="Build secrets are mounted, never set in ENV or ARG or copied into the image",
    control="CIS 4.10",
    applicability=Applicability.REVIEW,
    kinds=("dockerfile", "compose"),
    peers="hadolint DL3064, BuildKit SecretsUsedInArgOrEnv, tally require-secret-mounts",
    gated=True,
)
RATIONALE = (
    "An ENV value is in the image's configuration, an ARG used by a RUN is in its history and a copied file is in a "
    "layer: anyone who can pull the image reads them. A secret mount exists only while its RUN runs."
)

_VALUE_FORMATS = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{36,}|\bgithub_pat_[A-Za-z0-9_]{22,}"
    r"|\bglpat-[A-Za-z0-9_-]{20,}|\bxox[abposr]-[A-Za-z0-9-]{10,}|\bnpm_[A-Za-z0-9]{36}\b|\b[sr]k_live_[A-Za-z0-9]{20,}"
    r"|\bsk-[A-Za-z0-9_-]{20,}|\bAIza[0-9A-Za-z_-]{35}"
    r"|[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:(?!\$)[^@\s/]+@"  # a URL with a literal password
)
_REFERENCE = re.compile(r"^\$(?:\{[A-Za-z_][A-Za-z0-9_]*[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)$")
_SECRET_FILES = frozenset({"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", ".npmrc", ".netrc", ".pypirc", ".git-credentials"})
_SECRET_PATHS = (".docker/config.json", ".aws/credentials")
_ENV_TEMPLATES = frozenset({"example", "sample", "template", "dist", "defaults", "tmpl", "tpl"})
_CERTIFICATE_WORDS = frozenset({"ca", "cert", "certs", "certificate", "chain", "fullchain", "bundle", "root", "pub", "public"})
_WINDOWS = re.compile(r"windows|nanoserver|servercore", re.IGNORECASE)


def credential_value(value: str) -> bool:
    """Whether a literal value has a known credential's format (never a guess from entropy:
    checksums and key fingerprints would be reported)."""
    return bool(_VALUE_FORMATS.search(value))


@dataclass(frozen=True)
class Pairing:
    """How the fixes of a Dockerfile and their counterparts in the Compose files that build it
    land (harden.passes.compose.build_secrets.pair): their applicability and evidence, the
    services that build it (`builders`, in words; '' none), why some cannot pass the secret, and
    the ids of the pair's findings the run does not choose (then none is applied)."""

    applicability: Applicability = Applicability.UNSAFE
    evidence: tuple[Evidence, ...] = (NO_EVIDENCE,)
    builders: str = ""
    why_not: str = ""
    unchosen: tuple[str, ...] = ()

    def requires(self, own: str) -> tuple[str, ...]:
        """What a finding of the pair requires: the others the run does not choose (a finding of
        another file is never applied in this one, so the fix is held back)."""
        return tuple(i for i in self.unchosen if i != own)


def check(document: DockerfileDocument, context: Context) -> list[Finding]:
    findings: list[Finding] = []
    seen: dict[str, int] = {}
    moved = {id(p.arg): p for p in plans(document)}
    pairing = Pairing()
    if moved and context.builders.get(document.path):
        from harden.passes.compose.build_secrets import pair  # only when Compose files of the run build it

        pairing = pair(document, list(moved.values()), context)[0]
    for label, stage, instruction in _instructions(document):
        if instruction.keyword in ("ENV", "ARG"):
            for name, value in _variables(instruction):
                plan = moved.get(id(instruction))
                finding = _variable(document, label, stage, instruction, name, value, seen, plan, pairing)
                if finding is not None:
                    findings.append(finding)
        elif instruction.keyword in ("COPY", "ADD") and instruction.flag("from") is None:
            for source in _copied_secrets(instruction):
                about = _about(f"stage {label}: {instruction.keyword} {source}", seen)
                line, column = shell.locate(document, instruction, re.escape(source))
                message = _copy_message(instruction.keyword, source)
                findings.append(Finding(RULE, message, line, column, Severity.WARNING, RATIONALE, None, about=about))
    return findings


def _instructions(document: DockerfileDocument) -> list[tuple[str, Stage | None, Instruction]]:
    """(stage label, stage, instruction) for the global ARGs ("global", None) and every stage."""
    first = document.stages[0].instructions[0].start_line
    found: list[tuple[str, Stage | None, Instruction]] = [
        ("global", None, i) for i in document.instructions if i.start_line < first
    ]
    for stage in document.stages:
        found.extend((stage.label, stage, i) for i in stage.instructions)
    return found


def _about(text: str, seen: dict[str, int]) -> str:
    seen[text] = seen.get(text, 0) + 1
    return text if seen[text] == 1 else f"{text} ({seen[text]})"


def _variables(instruction: Instruction) -> list[tuple[str, str | None]]:
    """(name, value) of each variable an ENV or ARG sets; None: an ARG without a default.
    Quotes around a value are removed; `ENV NAME value` (the legacy form) is one variable."""
    words = re.findall(r"""(?:[^\s"']|"[^"]*"|'[^']*')+""", instruction.args)
    if not words:
        return []
    if instruction.keyword == "ENV" and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]).strip("\"'"))]
    found: list[tuple[str, str | None]] = []
    for word in words:
        name, equals, value = word.partition("=")
        found.append((name, value.strip("\"'") if equals else None))
    return found


def _variable(
    document: DockerfileDocument,
    label: str,
    stage: Stage | None,
    instruction: Instruction,
    name: str,
    value: str | None,
    seen: dict[str, int],
    plan: Plan | None,
    pairing: Pairing,
) -> Finding | None:
    literal = value is not None and value != "" and not _REFERENCE.match(value)
    by_value = literal and credential_value(value or "")
    if not by_value and not credential_name(name):
        return None
    if instruction.keyword == "ENV" and not value:
        return None  # an empty ENV holds nothing
    if stage is None and not literal:
        return None  # a global ARG reaches only FROM; a stage that declares it again is reported there
    keyword = instruction.keyword
    about = _about(f"stage {label}: {keyword} {name}", seen)
    line, column = shell.locate(document, instruction, rf"(?<![\w$]){re.escape(name)}(?![\w])")
    secret = name.lower()
    mount = f'RUN --mount=type=secret,id={secret} export {name}="$(cat /run/secrets/{secret})" && <command>'
    shown = f"{keyword} {name}" + ("=***" if value else "")
    if literal:
        message = (
            f"{shown}: a credential written in the Dockerfile is in the image and in the repository's history; rotate "
            f"it. harden does not change it; pass it at build time as a secret ({mount}, built with {_passing(name)}) "
            "or at runtime through Compose secrets (CIS 4.10)"
        )
        return Finding(RULE, message, line, column, Severity.ERROR, RATIONALE, None, about=about)
    where = "the image's configuration" if keyword == "ENV" else "the image's history (docker history)"
    if plan is None or plan.name != name:
        message = (
            f"{shown} puts a credential in {where}. harden does not change it; use a secret mount, {mount}, built "
            f"with {_passing(name)} (CIS 4.10)"
        )
        return Finding(RULE, message, line, column, Severity.WARNING, RATIONALE, None, about=about)
    fix = _fix(document, plan, pairing)
    done = f"harden removes the ARG and mounts the secret in the one RUN that uses it ({mount})"
    if not pairing.builders:
        passed = f"the build then passes it with {_passing(name)}"
    elif pairing.why_not:
        passed = f"{pairing.builders} build it, and not all can pass it: {pairing.why_not}"
    else:
        passed = (
            f"{pairing.builders}: each passes it in build.secrets instead of build.args, with its own fix; a build "
            f"without Compose: {_command(name)}"
        )
    return Finding(
        RULE,
        f"{shown} puts a credential in {where}: {done}; {passed} (CIS 4.10)",
        line,
        column,
        Severity.WARNING,
        RATIONALE,
        fix,
        about=about,
    )


def _passing(name: str) -> str:
    secret = name.lower()
    return (
        f"`docker build --secret id={secret},env={name}`, or in Compose `build: {{secrets: [{secret}]}}` and a "
        f"top-level `secrets: {{{secret}: {{environment: {name}}}}}`"
    )


def _copied_secrets(instruction: Instruction) -> list[str]:
    words = instruction.exec_form
    if words is None:
        words = instruction.args.split()
    sources = [w.strip("\"'") for w in words[:-1]]
    return [s for s in sources if "$" not in s and not s.startswith("<<") and _secret_file(s)]


def _secret_file(source: str) -> bool:
    path = source.rstrip("/")
    base = path.rsplit("/", 1)[-1]
    if base in _SECRET_FILES or path.endswith(_SECRET_PATHS):
        return True
    if base == ".env" or base.startswith(".env."):
        return not (set(base.split(".")[2:]) & _ENV_TEMPLATES)
    stem, _, extension = base.rpartition(".")
    if extension in ("key", "p12", "pfx") and stem:
        return True
    if extension == "pem" and stem:
        return not (set(re.split(r"[-_.]", stem.lower())) & _CERTIFICATE_WORDS)
    return False


def _copy_message(keyword: str, source: str) -> str:
    base = source.rstrip("/").rsplit("/", 1)[-1]
    secret = re.sub(r"[^a-z0-9_]+", "_", base.lower()).strip("_") or "secret"
    if base == ".env" or base.startswith(".env."):
        instead = "give the running container its settings through Compose `env_file:` or `secrets:` instead"
    else:
        instead = (
            f"mount it for the step that needs it, RUN --mount=type=secret,id={secret},target=<path> <command>, built "
            f"with `docker build --secret id={secret},src={source}` or Compose `build: {{secrets: [{secret}]}}` and a "
            f"top-level `secrets: {{{secret}: {{file: {source}}}}}`"
        )
    return (
        f"{keyword} {source} puts a credential file in an image layer, where it stays even if a later step deletes it. "
        f"harden does not change it; {instead}, and list the file in .dockerignore (CIS 4.10)"
    )


# --- the fix ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Plan:
    """An ARG the fix removes, and the one RUN that then reads its secret (`start`: the offset of
    that RUN's command in the document's text)."""

    stage: Stage
    arg: Instruction
    run: Instruction
    name: str
    start: int

    @property
    def secret(self) -> str:
        return self.name.lower()

    @property
    def about(self) -> str:
        """Its finding's `about` (an ARG with a plan is declared once in its stage)."""
        return f"stage {self.stage.label}: ARG {self.name}"


def plans(document: DockerfileDocument) -> list[Plan]:
    """Every ARG the fix can move into a secret mount, in the order of the file."""
    found = []
    for stage in document.stages:
        for arg in (i for i in stage.instructions if i.keyword == "ARG"):
            variables = _variables(arg)
            if len(variables) == 1 and not variables[0][1] and credential_name(variables[0][0]):
                plan = _plan(document, stage, arg, variables[0][0])
                if plan is not None:
                    found.append(plan)
    return found


def _plan(document: DockerfileDocument, stage: Stage, arg: Instruction, name: str) -> Plan | None:
    """The ARG's plan, or None when harden cannot move it safely."""
    if not _posix_shell(document, stage):
        return None
    reference = re.compile(rf"\$(?:\{{{re.escape(name)}(?![A-Za-z0-9_])|{re.escape(name)}(?![A-Za-z0-9_]))")
    later = stage.instructions[stage.instructions.index(arg) + 1 :]
    users = [i for i in later if reference.search(document.source(i))]
    if any(i.keyword == "ARG" and i is not arg and name in dict(_variables(i)) for i in stage.instructions):
        return None  # declared twice: harden cannot tell which declaration a reader meant
    if len(users) != 1 or users[0].keyword != "RUN" or users[0].heredocs or users[0].exec_form is not None:
        return None
    start = _command_start(document, users[0])
    return None if start is None else Plan(stage, arg, users[0], name, start)


def _fix(document: DockerfileDocument, plan: Plan, pairing: Pairing) -> Fix:
    """The ARG removed and its one RUN reading the secret; as safe as its Compose counterparts make it."""
    run, name, secret = plan.run, plan.name, plan.secret
    mount = f"--mount=type=secret,id={secret}"
    prefix = f'export {name}="$(cat /run/secrets/{secret})" && '
    keyword_end = run.start + len(run.indent) + len(run.keyword)
    edits = [
        Edit(plan.arg.start, plan.arg.end, ""),
        Edit(keyword_end, keyword_end, f" {mount}"),
        Edit(plan.start, plan.start, prefix),
    ]
    new_run = " ".join(["RUN", mount, *run.flags, " ".join((prefix + run.args).split())])
    label = plan.stage.label
    claims: tuple[Claim, ...] = (
        ("stages", label, document.instruction_text(plan.arg)),
        ("stages", label, document.instruction_text(run)),
        ("stages", label, new_run),
    )
    others = f"A RUN after the ARG that read {name} without naming it no longer gets it"
    if pairing.builders:
        text = f"{pairing.builders}: each passes {name} as the build secret {secret}, with its own fix"
        caveat = f"{text}; a build without Compose must pass it too: {_command(name)}. {others}"
    else:
        caveat = (
            f"the build must pass {name} as a secret: {_passing(name)}; no Compose file of this run builds this Dockerfile, "
            f"so harden edits none. A build that passes --build-arg {name} or build.args builds with it empty. {others}"
        )
    requires = pairing.requires(finding_id(RULE.id, document.path, "", plan.about))
    return Fix(pairing.applicability, claims, prebuilt(edits), (Caveat("", caveat),), requires, pairing.evidence)


def _command(name: str) -> str:
    return f"`docker build --secret id={name.lower()},env={name} ...` with {name} set in its environment, not --build-arg {name}"


def _posix_shell(document: DockerfileDocument, stage: Stage) -> bool:
    """Whether the stage's RUNs run in a POSIX shell: no SHELL of another kind, not a Windows base."""
    chain = document.chain(stage)
    base = document.external_base(stage) or ""
    if _WINDOWS.search(base):
        return False
    for instruction in (i for s in chain for i in s.instructions if i.keyword == "SHELL"):
        words = instruction.exec_form
        if not words or shell.name(words[0]) not in shell.SHELLS:
            return False
    return True


def _command_start(document: DockerfileDocument, run: Instruction) -> int | None:
    """Offset of a RUN's command (after its flags) in the document's text, or None."""
    source = document.source(run)
    position = len(run.indent) + len(run.keyword)
    words = run.args.split()
    if not words:
        return None
    try:
        for flag in run.flags:
            position = source.index(flag, position) + len(flag)
        return run.start + source.index(words[0], position)
    except ValueError:
        return None
