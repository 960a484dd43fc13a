"""Bounded cost: samples called samples, exact totals, capped and merged findings, partial runs.

The states are written in rq 3's key layout straight into a real redis-server (hundreds of jobs
and workers: building them through workers would take minutes).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from rq.utils import utcformat

from tests.checks.test_rq import run
from troubleshooter.checks.rq import workers as workers_module
from troubleshooter.checks.rq.keys import RqKeys
from troubleshooter.lab.server import RedisServer

pytestmark = pytest.mark.slow


def stamp(seconds_ago: float = 0) -> str:
    return str(utcformat(datetime.fromtimestamp(time.time() - seconds_ago, UTC)))


def job(conn: redis.Redis, job_id: str, queue: str, **fields: Any) -> None:
    conn.hset(f"rq:job:{job_id}", mapping={
        "origin": queue, "description": f"app.tasks.work('{job_id}')",
        "created_at": stamp(60), "enqueued_at": stamp(60), **fields})


def worker(conn: redis.Redis, name: str, queues: str, alive: bool) -> None:
    key = f"rq:worker:{name}"
    conn.sadd("rq:workers", key)
    for queue in queues.split(","):
        conn.sadd(f"rq:workers:{queue}", key)
    if alive:
        conn.hset(key, mapping={"birth": stamp(30), "last_heartbeat": stamp(1), "queues": queues,
                                "hostname": "far-away-host", "pid": 1, "state": "idle"})


def test_many_workerless_queues_make_one_finding_with_capped_evidence(
        server: RedisServer, conn: redis.Redis) -> None:
    for q in range(30):
        job(conn, f"j{q}", f"tenant-{q:03d}", status="queued")
        conn.rpush(f"rq:queue:tenant-{q:03d}", f"j{q}")
        conn.sadd("rq:queues", f"rq:queue:tenant-{q:03d}")
    outcome = run("rq_workers", server.url)
    (found,) = outcome.findings
    assert found.code == "rq.no_workers"
    assert found.message.endswith("30 RQ queues on "
                                  f"{server.host}:{server.port} have no live worker: "
                                  "tenant-000, tenant-001, tenant-002 ... and 27 more")
    assert len(found.evidence) == 11 and found.evidence[-1] == "... and 20 more"
    assert len(outcome.data["unserved_queues"]) == 30


def test_a_sampled_worker_set_still_finds_the_live_worker_of_a_queue(
        server: RedisServer, conn: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(40):
        worker(conn, f"stale-{i:02d}", "other", alive=False)
    worker(conn, "live", "orchestrator", alive=True)
    job(conn, "j1", "orchestrator", status="queued")
    conn.rpush("rq:queue:orchestrator", "j1")
    conn.sadd("rq:queues", "rq:queue:orchestrator")
    monkeypatch.setattr(workers_module, "WORKER_LIMIT", 0)  # rq:workers read as a sample of 0
    outcome = run("rq_workers", server.url)
    assert "rq.no_workers" not in [f.code for f in outcome.findings], outcome
    assert outcome.data["served"] == {"orchestrator": ["live"]}
    assert outcome.data["registered"] == 41
    assert any("a bounded sample" in line for line in outcome.details)


def test_started_and_failed_registries_are_judged_by_sample_with_exact_totals(
        server: RedisServer, conn: redis.Redis) -> None:
    for i in range(100):
        job(conn, f"s{i:03d}", "orchestrator", status="started", worker_name="gone",
            started_at=stamp(600), last_heartbeat=stamp(600))
        conn.zadd("rq:wip:orchestrator", {f"s{i:03d}:e{i}": time.time() - 300})
    conn.sadd("rq:workers", "rq:worker:gone")  # registered, key expired
    for i in range(50):
        job(conn, f"f{i:03d}", "orchestrator", status="failed")
        conn.zadd("rq:failed:orchestrator", {f"f{i:03d}": time.time() + 1000 + i})
    conn.sadd("rq:queues", "rq:queue:orchestrator")
    outcome = run("rq_registries", server.url, started_sample=30, failed_sample=10)
    data = outcome.data
    assert data["started"] == {"total": 100, "sampled": 30}
    assert len(data["orphaned"]) == 30
    assert data["failed"]["total"] == 50 and data["failed"]["sampled"] == 10
    orphaned, failed = outcome.findings
    assert "(judged a sample of 30 of 100 started jobs)" in orphaned.message
    assert len(orphaned.evidence) == 11 and orphaned.evidence[-1] == "... and 20 more"
    assert "50 failed RQ job(s)" in failed.message and "of the newest 10 read" in failed.message
    shown = json.dumps(data)
    assert shown.count('"s000"') <= 1  # each id once in the data


def test_a_spent_budget_is_partial_and_never_a_pass(server: RedisServer,
                                                    conn: redis.Redis) -> None:
    job(conn, "f1", "orchestrator", status="failed")
    conn.zadd("rq:failed:orchestrator", {"f1": time.time() + 1000})
    conn.sadd("rq:queues", "rq:queue:orchestrator")
    outcome = run("rq_registries", server.url, timeout=0.0001)
    assert outcome.status == "timeout", (outcome.summary, outcome.findings)
    assert outcome.data["partial"].startswith("the 0.0001 s budget ran out while")


def test_a_budget_spent_on_the_failures_keeps_the_orphans_found(
        server: RedisServer, conn: redis.Redis) -> None:
    from troubleshooter.checks.base import CheckContext
    from troubleshooter.checks.rq import KINDS, registries
    from troubleshooter.checks.rq.common import BudgetSpent, Session
    from troubleshooter.target import parse_target

    for i in range(5):
        job(conn, f"s{i}", "orchestrator", status="started", worker_name="gone",
            started_at=stamp(600), last_heartbeat=stamp(600))
        conn.zadd("rq:wip:orchestrator", {f"s{i}:e{i}": time.time() - 300})
        job(conn, f"f{i}", "orchestrator", status="failed")
        conn.zadd("rq:failed:orchestrator", {f"f{i}": time.time() + 1000})
    conn.sadd("rq:workers", "rq:worker:gone")
    conn.sadd("rq:queues", "rq:queue:orchestrator")

    class RunsOut(Session):
        """The budget runs out exactly when the failures are read (a real timeout cannot be
        placed that precisely)."""

        def spend(self, doing: str) -> None:
            if doing.startswith("reading the failed"):
                raise BudgetSpent(doing)

    kind = next(k for k in KINDS if k.name == "rq_registries")
    params = {name: p.default for name, p in kind.params.items()}
    ctx = CheckContext(parse_target(server.url), params, 2.0, clock=time.time)
    report = registries.inspect_registries(
        RunsOut(conn, time.monotonic() + 2, time.time(), RqKeys("rq")), ctx)
    assert [o.job_id for o in report.orphans] == [f"s{i}" for i in range(5)]
    assert report.failed_total == 5 and report.failed == []
    assert report.partial == "the 2 s budget ran out while reading the failed job ids"


def test_queue_heads_are_read_for_the_longest_queues_only(server: RedisServer,
                                                          conn: redis.Redis) -> None:
    for q in range(30):
        for n in range(q + 1):  # tenant-029 is the longest
            job(conn, f"j{q}-{n}", f"tenant-{q:03d}", status="queued")
            conn.rpush(f"rq:queue:tenant-{q:03d}", f"j{q}-{n}")
        conn.sadd("rq:queues", f"rq:queue:tenant-{q:03d}")
    conn.config_resetstat()
    outcome = run("rq_queues", server.url, app_queue="tenant-000")
    calls = {k: int(v["calls"]) for k, v in conn.info("commandstats").items()}
    aged = sorted(r["name"] for r in outcome.data["queues"] if r["oldest_age_s"] is not None)
    assert aged == ["tenant-000", *(f"tenant-{q:03d}" for q in range(10, 30))]
    assert calls["cmdstat_lindex"] == 21 and calls["cmdstat_hmget"] == 21
    assert {r["length"] for r in outcome.data["queues"]} == set(range(1, 31))
