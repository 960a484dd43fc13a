"""RQ queues and workers: what is waiting, and who (alive) is there to run it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from troubleshooter.checks.base import CheckContext, Outcome, outcome_from
from troubleshooter.checks.rq.common import (
    Session,
    WorkerInfo,
    age_s,
    fetch_jobs,
    queue_lengths,
    queue_names,
    read_workers,
    registered_workers,
    run_session,
)
from troubleshooter.checks.server.link import text
from troubleshooter.findings import SEVERITIES, Finding, finding


def run_rq_queues(ctx: CheckContext) -> Outcome:
    """Each queue's length and the age of its head (next, normally oldest) job.

    data: {"queues": [{"name", "length", "oldest_age_s", "oldest_job_id"}],
    "app_queue": {"name", "known"} or None, "key_prefix"}.
    """
    return run_session(ctx, "rq_queues", lambda session: _queues(session, ctx))


def _queues(session: Session, ctx: CheckContext) -> Outcome:
    known = queue_names(session)
    app_queue: str = ctx.param("app_queue")
    listed = sorted(set(ctx.param("queues") or known) | ({app_queue} if app_queue else set()))
    lengths = queue_lengths(session, listed)
    heads = _head_jobs(session, [q for q in listed if lengths[q]])
    rows = [{"name": q, "length": lengths[q], **heads.get(q, _NO_HEAD)} for q in listed]
    findings = [f for row in rows if (f := _backlog(row, ctx)) is not None]
    waiting = sum(lengths.values())
    ok = (f"{len(rows)} RQ queue(s) on {ctx.target.address}, {waiting} job(s) waiting, "
          "none backed up" if rows else f"no RQ queues on {ctx.target.address}")
    outcome = outcome_from(
        findings, ok, queues=rows, key_prefix=key_prefix(),
        app_queue={"name": app_queue, "known": app_queue in known} if app_queue else None,
    )
    details = [f"{r['name']}: {r['length']} job(s), head waiting {_age_text(r['oldest_age_s'])}"
               for r in rows]
    app_prefix = ctx.environ.get("RQ_KEY_PREFIX")
    if app_prefix and app_prefix != key_prefix():
        details.append(f"the environment sets RQ_KEY_PREFIX={app_prefix}, but these checks read "
                       f"{key_prefix()}:* keys: run the tool with the app's RQ_KEY_PREFIX")
    return Outcome(outcome.status, outcome.summary, outcome.findings, outcome.data,
                   tuple(details))


def key_prefix() -> str:
    """The key prefix this process's rq uses (RQ_KEY_PREFIX in rq >= 3.0; "rq" before)."""
    from rq import Queue

    return Queue.redis_queues_keys.removesuffix(":queues")


_NO_HEAD: Mapping[str, Any] = {"oldest_age_s": None, "oldest_job_id": None}


def _head_jobs(session: Session, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The job at the head of each queue (workers pop from the left) and its age."""
    from rq import Queue

    if not names:
        return {}
    session.spend("reading the head of each queue")
    pipe = session.pipeline()
    for name in names:
        pipe.lindex(Queue(name, connection=session.conn).key, 0)
    ids = [text(i) for i in pipe.execute()]
    session.spend("reading the head jobs")
    jobs = fetch_jobs(session, [i for i in ids if i])
    by_id = {job.id: job for job in jobs if job is not None}
    return {
        name: {"oldest_job_id": job_id or None,
               "oldest_age_s": age_s(by_id[job_id].enqueued_at, session.now)
               if job_id in by_id else None}
        for name, job_id in zip(names, ids, strict=True)
    }


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


def run_rq_workers(ctx: CheckContext) -> Outcome:
    """Registered workers, which are alive, and which queues (with jobs) no live worker serves.

    data: {"workers": [{"name", "state", "queues", "hostname", "pid", "last_heartbeat_age_s",
    "alive", "dead_signal"}], "live": n, "dead": [names], "unserved_queues": [names],
    "served": {queue: [live worker names]}}. dead_signal is key_gone, death_registered,
    pid_gone (a worker on this host whose process is gone) or heartbeat_stale.
    """
    return run_session(ctx, "rq_workers", lambda session: _workers(session, ctx))


def _workers(session: Session, ctx: CheckContext) -> Outcome:
    workers = read_workers(session, registered_workers(session), ctx.param("heartbeat_grace_s"))
    live = [w for w in workers if w.alive]
    served: dict[str, list[str]] = {}
    for worker in live:
        for queue in worker.queues:
            served.setdefault(queue, []).append(worker.name)
    # Only a queue nobody serves needs its length: does it have jobs stuck?
    lengths = queue_lengths(session, [q for q in queue_names(session) if q not in served])
    findings = _dead_findings(workers, ctx)
    unserved = _unserved(lengths, served, workers, ctx, findings)
    findings.sort(key=lambda f: SEVERITIES.index(f.severity))  # the summary names the worst
    ok = (f"{len(live)} live RQ worker(s) on {ctx.target.address} serving "
          f"{', '.join(sorted(served)) or 'no queue'}")
    outcome = outcome_from(
        findings, ok, workers=[w.to_dict() for w in workers], live=len(live),
        dead=[w.name for w in workers if not w.alive], unserved_queues=unserved,
        served={q: sorted(names) for q, names in sorted(served.items())},
    )
    details = tuple(w.describe() for w in workers)
    return Outcome(outcome.status, outcome.summary, outcome.findings, outcome.data, details)


def _dead_findings(workers: Sequence[WorkerInfo], ctx: CheckContext) -> list[Finding]:
    dead = [w for w in workers if not w.alive]
    if not dead:
        return []
    return [finding(
        "rq.dead_workers",
        f"{len(dead)} of {len(workers)} registered RQ worker(s) on {ctx.target.address} "
        "are dead",
        *(w.describe() for w in dead),
    )]


def _unserved(lengths: Mapping[str, int], served: Mapping[str, list[str]],
              workers: Sequence[WorkerInfo], ctx: CheckContext,
              findings: list[Finding]) -> list[str]:
    """Append no_workers / queue_mismatch findings; return the queues nobody alive serves."""
    app_queue: str = ctx.param("app_queue")
    unserved = sorted(q for q, n in lengths.items() if n and q not in served)
    if app_queue and app_queue not in served and app_queue not in unserved:
        unserved.append(app_queue)
    for queue in unserved:
        if queue == app_queue and served:
            findings.append(_mismatch(app_queue, lengths.get(app_queue, 0), served, ctx))
            continue
        findings.append(finding(
            "rq.no_workers",
            f"no live RQ worker listens to {_queue_label(queue, app_queue)} on "
            f"{ctx.target.address} ({lengths.get(queue, 0)} job(s) waiting)",
            _listeners(queue, workers),
        ))
    return unserved


def _mismatch(app_queue: str, waiting: int, served: Mapping[str, list[str]],
              ctx: CheckContext) -> Finding:
    listening = "; ".join(f"{q} ({', '.join(sorted(n))})" for q, n in sorted(served.items()))
    return finding(
        "rq.queue_mismatch",
        f"the app enqueues to {app_queue!r} but the live workers on {ctx.target.address} "
        f"listen only to {', '.join(sorted(served))}",
        f"app queue {app_queue}: {waiting} job(s) waiting, no live worker",
        f"live workers listen to: {listening}",
    )


def _listeners(queue: str, workers: Sequence[WorkerInfo]) -> str:
    mine = [w for w in workers if queue in w.queues]
    if not mine:
        return f"no registered worker lists {queue} among its queues"
    return "workers for it, all dead: " + ", ".join(f"{w.name} ({w.dead_signal})" for w in mine)


def _queue_label(queue: str, app_queue: str) -> str:
    return f"the app's queue {queue}" if queue == app_queue else f"queue {queue}"

