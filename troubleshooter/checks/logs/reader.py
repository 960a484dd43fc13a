"""Reading log files safely, in blocks, from the start of a time window.

A log path comes from a person or a playbook and may name anything: a FIFO (opening it would
block), a device (endless), a directory, a binary file, a broken .gz, a file being rotated.
Each of these becomes a `ReadProblem` (one line for the result's notes) or a note while
reading; nothing here raises anything else, and nothing reads more than a block at a time.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

from troubleshooter import inputfiles
from troubleshooter.checks.logs.timestamps import line_time
from troubleshooter.frozen import frozen

BLOCK = 4 * 1024 * 1024
SNIFF = 8192
# A .gz expanding past this is a bomb, not a log.
MAX_GZ_BYTES = 8 * 1024 ** 3
# Window search: how far from a probe to look for a line with a time.
PROBE = 64 * 1024


class ReadProblem(Exception):
    """Why a source was skipped (or cut short): one line for a person."""


@frozen
class Opened:
    """An open regular file: its handle, its size when opened, its inode, its mtime."""

    path: str
    fh: BinaryIO
    size: int
    inode: tuple[int, int]
    mtime: float

    def close(self) -> None:
        self.fh.close()


def open_regular(path: str) -> Opened:
    """Open `path` for reading if it is a regular, readable file; ReadProblem otherwise (the
    project's one safe opening of local files: FIFOs, devices and directories refused)."""
    try:
        fh = inputfiles.open_regular(path, "the log")
    except inputfiles.InputFileError as exc:
        raise ReadProblem(str(exc)) from None
    st = os.fstat(fh.fileno())
    return Opened(path, fh, st.st_size, (st.st_dev, st.st_ino), st.st_mtime)


def is_gzip(opened: Opened) -> bool:
    head = opened.fh.read(2)
    opened.fh.seek(0)
    return head == b"\x1f\x8b"


def check_text(path: str, head: bytes) -> None:
    """A log is text: NUL bytes in its first block mean binary data."""
    if b"\x00" in head[:SNIFF]:
        raise ReadProblem(f"{path}: binary data (NUL bytes near the start), not a log: skipped")


def plain_blocks(opened: Opened, start: int, notes: list[str],
                 block: int = BLOCK) -> Iterator[bytes]:
    """The file's bytes from `start` to its size when opened, a block at a time; notes a file
    truncated or rotated while it is read (what was read counts)."""
    fh, end = opened.fh, opened.size
    fh.seek(start)
    position = start
    while position < end:
        data = fh.read(min(block, end - position))
        if not data:
            notes.append(f"{opened.path}: truncated while it was read (read {position:,} of "
                         f"{end:,} bytes); the lines read were counted")
            break
        position += len(data)
        yield data
    try:
        st = os.stat(opened.path)
        if (st.st_dev, st.st_ino) != opened.inode:
            notes.append(f"{opened.path}: rotated while it was read; the new file was not read")
    except OSError:
        notes.append(f"{opened.path}: removed or rotated while it was read")


def gzip_blocks(opened: Opened, notes: list[str], block: int = BLOCK) -> Iterator[bytes]:
    """The decompressed bytes, a block at a time; a broken archive ends with a note."""
    import gzip  # only a rotated .gz needs it

    total = 0
    try:
        with gzip.GzipFile(fileobj=opened.fh, mode="rb") as gz:
            while True:
                data = gz.read1(block)  # what is there: a broken tail loses no more
                if not data:
                    return
                total += len(data)
                if total > MAX_GZ_BYTES:
                    notes.append(f"{opened.path}: expands past {MAX_GZ_BYTES >> 30} GB: "
                                 "the rest was not read")
                    return
                yield data
    except (OSError, EOFError, zlib.error) as exc:
        notes.append(f"{opened.path}: broken gzip after {total:,} bytes ({exc}); the lines "
                     "before it were counted")


def stream_blocks(read: Callable[[int], bytes], block: int = BLOCK) -> Iterator[bytes]:
    """Blocks from a stream (a command's output, an in-memory one) until it ends."""
    while True:
        data = read(block)
        if not data:
            return
        yield data


def fd_blocks(fd: int, time_left: Callable[[], float], block: int = BLOCK) -> Iterator[bytes]:
    """Blocks from a file descriptor (stdin) as they come, until it ends or the time is up: a
    writer that keeps it open and says nothing cannot hold the scan (OutOfTime)."""
    import select

    from troubleshooter.checks.logs.scan import OutOfTime

    while True:
        left = time_left()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise OutOfTime
        data = os.read(fd, block)
        if not data:
            return
        yield data


def seek_since(opened: Opened, since: float, now: float) -> int:
    """The offset of a line at or shortly before the first line written at `since` or later:
    a binary search on line times, so the cost follows the window, not the file. 0 when the
    file's times cannot be read (the whole file is then scanned and filtered line by line)."""
    lo, hi = 0, opened.size
    while hi - lo > PROBE:
        mid = (lo + hi) // 2
        t = _first_time(opened.fh, mid, hi, now)
        if t is None:
            hi = mid  # no dated line between mid and hi: look earlier, keep hi a bound
            continue
        if t < since:
            lo = mid
        else:
            hi = mid
    return _line_start(opened.fh, lo)


def _first_time(fh: BinaryIO, offset: int, limit: int, now: float) -> float | None:
    """The time of the first dated line starting after `offset` (within PROBE bytes)."""
    fh.seek(offset)
    data = fh.read(min(PROBE, max(limit - offset, 0) + 4096))
    cut = data.find(b"\n") + 1 if offset else 0
    if offset and cut == 0:
        return None
    for line in data[cut:].split(b"\n")[:-1]:
        t = line_time(line, now)
        if t is not None:
            return t
    return None


def _line_start(fh: BinaryIO, offset: int) -> int:
    """The start of the line holding `offset`."""
    if offset == 0:
        return 0
    back = max(offset - PROBE, 0)
    fh.seek(back)
    data = fh.read(offset - back)
    newline = data.rfind(b"\n")
    return back + newline + 1 if newline >= 0 else back
