"""Text for rich that no value can take over: every string made visible, never read as markup.

The renderer builds every line from `line()` / `block()`: each part passes `sanitize.visible()`
and becomes a `rich.text.Text` span with a style we chose. Rich never sees a markup string, so
a queue called `[/x]` or `[link=...]` is just those characters, and an ESC in a worker name is
printed as `\\x1b`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from troubleshooter.sanitize import visible

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

Part = object | tuple[object, str]


def line(*parts: Part) -> Text:
    """One line: each part is a value, or `(value, style)`; newlines and tabs become visible."""
    return _assemble(parts, multiline=False)


def block(*parts: Part) -> Text:
    """Several lines (guidance, a multi-line question): newlines and tabs are kept."""
    return _assemble(parts, multiline=True)


def _assemble(parts: tuple[Part, ...], multiline: bool) -> Text:
    from rich.text import Text

    text = Text()
    for part in parts:
        value, style = part if isinstance(part, tuple) else (part, "")
        text.append(visible(str(value), multiline=multiline), style=style)
    return text


def indented(console: Console, text: str, indent: int, style: str = "") -> None:
    """`text` (made visible) at `indent` columns, its wrapped lines under its first character
    (not at column 0, where they would read as lines of their own)."""
    from rich.text import Text

    hanging(console, Text(" " * indent), Text(visible(text), style=style))


def hanging(console: Console, mark: Text, body: Text) -> None:
    """`mark` then `body`, the body's wrapped lines under its first character."""
    from rich.text import Text

    indent = mark.cell_len
    width = max(console.width - indent, 20)
    if body.cell_len <= width and not any(c in body.plain for c in "\n\t"):  # one line
        console.print(Text.assemble(mark, body))
        return
    lines = []
    for i, wrapped in enumerate(body.wrap(console, width)):
        wrapped.rstrip()
        lines.append(Text.assemble(mark if i == 0 else " " * indent, wrapped))
    # One print: a running spinner redraws between prints, not inside one.
    console.print(Text("\n").join(lines))
