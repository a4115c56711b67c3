"""pin-image: every Compose `image:` is pinned to a digest, and pins are kept fresh.

What: `image: redis:7` becomes `image: redis:7@sha256:<digest>`, the digest the tag points to
(from the lockfile, whatever its age, else the cache or the registry; see `harden pin`), keeping the tag
for humans and the value's quoting. An image set in an anchored mapping (`x-defaults: &d`) is
pinned there, once, for every service that merges it. An image written with a variable
(`${VAR}`) is not pinned: it gets a finding, which names the image the project's `.env` (or
`--env-file`) makes of it; harden never writes a resolved value into the file.
With `--refresh`, `name:tag@sha256:old` moves to the current
digest. A service that only has `build:` has no image to pin.

Why: the same as pin-base-image: a tag can be moved to different content by whoever controls
the registry or a mirror; a digest cannot (OWASP Docker Security Cheat Sheet rule 13; KICS
"Image Version Not Explicit"; Checkov CKV_DOCKER_7 for Dockerfiles).

What might break (fix safety: safe): nothing at pin time. The service then no longer follows
the tag: security updates arrive when the pin is refreshed (`harden pin --refresh`, or the
pull-request bot on a schedule).

Example (fixtures/pin-image/basic):

    services:
      cache:
        image: redis:7

becomes, with the lockfile beside it,

    services:
      cache:
        image: redis:7@sha256:c6eabf748fc7a61dbb5a705c78bcf3d6377b1127a97d0ce965c11c44ba46896f
"""

from __future__ import annotations

from harden.compose import ComposeDocument, Service
from harden.config import Settings
from harden.model import Applicability, Claim, Finding, Fix, Rule, Severity, prebuilt
from harden.passes import Context
from harden.passes.compose.layers import here, services
from harden.passes.pins import RATIONALE, caveats, decide, needs_resolution

RULE = Rule(
    id="pin-image",
    title="Compose images are pinned to a digest",
    control="OWASP rule 13",
    applicability=Applicability.SAFE,
    kinds=("compose",),
    peers="KICS Image Version Not Explicit, dclint service-image-require-explicit-tag",
)


def references(document: ComposeDocument, settings: Settings) -> list[str]:
    images = [s.image for s in document.services.values() if s.image and "$" not in s.image]
    return [image for image in images if needs_resolution(image, settings.refresh)]


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings: list[Finding] = []
    done: set[str] = set()  # anchors already pinned
    for service in services(document, context):
        image = service.image
        if not image or not here(service, "image"):  # an image set in a later file replaces this one
            continue
        anchor = service.merged_from("image")
        if anchor in done:
            continue
        if "$" in image:
            resolved = service.resolved_image
            message = f"image {image} is set from a variable: harden cannot tell which image it is or pin it"
            if resolved:
                message = (
                    f"image {image} is {resolved} with the project's variables (.env, --env-file); harden does not pin "
                    "an image written with a variable, since that would write the value into the file: pin it where the "
                    "variable is set"
                )
            findings.append(_finding(service, message, Severity.INFO, None))
            continue
        decision = decide(image, context.digests, context.settings.refresh, context.locked)
        if decision is None:
            continue
        fix = None
        if decision.new_text:
            owner: Service | str = service
            claims: tuple[Claim, ...] = (("services", service.name, "image"),)
            if anchor:
                owner = anchor
                info = document.anchors()[anchor]
                users = [s.name for s in document.services.values() if s.merged_from("image") == anchor]
                claims = (*((info.path + ("image",)),), *(("services", name, "image") for name in users))
                done.add(anchor)
            try:
                edits = document.replace_scalar(owner, "image", decision.new_text)
            except ValueError as error:  # a mapping shared with other places (harden.compose, "Shared mappings")
                findings.append(
                    _finding(service, f"{decision.message}; harden cannot pin it here: {error}", decision.severity, None)
                )
                continue
            # built while checking, not when applied: whether the image can be rewritten in place
            # decides what the finding says (a one-scalar edit: cheap)
            fix = Fix(Applicability.SAFE, claims, prebuilt(edits), caveats(decision))
        findings.append(_finding(service, decision.message, decision.severity, fix))
    return findings


def _finding(service: Service, message: str, severity: Severity, fix: Fix | None) -> Finding:
    return Finding(RULE, message, service.line, service.column, severity, RATIONALE, fix, subject=service.name)
