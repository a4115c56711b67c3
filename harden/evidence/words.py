"""Shell text into simple commands: words (quotes removed, variables substituted where known),
redirections, and the line each word is on. The lexer under harden.evidence.shell.

It follows POSIX sh where a start-up script needs it: comments, backslash-newline continuations,
single and double quotes, backslash escapes, `;` `&` `&&` `||` `|` `(` `)` and newlines between
commands, redirections (`>`, `>>`, `2>&1`, `&>`, `<`, heredocs, whose bodies are skipped), and
`$NAME`, `${NAME}`, `${NAME:-default}` substituted from a mapping. It is not a shell parser: a
command substitution (`$(...)`, backticks) is one unknown value, arithmetic is not evaluated,
aliases and `eval` are not followed, and compound commands (`if`, `for`, `case`, function bodies)
are read as the simple commands inside them, as if each ran once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import NamedTuple

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIGITS = re.compile(r"\d*")
_SPECIAL = "@*#?$!-0123456789"
_OPERATORS = ("&&", "||", ";;", ">>", ">|", "&>>", "&>", ">&", "<&", "<<-", "<<", ";", "&", "|", "(", ")", ">", "<")
_SEPARATORS = frozenset({"&&", "||", ";;", ";", "&", "|", "(", ")", "\n"})
RESERVED = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "case", "esac", "{", "}", "!", "time"})


class Word(NamedTuple):
    text: str  # quotes removed, known variables substituted, unknown ones kept as ${NAME}
    line: int  # 1-based
    start: int  # offset in the text
    end: int
    unknown: tuple[str, ...] = ()  # variables (or "$(...)") whose value is not known


class Redirect(NamedTuple):
    operator: str  # ">", ">>", "&>", "<", ">&", ... (without the fd number)
    target: Word


class Command(NamedTuple):
    words: list[Word]
    redirects: list[Redirect]
    text: str  # as written, continuations joined and whitespace collapsed


class _Op(NamedTuple):
    text: str
    start: int
    end: int


def commands(text: str, env: Mapping[str, str], first_line: int = 1) -> list[Command]:
    """The simple commands of shell `text`, in order."""
    lexer = _Lexer(text, env, first_line)
    found: list[Command] = []
    words: list[Word] = []
    redirects: list[Redirect] = []
    pending: str | None = None
    for token in lexer.tokens():
        if isinstance(token, Word):
            if pending is not None:
                redirects.append(Redirect(pending, token))
                if pending.startswith("<<"):
                    lexer.heredocs.append((token.text, pending == "<<-"))
                pending = None
            elif words or token.text not in RESERVED:
                words.append(token)
        elif token.text in _SEPARATORS:
            if words or redirects:
                found.append(_command(text, words, redirects))
            words, redirects, pending = [], [], None
        else:
            pending = token.text
    if words or redirects:
        found.append(_command(text, words, redirects))
    return found


def _command(text: str, words: list[Word], redirects: list[Redirect]) -> Command:
    spans = [(w.start, w.end) for w in words] + [(r.target.start, r.target.end) for r in redirects]
    raw = text[min(s for s, _ in spans) : max(e for _, e in spans)]
    return Command(words, redirects, " ".join(raw.replace("\\\n", " ").split()))


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], first_line: int) -> None:
        self.text = text
        self.env = env
        self.i = 0
        self.line = first_line
        self.heredocs: list[tuple[str, bool]] = []  # delimiters whose bodies follow the next newline

    def tokens(self) -> Iterator[Word | _Op]:
        """The tokens, lazily: a heredoc's delimiter is known (`heredocs`) before its body is reached."""
        text = self.text
        while self.i < len(text):
            char = text[self.i]
            if text.startswith("\\\n", self.i):
                self.i += 2
                self.line += 1
            elif char == "\n":
                yield _Op("\n", self.i, self.i + 1)
                self.i += 1
                self.line += 1
                self._skip_heredoc_bodies()
            elif char in " \t\r":
                self.i += 1
            elif char == "#":
                end = text.find("\n", self.i)
                self.i = len(text) if end < 0 else end
            elif (op := self._operator()) is not None:
                yield op
            else:
                yield self._word()

    def _operator(self) -> _Op | None:
        start = self.i
        digits = _DIGITS.match(self.text, start)
        at = digits.end() if digits else start
        for operator in _OPERATORS:
            if self.text.startswith(operator, at) and (at == start or operator[0] in "<>"):
                self.i = at + len(operator)
                return _Op(operator, start, self.i)
        return None

    def _skip_heredoc_bodies(self) -> None:
        for delimiter, strip_tabs in self.heredocs:
            while self.i < len(self.text):
                end = self.text.find("\n", self.i)
                end = len(self.text) if end < 0 else end
                body_line = self.text[self.i : end]
                self.i = end + 1
                self.line += 1
                if (body_line.lstrip("\t") if strip_tabs else body_line).rstrip("\r") == delimiter:
                    break
        self.heredocs = []

    def _word(self) -> Word:
        start, line = self.i, self.line
        parts: list[str] = []
        unknown: list[str] = []
        text = self.text
        while self.i < len(text):
            char = text[self.i]
            if char in " \t\r\n;&|()<>":
                break
            if char == "\\":
                if text.startswith("\\\n", self.i):
                    self.line += 1
                else:
                    parts.append(text[self.i + 1 : self.i + 2])
                self.i += 2
            elif char == "'":
                end = text.find("'", self.i + 1)
                end = len(text) if end < 0 else end
                parts.append(self._count(text[self.i + 1 : end]))
                self.i = end + 1
            elif char == '"':
                self._double_quoted(parts, unknown)
            elif char == "$" or char == "`":
                parts.append(self._expansion(unknown))
            else:
                parts.append(char)
                self.i += 1
        return Word("".join(parts), line, start, self.i, tuple(unknown))

    def _count(self, chunk: str) -> str:
        self.line += chunk.count("\n")
        return chunk

    def _double_quoted(self, parts: list[str], unknown: list[str]) -> None:
        self.i += 1
        text = self.text
        while self.i < len(text) and text[self.i] != '"':
            char = text[self.i]
            escaped = text[self.i + 1 : self.i + 2]
            if char == "\\" and escaped in ('"', "\\", "$", "`", "\n"):
                self._count(escaped)
                parts.append("" if escaped == "\n" else escaped)  # backslash-newline joins lines
                self.i += 2
            elif char in "$`":
                parts.append(self._expansion(unknown))
            else:
                parts.append(self._count(char))
                self.i += 1
        self.i += 1

    def _expansion(self, unknown: list[str]) -> str:
        """`$...` or a backtick substitution at self.i: its value, or a placeholder recorded as unknown."""
        text = self.text
        if text[self.i] == "`":
            end = text.find("`", self.i + 1)
            end = len(text) if end < 0 else end
            self._count(text[self.i : end])
            self.i = end + 1
            unknown.append("$(...)")
            return "$(...)"
        nxt = text[self.i + 1 : self.i + 2]
        if nxt == "(":
            self.i = self._balanced(self.i + 1, "(", ")")
            unknown.append("$(...)")
            return "$(...)"
        if nxt == "{":
            end = self._balanced(self.i + 1, "{", "}")
            inner = text[self.i + 2 : end - 1]
            self.i = end
            return self._braced(inner, unknown)
        match = _NAME.match(text, self.i + 1)
        if match:
            self.i = match.end()
            return self._value(match.group(), unknown)
        if nxt and nxt in _SPECIAL:
            self.i += 2
            unknown.append(nxt)
            return "$" + nxt
        self.i += 1
        return "$"

    def _braced(self, inner: str, unknown: list[str]) -> str:
        match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?::?[-=](.*))?", inner, re.DOTALL)
        if match is None:
            unknown.append(inner)
            return "${" + inner + "}"
        name, default = match.group(1), match.group(2)
        if self.env.get(name) or default is None:
            return self._value(name, unknown)
        return default  # the value the script itself falls back to

    def _value(self, name: str, unknown: list[str]) -> str:
        value = self.env.get(name)
        if value is None:
            unknown.append(name)
            return "${" + name + "}"
        return value

    def _balanced(self, at: int, opening: str, closing: str) -> int:
        """The offset just past the `closing` that matches `opening` at `at` (quotes ignored)."""
        depth, i = 0, at
        while i < len(self.text):
            char = self.text[i]
            if char == opening:
                depth += 1
            elif char == closing:
                depth -= 1
                if depth == 0:
                    break
            elif char == "\n":
                self.line += 1
            i += 1
        return i + 1
