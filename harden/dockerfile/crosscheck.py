"""A second opinion on every Dockerfile harden writes: dockerfile-parse reads the output too.

harden's scanner (`scan.py`) decides where instructions begin and end; if it were wrong, an edit
could land inside an instruction. dockerfile-parse is an independent parser: the engine refuses
an output in which it sees different instructions from those harden's scanner says were there
plus the ones harden added.
"""

from __future__ import annotations

import io
from collections import Counter

from harden.dockerfile.document import DockerfileDocument

__all__ = ["validate_output"]


def validate_output(before: DockerfileDocument, after: DockerfileDocument) -> list[str]:
    """A second opinion on an output: dockerfile-parse must see the same instructions in it as
    in the input, plus only the ones our scanner says were added.

    The comparison is differential, so dockerfile-parse's known blind spots (heredoc bodies,
    blank lines inside continuations) cancel out between input and output.
    """
    added = Counter(i.keyword for i in after.instructions) - Counter(i.keyword for i in before.instructions)
    removed = Counter(i.keyword for i in before.instructions) - Counter(i.keyword for i in after.instructions)
    if removed:
        return [f"instructions disappeared: {', '.join(sorted(removed))}"]
    theirs_before = _dockerfile_parse_keywords(before)
    theirs_after = _dockerfile_parse_keywords(after)
    if theirs_after - theirs_before != added or theirs_before - theirs_after:
        return ["dockerfile-parse reads the output's instructions differently from harden's scanner"]
    return []


def _dockerfile_parse_keywords(document: DockerfileDocument) -> Counter[str]:
    from dockerfile_parse import DockerfileParser  # imported on first use: only outputs are checked

    text = document.text
    if document.dangling_escape is not None:  # dockerfile-parse drops the instruction it ends; BuildKit ignores it
        text = text[: document.dangling_escape] + text[document.dangling_escape + len(document.escape) :]
    if not text.endswith("\n"):
        text += "\n"  # dockerfile-parse drops a last line of one word without a line ending
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode("utf-8")))
    return Counter(item["instruction"] for item in parser.structure if item["instruction"] != "COMMENT")
