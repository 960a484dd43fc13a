"""Text that no value can take over: every string made visible, never read as markup.

The renderer builds every line from `line()` / `block()`: each part passes `sanitize.visible()`
and becomes a span of `ui.kit.Text` with a style we chose. Neither rich nor the plain screen
ever sees a markup string, so a queue called `[/x]` or `[link=...]` is just those characters,
and an ESC in a worker name is printed as `\\x1b`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from troubleshooter.sanitize import visible
from troubleshooter.ui.kit import Text

if TYPE_CHECKING:
    from rich.console import Console

    from troubleshooter.ui.console import Screen

Part = object | tuple[object, str]


def line(*parts: Part) -> Text:
    """One line: each part is a value, or `(value, style)`; newlines and tabs become visible."""
    return _assemble(parts, multiline=False)


def block(*parts: Part) -> Text:
    """Several lines (guidance, a multi-line question): newlines and tabs are kept."""
    return _assemble(parts, multiline=True)


def _assemble(parts: tuple[Part, ...], multiline: bool) -> Text:
    text = Text()
    for part in parts:
        value, style = part if isinstance(part, tuple) else (part, "")
        text.append(visible(str(value), multiline=multiline), style=style)
    return text


def indented(screen: Screen | Console, text: str, indent: int, style: str = "") -> None:
    """`text` (made visible) at `indent` columns, its wrapped lines under its first character
    (not at column 0, where they would read as lines of their own)."""
    hanging(screen, Text(" " * indent), Text(visible(text), style=style))


def hanging(screen: Screen | Console, mark: Text, body: Text) -> None:
    """`mark` then `body`, the body's wrapped lines under its first character."""
    from troubleshooter.ui.console import as_screen

    as_screen(screen).hanging(mark, body)
