"""non-root-user: the image that ships must not run as root.

What: in the stage that ships, when no `USER` is set or the effective user is root, switch to an
unprivileged user before the first `CMD`/`ENTRYPOINT` that follows the last build step (or at the
end). The stage that ships is the one a Compose service of the run builds (`build.target`;
passes.Context.built_stages), else the last. The user, in order of evidence:

- a non-root user the stage chain already switched to before going back to root;
- a user the Dockerfile's own RUN steps create (`useradd`, `adduser`), in the stage or the stages
  it is built FROM: never a second one;
- Windows: `ContainerUser`;
- the user the base image ships, from harden/knowledge/images (node's `node`, .NET's `app`,
  distroless' `nonroot`);
- on a shell-less base (distroless, chiseled, scratch) never a RUN: the image's user, or a numeric
  `USER 65532:65532` (the `uid` option) on scratch;
- else a new system user (the `user` option, `app` by default), created by the base's
  distribution: Debian/Ubuntu `groupadd --system` + `useradd --system --no-log-init`,
  Alpine/BusyBox `addgroup -S` + `adduser -S -D -H`, RHEL/UBI/Fedora/Amazon Linux `groupadd -r` +
  `useradd -r`; ubi-minimal and unknown bases get the numeric user.

Nothing is changed when the image already runs as non-root (a base whose `USER` is non-root:
.NET's chiseled tags run as 1654, distroless' `nonroot` tags as 65532; or a `USER` set from a
variable). Reported only, never fixed:
- the base image is invisible: `FROM $BASE_IMAGE` with no ARG default, or a default that neither
  knowledge nor the image's name describes; it may already run as non-root;
- the Dockerfile chose root on purpose: `USER root`/`USER 0` with a comment on its line or
  directly above it, or a hadolint ignore of DL3002;
- the shipped stage is the base of another stage (a USER there would run that stage's steps as
  another user);
- an image that steps down from root by itself (below).
`decisions()` returns, per shipped stage, what was decided and the `Choice` made (user, where it
was read: path:line or a knowledge file's cited evidence line), so evidence can be attached.

Why: a process running as root in a container is root on the host's kernel; one escape away
from the host (CIS Docker Benchmark v1.6.0 4.1; hadolint DL3002; Checkov CKV_DOCKER_3;
Trivy DS002; KICS "Missing User Instruction").

Not changed, only reported: an image that steps down from root by itself, as the official
postgres and redis images do with `gosu` or `su-exec` from their entrypoints (or nginx, whose
master process drops to a worker user). A `USER` would break its entrypoint; the container
still starts as root, so restrict its capabilities instead (compose `cap-drop-all`).

What might break (fix safety: review): files copied or created earlier are owned by root and
read-only to the new user (add `--chown` to the COPY of anything the app writes); a port below
1024 needs NET_BIND_SERVICE with `network_mode: host` or on engines that do not set
net.ipv4.ip_unprivileged_port_start=0 (Docker 20.10+ sets it for a container's own network
namespace, so there it binds without); a volume mounted over a root-owned directory may
not be writable; the new user has no home directory.

Example (fixtures/non-root-user/debian):

    FROM python:3.12-slim
    COPY app.py /app/
    CMD ["python", "/app/app.py"]

becomes

    FROM python:3.12-slim
    COPY app.py /app/
    RUN groupadd --system app && useradd --system --no-log-init --gid app app
    USER app
    CMD ["python", "/app/app.py"]
"""

from __future__ import annotations

import re
from typing import NamedTuple

from harden import knowledge
from harden.dockerfile import DockerfileDocument, Instruction, Stage
from harden.dockerfile.templates import render_lines
from harden.model import Applicability, Caveat, Evidence, EvidenceKind, Finding, Fix, Patch, Rule, Severity, tier
from harden.passes import Context
from harden.passes.dockerfile import users
from harden.passes.options import Option

RULE = Rule(
    id="non-root-user",
    title="The shipped stage runs as an unprivileged user",
    control="CIS 4.1",
    applicability=Applicability.REVIEW,
    kinds=("dockerfile",),
    peers="hadolint DL3002, Checkov CKV_DOCKER_3, Trivy DS002, KICS Missing User Instruction",
    gated=True,
)
RATIONALE = (
    "A container process running as root is root on the host kernel: a single escape gives the "
    "attacker the host. Running as an unprivileged user limits what a compromise can do."
)

_USER_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
OPTIONS = (
    Option(
        "user",
        "app",
        "the unprivileged system user created for Debian, Alpine and RHEL bases",
        valid=lambda name: bool(_USER_NAME.fullmatch(name)) and name != "root",
        expects="a user name useradd accepts: lower-case letters, digits, _ and -, at most 32, not root",
    ),
    Option(
        "uid",
        65532,
        "the numeric user (and group) for scratch, ubi-minimal and unknown bases",
        valid=lambda uid: uid >= 1,
        expects="at least 1",
    ),
)

_STEP_DOWN = re.compile(r"\b(gosu|su-exec|setpriv)\b")
_ROOT = {"root", "0"}
_BUILD_STEPS = {"RUN", "COPY", "ADD"}
_WINDOWS_SHELL = re.compile(r"powershell|pwsh|cmd(\.exe)?\b", re.IGNORECASE)


class Choice(NamedTuple):
    """The user a fix switches to and why: the decision behind the fix, as data. `kind` is
    build (read in the project: `source` is path:line), knowledge (`source` is the knowledge file
    and the evidence line it cites) or none (nothing shows the user exists or works)."""

    user: str
    kind: str
    source: str
    detail: str
    template: str
    values: dict[str, object]
    might_break: str


class Decision(NamedTuple):
    """What the pass decided for one shipped stage: a finding's message and severity, and the
    Choice when it fixes (None: reported only)."""

    stage: Stage
    anchor: Instruction
    message: str
    severity: Severity
    choice: Choice | None


def check(document: DockerfileDocument, context: Context) -> list[Finding]:
    findings = []
    for decision in decisions(document, context):
        fix = _fix(document, decision.stage, decision.choice) if decision.choice else None
        findings.append(_finding(document, decision.anchor, decision.message, decision.severity, fix))
    return findings


def decisions(document: DockerfileDocument, context: Context) -> list[Decision]:
    """One decision per shipped stage that needs one: the stages Compose services of the run
    build (Context.built_stages), else the last stage."""
    labels = list(context.built_stages) or [document.stages[-1].label]
    stages = [s for s in document.stages if s.label in labels]
    found = []
    for stage in stages:
        decision = _decide(document, stage, context.built_stages.get(stage.label, ()), context)
        if decision is not None:
            found.append(decision)
    return found


def _decide(document: DockerfileDocument, stage: Stage, services: tuple[str, ...], context: Context) -> Decision | None:
    chain = document.chain(stage)
    user, last_unprivileged, user_instruction = _effective_user(chain)
    base = document.external_base(stage)
    facts = knowledge.lookup(base) if base else None
    family = _family(document, chain, base)
    anchor = user_instruction or stage.instructions[0]
    where = _where(document, stage, services)

    def report(message: str) -> Decision:
        return Decision(stage, anchor, message, Severity.INFO, None)

    if user is None:
        if (unseen := _invisible(chain, base, facts)) is not None:
            return report(
                f"{where} is built on {unseen}, which harden cannot see into: it may already run as a non-root user, "
                "so harden adds no USER. If it runs as root, add a USER of a user it ships"
            )
        user = _image_default_user(base, facts, family)
    if user not in _ROOT:
        return None
    if user_instruction is not None and (why := users.explicit_root(document, user_instruction)):
        return report(f"{where} runs as root on purpose ({why}): respected, harden adds no USER")
    if children := [s.label for s in document.stages if s is not stage and stage in document.chain(s)]:
        return report(
            f"{where} runs as root, but stage {', '.join(children)} is built FROM it: a USER here would run "
            "the steps of that stage as another user and could break its build, so harden adds none"
        )
    if step_down := _step_down(document, chain, facts):
        return report(
            f"{where} starts as root and steps down to an unprivileged user by itself ({step_down}); "
            "harden adds no USER, which would break its entrypoint. It still starts as root: "
            "restrict its capabilities where it runs (compose cap-drop-all)"
        )
    choice = _choose(document, chain, family, facts, last_unprivileged, context)
    message = f"{where} runs as root" + (f" (USER {users.user_word(user_instruction)})" if user_instruction else " (no USER)")
    if low_ports := _low_ports(chain):
        ports = ", ".join(str(p) for p in low_ports)
        message += (
            f"; it EXPOSEs port {ports} below 1024: a non-root user can bind it on Docker 20.10+ (which sets "
            "net.ipv4.ip_unprivileged_port_start=0), but not with network_mode: host or on engines without that "
            "setting, where it needs NET_BIND_SERVICE (or a port above 1023)"
        )
    return Decision(stage, anchor, message, Severity.WARNING, choice)


def _where(document: DockerfileDocument, stage: Stage, services: tuple[str, ...]) -> str:
    where = f"stage {stage.label}" if len(document.stages) > 1 else "the image"
    if services and stage is not document.stages[-1]:
        where += f" (the build.target of compose service {', '.join(services)})"
    return where


def _fix(document: DockerfileDocument, stage: Stage, choice: Choice) -> Fix:
    def build() -> Patch:  # renders the template: only when the fix is applied
        lines = render_lines(choice.template, **choice.values)
        insert_at = _insertion_line(document, stage)
        edit = document.insert_before(insert_at, [_indent(document, stage, insert_at) + line for line in lines])
        return Patch((edit,), tuple(("stages", stage.label, _semantic_text(line)) for line in lines))

    evidence = (Evidence(EvidenceKind(choice.kind), choice.source, choice.detail),)
    return Fix(tier(evidence), (), build, (Caveat("", choice.might_break),), evidence=evidence)


def _finding(document: DockerfileDocument, anchor: Instruction, message: str, severity: Severity, fix: Fix | None) -> Finding:
    return Finding(RULE, message, *document.position_of(anchor), severity, RATIONALE, fix)


def _effective_user(chain: list[Stage]) -> tuple[str | None, Instruction | None, Instruction | None]:
    """(effective user, the last USER of a non-root user on the way, the USER instruction that set root)."""
    user: str | None = None
    last_unprivileged: Instruction | None = None
    setter: Instruction | None = None
    for stage in reversed(chain):
        for instruction in stage.instructions:
            if instruction.keyword == "USER":
                user = users.user_word(instruction)
                setter = instruction
                if "$" in user:
                    user = "?"  # set from a variable: nobody can tell, leave it alone
                elif user not in _ROOT:
                    last_unprivileged = instruction
    return user, last_unprivileged, setter if user in _ROOT else None


def _invisible(chain: list[Stage], base: str | None, facts: knowledge.ImageFacts | None) -> str | None:
    """How the FROM names an image harden cannot see into (None: it can): an ARG without a
    default, or an ARG whose default is an image neither knowledge nor its name describes."""
    written = chain[-1].base
    if "$" not in written:
        return None
    if base is None:
        return f"FROM {written} (an ARG without a default)"
    if facts is None and knowledge.distro_family(base) is None:
        return f"FROM {written} (by default {base}, set by a build argument)"
    return None


def _image_default_user(base: str | None, facts: knowledge.ImageFacts | None, family: str | None) -> str:
    if facts is not None:
        return facts.default_user
    if base and family == "distroless" and ("nonroot" in knowledge.tag_of(base) or base.startswith("cgr.dev/")):
        return "nonroot"
    return "root"


def _family(document: DockerfileDocument, chain: list[Stage], base: str | None) -> str | None:
    """The distribution family: from the base image name, else from the package manager the
    stage chain uses, else None (unknown)."""
    if any(_WINDOWS_SHELL.search(i.args) for s in chain for i in s.instructions if i.keyword == "SHELL"):
        return "windows"
    family = knowledge.distro_family(base) if base else None
    if family:
        return family
    commands = " ".join(i.args for s in chain for i in s.instructions if i.keyword == "RUN")
    if re.search(r"\bapt(-get)?\s", commands):
        return "debian"
    if re.search(r"\bapk\s", commands):
        return "alpine"
    if re.search(r"\bmicrodnf\s", commands):
        return "rhel-minimal"
    if re.search(r"\b(dnf|yum)\s", commands):
        return "rhel"
    return None


def _step_down(document: DockerfileDocument, chain: list[Stage], facts: knowledge.ImageFacts | None) -> str:
    for stage in chain:
        for instruction in stage.instructions:
            steps = instruction.keyword in ("RUN", "ENTRYPOINT", "CMD", "COPY", "ADD")
            if steps and (match := _STEP_DOWN.search(document.source(instruction))):
                return f"it installs or calls {match.group(1)}"
    if facts and facts.drops_privileges:
        how = facts.drops_privileges
        if how == "master-worker":
            worker = facts.unprivileged_user or "an unprivileged user"
            return f"{facts.name}'s master process runs its workers as {worker}"
        return f"{facts.name}'s entrypoint switches to user {facts.runtime_user} with {how}"
    return ""


_OWNED = (
    "files copied or created earlier stay owned by root and read-only to {user}: add --chown={user} to "
    "the COPY of anything the application writes; a volume over a root-owned directory may not be writable"
)


def _choose(
    document: DockerfileDocument,
    chain: list[Stage],
    family: str | None,
    facts: knowledge.ImageFacts | None,
    last_unprivileged: Instruction | None,
    context: Context,
) -> Choice:
    """The user to switch to, in order of evidence: one this stage chain already used, one its
    RUN steps create, the one Windows images ship, the one the base image ships (knowledge); on a
    shell-less base its numeric user; else a new system user, or a numeric one."""
    existing = "dockerfile/user-existing.j2"
    if last_unprivileged is not None:
        user = last_unprivileged.args.strip()
        where = f"{document.path}:{last_unprivileged.start_line + 1}"
        why = f"steps run after the switch back to root ran as root; the process now runs as {user} again"
        return Choice(user, "build", where, f"USER {user}", existing, {"user": user}, why)
    if family == "windows":
        why = "ContainerUser cannot write to C:\\Program Files or HKLM, or install software at runtime"
        return Choice("ContainerUser", "none", "", "Windows images ship ContainerUser", existing, {"user": "ContainerUser"}, why)
    made = [c for c in users.created(document, chain) if c.is_user]
    if made:
        user, where = made[-1].name, f"{document.path}:{made[-1].line}"
        why = f"the user {user} this Dockerfile creates ({where}): " + _OWNED.format(user=user)
        return Choice(user, "build", where, f"creates user {user}", existing, {"user": user}, why)
    if facts and facts.unprivileged_user:
        user = facts.unprivileged_user
        why = f"the image's own unprivileged user {user}: " + _OWNED.format(user=user)
        return Choice(user, "knowledge", _cited(facts, user), f"{facts.name} ships user {user}", existing, {"user": user}, why)
    if family == "distroless":
        why = "runs as nonroot (65532): " + _OWNED.format(user="nonroot")
        return Choice("nonroot", "none", "", "distroless images ship nonroot (65532)", existing, {"user": "nonroot"}, why)
    if family in ("debian", "alpine", "rhel"):
        user = context.options["user"]
        why = f"new system user {user} (no home directory): " + _OWNED.format(user=user)
        # The base's family says useradd works, not that the application works as a new user: unsafe.
        return Choice(
            user,
            "none",
            "",
            f"a new user on a {family} base: nothing shows the application works as it",
            f"dockerfile/user-{family}.j2",
            {"user": user},
            why,
        )
    uid = context.options["uid"]
    reason = {
        "scratch": "scratch has no user database",
        "rhel-minimal": "ubi-minimal lacks shadow-utils (useradd)",
    }.get(family or "", "the base image's distribution is unknown")
    why = f"numeric user {uid} ({reason}); the process cannot read root-only files: " + _OWNED.format(user=uid)
    return Choice(f"{uid}:{uid}", "none", "", reason, "dockerfile/user-numeric.j2", {"uid": uid}, why)


def _cited(facts: knowledge.ImageFacts, word: str) -> str:
    """The knowledge file and the first evidence line it cites that names `word`."""
    lines = [line for line in facts.evidence if re.search(rf"\b{re.escape(word)}\b", line)] or list(facts.evidence[:1])
    return f"harden/knowledge/images/{facts.name}.toml: " + (lines[0] if lines else "")


def _low_ports(chain: list[Stage]) -> list[int]:
    ports: set[int] = set()
    for stage in chain:
        for instruction in stage.instructions:
            if instruction.keyword == "EXPOSE":
                for word in instruction.args.split():
                    number = word.split("/", 1)[0]
                    if number.isdigit() and int(number) < 1024:
                        ports.add(int(number))
    return sorted(ports)


def _insertion_line(document: DockerfileDocument, stage: Stage) -> int:
    """Before the first CMD/ENTRYPOINT after the stage's last build step (or USER), above the
    comment attached to it; or at the end of the stage."""
    instructions = stage.instructions
    # After the last build step, and after the last USER: a later `USER root` would win.
    last_step = max((i for i, ins in enumerate(instructions) if ins.keyword in _BUILD_STEPS | {"USER"}), default=0)
    for instruction in instructions[last_step + 1 :]:
        if instruction.keyword in ("CMD", "ENTRYPOINT"):
            return document.attached_comment_start(instruction)
    return instructions[-1].end_line + 1


def _indent(document: DockerfileDocument, stage: Stage, line: int) -> str:
    for instruction in stage.instructions:
        if instruction.start_line >= line:
            return instruction.indent
    return stage.instructions[-1].indent if len(stage.instructions) > 1 else ""


def _semantic_text(line: str) -> str:
    keyword, _, rest = line.strip().partition(" ")
    return f"{keyword.upper()} {' '.join(rest.split())}".strip()
