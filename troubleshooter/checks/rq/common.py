"""What the RQ checks share: one bounded session per check, the clock, and worker liveness.

The checks read RQ's state through rq's classes and key names (so `RQ_KEY_PREFIX`, rq >= 3.0,
is honoured), but never through an rq call that writes: `Worker.all()` / `Worker.find_by_key()`
SREM a registration whose key is gone - that would erase the very evidence of a dead worker -
and `registry.get_job_ids()` / `.count` run `cleanup()`, which moves jobs. Reads that rq only
offers one round trip at a time are pipelined (transaction=False: no MULTI/EXEC) so a triage
stays within a few round trips and commands.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from troubleshooter.checks.base import Budget, CheckContext, Outcome, outcome_from
from troubleshooter.checks.server.errors import classify, safe_text
from troubleshooter.checks.server.link import open_link, text

if TYPE_CHECKING:
    import redis
    from rq.job import Job

# rq's defaults: an idle worker's key lives worker_ttl (420) + 60 s after each heartbeat.
DEFAULT_HEARTBEAT_GRACE_S = 420 + 60


class BudgetSpent(Exception):
    """The check used up ctx.timeout between two round trips; the message says doing what."""


@dataclass(frozen=True)
class Session:
    """One check's connection, its deadline (monotonic) and "now" (epoch seconds) for ages."""

    conn: redis.Redis
    deadline: float
    now: float

    def spend(self, doing: str) -> None:
        """Raise BudgetSpent if the deadline has passed: call before each further round trip."""
        if time.monotonic() > self.deadline:
            raise BudgetSpent(doing)

    def pipeline(self) -> Any:
        # transaction=False: reads need no MULTI/EXEC, which would add two commands per batch.
        return self.conn.pipeline(transaction=False)


def wall_now(ctx: CheckContext) -> float:
    """Epoch seconds (RQ stores wall-clock timestamps): the run's injected wall clock."""
    return ctx.wall_clock()


def run_session(ctx: CheckContext, name: str, body: Callable[[Session], Outcome]) -> Outcome:
    """Run `body` on a fresh fail-fast client; map Redis errors and a spent budget to outcomes."""
    import redis

    try:
        # The same way in as the server checks: RESP2 for Redis < 6, no CLIENT SETNAME for
        # a user that may not run it (RQ does not need it either).
        link = open_link(ctx, Budget(ctx.timeout))
    except redis.exceptions.RedisError as exc:
        return redis_failure(ctx, name, exc)
    session = Session(link.client, time.monotonic() + ctx.timeout, wall_now(ctx))
    try:
        return body(session)
    except redis.exceptions.RedisError as exc:
        return redis_failure(ctx, name, exc)
    except BudgetSpent as exc:
        return Outcome(
            "timeout",
            f"{name}: the {ctx.timeout:g} s budget ran out on {ctx.target.address} "
            f"while {exc}",
        )
    finally:
        link.close()


def redis_failure(ctx: CheckContext, name: str, exc: Exception) -> Outcome:
    """A Redis error as an outcome: the finding it stands for, else status "error"."""
    secrets = (ctx.target.password,)
    shown = safe_text(exc, secrets)
    found = classify(exc, ctx.target.address, tls=ctx.target.tls, secrets=secrets)
    if found is not None:
        return outcome_from([found], "", error=shown)
    return Outcome("error", f"{name} could not read RQ state from {ctx.target.address}: {shown}",
                   data={"error": shown})


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def age_s(moment: datetime | None, now: float) -> float | None:
    """Seconds from `moment` to `now`, one decimal, never negative (clock skew); None if unknown."""
    return None if moment is None else max(0.0, round(now - moment.timestamp(), 1))


def fetch_jobs(session: Session, job_ids: Sequence[str]) -> list[Job | None]:
    """Job.fetch_many (one round trip); one by one if a malformed job hash spoils the batch.

    A hash rq cannot restore (rq/rq#1450 can leave one holding only `last_heartbeat`) makes
    fetch_many raise for every job; that one job then reads as missing (None).
    """
    import redis
    from rq.job import Job

    if not job_ids:
        return []
    try:
        return Job.fetch_many(job_ids, connection=session.conn)
    except redis.exceptions.RedisError:
        raise
    except Exception:
        return [_fetch_one(session, job_id) for job_id in job_ids]


def _fetch_one(session: Session, job_id: str) -> Job | None:
    import redis
    from rq.job import Job

    try:
        return Job.fetch(job_id, connection=session.conn)
    except redis.exceptions.RedisError:
        raise
    except Exception:
        return None


# --- queues -------------------------------------------------------------------------------

def queue_names(session: Session, wanted: Sequence[str] = ()) -> list[str]:
    """Names of the queues RQ knows (rq:queues), or just `wanted` when given, sorted."""
    from rq import Queue

    if wanted:
        return sorted(set(wanted))
    return sorted(q.name for q in Queue.all(connection=session.conn))


def queue_lengths(session: Session, names: Iterable[str]) -> dict[str, int]:
    """LLEN of each queue, in one round trip."""
    from rq import Queue

    names = list(names)
    if not names:
        return {}
    session.spend("reading queue lengths")
    pipe = session.pipeline()
    for name in names:
        pipe.llen(Queue(name, connection=session.conn).key)
    return dict(zip(names, (int(n) for n in pipe.execute()), strict=True))


# --- workers ------------------------------------------------------------------------------

@dataclass(frozen=True)
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
    dead_signal: str = ""  # "" when alive; see DEAD_SIGNALS

    @property
    def alive(self) -> bool:
        return not self.dead_signal

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "state": self.state, "queues": list(self.queues),
            "hostname": self.hostname, "pid": self.pid,
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


DEAD_SIGNALS = {
    "key_gone": "registered, but its key has expired (no heartbeat for its whole TTL)",
    "death_registered": "it registered its own death",
    "pid_gone": "its process no longer exists on this host",
    "heartbeat_stale": "its heartbeat is older than the grace period",
}


def registered_workers(session: Session) -> list[str]:
    """Names in rq:workers (Worker.all_keys: a read, unlike Worker.all)."""
    from rq import Worker

    prefix = Worker.redis_worker_namespace_prefix
    return sorted(k[len(prefix):] for k in Worker.all_keys(connection=session.conn)
                  if k.startswith(prefix))


def read_workers(session: Session, names: Sequence[str], grace_s: float) -> list[WorkerInfo]:
    """Each named worker's hash in one round trip, with its liveness judged."""
    from rq import Worker

    if not names:
        return []
    session.spend("reading worker records")
    pipe = session.pipeline()
    for name in names:
        pipe.hgetall(Worker.redis_worker_namespace_prefix + name)
    raws = pipe.execute()
    return [_worker_info(name, raw, session.now, grace_s)
            for name, raw in zip(names, raws, strict=True)]


def _worker_info(name: str, raw: Mapping[Any, Any], now: float, grace_s: float) -> WorkerInfo:
    # Field names as rq's Worker.serialize() / set_state() / register_death() write them.
    fields = {text(k): text(v) for k, v in raw.items()}
    if not fields:
        return WorkerInfo(name, found=False, dead_signal="key_gone")
    pid = int(fields["pid"]) if fields.get("pid", "").isdigit() else None
    info = WorkerInfo(
        name, found=True, state=fields.get("state", ""),
        queues=tuple(q for q in fields.get("queues", "").split(",") if q),
        hostname=fields.get("hostname", ""), pid=pid,
        heartbeat_age_s=age_s(_parse_time(fields.get("last_heartbeat", "")), now),
        born_at=_parse_time(fields.get("birth", "")),
    )
    return replace(info, dead_signal=_dead_signal(info, fields, grace_s))


def _dead_signal(info: WorkerInfo, fields: Mapping[str, str], grace_s: float) -> str:
    if fields.get("death"):
        return "death_registered"
    # Right after a SIGKILL the key lives on for up to its TTL (90-480 s): for a worker on this
    # host the missing process is the honest, immediate signal. Containers sharing a host name
    # but not a PID namespace would defeat it; their host names differ by default.
    if info.pid and info.hostname == socket.gethostname() and not process_alive(info.pid):
        return "pid_gone"
    if info.heartbeat_age_s is not None and info.heartbeat_age_s > grace_s:
        return "heartbeat_stale"
    return ""


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


def _parse_time(value: str) -> datetime | None:
    from rq.utils import utcparse

    try:
        return utcparse(value) if value else None
    except ValueError:
        return None
