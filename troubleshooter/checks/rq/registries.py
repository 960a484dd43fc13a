"""RQ's registries after an outage: in-flight jobs nothing can still run, and what failed and why.

Read only, and O(sample): registries are counted with ZCARD and a bounded sample of entries is
read, every batch in one pipelined round trip. rq's own registry readers (`get_job_ids()`,
`.count`) run `cleanup()` first, which moves expired started jobs to the failed registry: the
sorted sets are read here with ZCARD / ZRANGE on rq's registry keys instead. Job hashes are
read field by field (jobdata), never unpickled.

A started job is orphaned only when nothing can still be running it: its worker is dead *and*
no work horse runs it - on this host the horse is looked for among the processes; elsewhere the
job's execution heartbeat (its `rq:execution:*` key, renewed by the worker's main process) must
have expired. After a restart from a snapshot, a job `started` in the snapshot may have finished
after it: such jobs are reported as uncertain, never as orphans.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Any

from troubleshooter.checks.base import CheckContext, Outcome, outcome_from
from troubleshooter.checks.rq.common import (
    BudgetSpent,
    Session,
    age_s,
    capped,
    iso,
    listed,
    queue_listing,
    run_session,
)
from troubleshooter.checks.rq.jobdata import JobRecord, read_jobs
from troubleshooter.checks.rq.restart import read_restart
from troubleshooter.checks.server.link import text
from troubleshooter.findings import Finding, finding
from troubleshooter.frozen import frozen, record

if TYPE_CHECKING:
    from troubleshooter.checks.rq.failures import FailedJob
    from troubleshooter.checks.rq.judge import Verdict


@frozen
class Orphan:
    """A started job that nothing can still be running."""

    job_id: str
    queue: str
    func_name: str
    started_at: str | None
    started_age_s: float | None
    worker_name: str
    signal: str  # a key of ORPHAN_SIGNALS
    execution_id: str = ""  # of its started entry (`jobid:executionid`), "" for rq < 2

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def describe(self) -> str:
        started = "" if self.started_age_s is None else f", started {self.started_age_s:g} s ago"
        from troubleshooter.checks.rq.judge import ORPHAN_SIGNALS  # loaded: it judged this one

        why = ORPHAN_SIGNALS.get(self.signal, self.signal)
        return (f"job {self.job_id} {self.func_name} in {self.queue}{started} on worker "
                f"{self.worker_name or '?'}: {why}")


@record
class RegistryReport:
    """What inspect_registries found: the facts both rq_registries and rq_requeue act on."""

    queues: list[str]
    # How many queues there are (more than `queues` when rq:queues was read as a sample),
    # and the detail line that says so.
    queue_total: int = 0
    queues_note: str = ""
    started_total: int = 0
    started_sampled: int = 0
    orphans: list[Orphan] = field(default_factory=list)
    # job id -> why it is not called orphaned although it looks stuck (still running, or
    # started in a snapshot and perhaps finished after it).
    uncertain: dict[str, str] = field(default_factory=dict)
    # job id -> the pid of the work horse that still runs it here (its worker is gone).
    horses: dict[str, int] = field(default_factory=dict)
    failed_total: int = 0
    failed: list[FailedJob] = field(default_factory=list)
    # queue -> (scheduled jobs overdue by OVERDUE_S or more, the oldest one's delay in s), for
    # the queues no scheduler holds the lock of.
    unscheduled: dict[str, tuple[int, float]] = field(default_factory=dict)
    partial: str = ""

    @property
    def redis_failed_ids(self) -> list[str]:
        return [f.job_id for f in self.failed if f.redis_error]

    def data(self) -> dict[str, Any]:
        return {
            "queues": self.queues,
            "queue_total": self.queue_total or len(self.queues),
            "started": {"total": self.started_total, "sampled": self.started_sampled},
            "orphaned": [o.to_dict() for o in self.orphans],
            "uncertain": dict(list(self.uncertain.items())[:50]),
            "horses": dict(list(self.horses.items())[:50]),
            "failed": {
                "total": self.failed_total, "sampled": len(self.failed),
                "by_type": dict(Counter(f.exc_type for f in self.failed).most_common()),
                "redis_errors": self.redis_failed_ids,
            },
            "partial": self.partial or None,
            "overdue_unscheduled": {q: {"jobs": n, "oldest_overdue_s": round(age, 1)}
                                    for q, (n, age) in self.unscheduled.items()},
        }


def run_rq_registries(ctx: CheckContext) -> Outcome:
    """Orphaned started jobs and failed jobs (by exception type, Redis errors singled out).

    data: {"queues": [names], "queue_total": n (more than the names: a sample), "started":
    {"total", "sampled"}, "orphaned": [{"job_id", "queue", "func_name", "started_at",
    "started_age_s", "worker_name", "signal", "execution_id"}],
    "uncertain": {id: why}, "horses": {id: pid of the work horse still running it}, "failed":
    {"total", "sampled", "by_type": {type: count in the sample}, "redis_errors": [ids in the
    sample: requeue candidates]}, "partial": why or null, "overdue_unscheduled": {queue:
    {"jobs", "oldest_overdue_s"}}}.
    signal: entry_expired, worker_restarted, or the worker's dead signal (key_gone,
    death_registered, pid_gone, heartbeat_stale). Totals are exact; lists are samples.
    """
    return run_session(ctx, "rq_registries", lambda session: _registries(session, ctx))


def _unscheduled_finding(report: RegistryReport, ctx: CheckContext) -> Finding | None:
    if not report.unscheduled:
        return None
    total = sum(n for n, _ in report.unscheduled.values())
    return finding(
        "rq.scheduler_missing",
        f"{total} scheduled RQ job(s) on {ctx.target.address} are due and not enqueued: no RQ "
        f"scheduler runs for {', '.join(sorted(report.unscheduled))} (enqueue_in/enqueue_at, "
        "retries with an interval)",
        *capped([f"{q}: {n} job(s) overdue, the oldest by {age:.0f} s; {q}'s scheduler lock "
                 "is free" for q, (n, age) in sorted(report.unscheduled.items())]))


def _registries(session: Session, ctx: CheckContext) -> Outcome:
    report = inspect_registries(session, ctx)
    findings = [f for f in (_orphan_finding(report, ctx), _failed_finding(report, ctx),
                            _unscheduled_finding(report, ctx)) if f]
    details = [f"job {job_id}: {why}" for job_id, why in report.uncertain.items()]
    details = capped(details)
    if report.queues_note:
        details.append(report.queues_note)
    if len(report.queues) > SCHEDULED_QUEUES:
        details.append(f"scheduled jobs looked for in the first {SCHEDULED_QUEUES} of "
                       f"{len(report.queues)} queues")
    if report.partial:
        details.append(f"partial: {report.partial}")
    of = f" (a sample of {report.queue_total})" if report.queues_note else ""
    ok = (f"no orphaned or failed RQ jobs in {len(report.queues)} queue(s){of} on "
          f"{ctx.target.address}")
    outcome = outcome_from(findings, ok, **report.data())
    status = outcome.status
    if report.partial and status != "fail":
        status = "timeout"  # incomplete is not healthy, warnings or not
        ok = f"rq_registries: {report.partial} (nothing found before that)"
    return Outcome(status, outcome.summary if findings else ok, outcome.findings, outcome.data,
                   tuple(details))


def inspect_registries(session: Session, ctx: CheckContext) -> RegistryReport:
    """Count the started and failed registries of each queue and judge a bounded sample.

    A spent budget ends the reading where it is: what was found so far is kept, marked partial.
    """
    report = RegistryReport(queues=[])
    try:
        listing = queue_listing(session, ctx.param("queues"))
        report.queues, report.queue_total = list(listing.names), listing.total
        report.queues_note = listing.note(session.keys.queues)
        started, failed, overdue = _counts(session, report.queues)
        report.unscheduled = _unscheduled(session, overdue)
        report.started_total = sum(started.values())
        report.failed_total = sum(failed.values())
        _judge_started(session, ctx, report, started)
        if report.failed_total:  # the failures' classifier loads only when there are some
            from troubleshooter.checks.rq.failures import classify_failed

            report.failed = classify_failed(session, failed, ctx.param("failed_sample"))
    except BudgetSpent as exc:
        report.partial = f"the {ctx.timeout:g} s budget ran out while {exc}"
    return report


# A scheduled job this late (rq's scheduler moves due jobs every second) is not being moved.
OVERDUE_S = 60.0
# The scheduled registries of at most this many queues are counted (a command each).
SCHEDULED_QUEUES = 8


def _counts(session: Session, names: Sequence[str]
            ) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """(started, failed, scheduled jobs overdue by OVERDUE_S) per queue (the last for the
    first SCHEDULED_QUEUES queues)."""
    if not names:
        return {}, {}, {}
    session.spend("counting the job registries")
    pipe = session.pipeline()
    for name in names:
        pipe.zcard(session.keys.started(name))
        pipe.zcard(session.keys.failed(name))
    scheduled = names[:SCHEDULED_QUEUES]
    for name in scheduled:
        pipe.zcount(session.keys.scheduled(name), "-inf", session.now - OVERDUE_S)
    replies = [int(n) for n in pipe.execute()]
    late = replies[2 * len(names):]
    return ({n: replies[2 * i] for i, n in enumerate(names)},
            {n: replies[2 * i + 1] for i, n in enumerate(names)},
            dict(zip(scheduled, late, strict=True)))


def _unscheduled(session: Session, overdue: Mapping[str, int]) -> dict[str, tuple[int, float]]:
    """The queues with overdue scheduled jobs whose scheduler lock nobody holds: (how many,
    the oldest one's delay in s)."""
    late = [q for q, n in overdue.items() if n]
    if not late:
        return {}
    session.spend("looking for the RQ scheduler")
    pipe = session.pipeline()
    for name in late:
        pipe.exists(session.keys.scheduler_lock(name))
        pipe.zrange(session.keys.scheduled(name), 0, 0, withscores=True)
    replies = pipe.execute()
    found = {}
    for i, name in enumerate(late):
        held, oldest = replies[2 * i], replies[2 * i + 1]
        if not held and oldest:
            found[name] = (overdue[name], max(0.0, session.now - float(oldest[0][1])))
    return found


def _judge_started(session: Session, ctx: CheckContext, report: RegistryReport,
                   counts: Mapping[str, int]) -> None:
    entries = sample_started(session, counts, ctx.param("started_sample"))
    if not entries:
        return
    # Only started jobs are judged: with none, the judge (and the processes here) stay unread.
    from troubleshooter.checks.rq.judge import Judge

    jobs = {j.job_id: j for j in read_jobs(session, list(dict.fromkeys(e.job_id for e in entries)))}
    judge = Judge.load(session, ctx, list(jobs.values()), entries, read_restart(session))
    report.started_sampled = len(jobs)
    seen: set[str] = set()
    for entry in entries:
        job = jobs[entry.job_id]
        if entry.job_id in seen:
            continue
        seen.add(entry.job_id)
        verdict = judge.verdict(job, entry)
        if verdict.orphan:
            report.orphans.append(_orphan(job, entry, verdict, session.now))
        elif verdict.uncertain:
            report.uncertain[job.job_id] = verdict.uncertain
            if verdict.horse is not None:
                report.horses[job.job_id] = verdict.horse


@frozen
class StartedEntry:
    """One started-registry member: `jobid:executionid` (rq >= 2) or `jobid`, and its expiry."""

    queue: str
    job_id: str
    execution_id: str
    expires_at: float


def sample_started(session: Session, counts: Mapping[str, int],
                   sample: int) -> list[StartedEntry]:
    """Up to `sample` entries over the queues with started jobs, the ones expiring first
    (the least recently renewed: a dead worker's) from each; all in one round trip."""
    busy = sorted((q for q, n in counts.items() if n), key=lambda q: -counts[q])[:max(sample, 0)]
    if not busy:
        return []
    per_queue = max(1, sample // len(busy))
    session.spend("reading the started jobs")
    pipe = session.pipeline()
    for name in busy:
        pipe.zrange(session.keys.started(name), 0, per_queue - 1, withscores=True)
    entries = []
    for name, pairs in zip(busy, pipe.execute(), strict=True):
        for member, score in pairs:
            job_id, _, execution_id = text(member).partition(":")
            entries.append(StartedEntry(name, job_id, execution_id, float(score)))
    return entries


def _orphan(job: JobRecord, entry: StartedEntry, verdict: Verdict, now: float) -> Orphan:
    return Orphan(job.job_id, entry.queue, job.func_name, iso(job.started_at),
                  age_s(job.started_at, now), job.worker_name, verdict.signal,
                  entry.execution_id)


def _orphan_finding(report: RegistryReport, ctx: CheckContext) -> Finding | None:
    if not report.orphans:
        return None
    queues = listed(sorted({o.queue for o in report.orphans}))
    sample = ("" if report.started_sampled >= report.started_total else
              f" (judged a sample of {report.started_sampled} of {report.started_total} "
              "started jobs)")
    return finding(
        "rq.orphaned_jobs",
        f"{len(report.orphans)} in-flight RQ job(s) in {queues} on {ctx.target.address} "
        f"lost their worker and nothing runs them any more{sample}",
        *capped([o.describe() for o in report.orphans]),
    )


def _failed_finding(report: RegistryReport, ctx: CheckContext) -> Finding | None:
    if not report.failed_total:
        return None
    redis_ids = report.redis_failed_ids
    counts = Counter((f.exc_type, f.redis_error) for f in report.failed)
    sampled = len(report.failed)
    of = (f"of the newest {sampled} read" if sampled < report.failed_total
          else f"of all {sampled}")
    evidence = [f"{exc_type}: {n} job(s)" + (" - Redis error, requeue candidate" if redis else "")
                for (exc_type, redis), n in counts.most_common()]
    evidence += [f"job {f.job_id} in {f.queue}: {f.last_line}"
                 for f in report.failed if f.redis_error][:3]
    return finding(
        "rq.failed_jobs",
        f"{report.failed_total} failed RQ job(s) on {ctx.target.address}; {of}, "
        + (f"{len(redis_ids)} failed on Redis errors (requeue candidates)" if redis_ids
           else "none failed on Redis errors"),
        *capped(evidence),
    )
