"""RQ workers as Redis shows them, and whether each is alive.

A worker is alive when its process lives (on this host), else when its key exists and its
heartbeat is within its own TTL: 480 s for an idle worker (worker_ttl 420 + 60), 90 s for a busy
one (job_monitoring_interval 30 + 60, renewed every 30 s by its main process). A Redis wipe
drops `rq:workers` while the workers go on: they recreate their key at the next heartbeat, so
worker keys missing from `rq:workers` are looked for with a bounded SCAN.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from troubleshooter.checks.rq.common import Session, age_s
from troubleshooter.checks.rq.jobdata import parse_time
from troubleshooter.checks.server.link import text
from troubleshooter.frozen import frozen

# The fields read per worker (one SORT ... GET reads them for every registered worker).
WORKER_FIELDS = ("state", "queues", "hostname", "pid", "last_heartbeat", "birth", "death")
# How many registered workers are read at most (SORT LIMIT), and how many keys a SCAN for
# unregistered ones may look at: both bound the triage whatever Redis holds.
WORKER_LIMIT = 2000
FALLBACK_LIMIT = 100
LISTENER_LIMIT = 200
LISTENER_QUEUES = 10
UNREGISTERED_CHECK = 1000
SCAN_BATCH = 1000
SCAN_CALLS = 20

DEAD_SIGNALS = {
    "key_gone": "registered, but its key has expired (no heartbeat for its whole TTL)",
    "death_registered": "it registered its own death",
    "pid_gone": "its process no longer exists on this host (its pid is gone, or taken by a "
                "process that started after it)",
    "heartbeat_stale": "its heartbeat is older than its TTL",
}


@frozen
class WorkerInfo:
    """One worker as its Redis hash shows it, and whether (and why) it is judged dead."""

    name: str
    found: bool
    state: str = ""
    queues: tuple[str, ...] = ()
    hostname: str = ""
    pid: int | None = None
    heartbeat_age_s: float | None = None
    born_at: datetime | None = None
    registered: bool = True
    dead_signal: str = ""  # "" when alive; see DEAD_SIGNALS

    @property
    def alive(self) -> bool:
        return not self.dead_signal

    @property
    def local(self) -> bool:
        """Runs on this host: its process (and its work horse) can be looked at."""
        return _on_this_host(self.hostname)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "state": self.state, "queues": list(self.queues),
            "hostname": self.hostname, "pid": self.pid, "registered": self.registered,
            "last_heartbeat_age_s": self.heartbeat_age_s, "alive": self.alive,
            "dead_signal": self.dead_signal or None,
        }

    def describe(self) -> str:
        """One evidence line: who, where, and the signal that says it is dead."""
        where = f" on {self.hostname} pid {self.pid}" if self.hostname else ""
        beat = ("" if self.heartbeat_age_s is None
                else f", last heartbeat {self.heartbeat_age_s:g} s ago")
        why = DEAD_SIGNALS.get(self.dead_signal, "alive")
        state = f", state {self.state}" if self.state else ""
        return f"worker {self.name}{where}: {why}{beat}{state}"


def read_registered(session: Session, idle_grace_s: float,
                    busy_grace_s: float) -> tuple[int, list[WorkerInfo]]:
    """(how many workers rq:workers holds, up to WORKER_LIMIT of them judged, freshest
    heartbeat first)."""
    return read_set(session, session.keys.workers, WORKER_LIMIT, idle_grace_s, busy_grace_s)


def read_listeners(session: Session, queue: str, idle_grace_s: float,
                   busy_grace_s: float) -> list[WorkerInfo]:
    """The workers registered for one queue (rq:workers:<queue>), up to LISTENER_LIMIT: asked
    when a sample of rq:workers shows no live worker for a queue that has jobs."""
    return read_set(session, session.keys.queue_workers(queue), LISTENER_LIMIT, idle_grace_s,
                    busy_grace_s)[1]


def read_set(session: Session, key: str, limit: int, idle_grace_s: float,
             busy_grace_s: float) -> tuple[int, list[WorkerInfo]]:
    """(SCARD of a set of worker keys, up to `limit` of its workers judged).

    One SORT_RO ... GET reads the workers' fields in a single command (rq info sends one
    HGETALL per worker), freshest heartbeat first (rq's timestamps sort as text), so a bounded
    read holds every live worker before any dead one; where SORT_RO is missing (Redis < 7) or
    refused, a pipelined HMGET of a bounded random sample does.
    """
    import redis

    session.spend("reading the registered workers")
    total = int(session.conn.scard(key))
    if not total:
        return 0, []
    prefix = session.keys.worker_namespace
    gets: list[str] = ["GET", "#"]
    for field in WORKER_FIELDS:
        gets += ["GET", f"*->{field}"]
    session.spend("reading the registered workers' records")
    try:
        flat = session.conn.execute_command(  # type: ignore[no-untyped-call]
            "SORT_RO", key, "BY", "*->last_heartbeat", "DESC", "ALPHA", "LIMIT", 0, limit,
            *gets)
    except redis.exceptions.ResponseError:
        keys: Any = session.conn.srandmember(key, min(limit, FALLBACK_LIMIT))
        names = sorted(k[len(prefix):] for k in map(text, keys) if k.startswith(prefix))
        return total, _freshest_first(read_workers(session, names, idle_grace_s, busy_grace_s))
    width = 1 + len(WORKER_FIELDS)
    workers = []
    for i in range(0, len(flat) - width + 1, width):
        name = text(flat[i])
        if name.startswith(prefix):
            workers.append(worker_info(name[len(prefix):], flat[i + 1:i + width], session.now,
                                       idle_grace_s, busy_grace_s))
    return total, workers


def _freshest_first(workers: list[WorkerInfo]) -> list[WorkerInfo]:
    return sorted(workers, key=lambda w: (w.heartbeat_age_s is None, w.heartbeat_age_s or 0.0))


def read_workers(session: Session, names: Sequence[str], idle_grace_s: float,
                 busy_grace_s: float, registered: bool = True) -> list[WorkerInfo]:
    """Each named worker's fields in one round trip, with its liveness judged."""
    if not names:
        return []
    session.spend("reading worker records")
    pipe = session.pipeline()
    prefix = session.keys.worker_namespace
    for name in names:
        pipe.hmget(prefix + name, WORKER_FIELDS)
    return [worker_info(name, values, session.now, idle_grace_s, busy_grace_s, registered)
            for name, values in zip(names, pipe.execute(), strict=True)]


def worker_info(name: str, values: Sequence[Any], now: float, idle_grace_s: float,
                busy_grace_s: float, registered: bool = True) -> WorkerInfo:
    """A WorkerInfo from HMGET's reply in WORKER_FIELDS order; liveness judged."""
    fields = {k: text(v) for k, v in zip(WORKER_FIELDS, values, strict=True) if v is not None}
    if not fields:
        return WorkerInfo(name, found=False, registered=registered, dead_signal="key_gone")
    pid_text = fields.get("pid", "")
    pid = int(pid_text) if pid_text.isdigit() else None
    hostname, state = fields.get("hostname", ""), fields.get("state", "")
    heartbeat_age = age_s(parse_time(fields.get("last_heartbeat", "")), now)
    grace = busy_grace_s if state == "busy" else idle_grace_s
    born_at = parse_time(fields.get("birth", ""))
    return WorkerInfo(
        name, found=True, state=state,
        queues=tuple(q for q in fields.get("queues", "").split(",") if q),
        hostname=hostname, pid=pid, heartbeat_age_s=heartbeat_age, born_at=born_at,
        registered=registered,
        dead_signal=_dead_signal(pid, hostname, heartbeat_age, bool(fields.get("death")), grace,
                                 born_at.timestamp() if born_at else None),
    )


def _on_this_host(hostname: str) -> bool:
    return bool(hostname) and hostname == socket.gethostname()


def _dead_signal(pid: int | None, hostname: str, heartbeat_age_s: float | None, death: bool,
                 grace: float, born: float | None = None) -> str:
    """Why a worker is dead ("" if alive). `grace`: the heartbeat age past which it is - for a
    busy worker, whose main process renews its key every 30 s with a 90 s TTL, a shorter one
    than for an idle worker (the idle grace would call a dead busy worker alive for minutes)."""
    if death:
        return "death_registered"
    # On this host the process says it all: right after a SIGKILL the key lives on for up to
    # its TTL (90-480 s), and a live process is alive however late its heartbeat. Containers
    # sharing a host name but not a PID namespace would defeat it; their host names differ by
    # default. A process that started after the worker's birth only reused its pid.
    if pid and _on_this_host(hostname):
        from troubleshooter.checks.rq.horse import process_alive  # only for a worker here

        return "" if process_alive(pid, born) else "pid_gone"
    if heartbeat_age_s is not None and heartbeat_age_s > grace:
        return "heartbeat_stale"
    return ""


def unregistered_names(session: Session, registered: Sequence[str]) -> tuple[list[str], bool]:
    """Worker keys that exist but are missing from rq:workers; (names, whether the SCAN
    covered the whole keyspace). At most SCAN_CALLS round trips of SCAN_BATCH keys each, and
    one SMISMEMBER: `registered` may be only a sample of rq:workers."""
    names, complete = _scan_worker_names(session, registered)
    if not names:
        return [], complete
    prefix = session.keys.worker_namespace
    names = names[:UNREGISTERED_CHECK]
    session.spend("checking the workers found against rq:workers")
    member = session.conn.smismember(session.keys.workers, [prefix + n for n in names])
    return [n for n, m in zip(names, member, strict=True) if not m], complete


def _scan_worker_names(session: Session, registered: Sequence[str]) -> tuple[list[str], bool]:
    prefix = session.keys.worker_namespace
    known = set(registered)
    found: set[str] = set()
    cursor: int = 0
    for _ in range(SCAN_CALLS):
        session.spend("looking for unregistered workers")
        cursor, keys = session.conn.scan(cursor, match=f"{_glob_escape(prefix)}*",
                                         count=SCAN_BATCH)
        for key in map(text, keys):
            name = key[len(prefix):]
            # rq:worker:<name>:executions and the like are the worker's other keys.
            if name and ":" not in name and name not in known:
                found.add(name)
        if int(cursor) == 0:
            return sorted(found), True
    return sorted(found), False


def _glob_escape(value: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in value)


def by_name(workers: Sequence[WorkerInfo]) -> Mapping[str, WorkerInfo]:
    return {w.name: w for w in workers}
