"""The rich Console, honouring NO_COLOR, TERM=dumb and non-terminal output.

The environment is handed in (the run's), never read from os.environ here.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING

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


def plain_symbols(console: Console, environ: Mapping[str, str] | None = None) -> bool:
    """ASCII marks where the terminal cannot be trusted with ✓ and ✗."""
    encoding = (console.encoding or "").lower()
    return (environ or {}).get("TERM") == "dumb" or "utf" not in encoding
