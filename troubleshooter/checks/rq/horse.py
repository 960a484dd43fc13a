"""Processes on this host: is a worker alive, and does a work horse still run its job?

rq's worker forks a work horse per job; the horse calls setpgrp() but stays in the worker's
session, and (with setproctitle installed) rq titles both `rq:worker:<name>: ...`. When only the
worker's main process dies (an OOM kill of the parent, `kill -9 <pid>`), the horse goes on and
finishes the job: its job is not orphaned, and requeueing it would run it twice.

A worker started from a shell does not lead its session, and without setproctitle its horse's
title is the worker's command line. Its horse is then known as an orphan (its parent gone, it
was handed to init) that leads its own process group and started with the job (rq writes
`started_at` as it forks). A process's start time also tells a worker's pid from the same pid
taken later by another process.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from troubleshooter.frozen import frozen

PROC = Path("/proc")
# A work horse starts this close to its job's `started_at` (fork, then the job runs), and a
# process this long after a worker's birth is not that worker (rq registers the birth after
# the process starts). Start times are read to 1/CLK_TCK from boot, boot time to 1 s.
HORSE_START_S = 2.0


def process_alive(pid: int, born: float | None = None) -> bool:
    """Whether a process with this pid exists here (a zombie counts as gone), and - `born`
    given (epoch s) - started before then: one that started later has only reused the pid."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    fields = _stat_fields(PROC / str(pid) / "stat")
    if fields is None:
        return True  # no /proc (not Linux): kill(0) succeeding is all we know
    if fields[:1] == ["Z"]:
        return False
    started = _started(fields)
    return born is None or started is None or started <= born + HORSE_START_S


def _stat_fields(path: Path) -> list[str] | None:
    """/proc/<pid>/stat's fields after the command name (state, ppid, pgrp, session...)."""
    try:
        return path.read_text(encoding="ascii", errors="replace").rpartition(")")[2].split()
    except OSError:
        return None  # exited meanwhile, not ours to read, or no /proc


def _started(fields: list[str]) -> float | None:
    """A process's start (epoch s) from /proc/<pid>/stat's fields after the command name."""
    boot = _boot_time()
    try:
        ticks = int(fields[19])  # starttime, the 22nd field: clock ticks since boot
    except (IndexError, ValueError):
        return None
    return None if boot is None else boot + ticks / os.sysconf("SC_CLK_TCK")


@frozen
class Proc:
    """One live process: its parent, its session and its title (argv joined by spaces)."""

    pid: int
    ppid: int
    session: int
    title: str
    started: float | None = None  # epoch s
    group: int = 0  # its process group
    state: str = ""  # /proc's one letter: R, S, D, T (stopped)...

    @property
    def stopped(self) -> bool:
        return self.state in ("T", "t")


def processes() -> list[Proc] | None:
    """Every live (non-zombie) process here; None where there is no /proc to read."""
    if not PROC.is_dir():
        return None
    found = []
    me = str(os.getpid())
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or entry.name == me:
            continue
        fields = _stat_fields(entry / "stat")
        try:
            # The title is bounded: a process's argv is at most a few pages.
            title = (entry / "cmdline").read_bytes()[:4096]
        except OSError:
            continue  # exited meanwhile, or not ours to read
        if fields is None or len(fields) < 4 or fields[0] == "Z":
            continue
        found.append(Proc(int(entry.name), int(fields[1]), int(fields[3]),
                          title.replace(b"\0", b" ").decode("utf-8", "replace").strip(),
                          _started(fields), int(fields[2]), fields[0]))
    return found


def find_horse(procs: list[Proc], worker_name: str, worker_pid: int | None,
               current_pid: int | None = None, job_started: float | None = None) -> Proc | None:
    """A live work horse of the worker named `worker_name` whose main process (`worker_pid`) is
    gone: a process in that worker's session (the horse inherits it), one rq titled
    `rq:worker:<name>: `, or a Python or rq process leading its own group that started with the
    job (`job_started`, epoch s) whose parent is gone (init took it), or is a Python or rq
    process too with one of them stopped (SIGSTOP: the worker's key expired while its horse
    holds the job) - not `current_pid` (a worker restarted under the same name) nor one of its
    children. (A running parent's horse that started then belongs to a live worker.)
    """
    title = f"rq:worker:{worker_name}: "
    for proc in procs:
        if proc.pid in (worker_pid, current_pid) or (current_pid and proc.ppid == current_pid):
            continue
        if worker_pid and proc.session == worker_pid and "rq" in proc.title:
            return proc
        if proc.title.startswith(title):
            return proc
        if (job_started is not None and proc.started is not None and proc.group == proc.pid
                and abs(proc.started - job_started) <= HORSE_START_S
                and _python_or_rq(proc.title)
                and (proc.ppid == 1 or _stopped_family(proc, procs))):
            return proc
    return None


def _stopped_family(proc: Proc, procs: list[Proc]) -> bool:
    """Its parent is a Python or rq process too, and one of the two is stopped."""
    parent = next((p for p in procs if p.pid == proc.ppid), None)
    return (parent is not None and _python_or_rq(parent.title)
            and (proc.stopped or parent.stopped))


def _python_or_rq(title: str) -> bool:
    words = re.split(r"[^a-z0-9]+", title.lower())
    return "rq" in words or any(word.startswith("python") for word in words)


@functools.cache
def _boot_time() -> float | None:
    """When this host booted (epoch s, /proc/stat's btime); None where unknown."""
    try:
        with open(PROC / "stat", encoding="ascii", errors="replace") as stat:
            line = next((line for line in stat if line.startswith("btime ")), "")
        return float(line.split()[1]) if line else None
    except (OSError, ValueError, IndexError):
        return None
