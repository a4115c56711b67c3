"""non-root-user: the image that ships must not run as root.

What: in the last stage of a Dockerfile (the one that ships), when no `USER` is set or the
effective user is root, add an unprivileged system user and switch to it before the first
`CMD`/`ENTRYPOINT` that follows the last build step (or at the end). The snippet depends on
the base image's distribution, followed through `FROM stage` chains and ARG defaults:

- Debian/Ubuntu: `groupadd --system` + `useradd --system --no-log-init`
- Alpine/BusyBox: `addgroup -S` + `adduser -S -D -H`
- RHEL/UBI/Fedora/Amazon Linux: `groupadd -r` + `useradd -r`
  (each creates the user named by the `user` option, `app` by default)
- ubi-minimal (no shadow-utils), `scratch` and unknown bases: a numeric `USER 65532:65532` (the
  `uid` option; 65532 is distroless' `nonroot`, which no base image gives another meaning)
- distroless and Chainguard: `USER nonroot`; Windows: `USER ContainerUser`
- an image that ships an unprivileged user (node's `node`), or a stage chain that already set
  one and switched back to root: switch to that user, create nothing.

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

from harden import knowledge
from harden.dockerfile import DockerfileDocument, Instruction, Stage, user_of
from harden.dockerfile.templates import render_lines
from harden.model import Applicability, Caveat, Finding, Fix, Patch, Rule, Severity
from harden.passes import Context
from harden.passes.options import Option

RULE = Rule(
    id="non-root-user",
    title="The shipped stage runs as an unprivileged user",
    control="CIS 4.1",
    applicability=Applicability.REVIEW,
    kinds=("dockerfile",),
    peers="hadolint DL3002, Checkov CKV_DOCKER_3, Trivy DS002, KICS Missing User Instruction",
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


def check(document: DockerfileDocument, context: Context) -> list[Finding]:
    stage = document.stages[-1]
    chain = document.chain(stage)
    user, last_unprivileged, user_instruction = _effective_user(chain)
    base = document.external_base(stage)
    facts = knowledge.lookup(base) if base else None
    family = _family(document, chain, base)
    if user is None:
        user = _image_default_user(base, facts, family)
    if user not in _ROOT:
        return []
    anchor = user_instruction or stage.instructions[0]
    where = f"stage {stage.label}" if len(document.stages) > 1 else "the image"

    step_down = _step_down(document, chain, facts)
    if step_down:
        message = (
            f"{where} starts as root and steps down to an unprivileged user by itself ({step_down}); "
            "harden adds no USER, which would break its entrypoint. It still starts as root: "
            "restrict its capabilities where it runs (compose cap-drop-all)"
        )
        return [_finding(document, anchor, message, Severity.INFO, None)]

    template, values, might_break = _snippet(family, facts, last_unprivileged, context)
    low_ports = _low_ports(chain)
    message = f"{where} runs as root" + (" (USER root)" if user_instruction else " (no USER)")
    if low_ports:
        ports = ", ".join(str(p) for p in low_ports)
        message += (
            f"; it EXPOSEs port {ports} below 1024: a non-root user can bind it on Docker 20.10+ (which sets "
            "net.ipv4.ip_unprivileged_port_start=0), but not with network_mode: host or on engines without that "
            "setting, where it needs NET_BIND_SERVICE (or a port above 1023)"
        )

    def build() -> Patch:  # renders the template: only when the fix is applied
        lines = render_lines(template, **values)
        insert_at = _insertion_line(document, stage)
        edit = document.insert_before(insert_at, [_indent(document, stage, insert_at) + line for line in lines])
        return Patch((edit,), tuple(("stages", stage.label, _semantic_text(line)) for line in lines))

    fix = Fix(Applicability.REVIEW, (), build, (Caveat("", might_break),))
    return [_finding(document, anchor, message, Severity.WARNING, fix)]


def _finding(document: DockerfileDocument, anchor: Instruction, message: str, severity: Severity, fix: Fix | None) -> Finding:
    return Finding(RULE, message, *document.position_of(anchor), severity, RATIONALE, fix)


def _effective_user(chain: list[Stage]) -> tuple[str | None, str | None, Instruction | None]:
    """(effective user, last non-root user set on the way, the USER instruction that set root)."""
    user: str | None = None
    last_unprivileged: str | None = None
    setter: Instruction | None = None
    for stage in reversed(chain):
        for instruction in stage.instructions:
            if instruction.keyword == "USER":
                user = user_of(instruction)
                setter = instruction
                if "$" in user:
                    user = "?"  # set from a variable: nobody can tell, leave it alone
                elif user not in _ROOT:
                    last_unprivileged = instruction.args.strip()
    return user, last_unprivileged, setter if user in _ROOT else None


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


def _snippet(
    family: str | None, facts: knowledge.ImageFacts | None, last_unprivileged: str | None, context: Context
) -> tuple[str, dict[str, object], str]:
    """(template, its values, what might break) for the user switch this stage needs."""
    owned = (
        "files copied or created earlier stay owned by root and read-only to {user}: add --chown={user} to "
        "the COPY of anything the application writes; a volume over a root-owned directory may not be writable"
    )
    if last_unprivileged:
        return (
            "dockerfile/user-existing.j2",
            {"user": last_unprivileged},
            (f"steps run after the switch back to root ran as root; the process now runs as {last_unprivileged} again"),
        )
    if family == "windows":
        return (
            "dockerfile/user-existing.j2",
            {"user": "ContainerUser"},
            ("ContainerUser cannot write to C:\\Program Files or HKLM, or install software at runtime"),
        )
    if facts and facts.unprivileged_user:
        user = facts.unprivileged_user
        return (
            "dockerfile/user-existing.j2",
            {"user": user},
            (f"the image's own unprivileged user {user}: " + owned.format(user=user)),
        )
    if family == "distroless":
        return "dockerfile/user-existing.j2", {"user": "nonroot"}, "runs as nonroot (65532): " + owned.format(user="nonroot")
    if family in ("debian", "alpine", "rhel"):
        user = context.options["user"]
        return (
            f"dockerfile/user-{family}.j2",
            {"user": user},
            (f"new system user {user} (no home directory): " + owned.format(user=user)),
        )
    uid = context.options["uid"]
    why = {
        "scratch": "scratch has no user database",
        "rhel-minimal": "ubi-minimal lacks shadow-utils (useradd)",
    }.get(family or "", "the base image's distribution is unknown")
    return (
        "dockerfile/user-numeric.j2",
        {"uid": uid},
        (f"numeric user {uid} ({why}); the process cannot read root-only files: " + owned.format(user=uid)),
    )


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
