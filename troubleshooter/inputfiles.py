"""Reading a local input file (playbook, answers file, log) without trusting it.

A path may name a FIFO (opening it would wait for a writer forever), a device (`/dev/zero`
never ends), a directory, or a file of gigabytes. `open_regular` refuses everything that is not
a regular file before reading a byte; `read_text` also caps the size. Errors are one line and
name the file as given (made visible).
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from troubleshooter.errors import UsageError
from troubleshooter.sanitize import visible

MiB = 1024 * 1024
PLAYBOOK_MAX = 2 * MiB  # the shipped playbook is 12 KB
ANSWERS_MAX = 1 * MiB


class InputFileError(UsageError):
    """An input file that cannot be used; the message names the file and says why."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular(path: str | os.PathLike[str], what: str) -> BinaryIO:
    """`path` opened for binary reading, if it is a regular file; InputFileError otherwise.

    O_NONBLOCK makes opening a FIFO return at once (and is cleared again for the read); the
    type is checked on the open descriptor, so a file swapped in between cannot slip through.
    """
    name = visible(os.fspath(path))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise InputFileError(f"{name}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputFileError(f"{name}: cannot read {what}: it is {_kind(mode)}, "
                                 "not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | os.PathLike[str], max_bytes: int, what: str) -> bytes:
    """The whole of a regular file of at most `max_bytes` bytes; InputFileError otherwise.

    The limit holds while reading too: a file that grows after the check stops at the limit.
    """
    with open_regular(path, what) as fh:
        size = os.fstat(fh.fileno()).st_size
        data = fh.read(max_bytes + 1) if size <= max_bytes else b""
    if size > max_bytes or len(data) > max_bytes:
        raise InputFileError(f"{visible(os.fspath(path))}: cannot read {what}: it is too large "
                             f"({_size(max(size, len(data)))}; at most {_size(max_bytes)})")
    return data


def read_text(path: str | os.PathLike[str], max_bytes: int, what: str) -> str:
    """`read_bytes` decoded as UTF-8; a byte that is not UTF-8 is an error naming its line."""
    data = read_bytes(path, max_bytes, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputFileError(f"{visible(os.fspath(path))}:{line}: cannot read {what}: byte "
                             f"0x{data[exc.start]:02x} is not UTF-8 text; save the file as "
                             "UTF-8") from None


def _size(n: int) -> str:
    return f"{n / MiB:.1f} MB" if n >= MiB else f"{n} bytes"
