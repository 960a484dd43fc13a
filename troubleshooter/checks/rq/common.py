"""What the RQ checks share: one bounded session per check, the clock, capped evidence.

The checks read RQ's state through rq's key names (so `RQ_KEY_PREFIX`, rq >= 3.0, is
honoured), but never through an rq call that writes or unpickles: `Worker.all()` /
`Worker.find_by_key()` SREM a registration whose key is gone - that would erase the very
evidence of a dead worker - `registry.get_job_ids()` / `.count` run `cleanup()`, which moves
jobs, and `Job.fetch` & co. unpickle what a job holds (see jobdata). Reads are pipelined
(transaction=False: no MULTI/EXEC), one round trip per batch, whatever the registries hold.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from troubleshooter.checks.base import Budget, CheckContext, Outcome, outcome_from
from troubleshooter.checks.server.errors import classify, safe_text
from troubleshooter.checks.server.link import open_link
from troubleshooter.frozen import frozen

if TYPE_CHECKING:
    import redis

# rq's defaults: an idle worker's key lives worker_ttl (420) + 60 s after each heartbeat; a
# busy one's job_monitoring_interval (30) + 60 s, renewed by its main process every 30 s.
DEFAULT_HEARTBEAT_GRACE_S = 420 + 60
DEFAULT_BUSY_GRACE_S = 30 + 60


class BudgetSpent(Exception):
    """The check used up ctx.timeout between two round trips; the message says doing what."""


@frozen
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

    budget = Budget(ctx.timeout)
    try:
        # The same way in as the server checks: RESP2 for Redis < 6, no CLIENT SETNAME for
        # a user that may not run it (RQ does not need it either).
        link = open_link(ctx, budget)
    except redis.exceptions.RedisError as exc:
        # No reply at all within the budget: the server did not answer (server.unresponsive).
        return redis_failure(ctx, name, exc)
    # The same budget as the connection's: connecting spends the check's time too.
    session = Session(link.client, budget.end, wall_now(ctx))
    try:
        return body(session)
    except redis.exceptions.RedisError as exc:
        return _spent(ctx, name, "reading", exc, budget) or redis_failure(ctx, name, exc)
    except BudgetSpent as exc:
        return Outcome(
            "timeout",
            f"{name}: the {ctx.timeout:g} s budget ran out on {ctx.target.address} "
            f"while {exc}",
        )
    finally:
        link.close()


def _spent(ctx: CheckContext, name: str, doing: str, exc: Exception,
           budget: Budget) -> Outcome | None:
    """A read cut by the check's own deadline after the server had answered (connection,
    handshake, earlier reads) is this check running out of time (incomplete, partial), not a
    server that failed to answer."""
    import redis

    if not isinstance(exc, redis.exceptions.TimeoutError) or not budget.spent():
        return None
    partial = f"the {ctx.timeout:g} s budget ran out while {doing}"
    return Outcome("timeout", f"{name}: {partial} on {ctx.target.address}",
                   data={"partial": partial})


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


EVIDENCE_LINES = 10


def capped(lines: Sequence[str], limit: int = EVIDENCE_LINES) -> list[str]:
    """The first `limit` lines, then "... and N more": a panel never lists thousands."""
    if len(lines) <= limit:
        return list(lines)
    return [*lines[:limit], f"... and {len(lines) - limit} more"]


def listed(names: Sequence[str], limit: int = 3) -> str:
    """`a, b, c ... and N more` for a message line."""
    more = f" ... and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


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
