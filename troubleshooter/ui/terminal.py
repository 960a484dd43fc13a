"""The terminal we were given, given back: cooked mode and a visible cursor on every way out.

prompt_toolkit puts the terminal in raw mode and rich's spinner hides the cursor; both undo it
when they unwind normally. SIGTERM and SIGHUP are turned into `Terminated` (a KeyboardInterrupt)
so they unwind the same way, and `restore()` puts back what we saved at start as a last resort.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType
from typing import Any

from troubleshooter.errors import Terminated

SHOW_CURSOR = b"\x1b[?25h"
SIGNALS = (signal.SIGTERM, signal.SIGHUP)

_saved: tuple[int, list[Any]] | None = None


def install() -> None:
    """Remember the terminal's modes and make SIGTERM/SIGHUP unwind like ^C (main thread only)."""
    global _saved
    _saved = _modes(0)
    try:
        for signum in SIGNALS:
            signal.signal(signum, _raise)
    except ValueError:  # not the main thread (an embedding program): its signals, its rules
        pass


def uninstall() -> None:
    """Default signal handling again (tests that call `main` in-process)."""
    global _saved
    _saved = None
    try:
        for signum in SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
    except ValueError:
        pass


def _raise(signum: int, frame: FrameType | None) -> None:
    # A second signal while we wind down means "now": the default action, no more unwinding.
    signal.signal(signum, signal.SIG_DFL)
    raise Terminated(signum)


def restore() -> None:
    """Cooked mode as we found it, and the cursor shown; silent where the terminal is gone."""
    if _saved is not None:
        import termios

        fd, modes = _saved
        try:
            termios.tcsetattr(fd, termios.TCSANOW, modes)
        except (OSError, termios.error):
            pass
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None and stream.isatty():
                stream.flush()
                os.write(stream.fileno(), SHOW_CURSOR)
        except (OSError, ValueError):
            pass


def stdin_is_terminal() -> bool:
    """False for a closed stdin too (`<&-`): nobody can answer prompts then."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (OSError, ValueError):
        return False


def _modes(fd: int) -> tuple[int, list[Any]] | None:
    try:
        import termios

        if not os.isatty(fd):
            return None
        return fd, termios.tcgetattr(fd)
    except (OSError, ImportError):
        return None
