"""Whether a variable's name says it holds a credential: the one rule of the passes that move or
report credentials (Compose `env-secrets`, Dockerfile `build-secrets`).

BuildKit's word rule (SecretsUsedInArgOrEnv), widened: the name's words (split at anything but
letters and digits) hold PASSWORD, PASSWD, PWORD, SECRET, TOKEN, CREDENTIAL(S) or APIKEY (at the
end of a word too: WEBPASSWORD), or are AUTH,
or API_KEY, or the name ends in a word KEY after another (`SSH_KEY`, `SECRET_KEY_BASE`). Not a
credential: a name whose last word says it holds something else (`PASSWORD_FILE`, `TOKEN_URL`,
`AUTH_METHOD`, `API_KEY_ID`), or a public one (`PUBLIC_KEY`, `GPG_KEY`: official images set it
to a key's fingerprint). Display masking (harden.compose.masking) uses a broader rule on
purpose: masking too much never leaks.
"""

from __future__ import annotations

import re

# at a word's end too (WEBPASSWORD, DBPASSWD; not TOKENIZER); AUTH only as a word of its own (not AUTHOR)
_CREDENTIAL_PARTS = (
    "PASSWORD",
    "PASSWORDS",
    "PASSWD",
    "PWORD",
    "SECRET",
    "SECRETS",
    "TOKEN",
    "TOKENS",
    "CREDENTIAL",
    "CREDENTIALS",
    "APIKEY",
)
_NOT_A_VALUE = frozenset(
    {"FILE", "PATH", "DIR", "URL", "URI", "ENDPOINT", "HOST", "PORT", "ID", "NAME", "USER", "USERNAME", "LENGTH", "TTL"}
    | {"TIMEOUT", "EXPIRY", "EXPIRES", "TYPE", "HEADER", "ALGORITHM", "ENABLED", "VERSION", "FINGERPRINT", "MODE", "COMMAND"}
    | {"METHOD", "PROVIDER", "MECHANISM", "STRATEGY", "SOURCE"}
)
_PUBLIC = frozenset({"PUBLIC", "PUB", "GPG", "PGP"})


def credential_name(name: str) -> bool:
    """Whether a variable's name says it holds a credential (BuildKit's word rule, widened)."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name.upper()) if w]
    if not words or words[-1] in _NOT_A_VALUE or _PUBLIC & set(words):
        return False
    if words[-1] == "KEY" and len(words) > 1:
        return True
    if "AUTH" in words or "API_KEY" in "_".join(words):
        return True
    return any(word.endswith(_CREDENTIAL_PARTS) for word in words)  # WEBPASSWORD, DBPASSWD; not TOKENIZER
