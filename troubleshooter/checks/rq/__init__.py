"""Step 2, RQ: queues, workers, registries and the one repair (requeue of orphaned jobs).

Nothing here imports the `rq` library (its key names are spelled in keys.py: rq costs about
25 ms of start-up), and nothing ever unpickles what a job holds. The kinds are declared here
as data; the functions live in queues / liveness / registries / requeue (shared plumbing in
common, jobdata, workers, judge). The playbook refers to them by these names.
"""

from __future__ import annotations

from troubleshooter.checks.base import REDIS_IMPORTS, CheckKind, Param, lazy
from troubleshooter.checks.rq.keys import DEFAULT_BUSY_GRACE_S, DEFAULT_HEARTBEAT_GRACE_S

_QUEUES = Param(list, [], "queue names to inspect; [] = every queue RQ knows (rq:queues)")
_APP_QUEUE = Param(str, "", "the queue the app enqueues to (e.g. from RQ_QUEUE_NAME); "
                            "'' = unknown")
_GRACE = Param((int, float), DEFAULT_HEARTBEAT_GRACE_S,
               "seconds since a worker's last heartbeat after which it counts as dead "
               "(rq: worker_ttl 420 + 60)")
_BUSY_GRACE = Param((int, float), DEFAULT_BUSY_GRACE_S,
                    "seconds since a busy worker's last heartbeat after which it counts as dead "
                    "(rq: job_monitoring_interval 30 + 60)")
_SAMPLE = Param(int, 20, "how many of the newest failed jobs to classify, over all queues "
                         "(the total is always counted exactly)")
_STARTED_SAMPLE = Param(int, 30, "how many started jobs to judge, over all queues (the ones "
                                 "whose entries expire first; the total is counted exactly)")
_RECENT = Param((int, float), 300, "a Redis up for less than this many seconds restarted "
                                   "recently (for server.data_lost)")

KINDS: tuple[CheckKind, ...] = (
    CheckKind(
        imports=REDIS_IMPORTS,
        name="rq_queues",
        run=lazy("troubleshooter.checks.rq.queues:run_rq_queues"),
        help="Each RQ queue's length and the age of its next job; flags backed-up queues. "
             "data: queues [{name, length, oldest_age_s, oldest_job_id}], queue_total, "
             "app_queue, key_prefix.",
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
        imports=REDIS_IMPORTS,
        name="rq_workers",
        run=lazy("troubleshooter.checks.rq.liveness:run_rq_workers"),
        help="Registered RQ workers and whether they live (process on this host, key, "
             "heartbeat within its own TTL); live workers missing from rq:workers; queues with "
             "jobs, or the app's queue, that no live worker serves; a restart that lost the "
             "data. data: workers [...] (at most 50), registered, live, dead, dead_names, "
             "unregistered, unserved_queues, served.",
        params={"app_queue": _APP_QUEUE, "heartbeat_grace_s": _GRACE,
                "busy_heartbeat_grace_s": _BUSY_GRACE, "recent_restart_s": _RECENT},
        codes=("rq.dead_workers", "rq.no_workers", "rq.queue_mismatch",
               "rq.unregistered_workers", "rq.workers_suspended", "server.data_lost"),
    ),
    CheckKind(
        imports=REDIS_IMPORTS,
        name="rq_registries",
        run=lazy("troubleshooter.checks.rq.registries:run_rq_registries"),
        help="Read-only, O(sample): started jobs nothing can still run (worker dead, no work "
             "horse, execution heartbeat expired), and failed jobs by exception type with Redis "
             "errors singled out. data: queues, queue_total, started {total, sampled}, "
             "orphaned [{job_id, ...}], uncertain {id: why}, horses {id: pid}, failed {total, "
             "sampled, by_type, redis_errors}, partial.",
        params={"queues": _QUEUES, "heartbeat_grace_s": _GRACE,
                "busy_heartbeat_grace_s": _BUSY_GRACE, "failed_sample": _SAMPLE,
                "started_sample": _STARTED_SAMPLE},
        codes=("rq.orphaned_jobs", "rq.failed_jobs", "rq.scheduler_missing"),
    ),
    CheckKind(
        imports=REDIS_IMPORTS,
        name="rq_requeue",
        run=lazy("troubleshooter.checks.rq.requeue:run_rq_requeue"),
        help="Requeue the orphaned jobs and the jobs failed on Redis errors that the last "
             "rq_registries found (or a fresh read), each judged again right before it moves, "
             "in one WATCH/MULTI transaction. data: requeued [ids], failed_to_requeue {id: "
             "why}.",
        params={
            "job_ids": Param(list, [], "only these job ids; [] = every candidate"),
            "queues": _QUEUES,
            "heartbeat_grace_s": _GRACE,
            "busy_heartbeat_grace_s": _BUSY_GRACE,
            "failed_sample": _SAMPLE,
            "started_sample": _STARTED_SAMPLE,
        },
        codes=("rq.failed_jobs",),
        destructive=True,
        preview=lazy("troubleshooter.checks.rq.requeue:preview_rq_requeue"),
    ),
)
