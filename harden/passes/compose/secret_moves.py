"""How env-secrets (harden.passes.compose.env_secrets) moves a credential: what it found (`Use`,
one credential in one service's `environment:`; `Secret`, one value and its uses) and the edits
that move it (not a pass).

- `patch`: the review fix: each use `NAME: value` -> `<NAME>_FILE: /run/secrets/<secret>`, and
  for the first fix of a file every service's `secrets:` and the top-level definitions, the
  secret files (mode 0644 in a `secrets/` directory of mode 0700: SECRET_FILE_MODE) and the `.gitignore` that ignores them;
- `display_patch`: the display fix: the variable removed instead of renamed (the application must
  read the file), the service given the secret, the secret defined unless the review fix of the
  same value defines it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harden.compose import ComposeDocument, Service, own
from harden.compose.tree import is_map
from harden.model import Edit, Evidence, NewFile, Patch
from harden.passes import Context
from harden.passes.compose.credentials import Verdict

SECRETS_DIR = "secrets"
# A secret file is readable by every user (0644) in a directory only its owner may enter (0700,
# made by the sink): Docker Compose bind-mounts a `file:` secret with the host file's owner and
# mode (uid, gid and mode apply to Swarm only: docker/compose#9648), so a 0600 file owned by the
# user who ran harden is unreadable to an image's own user (grafana, pgadmin) and to root without
# DAC_OVERRIDE (after cap_drop: ALL); the directory keeps it from the host's other users.
SECRET_FILE_MODE = 0o644
IGNORED = f"{SECRETS_DIR}/"


@dataclass
class Use:
    """One credential in one service's `environment:` of this file, or in an env file it reads."""

    service: Service
    name: str
    value: str
    verdict: Verdict
    index: int | None  # the item of a list; None: a mapping key
    line: int
    column: int
    file_var: str = ""  # the *_FILE variable the image reads (knowledge); '' when none is known
    evidence: tuple[Evidence, ...] = ()
    env_file: str = ""  # in an env file: its path relative to the Compose file ('' in `environment:`)
    shown: str = ""  # in an env file: `path:line` as harden shows paths

    @property
    def named(self) -> str:
        """The variable, and where it is set when that is not `environment:`."""
        return f"{self.name} ({self.shown})" if self.shown else self.name

    @property
    def hidden(self) -> tuple[str, ...]:
        """The values no output may show (Finding.secrets)."""
        if self.verdict.kind == "url":
            return (self.verdict.password, self.value)
        return (self.value,) if self.verdict.kind == "literal" else ()


@dataclass
class Secret:
    """One value, moved into one Compose secret for every use harden can move."""

    name: str
    source: str  # the literal value, or the variable's name
    literal: bool
    uses: list[Use] = field(default_factory=list)


def services_of(secrets: list[Secret]) -> list[str]:
    return list(dict.fromkeys(u.service.name for s in secrets for u in s.uses))


def patch(document: ComposeDocument, context: Context, secret: Secret, shared: list[Secret]) -> Patch:
    """The review fix of one secret: its `environment:` uses renamed; the first fix of the file
    (`shared`: every secret) also carries what edits of several fixes would collide on: each
    service's `secrets:`, the top-level definitions, the files, and the env files' moves (one
    env file is one replaced file, whichever credentials leave it)."""
    edits: list[Edit] = []
    for use in secret.uses:
        if not use.env_file:
            edits.extend(_rename(document, use, secret.name))
    if not shared:
        return Patch(tuple(edits))
    in_files = [(u, s.name) for s in shared for u in s.uses if u.env_file]
    # a service that ends the file ends where the top-level key goes: its lines first
    for name in services_of(shared):
        service = document.services[name]
        edits.extend(
            _set_file_vars(document, service, {u.file_var: f"/run/secrets/{n}" for u, n in in_files if u.service is service})
        )
        wanted = [s.name for s in shared if any(u.service.name == name for u in s.uses)]
        edits.extend(give(document, service, wanted))
    defined, files = define(document, context, shared)
    return Patch((*edits, *defined), new_files=files + moved_out(context, [u for u, _ in in_files]))


def moved_out(context: Context, uses: list[Use]) -> tuple[NewFile, ...]:
    """Each env file the uses are in, without their lines (replaced only while it holds what was read)."""
    from harden.passes.compose.env_file_credentials import without

    texts = {f.source: f.text for files in context.attached.values() for f in files if f.text is not None}
    found: dict[str, NewFile] = {}
    for use in uses:
        base = texts.get(use.shown.rpartition(":")[0])
        if base is not None and use.env_file not in found:
            names = {u.name for u in uses if u.env_file == use.env_file}
            found[use.env_file] = NewFile(use.env_file, without(base, names), 0o600, base=base)
    return tuple(found.values())


def _set_file_vars(document: ComposeDocument, service: Service, settings: dict[str, str]) -> list[Edit]:
    """`NAME_FILE: /run/secrets/x` added to the service's `environment:` (a mapping or a list), or a new one."""
    if not settings:
        return []
    node = service.node.get("environment") if service.own("environment") else None
    if is_map(node):
        return [edit for name, value in settings.items() for edit in document.add_key(node, name, value)]
    if isinstance(node, list):
        return document.extend_sequence(service, "environment", [f"{name}={value}" for name, value in settings.items()])
    return document.add_key(service, "environment", settings)


def display_patch(document: ComposeDocument, context: Context, use: Use, secret: Secret, defined: bool) -> Patch:
    """The display fix: the variable removed, the service given the secret, and the secret
    defined (unless the review fix of the same value defines it)."""
    if use.env_file:
        edits = give(document, use.service, [secret.name])
        more, files = ([], ()) if defined else define(document, context, [secret])
        return Patch((*edits, *more), new_files=files + moved_out(context, [use]))
    if len(use.service.node["environment"]) == 1:  # not an empty `environment: []` left behind
        edits = document.remove_key(use.service, "environment")
    elif use.index is not None:
        edits = document.remove_item(use.service, "environment", use.index)
    else:
        edits = document.remove_key(use.service.node["environment"], use.name)
    edits = [*edits, *give(document, use.service, [secret.name])]
    if defined:
        return Patch(tuple(edits))
    more, files = define(document, context, [secret])
    return Patch((*edits, *more), new_files=files)


def give(document: ComposeDocument, service: Service, names: list[str]) -> list[Edit]:
    """`secrets: [names]` on a service (its list extended when it has one)."""
    if service.own("secrets") and isinstance(service.get("secrets"), list):
        return document.extend_sequence(service, "secrets", names)
    return document.add_key(service, "secrets", names)


def define(document: ComposeDocument, context: Context, shared: list[Secret]) -> tuple[list[Edit], tuple[NewFile, ...]]:
    """The top-level definitions of the secrets, and the files that hold the literal ones."""
    edits: list[Edit] = []
    definitions = {s.name: {"file": f"./{SECRETS_DIR}/{s.name}"} if s.literal else {"environment": s.source} for s in shared}
    top = document.data.get("secrets") if own(document.data, "secrets") else None
    if is_map(top):
        for name, value in definitions.items():
            edits.extend(document.add_key(top, name, value))
    else:
        # after `services:`, not at the end: a file without a final newline would see its last line changed
        edits.extend(document.add_top_level("secrets", definitions, after="services" if own(document.data, "services") else None))
    files = [NewFile(f"{SECRETS_DIR}/{s.name}", s.source, SECRET_FILE_MODE, secret=True) for s in shared if s.literal]
    if files:
        files.extend(gitignored_secrets(context.gitignore))
    return edits, tuple(files)


def gitignored_secrets(text: str | None) -> list[NewFile]:
    """The `.gitignore` that ignores the secret files: created, or extended when it does not yet."""
    if text is None:
        return [NewFile(".gitignore", IGNORED + "\n")]
    import pathspec

    if pathspec.GitIgnoreSpec.from_lines(text.splitlines()).match_file(f"{SECRETS_DIR}/any"):
        return []
    newline = "\r\n" if "\r\n" in text else "\n"
    separator = "" if not text or text.endswith("\n") else newline
    return [NewFile(".gitignore", f"{text}{separator}{IGNORED}{newline}", 0o644, base=text)]


def _rename(document: ComposeDocument, use: Use, secret: str) -> list[Edit]:
    """`NAME: value` -> `NAME_FILE: /run/secrets/<secret>` (the item `NAME=value` likewise)."""
    target = f"/run/secrets/{secret}"
    if use.index is not None:
        return document.replace_item(use.service, "environment", use.index, f"{use.file_var}={target}")
    node = use.service.node["environment"]
    line, column = document.key_position(node, use.name) or (0, 0)
    start = document.offset(line - 1, column - 1)
    quote = document.text[start] if document.text[start] in "\"'" else ""
    start += len(quote)
    if document.text[start : start + len(use.name)] != use.name:
        raise ValueError(f"the key {use.name} is not written plainly")
    return [Edit(start, start + len(use.name), use.file_var), *document.replace_scalar(node, use.name, target)]
