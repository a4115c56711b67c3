"""build-secrets (Compose side): a credential a service passes in `build.args` becomes a build secret.

What: the Dockerfile half of this rule (harden.passes.dockerfile.build_secrets, `harden explain
build-secrets`) removes an `ARG` credential used by exactly one `RUN` and mounts it as a secret
there. That Dockerfile then needs the secret from its build: here, for each Compose service of the
run that builds such a Dockerfile of the run (Context.builders), the argument leaves `build.args`
and the build gets `secrets: [<id>]`, with a top-level secret whose source is where the value came
from:

- `NAME: ${VAR}` (or `$VAR`), and `- NAME` without a value (Compose reads NAME from the
  environment): a top-level secret `environment: VAR`; harden writes the value nowhere;
- `NAME: literal`: a secret file `./secrets/<id>` that harden creates (mode 0644 in a `secrets/` directory of mode 0700, the value
  exactly) and `secrets/` added to the `.gitignore` beside the Compose file, as env-secrets does;
  the finding says to rotate the value, which stays in the repository's history.

`<id>` is the ARG's name in lower case, the id the Dockerfile's mount reads. One fix per service;
the first of a file defines the top-level secrets of all of them (the others require it).

Both halves land together or neither (decided alike in both files, from the files as read): each
is `review` only when every service of the run that builds the Dockerfile can pass every moved
argument, else both are `unsafe`; and each is applied only when the run chooses all of them,
otherwise it `requires` the ids of those it does not choose (a finding of another file, which
this file never applies: it is held back). A service cannot pass it when its `build:` does not
set the argument (a build without it ran with it empty), when the value has a default
(`${VAR:-x}`) or mixes text and variables, when its `build:` is shared through an anchor or set in
another file of its project too, when a literal is in a file other than its project's first
(beside which the secret file goes), or when the project already defines a secret `<id>` from
another source. A Dockerfile outside the run is not edited, so nothing is changed for it here.

Why: a build argument is in the image's history (`docker history`) for anyone who can pull the
image; a build secret exists only while the `RUN` that mounts it runs (CIS Docker Benchmark 4.10).

What might break (fix safety: review, with the Dockerfile's fix): the build reads the secret
from the environment variable (it must be set where `docker compose build` runs) or from the
secret file; a deployment that sets the build argument on the command line
(`docker compose build --build-arg NAME=...`) must set the variable instead. harden writes files
one by one: when the Dockerfile's output is refused or cannot be written while the Compose file's
is written, the build passes the secret and no longer the argument, and its RUN gets an empty
value until the Dockerfile is fixed (a later run shows that fix as unsafe).

Example (fixtures/build-secrets/compose):

    services:
      web:
        build:
          context: .
          args:
            NPM_TOKEN: ${NPM_TOKEN}
            NODE_ENV: production

becomes

    services:
      web:
        build:
          context: .
          args:
            NODE_ENV: production
          secrets:
            - npm_token
    secrets:
      npm_token:
        environment: NPM_TOKEN
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harden.compose import ComposeDocument, own
from harden.compose.tree import is_map, is_seq
from harden.dockerfile import DockerfileDocument
from harden.model import (
    NO_EVIDENCE,
    Applicability,
    Caveat,
    Claim,
    Edit,
    Evidence,
    EvidenceKind,
    Finding,
    Fix,
    NewFile,
    Patch,
    Severity,
    finding_id,
)
from harden.passes import Builder, Context
from harden.passes.compose.credentials import judge
from harden.passes.compose.env_secrets import ROTATE, first_file_of_project
from harden.passes.compose.secret_moves import SECRET_FILE_MODE, SECRETS_DIR, gitignored_secrets
from harden.passes.dockerfile.build_secrets import RATIONALE, RULE, Pairing, Plan, plans

__all__ = ["RULE", "check", "pair"]

ABOUT = "build.secrets"  # the `about` of a service's finding (one per service)


@dataclass(frozen=True)
class Source:
    """Where one moved build argument's value comes from: an environment variable, or a literal."""

    name: str
    variable: str = ""
    literal: str | None = None

    @property
    def secret(self) -> str:
        return self.name.lower()

    def definition(self) -> dict[str, str]:
        return {"environment": self.variable} if self.literal is None else {"file": f"./{SECRETS_DIR}/{self.secret}"}


@dataclass(frozen=True)
class Half:
    """One service's side of the pair: its sources, or why it cannot pass the secrets."""

    builder: Builder
    sources: tuple[Source, ...]
    why_not: str
    line: int
    column: int

    @property
    def id(self) -> str:
        return finding_id(RULE.id, self.builder.document.path, self.builder.service, ABOUT)


def pair(dockerfile: DockerfileDocument, moved: Sequence[Plan], context: Context) -> tuple[Pairing, list[Half]]:
    """How the Dockerfile's fixes and their counterparts in the Compose files of the run land,
    decided from the files as read (so both sides decide alike), and each service's half."""
    builders = context.builders.get(dockerfile.path, ())
    if not moved or not builders:
        return Pairing(), []
    names = list(dict.fromkeys(p.name for p in moved))
    kept = _kept(dockerfile, moved)
    halves: list[Half] = []
    for builder in builders:
        half = _half(builder, names)
        if kept and not half.why_not:
            why = f"the Dockerfile also declares ARG {kept} where harden keeps it a build argument"
            half = Half(builder, (), why, half.line, half.column)
        halves.append(_consistent(half, halves))
    blocked = [h for h in halves if h.why_not]
    applicability = Applicability.UNSAFE if blocked else Applicability.REVIEW
    evidence = tuple(
        Evidence(EvidenceKind.BUILD, f"{h.builder.document.path}:{h.line}", f"{h.builder.service} passes it as build.secrets")
        for h in halves
    )
    fix = Fix(applicability)
    members = [Finding(RULE, "", 0, 0, Severity.WARNING, "", fix, "", p.about, path=dockerfile.path) for p in moved]
    members += [
        Finding(RULE, "", 0, 0, Severity.WARNING, "", fix, h.builder.service, ABOUT, path=h.builder.document.path) for h in halves
    ]
    unchosen = tuple(f.id for f in members if not context.chooses(f))
    who = ("the Compose service " if len(halves) == 1 else "the Compose services ") + ", ".join(
        f"{h.builder.service} ({h.builder.document.path})" for h in halves
    )
    why_not = "; ".join(f"{h.builder.service} ({h.builder.document.path}) cannot: {h.why_not}" for h in blocked)
    return Pairing(applicability, (NO_EVIDENCE,) if blocked else evidence, who, why_not, unchosen), halves


def _kept(dockerfile: DockerfileDocument, moved: Sequence[Plan]) -> str:
    """A moved name that another ARG of the Dockerfile declares (it still needs build.args), or ''."""
    arguments = {id(p.arg) for p in moved}
    names = {p.name for p in moved}
    for instruction in dockerfile.instructions:
        if instruction.keyword == "ARG" and id(instruction) not in arguments:
            found = names & {word.split("=", 1)[0] for word in instruction.args.split()}
            if found:
                return sorted(found)[0]
    return ""


def _half(builder: Builder, names: list[str]) -> Half:
    document: ComposeDocument = builder.document
    service = document.services[builder.service]
    line, column = service.line, service.column

    def blocked(why: str) -> Half:
        return Half(builder, (), why, line, column)

    elsewhere = [
        d.path for d in builder.related if isinstance(d, ComposeDocument) and d is not document and _builds(d, builder.service)
    ]
    if elsewhere or "extends" in service.node:
        return blocked(f"its build: is also set in {elsewhere[0]}" if elsewhere else "it extends another service")
    build = service.node.get("build")
    if not is_map(build):
        return blocked("its build: sets no build argument")
    if not service.own("build") or document.is_alias(service, "build") or document.shared(service, "build"):
        return blocked("its build: is shared with other services (an anchor)")
    if "args" in build and (not own(build, "args") or document.is_alias(build, "args")):
        return blocked("its build.args is shared with other services (an anchor)")
    entries = _entries(build.get("args"))
    sources = []
    for name in names:
        if name not in entries:
            return blocked(f"it does not set {name} in build.args (its build ran with {name} empty)")
        index, value = entries[name]
        position = (
            document.item_position(build, "args", index) if index is not None else document.key_position(build["args"], name)
        )
        line, column = position or (line, column)
        source = _source(name, value)
        if isinstance(source, str):
            return blocked(source)
        if source.literal is not None and not first_file_of_project(document, _related(builder)):
            return blocked("it is not its project's first file, beside which the secret file goes")
        defined = _defined(builder, source.secret)
        if defined is not None and defined != source.definition():
            return blocked(f"its project already defines a secret {source.secret} from another source")
        sources.append(source)
    return Half(builder, tuple(sources), "", line, column)


def _consistent(half: Half, earlier: list[Half]) -> Half:
    """The half, blocked when another service of its file passes one of its secrets from another source."""
    for other in (h for h in earlier if h.builder.document is half.builder.document and not h.why_not):
        known = {s.secret: s for s in other.sources}
        for source in half.sources:
            if source.secret in known and known[source.secret] != source:
                why = (
                    f"{other.builder.service} passes {source.name} from another source, and both would be secret {source.secret}"
                )
                return Half(half.builder, (), why, half.line, half.column)
    return half


def _builds(document: ComposeDocument, service: str) -> bool:
    found = document.services.get(service)
    return found is not None and "build" in found.node


def _related(builder: Builder) -> Context:
    return Context(related=builder.related)


def _defined(builder: Builder, secret: str) -> dict[str, Any] | None:
    """The project's top-level definition of `secret`, if any."""
    for document in [builder.document, *(d for d in builder.related if isinstance(d, ComposeDocument))]:
        found = document.semantic().get("secrets")
        if isinstance(found, dict) and secret in found:
            value = found[secret]
            return value if isinstance(value, dict) else {}
    return None


def _entries(args: Any) -> dict[str, tuple[int | None, str | None]]:
    """name -> (list index or None for a mapping key, value; None: no value) of `build.args`."""
    if is_map(args):
        return {str(k): (None, None if v is None else str(v)) for k, v in args.items()}
    if is_seq(args):
        found: dict[str, tuple[int | None, str | None]] = {}
        for index, item in enumerate(args):
            name, equals, value = str(item).partition("=")
            found[name] = (index, value if equals else None)
        return found
    return {}


def _source(name: str, value: str | None) -> Source | str:
    """Where the value of `NAME` comes from, or why harden cannot make it a secret."""
    if value is None:
        return Source(name, variable=name)  # Compose reads it from the environment of the build
    verdict = judge(name, value)
    if verdict is None:
        return f"harden does not read the value of {name} in build.args as a credential"
    if verdict.kind == "variable":
        return Source(name, variable=verdict.variable)
    if verdict.kind in ("literal", "url"):
        return Source(name, literal=value)
    if verdict.kind == "defaulted":
        return f"the value of {name} has a default after `:-`, a literal in the file: remove the default"
    return f"the value of {name} mixes text and variables, which cannot become one secret"


# --- the pass ----------------------------------------------------------------------------------


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings: list[Finding] = []
    pending: list[tuple[Half, Pairing, Plan, str]] = []
    for path, builders in context.builders.items():
        mine = [b for b in builders if b.document.path == document.path]
        built = context.builds.get(mine[0].service) if mine else None
        if built is None or built.document is None or built.document.path != path:
            continue
        moved = plans(built.document)
        pairing, halves = pair(built.document, moved, context)
        for half in (h for h in halves if h.builder.document.path == document.path):
            if _still_passed(document, half, moved):
                pending.append((half, pairing, moved[0], path))
    first_id = ""
    for half, pairing, plan, path in sorted(pending, key=lambda p: (p[0].line, p[0].column)):
        if half.why_not:
            findings.append(_finding(half, _unmovable(half, plan, path), None))
            continue
        shared = [h for h, _, _, _ in pending if not h.why_not] if not first_id else []
        fix = _fix(document, context, half, pairing, f"{path}:{plan.run.start_line + 1}", shared, first_id)
        findings.append(_finding(half, _message(half, plan, path, len(shared)), fix))
        first_id = first_id or half.id
    return findings


def _still_passed(document: ComposeDocument, half: Half, moved: Sequence[Plan]) -> bool:
    """Whether the service still passes a moved argument in this round's text (else its half is done)."""
    service = document.services.get(half.builder.service)
    build: Any = service.node.get("build") if service is not None else None
    if not is_map(build):
        return False
    entries = _entries(build.get("args"))
    return any(p.name in entries for p in moved)


def _finding(half: Half, message: str, fix: Fix | None) -> Finding:
    hidden = tuple(s.literal for s in half.sources if s.literal)
    subject = half.builder.service
    return Finding(RULE, message, half.line, half.column, Severity.WARNING, RATIONALE, fix, subject, ABOUT, secrets=hidden)


def _unmovable(half: Half, plan: Plan, path: str) -> str:
    return (
        f"build.args passes a credential to the build of {path}, which keeps it in the image's history; harden does not "
        f"move it: {half.why_not}; the fix of {path} (build-secrets, ARG {plan.name}) stays unsafe"
    )


def _message(half: Half, plan: Plan, path: str, defines: int) -> str:
    parts = []
    for source in half.sources:
        if source.literal is not None:
            where = (
                f"a secret file ./{SECRETS_DIR}/{source.secret} (mode 0644 in {SECRETS_DIR}/, mode 0700 and git-ignored); "
                f"{ROTATE}"
            )
        else:
            where = f"the environment variable {source.variable}"
        parts.append(f"{source.name} -> build secret {source.secret}, read from {where}")
    also = f"; this fix defines the top-level secrets of all {defines} services" if defines > 1 else ""
    return (
        f"build.args passes a credential to the build of {path}, which keeps it in the image's history: harden moves it "
        f"to build.secrets ({'; '.join(parts)}); it requires the fix of {path} (build-secrets, ARG {plan.name}) that "
        f"mounts it, and the two are applied together or not at all{also}"
    )


def _fix(
    document: ComposeDocument, context: Context, half: Half, pairing: Pairing, run: str, shared: list[Half], first_id: str
) -> Fix:
    claims: list[Claim] = [("services", half.builder.service, "build")]
    if shared:
        claims.append(("secrets",))

    def build() -> Patch:
        return _patch(document, context, half, shared)

    requires = pairing.requires(half.id) + ((first_id,) if first_id else ())
    caveats = tuple(Caveat(half.builder.service, _caveat(s)) for s in half.sources)
    evidence = (
        (Evidence(EvidenceKind.BUILD, run, "its RUN mounts the secret, with the same run's fix"),)
        if pairing.applicability is Applicability.REVIEW
        else (NO_EVIDENCE,)
    )
    return Fix(pairing.applicability, tuple(claims), build, caveats, requires, evidence)


def _caveat(source: Source) -> str:
    if source.literal is not None:
        return f"the build reads {source.name} from ./{SECRETS_DIR}/{source.secret}, which must exist where it runs"
    return (
        f"the build reads {source.name} from the environment variable {source.variable}, which must be set where "
        f"`docker compose build` runs; `--build-arg {source.name}=...` no longer reaches it"
    )


def _patch(document: ComposeDocument, context: Context, half: Half, shared: list[Half]) -> Patch:
    service = document.services[half.builder.service]
    build = service.node["build"]
    entries = _entries(build.get("args"))
    names = [s.name for s in half.sources if s.name in entries]
    removed: list[Edit] = []
    if len(names) == len(entries):
        removed.extend(document.remove_key(build, "args"))
    for name in names if len(names) < len(entries) else []:
        index = entries[name][0]
        removed.extend(document.remove_key(build["args"], name) if index is None else document.remove_item(build, "args", index))
    present: Any = build.get("secrets") if own(build, "secrets") else None
    listed = [str(item) for item in present] if is_seq(present) else []
    wanted = [s.secret for s in half.sources if s.secret not in listed]
    added: list[Edit] = []
    if is_seq(present):
        added.extend(document.extend_sequence(build, "secrets", wanted) if wanted else [])
    elif wanted:
        added.extend(document.add_key(build, "secrets", wanted))
    edits = _joined(document.text, removed, added)
    if not shared:
        return Patch(tuple(edits))
    return _top_level(document, context, shared, edits)


def _joined(text: str, removed: list[Edit], added: list[Edit]) -> list[Edit]:
    """Both lists of edits. Where `args:` was the last key of `build:`, the new `secrets:` goes at
    its end, inside the removed lines (it replaces the line break that ends them): the removed
    lines then become the new key's lines."""
    edits = list(removed)
    for addition in added:
        inside = next((r for r in edits if r.start <= addition.start and addition.end <= r.end and r.start < r.end), None)
        if inside is None:
            edits.append(addition)
            continue
        if not addition.text.startswith("\n") or text[inside.start - 1 : inside.start] != "\n" or addition.end != inside.end:
            raise ValueError("the new build.secrets would land inside the removed build.args")
        edits[edits.index(inside)] = Edit(inside.start, inside.end, addition.text[1:])
    return edits


def _top_level(document: ComposeDocument, context: Context, shared: list[Half], edits: list[Edit]) -> Patch:
    """The top-level secrets the file's halves need and it does not define yet, and their files."""
    top: Any = document.data.get("secrets") if own(document.data, "secrets") else None
    known = {str(k) for k in top} if is_map(top) else set()
    sources = {s.secret: s for h in shared for s in h.sources if s.secret not in known}
    definitions = {secret: source.definition() for secret, source in sources.items()}
    if is_map(top):
        for name, value in definitions.items():
            edits.extend(document.add_key(top, name, value))
    elif definitions:
        edits.extend(document.add_top_level("secrets", definitions, after="services" if own(document.data, "services") else None))
    files = [
        NewFile(f"{SECRETS_DIR}/{s.secret}", s.literal, SECRET_FILE_MODE, secret=True)
        for s in sources.values()
        if s.literal is not None
    ]
    if files:
        files.extend(gitignored_secrets(context.gitignore))
    return Patch(tuple(edits), new_files=tuple(files))
