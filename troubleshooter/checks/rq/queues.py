"""`rq_queues`: what is waiting in each RQ queue, and for how long."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from troubleshooter.checks.base import CheckContext, Outcome, outcome_from
from troubleshooter.checks.rq.common import (
    QueueListing,
    Session,
    age_s,
    capped,
    listed,
    queue_lengths,
    queue_listing,
    run_session,
)
from troubleshooter.checks.rq.jobdata import read_jobs
from troubleshooter.checks.server.link import text
from troubleshooter.findings import Finding, finding

HEAD_SAMPLE = 20


def run_rq_queues(ctx: CheckContext) -> Outcome:
    """Each queue's length and the age of its head (next, normally oldest) job.

    data: {"queues": [{"name", "length", "oldest_age_s", "oldest_job_id"}], "queue_total": how
    many rq:queues holds (more than "queues" when it is a sample), "app_queue": {"name",
    "known"} or None, "key_prefix"}.
    """
    return run_session(ctx, "rq_queues", lambda session: _queues(session, ctx))


def _queues(session: Session, ctx: CheckContext) -> Outcome:
    listing = queue_listing(session)
    app_queue: str = ctx.param("app_queue")
    listed = sorted(set(ctx.param("queues") or listing.names)
                    | ({app_queue} if app_queue else set()))
    lengths = queue_lengths(session, listed)
    # The head's age costs two commands a queue: only for the longest HEAD_SAMPLE (and the app's).
    busy = sorted((q for q in listed if lengths[q]), key=lambda q: -lengths[q])
    heads = _head_jobs(session, sorted({*busy[:HEAD_SAMPLE], *({app_queue} & set(busy))}))
    rows = [{"name": q, "length": lengths[q], **heads.get(q, _NO_HEAD)} for q in listed]
    findings = _merged([(row["name"], f) for row in rows
                        if (f := _backlog(row, ctx)) is not None])
    waiting = sum(lengths.values())
    of = "" if listing.complete or ctx.param("queues") else f" (a sample of {listing.total})"
    ok = (f"{len(rows)} RQ queue(s){of} on {ctx.target.address}, {waiting} job(s) waiting, "
          "none backed up" if rows else f"no RQ queues on {ctx.target.address}")
    outcome = outcome_from(
        findings, ok, queues=rows, queue_total=listing.total, key_prefix=session.keys.prefix,
        app_queue={"name": app_queue, "known": _known(session, listing, app_queue)}
        if app_queue else None,
    )
    details = capped([f"{r['name']}: {r['length']} job(s), head waiting "
                      f"{_age_text(r['oldest_age_s'])}" for r in rows])
    if note := listing.note(session.keys.queues):
        details.append(note)
    return Outcome(outcome.status, outcome.summary, outcome.findings, outcome.data,
                   tuple(details))


def _known(session: Session, listing: QueueListing, name: str) -> bool:
    """Whether rq:queues holds the queue: asked of Redis when the listing is only a sample."""
    if name in listing.names or listing.complete:
        return name in listing.names
    session.spend("looking the app's queue up in rq:queues")
    return bool(session.conn.sismember(session.keys.queues, session.keys.queue(name)))


_NO_HEAD: Mapping[str, Any] = {"oldest_age_s": None, "oldest_job_id": None}


def _head_jobs(session: Session, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The job at the head of each queue (workers pop from the left) and its age."""
    if not names:
        return {}
    session.spend("reading the head of each queue")
    pipe = session.pipeline()
    for name in names:
        pipe.lindex(session.keys.queue(name), 0)
    ids = [text(i) for i in pipe.execute()]
    jobs = read_jobs(session, [i for i in ids if i])
    by_id = {job.job_id: job for job in jobs if job.found}
    return {
        name: {"oldest_job_id": job_id or None,
               "oldest_age_s": age_s(by_id[job_id].enqueued_at, session.now)
               if job_id in by_id else None}
        for name, job_id in zip(names, ids, strict=True)
    }


def _merged(found: list[tuple[str, Finding]]) -> list[Finding]:
    """One backlog finding however many queues are backed up (200 lines help nobody)."""
    if len(found) <= 1:
        return [f for _, f in found]
    return [finding(
        "rq.backlog",
        f"{len(found)} RQ queues are backed up: {listed([name for name, _ in found])}",
        *capped([f.message for _, f in found]),
    )]


def _backlog(row: Mapping[str, Any], ctx: CheckContext) -> Finding | None:
    over_length = row["length"] > ctx.param("backlog_jobs")
    age = row["oldest_age_s"]
    over_age = age is not None and age > ctx.param("backlog_age_s")
    if not (over_length or over_age):
        return None
    return finding(
        "rq.backlog",
        f"queue {row['name']} on {ctx.target.address} is backed up: {row['length']} job(s), "
        f"the next waiting {_age_text(age)}",
        f"length {row['length']} (threshold {ctx.param('backlog_jobs')})",
        (f"head job {row['oldest_job_id']} enqueued {_age_text(age)} ago" if age is not None
         else "the head job's age is unknown (its job hash is gone)")
        + f" (threshold {ctx.param('backlog_age_s')} s)",
    )


def _age_text(age: float | None) -> str:
    return "n/a" if age is None else f"{age:g} s"
