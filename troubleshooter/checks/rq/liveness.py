"""`rq_workers`: who is alive, which queues with jobs nobody serves, and workers Redis forgot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from troubleshooter.checks.base import CheckContext, Outcome, outcome_from
from troubleshooter.checks.rq.common import (
    Session,
    capped,
    listed,
    queue_lengths,
    queue_listing,
    run_session,
)
from troubleshooter.checks.rq.restart import data_lost, read_restart
from troubleshooter.checks.rq.workers import (
    LISTENER_QUEUES,
    WORKER_LIMIT,
    WorkerInfo,
    read_listeners,
    read_registered,
    read_workers,
    unregistered_names,
)
from troubleshooter.findings import SEVERITIES, Finding, finding

LISTED_WORKERS = 50  # workers listed in data; the counts are always exact
UNREGISTERED_READ = 50


def run_rq_workers(ctx: CheckContext) -> Outcome:
    """Registered workers, which are alive, and which queues (with jobs) no live worker serves.

    data: {"workers": [{"name", "state", "queues", "hostname", "pid", "registered",
    "last_heartbeat_age_s", "alive", "dead_signal"}] (live first, at most 50), "registered": n,
    "live": n, "dead": n, "dead_names": [at most 50], "unregistered": [names alive but missing
    from rq:workers], "unserved_queues": [names], "served": {queue: [live worker names]}}.
    dead_signal is key_gone, death_registered, pid_gone (a worker on this host whose process is
    gone) or heartbeat_stale (beyond its own TTL: busy 90 s, idle 480 s by default).
    """
    return run_session(ctx, "rq_workers", lambda session: _workers(session, ctx))


def _workers(session: Session, ctx: CheckContext) -> Outcome:
    idle, busy = ctx.param("heartbeat_grace_s"), ctx.param("busy_heartbeat_grace_s")
    total, workers = read_registered(session, idle, busy)
    live = [w for w in workers if w.alive]
    served = _served(live)
    app_queue: str = ctx.param("app_queue")
    listing = queue_listing(session)
    lengths = _unserved_lengths(session, ctx, served, listing.names)
    wanting = {q for q, n in lengths.items() if n} | ({app_queue} if app_queue else set())
    if len(workers) < total:  # a sample: ask each wanting queue's own worker set
        for queue in sorted(wanting - set(served))[:LISTENER_QUEUES]:
            listeners = [w for w in read_listeners(session, queue, idle, busy) if w.alive]
            if listeners:
                served[queue] = [w.name for w in listeners]
    unregistered: list[WorkerInfo] = []
    scan_note = ""
    if not total or wanting - set(served):
        # Only when a queue looks unserved: a worker that survived a wipe may serve it.
        names, complete = unregistered_names(session, [w.name for w in workers])
        unregistered = [w for w in read_workers(session, names[:UNREGISTERED_READ], idle, busy,
                                                registered=False) if w.alive]
        if not complete:
            scan_note = "the SCAN for unregistered workers stopped at its bound: partial"
    served_by_unknown = [w for w in unregistered if not w.queues]
    for queue, names in _served(unregistered).items():
        served.setdefault(queue, []).extend(names)
    findings = _dead_findings(workers, total, ctx)
    restart = read_restart(session)
    lost = data_lost(session, restart, ctx.target.address, ctx.param("recent_restart_s"),
                     _survivors(workers, unregistered, restart.started_at))
    findings += [lost] if lost else []
    if unregistered:
        findings.append(_unregistered_finding(unregistered, ctx))
    suspended = [w for w in live + unregistered if w.state == "suspended"]
    if suspended:
        findings.append(_suspended_finding(suspended, len(live) + len(unregistered), ctx))
    unserved = _unserved(lengths, served, workers, ctx, findings,
                         covered=bool(served_by_unknown))
    findings.sort(key=lambda f: SEVERITIES.index(f.severity))  # the summary names the worst
    everyone = live + unregistered
    ok = (f"{len(everyone)} live RQ worker(s) on {ctx.target.address} serving "
          f"{', '.join(sorted(served)) or 'no queue'}")
    dead = [w for w in workers if not w.alive]
    shown = (live + unregistered + dead)[:LISTED_WORKERS]
    outcome = outcome_from(
        findings, ok, workers=[w.to_dict() for w in shown], registered=total,
        live=len(everyone), dead=dead_total(workers, total),
        dead_names=[w.name for w in dead[:LISTED_WORKERS]],
        unregistered=[w.name for w in unregistered], unserved_queues=unserved,
        served={q: sorted(names) for q, names in sorted(served.items())},
    )
    details = capped([w.describe() for w in shown])
    if len(workers) < total:
        details.append(f"read {len(workers)} of {total} registered workers (a bounded sample)")
    if scan_note:
        details.append(scan_note)
    if note := listing.note(session.keys.queues):
        details.append(note)
    return Outcome(outcome.status, outcome.summary, outcome.findings, outcome.data,
                   tuple(details))


def _suspended_finding(suspended: Sequence[WorkerInfo], live: int,
                       ctx: CheckContext) -> Finding:
    """Live workers that `rq suspend` stopped taking jobs: an error when none still works."""
    every = len(suspended) == live
    return finding(
        "rq.workers_suspended",
        f"{'all ' if every else ''}{len(suspended)} of {live} live RQ worker(s) on "
        f"{ctx.target.address} are suspended (`rq suspend`): they take no job until `rq resume`",
        *capped([f"{w.name}: state suspended, queues {', '.join(w.queues) or '?'}"
                 for w in suspended]),
        severity=None if every else "warning")


def _unserved_lengths(session: Session, ctx: CheckContext, served: Mapping[str, list[str]],
                      queues: Sequence[str]) -> dict[str, int]:
    """Lengths of the queues no live worker serves: from the rq_queues run just before (one
    LLEN per queue is a lot with hundreds of queues), else read now."""
    names = [q for q in queues if q not in served]
    known: dict[str, int] = {}
    for outcome in ctx.earlier.values():
        rows = outcome.data.get("queues")
        if "key_prefix" in outcome.data and isinstance(rows, list):
            known = {str(r["name"]): int(r["length"]) for r in rows
                     if isinstance(r, Mapping) and "length" in r}
    missing = [q for q in names if q not in known]
    return {**{q: known[q] for q in names if q in known}, **queue_lengths(session, missing)}


def _served(workers: Sequence[WorkerInfo]) -> dict[str, list[str]]:
    served: dict[str, list[str]] = {}
    for worker in workers:
        for queue in worker.queues:
            served.setdefault(queue, []).append(worker.name)
    return served


def _survivors(registered: Sequence[WorkerInfo], unregistered: Sequence[WorkerInfo],
               started_at: float | None) -> list[str]:
    """RQ traces of work from before the server's start."""
    lines = [f"worker {w.name} is alive but missing from rq:workers (its registration was "
             "lost)" for w in unregistered]
    if started_at is not None:
        lines += [f"worker {w.name} was born {started_at - w.born_at.timestamp():.0f} s before "
                  "Redis started" for w in registered
                  if w.alive and w.born_at and w.born_at.timestamp() < started_at - 1]
    return lines


def dead_total(workers: Sequence[WorkerInfo], total: int) -> int | None:
    """How many registered workers are dead, exactly, or None if the read cannot tell.

    Workers are read freshest heartbeat first: once the last one read has no key left, every
    one not read has none either (SORT puts missing fields last). A random sample (Redis < 7)
    cannot tell.
    """
    dead = sum(not w.alive for w in workers)
    if len(workers) >= total:
        return dead
    if workers and workers[-1].dead_signal == "key_gone" and len(workers) == WORKER_LIMIT:
        return dead + total - len(workers)
    return None


def _dead_findings(workers: Sequence[WorkerInfo], total: int,
                   ctx: CheckContext) -> list[Finding]:
    dead = [w for w in workers if not w.alive]
    if not dead:
        return []
    exact = dead_total(workers, total)
    count = f"{exact}" if exact is not None else f"{len(dead)} of the {len(workers)} read,"
    return [finding(
        "rq.dead_workers",
        f"{count} of {total} registered RQ worker(s) on {ctx.target.address} are dead",
        *capped([w.describe() for w in dead]),
    )]


def _unregistered_finding(workers: Sequence[WorkerInfo], ctx: CheckContext) -> Finding:
    return finding(
        "rq.unregistered_workers",
        f"{len(workers)} live RQ worker(s) on {ctx.target.address} are missing from "
        "rq:workers (their registration was lost, e.g. in a Redis restart): "
        + listed([w.name for w in workers]),
        *capped([w.describe() + (f", queues {','.join(w.queues)}" if w.queues
                                 else ", its queues unknown (its hash lost them)")
                 for w in workers]),
    )


def _unserved(lengths: Mapping[str, int], served: Mapping[str, list[str]],
              workers: Sequence[WorkerInfo], ctx: CheckContext,
              findings: list[Finding], covered: bool) -> list[str]:
    """Append no_workers / queue_mismatch findings; return the queues nobody alive serves.

    covered: a live unregistered worker whose queues are unknown may serve any of them, so
    no queue is called workerless (the unregistered finding says so instead).
    """
    app_queue: str = ctx.param("app_queue")
    unserved = sorted(q for q, n in lengths.items() if n and q not in served)
    if app_queue and app_queue not in served and app_queue not in unserved:
        unserved.append(app_queue)
    if covered:
        return unserved
    rest = []
    for queue in unserved:
        if queue == app_queue and served:
            findings.append(_mismatch(app_queue, lengths.get(app_queue, 0), served, ctx))
        else:
            rest.append(queue)
    if len(rest) == 1:
        queue = rest[0]
        findings.append(finding(
            "rq.no_workers",
            f"no live RQ worker listens to {_queue_label(queue, app_queue)} on "
            f"{ctx.target.address} ({lengths.get(queue, 0)} job(s) waiting)",
            _listeners(queue, workers),
        ))
    elif rest:
        findings.append(finding(
            "rq.no_workers",
            f"{len(rest)} RQ queues on {ctx.target.address} have no live worker: {listed(rest)}",
            *capped([f"{q}: {lengths.get(q, 0)} job(s) waiting; {_listeners(q, workers)}"
                     for q in rest]),
            remedy="Start (or restart) RQ workers for these queues: `rq worker QUEUE... --url "
                   "...`.",
        ))
    return unserved


def _mismatch(app_queue: str, waiting: int, served: Mapping[str, list[str]],
              ctx: CheckContext) -> Finding:
    listening = "; ".join(f"{q} ({', '.join(sorted(n)[:5])})" for q, n in sorted(served.items()))
    return finding(
        "rq.queue_mismatch",
        f"the app enqueues to {app_queue!r} but the live workers on {ctx.target.address} "
        f"listen only to {listed(sorted(served), 10)}",
        f"app queue {app_queue}: {waiting} job(s) waiting, no live worker",
        f"live workers listen to: {listening[:500]}",
    )


def _listeners(queue: str, workers: Sequence[WorkerInfo]) -> str:
    mine = [w for w in workers if queue in w.queues]
    if not mine:
        return f"no registered worker lists {queue} among its queues"
    return "workers for it, all dead: " + listed(
        [f"{w.name} ({w.dead_signal})" for w in mine], 5)


def _queue_label(queue: str, app_queue: str) -> str:
    return f"the app's queue {queue}" if queue == app_queue else f"queue {queue}"

