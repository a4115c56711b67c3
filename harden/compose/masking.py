"""Credentials masked for display (pure): what harden prints instead of a secret value.

harden shows environment values and command words as evidence (`harden graph`: `DB_HOST=db`).
Such text may hold a credential, and harden never prints one:

- `masked_url(text)`: the password of every URL in the text is `***`
  (`postgres://app:s3cret@db:5432/x` -> `postgres://app:***@db:5432/x`); the user name, host and
  path stay, since they are what a reviewer checks;
- `masked_setting(name, value)`: the whole value of a variable whose name looks like a credential
  (`credential_name`: `*PASSWORD*`, `*PASSWD*`, `*_PASS`, `*SECRET*`, `*TOKEN*`, `*_KEY`,
  `*API_KEY*`, `*CREDENTIAL*`, `*PRIVATE*`, `*AUTH*`) is `***`; any other value with its URL
  passwords masked;
- `masked_words(text)`: a command line, each `NAME=value` and `--name=value` word masked as a
  setting, the word after `--password`/`-p`-like flags and the rest of `-pPASSWORD` (mysql); URL
  passwords masked.

A `${VAR}` reference is not a secret (the value is elsewhere) but is masked like any value of a
credential name: the rule is simple and never leaks. What might break: a value that is a
credential under a name that does not look like one (`DB=hunter2`) is shown; a URL's password is
always masked, whatever the name.
"""

from __future__ import annotations

import re

MASK = "***"

_CREDENTIAL = re.compile(
    r"PASSWORD|PASSWD|(^|_)PASS$|(^|_)PWD$|SECRET|TOKEN|(^|_)KEY$|API_?KEY|CREDENTIAL|PRIVATE|(^|_)AUTH", re.I
)
# scheme://user:password@ : the password runs to the last '@' before the host (a password may hold '@' unescaped)
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)(?P<password>[^\s/]*)@")
_PASSWORD_FLAGS = frozenset({"-p", "--password", "--pass", "--passwd", "--token", "--secret", "--api-key", "--requirepass"})


def credential_name(name: str) -> bool:
    """Whether a variable (or flag) name looks like it holds a credential."""
    return bool(_CREDENTIAL.search(name.strip().lstrip("-").replace("-", "_")))


def masked_url(text: str) -> str:
    """The text with the password of every URL in it replaced by `***`."""
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@" if m["password"] else m[0], text)


def masked_setting(name: str, value: str | None) -> str:
    """`NAME=value` as harden shows it: `NAME=***` for a credential name, else URL passwords masked."""
    if value is None:
        return name
    return f"{name}={MASK if credential_name(name) and value else masked_url(value)}"


def masked_words(text: str) -> str:
    """A command line as harden shows it (module docstring); spacing kept."""
    parts = re.split(r"(\s+)", text)
    hide_next = False
    for index, part in enumerate(parts):
        if not part or part.isspace():
            continue
        word = part.strip("'\"")
        if hide_next:
            parts[index], hide_next = MASK, False
            continue
        if word in _PASSWORD_FLAGS:
            hide_next = True
        elif word.startswith("-p") and not word.startswith("--") and len(word) > 2:
            parts[index] = "-p" + MASK  # mysql's -pPASSWORD
        elif "=" in word:
            name, _, value = word.partition("=")
            parts[index] = masked_setting(name, value)
        else:
            parts[index] = masked_url(part)
    return "".join(parts)
