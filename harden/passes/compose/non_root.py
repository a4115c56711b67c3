"""compose-non-root: a service runs as the unprivileged user its image ships.

What: for a service with no `user:` (own or merged) whose image starts as root although the
image knowledge says it works unchanged as its unprivileged user (`nonroot_works`: redis as
`redis`, whose data directory the image already owns), add `user:` with that user. When
services merge an anchor and all run the same image, it goes into the anchored mapping once. A
service that extends another (`extends:`) and would get the same user inherits it from there;
a `user:` set on the service it extends is that service's to report.

Not fixed, only reported: `user: root` (or 0) written by the user, and images that start as
root to step down by themselves (postgres and mariadb with gosu, nginx's master process): a
`user:` would break their entrypoint, so they are left to `cap-drop-all`, which takes away the
capabilities root keeps. Unknown images are left alone: harden cannot tell whether they work as
another user (their Dockerfiles are `non-root-user`'s concern).

Why: A container process running as root is root on the host kernel: a single escape gives the
attacker the host. Running as an unprivileged user limits what a compromise can do (CIS Docker
Benchmark v1.6.0 4.1, the rationale `non-root-user` gives for Dockerfiles; KICS and dclint have
no Compose rule for it; hadolint, Trivy and Checkov do not read Compose files).

What might break (fix safety: review): files in volumes created earlier by root (a bind mount,
or a volume from before) may not be writable by the user: chown them once; the entrypoint's
own ownership fix-ups are skipped.

Example (fixtures/compose-non-root/redis):

    services:
      cache:
        image: redis:7.4
        volumes:
          - cache-data:/data
    volumes:
      cache-data:

becomes

    services:
      cache:
        image: redis:7.4
        volumes:
          - cache-data:/data
        user: redis
    volumes:
      cache-data:
"""

from __future__ import annotations

from harden import knowledge
from harden.compose import ComposeDocument
from harden.model import Applicability, Caveat, Evidence, Finding, Fix, Rule, Severity
from harden.passes import Context
from harden.passes.compose.images import facts, is_root, knowledge_evidence
from harden.passes.compose.layers import here, services, set_in
from harden.passes.compose.placement import Unit, in_anchor, per_service, plan_findings
from harden.passes.compose.wants import Want
from harden.passes.dockerfile.non_root_user import RATIONALE

RULE = Rule(
    id="compose-non-root",
    title="Services run as the unprivileged user their image ships",
    control="CIS 4.1",
    applicability=Applicability.REVIEW,
    kinds=("compose",),
)


def user_it_adds(image: knowledge.ImageFacts | None) -> str | None:
    """The user this rule sets for a service of `image` that sets none itself (None: no fix).
    cap-drop-all asks too: a service about to run as this user needs no root-only capability."""
    if image is None or not is_root(image.default_user):
        return None
    return image.unprivileged_user if image.nonroot_works and image.unprivileged_user else None


def _steps_down(image: knowledge.ImageFacts) -> str:
    """How the image leaves root: a master process that stays root is not a step-down to root."""
    other = image.unprivileged_user or "an unprivileged user"
    if image.drops_privileges == "master-worker":
        return f"keeps its master process as {image.runtime_user} and switches its workers to {other}"
    if is_root(image.runtime_user):  # gitea: s6 and sshd stay root, gitea itself runs as git
        return f"runs its service as {other} ({image.drops_privileges}) while its supervisor stays root"
    return f"steps down to {image.runtime_user} ({image.drops_privileges})"


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings: list[Finding] = []
    wants: dict[str, list[Want]] = {}
    users: dict[str, str] = {}
    evidence: dict[str, tuple[Evidence, ...]] = {}
    for service in services(document, context):
        if not here(service, "user"):
            continue  # another file of the project sets it (or, unset, defines the service first)
        image = facts(service)
        user = service.get("user")
        if user is not None and str(user).strip():
            if is_root(str(user).strip()):
                line, column = document.service_position(service, "user")
                message = (
                    f"user: {user} is set explicitly{set_in(service, 'user')}: the container runs as root; harden "
                    "leaves a user you set"
                )
                findings.append(_finding(line, column, Severity.WARNING, message, service.name))
            continue
        if image is None or not is_root(image.default_user):
            continue
        if added := user_it_adds(image):
            wants[service.name] = [Want("user", added)]
            users[service.name] = added
            evidence[service.name] = (knowledge_evidence(image, f"works as {added}"),)
        elif image.drops_privileges:
            message = (
                f"starts as root; {image.name} {_steps_down(image)} by itself, so harden adds no user:, which would "
                "break its entrypoint (cap-drop-all restricts what root keeps)"
            )
            findings.append(_finding(service.line, service.column, Severity.INFO, message, service.name))

    def describe(unit: Unit, names: list[str]) -> tuple[str, tuple[Caveat, ...]]:
        chosen = ", ".join(sorted({users[n] for n in names}))
        message = f"runs as root, but its image works as {chosen}: harden adds user: {chosen}{in_anchor(unit)}"
        might = {
            n: f"runs as {users[n]} from the start: files in volumes created earlier by root may not be "
            f"writable by {users[n]} (chown them once); the entrypoint's ownership fix-ups are skipped"
            for n in names
        }
        return message, per_service(might, names)

    blocked = "runs as root, and harden cannot add user: here"
    findings.extend(plan_findings(RULE, RATIONALE, document, wants, context, describe, blocked, evidence=evidence))
    findings.sort(key=lambda f: (f.line, f.column))
    return findings


def _finding(line: int, column: int, severity: Severity, message: str, subject: str, fix: Fix | None = None) -> Finding:
    return Finding(RULE, message, line, column, severity, RATIONALE, fix, subject)
