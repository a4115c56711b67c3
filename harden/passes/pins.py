"""What pinning one image reference means, shared by pin-base-image and pin-image.

Pure: given the reference text as written, the digests the engine resolved for the run, and
whether pins are being refreshed, decide the replacement text and what to tell the user.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harden.images import Failure, ReferenceError, parse
from harden.model import Caveat, Severity

RATIONALE = (
    "A tag is a promise that can change under you: whoever controls the registry (or its cache) "
    "decides what `python:3.12` is today. A digest names exact content, so the image you tested "
    "is the image you run, and a change shows up as a reviewable diff (OWASP Docker rule 13)."
)


MOVED = " moved: "  # in the message of every finding whose fix moves an existing pin (`decide`)
PIN_RULES = frozenset({"pin-base-image", "pin-image"})


def moves_a_pin(rule_id: str, message: str) -> bool:
    """Whether a finding's fix moves an existing pin to a newer digest (`--refresh`), rather than
    pinning a reference for the first time: the pull-request bot offers the two separately."""
    return rule_id in PIN_RULES and MOVED in message


def needs_resolution(text: str, refresh: bool) -> bool:
    """Whether the engine must resolve `text` for this run: an unpinned reference, or a pinned
    `name:tag@digest` when pins are being refreshed. A reference that does not parse is not
    resolved (its finding says why), and neither is a digest with no tag to follow."""
    try:
        reference = parse(text)
    except ReferenceError:
        return False
    if reference.digest:
        return refresh and reference.tag is not None and reference.is_pinnable
    return True


@dataclass(frozen=True)
class PinDecision:
    message: str
    severity: Severity
    new_text: str | None = None  # the pinned reference; None: report only
    might_break: str = ""


def caveats(decision: PinDecision) -> tuple[Caveat, ...]:
    """What might break, for the fix of a decision (about the reference as a whole)."""
    return (Caveat("", decision.might_break),) if decision.might_break else ()


def decide(text: str, digests: Mapping[str, Any], refresh: bool, locked: Mapping[str, Any] | None = None) -> PinDecision | None:
    """None when there is nothing to say (already pinned and current, or not resolved)."""
    try:
        reference = parse(text)
    except ReferenceError as error:
        return PinDecision(f"{text!r} is not a valid image reference: {error}", Severity.WARNING)
    if reference.digest and not reference.is_pinnable:
        return PinDecision(
            f"{text} is pinned with {reference.digest_algorithm}: harden recognises it but resolves and pins only sha256",
            Severity.INFO,
        )
    if reference.digest and reference.tag is None:
        return None  # pinned to content, with no tag to follow
    outcome = digests.get(text)
    if outcome is None:
        return None
    if isinstance(outcome, Failure):
        # Why it failed is said once per reference for the whole run (engine.Run.unresolved),
        # however many files name it; the finding says what it means here.
        if reference.digest:
            return PinDecision(f"{text} could not be refreshed ({outcome.kind}): its pin is kept", Severity.WARNING)
        return PinDecision(f"{text} is not pinned to a digest: harden could not resolve it ({outcome.kind})", Severity.WARNING)
    digest: str = outcome.digest
    if reference.digest == digest:
        return None
    if reference.digest and not refresh:
        return None
    new_text = reference.pinned(digest)
    scope = f" (the {outcome.platform} manifest, as --platform asked, not the multi-platform index)" if outcome.platform else ""
    if reference.digest:
        entry = (locked or {}).get(text)
        since = (
            f" (the old digest was resolved {entry.resolved_at:%Y-%m-%d %H:%M} UTC)"
            if entry is not None and entry.digest == reference.digest
            else ""
        )
        return PinDecision(
            f"{reference.name_text}:{reference.tag}{MOVED}{reference.digest} -> {digest}{scope}{since}",
            Severity.WARNING,
            new_text,
            "the image changes to what the unchanged tag points to now (a newer build): rebuild and test",
        )
    message = f"{text} is not pinned to a digest; pin it to {digest}{scope}"
    if reference.tag in (None, "latest"):
        which = "`latest`" if reference.tag else "no tag (that is, `latest`)"
        message += (
            f"; {which} follows every release: choose a version tag (for example {reference.name_text}:<version>) and pin that"
        )
    return PinDecision(message, Severity.WARNING, new_text, _same_content(outcome))


def _same_content(resolution: Any) -> str:
    """What might break when pinning: nothing, and since when the digest is known to be the tag's
    (a lockfile or cache entry may be old: the tag can have moved since)."""
    if not resolution.from_cache:
        return "nothing: the digest is what the tag points to now"
    return (
        f"nothing: the digest is what the tag pointed to on {resolution.resolved_at:%Y-%m-%d} (lockfile or cache); "
        "if the tag has moved since, `--refresh` moves the pin"
    )
