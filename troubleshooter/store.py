"""Where sessions live: saved after every action, listed, found by id prefix, pruned.

Files are private (0600 in 0700 directories) and written atomically: a fresh temp file with a
random name in the same directory (created with O_EXCL|O_NOFOLLOW, so a pre-existing file or a
symlink planted there is never followed or reused), fsync, rename, fsync of the directory. A
process killed at any moment leaves the previous complete transcript, never half of one.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from troubleshooter.errors import UsageError
from troubleshooter.frozen import frozen
from troubleshooter.sanitize import shorten

# A transcript is a few hundred KB at most; anything far bigger is not one of ours.
MAX_SESSION_BYTES = 32 * 1024 * 1024
# Pruning (after each run): sessions older than KEEP_DAYS go, and all but the newest KEEP_COUNT.
KEEP_DAYS, KEEP_COUNT = 30, 200
KEEP_DAYS_ENV, KEEP_COUNT_ENV = "TROUBLESHOOTER_KEEP_DAYS", "TROUBLESHOOTER_KEEP_SESSIONS"


def state_dir(environ: Mapping[str, str]) -> Path:
    """`$XDG_STATE_HOME/troubleshooter` on Linux; the platform's user state directory
    elsewhere (macOS: ~/Library/Application Support/troubleshooter)."""
    if environ.get("XDG_STATE_HOME") or sys.platform.startswith("linux"):
        base = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        return Path(base) / "troubleshooter"
    import platformdirs

    return Path(platformdirs.user_state_dir("troubleshooter", appauthor=False))


def sessions_dir(environ: Mapping[str, str]) -> Path:
    return state_dir(environ) / "sessions"


def private_dir(path: Path, ours: bool = False) -> Path:
    """Create `path` (and missing parents) as 0700. An existing directory is left as it is,
    unless it is `ours` (the state directory's own, which older versions made 0755)."""
    missing = []
    for parent in (path, *path.parents):
        if parent.exists():
            break
        missing.append(parent)
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            pass
    info = path.stat()
    if ours and stat.S_IMODE(info.st_mode) != 0o700 and info.st_uid == os.getuid():
        os.chmod(path, 0o700)
    return path


def write_private(target: Path, data: bytes, durable: bool = True, ours: bool = False) -> Path:
    """Write `data` to `target` atomically, mode 0600 (see the module docstring).

    `durable=False` skips the directory's fsync (the saves during a run: a crash of the
    machine may then keep the previous save, never a torn one; the final save is durable).
    A path the user gave (not `ours`) that is something else than a regular file is refused:
    as root, `-o /dev/null` would have replaced the device with a file."""
    if not ours:
        _refuse_special(target)
    private_dir(target.parent, ours)
    # mkstemp: O_CREAT|O_EXCL (and O_NOFOLLOW), 0600, a random name nobody could plant.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)  # replaces a symlink at `target` itself, never its target
    except BaseException:  # ^C or a full disk: no half-written file left behind
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(target.parent)
    return target


_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISDIR, "a directory"))


def _refuse_special(target: Path) -> None:
    try:
        mode = target.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a file")
        raise FileExistsError(errno.EEXIST, f"it is {kind}, not a regular file: not replaced")


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def file_name(trace_id: str, started_at: str) -> str:
    return f"{started_at[:19].replace(':', '')}-{trace_id[:8]}.json"


def save_document(doc: Mapping[str, Any], environ: Mapping[str, str],
                  path: str | None = None, compact: bool = False) -> Path:
    """Write a transcript document: to the state directory, or to `path` (a file, or a
    directory to put the usual file name in). `compact` for the saves during a run."""
    name = file_name(str(doc["trace_id"]), str(doc["started_at"]))
    target = Path(path) if path else sessions_dir(environ) / name
    if target.is_dir():
        target = target / name
    text = json.dumps(doc, indent=None if compact else 2, ensure_ascii=False, default=str,
                      separators=(",", ":") if compact else None) + "\n"
    return write_private(target, text.encode("utf-8"), durable=not compact, ours=not path)


# -- reading ------------------------------------------------------------------------------
@frozen
class Stored:
    """One saved session: its file and its transcript document."""

    path: Path
    doc: Mapping[str, Any]

    @property
    def trace_id(self) -> str:
        return str(self.doc.get("trace_id", ""))

    @property
    def finished(self) -> bool:
        return self.doc.get("ended_by") == "finished"

    def summary(self) -> dict[str, Any]:
        """The line `troubleshooter sessions` shows (and its --json)."""
        d = self.doc
        diagnosis = d.get("diagnosis") or {}
        target = d.get("target") or {}
        return {"trace_id": self.trace_id, "started_at": d.get("started_at"),
                "target": target.get("url"), "status": d.get("status"),
                "ended_by": d.get("ended_by"), "diagnosis": diagnosis.get("code"),
                "playbook": (d.get("playbook") or {}).get("id"), "path": str(self.path)}


class NotASession(UsageError):
    """The file is one of ours, but not a session (a `watch` transcript): listed nowhere."""


def read(path: Path) -> Stored:
    """A saved transcript, or UsageError naming the file and what is wrong with it."""
    # Only the session commands read transcripts back: a run only writes its own.
    from troubleshooter.sessionload import OtherDocument, SessionFormatError, check_schema

    try:
        # O_NONBLOCK: a FIFO named *.json must not block `sessions` (as inputfiles does).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise UsageError(f"cannot read session file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise UsageError(f"{path}: not a regular file")
        os.set_blocking(fh.fileno(), True)
        raw = fh.read(MAX_SESSION_BYTES + 1)
    if len(raw) > MAX_SESSION_BYTES:
        raise UsageError(f"{path}: larger than {MAX_SESSION_BYTES // 2**20} MB: not a session")
    try:
        doc = check_schema(json.loads(raw.decode("utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UsageError(f"{path}: a corrupt or truncated session file (not valid JSON); "
                         "move it away or delete it") from None
    except OtherDocument as exc:
        raise NotASession(f"{path}: {exc}") from None
    except SessionFormatError as exc:
        raise UsageError(f"{path}: {exc}") from None
    return Stored(path, doc)


def listing(environ: Mapping[str, str]) -> tuple[list[Stored], list[str]]:
    """Every readable session, newest first, and one line for each file that is not."""
    directory = sessions_dir(environ)
    if not directory.is_dir():
        return [], []
    found, problems = [], []
    for path in directory.glob("*.json"):
        try:
            found.append(read(path))
        except NotASession:
            continue
        except UsageError as exc:
            problems.append(str(exc))
    found.sort(key=lambda s: (str(s.doc.get("started_at", "")), s.path.name), reverse=True)
    return found, problems


def find(environ: Mapping[str, str], ident: str | None, *,
         unfinished: bool = False) -> Stored:
    """The session `ident` names (a trace id or a prefix of one), or the newest one (the
    newest unfinished one if `unfinished`)."""
    if ident is not None and not ident.strip():
        raise UsageError("an empty session id")
    sessions, problems = listing(environ)
    if ident is None:
        pool = [s for s in sessions if not (unfinished and s.finished)]
        if not pool:
            what = "unfinished session" if unfinished else "saved session"
            where = sessions_dir(environ)
            hint = f" ({problems[0]})" if problems else ""
            raise UsageError(f"no {what} in {where}{hint}")
        return pool[0]
    key = ident.strip().lower()
    matches = [s for s in sessions if s.trace_id.startswith(key)]
    if not matches:
        # A damaged file may be the one meant: say so rather than "unknown".
        damaged = [p for p in problems if f"-{key[:8]}" in p]
        if damaged:
            raise UsageError(damaged[0])
        raise UsageError(f"no session with id {shorten(ident, 40)!r} "
                         "(see `troubleshooter sessions`)")
    if len(matches) > 1:
        ids = ", ".join(s.trace_id[:12] for s in matches[:5])
        raise UsageError(f"session id {shorten(ident, 40)!r} is ambiguous: it starts {ids}; "
                         "give more characters")
    return matches[0]


# -- pruning ------------------------------------------------------------------------------
def prune(environ: Mapping[str, str], keep: str | None = None,
          now: float | None = None) -> list[Path]:
    """Remove sessions older than $TROUBLESHOOTER_KEEP_DAYS (30) days and all but the newest
    $TROUBLESHOOTER_KEEP_SESSIONS (200); never the file `keep`. Returns what was removed."""
    days = _limit(environ, KEEP_DAYS_ENV, KEEP_DAYS)
    count = _limit(environ, KEEP_COUNT_ENV, KEEP_COUNT)
    directory = sessions_dir(environ)
    if not directory.is_dir():
        return []
    now = time.time() if now is None else now
    files = sorted(directory.glob("*.json"), key=lambda p: p.name, reverse=True)
    removed = []
    for index, path in enumerate(files):
        if keep is not None and path.name == keep:
            continue
        try:
            old = now - path.lstat().st_mtime > days * 86400
        except OSError:
            continue
        if old or index >= count:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def check_limits(environ: Mapping[str, str]) -> None:
    """UsageError for a pruning setting that is not a whole number of at least 1."""
    for name, default in ((KEEP_DAYS_ENV, KEEP_DAYS), (KEEP_COUNT_ENV, KEEP_COUNT)):
        _limit(environ, name, default, strict=True)


def _limit(environ: Mapping[str, str], name: str, default: int, strict: bool = False) -> int:
    """The setting, or its default (an unusable value is an error only where `strict`: a run
    that just finished is not failed for it; `troubleshooter sessions` says so)."""
    text = environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        if not strict:
            return default
        raise UsageError(f"${name}={shorten(text, 20)!r}: expected a whole number of at least 1")
    return int(text)
