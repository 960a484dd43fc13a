"""Where the Redis password comes from when it is not in the URL.

A password on the command line (`--url redis://:PASSWORD@host`) is visible to every user of the
machine in `ps` and /proc/PID/cmdline, and lands in shell history. So it may also come from a
file (`--password-file`, e.g. a mounted secret or `<(pass show redis)`), from a prompt that does
not echo (`--ask-password`), or from $REDISCLI_AUTH as redis-cli reads it. The most explicit
wins (runconfig.resolve_password, which loads this module only to read a file or to ask):
--password-file / --ask-password, then the URL, then $REDISCLI_AUTH.
"""

from __future__ import annotations

import os
import select
import stat
import time

from troubleshooter.errors import UsageError
from troubleshooter.target import encoding_problem

# A password file holds one password: anything longer is the wrong file.
MAX_FILE_BYTES = 64 * 1024
# How long a pipe (`<(pass show redis)`) may take to deliver the password.
PIPE_WAIT_S = 10.0


def read_password_file(path: str, option: str = "--password-file") -> str:
    """The password in `path` (a file or a pipe), without its trailing newline; errors name
    `option`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise UsageError(f"{option} {path}: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
            raise UsageError(f"{option} {path}: not a regular file or a pipe")
        data = _read_bounded(fd, path, pipe=stat.S_ISFIFO(mode), option=option)
    finally:
        os.close(fd)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", "surrogateescape")
        raise UsageError(f"{option} {path}: {encoding_problem(text, 'the password')}") \
            from None
    password = text[:-1] if text.endswith("\n") else text
    password = password[:-1] if password.endswith("\r") else password
    if not password:
        raise UsageError(f"{option} {path}: the file is empty")
    return password


def _read_bounded(fd: int, path: str, pipe: bool, option: str = "--password-file") -> bytes:
    data = b""
    deadline = time.monotonic() + PIPE_WAIT_S
    while len(data) <= MAX_FILE_BYTES:
        if pipe and not select.select([fd], [], [], max(deadline - time.monotonic(), 0))[0]:
            raise UsageError(f"{option} {path}: nothing came through the pipe in "
                             f"{PIPE_WAIT_S:g} s")
        chunk = os.read(fd, MAX_FILE_BYTES + 1 - len(data))
        if not chunk:
            return data
        data += chunk
    raise UsageError(f"{option} {path}: larger than {MAX_FILE_BYTES // 1024} KB; "
                     "a password file holds the password only")


def ask_password() -> str:
    """Prompt on the terminal without echo; ^D or an empty answer is a usage error."""
    import getpass

    try:
        password = getpass.getpass("Redis password (not shown): ")
    except EOFError:
        raise UsageError("--ask-password: no password given") from None
    if not password:
        raise UsageError("--ask-password: no password given")
    problem = encoding_problem(password, "the password")
    if problem:
        raise UsageError(f"--ask-password: {problem}")
    return password
