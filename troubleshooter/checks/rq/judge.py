"""Whether a started job is orphaned: nothing can still be running it.

The same judgement serves rq_registries (read only) and rq_requeue, which re-reads the job and
judges it again right before it acts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from troubleshooter.checks.base import CheckContext
from troubleshooter.checks.rq.common import Session
from troubleshooter.checks.rq.horse import Proc, find_horse, processes
from troubleshooter.checks.rq.jobdata import JobRecord
from troubleshooter.checks.rq.restart import Restart
from troubleshooter.checks.rq.workers import DEAD_SIGNALS, WorkerInfo, read_workers
from troubleshooter.frozen import frozen

if TYPE_CHECKING:
    from troubleshooter.checks.rq.registries import StartedEntry

ORPHAN_SIGNALS = {
    **DEAD_SIGNALS,
    "entry_expired": "its started-registry entry expired without a heartbeat",
    "worker_restarted": "a worker of the same name has started since (a restart)",
}


@frozen
class Verdict:
    """orphan with its signal; or why a stuck-looking job is not called orphaned."""

    orphan: bool = False
    signal: str = ""
    uncertain: str = ""
    horse: int | None = None  # the pid of the work horse still running it on this host


@frozen
class Judge:
    """What a verdict needs: the jobs' workers, live executions, this host's processes."""

    workers: Mapping[str, WorkerInfo]
    live_executions: frozenset[str]
    procs: list[Proc] | None
    restart: Restart
    now: float

    @classmethod
    def load(cls, session: Session, ctx: CheckContext, jobs: Iterable[JobRecord],
             entries: Sequence[StartedEntry], restart: Restart) -> Judge:
        """Read the workers and execution keys the sampled started jobs refer to."""
        started = [j for j in jobs if j.found and j.status == "started"]
        names = sorted({j.worker_name for j in started} - {""})
        workers = read_workers(session, names, ctx.param("heartbeat_grace_s"),
                               ctx.param("busy_heartbeat_grace_s"))
        live = live_executions(session, [(e.job_id, e.execution_id) for e in entries
                                         if e.execution_id])
        return cls({w.name: w for w in workers}, live, processes(), restart, session.now)

    def verdict(self, job: JobRecord, entry: StartedEntry) -> Verdict:
        # A missing job, or one that finished or failed with its entry left behind, is not
        # in-flight work (rq's own cleanup skips those too).
        if not job.found or job.status != "started":
            return Verdict()
        worker = self.workers.get(job.worker_name)
        beat = job.last_heartbeat or job.started_at
        started_at = self.restart.started_at
        if self.restart.from_snapshot and started_at and beat and beat.timestamp() < started_at:
            return Verdict(uncertain=(
                f"started before Redis restarted from a snapshot {self.now - started_at:.0f} s "
                "ago: it may have finished after the snapshot was taken; check before "
                "requeueing it"))
        signal = self._signal(entry, worker, job)
        if not signal:
            return Verdict()
        if signal == "entry_expired" and worker is not None and worker.alive and worker.local:
            return Verdict(uncertain=(
                f"its registry entry expired, but its worker {worker.name} (pid {worker.pid}) "
                "is alive on this host: hung or slow, not lost; not requeued while it lives"))
        horse = self._horse(job, worker)
        if horse is not None and horse.stopped:
            return Verdict(uncertain=(
                f"its work horse (pid {horse.pid}) still holds it on this host, stopped (state "
                f"T): `kill -CONT {horse.pid}` lets it finish; kill it before requeueing, or "
                "the job runs twice"), horse=horse.pid)
        if horse is not None:
            return Verdict(uncertain=f"its work horse (pid {horse.pid}) still runs it on this "
                                     "host, although its worker's main process is gone",
                           horse=horse.pid)
        local = worker is not None and worker.local and self.procs is not None
        if not local and f"{entry.job_id}:{entry.execution_id}" in self.live_executions:
            host = worker.hostname if worker is not None and worker.hostname else "its host"
            return Verdict(uncertain=(
                f"its worker looks dead ({ORPHAN_SIGNALS[signal]}) but its execution heartbeat "
                f"has not expired: it may still be running on {host}; it counts as orphaned "
                "once that heartbeat expires (at most 90 s by rq's defaults)"))
        return Verdict(orphan=True, signal=signal)

    def _signal(self, entry: StartedEntry, worker: WorkerInfo | None, job: JobRecord) -> str:
        if entry.expires_at < self.now:
            return "entry_expired"
        if worker is None:
            return ""
        # Supervisors restart a worker under a fixed name: alive, but not the one running it.
        if worker.alive and worker.born_at and job.started_at and worker.born_at > job.started_at:
            return "worker_restarted"
        return worker.dead_signal

    def _horse(self, job: JobRecord, worker: WorkerInfo | None) -> Proc | None:
        if self.procs is None or not job.worker_name:
            return None
        if worker is not None and worker.alive and not (
                worker.born_at and job.started_at and worker.born_at > job.started_at):
            return None  # its own live worker runs it: nothing to look for
        if worker is not None and worker.hostname and not worker.local:
            return None  # it ran on another host: no process here is its horse
        local = worker is not None and worker.local
        dead_pid = worker.pid if local and worker is not None and not worker.alive else None
        current = worker.pid if local and worker is not None and worker.alive else None
        started = job.started_at.timestamp() if job.started_at else None
        return find_horse(self.procs, job.worker_name, dead_pid, current, started)


def live_executions(session: Session, pairs: Sequence[tuple[str, str]]) -> frozenset[str]:
    """`jobid:executionid` of the executions whose key still exists (heartbeat not expired)."""
    if not pairs:
        return frozenset()
    session.spend("reading the execution heartbeats")
    pipe = session.pipeline()
    for job_id, execution_id in pairs:
        pipe.exists(session.keys.execution(job_id, execution_id))
    return frozenset(f"{j}:{e}" for (j, e), n in zip(pairs, pipe.execute(), strict=True) if n)
