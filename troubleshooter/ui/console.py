"""The rich Console, honouring NO_COLOR, TERM=dumb and non-terminal output."""

from __future__ import annotations

import os
import sys
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def make_console(stream: IO[str] | None = None, width: int | None = None) -> Console:
    from rich.console import Console

    stream = stream or sys.stdout
    dumb = os.environ.get("TERM") == "dumb"
    return Console(
        file=stream,
        width=width,
        no_color=bool(os.environ.get("NO_COLOR")) or dumb,
        color_system=None if dumb else "auto",
        highlight=False,
        emoji=False,
        soft_wrap=False,
    )


def plain_symbols(console: Console) -> bool:
    """ASCII marks where the terminal cannot be trusted with ✓ and ✗."""
    encoding = (console.encoding or "").lower()
    return os.environ.get("TERM") == "dumb" or "utf" not in encoding
