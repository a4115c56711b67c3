"""Dockerfile documents: instructions with exact source spans, stages, FROM chains and ARGs.

The spans come from our own line scanner, which follows BuildKit's rules: parser directives
at the top (`# escape=` sets the continuation character), continuation lines, comment and blank
lines inside a continuation, lower-case keywords, and heredoc bodies (`RUN <<EOF`, `COPY <<EOF`),
which are opaque text that no edit ever touches. dockerfile-parse, which the engine uses as an
independent second opinion on every output (`crosscheck`), cannot do this part: it has no
heredocs and ends an instruction at a blank line inside a continuation, where BuildKit does not.

Text is kept exactly as read (BOM removed by the engine, line endings kept), so an `Edit`'s
offsets are offsets into the file as the user wrote it.
"""

from __future__ import annotations

import bisect
import json
import re
from collections import Counter
from dataclasses import dataclass, field

from harden.model import DocumentError, Edit

KEYWORDS = frozenset(
    [
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    ]
)
HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})
_DIRECTIVE = re.compile(r"#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*$")
_KEYWORD = re.compile(r"\s*([A-Za-z]+)(?=\s|$)")
# A heredoc marker is a shell word starting with `<<` (optionally `<<-`, an fd number before it):
# BuildKit's `^(\d*)<<(-?)([^<]*)$` applied to each word, with the quotes the shell lexer removes.
_HEREDOC = re.compile(r"(?:^|(?<=\s))\d*<<(-?)([\"']?)([^\s<\"']+)\2(?=\s|$)")
_ARG_REF = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class Heredoc:
    delimiter: str
    body_start: int  # offset of the body's first line
    body_end: int  # offset just past the terminating delimiter line


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper-case
    start_line: int  # 0-based, first line of the instruction
    end_line: int  # 0-based, last line, heredoc bodies included
    start: int  # offset of the first line's first character
    end: int  # offset just past the last line (its line ending included)
    indent: str  # whitespace before the keyword
    args: str  # the logical line after the keyword and its flags, continuations joined
    flags: tuple[str, ...]  # leading --name=value words (FROM --platform, RUN --mount, ...)
    heredocs: tuple[Heredoc, ...] = ()

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON (exec) form's arguments, or None for the shell form."""
        if not self.args.startswith("["):
            return None
        try:
            value = json.loads(self.args)
        except ValueError:
            return None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        return None

    def flag(self, name: str) -> str | None:
        prefix = f"--{name}="
        for flag in self.flags:
            if flag.lower().startswith(prefix):
                return flag[len(prefix) :]
        return None


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
        return _Scanner(path, text).document()

    # --- reading -----------------------------------------------------------------------

    def line_of(self, offset: int) -> int:
        """0-based line number of an offset."""
        return bisect.bisect_right(self.line_starts, offset) - 1

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

    def semantic(self) -> dict[str, object]:
        """What the Dockerfile means, for deepdiff: per stage, its instructions as a multiset.

        An instruction's text is its keyword, flags, arguments (whitespace collapsed) and heredoc
        bodies, so a corrupted continuation or heredoc shows up as a changed instruction.
        """
        stages: dict[str, object] = {}
        preamble = [
            i for i in self.instructions if i.keyword == "ARG" and i.start_line < self.stages[0].instructions[0].start_line
        ]
        for stage in self.stages:
            texts: Counter[str] = Counter(self.instruction_text(i) for i in stage.instructions)
            stages[stage.label] = dict(texts)
        return {"global": dict(Counter(self.instruction_text(i) for i in preamble)), "stages": stages}

    def offset_of(self, path: tuple[str | int, ...]) -> int | None:
        """Where a path of `semantic()` is: the instruction it names, else its stage's FROM (for
        refusals that name a line); None when this document has neither."""
        if path[:1] == ("global",):
            candidates = [i for i in self.instructions if i.start_line < self.stages[0].instructions[0].start_line]
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

    def instruction_text(self, instruction: Instruction) -> str:
        words = [instruction.keyword, *instruction.flags, " ".join(instruction.args.split())]
        text = " ".join(w for w in words if w)
        for heredoc in instruction.heredocs:
            body = self.text[heredoc.body_start : heredoc.body_end].replace("\r\n", "\n")
            text += "\n" + body.removesuffix("\n")  # the terminator's line ending is layout, not content
        return text

    # --- writing: helpers that build edits ---------------------------------------------

    def insert_before(self, line: int, lines: list[str]) -> Edit:
        """An edit inserting whole lines before 0-based `line` (or at the end of the file)."""
        if line >= len(self.line_starts) or self.line_starts[line] >= len(self.text):
            return self.append(lines)
        offset = self.line_starts[line]
        return Edit(offset, offset, "".join(f"{text}\n" for text in lines))

    def append(self, lines: list[str]) -> Edit:
        """An edit adding lines at the end, keeping the absence of a final newline.

        After a continuation that runs into the end of the file, the edit also removes that
        dangling escape character (BuildKit ignores it), or the added lines would join the last
        instruction: the edit then starts at the escape, so the diff shows that line too.
        """
        body = "\n".join(lines)
        if self.dangling_escape is not None:
            rest = self.text[self.dangling_escape + len(self.escape) :].replace("\r\n", "\n")  # the engine restores CRLF
            added = body + "\n" if rest.endswith("\n") else "\n" + body
            return Edit(self.dangling_escape, len(self.text), rest + added)
        if self.text and not self.text.endswith("\n"):
            return Edit(len(self.text), len(self.text), "\n" + body)
        return Edit(len(self.text), len(self.text), body + "\n")

    def attached_comment_start(self, instruction: Instruction) -> int:
        """The first line of the comment block directly above an instruction (no blank line
        between), so that text inserted before the instruction does not split it from its
        comment."""
        line = instruction.start_line
        while line > 0:
            previous = self._line_text(line - 1).strip()
            if not previous.startswith("#") or (line - 1 < self._directive_lines):
                break
            line -= 1
        return line

    def _line_text(self, line: int) -> str:
        start = self.line_starts[line]
        end = self.line_starts[line + 1] if line + 1 < len(self.line_starts) else len(self.text)
        return self.text[start:end]

    @property
    def _directive_lines(self) -> int:
        return len(self.directives)


class _Scanner:
    """One pass over the lines, BuildKit's rules; see the module docstring."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        pieces = text.split("\n")
        self.lines = [piece + "\n" for piece in pieces[:-1]]
        if pieces[-1] or not self.lines:
            self.lines.append(pieces[-1])
        self.line_starts = []
        self.dangling_escape: int | None = None
        position = 0
        for line in self.lines:
            self.line_starts.append(position)
            position += len(line)

    def _line_end(self, index: int) -> int:
        return self.line_starts[index] + len(self.lines[index])

    def document(self) -> DockerfileDocument:
        directives, first = self._directives()
        escape = directives.get("escape", "\\")
        if escape not in ("\\", "`"):
            raise DocumentError(1, f"invalid escape directive {escape!r}: must be \\ or `")
        instructions = self._instructions(first, escape)
        stages, global_args = self._stages(instructions)
        newline = (
            "\r\n"
            if "\r\n" in self.text[: self._line_end(0) + 1]
            or ("\r\n" in self.text and self.text.count("\r\n") * 2 > self.text.count("\n"))
            else "\n"
        )
        return DockerfileDocument(
            path=self.path,
            text=self.text,
            newline=newline,
            escape=escape,
            directives=directives,
            line_starts=self.line_starts,
            instructions=instructions,
            stages=stages,
            global_args=global_args,
            dangling_escape=self.dangling_escape,
        )

    def _directives(self) -> tuple[dict[str, str], int]:
        directives: dict[str, str] = {}
        index = 0
        while index < len(self.lines):
            match = _DIRECTIVE.fullmatch(self.lines[index].rstrip("\r\n"))
            if not match or match.group(1).lower() in directives:
                break
            directives[match.group(1).lower()] = match.group(2)
            index += 1
        return directives, index

    def _instructions(self, first: int, escape: str) -> list[Instruction]:
        instructions: list[Instruction] = []
        index = first
        count = len(self.lines)
        lines = self.lines
        while index < count:
            line = lines[index]
            stripped = line.strip()
            if not stripped or stripped[0] == "#":
                index += 1
                continue
            match = _KEYWORD.match(line)
            if not match:
                raise DocumentError(index + 1, f"cannot parse instruction: {stripped[:60]!r}")
            keyword = match.group(1).upper()
            if keyword not in KEYWORDS:
                raise DocumentError(index + 1, f"unknown instruction {match.group(1)!r}")
            start_line = index
            parts = [line[match.end() :]]
            body = parts[-1].rstrip(" \t\r\n")
            while body.endswith(escape):
                parts[-1] = body[: -len(escape)]
                escape_at = self.line_starts[index] + len(lines[index].rstrip(" \t\r\n")) - len(escape)
                index += 1
                # BuildKit drops comment lines and blank lines inside a continuation.
                while index < count:
                    skipped = lines[index].lstrip()
                    if skipped and skipped[0] != "#":
                        break
                    index += 1
                if index >= count:
                    index = count - 1  # a continuation at the end of the file ends it, as in BuildKit
                    self.dangling_escape = escape_at
                    break
                parts.append(lines[index])
                body = parts[-1].rstrip(" \t\r\n")
            logical = "".join(p.rstrip("\r\n") if i == len(parts) - 1 else p for i, p in enumerate(parts))
            logical = logical.replace("\r", "").replace("\n", "").strip()
            flags, args = _split_flags(logical)
            heredocs: list[Heredoc] = []
            if keyword in HEREDOC_KEYWORDS and "<<" in args and not args.startswith("["):
                for marker in _HEREDOC.finditer(args):
                    strip_tabs, delimiter = marker.group(1) == "-", marker.group(3)
                    body_start_line = index + 1
                    end = body_start_line
                    while end < count:
                        body_line = self.lines[end].rstrip("\r\n")
                        if (body_line.lstrip("\t") if strip_tabs else body_line) == delimiter:
                            break
                        end += 1
                    if end >= count:
                        raise DocumentError(start_line + 1, f"unterminated heredoc <<{delimiter}")
                    start = self.line_starts[body_start_line] if body_start_line < count else len(self.text)
                    heredocs.append(Heredoc(delimiter, start, self._line_end(end)))
                    index = end
            instructions.append(
                Instruction(
                    keyword=keyword,
                    start_line=start_line,
                    end_line=index,
                    start=self.line_starts[start_line],
                    end=self._line_end(index),
                    indent=line[: len(line) - len(line.lstrip())],
                    args=args,
                    flags=flags,
                    heredocs=tuple(heredocs),
                )
            )
            index += 1
        return instructions

    def _stages(self, instructions: list[Instruction]) -> tuple[list[Stage], dict[str, str | None]]:
        stages: list[Stage] = []
        global_args: dict[str, str | None] = {}
        for instruction in instructions:
            if instruction.keyword == "FROM":
                words = instruction.args.split()
                if not words:
                    raise DocumentError(instruction.start_line + 1, "FROM without an image")
                name = None
                if len(words) >= 3 and words[1].lower() == "as":
                    name = words[2].lower()
                elif len(words) != 1:
                    raise DocumentError(instruction.start_line + 1, f"cannot parse FROM {instruction.args!r}")
                stages.append(Stage(len(stages), name, words[0], instruction.flag("platform"), [instruction]))
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


def _split_flags(logical: str) -> tuple[tuple[str, ...], str]:
    flags: list[str] = []
    rest = logical
    while rest.startswith("--"):
        word, _, remainder = rest.partition(" ")
        flags.append(word)
        rest = remainder.lstrip()
    return tuple(flags), rest


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
    import io

    from dockerfile_parse import DockerfileParser

    text = document.text
    if document.dangling_escape is not None:  # dockerfile-parse drops the instruction it ends; BuildKit ignores it
        text = text[: document.dangling_escape] + text[document.dangling_escape + len(document.escape) :]
    if not text.endswith("\n"):
        text += "\n"  # dockerfile-parse drops a last line of one word without a line ending
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode("utf-8")))
    return Counter(item["instruction"] for item in parser.structure if item["instruction"] != "COMMENT")
