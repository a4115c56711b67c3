"""add-instead-of-copy: `ADD` downloads without a checksum, or copies what COPY would.

What: for each `ADD` (shell or exec form, every stage):

- a source that is a URL (`http://`, `https://`) or a Git repository (`git@...`, `...git`)
  without `--checksum=` (a Git URL pinned to a full commit hash, `#<hash>`, is pinned) is
  reported (display): the build fetches whatever the server sends;
- an `ADD` whose sources are all local files or directories, none with an archive's extension
  (hadolint's list: `.tar`, `.gz`, `.tgz`, `.bz2`, `.xz`, `.Z`, `.lz`, `.lzma`, `.tbz2`, ...),
  becomes `COPY` (review fix), when its flags are ones COPY takes in the same meaning
  (`--chown`, `--chmod`, `--link`, `--exclude`); a heredoc source (`ADD <<EOF /file`) too.

Not reported: a local archive (ADD is the instruction that unpacks it), a source written with
a variable (`ADD ${SRC} /app`: harden cannot tell a URL from a file), `ADD --checksum=...
URL` (BuildKit verifies the download), and ADD inside `ONBUILD`.

Why: ADD does three things, copying, downloading and unpacking local tar archives, so a reader
cannot tell from `ADD x /y` which one happens; COPY does only the first (CIS Docker Benchmark
v1.6.0 4.9, "Ensure that COPY is used instead of ADD in Dockerfiles"; hadolint DL3020;
Checkov CKV_DOCKER_4; Trivy DS005). A URL fetched without a checksum changes the image
whenever the server's file changes, and nothing records what was fetched (OWASP rule 13).

What might break (fix safety: review, or safe when every source is a directory, written with a
final `/` or as `.`, or a heredoc): nothing, unless a file source without an archive's name is
a tar archive after all (ADD recognises gzip, bzip2 and xz tar archives by their content, not
their name): ADD unpacked it, COPY copies the archive file. The caveat names the files to
check. For a URL, harden cannot know the checksum: use `ADD --checksum=sha256:<digest> URL`
(Dockerfile syntax 1.6 and later), or `RUN curl -fsSLo FILE URL && echo "<digest>  FILE" |
sha256sum -c -`.

Example (fixtures/add-instead-of-copy/basic):

    FROM debian:bookworm
    ADD --chown=app:app config/ /etc/app/
    ADD start.sh /usr/local/bin/
    ADD https://example.com/tool.sh /usr/local/bin/tool
    ADD --checksum=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef https://example.com/tool.sh /tool
    ADD rootfs.tar.gz /
    ADD ${SOURCE} /src/

becomes

    FROM debian:bookworm
    COPY --chown=app:app config/ /etc/app/
    COPY start.sh /usr/local/bin/
    ADD https://example.com/tool.sh /usr/local/bin/tool
    ...

the first fix safe (a directory), the second review (start.sh could be a tar archive by content).
"""

from __future__ import annotations

import re

from harden.dockerfile import DockerfileDocument, Instruction, Stage
from harden.model import Applicability, Caveat, Claim, Edit, Evidence, EvidenceKind, Finding, Fix, Rule, Severity, prebuilt
from harden.passes import Context

RULE = Rule(
    id="add-instead-of-copy",
    title="COPY is used instead of ADD, and ADD downloads are checked",
    control="CIS 4.9",
    applicability=Applicability.REVIEW,
    kinds=("dockerfile",),
    peers="hadolint DL3020, Checkov CKV_DOCKER_4, Trivy DS005",
)
RATIONALE = (
    "ADD copies, downloads and unpacks, so a reader cannot tell what `ADD x /y` does, and a URL it fetches "
    "without a checksum changes the image whenever the server's file changes. COPY only copies."
)
_REMOTE = re.compile(r"^(?:https?://|git@)", re.IGNORECASE)
# hadolint's archiveFileFormatExtensions (src/Hadolint/Rule.hs)
_ARCHIVES = (".tar", ".Z", ".bz2", ".gz", ".lz", ".lzma", ".tZ", ".tb2", ".tbz", ".tbz2", ".tgz", ".tlz", ".tpz", ".txz", ".xz")
_GIT = re.compile(r"^git@|\.git(?:#|$)", re.IGNORECASE)
_PINNED_GIT = re.compile(r"#[0-9a-f]{40}(?::|$)")
_COPY_FLAGS = frozenset({"chown", "chmod", "link", "exclude"})


def check(document: DockerfileDocument, context: Context) -> list[Finding]:
    findings = []
    for stage in document.stages:
        for instruction in stage.instructions:
            if instruction.keyword == "ADD":
                finding = _finding(document, stage, instruction)
                if finding is not None:
                    findings.append(finding)
    return findings


def _sources(instruction: Instruction) -> list[str]:
    words = instruction.exec_form
    if words is None:
        words = instruction.args.split()
    return [w.strip("\"'") for w in words[:-1]]


def _finding(document: DockerfileDocument, stage: Stage, instruction: Instruction) -> Finding | None:
    sources = _sources(instruction)
    if not sources or any("$" in s for s in sources):
        return None
    line, column = document.position_of(instruction)
    remote = [s for s in sources if _REMOTE.match(s)]
    about = f"stage {stage.label}: {document.instruction_text(instruction)}"
    if remote:
        if instruction.flag("checksum") is not None or all(_PINNED_GIT.search(s) for s in remote):
            return None
        if _GIT.search(remote[0]):
            message = (
                f"ADD fetches the Git repository {remote[0]} at whatever its branch holds at build time. harden does "
                "not change it; pin a commit (URL#<full commit hash>) or use --checksum=<commit hash> (CIS 4.9)"
            )
            return Finding(RULE, message, line, column, Severity.WARNING, RATIONALE, None, about=about)
        message = (
            f"ADD downloads {remote[0]} without a checksum: the image changes whenever the server's file does, and "
            "nothing records what was fetched. harden does not change it; use ADD --checksum=sha256:<digest> (BuildKit), "
            "or RUN curl -fsSLo FILE URL && sha256sum -c against a recorded digest (CIS 4.9)"
        )
        return Finding(RULE, message, line, column, Severity.WARNING, RATIONALE, None, about=about)
    if any(s.endswith(_ARCHIVES) for s in sources):
        return None
    flags = {flag.lstrip("-").split("=", 1)[0].lower() for flag in instruction.flags}
    if not flags <= _COPY_FLAGS:
        return None
    return Finding(RULE, _LOCAL, line, column, Severity.INFO, RATIONALE, _fix(document, stage, instruction, sources), about=about)


_LOCAL = (
    "ADD of local files: COPY does the same and only that (ADD also downloads and unpacks, so a reader cannot tell "
    "which happens); harden writes COPY (CIS 4.9, DL3020)"
)


def _fix(document: DockerfileDocument, stage: Stage, instruction: Instruction, sources: list[str]) -> Fix:
    start = instruction.start + len(instruction.indent)
    written = document.text[start : start + 3]
    replacement = "copy" if written == "add" else "COPY"
    old = document.instruction_text(instruction)
    claims: tuple[Claim, ...] = (("stages", stage.label, old), ("stages", stage.label, "COPY" + old[3:]))
    files = [s for s in sources if not s.startswith("<<") and not s.endswith(("/", "/.")) and s != "."]
    if not files:  # directories and heredocs: ADD never unpacks them, COPY does exactly the same
        return Fix(Applicability.SAFE, claims, prebuilt([Edit(start, start + 3, replacement)]))
    caveat = Caveat(
        "",
        f"COPY does not unpack: if {', '.join(files)} is a tar archive (gzip, bzip2 or xz) under a name without an "
        "archive extension, ADD unpacked it and COPY copies the archive file",
    )
    line = document.position_of(instruction)[0]
    named = Evidence(EvidenceKind.BUILD, f"{document.path}:{line}", f"{', '.join(files)}: no archive name (ADD unpacks archives)")
    return Fix(Applicability.REVIEW, claims, prebuilt([Edit(start, start + 3, replacement)]), (caveat,), evidence=(named,))
