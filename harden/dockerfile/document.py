"""Dockerfile documents: instructions with exact source spans, stages, FROM chains, ARGs, positions.

`DockerfileDocument.parse` scans the text (`scan.py`, BuildKit's rules) and groups the
instructions into stages. The document is what passes read: stages and their FROM chains, global
ARG defaults substituted as BuildKit does in FROM, and every position a finding or an edit needs
(`position`, `position_of`, `word_offset`, `line_start`), so no pass computes offsets by hand. The
helpers that build edits are methods here too; their logic lives in `edits.py`.

Text is kept exactly as read (BOM removed by the engine, line endings kept), so an `Edit`'s
offsets are offsets into the file as the user wrote it.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, field

from harden.dockerfile import edits
from harden.dockerfile.scan import Instruction, scan
from harden.model import DocumentError, Edit

__all__ = ["DockerfileDocument", "Stage", "parse", "user_of"]

_ARG_REF = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass
class Stage:
    index: int
    name: str | None  # the `AS name`, lower-cased as BuildKit compares it
    base: str  # the image or stage reference after FROM, as written
    platform: str | None
    instructions: list[Instruction] = field(default_factory=list)  # FROM first

    @property
    def label(self) -> str:
        return self.name if self.name else str(self.index)


@dataclass
class DockerfileDocument:
    path: str
    text: str
    newline: str
    escape: str
    directives: dict[str, str]
    line_starts: list[int]
    instructions: list[Instruction]
    stages: list[Stage]
    global_args: dict[str, str | None]  # ARGs before the first FROM: name -> default
    kind: str = "dockerfile"
    # Offset of the escape character of a continuation that runs into the end of the file
    # (`RUN a \` as the last line): BuildKit ends the instruction there; text appended after it
    # would join that instruction, so `append` removes it (None: the file has none).
    dangling_escape: int | None = None

    @classmethod
    def parse(cls, path: str, text: str) -> DockerfileDocument:
        scanned = scan(text)
        stages, global_args = _stages(scanned.instructions)
        return cls(
            path=path,
            text=text,
            newline=scanned.newline,
            escape=scanned.escape,
            directives=scanned.directives,
            line_starts=scanned.line_starts,
            instructions=scanned.instructions,
            stages=stages,
            global_args=global_args,
            dangling_escape=scanned.dangling_escape,
        )

    # --- positions -----------------------------------------------------------------------

    def line_of(self, offset: int) -> int:
        """0-based line number of an offset."""
        return bisect.bisect_right(self.line_starts, offset) - 1

    def line_start(self, line: int) -> int:
        """Offset of the first character of 0-based `line`."""
        return self.line_starts[line]

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of an offset, as findings report them (columns count characters)."""
        line = self.line_of(offset)
        return line + 1, offset - self.line_starts[line] + 1

    def position_of(self, instruction: Instruction) -> tuple[int, int]:
        """1-based (line, column) of an instruction's keyword."""
        return instruction.start_line + 1, len(instruction.indent) + 1

    def source(self, instruction: Instruction) -> str:
        """The instruction's text as written: all its lines, continuations, comments inside them
        and heredoc bodies included."""
        return self.text[instruction.start : instruction.end]

    def word_offset(self, instruction: Instruction, word: str) -> int:
        """Offset of the first whole-word `word` after the instruction's keyword (a word ends at
        whitespace or a quote, and may follow `=`, as in `ARG BASE=python:3.12`).

        ValueError when it is not there: callers pass words the scanner read from this text.
        """
        source = self.source(instruction)
        keyword_end = len(instruction.indent) + len(instruction.keyword)
        match = re.compile(rf"(?<![^\s=\"']){re.escape(word)}(?![^\s\"'])").search(source, keyword_end)
        if match is None:
            raise ValueError(f"{word!r} not found in {source!r}")
        return instruction.start + match.start()

    def attached_comment_start(self, instruction: Instruction) -> int:
        """The first line of the comment block directly above an instruction (no blank line
        between), so that text inserted before the instruction does not split it from its
        comment. Parser directives at the top are not comments."""
        line = instruction.start_line
        while line > 0:
            previous = self._line_text(line - 1).strip()
            if not previous.startswith("#") or (line - 1 < len(self.directives)):
                break
            line -= 1
        return line

    def offset_of(self, path: tuple[str | int, ...]) -> int | None:
        """Where a path of `semantic()` is: the instruction it names, else its stage's FROM (for
        refusals that name a line); None when this document has neither."""
        if path[:1] == ("global",):
            candidates = self._preamble()
            rest = path[1:]
        elif path[:1] == ("stages",) and len(path) > 1:
            stage = next((s for s in self.stages if s.label == path[1]), None)
            if stage is None:
                return None
            candidates, rest = stage.instructions, path[2:]
        else:
            return None
        if not candidates:
            return None
        named = [i for i in candidates if rest and self.instruction_text(i) == rest[0]]
        return (named or candidates)[0].start

    def _line_text(self, line: int) -> str:
        start = self.line_starts[line]
        end = self.line_starts[line + 1] if line + 1 < len(self.line_starts) else len(self.text)
        return self.text[start:end]

    def _preamble(self) -> list[Instruction]:
        """The instructions before the first FROM (only ARGs can be there)."""
        return [i for i in self.instructions if i.start_line < self.stages[0].instructions[0].start_line]

    # --- stages and ARGs -----------------------------------------------------------------

    def stage_named(self, name: str, before: int) -> Stage | None:
        """The stage that `FROM name` (or `COPY --from=name`) refers to, if any."""
        wanted = name.lower()
        for stage in self.stages[:before]:
            if stage.name == wanted:
                return stage
        return None

    def parent_stage(self, stage: Stage) -> Stage | None:
        return self.stage_named(self.expand(stage.base) or stage.base, stage.index)

    def chain(self, stage: Stage) -> list[Stage]:
        """The stage, its parent stage, and so on up to the one built on an external image."""
        chain = [stage]
        while (parent := self.parent_stage(chain[-1])) is not None and parent not in chain:
            chain.append(parent)
        return chain

    def external_base(self, stage: Stage) -> str | None:
        """The image reference the stage is built on, following stage chains and ARG defaults.

        None when the reference uses an ARG without a default (nobody can tell the image).
        """
        return self.expand(self.chain(stage)[-1].base)

    def expand(self, text: str) -> str | None:
        """Substitute global ARG defaults as BuildKit does in FROM; None if one is unknown."""
        unknown = False

        def substitute(match: re.Match[str]) -> str:
            nonlocal unknown
            name, operator, word = match.group(1) or match.group(4), match.group(2), match.group(3)
            value = self.global_args.get(name)
            if operator == "-":
                return value if value else (word or "")
            if operator == "+":
                return (word or "") if value else ""
            if value is None:
                unknown = True
                return ""
            return value

        expanded = _ARG_REF.sub(substitute, text)
        return None if unknown else expanded

    def arg_declaration(self, name: str) -> Instruction | None:
        """The last ARG before the first FROM that gives `name` a default: the one whose value
        FROM sees, and where a fix to that value is written."""
        found = None
        for instruction in self._preamble():
            if instruction.keyword == "ARG" and re.search(rf"(^|\s){re.escape(name)}=", instruction.args):
                found = instruction
        return found

    # --- meaning, for the engine's semantic guard ----------------------------------------

    def semantic(self) -> dict[str, object]:
        """What the Dockerfile means, for deepdiff: per stage, its instructions as a multiset.

        An instruction's text is its keyword, flags, arguments (whitespace collapsed) and heredoc
        bodies, so a corrupted continuation or heredoc shows up as a changed instruction.
        """
        stages: dict[str, object] = {}
        preamble = [i for i in self._preamble() if i.keyword == "ARG"]
        for stage in self.stages:
            texts: Counter[str] = Counter(self.instruction_text(i) for i in stage.instructions)
            stages[stage.label] = dict(texts)
        return {"global": dict(Counter(self.instruction_text(i) for i in preamble)), "stages": stages}

    def instruction_text(self, instruction: Instruction) -> str:
        words = [instruction.keyword, *instruction.flags, " ".join(instruction.args.split())]
        text = " ".join(w for w in words if w)
        for heredoc in instruction.heredocs:
            body = self.text[heredoc.body_start : heredoc.body_end].replace("\r\n", "\n")
            text += "\n" + body.removesuffix("\n")  # the terminator's line ending is layout, not content
        return text

    # --- edits (built in edits.py) -------------------------------------------------------

    def insert_before(self, line: int, lines: list[str]) -> Edit:
        """An edit inserting whole lines before 0-based `line` (or at the end of the file)."""
        return edits.insert_before(self, line, lines)

    def append(self, lines: list[str]) -> Edit:
        """An edit adding lines at the end of the file (see `edits.append`)."""
        return edits.append(self, lines)

    def replace_word(self, instruction: Instruction, word: str, new_text: str) -> Edit:
        """An edit replacing the first whole-word `word` after the instruction's keyword."""
        return edits.replace_word(self, instruction, word, new_text)


def _stages(instructions: list[Instruction]) -> tuple[list[Stage], dict[str, str | None]]:
    """The stages (each FROM starts one) and the global ARGs declared before the first FROM."""
    stages: list[Stage] = []
    global_args: dict[str, str | None] = {}
    for instruction in instructions:
        if instruction.keyword == "FROM":
            stages.append(_stage(instruction, len(stages)))
        elif not stages:
            if instruction.keyword != "ARG":
                raise DocumentError(
                    instruction.start_line + 1,
                    f"{instruction.keyword} before the first FROM (only ARG may come before it)",
                )
            for name, default in _arg_declarations(instruction.args):
                global_args[name] = default
        else:
            stages[-1].instructions.append(instruction)
    if not stages:
        raise DocumentError(1, "no FROM instruction: not a Dockerfile")
    return stages, global_args


def _stage(instruction: Instruction, index: int) -> Stage:
    """The stage a FROM instruction starts: `FROM [--platform=p] image [AS name]`."""
    words = instruction.args.split()
    if not words:
        raise DocumentError(instruction.start_line + 1, "FROM without an image")
    name = None
    if len(words) >= 3 and words[1].lower() == "as":
        name = words[2].lower()
    elif len(words) != 1:
        raise DocumentError(instruction.start_line + 1, f"cannot parse FROM {instruction.args!r}")
    return Stage(index, name, words[0], instruction.flag("platform"), [instruction])


def _arg_declarations(args: str) -> list[tuple[str, str | None]]:
    """`ARG A=1 B` -> [("A", "1"), ("B", None)]; quotes around a default are removed."""
    declarations: list[tuple[str, str | None]] = []
    for word in re.findall(r"""(?:[^\s"']|"[^"]*"|'[^']*')+""", args):
        name, equals, default = word.partition("=")
        if equals:
            declarations.append((name, default.strip("\"'")))
        else:
            declarations.append((name, None))
    return declarations


def user_of(instruction: Instruction) -> str:
    """The user part of `USER user[:group]`."""
    return instruction.args.split(":", 1)[0].strip().strip("\"'")


def parse(path: str, text: str) -> DockerfileDocument:
    return DockerfileDocument.parse(path, text)
