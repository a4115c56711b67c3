"""env-secrets: credentials move out of `environment:` into Compose `secrets:`.

What: a credential in a service's `environment:` (mapping or `NAME=value` list; which values
are credentials, by name and by value, is decided in harden.passes.compose.credentials), or in
an env file it names in `env_file:` (harden.passes.compose.env_file_credentials: the line leaves
the file, which the fix replaces whole while it still holds what was read, and `<NAME>_FILE`
goes into `environment:`; a file other services read too, or a line harden cannot move as
written, is reported with the change to make by hand), moves
into a Compose secret, where the image reads the variable's `*_FILE` form (image knowledge
`secret_file_vars`: postgres, mysql, mariadb, mongo, wordpress, nextcloud, grafana, gitea,
pgadmin, ...), or, for a service that builds its image, where the start-up script its Dockerfile
copies and runs (ENTRYPOINT or CMD) reads `<NAME>_FILE` (the name written out, or a `file_env
NAME` call of the official images' helper; evidence `build`, the script's path:line; not for a
service that sets `entrypoint:` or `command:`, which may not run the script):

- a literal value becomes a top-level secret `file: ./secrets/<name>` that harden creates (mode
  0644 in a `secrets/` directory of mode 0700, the value exactly, without a final newline) and
  `secrets/` is added to the `.gitignore` beside the Compose file (created when there is none);
- a `${VAR}` value becomes a top-level secret `environment: VAR`: the value still comes from the
  deployer's environment, and harden writes it nowhere;
- the service gets `secrets: [<name>]`, and `NAME: value` becomes `NAME_FILE: /run/secrets/<name>`.

One value used by several services or variables (a database's password and the application
that logs in with it) becomes one secret given to each. The secret is named after the first
variable that holds it (lower case), with `_2`, `_3` when the project already has that name.

A credential whose image harden does not know to read a `*_FILE` variable gets a `display` fix:
the same secret (file or `environment:` source, or the secret the review fix of the same value
defines) and `secrets: [<name>]` on the service, and the variable removed, not renamed: the
application must read /run/secrets/<name> itself. Removing it is the point (a credential left in
the environment is not moved) and is what would break an application that reads the variable,
which is why the fix is display: `harden diff` shows what it would change, and no option applies
it (not --unsafe-fixes either).

Reported only (no fix): a URL with
a literal password (`DATABASE_URL=mysql://root:***@db/app`), with the exact change: the URL
without the password, and the password as a secret; a `${VAR:-default}` value (the default is a
literal in the file), a value mixing text and variables, a variable that the service also sets
in its `*_FILE` form, and a credential harden cannot move through this file (an environment
merged from an anchor or shared by other services, a literal in a file other than its project's
first, where the secret file would go).

Secret values are never printed: messages name the variable, never the value; the engine masks
the values in the semantic summary and in errors, and `harden diff --redact` in the diff's own
lines too (by default the diff shows the removed lines as they are in your file). The secret
files are never shown in a diff.

Why: an environment variable is visible to `docker inspect`, to every process of the container
and its children, and often in logs and crash reports; a Compose secret is a file under
/run/secrets that only the service given it sees (OWASP Docker Security Cheat Sheet rule 12;
KICS "Passwords And Secrets"; Checkov CKV_SECRET_*). A value written in a Compose file is also
in the repository's history: the finding says to rotate it, because moving it does not remove it
from there.

What might break (fix safety: review): with Docker Compose (not Swarm) a `file:` secret is a bind
mount of the host file with its owner and mode (docker/compose#9648), so harden writes it readable
by every user (0644: the image's own user, or root without DAC_OVERRIDE after `cap_drop: [ALL]`,
must read it) inside a `secrets/` directory of mode 0700, which keeps it from the host's other
users: keep that directory's mode when you copy the project. A deployment that sets the variable on
the command line or in CI must now provide the secret file (or the environment variable a `${VAR}`
secret names).
When the fix of one credential is left out (`--ignore` or a review), the first credential's fix
still defines every secret of the file, so a left-out secret is defined and given to its
services but unused.

Example (fixtures/env-secrets/literal-and-variable):

    services:
      db:
        image: postgres:16
        environment:
          POSTGRES_USER: app
          POSTGRES_PASSWORD: example-password
      admin:
        image: dpage/pgadmin4:8
        environment:
          - PGADMIN_DEFAULT_EMAIL=admin@example.org
          - PGADMIN_DEFAULT_PASSWORD=${PGADMIN_PASSWORD}

becomes

    services:
      db:
        image: postgres:16
        environment:
          POSTGRES_USER: app
          POSTGRES_PASSWORD_FILE: /run/secrets/postgres_password
        secrets:
          - postgres_password
      admin:
        image: dpage/pgadmin4:8
        environment:
          - PGADMIN_DEFAULT_EMAIL=admin@example.org
          - PGADMIN_DEFAULT_PASSWORD_FILE=/run/secrets/pgadmin_default_password
        secrets:
          - pgadmin_default_password
    secrets:
      postgres_password:
        file: ./secrets/postgres_password
      pgadmin_default_password:
        environment: PGADMIN_PASSWORD

and creates `secrets/postgres_password` (mode 0644 in `secrets/`, mode 0700) and `.gitignore` with `secrets/`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from harden.compose import ComposeDocument, Service, is_alias_value, own
from harden.compose.tree import is_map, is_seq
from harden.model import (
    Applicability,
    Caveat,
    Claim,
    Evidence,
    Finding,
    Fix,
    Patch,
    Rule,
    Severity,
    Unfixable,
    finding_id,
)
from harden.passes import Context
from harden.passes.compose import env_file_credentials
from harden.passes.compose import secret_moves as moves
from harden.passes.compose.credentials import judge, script_reads
from harden.passes.compose.images import facts, knowledge_evidence
from harden.passes.compose.layers import services
from harden.passes.compose.secret_moves import SECRETS_DIR, Secret, Use, services_of

if TYPE_CHECKING:
    from harden.dockerfile.build import Build
    from harden.knowledge import ImageFacts

RULE = Rule(
    id="env-secrets",
    title="Credentials are not in environment variables",
    control="OWASP rule 12",
    applicability=Applicability.REVIEW,
    kinds=("compose",),
    peers="KICS Passwords And Secrets; Checkov CKV_SECRET_*",
)
RATIONALE = (
    "An environment variable is visible to docker inspect and to every process in the container; a Compose secret is "
    "a file only the service given it can read."
)
ROTATE = "it is in the repository's history: rotate it"
FILE_READ = (
    "the secret file is bind-mounted with its host owner and mode, so harden makes it readable by any user (0644) in a "
    "secrets/ directory only its owner may enter (0700): keep that mode, which is what keeps the host's other users out"
)


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    uses, findings = _uses(document, context)
    secrets = _secrets(document, context, [u for u in uses if u.verdict.kind in ("literal", "variable")])
    first_file = first_file_of_project(document, context)
    movable: list[Secret] = []
    for secret in secrets:
        why_not = (
            "" if first_file or not secret.literal else "it is not its project's first file, beside which the secret file goes"
        )
        moved = [u for u in secret.uses if u.file_var and not why_not]
        for use in secret.uses:
            if not use.file_var or why_not:
                findings.append(_display(document, context, use, secret, why_not, bool(moved)))
        secret.uses = moved
        if secret.uses:
            movable.append(secret)
    findings.extend(_urls(uses, secrets))
    findings.extend(_fixes(document, context, movable))
    findings.sort(key=lambda f: (f.line, f.column))
    return findings


def _uses(document: ComposeDocument, context: Context) -> tuple[list[Use], list[Finding]]:
    """Every credential in the `environment:` this file writes and in the env files its
    services read, and what cannot be moved from here."""
    uses: list[Use] = []
    findings: list[Finding] = []
    for view in services(document, context):
        service = document.services[view.name]
        node = service.node.get("environment")
        pairs = _pairs(node)
        found = [u for u in (_use(document, service, node, *pair) for pair in pairs) if u is not None]
        in_files, blocked = env_file_credentials.uses(document, context, service, {name for _, name, _ in pairs})
        stops = {id(b.use): b.why for b in blocked}
        why = _blocked(document, service) if node is not None else ""
        image = facts(view)
        restarts = any(service.get(key) is not None for key in ("entrypoint", "command"))  # the script may not run
        targets: dict[str, str] = {}  # *_FILE variable -> the credential that becomes it
        for use in [*found, *in_files, *(b.use for b in blocked)]:
            read = _reads(use, image, None if restarts else context.builds.get(view.name))
            other = targets.setdefault(use.file_var, use.name) if use.file_var else use.name
            if other != use.name:
                findings.append(_unmovable(use, f"{other} also becomes {use.file_var}: set one of them"))
            elif use.file_var and any(n == use.file_var for _, n, _ in pairs):
                message = (
                    f"{use.named} holds a credential and is set beside {use.file_var}, which the image reads: remove {use.name}"
                )
                findings.append(_finding(use, message))
            elif stops.get(id(use)) or use.verdict.kind in ("defaulted", "mixed") or (not use.env_file and why):
                findings.append(_unmovable(use, stops.get(id(use)) or why))
            elif not use.env_file and use.index is None and not own(node, use.name):
                findings.append(_unmovable(use, "it is merged from an anchor's mapping"))
            else:
                use.evidence = (read,) if read else ()
                uses.append(use)
    return uses, findings


def _reads(use: Use, image: ImageFacts | None, build: Build | None) -> Evidence | None:
    """Set the `*_FILE` variable the service reads instead of `use` (knowledge first, else the
    project's start-up script, when `build` is given), and return the evidence for it."""
    use.file_var = image.secret_file_vars.get(use.name, "") if image else ""
    if use.file_var and image:
        return knowledge_evidence(image, f"reads {use.file_var}")
    read = script_reads(build, use.name)
    use.file_var = f"{use.name}_FILE" if read else ""
    return read


def _use(document: ComposeDocument, service: Service, node: Any, index: int | None, name: str, value: str | None) -> Use | None:
    """The credential `name=value` of the service's `environment:` (None: not a credential)."""
    verdict = judge(name, value)
    if verdict is None or value is None:
        return None
    line, column = _position(document, service, node, name, index)
    return Use(service, name, value, verdict, index, line, column)


def _pairs(node: Any) -> list[tuple[int | None, str, str | None]]:
    """(list index or None, name, value as Compose reads it) of an environment mapping or list."""
    if is_map(node):
        return [(None, str(k), _text(v)) for k, v in node.items()]
    if is_seq(node):
        found: list[tuple[int | None, str, str | None]] = []
        for index, item in enumerate(node):
            name, equals, value = str(item).partition("=")
            found.append((index, name, value if equals else None))
        return found
    return []


def _text(value: object) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    return str(value)


def _blocked(document: ComposeDocument, service: Service) -> str:
    """Why the environment cannot be edited through this service ('' when it can)."""
    if not service.own("environment"):
        return f"its environment is merged from the anchor &{service.merged_from('environment') or '?'}"
    if is_alias_value(document, service.node, "environment"):
        return "its environment is an alias of a mapping used elsewhere"
    return document.shared(service, "environment")


def _position(document: ComposeDocument, service: Service, node: object, name: str, index: int | None) -> tuple[int, int]:
    if index is not None:
        return document.item_position(service, "environment", index) or (service.line, service.column)
    return document.key_position(node, name) or (service.line, service.column)


def first_file_of_project(document: ComposeDocument, context: Context) -> bool:
    """Whether relative paths in this file are relative to its own directory: it is its
    project's first file (or alone), whose directory Compose resolves them against."""
    related = [d for d in context.related if isinstance(d, ComposeDocument)]
    return not related or related[0] is document or related[0].path == document.path


def _secrets(document: ComposeDocument, context: Context, uses: list[Use]) -> list[Secret]:
    """The uses grouped by value (a literal, or a variable's name), each group named once."""
    taken = _defined(document, context)
    found: dict[tuple[bool, str], Secret] = {}
    for use in sorted(uses, key=lambda u: not u.file_var):  # named after a variable harden moves, if any
        literal = use.verdict.kind == "literal"
        key = (literal, use.value.strip() if literal else use.verdict.variable)
        if key not in found:
            base = re.sub(r"[^a-z0-9_.-]", "_", use.name.lower()).strip("._-") or "secret"
            name, number = base, 1
            while name in taken:
                number += 1
                name = f"{base}_{number}"
            taken.add(name)
            found[key] = Secret(name, key[1], literal)
        found[key].uses.append(use)
    return list(found.values())


def _defined(document: ComposeDocument, context: Context) -> set[str]:
    """The top-level secrets of the project (and this file)."""
    names: set[str] = set()
    for doc in [document, *(d for d in context.related if isinstance(d, ComposeDocument))]:
        value = doc.semantic().get("secrets")
        if isinstance(value, dict):
            names.update(str(k) for k in value)
    return names


def _display(document: ComposeDocument, context: Context, use: Use, secret: Secret, why_not: str, defined: bool) -> Finding:
    """A credential harden does not move: reported; where only the image's reading is unknown,
    with a display fix that shows the move (`defined`: the review fix of the same value defines
    the secret)."""
    rotate = f"; {ROTATE}" if secret.literal else ""
    if why_not:
        why = f"{use.named} holds a credential ({use.verdict.why})"
        return _finding(use, f"{why}; harden does not move it here: {why_not}{rotate}")
    image = use.service.resolved_image or ("the image it builds" if use.service.has_build else "its image")
    where = "defined by the fix of the same value" if defined else _where(secret)
    message = (
        f"{use.named} holds a credential ({use.verdict.why}), and harden does not know that {image} reads a "
        f"{use.name}_FILE variable: move it to secret {secret.name}, {where}, remove {use.name}{_from(use)}, and have the "
        f"application read /run/secrets/{secret.name} instead of the variable (the display fix shows it; harden never "
        f"applies it){rotate}"
    )
    service = use.service.name
    claims: tuple[Claim, ...] = (("services", service, "environment"), ("services", service, "secrets"), ("secrets",))

    def build() -> Patch:
        try:
            return moves.display_patch(document, context, use, secret, defined)
        except ValueError as error:  # the text is not written as planned: the finding says what to do
            raise Unfixable(()) from error

    caveat = Caveat(service, f"{use.name} is removed: the application must read /run/secrets/{secret.name} instead")
    fix = Fix(Applicability.DISPLAY, claims, build, (caveat,))
    return _finding(use, message, fix=fix)


def _unmovable(use: Use, why: str) -> Finding:
    kind = use.verdict.kind
    if kind == "defaulted":
        why = f"its default after `:-` is a literal in the file: remove the default, and harden moves ${{{use.verdict.variable}}}"
    elif kind == "mixed":
        why = "it mixes text and variables, which cannot become one secret"
    return _finding(use, f"{use.named} holds a credential ({use.verdict.why}); harden does not move it: {why}{_by_hand(use)}")


def _from(use: Use) -> str:
    return f" from {use.shown.rpartition(':')[0]}" if use.shown else ""


def _by_hand(use: Use) -> str:
    """The exact change for a credential in an env file that harden does not move."""
    if not use.shown:
        return ""
    secret = re.sub(r"[^a-z0-9_.-]", "_", use.name.lower())
    setting = f"set {use.name}_FILE=/run/secrets/{secret} in its environment where the application reads it"
    return (
        f"; by hand: remove the line{_from(use)}, put the value in ./{SECRETS_DIR}/{secret} (mode 0644 in "
        f"secrets/, mode 0700, git-ignored), define secret {secret} with that file, give {use.service.name} (and every "
        f"service that reads the file) secrets: [{secret}] and {setting}"
    )


def _urls(uses: list[Use], secrets: list[Secret]) -> list[Finding]:
    """A connection string with a literal password: the exact change, never the password."""
    by_value = {s.source: s for s in secrets if s.literal and s.uses}
    found = []
    for use in (u for u in uses if u.verdict.kind == "url"):
        secret = by_value.get(use.verdict.password)
        if secret is not None:
            where = (
                f"read the password from /run/secrets/{secret.name} (the same value, which harden moves from "
                f"{secret.uses[0].name}; give {use.service.name} secrets: [{secret.name}])"
            )
        else:
            where = "read the password from a Compose secret at /run/secrets/<name>"
        change = f"set {use.name}={use.verdict.without} and have the application {where}"
        message = f"{use.named} is a URL with a password: {change}; {ROTATE}"
        found.append(_finding(use, message, Severity.WARNING))
    return found


def _finding(use: Use, message: str, severity: Severity = Severity.WARNING, fix: Fix | None = None) -> Finding:
    return Finding(RULE, message, use.line, use.column, severity, RATIONALE, fix, use.service.name, use.name, secrets=use.hidden)


def _fixes(document: ComposeDocument, context: Context, movable: list[Secret]) -> list[Finding]:
    """One review finding a secret. The first carries what all of them share (the top-level
    definitions, each service's `secrets:`, the files): edits of two fixes at one place would
    run together (two `secrets:` keys). The others require it."""
    findings: list[Finding] = []
    first_id = ""
    for number, secret in enumerate(movable):
        use = secret.uses[0]
        subject = ", ".join(dict.fromkeys(u.service.name for u in secret.uses))
        about = f"secret:{secret.name}"
        shared = movable if number == 0 else []
        claims: list[Claim] = [("services", u.service.name, "environment") for u in secret.uses]
        if shared:
            claims += [("secrets",)] + [("services", n, "secrets") for n in services_of(shared)]

        def build(secret: Secret = secret, shared: list[Secret] = shared) -> Patch:
            return moves.patch(document, context, secret, shared)

        requires = (first_id,) if first_id else ()
        evidence = tuple(dict.fromkeys(e for u in secret.uses for e in u.evidence))
        fix = Fix(Applicability.REVIEW, tuple(claims), build, _caveats(secret), requires, evidence)
        hidden = (secret.source,) if secret.literal else ()
        line, column = use.line, use.column
        findings.append(
            Finding(
                RULE, _message(secret, shared), line, column, Severity.WARNING, RATIONALE, fix, subject, about, secrets=hidden
            )
        )
        if not first_id:
            first_id = finding_id(RULE.id, document.path, subject, about)
    return findings


def _message(secret: Secret, shared: list[Secret]) -> str:
    moved = ", ".join(f"{u.service.name}: {u.named} -> {u.file_var}" for u in secret.uses)
    where = f"{_where(secret)}; {ROTATE}" if secret.literal else _where(secret)
    also = f"; this fix defines all {len(shared)} secrets of the file" if len(shared) > 1 else ""
    return f"a credential is in environment variables ({moved}): harden moves it to secret {secret.name}, {where}{also}"


def _where(secret: Secret) -> str:
    if secret.literal:
        return f"a secret file ./{SECRETS_DIR}/{secret.name} (mode 0644 in {SECRETS_DIR}/, mode 0700 and git-ignored)"
    return f"a secret read from the environment variable {secret.source}"


def _caveats(secret: Secret) -> tuple[Caveat, ...]:
    text = FILE_READ if secret.literal else "the deployment must set the environment variable " + secret.source
    return tuple(Caveat(name, text) for name in dict.fromkeys(u.service.name for u in secret.uses))
