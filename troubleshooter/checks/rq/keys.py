"""RQ's Redis key names, built from its key prefix the way rq 3.0 builds them.

The diagnosis never imports rq (about 25 ms of start-up) just to spell a key: each name here
is the one rq computes when its process runs with `RQ_KEY_PREFIX=<prefix>` (rq >= 3.0; "rq"
before), checked against the installed rq by tests/rq/test_keys.py. rq also brace-escapes the
prefix for its `str.format` templates; formatting here keeps the prefix as is, which is what
that escaping yields.
"""

from __future__ import annotations

from troubleshooter.frozen import frozen

# rq's defaults: an idle worker's key lives worker_ttl (420) + 60 s after each heartbeat; a
# busy one's job_monitoring_interval (30) + 60 s, renewed by its main process every 30 s.
DEFAULT_HEARTBEAT_GRACE_S = 420 + 60
DEFAULT_BUSY_GRACE_S = 30 + 60


@frozen
class RqKeys:
    """The key names under one prefix (`rq_prefix(ctx)`: key_prefix, $RQ_KEY_PREFIX, "rq")."""

    prefix: str = "rq"

    @property
    def queues(self) -> str:
        """The set of every queue's key (Queue.redis_queues_keys)."""
        return f"{self.prefix}:queues"

    @property
    def queue_namespace(self) -> str:
        """What a queue's key starts with (Queue.redis_queue_namespace_prefix)."""
        return f"{self.prefix}:queue:"

    def queue(self, name: str) -> str:
        """A queue's list of job ids (Queue(name).key)."""
        return self.queue_namespace + name

    @property
    def workers(self) -> str:
        """The set of every registered worker's key (Worker.redis_workers_keys)."""
        return f"{self.prefix}:workers"

    def queue_workers(self, queue: str) -> str:
        """The workers registered for one queue (worker_registration.WORKERS_BY_QUEUE_KEY)."""
        return f"{self.prefix}:workers:{queue}"

    @property
    def worker_namespace(self) -> str:
        """What a worker's hash key starts with (Worker.redis_worker_namespace_prefix)."""
        return f"{self.prefix}:worker:"

    def worker_executions(self, worker_name: str) -> str:
        """A worker's set of executions (executions.WORKER_EXECUTIONS_KEY_TEMPLATE)."""
        return f"{self.worker_namespace}{worker_name}:executions"

    def job(self, job_id: str) -> str:
        """A job's hash (Job.key_for)."""
        return f"{self.prefix}:job:{job_id}"

    def result(self, job_id: str) -> str:
        """A job's result stream (Result.get_key)."""
        return f"{self.prefix}:results:{job_id}"

    def started(self, queue: str) -> str:
        """A queue's started-job registry (StartedJobRegistry(queue).key: "wip")."""
        return f"{self.prefix}:wip:{queue}"

    def scheduled(self, queue: str) -> str:
        """A queue's scheduled-job registry (ScheduledJobRegistry(queue).key): score = when."""
        return f"{self.prefix}:scheduled:{queue}"

    def scheduler_lock(self, queue: str) -> str:
        """Held by the scheduler that moves a queue's due jobs (rq.scheduler's locking key)."""
        return f"{self.prefix}:scheduler-lock:{queue}"

    def failed(self, queue: str) -> str:
        """A queue's failed-job registry (FailedJobRegistry(queue).key)."""
        return f"{self.prefix}:failed:{queue}"

    def execution(self, job_id: str, execution_id: str) -> str:
        """rq >= 2's execution hash (Execution.key): its TTL is the execution heartbeat."""
        return f"{self.prefix}:execution:{job_id}:{execution_id}"

    def executions(self, job_id: str) -> str:
        """A job's registry of executions (ExecutionRegistry(job_id).key)."""
        return f"{self.prefix}:executions:{job_id}"
