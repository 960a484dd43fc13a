"""Requeue what an outage left behind: orphaned in-flight jobs and jobs failed on Redis errors.

An orphan takes rq's own path for abandoned work: StartedJobRegistry.cleanup() records it in
the FailedJobRegistry (AbandonedJobError) and `rq requeue` puts it back with
FailedJobRegistry.requeue(). cleanup() itself cannot be used: it only takes entries whose
heartbeat TTL has expired, while a SIGKILLed worker's entry lives on for up to 90 s or more;
and a bare Queue.enqueue_job() would leave the started entry behind, which a later cleanup
would fail while the job runs again. So the move to the failed registry is done with rq's
registry API in one transaction, WATCHing the job and the started registry (a worker that
takes the job meanwhile aborts it), then rq's requeue. If the second step fails, the job
waits in the failed registry, where `rq requeue` finds it: never lost, never doubled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from troubleshooter.checks.base import CheckContext, Outcome, outcome_from
from troubleshooter.checks.rq.common import BudgetSpent, Session, run_session
from troubleshooter.checks.rq.registries import func_name, inspect_registries, started_job_id
from troubleshooter.checks.server.errors import safe_text
from troubleshooter.checks.server.link import text
from troubleshooter.findings import finding

if TYPE_CHECKING:
    from rq.job import Job
    from rq.registry import FailedJobRegistry

EVIDENCE_LINES = 10


class NotRequeueable(Exception):
    """This one job cannot be requeued; the message says why. The others go on."""


@dataclass(frozen=True)
class Plan:
    """Which ids take which path, and where the candidates came from."""

    orphans: list[str]
    failed: list[str]
    source: str


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
    wanted = {str(i) for i in ctx.param("job_ids")}
    orphans, failed = ([i for i in ids if not wanted or i in wanted] for ids in found)
    failed = [i for i in failed if i not in orphans]

    def listed(ids: list[str]) -> str:
        more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
        return (", ".join(ids[:limit]) + more) if ids else "none"

    return (f"  orphaned in-flight jobs ({len(orphans)}): {listed(orphans)}\n"
            f"  jobs failed on Redis errors ({len(failed)}): {listed(failed)}")


def earlier_candidates(earlier: Mapping[str, Outcome]) -> tuple[list[str], list[str]] | None:
    """(orphaned ids, Redis-failed ids) from the most recent outcome that lists them."""
    for outcome in reversed(list(earlier.values())):
        data = outcome.data
        if "orphaned" in data and isinstance(data.get("failed"), Mapping):
            return ([str(i) for i in data["orphaned"]],
                    [str(i) for i in data["failed"].get("redis_errors", [])])
    return None


def _plan(session: Session, ctx: CheckContext) -> Plan:
    found = earlier_candidates(ctx.earlier)
    source = "the earlier registry check"
    if found is None:
        report = inspect_registries(session, ctx.param("queues"), ctx.param("heartbeat_grace_s"),
                                    ctx.param("failed_sample"))
        found = ([o.job_id for o in report.orphans], report.redis_failed_ids)
        source = "a fresh read of the registries"
    orphans, redis_failed = found
    wanted = list(dict.fromkeys(str(i) for i in ctx.param("job_ids")))
    if not wanted:
        return Plan(orphans, [i for i in redis_failed if i not in orphans], source)
    return Plan([i for i in wanted if i in orphans], [i for i in wanted if i not in orphans],
                f"job_ids, checked against {source}")


def _requeue(session: Session, ctx: CheckContext) -> Outcome:
    import redis

    plan = _plan(session, ctx)
    todo: list[tuple[str, Callable[[Session, str], str]]] = [
        *((i, _requeue_orphan) for i in plan.orphans),
        *((i, _requeue_failed) for i in plan.failed),
    ]
    requeued: list[str] = []
    refused: dict[str, str] = {}
    details = [f"candidates from {plan.source}"]
    for n, (job_id, action) in enumerate(todo):
        try:
            session.spend("requeueing jobs")
            details.append(action(session, job_id))
            requeued.append(job_id)
        except NotRequeueable as exc:
            refused[job_id] = str(exc)
        except (BudgetSpent, redis.exceptions.RedisError) as exc:
            # Redis went away (or time ran out) mid-way: say exactly what was and was not done.
            refused.update(_stopped(exc, ctx, [rest for rest, _ in todo[n:]]))
            break
    return _outcome(ctx, len(todo), requeued, refused, details)


def _stopped(exc: Exception, ctx: CheckContext, left: list[str]) -> dict[str, str]:
    """Why each job left was not requeued; the one in progress may be half done."""
    if isinstance(exc, BudgetSpent):  # raised before a job starts
        return dict.fromkeys(left, f"not attempted: the {ctx.timeout:g} s time budget ran out")
    error = safe_text(exc, (ctx.target.password,))
    # rq's FailedJobRegistry.requeue removes the entry, then enqueues: the job being requeued
    # may be out of the registry but not yet queued.
    return {left[0]: f"interrupted: {error} (check its status: it may be half requeued)",
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


def _fetch(session: Session, job_id: str) -> Job:
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        return Job.fetch(job_id, connection=session.conn)
    except NoSuchJobError:
        raise NotRequeueable("the job no longer exists (expired or deleted)") from None


def _requeue_orphan(session: Session, job_id: str) -> str:
    """started -> failed (one watched transaction) -> queue (rq's requeue)."""
    from redis.exceptions import WatchError
    from rq.job import JobStatus
    from rq.registry import FailedJobRegistry, StartedJobRegistry

    job = _fetch(session, job_id)
    started = StartedJobRegistry(job.origin, connection=session.conn)
    failed = FailedJobRegistry(job.origin, connection=session.conn)
    try:
        with session.conn.pipeline() as pipe:
            # redis-py's Pipeline.watch is unannotated.
            pipe.watch(job.key, started.key)  # type: ignore[no-untyped-call]
            job = _fetch(session, job_id)  # re-read under WATCH: the state we act on
            members = [text(m) for m in pipe.zrange(started.key, 0, -1)
                       if started_job_id(m) == job_id]
            status = job.get_status(refresh=False)
            if status != JobStatus.STARTED or not members:
                raise NotRequeueable(f"no longer in flight (status {status.value})")
            pipe.multi()
            pipe.zrem(started.key, *members)
            job.set_status(JobStatus.FAILED, pipeline=pipe)
            failed.add(job, ttl=job.failure_ttl, pipeline=pipe,
                       exc_string="AbandonedJobError: its worker died; moved to "
                                  "FailedJobRegistry by troubleshooter rq_requeue")
            pipe.execute()
    except WatchError:
        raise NotRequeueable("it changed while being moved (a worker took it?): left as is") \
            from None
    _requeue_from_failed(job, failed)
    return f"requeued {job_id} ({func_name(job)}) to {job.origin}: in flight on a dead worker"


def _requeue_failed(session: Session, job_id: str) -> str:
    from rq.registry import FailedJobRegistry

    job = _fetch(session, job_id)
    _requeue_from_failed(job, FailedJobRegistry(job.origin, connection=session.conn))
    return f"requeued {job_id} ({func_name(job)}) to {job.origin}: from the failed registry"


def _requeue_from_failed(job: Job, failed: FailedJobRegistry) -> None:
    from rq.exceptions import InvalidJobOperation

    try:
        failed.requeue(job)
    except InvalidJobOperation:
        raise NotRequeueable(f"not in the failed registry of {job.origin} "
                             f"(status {job.get_status(refresh=True).value})") from None
