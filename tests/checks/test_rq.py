"""The RQ checks against a real redis-server and real `rq worker` processes (killed by PID)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
import redis
from rq import Queue, Worker
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry

from troubleshooter.checks.base import CheckContext, Outcome
from troubleshooter.checks.rq import KINDS
from troubleshooter.checks.rq.horse import HORSE_START_S
from troubleshooter.lab.server import RedisServer, free_port
from troubleshooter.target import parse_target

try:  # `tests` is a package when the suite runs from the repository root with tests/__init__
    from tests.rqworkers import RqWorker, wait_until
except ImportError:  # rootdir-less run: pytest put tests/ itself on sys.path
    from rqworkers import RqWorker, wait_until  # type: ignore[no-redef]

pytestmark = pytest.mark.slow

PASSWORD = "rq-s3cret-Pa55"
APP = "orchestrator"
CHECKS = {kind.name: kind for kind in KINDS}
# What the read-only checks may send: handshake, reads, and rq's MULTI/EXEC around HGETALLs.
READ_ONLY = {"hello", "client|setname", "smembers", "llen", "lindex", "zrange", "zcard",
             "zrevrange", "hmget", "hget", "xrevrange", "sort_ro", "scard", "srandmember",
             "exists", "scan", "smismember", "config|get", "sscan", "sismember", "zcount"}


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer("--requirepass", PASSWORD) as srv:
        yield srv


@pytest.fixture
def url(server: RedisServer) -> str:
    return f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0"


@pytest.fixture
def conn(url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def worker_log(tmp_path: Any) -> Any:
    return tmp_path / "worker.log"


def run(name: str, url: str, *, timeout: float = 2.0, earlier: Mapping[str, Outcome] | None = None,
        clock: Callable[[], float] = time.time, environ: Mapping[str, str] | None = None,
        **params: Any) -> Outcome:
    """Run one RQ kind the way the engine does: defaults filled in, then the overrides."""
    kind = CHECKS[name]
    filled = {key: param.default for key, param in kind.params.items()} | params
    ctx = CheckContext(target=parse_target(url), params=filled, timeout=timeout,
                       earlier=earlier or {}, wall_clock=clock, environ=environ or {})
    outcome = kind.run(ctx)
    shown = json.dumps(dataclasses.asdict(outcome))  # also proves it is JSON-serialisable
    assert PASSWORD not in shown
    return outcome


def codes(outcome: Outcome) -> list[tuple[str, str]]:
    return [(f.code, f.severity) for f in outcome.findings]


def calls(conn: redis.Redis) -> dict[str, int]:
    stats = conn.info("commandstats")
    return {key.removeprefix("cmdstat_"): int(value["calls"]) for key, value in stats.items()
            if key not in ("cmdstat_config|resetstat", "cmdstat_info")}


def job_status(conn: redis.Redis, job_id: str) -> JobStatus:
    return Job.fetch(job_id, connection=conn).get_status(refresh=True)


def kill_mid_job(conn: redis.Redis, url: str, name: str, log: Any) -> Job:
    """A worker busy on sleep_job(30), SIGKILLed with its work horse: the outage's victim."""
    job = Queue(APP, connection=conn).enqueue("tests.rqjobs.sleep_job", 30)
    worker = RqWorker(url, APP, name=name, log=log).start()
    try:
        wait_until(lambda: job_status(conn, job.id) == JobStatus.STARTED, what="job to start")
    finally:
        worker.kill()
    return job


def test_scheduled_jobs_past_due_without_a_scheduler(conn: redis.Redis, url: str,
                                                     worker_log: Any) -> None:
    from datetime import UTC, datetime, timedelta

    queue = Queue(APP, connection=conn)
    due = datetime.now(UTC) - timedelta(seconds=120)
    jobs = [queue.enqueue_at(due - timedelta(seconds=i), "tests.rqjobs.noop_job")
            for i in range(3)]
    outcome = run("rq_registries", url)
    assert codes(outcome) == [("rq.scheduler_missing", "error")]
    f = outcome.findings[0]
    assert f.message.startswith("3 scheduled RQ job(s) on 127.0.0.1:")
    assert f"no RQ scheduler runs for {APP}" in f.message
    assert f.evidence[0].startswith(f"{APP}: 3 job(s) overdue, the oldest by 12")
    assert outcome.data["overdue_unscheduled"][APP]["jobs"] == 3
    # A worker with the scheduler enqueues (and runs) them: nothing overdue any more.
    with RqWorker(url, "--with-scheduler", APP, name="w-sched", log=worker_log):
        for job in jobs:
            wait_until(lambda j=job: job_status(conn, j.id) == JobStatus.FINISHED,
                       what="the scheduler to move it")
    assert run("rq_registries", url).findings == ()


def test_suspended_workers_take_no_job(conn: redis.Redis, url: str, worker_log: Any) -> None:
    from rq.suspension import resume, suspend

    try:
        with RqWorker(url, APP, name="w-suspended", log=worker_log) as worker:
            worker.wait_registered(conn)
            suspend(conn)  # `rq suspend` (a suspended rq refuses to start a worker)
            # Idle in its blocking dequeue, it sees the suspension after its next job.
            Queue(APP, connection=conn).enqueue("tests.rqjobs.noop_job")
            wait_until(lambda: conn.hget(f"{Worker.redis_worker_namespace_prefix}w-suspended",
                                         "state") == b"suspended", what="the worker to pause")
            outcome = run("rq_workers", url, app_queue=APP)
    finally:
        resume(conn)
    assert codes(outcome) == [("rq.workers_suspended", "error")]
    f = outcome.findings[0]
    assert f.message.startswith("all 1 of 1 live RQ worker(s) on 127.0.0.1:")
    assert f.message.endswith("are suspended (`rq suspend`): they take no job until `rq resume`")
    assert f.evidence == (f"w-suspended: state suspended, queues {APP}",)
    assert "rq resume" in f.remedy


def test_live_worker_and_drained_queues_pass_with_few_commands(
        conn: redis.Redis, url: str, worker_log: Any) -> None:
    with RqWorker(url, APP, f"{APP}-low", name="w-healthy", log=worker_log) as worker:
        worker.wait_registered(conn)
        jobs = [Queue(q, connection=conn).enqueue("tests.rqjobs.noop_job") for q in
                (APP, f"{APP}-low")]
        for job in jobs:
            wait_until(lambda j=job: job_status(conn, j.id) == JobStatus.FINISHED)
        wait_until(lambda: conn.hget(f"{Worker.redis_worker_namespace_prefix}w-healthy",
                                     "state") == b"idle")
        time.sleep(0.1)  # let the worker settle into its blocking dequeue
        counts = {}
        for name in ("rq_queues", "rq_workers", "rq_registries"):
            conn.config_resetstat()
            outcome = run(name, url, app_queue=APP)
            counts[name] = calls(conn)
            assert outcome.status == "pass", outcome
            assert outcome.findings == ()
    per_check = {name: sum(c.values()) for name, c in counts.items()}
    print(f"commands per RQ check (2 queues, 1 worker): {per_check} "
          f"total {sum(per_check.values())}; {counts}")
    assert all(set(c) <= READ_ONLY for c in counts.values()), counts
    assert sum(per_check.values()) <= 20


def test_queue_data_lists_every_queue_and_the_app_queue(conn: redis.Redis, url: str) -> None:
    Queue("reports", connection=conn).enqueue("tests.rqjobs.noop_job")
    outcome = run("rq_queues", url, app_queue=APP)
    assert outcome.status == "pass"
    rows = {row["name"]: row for row in outcome.data["queues"]}
    assert rows["reports"]["length"] == 1 and rows["reports"]["oldest_age_s"] is not None
    assert rows[APP] == {"name": APP, "length": 0, "oldest_age_s": None, "oldest_job_id": None}
    assert outcome.data["app_queue"] == {"name": APP, "known": False}


def test_jobs_without_any_worker_is_no_workers(conn: redis.Redis, url: str) -> None:
    for _ in range(3):
        Queue(APP, connection=conn).enqueue("tests.rqjobs.noop_job")
    outcome = run("rq_workers", url)
    assert outcome.status == "fail"
    assert codes(outcome) == [("rq.no_workers", "error")]
    assert "3 job(s) waiting" in outcome.summary
    assert outcome.data["unserved_queues"] == [APP] and outcome.data["live"] == 0


def test_app_queue_served_by_nobody_while_staging_is_queue_mismatch(
        conn: redis.Redis, url: str, worker_log: Any) -> None:
    with RqWorker(url, f"{APP}-staging", name="w-staging", log=worker_log) as worker:
        worker.wait_registered(conn)
        outcome = run("rq_workers", url, app_queue=APP)
    assert outcome.status == "fail"
    assert codes(outcome) == [("rq.queue_mismatch", "error")]
    assert f"{APP}-staging" in outcome.summary
    assert outcome.data["served"] == {f"{APP}-staging": ["w-staging"]}


def test_a_dead_worker_s_pid_taken_by_a_newer_process_is_still_dead(
        conn: redis.Redis, url: str, worker_log: Any) -> None:
    job = kill_mid_job(conn, url, "w-reused", worker_log)
    key = f"{Worker.redis_worker_namespace_prefix}w-reused"
    time.sleep(HORSE_START_S + 0.5)  # it starts well after the job did: not its horse either
    newer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        conn.hset(key, "pid", str(newer.pid))  # the pid, reused by a process born after it
        workers = run("rq_workers", url)
        registries = run("rq_registries", url)
        # A process older than the worker's birth may be the worker: alive, as before.
        conn.hset(key, "pid", str(os.getppid()))
        older = run("rq_workers", url)
    finally:
        newer.kill()
        newer.wait()
    (dead,) = workers.data["workers"]
    assert dead["dead_signal"] == "pid_gone", dead
    assert [o["job_id"] for o in registries.data["orphaned"]] == [job.id]
    assert older.data["workers"][0]["alive"] is True


def test_sigkilled_worker_is_dead_and_its_job_orphaned_read_only(
        conn: redis.Redis, url: str, worker_log: Any) -> None:
    job = kill_mid_job(conn, url, "w-killed", worker_log)
    conn.config_resetstat()
    workers = run("rq_workers", url)
    registries = run("rq_registries", url)
    assert set(calls(conn)) <= READ_ONLY, calls(conn)

    assert workers.status == "warn"
    assert codes(workers) == [("rq.dead_workers", "warning")]
    (dead,) = workers.data["workers"]
    assert dead["name"] == "w-killed" and dead["dead_signal"] == "pid_gone"
    assert not dead["alive"] and "no longer exists on this host" in workers.findings[0].evidence[0]

    assert registries.status == "fail"
    assert codes(registries) == [("rq.orphaned_jobs", "error")]
    (orphan,) = registries.data["orphaned"]
    assert orphan["job_id"] == job.id
    assert orphan["func_name"] == "tests.rqjobs.sleep_job"
    assert orphan["worker_name"] == "w-killed" and orphan["signal"] == "pid_gone"
    assert job.id in registries.findings[0].evidence[0]
    # Nothing was cleaned up or moved: the evidence is still there for the next look.
    assert job_status(conn, job.id) == JobStatus.STARTED
    assert StartedJobRegistry(APP, connection=conn).get_job_ids(cleanup=False) == [job.id]


def elsewhere(conn: redis.Redis, name: str) -> None:
    """Make a worker look as if it ran on another host (rq writes hostname only at birth)."""
    conn.hset(f"{Worker.redis_worker_namespace_prefix}{name}", "hostname", "far-away-host")


def test_started_entry_past_its_expiry_on_another_host_waits_for_the_execution_heartbeat(
        conn: redis.Redis, url: str, worker_log: Any) -> None:
    # A worker elsewhere that stopped heartbeating (hung, or cut off from Redis) for longer than
    # its job's TTL. The operator's clock is 1000 s on; the execution key's own TTL decides.
    job = Queue(APP, connection=conn).enqueue("tests.rqjobs.sleep_job", 30)
    later = lambda: time.time() + 1000  # noqa: E731
    with RqWorker(url, APP, name="w-hung", log=worker_log):
        wait_until(lambda: job_status(conn, job.id) == JobStatus.STARTED, what="job to start")
        elsewhere(conn, "w-hung")
        fresh = run("rq_registries", url, clock=later)
        for key in conn.scan_iter(f"rq:execution:{job.id}:*"):
            conn.pexpire(key, 1)  # fast-forward the execution heartbeat's expiry
        wait_until(lambda: not list(conn.scan_iter(f"rq:execution:{job.id}:*")))
        outcome = run("rq_registries", url, clock=later)
    assert fresh.status == "pass" and fresh.data["orphaned"] == []
    assert "execution heartbeat has not expired" in fresh.data["uncertain"][job.id]
    assert "far-away-host" in fresh.data["uncertain"][job.id]
    assert codes(outcome) == [("rq.orphaned_jobs", "error")]
    assert outcome.data["orphaned"][0]["signal"] == "entry_expired"
    assert "entry expired" in outcome.findings[0].evidence[0]


def test_a_live_local_worker_past_every_ttl_is_alive_and_its_job_not_orphaned(
        conn: redis.Redis, url: str, worker_log: Any) -> None:
    job = Queue(APP, connection=conn).enqueue("tests.rqjobs.sleep_job", 30)
    later = lambda: time.time() + 1000  # noqa: E731
    with RqWorker(url, APP, name="w-slow", log=worker_log):
        wait_until(lambda: job_status(conn, job.id) == JobStatus.STARTED, what="job to start")
        workers = run("rq_workers", url, clock=later)
        registries = run("rq_registries", url, clock=later)
    assert workers.status == "pass" and workers.data["live"] == 1
    assert registries.data["orphaned"] == []
    assert "is alive on this host" in registries.data["uncertain"][job.id]


def test_job_of_a_worker_restarted_under_the_same_name_is_orphaned(
        conn: redis.Redis, url: str, worker_log: Any) -> None:
    job = kill_mid_job(conn, url, "w-fixed", worker_log)
    # rq refuses a second live "w-fixed" until the old key expires: fast-forward that TTL.
    conn.pexpire(f"{Worker.redis_worker_namespace_prefix}w-fixed", 1)
    wait_until(lambda: not conn.exists(f"{Worker.redis_worker_namespace_prefix}w-fixed"))
    with RqWorker(url, f"{APP}-other", name="w-fixed", log=worker_log) as again:
        again.wait_registered(conn)
        outcome = run("rq_registries", url)
    assert codes(outcome) == [("rq.orphaned_jobs", "error")]
    assert [o["job_id"] for o in outcome.data["orphaned"]] == [job.id]
    assert outcome.data["orphaned"][0]["signal"] == "worker_restarted"


def test_worker_whose_key_expired_is_key_gone_and_stays_registered(
        conn: redis.Redis, url: str, worker_log: Any) -> None:
    worker = RqWorker(url, APP, name="w-expired", log=worker_log).start()
    try:
        worker.wait_registered(conn)
    finally:
        worker.kill()
    # Fast-forward the key's TTL (up to 480 s for an idle worker) through Redis's own expiry.
    conn.pexpire(f"{Worker.redis_worker_namespace_prefix}w-expired", 1)
    wait_until(lambda: not conn.exists(f"{Worker.redis_worker_namespace_prefix}w-expired"))
    outcome = run("rq_workers", url)
    assert codes(outcome) == [("rq.dead_workers", "warning")]
    assert outcome.data["workers"][0]["dead_signal"] == "key_gone"
    assert Worker.all_keys(connection=conn) == [f"{Worker.redis_worker_namespace_prefix}w-expired"]


def test_stale_heartbeat_elsewhere_counts_as_dead_beyond_the_grace(
        conn: redis.Redis, url: str, worker_log: Any) -> None:
    later = lambda: time.time() + 1000  # noqa: E731 - the operator's clock, 1000 s on
    with RqWorker(url, APP, name="w-quiet", log=worker_log) as worker:
        worker.wait_registered(conn)
        elsewhere(conn, "w-quiet")
        stale = run("rq_workers", url, clock=later)
        lenient = run("rq_workers", url, clock=later, heartbeat_grace_s=2000)
    assert codes(stale) == [("rq.dead_workers", "warning")]
    assert stale.data["workers"][0]["dead_signal"] == "heartbeat_stale"
    assert lenient.status == "pass" and lenient.data["live"] == 1


def test_failed_jobs_are_grouped_and_redis_errors_singled_out(
        conn: redis.Redis, url: str, worker_log: Any) -> None:
    queue = Queue(APP, connection=conn)
    bug = queue.enqueue("tests.rqjobs.fail_job")
    outage = queue.enqueue("tests.rqjobs.redis_refused_job", free_port())
    assert RqWorker(url, APP, name="w-burst", burst=True, log=worker_log).start().wait_exit() == 0
    outcome = run("rq_registries", url)
    assert outcome.status == "warn"
    assert codes(outcome) == [("rq.failed_jobs", "warning")]
    failed = outcome.data["failed"]
    assert failed["total"] == 2 and failed["sampled"] == 2
    assert failed["by_type"] == {"ValueError": 1, "redis.exceptions.ConnectionError": 1}
    assert failed["redis_errors"] == [outage.id]
    assert "of all 2, 1 failed on Redis errors" in outcome.summary
    assert any("Connection refused" in line for line in outcome.findings[0].evidence)
    assert bug.id in FailedJobRegistry(APP, connection=conn).get_job_ids(cleanup=False)


def test_long_or_old_queue_is_backlog(conn: redis.Redis, url: str) -> None:
    for _ in range(10):
        Queue(APP, connection=conn).enqueue("tests.rqjobs.noop_job")
    long = run("rq_queues", url, backlog_jobs=5)
    assert long.status == "warn"
    assert codes(long) == [("rq.backlog", "warning")]
    assert long.data["queues"][0]["length"] == 10
    old = run("rq_queues", url, clock=lambda: time.time() + 3600)
    assert codes(old) == [("rq.backlog", "warning")]
    assert old.data["queues"][0]["oldest_age_s"] >= 3600
    assert run("rq_queues", url).status == "pass"


def test_requeue_puts_back_exactly_the_orphaned_and_redis_failed_jobs(
        conn: redis.Redis, url: str, worker_log: Any) -> None:
    queue = Queue(APP, connection=conn)
    bug = queue.enqueue("tests.rqjobs.fail_job")
    outage = queue.enqueue("tests.rqjobs.redis_refused_job", free_port())
    RqWorker(url, APP, name="w-burst2", burst=True, log=worker_log).start().wait_exit()
    orphan = kill_mid_job(conn, url, "w-killed2", worker_log)
    earlier = {"registries": run("rq_registries", url)}
    assert [o["job_id"] for o in earlier["registries"].data["orphaned"]] == [orphan.id]

    first = run("rq_requeue", url, earlier=earlier, job_ids=[outage.id])
    second = run("rq_requeue", url, earlier=earlier)

    assert (first.status, first.data["requeued"]) == ("pass", [outage.id])
    # The second run finds the outage job already requeued: only the orphan moves.
    assert second.data["requeued"] == [orphan.id]
    assert second.status == "warn"
    assert codes(second) == [("rq.failed_jobs", "warning")]
    assert "not in the failed registry" in second.data["failed_to_requeue"][outage.id]
    assert any(orphan.id in line for line in second.details)
    assert queue.get_job_ids() == [outage.id, orphan.id]
    assert job_status(conn, orphan.id) == JobStatus.QUEUED
    assert StartedJobRegistry(APP, connection=conn).get_job_ids(cleanup=False) == []
    assert FailedJobRegistry(APP, connection=conn).get_job_ids(cleanup=False) == [bug.id]
    after = run("rq_registries", url)
    assert after.data["orphaned"] == [] and after.data["failed"]["redis_errors"] == []


def test_requeue_without_earlier_data_reads_the_registries_itself(
        conn: redis.Redis, url: str, worker_log: Any) -> None:
    orphan = kill_mid_job(conn, url, "w-killed3", worker_log)
    outcome = run("rq_requeue", url)
    assert (outcome.status, outcome.data["requeued"]) == ("pass", [orphan.id])
    assert "fresh read" in outcome.details[0]
    assert Queue(APP, connection=conn).get_job_ids() == [orphan.id]


def test_requeue_reports_what_it_could_not_do_when_writes_stall(
        conn: redis.Redis, url: str, worker_log: Any) -> None:
    queue = Queue(APP, connection=conn)
    outages = [queue.enqueue("tests.rqjobs.redis_refused_job", free_port()) for _ in range(2)]
    RqWorker(url, APP, name="w-burst3", burst=True, log=worker_log).start().wait_exit()
    conn.execute_command("CLIENT", "PAUSE", 3000, "WRITE")  # reads answer, writes hang
    try:
        start = time.monotonic()
        outcome = run("rq_requeue", url, timeout=0.5)
        elapsed = time.monotonic() - start
    finally:
        conn.execute_command("CLIENT", "UNPAUSE")
    assert elapsed < 0.5 + 0.3
    # Cut short: not finished, so never a pass or a warning that would exit 0.
    assert outcome.status == "timeout" and outcome.data["requeued"] == []
    assert codes(outcome) == [("rq.failed_jobs", "warning")]
    refused = outcome.data["failed_to_requeue"]
    assert sorted(refused) == sorted(job.id for job in outages)
    assert sorted(why.split(":")[0] for why in refused.values()) == ["interrupted",
                                                                    "not attempted"]
    assert all(": TimeoutError: Timeout reading" in why for why in refused.values())


def test_requeue_with_nothing_to_do_passes(conn: redis.Redis, url: str) -> None:
    outcome = run("rq_requeue", url)
    assert (outcome.status, outcome.data["requeued"]) == ("pass", [])
    assert "nothing to requeue" in outcome.summary


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_paused_server_ends_within_the_timeout(server: RedisServer, url: str, name: str) -> None:
    server.pause()
    try:
        start = time.monotonic()
        outcome = run(name, url, timeout=0.5)
        elapsed = time.monotonic() - start
    finally:
        server.resume()
    assert elapsed < 0.5 + 0.3
    assert outcome.status == "error" or "server.unresponsive" in [c for c, _ in codes(outcome)]
    assert "Timeout" in outcome.summary or outcome.findings


def test_the_requeue_preview_lists_the_job_ids_before_anything_changes() -> None:
    from troubleshooter.checks.base import CheckContext, Outcome
    from troubleshooter.checks.rq.requeue import preview_rq_requeue
    from troubleshooter.target import parse_target

    registries = Outcome("fail", "", data={"orphaned": ["j1", "j2"],
                                           "failed": {"redis_errors": ["j2", "j3"]}})
    ctx = CheckContext(parse_target("redis://127.0.0.1:1/0"), {"job_ids": []}, 1.0,
                       earlier={"registries": registries})
    assert preview_rq_requeue(ctx) == ("  orphaned in-flight jobs (2): j1, j2\n"
                                       "  jobs failed on Redis errors (1): j3")
    narrowed = CheckContext(ctx.target, {"job_ids": ["j3"]}, 1.0, earlier=ctx.earlier)
    assert preview_rq_requeue(narrowed).endswith("jobs failed on Redis errors (1): j3")
    assert "none" in preview_rq_requeue(narrowed).splitlines()[0]
    # An id asked for that no check listed is still attempted (as a failed job): the operator
    # must see it in the preview too — the preview and the run choose with one function.
    unknown = CheckContext(ctx.target, {"job_ids": ["zzz"]}, 1.0, earlier=ctx.earlier)
    assert preview_rq_requeue(unknown).endswith("(1): zzz")
    fresh = CheckContext(ctx.target, {"job_ids": []}, 1.0)
    assert preview_rq_requeue(fresh).startswith("It will read the registries now")
