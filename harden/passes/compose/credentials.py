"""Which environment values are credentials, and whether the project's own start-up script reads a
variable's `*_FILE` form (`script_reads`), for harden.passes.compose.env_secrets; not a pass.

By name: harden.credentials.credential_name (shared with the Dockerfile build-secrets pass).
By value, with Yelp's detect-secrets (its regular-expression
plugins for known token formats: AWS, GitHub, GitLab, Slack, Stripe, OpenAI, PyPI, npm, JWT,
private keys, ...; and its base64 (4.5 bits a character) and hex (3.0) high-entropy
detectors, at its own defaults), for values of 16 characters or more (`detected`). Its keyword
and public-IP plugins are left out: names are read here, and an address is not a credential.

Not credentials, whatever the name says (decisions, each tested):

- an empty value, or a name without a value (`- TOKEN`: Compose takes it from the shell);
- a boolean or a small number (`MYSQL_RANDOM_ROOT_PASSWORD=yes`, `MYSQL_ALLOW_EMPTY_PASSWORD=1`,
  `TOKEN_TTL=3600`): flags and settings about a credential;
- a name ending in `_FILE` (`POSTGRES_PASSWORD_FILE=/run/secrets/x`) and a value that is a path
  under /run/secrets (`DATABASE_PASSWORD=/run/secrets/db-password`): they point at a secret;
- `POSTGRES_HOST_AUTH_METHOD=trust` and similar: its name is not a credential's.

A value that is exactly one variable (`${VAR}`, `$VAR`, `${VAR:?message}`) has no literal:
harden can move it to a secret read from that variable. A default (`${VAR:-x}`) is a literal
in the file, and a value mixing text and variables cannot become one secret: both are reported.
A URL with a literal password (`mysql://root:pw@db/x`) is a connection string: reported with
the change it needs, never rewritten (the application builds the URL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from harden.credentials import credential_name
from harden.model import Evidence, EvidenceKind

if TYPE_CHECKING:
    from harden.dockerfile.build import Build

_FLAGS = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "0", "1", "none", "null", "random", "empty"})
_VARIABLE = re.compile(r"^\$(?:\{(\w+)(?::?\?[^}]*)?\}|(\w+))$")
_DEFAULTED = re.compile(r"^\$\{(\w+):?-([^}]*)\}$")
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@/\s]+)@(?P<rest>\S+)$")
MIN_LENGTH = 16
# detect-secrets plugins left out: names are read above, and an IP address is no credential
_LEFT_OUT = frozenset({"Secret Keyword", "Public IP (ipv4)"})


@dataclass(frozen=True)
class Verdict:
    """What a value is: `kind` literal (a credential written in the file), variable (exactly one
    `${VAR}`: `variable` names it), defaulted (`${VAR:-literal}`), mixed (text and variables),
    url (a connection string with a literal password: `password`, `without` the URL less it);
    `why` says how it was recognised (by name, or the detector that matched)."""

    kind: str
    why: str
    variable: str = ""
    password: str = ""
    without: str = ""


def judge(name: str, value: str | None) -> Verdict | None:
    """The verdict on one `NAME=value` (None: not a credential)."""
    if value is None or not value.strip() or name.upper().endswith("_FILE"):
        return None
    text = value.strip()
    url = _URL.match(text)
    if url and "$" not in url.group("password"):
        without = f"{url.group('scheme')}{url.group('user')}@{url.group('rest')}"
        return Verdict("url", "a URL with a password", password=url.group("password"), without=without)
    by_name = credential_name(name)
    if by_name and (text.lower() in _FLAGS or (text.isdigit() and len(text) <= 6) or text.startswith("/run/secrets/")):
        return None
    variable = _VARIABLE.match(text)
    if variable:
        return Verdict("variable", "by name", variable=variable.group(1) or variable.group(2)) if by_name else None
    if "$" in text.replace("$$", ""):
        defaulted = _DEFAULTED.match(text)
        if not by_name:
            return None
        return Verdict("defaulted", "by name", variable=defaulted.group(1)) if defaulted else Verdict("mixed", "by name")
    if by_name:
        return Verdict("literal", "by name")
    found = detected(text)
    return Verdict("literal", f"by value ({found})") if found else None


def detected(value: str) -> str:
    """The detect-secrets plugin that recognises the value as a secret ('' when none does).
    Values under MIN_LENGTH characters, with a space, URLs (a password in one is read by
    `judge`) and paths are not asked: no token format detect-secrets knows is shorter, its
    entropy detectors rarely fire below it, and most Compose files then never import it
    (start-up time). A private key's header is one (as detect-secrets' own plugin says)."""
    if "PRIVATE KEY" in value:
        return "Private Key"
    if len(value) < MIN_LENGTH or " " in value or "://" in value or value.startswith("/"):
        return ""  # a URL without a password, or a path: no token
    for plugin in _plugins():
        if plugin.analyze_line(filename="environment", line=f'"{value}"', line_number=1):
            return str(plugin.secret_type)
    return ""


@cache
def _plugins() -> tuple[Any, ...]:
    """detect-secrets' plugins, at their defaults, imported when a value is first judged by value
    (start-up time: about 0.15 s, paid only by a Compose file with an unnamed literal value)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    plugins: dict[str, Any] = get_mapping_from_secret_type_to_class()
    return tuple(cls() for kind, cls in sorted(plugins.items()) if kind not in _LEFT_OUT)


def script_reads(build: Build | None, variable: str) -> Evidence | None:
    """Build evidence that the start-up script the service's Dockerfile copies and starts
    (Context.builds: its ENTRYPOINT or CMD names it) reads `<variable>_FILE`: the name written
    out, or a `file_env <variable>` call of the helper the official images' entrypoints define
    (it reads `${var}_FILE`, which the script must then spell); comment lines do not count. A
    service that replaces how its image starts (`entrypoint:` or `command:`) may not run the
    script: its caller does not ask."""
    if build is None or not build.scripts:
        return None
    literal = re.compile(rf"(?<![\w]){re.escape(variable)}_FILE(?!\w)")
    helper = re.compile(rf"^\s*file_env\s+['\"]?{re.escape(variable)}['\"]?(\s|$)")
    for script in build.scripts:
        text = script.text or ""
        for number, line in enumerate(text.splitlines(), 1):
            if line.lstrip().startswith("#"):
                continue  # a comment says nothing about what runs
            if literal.search(line) or (helper.search(line) and "_FILE" in text):
                where = f"{script.source}:{number}"
                return Evidence(EvidenceKind.BUILD, where, f"{where} reads {variable}_FILE")
    return None
