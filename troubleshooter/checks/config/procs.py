"""The processes on this host, read through psutil: read-only, bounded, and never fatal.

`rq worker` processes (their command line, environment and established connections), the
process listening on a port, and processes named by pid. A process we may not read (another
user's environment, macOS's net_connections) gives a note, not an error; one that exits while
we look is simply gone. psutil is imported lazily: `--help` and `validate` load this module.

On Linux the `rq worker` candidates are found by reading /proc/PID/cmdline directly (a bounded
prefix of each): psutil costs ~30 ms to import, and a host without a worker never needs it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from troubleshooter.frozen import frozen

# Environment variables worth reading from a process: nothing else is kept.
ENV_KEYS = ("RQ_REDIS_URL", "REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD",
            "REDIS_DB", "RQ_QUEUE_NAME", "RQ_QUEUE", "UPSTASH_REDIS_REST_URL", "RQ_CONFIG",
            "RQ_KEY_PREFIX")
# At most this many processes are inspected in depth, and this much of a command line kept.
MAX_PROCS = 64
MAX_ARG = 4096
# Finding the candidates: at most this many processes looked at, and this much of each command
# line read (an rq worker says so in its first few arguments).
MAX_SCANNED = 100_000
CMDLINE_BYTES = 4096
PROC = "/proc"
# rq worker options that take a value (rq 1.16 - 3.x, `rq worker --help`); the rest are flags.
_VALUE_OPTS = {
    "-u", "--url", "-c", "--config", "-w", "--worker-class", "-j", "--job-class",
    "--queue-class", "--connection-class", "-P", "--path", "-S", "--serializer",
    "--logging_level", "-l", "--logging-level", "--log-format", "--date-format", "-n",
    "--name", "--results-ttl", "--worker-ttl", "--maintenance-interval",
    "--job-monitoring-interval", "--exception-handler", "--pid", "--max-jobs",
    "--max-idle-time", "-ds", "--dequeue-strategy", "--sentry-dsn", "--sentry-ca-certs",
    "--num-workers",
}


@frozen
class ProcInfo:
    """One process as far as we may see it. `environ` holds only ENV_KEYS."""

    pid: int
    name: str
    cmdline: tuple[str, ...]
    status: str = ""
    environ: dict[str, str] | None = None  # None: not readable
    remotes: tuple[tuple[str, int], ...] = ()  # established TCP peers
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "name": self.name, "cmdline": list(self.cmdline),
                "status": self.status, "remotes": [f"{h}:{p}" for h, p in self.remotes],
                "notes": list(self.notes)}


@frozen
class WorkerArgs:
    """What an `rq worker` command line says: its URL (if given) and its queues."""

    url: str | None
    queues: tuple[str, ...]
    config: str | None = None
    flags: Mapping[str, str] = MappingProxyType({})


def is_rq_worker(cmdline: Sequence[str]) -> bool:
    """`rq worker ...`, `python -m rq.cli worker ...`, `rqworker ...`, `rq worker-pool ...`."""
    for i, arg in enumerate(cmdline[:6]):
        base = arg.rsplit("/", 1)[-1]
        if base in ("rqworker", "rqworker-pool"):
            return True
        if base in ("rq", "rq.cli") and i + 1 < len(cmdline) and \
                cmdline[i + 1] in ("worker", "worker-pool"):
            return True
    return False


def parse_worker_args(cmdline: Sequence[str]) -> WorkerArgs:
    """The URL, config module and queue names of an rq worker command line."""
    args = list(cmdline)
    start = next((i + 1 for i, a in enumerate(args)
                  if a in ("worker", "worker-pool") or a.endswith(("rqworker", "rqworker-pool"))),
                 len(args))
    flags: dict[str, str] = {}
    queues: list[str] = []
    i = start
    while i < len(args):
        arg = args[i]
        if arg.startswith("--") and "=" in arg:
            key, _, value = arg.partition("=")
            flags[key] = value
        elif arg in _VALUE_OPTS and i + 1 < len(args):
            flags[arg] = args[i + 1]
            i += 1
        elif not arg.startswith("-"):
            queues.append(arg)
        i += 1
    url = flags.get("--url") or flags.get("-u")
    return WorkerArgs(url, tuple(queues), flags.get("--config") or flags.get("-c"), flags)


def _read(proc: Any, want_env: bool, want_net: bool) -> ProcInfo:
    import psutil

    notes: list[str] = []
    with proc.oneshot():
        name = proc.name()
        cmdline = tuple(a[:MAX_ARG] for a in proc.cmdline()[:256])
        status = proc.status()
        environ: dict[str, str] | None = None
        if want_env:
            try:
                env = proc.environ()
                environ = {k: env[k] for k in ENV_KEYS if k in env}
            except (psutil.AccessDenied, OSError):
                notes.append(f"pid {proc.pid}: its environment is not readable (permission "
                             "denied)")
        remotes: list[tuple[str, int]] = []
        if want_net:
            try:
                for conn in proc.net_connections(kind="tcp"):
                    if conn.status == psutil.CONN_ESTABLISHED and conn.raddr:
                        remotes.append((str(conn.raddr.ip), int(conn.raddr.port)))
            except (psutil.AccessDenied, OSError):
                notes.append(f"pid {proc.pid}: its connections are not readable (permission "
                             "denied)")
    return ProcInfo(proc.pid, name, cmdline, status, environ,
                    tuple(dict.fromkeys(remotes)), tuple(notes))


def rq_workers(limit: int = MAX_PROCS,
               proc_root: str = PROC) -> tuple[list[ProcInfo], list[str]]:
    """Every `rq worker` process on this host (at most `limit`), and notes on what was not
    readable. A worker's work horse (its forked child) is not listed twice."""
    candidates = _proc_candidates(proc_root)
    pids, notes = candidates if candidates is not None else _psutil_candidates()
    if not pids:
        return [], notes
    import psutil

    found: list[ProcInfo] = []
    seen: set[int] = set()
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            if proc.ppid() in seen:
                continue
            if len(found) >= limit:
                notes.append(f"more than {limit} rq worker processes: only the first {limit} "
                             "were read")
                break
            seen.add(pid)
            info = _read(proc, want_env=True, want_net=True)
            if not is_rq_worker(info.cmdline):  # it exec'd something else meanwhile
                continue
            found.append(info)
            notes.extend(info.notes)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        except psutil.AccessDenied:
            notes.append(f"pid {pid}: not readable (permission denied)")
    return found, notes


def _proc_candidates(root: str) -> tuple[list[int], list[str]] | None:
    """The pids whose command line reads as an rq worker, in pid order (parents before their
    work horses), from `root`/PID/cmdline; None when there is no such directory."""
    try:
        names = os.listdir(root)
    except OSError:
        return None
    pids = sorted(int(n) for n in names if n.isdigit())
    if not pids and not os.path.exists(os.path.join(root, "self")):
        return None  # an empty directory, not procfs
    notes: list[str] = []
    if len(pids) > MAX_SCANNED:
        notes.append(f"more than {MAX_SCANNED:,} processes: only the first {MAX_SCANNED:,} "
                     "were looked at for rq workers")
        pids = pids[:MAX_SCANNED]
    return [pid for pid in pids if is_rq_worker(_cmdline(root, pid))], notes


def _cmdline(root: str, pid: int) -> list[str]:
    """The start of a process's command line (at most CMDLINE_BYTES, split as psutil does);
    [] when it is gone, a kernel thread or a zombie, or not readable."""
    try:
        with open(os.path.join(root, str(pid), "cmdline"), "rb") as fh:
            data = fh.read(CMDLINE_BYTES)
    except OSError:  # exited meanwhile (ENOENT, ESRCH), hidepid (EACCES)
        return []
    if not data:  # a kernel thread or a zombie
        return []
    text = data.decode(sys.getfilesystemencoding(), "surrogateescape").removesuffix("\0")
    args = text.split("\0")
    # A process that rewrote its title may separate its words with spaces (psutil#1179).
    return text.split(" ") if len(args) == 1 and " " in text else args


def _psutil_candidates() -> tuple[list[int], list[str]]:
    """The same as _proc_candidates where there is no /proc (macOS, BSD): psutil looks."""
    import psutil

    pids = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if is_rq_worker(proc.info.get("cmdline") or []):
                pids.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
    return sorted(pids), []


def by_pid(pids: Iterable[int]) -> tuple[list[ProcInfo], list[str]]:
    """The processes named by pid (`--pid`), with a note for each one missing or unreadable."""
    import psutil

    found: list[ProcInfo] = []
    notes: list[str] = []
    for pid in list(pids)[:MAX_PROCS]:
        try:
            info = _read(psutil.Process(pid), want_env=True, want_net=True)
        except psutil.NoSuchProcess:
            notes.append(f"pid {pid}: no such process")
            continue
        except psutil.AccessDenied:
            notes.append(f"pid {pid}: not readable (permission denied)")
            continue
        found.append(info)
        notes.extend(info.notes)
    return found, notes


def listener(port: int) -> tuple[ProcInfo | None, list[str]]:
    """The process listening on TCP `port` on this host, if we may see it: from /proc on
    Linux (proclisten), through psutil elsewhere."""
    from troubleshooter.checks.config import proclisten

    inodes = proclisten.listening_inodes(port, PROC)
    if inodes is not None:
        if not inodes:
            return None, []
        pid, complete = proclisten.owner(inodes, PROC)
        info = proclisten.read_basic(pid, PROC) if pid is not None else None
        if info is not None:
            return info, []
        if not complete and pid is None:
            return None, [f"something listens on port {port}, but its process was not found "
                          "(some processes are not visible to this user, or the search ran out "
                          "of time)"]
        return None, [f"something listens on port {port}, but its process is not visible "
                      "to this user"]
    import psutil

    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return None, ["the listening sockets of this host are not readable (permission denied)"]
    pids = {c.pid for c in conns
            if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid}
    for pid in sorted(pids):
        try:
            return _read(psutil.Process(pid), want_env=False, want_net=False), []
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    if any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and not c.pid
           for c in conns):
        return None, [f"something listens on port {port}, but its process is not visible "
                      "to this user"]
    return None, []
