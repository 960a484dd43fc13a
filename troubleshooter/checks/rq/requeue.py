"""Requeue what an outage left behind: orphaned in-flight jobs and jobs failed on Redis errors.

Each job is re-read and judged again right before it moves (its status, its worker, its
execution heartbeat, a work horse on this host still running it), under WATCH on the job hash
and its execution keys; the move itself is one MULTI/EXEC mirroring rq's requeue (the job hash
back to `queued`, its started or failed entry and executions removed, its id pushed on the
queue). A worker that touches the job meanwhile aborts the transaction: the job is left as is
and the refusal recorded, never run twice. Nothing here unpickles: rq's Job.fetch is not used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field, replace
from datetime import UTC, datetime
from typing import Any

from troubleshooter.checks.base import CheckContext, Outcome, outcome_from
from troubleshooter.checks.rq.common import BudgetSpent, Session, run_session
from troubleshooter.checks.rq.horse import Proc, processes
from troubleshooter.checks.rq.jobdata import JOB_FIELDS, JobRecord, record, utcformat
from troubleshooter.checks.rq.judge import Judge
from troubleshooter.checks.rq.keys import RqKeys
from troubleshooter.checks.rq.registries import StartedEntry, inspect_registries
from troubleshooter.checks.rq.restart import Restart, read_restart
from troubleshooter.checks.rq.workers import WORKER_FIELDS, worker_info
from troubleshooter.checks.server.errors import safe_text
from troubleshooter.checks.server.link import text
from troubleshooter.findings import finding
from troubleshooter.frozen import frozen

EVIDENCE_LINES = 10


class NotRequeueable(Exception):
    """This one job cannot be requeued; the message says why. The others go on."""


@frozen
class Plan:
    """Which ids take which path, and where the candidates came from."""

    orphans: list[str]
    failed: list[str]
    source: str
    # job id -> the execution id of the started entry the registry check saw
    entries: Mapping[str, str] = field(default_factory=dict)


def run_rq_requeue(ctx: CheckContext) -> Outcome:
    """Requeue the orphaned jobs and the jobs that failed on Redis errors (destructive).

    Candidates come from the most recent earlier outcome whose data has "orphaned" and
    "failed" (rq_registries), else from a fresh read of the registries; `job_ids` narrows them
    (an explicit id may also name any job in a failed registry).
    data: {"requeued": [ids], "failed_to_requeue": {id: reason}}. The engine asks before a
    destructive kind runs; ctx.allow_write is the opt-in write *probe*, not this consent.
    """
    return run_session(ctx, "rq_requeue", lambda session: _requeue(session, ctx))


def preview_rq_requeue(ctx: CheckContext, limit: int = 20) -> str:
    """The job ids it is about to requeue, as the earlier registry check found them."""
    found = earlier_candidates(ctx.earlier)
    if found is None:
        return "It will read the registries now and requeue the candidates it finds there."
    orphans, failed = choose(found, ctx.param("job_ids"))

    def listed(ids: list[str]) -> str:
        more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
        return (", ".join(ids[:limit]) + more) if ids else "none"

    return (f"  orphaned in-flight jobs ({len(orphans)}): {listed(orphans)}\n"
            f"  jobs failed on Redis errors ({len(failed)}): {listed(failed)}")


def _registry_data(earlier: Mapping[str, Outcome]) -> Mapping[str, Any] | None:
    """The data of the most recent outcome that lists orphaned and failed jobs."""
    for outcome in reversed(list(earlier.values())):
        if "orphaned" in outcome.data and isinstance(outcome.data.get("failed"), Mapping):
            return outcome.data
    return None


def earlier_candidates(earlier: Mapping[str, Outcome]) -> tuple[list[str], list[str]] | None:
    """(orphaned ids, Redis-failed ids) from the most recent outcome that lists them."""
    data = _registry_data(earlier)
    if data is None:
        return None
    return ([str(o["job_id"]) if isinstance(o, Mapping) else str(o) for o in data["orphaned"]],
            [str(i) for i in data["failed"].get("redis_errors", [])])


def _plan(session: Session, ctx: CheckContext) -> Plan:
    found = earlier_candidates(ctx.earlier)
    source = "the earlier registry check"
    if found is None:
        report = inspect_registries(session, ctx)
        if report.partial:
            raise BudgetSpent(report.partial.removeprefix(f"the {ctx.timeout:g} s budget ran "
                                                          "out while "))
        found = ([o.job_id for o in report.orphans], report.redis_failed_ids)
        entries = {o.job_id: o.execution_id for o in report.orphans if o.execution_id}
        source = "a fresh read of the registries"
    else:
        orphaned = (_registry_data(ctx.earlier) or {}).get("orphaned") or []
        entries = {str(o["job_id"]): str(o["execution_id"]) for o in orphaned
                   if isinstance(o, Mapping) and o.get("execution_id")}
    orphans, failed = choose(found, ctx.param("job_ids"))
    return Plan(orphans, failed, f"job_ids, checked against {source}"
                if ctx.param("job_ids") else source, entries)



def choose(found: tuple[list[str], list[str]],
           job_ids: list[object]) -> tuple[list[str], list[str]]:
    """(orphans, failed) to requeue: the candidates, or the ids asked for (an id that is not an
    orphan is tried as a failed job, and refused if no failed registry holds it). The preview
    the operator confirms and the run use this one choice."""
    orphans, redis_failed = found
    wanted = list(dict.fromkeys(str(i) for i in job_ids))
    if not wanted:
        return orphans, [i for i in redis_failed if i not in orphans]
    return [i for i in wanted if i in orphans], [i for i in wanted if i not in orphans]


def _requeue(session: Session, ctx: CheckContext) -> Outcome:
    import redis

    plan = _plan(session, ctx)
    world = World(read_restart(session), processes(), ctx, plan.entries)
    todo: list[tuple[str, Callable[[Session, World, str], str]]] = [
        *((i, _requeue_orphan) for i in plan.orphans),
        *((i, _requeue_failed) for i in plan.failed),
    ]
    requeued: list[str] = []
    refused: dict[str, str] = {}
    details = [f"candidates from {plan.source}"]
    stopped: str | None = None
    for n, (job_id, action) in enumerate(todo):
        try:
            session.spend("requeueing jobs")
            details.append(action(session, world, job_id))
            requeued.append(job_id)
        except NotRequeueable as exc:
            refused[job_id] = str(exc)
        except (BudgetSpent, redis.exceptions.RedisError) as exc:
            # Redis went away (or time ran out) mid-way: say exactly what was and was not done.
            refused.update(_stopped(exc, ctx, [rest for rest, _ in todo[n:]]))
            stopped = ("timeout" if isinstance(exc, BudgetSpent | redis.exceptions.TimeoutError)
                       else "error")
            break
    outcome = _outcome(ctx, len(todo), requeued, refused, details)
    # A requeue cut short did not finish: never a pass or a mere warning (exit 0).
    return replace(outcome, status=stopped) if stopped else outcome


def _stopped(exc: Exception, ctx: CheckContext, left: list[str]) -> dict[str, str]:
    """Why each job left was not requeued; the one in progress may be half done."""
    if isinstance(exc, BudgetSpent):  # raised before a job starts
        return dict.fromkeys(left, f"not attempted: the {ctx.timeout:g} s time budget ran out")
    error = safe_text(exc, (ctx.target.password,))
    # The move is one MULTI/EXEC: if EXEC was sent, Redis may still apply all of it.
    return {left[0]: f"interrupted: {error} (check its status: the move is all or nothing, "
                     "and may still have happened)",
            **dict.fromkeys(left[1:], f"not attempted: {error}")}


def _outcome(ctx: CheckContext, total: int, requeued: list[str], refused: dict[str, str],
             details: list[str]) -> Outcome:
    where = ctx.target.address
    findings = []
    if refused:
        lines = [f"job {job_id}: {why}" for job_id, why in refused.items()]
        if len(lines) > EVIDENCE_LINES:
            lines = [*lines[:EVIDENCE_LINES], f"... and {len(lines) - EVIDENCE_LINES} more"]
        findings.append(finding(
            "rq.failed_jobs",
            f"{len(refused)} of {total} RQ job(s) on {where} could not be requeued "
            f"({len(requeued)} requeued)",
            *lines, severity="warning",
        ))
    ok = (f"requeued {len(requeued)} RQ job(s) on {where}: {', '.join(requeued)}" if total
          else f"nothing to requeue on {where}: no orphaned jobs, no jobs failed on Redis errors")
    outcome = outcome_from(findings, ok, requeued=requeued, failed_to_requeue=refused)
    return Outcome(outcome.status, outcome.summary, outcome.findings, outcome.data,
                   tuple(details))


@frozen
class World:
    """What a re-judgement needs besides the job: the server's start, this host's processes."""

    restart: Restart
    procs: list[Proc] | None
    ctx: CheckContext
    entries: Mapping[str, str] = field(default_factory=dict)  # Plan.entries


def _read(pipe: Any, keys: RqKeys, job_id: str) -> JobRecord:
    job = record(job_id, pipe.hmget(keys.job(job_id), JOB_FIELDS))
    if not job.found:
        raise NotRequeueable("the job no longer exists (expired or deleted)")
    if job.rate_limited:
        raise NotRequeueable("it is rate-limited: requeue it with `rq requeue` so it takes a "
                             "slot")
    return job


def _requeue_orphan(session: Session, world: World, job_id: str) -> str:
    """Re-judge under WATCH, then started -> queue in one MULTI/EXEC."""
    from redis.exceptions import WatchError

    keys = session.keys
    try:
        with session.conn.pipeline() as pipe:
            pipe.watch(keys.job(job_id))  # type: ignore[no-untyped-call]  # redis-py: unannotated
            job = _read(pipe, keys, job_id)
            if job.status != "started":
                raise NotRequeueable(f"no longer in flight (status {job.status or '?'})")
            started_key = keys.started(job.origin)
            executions = [text(e) for e in pipe.zrange(keys.executions(job_id), 0, -1)]
            exec_keys = [keys.execution(job_id, e) for e in executions]
            if exec_keys:
                pipe.watch(*exec_keys)  # type: ignore[no-untyped-call]
            # rq expires a job's executions a minute after its last heartbeat; its started
            # entry (`jobid:executionid`) outlives them: the one the registry check saw.
            seen = world.entries.get(job_id)
            members = dict.fromkeys([*(f"{job_id}:{e}" for e in executions),
                                     *([f"{job_id}:{seen}"] if seen else []), job_id])
            scores = {m: s for m in members if (s := pipe.zscore(started_key, m)) is not None}
            if not scores:
                raise NotRequeueable(f"not in the started registry of {job.origin} any more")
            verdict = _rejudge(pipe, keys, world, job, scores, exec_keys, session.now)
            if not verdict:
                raise NotRequeueable("its worker is alive and runs it")
            pipe.multi()
            pipe.zrem(started_key, *scores)
            for execution, exec_key in zip(executions, exec_keys, strict=True):
                pipe.delete(exec_key)
                pipe.zrem(keys.executions(job_id), execution)
            held = {m for m in (*scores, *(f"{job_id}:{e}" for e in executions)) if ":" in m}
            if job.worker_name and held:  # the worker's record of it, however it was found
                pipe.srem(keys.worker_executions(job.worker_name), *held)
            _enqueue(pipe, keys, job, session.now)
            pipe.execute()
    except WatchError as exc:
        _lost_connection(exc)
        raise NotRequeueable("it changed while being moved (a worker took it?): left as is") \
            from None
    return (f"requeued {job_id} ({job.func_name}) to {job.origin}: in flight on a dead worker "
            f"({verdict})")


def _rejudge(pipe: Any, keys: RqKeys, world: World, job: JobRecord,
             scores: Mapping[str, float], exec_keys: list[str], now: float) -> str:
    """The orphan signal judged on fresh reads; raises NotRequeueable with the reason if not."""
    raw = (pipe.hmget(keys.worker_namespace + job.worker_name, WORKER_FIELDS) if job.worker_name
           else [])
    ctx = world.ctx
    workers = {}
    if job.worker_name:
        workers[job.worker_name] = worker_info(
            job.worker_name, raw, now, ctx.param("heartbeat_grace_s"),
            ctx.param("busy_heartbeat_grace_s"))
    live = frozenset(f"{job.job_id}:{k.rsplit(':', 1)[1]}" for k in exec_keys if pipe.exists(k))
    member, expires = max(scores.items(), key=lambda kv: kv[1])
    _, _, execution_id = member.partition(":")
    entry = StartedEntry(job.origin, job.job_id, execution_id, float(expires))
    verdict = Judge(workers, live, world.procs, world.restart, now).verdict(job, entry)
    if not verdict.orphan:
        raise NotRequeueable(verdict.uncertain or "its worker is alive and runs it")
    return verdict.signal


def _requeue_failed(session: Session, world: World, job_id: str) -> str:
    from redis.exceptions import WatchError

    keys = session.keys
    try:
        with session.conn.pipeline() as pipe:
            pipe.watch(keys.job(job_id))  # type: ignore[no-untyped-call]
            job = _read(pipe, keys, job_id)
            failed_key = keys.failed(job.origin)
            if job.status != "failed" or pipe.zscore(failed_key, job_id) is None:
                raise NotRequeueable(f"not in the failed registry of {job.origin} "
                                     f"(status {job.status or '?'})")
            pipe.multi()
            pipe.zrem(failed_key, job_id)
            _enqueue(pipe, keys, job, session.now)
            pipe.execute()
    except WatchError as exc:
        _lost_connection(exc)
        raise NotRequeueable("it changed while being requeued: left as is") from None
    return f"requeued {job_id} ({job.func_name}) to {job.origin}: from the failed registry"


def _lost_connection(exc: Exception) -> None:
    """redis-py turns a connection error under WATCH into a WatchError: raise the real one."""
    import redis

    if isinstance(exc.__context__, redis.exceptions.RedisError):
        raise exc.__context__


def _enqueue(pipe: Any, keys: RqKeys, job: JobRecord, now: float) -> None:
    """What rq's requeue writes: the job queued again, its id at the back of its queue."""
    pipe.hset(keys.job(job.job_id), mapping={
        "status": "queued", "enqueued_at": utcformat(datetime.fromtimestamp(now, UTC)),
        "started_at": "", "ended_at": "",
    })
    pipe.rpush(keys.queue(job.origin), job.job_id)
    pipe.sadd(keys.queues, keys.queue(job.origin))
