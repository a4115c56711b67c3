"""Rendering the jinja2 snippets in `templates/`.

The templates live at the top of a source checkout; an installed wheel carries them inside the
package as `harden/templates` (see pyproject.toml), so both places are looked up, relative to the
`harden` package (this module is `harden/dockerfile/templates.py`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2

_PACKAGE = Path(__file__).parent.parent  # harden/


def templates_dir() -> Path:
    for candidate in (_PACKAGE / "templates", _PACKAGE.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("harden's templates/ directory is missing from this installation")


@cache
def _environment() -> jinja2.Environment:
    import jinja2  # imported on first use: it costs start-up time `harden rules` does not need

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_lines(name: str, **values: object) -> list[str]:
    """The template's output as lines without line endings."""
    return _environment().get_template(name).render(**values).splitlines()
