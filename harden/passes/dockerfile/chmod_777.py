"""chmod-777: a RUN makes files world-writable (`chmod 777`, `chmod a+rwx`).

What: reports each RUN (shell form, exec form or a shell heredoc, in every stage) with a
`chmod` whose mode gives everyone write and execute permission: `777` (also `0777`, and with
a set-user-id or set-group-id digit, `4777`, `2777`), `a+rwx`, `ugo+rwx` or `a=rwx`, with or
without `-R`. `1777` (world-writable with the sticky bit, the mode of /tmp) is the correct
mode for a shared scratch directory and is not reported, nor are narrower modes (`755`,
`o+r`). A chmod whose every target is removed later in the same RUN (`rm -rf "$tempDir"`, as
the official nginx image does with a build directory) leaves nothing world-writable in the
image and is not reported. Reported only: harden cannot tell which user needs to write there.

Why: a world-writable file or directory can be changed by any user in the container: a
compromised unprivileged process rewrites the programs, scripts or configuration that the
service (or root, in an entrypoint) runs later, and with `-R` everything below it (OWASP
Docker Security Cheat Sheet rule 8 keeps the container's files read-only for the same reason;
KICS, Trivy and hadolint have no rule for it).

The safer alternative: give the directory to the user that writes it (`chown app:app DIR`,
or `COPY --chown=app`), with `755` for directories and `644` for files, or `775` with a
group the service's user belongs to; keep `1777` for a shared temporary directory.

Fix safety: display (no fix).

Example (fixtures/chmod-777/display):

    FROM debian:bookworm
    RUN mkdir -p /app/data && chmod -R 777 /app
    RUN chmod a+rwx /usr/local/bin/entrypoint.sh
    RUN chmod 1777 /scratch && chmod 755 /app/bin
    RUN tempDir="$(mktemp -d)" && chmod 777 "$tempDir" && make -C "$tempDir" && rm -rf "$tempDir"
"""

from __future__ import annotations

import re

from harden.dockerfile import DockerfileDocument
from harden.model import Applicability, Finding, Rule, Severity
from harden.passes import Context
from harden.passes.dockerfile import shell

RULE = Rule(
    id="chmod-777",
    title="RUN makes nothing world-writable",
    control="OWASP rule 8",
    applicability=Applicability.DISPLAY,
    kinds=("dockerfile",),
)
RATIONALE = (
    "A world-writable file can be changed by any user in the container: a compromised unprivileged process "
    "rewrites what the service, or root in its entrypoint, runs next."
)
_OCTAL = re.compile(r"0*([0-7]?)777")
_SYMBOLIC = re.compile(r"(?:a|ugo)[+=]rwx")


def check(document: DockerfileDocument, context: Context) -> list[Finding]:
    findings = []
    for run in shell.runs(document):
        instruction, about = run.instruction, run.about
        mode = _world_writable(run.commands)
        if mode is None:
            continue
        line, column = shell.locate(document, instruction, r"(?<![\w.-])chmod(?![\w.-])")
        message = (
            f"chmod {mode} makes files writable by every user in the container: a compromised process rewrites "
            "what the service runs next. harden does not change it; give the directory to the user that writes "
            "it (chown, or COPY --chown) with 755 or 775, or 1777 for a shared temporary directory"
        )
        findings.append(Finding(RULE, message, line, column, Severity.WARNING, RATIONALE, None, about=about))
    return findings


def _world_writable(commands: list[shell.Command]) -> str | None:
    """The world-writable mode of the first chmod whose targets stay in the image, if any."""
    for index, command in enumerate(commands):
        if shell.name(command.words[0]) != "chmod":
            continue
        words = [w for w in command.words[1:] if not w.startswith("-")]
        if not words or not _opens(words[0]):
            continue
        removed = {w for later in commands[index + 1 :] if shell.name(later.words[0]) == "rm" for w in later.words[1:]}
        if not set(words[1:]) <= removed:
            return words[0]
    return None


def _opens(mode: str) -> bool:
    octal = _OCTAL.fullmatch(mode)
    if octal:
        return not int(octal.group(1) or "0") & 1  # the sticky bit (1777) is what a shared directory needs
    return any(_SYMBOLIC.fullmatch(part) for part in mode.split(","))
