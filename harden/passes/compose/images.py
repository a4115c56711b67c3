"""What the Compose passes know of a service's image: its facts (harden.knowledge) and the user
it starts as.

`facts` is None for an unknown image, or one built from a Dockerfile under a name harden does
not know; a pass then says what it cannot tell (an unknown image gets the same fix or none,
as each rule's docstring decides).
"""

from __future__ import annotations

from harden import knowledge
from harden.compose import ComposeDocument, Service
from harden.model import Evidence, EvidenceKind

ROOT_USERS = frozenset({"root", "0", "root:root", "0:0", "root:0", "0:root"})


def facts(service: Service) -> knowledge.ImageFacts | None:
    """The image's facts, looked up under the image Compose runs (`${VAR}` interpolated with the
    project's `.env`, or `--env-file`: Service.resolved_image)."""
    image = service.resolved_image
    return knowledge.lookup(image) if image else None


def image_label(service: Service) -> str:
    resolved = service.resolved_image
    if service.image and resolved and resolved != service.image:
        return f"image {service.image} ({resolved} with the project's variables)"
    if service.image:
        return f"image {service.image}"
    return "built from a Dockerfile" if service.has_build else "no image"


def user_of(service: Service, image: knowledge.ImageFacts | None) -> str | None:
    """The user the container starts as: `user:`, else the image's default, else None (unknown)."""
    user = service.get("user")
    if user is not None and str(user).strip():
        return str(user).strip()
    return image.default_user if image else None


def is_root(user: str | None) -> bool:
    """Whether a user (`name[:group]`, or None: unknown, which harden takes as root) is root."""
    return user is None or user in ROOT_USERS or user.split(":", 1)[0] in ("root", "0")


def knowledge_evidence(image: knowledge.ImageFacts, what: str = "") -> Evidence:
    """The knowledge entry of an image as evidence: its file and first cited source; `what` it says."""
    cited = image.evidence[0].split(": ", 1)[0] if image.evidence else ""
    source = f"harden/knowledge/images/{image.name}.toml" + (f" ({cited})" if cited else "")
    return Evidence(EvidenceKind.KNOWLEDGE, source, f"{image.name}: {what}" if what else image.name)


def user_evidence(document: ComposeDocument, service: Service) -> Evidence | None:
    """A non-root `user:` the project sets for the service, as evidence read in its own file
    (a process that is not root holds no capabilities and writes only where that user may)."""
    user = service.get("user")
    if user is None or is_root(str(user).strip()) or not str(user).strip():
        return None
    line, _ = document.service_position(service, "user")
    return Evidence(EvidenceKind.BUILD, f"{document.path}:{line}", f"user: {str(user).strip()}")
