"""curl-pipe-shell: a RUN pipes a download into a shell.

What: reports each RUN (shell form, exec form or a shell heredoc, in every stage) that runs
what it downloads without keeping it: `curl ... | sh`, `wget -qO- ... | bash`, the same with
`sudo` or options before the shell (`| sudo -E bash -`, `| sh -s -- --yes`), and the forms
`sh -c "$(curl ...)"` and `bash <(curl ...)`. A download saved to a file and checked before
it runs (`curl -fsSLo install.sh URL && echo "SHA256  install.sh" | sha256sum -c - && sh
install.sh`), a download piped into another program (`| tar -xz`, `| gpg --dearmor`), and a
shell that runs its own `-c` script (`curl ... | sh -c 'cat > file'`) are not reported, nor
is a pipe inside quoted text. Reported only: harden cannot know the checksum.

Why: the script runs as the build's user (root, usually) with whatever the server sends at
build time: a compromised or hijacked download site, or a changed script, changes the image
without any change to the Dockerfile, and nothing records what ran. A script cut off
mid-download may even run half of itself (OWASP Docker Security Cheat Sheet rule 13, supply
chain; hadolint has no rule for it).

The safer alternative: download to a file, check it against a checksum you recorded (or a
signature), then run it; better, install the tool from the distribution's packages, or
`ADD --checksum=sha256:... URL` (BuildKit) a pinned release.

Fix safety: display (no fix).

Example (fixtures/curl-pipe-shell/display):

    FROM debian:bookworm
    RUN curl -fsSL https://example.com/install.sh | sh
    RUN wget -qO- https://example.com/setup | sudo -E bash -
    RUN sh -c "$(curl -fsSL https://example.com/install.sh)"
    RUN curl -fsSL https://example.com/tool.tar.gz | tar -xz -C /usr/local/bin
    RUN curl -fsSLo /tmp/i.sh https://example.com/i.sh && sha256sum -c /tmp/i.sh.sha256 && sh /tmp/i.sh
    RUN echo "curl https://example.com | sh" > /README
"""

from __future__ import annotations

from harden.dockerfile import DockerfileDocument
from harden.model import Applicability, Finding, Rule, Severity
from harden.passes import Context
from harden.passes.dockerfile import shell

RULE = Rule(
    id="curl-pipe-shell",
    title="RUN does not pipe a download into a shell",
    control="OWASP rule 13",
    applicability=Applicability.DISPLAY,
    kinds=("dockerfile",),
)
RATIONALE = (
    "A script piped from a download runs whatever the server sends at build time, unchecked and unrecorded: a "
    "compromised site changes the image without any change to the Dockerfile."
)
_DOWNLOADERS = frozenset({"curl", "wget"})
_WRAPPERS = frozenset({"sudo", "env", "exec", "nice", "nohup", "time"})


def check(document: DockerfileDocument, context: Context) -> list[Finding]:
    findings = []
    for run in shell.runs(document):
        instruction, about = run.instruction, run.about
        if not _pipes_download_into_shell(run.commands):
            continue
        line, column = shell.locate(document, instruction, r"(?<![\w.-])(?:curl|wget)(?![\w.-])")
        message = (
            "RUN pipes a download into a shell: it runs whatever the server sends at build time, unchecked and "
            "unrecorded. harden does not change it; download to a file, check it against a recorded sha256 "
            "(sha256sum -c) and then run it, or install the tool from the distribution's packages"
        )
        findings.append(Finding(RULE, message, line, column, Severity.WARNING, RATIONALE, None, about=about))
    return findings


def _pipes_download_into_shell(commands: list[shell.Command]) -> bool:
    downloading: set[int] = set()  # the pipelines in which a download was seen so far
    for command in commands:
        words = _unwrapped(command.words)
        program = shell.name(words[0]) if words else ""
        if program in _DOWNLOADERS:
            downloading.add(command.pipeline)
        elif program in shell.SHELLS:
            if command.pipeline in downloading and "-c" not in words:
                return True
            if _substitutes_download(words):
                return True
    return False


def _unwrapped(words: tuple[str, ...]) -> tuple[str, ...]:
    """The command a wrapper runs: `sudo -E bash -` is bash (options and assignments skipped)."""
    while words and shell.name(words[0]) in _WRAPPERS:
        words = words[1:]
        while words and (words[0].startswith("-") or "=" in words[0]):
            words = words[1:]
    return words


def _substitutes_download(words: tuple[str, ...]) -> bool:
    """`sh -c "$(curl URL)"` or `bash <(curl URL)`: the shell runs the download."""
    for index, word in enumerate(words[1:], start=1):
        if word == "<(" and index + 1 < len(words) and shell.name(words[index + 1]) in _DOWNLOADERS:
            return True
        if any(f"{opener}{downloader} " in word + " " for opener in ("$(", "`") for downloader in _DOWNLOADERS):
            return True
    return False
