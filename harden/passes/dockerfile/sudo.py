"""sudo: a RUN instruction calls `sudo`.

What: reports each RUN (shell form, exec form or a shell heredoc, in every stage) in which a
command is `sudo` (or `/usr/bin/sudo`): `RUN sudo apt-get install -y curl`,
`RUN make && sudo make install`. The word `sudo` elsewhere is not a call: installing the
package (`apt-get install -y sudo`), removing it, or quoted text (`echo "no sudo here"`) is
not reported. Reported only: harden does not rewrite the build.

Why: RUN already runs as the stage's current `USER`; a build that needs sudo switched to an
unprivileged user and then asks to become root again, which works only because the image
ships sudo configured to let that user be root without a password. The same user can then
become root at runtime, and the image's non-root `USER` (CIS Docker Benchmark v1.6.0 4.1)
protects nothing. sudo also behaves unpredictably without a terminal (TTY, signal and
environment handling) (hadolint DL3004).

The safer alternative: put the steps that need root under `USER root` and switch back with
`USER app` afterwards, and do not install sudo in the image; an entrypoint that must drop
from root to a user at start-up uses `gosu` or `su-exec`, which exec the command and keep no
way back to root.

Fix safety: display (no fix).

Example (fixtures/sudo/display):

    FROM debian:bookworm
    RUN apt-get update && apt-get install -y --no-install-recommends sudo
    USER app
    RUN sudo make install
    RUN echo "no sudo needed" > /tmp/note
"""

from __future__ import annotations

from harden.dockerfile import DockerfileDocument
from harden.model import Applicability, Finding, Rule, Severity
from harden.passes import Context
from harden.passes.dockerfile import shell

RULE = Rule(
    id="sudo",
    title="RUN does not use sudo",
    control="CIS 4.1",
    applicability=Applicability.DISPLAY,
    kinds=("dockerfile",),
    peers="hadolint DL3004",
)
RATIONALE = (
    "An image whose user can run sudo lets that user become root at runtime: its non-root USER protects nothing, "
    "and sudo behaves unpredictably without a terminal."
)


def check(document: DockerfileDocument, context: Context) -> list[Finding]:
    findings = []
    for run in shell.runs(document):
        instruction, about = run.instruction, run.about
        if not any(shell.name(command.words[0]) == "sudo" for command in run.commands):
            continue
        line, column = shell.locate(document, instruction, r"(?<![\w.-])(?:/usr/bin/|/bin/)?sudo(?![\w.-])")
        message = (
            "RUN calls sudo: the image lets its user become root, at build time and at runtime, so its non-root "
            "USER protects nothing. harden does not change it; run the steps that need root under USER root, "
            "switch back to the unprivileged USER after them, and do not install sudo (DL3004)"
        )
        findings.append(Finding(RULE, message, line, column, Severity.WARNING, RATIONALE, None, about=about))
    return findings
