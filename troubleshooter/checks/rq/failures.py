"""Failed jobs by exception type, with the ones an outage caused (Redis errors) singled out.

A bounded sample of the newest failures is read, spread over the queues with the most: one
ZREVRANGE per queue sampled and one result-stream read per job, each batch one round trip.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from troubleshooter.checks.rq.common import Session
from troubleshooter.checks.rq.jobdata import read_failure_texts
from troubleshooter.checks.server.link import text
from troubleshooter.frozen import frozen
from troubleshooter.lazyre import lazy_compile
from troubleshooter.target import redact_url

# Failures an outage causes (the job itself is fine): worth requeueing once Redis is back.
REDIS_ERROR_TYPES = frozenset({
    "ConnectionError", "TimeoutError", "BusyLoadingError", "ReadOnlyError", "OutOfMemoryError",
    "MaxConnectionsError", "MasterDownError", "MasterNotFoundError", "AuthenticationError",
    "ClusterDownError", "TryAgainError",
})
# redis-py's wording, for exceptions an app re-raised under its own type.
REDIS_ERROR_TEXT = lazy_compile(
    r"Error -?\d+ (connecting to|while (reading|writing))|Connection closed by server"
    r"|Timeout (reading from|writing to|connecting to)|MISCONF |LOADING Redis is loading"
    r"|READONLY You can't write|OOM command not allowed|MASTERDOWN "
)
ABANDONED = "AbandonedJobError"  # rq's cleanup: the worker died (often in the outage)


@frozen
class FailedJob:
    """One classified entry of a failed registry."""

    job_id: str
    queue: str
    exc_type: str
    redis_error: bool
    last_line: str


def classify_failed(session: Session, counts: Mapping[str, int], sample: int) -> list[FailedJob]:
    """The newest failures, at most `sample` in all, over the queues with the most failures."""
    # At most sample // 2 queues, two jobs or more each: one ZREVRANGE per queue sampled.
    queues = sorted((q for q, n in counts.items() if n),
                    key=lambda q: -counts[q])[:max(sample // 2, 1)]
    if not queues or sample <= 0:
        return []
    per_queue = max(1, sample // len(queues))
    session.spend("reading the failed job ids")
    pipe = session.pipeline()
    for name in queues:
        # Newest first: the score is the failure time plus the failure TTL.
        pipe.zrevrange(session.keys.failed(name), 0, per_queue - 1)
    pairs = [(text(i), q) for q, ids in zip(queues, pipe.execute(), strict=True) for i in ids]
    texts = read_failure_texts(session, [job_id for job_id, _ in pairs])
    return [failed_job(job_id, queue, texts.get(job_id, "")) for job_id, queue in pairs]


def failed_job(job_id: str, queue: str, exc: str) -> FailedJob:
    exc_text = redact_url(exc)
    exc_type = exception_type(exc_text)
    last = next((line.strip() for line in reversed(exc_text.splitlines()) if line.strip()), "")
    return FailedJob(job_id, queue, exc_type, is_redis_error(exc_type, last), last[:200])


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
