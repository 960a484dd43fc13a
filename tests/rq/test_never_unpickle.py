"""Nothing the triage or the requeue reads from Redis is ever unpickled.

Pickles whose unpickling creates a file are planted in every field rq ever unpickles - a job
hash's `data` (zlib), `meta` and `result`, a result stream's `return_value` - of queued,
started, failed and finished jobs made by a real `rq worker`. The installed command runs the
whole triage and then the requeue (--yes); no file may appear, and the findings must still be
right (the tool read what it needed without the payloads).
"""

from __future__ import annotations

import base64
import pickle
import zlib
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import Queue
from rq.job import Job
from rq.results import Result

from tests.rq.rqkit import APP, check, codes, start_busy, triage
from tests.rqworkers import RqWorker
from troubleshooter.lab.server import RedisServer, free_port

pytestmark = pytest.mark.slow


class Planted:
    """Unpickling it calls open(path, "w"): the file's existence proves code ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.path), "w"))


def plant(conn: redis.Redis, job_id: str, markers: Path) -> list[Path]:
    """A pickle in every field rq unpickles of this job; returns the files they would create."""
    paths = {name: markers / f"{job_id}-{name}" for name in
             ("data", "meta", "result", "return_value")}
    payload = {name: pickle.dumps(Planted(path)) for name, path in paths.items()}
    conn.hset(Job.key_for(job_id), mapping={
        "data": zlib.compress(payload["data"]), "meta": payload["meta"],
        "result": payload["result"]})
    stream = Result.get_key(job_id)  # type: ignore[no-untyped-call]
    latest = conn.xrevrange(stream, count=1)
    fields = latest[0][1] if latest else {}
    kept = {k: v for k, v in fields.items() if k in (b"exc_string", b"type")}
    conn.xadd(stream, {  # the newest entry: the one latest_result() would restore
        "type": "1", "created_at": "2026-01-01T00:00:00.000000Z", **kept,
        "return_value": base64.b64encode(payload["return_value"]).decode()})
    return list(paths.values())


def test_triage_and_requeue_never_unpickle(tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    log = tmp_path / "worker.log"
    with RedisServer() as server:
        url, conn = server.url, redis.Redis(host=server.host, port=server.port)
        queue = Queue(APP, connection=conn)
        finished = queue.enqueue("tests.rqjobs.noop_job")
        failed = queue.enqueue("tests.rqjobs.redis_refused_job", free_port())
        assert RqWorker(url, APP, name="burst", burst=True, log=log).start().wait_exit() == 0
        worker, started = start_busy(conn, url, "doomed", log)
        worker.kill()
        queued = queue.enqueue("tests.rqjobs.noop_job")
        planted = [p for job in (finished, failed, started, queued)
                   for p in plant(conn, job.id, markers)]

        code, doc = triage(url, tmp_path)
        assert code == 1
        found = codes(doc)
        assert {"rq.orphaned_jobs", "rq.failed_jobs", "rq.no_workers"} <= set(found), found
        registries = check(doc, "registries")
        assert registries is not None
        assert [o["job_id"] for o in registries["data"]["orphaned"]] == [started.id]
        assert registries["data"]["failed"]["redis_errors"] == [failed.id]

        code, doc = triage(url, tmp_path, "--yes")
        requeue = check(doc, "requeue")
        assert requeue is not None, [s["id"] for s in doc["steps"]]
        assert sorted(requeue["data"]["requeued"]) == sorted([started.id, failed.id])
        assert queue.get_job_ids() == [queued.id, started.id, failed.id]
    assert [p for p in planted if p.exists()] == []
    assert list(markers.iterdir()) == []
