"""Where the wizard is drawn: the rich Console (honouring NO_COLOR, TERM=dumb and non-terminal
output), and the screen the renderer draws on (rich's, or ui.plainscreen's into a pipe).

The environment is handed in (the run's); os.environ is read only where rich itself reads it
(its width and its terminal overrides), so the plain screen decides as rich would.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any, TypeAlias

from troubleshooter.ui.kit import to_rich
from troubleshooter.ui.plainscreen import PlainScreen

if TYPE_CHECKING:
    from rich.console import Console


def make_console(stream: IO[str] | None = None, width: int | None = None,
                 environ: Mapping[str, str] | None = None) -> Console:
    from rich.console import Console

    environ = environ or {}
    stream = stream or sys.stdout
    dumb = environ.get("TERM") == "dumb"
    console = Console(
        file=stream,
        width=width,
        no_color=bool(environ.get("NO_COLOR")) or dumb,
        color_system=None if dumb else "auto",
        highlight=False,
        emoji=False,
        soft_wrap=False,
    )
    if not console.is_terminal:
        # A file or a pipe does not change size: measured once, not at every line (rich
        # asks the terminal and the environment each time it needs the width).
        console.size = console.size
    return console


def plain_symbols(console: Console | Screen, environ: Mapping[str, str] | None = None) -> bool:
    """ASCII marks where the terminal cannot be trusted with ✓ and ✗."""
    encoding = (console.encoding or "").lower()
    return (environ or {}).get("TERM") == "dumb" or "utf" not in encoding


# rich reads these to decide it writes to a terminal (or a notebook): with any of them set, the
# wizard is drawn by rich whatever the stream.
_RICH_TERMINAL_ENV = ("TTY_COMPATIBLE", "FORCE_COLOR", "TTY_INTERACTIVE", "JUPYTER_COLUMNS",
                      "JUPYTER_LINES")


class RichScreen:
    """The wizard's screen on a rich Console: the kit's objects become rich's."""

    def __init__(self, console: Console) -> None:
        self.console = console

    @property
    def is_terminal(self) -> bool:
        return self.console.is_terminal

    @property
    def width(self) -> int:
        return self.console.width

    @property
    def encoding(self) -> str:
        return self.console.encoding

    def rich(self) -> RichScreen:
        return self

    def print(self, *objects: Any, soft_wrap: bool = False) -> None:
        self.console.print(*(to_rich(o) for o in objects), soft_wrap=soft_wrap)

    def rule(self, title: Any, align: str = "left") -> None:
        self.console.rule(to_rich(title), align=align)  # type: ignore[arg-type]

    def status(self, what: Any) -> Any:
        return self.console.status(to_rich(what))

    def hanging(self, mark: Any, body: Any) -> None:
        """`mark` then `body`, the body's wrapped lines under its first character."""
        from rich.text import Text

        mark, body = to_rich(mark), to_rich(body)
        indent = mark.cell_len
        width = max(self.console.width - indent, 20)
        if body.cell_len <= width and not any(c in body.plain for c in "\n\t"):  # one line
            self.console.print(Text.assemble(mark, body))
            return
        lines = []
        for i, wrapped in enumerate(body.wrap(self.console, width)):
            wrapped.rstrip()
            lines.append(Text.assemble(mark if i == 0 else " " * indent, wrapped))
        # One print: a running spinner redraws between prints, not inside one.
        self.console.print(Text("\n").join(lines))


Screen: TypeAlias = "RichScreen | PlainScreen"


def make_screen(stream: IO[str], environ: Mapping[str, str] | None = None) -> Screen:
    """Where the wizard is drawn: without rich into a file or a pipe (see ui.plainscreen), by
    rich on a terminal, or wherever the environment asks rich to decide."""
    environ = environ or {}
    encoding = (getattr(stream, "encoding", None) or "utf-8").lower()
    width = _pipe_width()
    if _is_tty(stream) or not encoding.startswith("utf") or width is None or any(
            name in env for env in (environ, os.environ) for name in _RICH_TERMINAL_ENV):
        return RichScreen(make_console(stream, environ=environ))

    def fallback() -> RichScreen:
        console = make_console(stream, environ=environ)
        console.width = width  # the same page as the lines drawn before
        return RichScreen(console)

    return PlainScreen(stream, width, encoding, fallback)


def as_screen(output: Any) -> Screen:
    """A screen for a rich Console (tests, other commands) or one already made."""
    return output if isinstance(output, (RichScreen, PlainScreen)) else RichScreen(output)


def _is_tty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False


def _pipe_width() -> int | None:
    """The width rich gives a console that is not a terminal: $COLUMNS, else the size of the
    first of stdin, stdout and stderr that is a terminal, else 80 (None: a width rich treats
    specially, left to rich)."""
    columns = os.environ.get("COLUMNS")
    if columns is not None and columns.isdigit():
        width = int(columns)
    else:
        width = 0
        for fd in (0, 1, 2):
            try:
                width = os.get_terminal_size(fd).columns
            except (AttributeError, ValueError, OSError):
                continue
            break
        width = width or 80
    return width if width >= 20 else None
