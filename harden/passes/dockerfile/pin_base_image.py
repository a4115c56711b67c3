"""pin-base-image: every external `FROM` is pinned to a digest, and pins are kept fresh.

What: `FROM python:3.12-slim` becomes `FROM python:3.12-slim@sha256:<digest>`, the digest the
tag points to, from the lockfile (whatever its age), else the cache or the registry (`harden pin`).
The tag stays so a human can still read it. `FROM builder` (a stage) and `FROM scratch` are
not images. A FROM written as `${BASE}` is pinned in the default of `ARG BASE=...`; a FROM whose
ARG has no default, or that builds the name from pieces (`python:${VERSION}`), gets a finding
instead of a guess. An existing `name:tag@sha256:old` moves to the tag's current digest only
with `--refresh`: a lockfile is used whatever its age.

Why: a tag can be moved to different content at any time, by the publisher or by whoever
controls the registry or a mirror; a digest cannot (OWASP Docker Security Cheat Sheet rule 13,
CIS 4.2 in spirit; hadolint DL3006 and DL3007; Checkov CKV_DOCKER_7; Trivy DS001).

What might break (fix safety: safe): nothing at pin time, the content is the same. Afterwards
the image no longer follows the tag: security updates arrive only when the pin is refreshed, so
run `harden pin --refresh` on a schedule (the pull-request bot does). `latest` or a missing tag
is pinned too, with a message to choose a version tag.

Example (fixtures/pin-base-image/basic):

    FROM python:3.12-slim
    CMD ["python"]

becomes, with the lockfile beside it,

    FROM python:3.12-slim@sha256:229a2c5bfa27522db7815ea81f9bed70af17ccb9de9fc7ad142b1877b5830d36
    CMD ["python"]
"""

from __future__ import annotations

import re

from harden.config import Settings
from harden.dockerfile import DockerfileDocument, Stage
from harden.model import Applicability, Claim, Finding, Fix, Rule, Severity, prebuilt
from harden.passes import Context
from harden.passes.pins import RATIONALE, caveats, decide, needs_resolution

RULE = Rule(
    id="pin-base-image",
    title="Base images are pinned to a digest",
    control="OWASP rule 13",
    applicability=Applicability.SAFE,
    kinds=("dockerfile",),
    peers="hadolint DL3006/DL3007, Checkov CKV_DOCKER_7, Trivy DS001",
)
_WHOLE_ARG = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def references(document: DockerfileDocument, settings: Settings) -> list[str]:
    """The image references this pass needs resolved (ARG defaults substituted)."""
    found = []
    for stage in document.stages:
        text = _image(document, stage)
        if text is not None:
            expanded = document.expand(text)
            if expanded and needs_resolution(expanded, settings.refresh):
                found.append(expanded)
    return found


def check(document: DockerfileDocument, context: Context) -> list[Finding]:
    findings: list[Finding] = []
    for stage in document.stages:
        text = _image(document, stage)
        if text is None:
            continue
        instruction = stage.instructions[0]
        line, column = document.position(document.word_offset(instruction, text))
        if "$" not in text:
            decision = decide(text, context.digests, context.settings.refresh, context.locked)
            if decision is not None:
                fix = None
                if decision.new_text:
                    old = document.instruction_text(instruction)
                    new = old.replace(text, decision.new_text, 1)
                    claims: tuple[Claim, ...] = (("stages", stage.label, old), ("stages", stage.label, new))
                    edit = document.replace_word(instruction, text, decision.new_text)
                    fix = Fix(Applicability.SAFE, claims, prebuilt([edit]), caveats(decision))
                findings.append(_finding(stage, decision.message, line, column, decision.severity, fix))
            continue
        findings.extend(_templated(document, stage, text, line, column, context))
    return findings


def _image(document: DockerfileDocument, stage: Stage) -> str | None:
    """The FROM text when it names an image (not a stage, not scratch)."""
    text = stage.base
    if document.stage_named(text, stage.index) is not None or text.lower() == "scratch":
        return None
    expanded = document.expand(text)
    if expanded is not None and (expanded.lower() == "scratch" or document.stage_named(expanded, stage.index)):
        return None
    return text


def _templated(document: DockerfileDocument, stage: Stage, text: str, line: int, column: int, context: Context) -> list[Finding]:
    expanded = document.expand(text)
    if expanded is None:
        message = (
            f"FROM {text}: an ARG it uses has no default, so nobody can tell which image this is; "
            "pass a pinned reference as a build argument"
        )
        return [_finding(stage, message, line, column, Severity.INFO)]
    whole = _WHOLE_ARG.fullmatch(text)
    argument = document.arg_declaration(whole.group(1)) if whole else None
    if whole is None or argument is None:
        decision = decide(expanded, context.digests, context.settings.refresh, context.locked)
        if decision is None or decision.new_text is None:
            return [_finding(stage, decision.message, line, column, decision.severity)] if decision else []
        message = f"FROM {text} (= {expanded}) is built from several ARGs: harden cannot pin it in place; use {decision.new_text}"
        return [_finding(stage, message, line, column, Severity.WARNING)]
    decision = decide(expanded, context.digests, context.settings.refresh, context.locked)
    if decision is None:
        return []
    fix = None
    if decision.new_text:
        old = document.instruction_text(argument)
        new = old.replace(expanded, decision.new_text, 1)
        claims: tuple[Claim, ...] = (("global", old), ("global", new))
        edit = document.replace_word(argument, expanded, decision.new_text)
        fix = Fix(Applicability.SAFE, claims, prebuilt([edit]), caveats(decision))
    message = f"{decision.message} (in the default of ARG {whole.group(1)}, which FROM {text} uses)"
    return [_finding(stage, message, line, column, decision.severity, fix)]


def _finding(stage: Stage, message: str, line: int, column: int, severity: Severity, fix: Fix | None = None) -> Finding:
    """A finding about a stage's base image (one per stage: the stage is what it is about)."""
    return Finding(RULE, message, line, column, severity, RATIONALE, fix, about=f"stage {stage.label}")
