"""Processes on this host: is a worker alive, and does a work horse still run its job?

rq's worker forks a work horse per job; the horse calls setpgrp() but stays in the worker's
session, and (with setproctitle installed) rq titles both `rq:worker:<name>: ...`. When only the
worker's main process dies (an OOM kill of the parent, `kill -9 <pid>`), the horse goes on and
finishes the job: its job is not orphaned, and requeueing it would run it twice.
"""

from __future__ import annotations

import os
from pathlib import Path

from troubleshooter.frozen import frozen

PROC = Path("/proc")


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists here (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[:1] != ["Z"]
    except OSError:
        return True  # no /proc (not Linux): kill(0) succeeding is all we know


@frozen
class Proc:
    """One live process: its parent, its session and its title (argv joined by spaces)."""

    pid: int
    ppid: int
    session: int
    title: str


def processes() -> list[Proc] | None:
    """Every live (non-zombie) process here; None where there is no /proc to read."""
    if not PROC.is_dir():
        return None
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
            # The title is bounded: a process's argv is at most a few pages.
            title = (entry / "cmdline").read_bytes()[:4096]
        except OSError:
            continue  # exited meanwhile, or not ours to read
        fields = stat.rpartition(")")[2].split()
        if len(fields) < 4 or fields[0] == "Z":
            continue
        found.append(Proc(int(entry.name), int(fields[1]), int(fields[3]),
                          title.replace(b"\0", b" ").decode("utf-8", "replace").strip()))
    return found


def find_horse(procs: list[Proc], worker_name: str, worker_pid: int | None,
               current_pid: int | None = None) -> Proc | None:
    """A live work horse of the worker named `worker_name` whose main process (`worker_pid`) is
    gone: a process in that worker's session (the horse inherits it), or one rq titled
    `rq:worker:<name>: ` that is not `current_pid` (a worker restarted under the same name)
    nor one of its children.
    """
    title = f"rq:worker:{worker_name}: "
    for proc in procs:
        if proc.pid in (worker_pid, current_pid) or (current_pid and proc.ppid == current_pid):
            continue
        if worker_pid and proc.session == worker_pid and "rq" in proc.title:
            return proc
        if proc.title.startswith(title):
            return proc
    return None
