"""The crash log: a traceback may quote hosts, keys and values, so it is private to the user.

Written to a fresh file created with O_EXCL | O_NOFOLLOW (mode 0600) in a 0700 directory, then
renamed over `crash.log`: a symlink or a file someone planted at either name is never followed
or reused, and a reader never sees half a traceback.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

NAME = "crash.log"


def private_dir(path: Path) -> Path:
    """`path` created 0700 if missing (its parents as mkdir -p would); an existing one is
    tightened to 0700 when it is ours."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid == os.getuid() and info.st_mode & 0o077:
        path.chmod(0o700)
    return path


def write(text: str, environ: Mapping[str, str]) -> Path:
    """Write `text` as the crash log of the state directory; return its path. Raises OSError."""
    from troubleshooter.report import state_dir

    directory = private_dir(state_dir(environ))
    tmp = directory / f".{NAME}.{secrets.token_hex(6)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(text)
        os.replace(tmp, directory / NAME)  # replaces a symlink there, never writes through it
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return directory / NAME
