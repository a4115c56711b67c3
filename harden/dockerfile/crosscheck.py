"""A second opinion on every Dockerfile harden writes: dockerfile-parse reads the output too.

harden's scanner (`scan.py`) decides where instructions begin and end; if it were wrong, an edit
could land inside an instruction. dockerfile-parse is an independent parser: the engine refuses
an output in which it sees different instructions from those harden's scanner says were there
plus the ones harden added. No instruction may disappear but an `ARG`, which build-secrets removes
when it moves a credential into a secret mount (the semantic guard still refuses a removal that
no applied fix claims).
"""

from __future__ import annotations

import io
from collections import Counter

from harden.dockerfile.document import DockerfileDocument

__all__ = ["validate_output"]

_REMOVABLE = frozenset({"ARG"})  # build-secrets removes an ARG whose credential it mounts as a secret


def validate_output(before: DockerfileDocument, after: DockerfileDocument) -> list[str]:
    """A second opinion on an output: dockerfile-parse must see the same instructions in it as
    in the input, plus only the ones our scanner says were added, less only the ARGs it says were
    removed.

    The comparison is differential, so dockerfile-parse's known blind spots (heredoc bodies,
    blank lines inside continuations) cancel out between input and output.
    """
    ours_before = Counter(i.keyword for i in before.instructions)
    ours_after = Counter(i.keyword for i in after.instructions)
    renamed = min(ours_before["ADD"] - ours_after["ADD"], ours_after["COPY"] - ours_before["COPY"])
    ours_before = _renamed(ours_before, renamed)
    added, removed = ours_after - ours_before, ours_before - ours_after
    if set(removed) - _REMOVABLE:
        return [f"instructions disappeared: {', '.join(sorted(set(removed) - _REMOVABLE))}"]
    theirs_before = _renamed(_dockerfile_parse_keywords(before), renamed)
    theirs_after = _dockerfile_parse_keywords(after)
    if theirs_after - theirs_before != added or theirs_before - theirs_after != removed:
        return ["dockerfile-parse reads the output's instructions differently from harden's scanner"]
    return []


def _renamed(keywords: Counter[str], renamed: int) -> Counter[str]:
    """The keywords with `renamed` ADDs counted as COPYs: add-instead-of-copy's fix turns an ADD into
    a COPY, and the output must then hold exactly that many fewer ADDs and more COPYs."""
    if renamed <= 0:
        return keywords
    return keywords - Counter({"ADD": renamed}) + Counter({"COPY": renamed})


def _dockerfile_parse_keywords(document: DockerfileDocument) -> Counter[str]:
    from dockerfile_parse import DockerfileParser  # imported on first use: only outputs are checked

    text = document.text
    if document.dangling_escape is not None:  # dockerfile-parse drops the instruction it ends; BuildKit ignores it
        text = text[: document.dangling_escape] + text[document.dangling_escape + len(document.escape) :]
    if not text.endswith("\n"):
        text += "\n"  # dockerfile-parse drops a last line of one word without a line ending
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode("utf-8")))
    return Counter(item["instruction"] for item in parser.structure if item["instruction"] != "COMMENT")
