"""Building the edits passes make to a Dockerfile: insert whole lines, append, replace a word.

Passes call these through the document (`document.insert_before(...)`, `document.append(...)`,
`document.replace_word(...)`). An edit's text uses "\\n"; the engine writes the document's own
line ending (CRLF files stay CRLF). No edit ever touches a heredoc body: lines are inserted
between instructions, and words are replaced in the instruction's own text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harden.model import Edit

if TYPE_CHECKING:
    from harden.dockerfile.document import DockerfileDocument
    from harden.dockerfile.scan import Instruction

__all__ = ["append", "insert_before", "replace_word"]


def insert_before(document: DockerfileDocument, line: int, lines: list[str]) -> Edit:
    """An edit inserting whole lines before 0-based `line` (or at the end of the file)."""
    if line >= len(document.line_starts) or document.line_starts[line] >= len(document.text):
        return append(document, lines)
    offset = document.line_starts[line]
    return Edit(offset, offset, "".join(f"{text}\n" for text in lines))


def append(document: DockerfileDocument, lines: list[str]) -> Edit:
    """An edit adding lines at the end, keeping the absence of a final newline.

    After a continuation that runs into the end of the file, the edit also removes that
    dangling escape character (BuildKit ignores it), or the added lines would join the last
    instruction: the edit then starts at the escape, so the diff shows that line too.
    """
    text = document.text
    body = "\n".join(lines)
    if document.dangling_escape is not None:
        rest = text[document.dangling_escape + len(document.escape) :].replace("\r\n", "\n")  # the engine restores CRLF
        added = body + "\n" if rest.endswith("\n") else "\n" + body
        return Edit(document.dangling_escape, len(text), rest + added)
    if text and not text.endswith("\n"):
        return Edit(len(text), len(text), "\n" + body)
    return Edit(len(text), len(text), body + "\n")


def replace_word(document: DockerfileDocument, instruction: Instruction, word: str, new_text: str) -> Edit:
    """An edit replacing the first whole-word `word` after the instruction's keyword
    (`document.word_offset`) with `new_text`: an image reference in FROM, an ARG's default.
    ValueError when the word is not there."""
    start = document.word_offset(instruction, word)
    return Edit(start, start + len(word), new_text)
