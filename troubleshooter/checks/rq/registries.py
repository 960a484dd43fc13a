"""RQ's registries after an outage: in-flight jobs whose worker died, and what failed and why.

Read only. rq's own registry readers (`get_job_ids()`, `.count`) run `cleanup()` first, which
moves expired started jobs to the failed registry and drops expired entries: the sorted sets are
read here with ZRANGE / ZCARD on rq's registry keys instead.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from troubleshooter.checks.base import CheckContext, Outcome, outcome_from
from troubleshooter.checks.rq.common import (
    DEAD_SIGNALS,
    Session,
    WorkerInfo,
    age_s,
    fetch_jobs,
    iso,
    queue_names,
    read_workers,
    run_session,
)
from troubleshooter.checks.server.link import text
from troubleshooter.findings import Finding, finding
from troubleshooter.target import redact_url

if TYPE_CHECKING:
    from rq.job import Job

# Failures an outage causes (the job itself is fine): worth requeueing once Redis is back.
REDIS_ERROR_TYPES = frozenset({
    "ConnectionError", "TimeoutError", "BusyLoadingError", "ReadOnlyError", "OutOfMemoryError",
    "MaxConnectionsError", "MasterDownError", "MasterNotFoundError", "AuthenticationError",
    "ClusterDownError", "TryAgainError",
})
# redis-py's wording, for exceptions an app re-raised under its own type.
REDIS_ERROR_TEXT = re.compile(
    r"Error -?\d+ (connecting to|while (reading|writing))|Connection closed by server"
    r"|Timeout (reading from|writing to|connecting to)|MISCONF |LOADING Redis is loading"
    r"|READONLY You can't write|OOM command not allowed|MASTERDOWN "
)
ORPHAN_SIGNALS = {
    **DEAD_SIGNALS,
    "entry_expired": "its started-registry entry expired without a heartbeat",
    "worker_restarted": "a worker of the same name has started since (a restart)",
}
ABANDONED = "AbandonedJobError"  # rq's cleanup: the worker died (often in the outage)
EVIDENCE_LINES = 10


@dataclass(frozen=True)
class Orphan:
    """A started job whose worker is dead, or whose registry entry expired."""

    job_id: str
    queue: str
    func_name: str
    enqueued_at: str | None
    started_at: str | None
    started_age_s: float | None
    worker_name: str
    signal: str  # a key of ORPHAN_SIGNALS

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def describe(self) -> str:
        started = "" if self.started_age_s is None else f", started {self.started_age_s:g} s ago"
        why = ORPHAN_SIGNALS.get(self.signal, self.signal)
        return (f"job {self.job_id} {self.func_name} in {self.queue}{started} on worker "
                f"{self.worker_name or '?'}: {why}")


@dataclass(frozen=True)
class FailedJob:
    """One classified entry of a failed registry."""

    job_id: str
    queue: str
    exc_type: str
    redis_error: bool
    last_line: str


@dataclass(frozen=True)
class RegistryReport:
    """What inspect_registries found: the facts both rq_registries and rq_requeue act on."""

    queues: list[str]
    orphans: list[Orphan]
    failed_total: int
    failed: list[FailedJob]

    @property
    def redis_failed_ids(self) -> list[str]:
        return [f.job_id for f in self.failed if f.redis_error]

    def failed_data(self) -> dict[str, Any]:
        return {
            "total": self.failed_total,
            "classified": len(self.failed),
            "by_type": dict(Counter(f.exc_type for f in self.failed).most_common()),
            "redis_errors": self.redis_failed_ids,
        }


def run_rq_registries(ctx: CheckContext) -> Outcome:
    """Orphaned started jobs and failed jobs (by exception type, Redis errors singled out).

    data: {"orphaned": [ids], "orphaned_jobs": [{"job_id", "queue", "func_name",
    "enqueued_at", "started_at", "started_age_s", "worker_name", "signal"}], "failed":
    {"total", "classified", "by_type": {type: count}, "redis_errors": [ids: requeue
    candidates]}, "queues": [names]}. signal: entry_expired, worker_restarted, or the worker's
    dead signal (key_gone, death_registered, pid_gone, heartbeat_stale).
    """
    return run_session(ctx, "rq_registries", lambda session: _registries(session, ctx))


def _registries(session: Session, ctx: CheckContext) -> Outcome:
    report = inspect_registries(session, ctx.param("queues"), ctx.param("heartbeat_grace_s"),
                                ctx.param("failed_sample"))
    findings = [f for f in (_orphan_finding(report, ctx), _failed_finding(report, ctx)) if f]
    ok = (f"no orphaned or failed RQ jobs in {len(report.queues)} queue(s) on "
          f"{ctx.target.address}")
    return outcome_from(
        findings, ok, orphaned=[o.job_id for o in report.orphans],
        orphaned_jobs=[o.to_dict() for o in report.orphans], failed=report.failed_data(),
        queues=report.queues,
    )


def inspect_registries(session: Session, wanted: Sequence[str], grace_s: float,
                       sample: int) -> RegistryReport:
    """Read the started and failed registries of each queue (RQ's or `wanted`)."""
    from rq.registry import FailedJobRegistry, StartedJobRegistry

    names = queue_names(session, wanted)
    session.spend("reading the job registries")
    pipe = session.pipeline()
    for name in names:
        pipe.zrange(StartedJobRegistry(name, connection=session.conn).key, 0, -1,
                    withscores=True)
        pipe.zcard(FailedJobRegistry(name, connection=session.conn).key)
    replies = pipe.execute()
    started = {name: replies[2 * i] for i, name in enumerate(names)}
    failed_counts = {name: int(replies[2 * i + 1]) for i, name in enumerate(names)}
    return RegistryReport(
        queues=names,
        orphans=_orphans(session, started, grace_s),
        failed_total=sum(failed_counts.values()),
        failed=_classify_failed(session, [q for q, n in failed_counts.items() if n], sample),
    )


def started_job_id(member: object) -> str:
    """The job id of a started-registry member: `jobid:executionid` in rq >= 2, `jobid` before."""
    from rq.registry import StartedJobRegistry

    parse = getattr(StartedJobRegistry, "parse_job_id", None)  # rq >= 2.0
    entry = text(member)
    return str(parse(entry)) if parse is not None and ":" in entry else entry


def _orphans(session: Session, started: Mapping[str, list[Any]], grace_s: float) -> list[Orphan]:
    # One entry per job (a job may hold several executions): the latest expiry speaks for it.
    latest: dict[tuple[str, str], float] = {}
    for queue, pairs in started.items():
        for member, score in pairs:
            key = (queue, started_job_id(member))
            latest[key] = max(float(score), latest.get(key, float("-inf")))
    entries = [(queue, job_id, expires_at) for (queue, job_id), expires_at in latest.items()]
    if not entries:
        return []
    session.spend("reading the started jobs")
    jobs = fetch_jobs(session, [job_id for _, job_id, _ in entries])
    worker_names = sorted({_worker_of(j) for j in jobs if j is not None} - {""})
    workers = {w.name: w for w in read_workers(session, worker_names, grace_s)}
    orphans = []
    for (queue, _job_id, expires_at), job in zip(entries, jobs, strict=True):
        signal = _orphan_signal(job, expires_at, workers, session.now)
        if job is not None and signal:
            orphans.append(Orphan(
                job.id, queue, func_name(job), iso(job.enqueued_at), iso(job.started_at),
                age_s(job.started_at, session.now), _worker_of(job), signal,
            ))
    return orphans


def _worker_of(job: Job) -> str:
    return getattr(job, "worker_name", None) or ""  # Job.worker_name: rq >= 1.12


def _orphan_signal(job: Job | None, expires_at: float, workers: Mapping[str, WorkerInfo],
                   now: float) -> str:
    from rq.job import JobStatus

    # A missing job, or one that finished or failed with its entry left behind, is not in-flight
    # work (rq's own cleanup skips those too).
    if job is None or job.get_status(refresh=False) != JobStatus.STARTED:
        return ""
    if expires_at < now:
        return "entry_expired"
    worker = workers.get(_worker_of(job))
    if worker is None:
        return ""
    # Supervisors restart a worker under a fixed name: alive, but not the one running this job.
    if worker.alive and worker.born_at and job.started_at and worker.born_at > job.started_at:
        return "worker_restarted"
    return worker.dead_signal


def func_name(job: Job) -> str:
    """The job's function name, from its description (rq writes `module.func(args)` there).

    Never `job.func_name`: it unpickles the payload, and a diagnostic tool must not run what it
    finds in Redis (nor import the app's modules to decode it).
    """
    description = job.description or ""
    return description.split("(", 1)[0] or "?"


def _classify_failed(session: Session, queues: Sequence[str], sample: int) -> list[FailedJob]:
    from rq.registry import FailedJobRegistry

    if not queues or sample <= 0:
        return []
    session.spend("reading the failed job ids")
    pipe = session.pipeline()
    for name in queues:
        # Newest first: the score is the failure time plus the failure TTL.
        pipe.zrevrange(FailedJobRegistry(name, connection=session.conn).key, 0, sample - 1)
    ids_by_queue = dict(zip(queues, ([text(i) for i in r] for r in pipe.execute()), strict=True))
    classified = []
    for queue, ids in ids_by_queue.items():
        session.spend("reading the failed jobs")
        for job in fetch_jobs(session, ids):
            if job is not None:
                session.spend("reading the failures' exceptions")
                classified.append(_failed_job(job, queue))
    return classified


def _failed_job(job: Job, queue: str) -> FailedJob:
    exc = _exc_string(job)
    exc_text = redact_url(exc or "")
    exc_type = exception_type(exc_text)
    last = next((line.strip() for line in reversed(exc_text.splitlines()) if line.strip()), "")
    return FailedJob(job.id, queue, exc_type, is_redis_error(exc_type, last), last[:200])


def _exc_string(job: Job) -> str | None:
    """The failure text: the latest result (rq >= 1.12 streams), else the job hash (rq 1.x)."""
    import redis

    try:
        result = job.latest_result()
    except redis.exceptions.RedisError:
        raise
    except Exception:  # a result payload rq cannot restore: fall back to the hash
        result = None
    from_result = result.exc_string if result is not None else None
    return from_result or getattr(job, "_exc_info", None)


def exception_type(exc_text: str) -> str:
    """The exception type a failure text names (a traceback's last line, or rq's own texts)."""
    if ABANDONED in exc_text:
        return f"rq.exceptions.{ABANDONED}"
    if exc_text.startswith("Work-horse terminated unexpectedly"):
        return "work-horse terminated"
    for line in reversed(exc_text.strip().splitlines()):
        if line and not line[0].isspace():
            match = re.match(r"([A-Za-z_][\w.]*)(?::|$)", line)
            return match.group(1) if match else "unknown"
    return "unknown"


def is_redis_error(exc_type: str, last_line: str) -> bool:
    """Whether a failure was Redis going away (requeue candidate), not the job's own bug."""
    module, _, short = exc_type.rpartition(".")
    if short == ABANDONED:
        return True
    if module.startswith("redis") and short in REDIS_ERROR_TYPES:
        return True
    return REDIS_ERROR_TEXT.search(last_line) is not None


def _orphan_finding(report: RegistryReport, ctx: CheckContext) -> Finding | None:
    if not report.orphans:
        return None
    queues = ", ".join(sorted({o.queue for o in report.orphans}))
    return finding(
        "rq.orphaned_jobs",
        f"{len(report.orphans)} in-flight RQ job(s) in {queues} on {ctx.target.address} "
        "lost their worker",
        *_capped([o.describe() for o in report.orphans]),
    )


def _failed_finding(report: RegistryReport, ctx: CheckContext) -> Finding | None:
    if not report.failed_total:
        return None
    redis_ids = report.redis_failed_ids
    counts = Counter((f.exc_type, f.redis_error) for f in report.failed)
    evidence = [f"{exc_type}: {n} job(s)" + (" - Redis error, requeue candidate" if redis else "")
                for (exc_type, redis), n in counts.most_common()]
    evidence += [f"job {f.job_id} in {f.queue}: {f.last_line}"
                 for f in report.failed if f.redis_error][:3]
    if len(report.failed) < report.failed_total:
        evidence.append(f"classified the newest {len(report.failed)} of {report.failed_total}")
    return finding(
        "rq.failed_jobs",
        f"{report.failed_total} failed RQ job(s) on {ctx.target.address}, "
        + (f"{len(redis_ids)} on Redis errors (requeue candidates)" if redis_ids
           else "none on Redis errors"),
        *_capped(evidence),
    )


def _capped(lines: list[str]) -> list[str]:
    if len(lines) <= EVIDENCE_LINES:
        return lines
    return [*lines[:EVIDENCE_LINES], f"... and {len(lines) - EVIDENCE_LINES} more"]
