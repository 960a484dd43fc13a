"""Signatures against lines the real programs write while the test watches: a redis-server
stopped with SIGTERM and restarted from its RDB, redis-py against a closed port, real rq
workers whose work-horse is killed and whose name is taken."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue

from tests.rqjobs import redis_refused_job, sleep_job
from tests.rqworkers import RqWorker, children, wait_until
from troubleshooter.lab.server import RedisServer, free_port

from .conftest import counts, scan


def test_a_real_redis_server_log_restart(tmp_path: Path, engine: str) -> None:
    server = RedisServer("--save", "3600 1", directory=tmp_path)
    server.start()
    try:
        redis.Redis.from_url(server.url).set("k", "v")
        assert server.proc is not None
        os.kill(server.proc.pid, signal.SIGTERM)  # saves, then exits
        server.proc.wait(timeout=10)
        server.proc = None
        server.start()  # loads the RDB
    finally:
        server.stop()
    found = counts(scan([server.logfile], engine, since=time.time() - 60, now=time.time()))
    assert found["redis_shutdown"] == 2  # "Received SIGTERM...", "User requested shutdown..."
    assert found["db_loaded"] == 1 and found["redis_started"] == 4


def test_redis_py_against_a_closed_port(tmp_path: Path, engine: str) -> None:
    log = tmp_path / "app.log"
    handler = logging.FileHandler(log)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("test_real_lines")
    logger.addHandler(handler)
    try:
        client = redis.Redis(port=free_port(), socket_connect_timeout=1,
                             retry=Retry(NoBackoff(), 0))
        with pytest.raises(redis.ConnectionError):
            try:
                client.ping()
            except redis.ConnectionError:
                logger.exception("could not reach Redis")
                raise
    finally:
        logger.removeHandler(handler)
        handler.close()
    result = scan([log], engine)
    assert counts(result) == {"connection_refused": 1}
    assert "Connection refused." in result.matches[0].samples[0]


@pytest.mark.slow
def test_real_rq_workers(redis_server: RedisServer, tmp_path: Path) -> None:
    conn = redis.Redis.from_url(redis_server.url)
    log = tmp_path / "worker.log"
    queue = Queue("default", connection=conn)
    with RqWorker(redis_server.url, "default", name="w1", log=log) as worker:
        worker.wait_registered(conn)
        queue.enqueue(redis_refused_job, free_port())
        wait_until(lambda: b"exception raised while executing" in log.read_bytes(),
                   what="the job to fail")
        job = queue.enqueue(sleep_job, 30)
        wait_until(lambda: job.get_status() == "started", what="the job to start")

        def horse_killed() -> bool:  # as the OOM killer does; the first child may be a zombie
            for horse in children(worker.pid):
                os.kill(horse, signal.SIGKILL)
            return b"Work-horse terminated" in log.read_bytes()

        wait_until(horse_killed, what="the worker to see its horse killed")
        with RqWorker(redis_server.url, "default", name="w1", log=log) as twin:
            twin.wait_exit()
        os.kill(worker.pid, signal.SIGTERM)
        worker.wait_exit()
    found = counts(scan([log]))
    assert found["job_failed"] == 1 and found["connection_refused"] >= 1
    # One killed horse, two real lines: "job ... failed (Work-horse terminated unexpectedly"
    # and "Work horse killed for job ...".
    assert found["worker_killed"] == 2 and found["worker_name_taken"] >= 1
    assert found["worker_shutdown"] >= 1
