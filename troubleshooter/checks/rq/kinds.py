"""The RQ check family: queues, workers, registries, and the one repair (requeue).

The functions live in rq_queues / rq_registries / rq_requeue (shared plumbing in rq_common);
this module only declares the kinds. The playbook refers to them by these names.
"""

from __future__ import annotations

from troubleshooter.checks.base import CheckKind, Param
from troubleshooter.checks.rq.common import DEFAULT_HEARTBEAT_GRACE_S
from troubleshooter.checks.rq.queues import run_rq_queues, run_rq_workers
from troubleshooter.checks.rq.registries import run_rq_registries
from troubleshooter.checks.rq.requeue import preview_rq_requeue, run_rq_requeue

_QUEUES = Param(list, [], "queue names to inspect; [] = every queue RQ knows (rq:queues)")
_APP_QUEUE = Param(str, "", "the queue the app enqueues to (e.g. from RQ_QUEUE_NAME); "
                            "'' = unknown")
_GRACE = Param((int, float), DEFAULT_HEARTBEAT_GRACE_S,
               "seconds since a worker's last heartbeat after which it counts as dead "
               "(rq: worker_ttl 420 + 60)")
_SAMPLE = Param(int, 200, "how many of each queue's newest failed jobs to classify")

KINDS: tuple[CheckKind, ...] = (
    CheckKind(
        imports=("redis", "rq.job"),
        name="rq_queues",
        run=run_rq_queues,
        help="Each RQ queue's length and the age of its next job; flags backed-up queues. "
             "data: queues [{name, length, oldest_age_s, oldest_job_id}], app_queue, key_prefix.",
        params={
            "queues": _QUEUES,
            "app_queue": _APP_QUEUE,
            "backlog_jobs": Param(int, 1000, "a queue longer than this is backed up"),
            "backlog_age_s": Param(int, 600, "a queue whose next job waited longer than this "
                                             "(seconds) is backed up"),
        },
        codes=("rq.backlog",),
    ),
    CheckKind(
        imports=("redis", "rq.job"),
        name="rq_workers",
        run=run_rq_workers,
        help="Registered RQ workers and whether they live (key, process on this host, "
             "heartbeat); queues with jobs, or the app's queue, that no live worker serves. "
             "data: workers [...], live, dead, unserved_queues, served.",
        params={"app_queue": _APP_QUEUE, "heartbeat_grace_s": _GRACE},
        codes=("rq.dead_workers", "rq.no_workers", "rq.queue_mismatch"),
    ),
    CheckKind(
        imports=("redis", "rq.job"),
        name="rq_registries",
        run=run_rq_registries,
        help="Read-only: started jobs whose worker is dead or whose entry expired (orphans), "
             "and failed jobs by exception type with Redis errors singled out. "
             "data: orphaned [ids], orphaned_jobs, failed {total, classified, by_type, "
             "redis_errors}, queues.",
        params={"queues": _QUEUES, "heartbeat_grace_s": _GRACE, "failed_sample": _SAMPLE},
        codes=("rq.orphaned_jobs", "rq.failed_jobs"),
    ),
    CheckKind(
        imports=("redis", "rq.job"),
        name="rq_requeue",
        run=run_rq_requeue,
        help="Requeue the orphaned jobs and the jobs failed on Redis errors that the last "
             "rq_registries found (or a fresh read). data: requeued [ids], failed_to_requeue.",
        params={
            "job_ids": Param(list, [], "only these job ids; [] = every candidate"),
            "queues": _QUEUES,
            "heartbeat_grace_s": _GRACE,
            "failed_sample": _SAMPLE,
        },
        codes=("rq.failed_jobs",),
        destructive=True,
        preview=preview_rq_requeue,
    ),
)
