"""What the RQ checks share: one bounded session per check, the clock, capped evidence.

The checks read RQ's state under rq's key names (keys.py: built from `RQ_KEY_PREFIX`, rq >=
3.0, without importing rq), never through an rq call that writes or unpickles: `Worker.all()` /
`Worker.find_by_key()` SREM a registration whose key is gone - that would erase the very
evidence of a dead worker - `registry.get_job_ids()` / `.count` run `cleanup()`, which moves
jobs, and `Job.fetch` & co. unpickle what a job holds (see jobdata). Reads are pipelined
(transaction=False: no MULTI/EXEC), one round trip per batch, whatever the registries hold.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from troubleshooter.checks.base import Budget, CheckContext, Outcome, outcome_from
from troubleshooter.checks.rq.keys import RqKeys
from troubleshooter.checks.server.link import Link, open_link, rq_prefix, text
from troubleshooter.frozen import frozen

T = TypeVar("T")

if TYPE_CHECKING:
    import redis


class BudgetSpent(Exception):
    """The check used up ctx.timeout between two round trips; the message says doing what."""


@frozen
class Session:
    """One check's connection, its deadline (monotonic) and "now" (epoch seconds) for ages,
    RQ's key names, and the run's link to share replies through (None: shares nothing)."""

    conn: redis.Redis
    deadline: float
    now: float
    keys: RqKeys
    link: Link | None = None
    db: int = 0

    @property
    def replies(self) -> Link:
        """The link whose INFO and CONFIG the run's checks share (server/replies.py); a bare
        one, sharing nothing, when the session was made without the run's."""
        return self.link if self.link is not None else Link(self.conn, 0)

    def shared(self, what: str, read: Callable[[], T]) -> T:
        """`read()`'s reply, or the one an earlier RQ check of this run read for the same
        database and key prefix (Link.remember: never across a change the run made)."""
        key = f"rq {what} db={self.db} prefix={self.keys.prefix}"
        return cast(T, self.replies.remember(key, read))

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
    session = Session(link.client, budget.end, wall_now(ctx), RqKeys(rq_prefix(ctx)), link,
                      ctx.target.db)
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
    from troubleshooter.checks.server.errors import classify, safe_text

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

# Queue names read from rq:queues at most (SSCAN, in at most QUEUE_SCAN_CALLS round trips);
# beyond that SCARD counts them: a listing is exact in its total, a sample in its names.
QUEUE_LIMIT = 1000
QUEUE_SCAN_CALLS = 10


@frozen
class QueueListing:
    """The queues RQ knows (rq:queues): names sorted, the exact total, whether names is all.

    When names is a sample, total is SCARD's (members that are not queue keys, which rq never
    writes and which are passed over, count too).
    """

    names: tuple[str, ...]
    total: int
    complete: bool = True

    def note(self, key: str) -> str:
        """The detail line of a sampled listing ("" when complete)."""
        if self.complete:
            return ""
        return (f"read {len(self.names)} of the {self.total} queue names in {key} (a bounded "
                "sample): the queues not read are not looked at")


def queue_listing(session: Session, wanted: Sequence[str] = ()) -> QueueListing:
    """The queues RQ knows, read once per run for every RQ check; or just `wanted` when given."""
    if wanted:
        names = tuple(sorted(set(wanted)))
        return QueueListing(names, len(names))
    return session.shared("queues", lambda: _read_queues(session))


def _read_queues(session: Session) -> QueueListing:
    key, prefix = session.keys.queues, session.keys.queue_namespace
    found: set[str] = set()
    cursor = 0
    for _ in range(QUEUE_SCAN_CALLS):
        session.spend("listing the queues")
        cursor, batch = session.conn.sscan(key, cursor, count=QUEUE_LIMIT)
        found.update(map(text, batch))
        if int(cursor) == 0 or len(found) >= QUEUE_LIMIT:
            break
    # rq's Queue.all refuses a member that is not a queue key: here it is passed over.
    names = sorted(m[len(prefix):] for m in found if m.startswith(prefix))
    members = len(found)
    if int(cursor) != 0:
        session.spend("counting the queues")
        members = int(session.conn.scard(key))
    if members > len(found):  # the SSCAN stopped at its bound: SCARD's count is the total
        return QueueListing(tuple(names[:QUEUE_LIMIT]), members, False)
    return QueueListing(tuple(names[:QUEUE_LIMIT]), len(names), len(names) <= QUEUE_LIMIT)


def queue_lengths(session: Session, names: Iterable[str]) -> dict[str, int]:
    """LLEN of each queue, in one round trip."""
    names = list(names)
    if not names:
        return {}
    session.spend("reading queue lengths")
    pipe = session.pipeline()
    for name in names:
        pipe.llen(session.keys.queue(name))
    return dict(zip(names, (int(n) for n in pipe.execute()), strict=True))
