"""The whole automated triage is read-only: on an RQ setup mid-outage (queued jobs, a failed
job, a worker SIGKILLed mid-job) the shipped playbook changes no key and runs no write command.
Without --write-probe and without --yes, nothing it sends may change the user's Redis."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from rq import Queue

from tests.rqjobs import fail_job, sleep_job
from tests.rqworkers import RqWorker, wait_until
from troubleshooter.cli import main
from troubleshooter.lab.server import RedisServer

# Everything the checks may run: reads, connection state, ACL and transaction probes.
READS = {
    "hello", "auth", "select", "ping", "info", "config|get", "client|setname", "client|setinfo",
    "client|list", "acl|getuser", "acl|dryrun", "multi", "discard", "exec", "memory|doctor",
    "cluster|info", "smembers", "scard", "llen", "lrange", "lindex", "hgetall", "hget", "hmget",
    "exists", "ttl", "pttl", "type", "zrange", "zrangebyscore", "zcard", "zrevrange", "zscore",
    "xrevrange", "xrange", "get", "mget", "time", "dbsize", "watch", "unwatch",
    "sort_ro", "srandmember", "scan", "smismember",  # rq_workers: every worker in one read
    "sscan", "sismember",  # the RQ checks' bounded listing of rq:queues
    "zcount",  # rq_registries: scheduled jobs past due
}


def snapshot(client: redis.Redis) -> dict[bytes, bytes | None]:
    return {key: client.dump(key) for key in client.scan_iter(count=1000)}


def calls(client: redis.Redis) -> dict[str, int]:
    return {name.removeprefix("cmdstat_"): int(s["calls"])
            for name, s in client.info("commandstats").items()}


@pytest.fixture
def outage() -> Iterator[RedisServer]:
    """Jobs queued on the app's queue, a failed job, and an orphaned in-flight job."""
    with RedisServer() as server:
        client = redis.Redis(host=server.host, port=server.port)
        Queue("orchestrator", connection=client).enqueue(sleep_job, 1)
        work = Queue("work", connection=client)
        work.enqueue(fail_job)
        RqWorker(server.url, "work", name="burster", burst=True).start().proc.wait(30)  # type: ignore[union-attr]
        busy = work.enqueue(sleep_job, 30)
        worker = RqWorker(server.url, "work", name="doomed").start()
        try:
            wait_until(lambda: busy.get_status(refresh=True) == "started", 15, "a started job")
        finally:
            worker.kill()
        yield server


def test_the_triage_of_an_rq_outage_changes_nothing(
    outage: RedisServer, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    client = redis.Redis(host=outage.host, port=outage.port)
    keys_before, calls_before = snapshot(client), calls(client)
    code = main(["run", "--url", outage.url, "--queue", "orchestrator", "--non-interactive",
                 "--json", "--timeout", "2", "--save", str(tmp_path / "s.json")])
    calls_after = calls(client)
    doc = json.loads(capsys.readouterr().out)
    # It did look: the outage was found...
    codes = {f["code"] for f in doc["findings"]}
    assert {"rq.no_workers", "rq.orphaned_jobs", "rq.failed_jobs"} <= codes, codes
    assert code == 1
    # ...and it touched nothing: the requeue is destructive and was not confirmed.
    ran = {name for name, n in calls_after.items() if n > calls_before.get(name, 0)}
    ran -= {"info", "scan", "dump"}  # this test's own reads
    assert ran <= READS, ran - READS
    assert snapshot(client) == keys_before
