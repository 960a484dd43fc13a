"""Standard output and error that may be closed, full or a broken pipe.

`troubleshooter ... >&-`, `| head -c1` or `>/dev/full` must not end in a traceback half way
through a triage: a failed stream swallows what follows and remembers why, the run finishes and
saves its session, and `cli.main` says so in one line on whichever stream still works.
"""

from __future__ import annotations

import os
from typing import Any, TextIO


class Guarded:
    """A text stream whose first write error is remembered in `error` instead of raised."""

    def __init__(self, stream: TextIO | None, name: str) -> None:
        self.stream = stream  # None: the descriptor was closed when we started
        self.name = name
        self.error: str | None = None  # set by the first write that fails

    def write(self, text: str) -> int:
        if self.stream is None:
            self.error = self.error or "it is closed"
        elif self.error is None:
            try:
                return self.stream.write(text)
            except (OSError, ValueError) as exc:
                self._failed(exc)
        return len(text)

    def flush(self) -> None:
        if self.stream is not None and self.error is None:
            try:
                self.stream.flush()
            except (OSError, ValueError) as exc:
                self._failed(exc)

    def isatty(self) -> bool:
        try:
            return self.stream is not None and self.error is None and self.stream.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        if self.stream is None:
            raise OSError(f"{self.name} is closed")
        return self.stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", None) or "utf-8"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def _failed(self, exc: BaseException) -> None:
        self.error = (os.strerror(exc.errno) if isinstance(exc, OSError) and exc.errno
                      else str(exc) or type(exc).__name__)


def reopen_closed_descriptors() -> None:
    """Put /dev/null on a closed 0, 1 or 2: otherwise the next file we open (a transcript)
    would become that descriptor, and a child process would write into it."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: this one
