"""Job functions the real `rq worker` subprocesses of the tests import (as `tests.rqjobs.*`)."""

from __future__ import annotations

import time


def sleep_job(seconds: float) -> float:
    """Busy a worker: the job a SIGKILL interrupts to leave an orphan in the started registry."""
    time.sleep(seconds)
    return seconds


def noop_job() -> None:
    """Finish at once."""


def fail_job() -> None:
    """Fail with an application error (not a Redis one)."""
    raise ValueError("boom: the application's own bug")


def redis_refused_job(port: int) -> None:
    """Fail the way a job does when its Redis goes away: redis-py's ConnectionError (refused)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1,
                         retry=Retry(NoBackoff(), 0))
    client.ping()


def record_run(path: str, seconds: float) -> None:
    """Append one line per run to `path`, then work for `seconds`: counts how often it ran."""
    with open(path, "a", encoding="utf-8") as runs:
        runs.write("ran\n")
    time.sleep(seconds)
