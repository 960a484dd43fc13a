"""The wrong calls of issue 7, each with real `rq worker` processes and real Redis restarts.

Restarts are real: SHUTDOWN NOSAVE, then a new redis-server on the same port and directory
(which loads dump.rdb if a SAVE wrote one). The triage is the installed command.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from rq import Queue, Worker
from rq.job import JobStatus
from rq.registry import StartedJobRegistry

from tests.checks.test_rq import elsewhere, run
from tests.rq.rqkit import APP, check, codes, start_busy, status, triage
from tests.rqworkers import RqWorker, children, wait_until
from troubleshooter.checks.base import CheckContext, Outcome
from troubleshooter.checks.service.detect import _horses
from troubleshooter.lab.server import RedisServer
from troubleshooter.target import parse_target

pytestmark = pytest.mark.slow

WORKER_KEY = Worker.redis_worker_namespace_prefix


@contextmanager
def restartable(tmp: Path) -> Iterator[list[RedisServer]]:
    """A redis-server in `tmp`; the list's last entry is the one running now."""
    servers = [RedisServer(directory=tmp).start()]
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


def restart(servers: list[RedisServer]) -> redis.Redis:
    """SHUTDOWN NOSAVE, then the same port and directory again; a client to the new one."""
    old = servers[-1]
    try:
        redis.Redis(host=old.host, port=old.port).shutdown(nosave=True)
    except redis.exceptions.ConnectionError:
        pass  # the server closed the connection as it exited
    assert old.proc is not None
    old.proc.wait(timeout=10)
    servers.append(RedisServer(port=old.port, directory=old.dir).start())
    return redis.Redis(host=old.host, port=old.port)


def settle(conn: redis.Redis, name: str) -> None:
    """Until the worker waits in its blocking dequeue: rq's worker reconnects there, but exits
    on a connection error while it starts up (maintenance) or records a job's end."""
    wait_until(lambda: conn.hget(WORKER_KEY + name, "state") == b"idle", 15, f"{name} idle")
    time.sleep(0.5)


def test_restart_without_persistence_is_data_lost_and_the_survivor_is_no_no_workers(
        tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    with restartable(tmp_path) as servers:
        url = servers[0].url
        conn = redis.Redis(host=servers[0].host, port=servers[0].port)
        survivor = RqWorker(url, APP, name="survivor", log=log).start()
        try:
            survivor.wait_registered(conn)
            settle(conn, "survivor")
            for _ in range(3):
                Queue("reports", connection=conn).enqueue("tests.rqjobs.noop_job")
            conn = restart(servers)
            # The worker reconnects and heartbeats: its key is back, its registration is not.
            wait_until(lambda: conn.exists(WORKER_KEY + "survivor"), 15, "the worker's heartbeat")
            after = Queue(APP, connection=conn).enqueue("tests.rqjobs.noop_job")
            wait_until(lambda: conn.hget(after.key, "status") == b"finished", 15, "a new job run")

            code, doc = triage(url, tmp_path)
            found = codes(doc)
            assert found.get("server.data_lost") == "error", found
            assert found.get("rq.unregistered_workers") == "warning", found
            assert "rq.no_workers" not in found, found
            assert doc["diagnosis"]["code"] == "server.data_lost" and code == 1
            assert "appendonly no" in doc["diagnosis"]["summary"]
            evidence = doc["diagnosis"]["evidence"]
            assert any("survivor is alive but missing from rq:workers" in line
                       for line in evidence)
            assert "rq:workers: missing (no worker registered since)" in evidence, evidence
            assert any(line.startswith("Redis started at ") for line in evidence), evidence

            # A supervisor restarts the worker: no trace of the past is left in Redis, and the
            # run must still say that persistence is off and anything earlier is gone.
            survivor.kill()
            fresh = RqWorker(url, APP, name="fresh", log=log).start()
            try:
                fresh.wait_registered(conn)
                code, doc = triage(url, tmp_path)
            finally:
                fresh.kill()
            restarted = [f for f in doc["findings"] if f["code"] == "server.recently_restarted"]
            assert restarted and "appendonly no" in restarted[0]["message"]
            assert "from before the restart is gone" in restarted[0]["message"]
        finally:
            survivor.kill()


def test_restart_from_a_snapshot_warns_and_never_calls_a_finished_job_orphaned(
        tmp_path: Path) -> None:
    log, runs = tmp_path / "worker.log", tmp_path / "runs"
    with restartable(tmp_path) as servers:
        url = servers[0].url
        conn = redis.Redis(host=servers[0].host, port=servers[0].port)
        worker, job = start_busy(conn, url, "w-snap", log, "tests.rqjobs.record_run",
                                 str(runs), 1.0)
        try:
            conn.save()  # the snapshot: the job is `started` in it
            wait_until(lambda: status(conn, job.id) == JobStatus.FINISHED, 15, "the job to end")
            settle(conn, "w-snap")
            conn = restart(servers)
            wait_until(lambda: conn.hget(WORKER_KEY + "w-snap", "last_heartbeat") is not None
                       and worker.proc is not None and worker.proc.poll() is None, 15,
                       "the worker to reconnect")
            code, doc = triage(url, tmp_path)
            registries = check(doc, "registries")
            # 36 s and more later, the restored `started` entry has expired: still not orphaned.
            later = run("rq_registries", url, clock=lambda: time.time() + 200)
        finally:
            worker.kill()
    found = codes(doc)
    assert found.get("server.restored_from_snapshot") == "warning", found
    assert "rq.orphaned_jobs" not in found, found
    snapshot = next(f for f in doc["findings"] if f["code"] == "server.restored_from_snapshot")
    assert "may run twice" in snapshot["message"] and "keys loaded" in snapshot["message"]
    assert registries is not None and job.id in registries["data"]["uncertain"]
    assert later.data["orphaned"] == [] and "snapshot" in later.data["uncertain"][job.id]
    assert runs.read_text().count("ran") == 1


# A service manager's worker leads its session; one started from a shell (`rq worker ... &`) does
# not, and its horse, titled like it (no setproctitle), is known only by when it started.
@pytest.mark.parametrize("own_session", [True, False], ids=["own session", "shell's session"])
def test_killing_only_the_main_process_leaves_the_job_to_its_horse_exactly_once(
        redis_server: RedisServer, tmp_path: Path, own_session: bool) -> None:
    log, runs = tmp_path / "worker.log", tmp_path / "runs"
    url = redis_server.url
    conn = redis.Redis(host=redis_server.host, port=redis_server.port)
    worker, job = start_busy(conn, url, "w-main", log, "tests.rqjobs.record_run", str(runs), 4.0,
                             own_session=own_session)
    horses = children(worker.pid)
    try:
        assert horses, "the worker forked no work horse"
        os.kill(worker.pid, signal.SIGKILL)  # the main process only: the horse runs on
        worker.wait_exit()
        code, doc = triage(url, tmp_path, "--yes")
        registries = check(doc, "registries")
        requeue = check(doc, "requeue")
        wait_until(lambda: status(conn, job.id) == JobStatus.FINISHED, 15, "the horse to finish")
        burst = RqWorker(url, APP, name="w-burst", burst=True, log=log).start()
        assert burst.wait_exit() == 0
    finally:
        for pid in horses:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert registries is not None and registries["data"]["orphaned"] == []
    assert "work horse" in registries["data"]["uncertain"][job.id]
    assert registries["data"]["horses"] == {job.id: horses[0]}
    # What step 4 reads to tell a horse from a worker to stop (tests/service/test_detect.py).
    assert _horses(CheckContext(parse_target(url), {}, 1.0, earlier={
        "registries": Outcome("pass", "", data=registries["data"])})) == {horses[0]: job.id}
    assert requeue is None or job.id not in requeue["data"]["requeued"]
    assert runs.read_text().count("ran") == 1


# Later than a minute after the kill, rq has expired the job's executions record (its
# `rq:executions:<id>` and `rq:execution:<id>:<eid>`); its started entry is still there.
@pytest.mark.parametrize("expired", [False, True], ids=["at once", "executions expired"])
def test_a_killed_worker_and_horse_is_requeued_and_runs_once_more(
        redis_server: RedisServer, tmp_path: Path, expired: bool) -> None:
    log, runs = tmp_path / "worker.log", tmp_path / "runs"
    url = redis_server.url
    conn = redis.Redis(host=redis_server.host, port=redis_server.port)
    worker, job = start_busy(conn, url, "w-dead", log, "tests.rqjobs.record_run", str(runs), 1.5)
    worker.kill()  # the worker and its horse: the job is really lost
    if expired:
        gone = conn.keys(f"rq:execution*:{job.id}*")
        assert gone and conn.delete(*gone) == len(gone)
        assert conn.zcard(f"rq:wip:{APP}") == 1  # the started entry outlives them
    conn.config_resetstat()
    code, doc = triage(url, tmp_path, "--yes")
    requeue = check(doc, "requeue")
    assert requeue is not None and requeue["data"]["requeued"] == [job.id]
    # The started entry the registry check saw, not a scan of the registry.
    assert "cmdstat_zscan" not in conn.info("commandstats")
    burst = RqWorker(url, APP, name="w-burst2", burst=True, log=log).start()
    assert burst.wait_exit(30) == 0
    assert status(conn, job.id) == JobStatus.FINISHED
    assert runs.read_text().count("ran") == 2  # the lost run, and the one requeued


def test_a_busy_worker_elsewhere_killed_with_its_horse_is_dead_after_its_own_ttl(
        redis_server: RedisServer, tmp_path: Path) -> None:
    url = redis_server.url
    conn = redis.Redis(host=redis_server.host, port=redis_server.port)
    worker, job = start_busy(conn, url, "w-far", tmp_path / "worker.log")
    elsewhere(conn, "w-far")
    worker.kill()
    now = run("rq_workers", url)
    # 100 s on: beyond a busy worker's 90 s TTL, far within an idle one's 480 s.
    later = run("rq_workers", url, clock=lambda: time.time() + 100)
    registries = run("rq_registries", url, clock=lambda: time.time() + 100)
    assert now.status == "pass"  # nothing can tell yet: its key and heartbeat are fresh
    assert [(f.code, f.severity) for f in later.findings][:1] == [("rq.dead_workers", "warning")]
    assert later.data["workers"][0]["dead_signal"] == "heartbeat_stale"
    # Its job waits for the execution heartbeat (real time) to expire before it is an orphan.
    assert registries.data["orphaned"] == []
    assert "execution heartbeat has not expired" in registries.data["uncertain"][job.id]


def test_the_healthy_production_state_passes(redis_server: RedisServer, tmp_path: Path) -> None:
    log, runs = tmp_path / "worker.log", tmp_path / "runs"
    url = redis_server.url
    conn = redis.Redis(host=redis_server.host, port=redis_server.port)
    done = Queue(APP, connection=conn).enqueue("tests.rqjobs.noop_job")
    worker, job = start_busy(conn, url, "w-busy", log, "tests.rqjobs.record_run", str(runs), 6.0)
    try:
        wait_until(lambda: status(conn, done.id) == JobStatus.FINISHED, 10, "the first job")
        # A finished job whose started entry was left behind (rq/rq#1450 and friends).
        conn.zadd(StartedJobRegistry(APP, connection=conn).key,
                  {f"{done.id}:left-behind": time.time() + 3600})
        code, doc = triage(url, tmp_path)
    finally:
        worker.kill()
    found = codes(doc)
    assert not {"rq.orphaned_jobs", "rq.dead_workers", "rq.no_workers"} & set(found), found
    assert code == 0 and doc["diagnosis"] is None, found
    registries = check(doc, "registries")
    assert registries is not None and registries["data"]["started"]["total"] == 2
    assert job.id not in registries["data"]["uncertain"]


def test_requeue_rejudges_a_stale_orphan_list_and_refuses_a_running_job(
        redis_server: RedisServer, tmp_path: Path) -> None:
    from troubleshooter.checks.base import Outcome

    url = redis_server.url
    conn = redis.Redis(host=redis_server.host, port=redis_server.port)
    worker, job = start_busy(conn, url, "w-alive", tmp_path / "worker.log")
    try:
        # What an earlier look (or a stale report) claimed: this job is orphaned.
        stale = Outcome("fail", "", data={"orphaned": [{"job_id": job.id}],
                                          "failed": {"redis_errors": []}})
        outcome = run("rq_requeue", url, earlier={"registries": stale})
        assert status(conn, job.id) == JobStatus.STARTED
    finally:
        worker.kill()
    assert outcome.data["requeued"] == []
    assert "alive" in outcome.data["failed_to_requeue"][job.id]
    assert Queue(APP, connection=conn).get_job_ids() == []


@pytest.mark.parametrize("own_session", [True, False], ids=["own session", "shell's session"])
def test_a_stopped_worker_and_horse_hold_their_job(redis_server: RedisServer, tmp_path: Path,
                                                   own_session: bool) -> None:
    # SIGSTOP on the worker and its horse: the worker's key expires (its TTL; deleted here, as
    # the TTL would) while the stopped horse still holds the job. A requeue, then SIGCONT,
    # would run it twice: it is uncertain, with what to do.
    url = redis_server.url
    conn = redis.Redis(host=redis_server.host, port=redis_server.port)
    worker, job = start_busy(conn, url, "w-stopped", tmp_path / "worker.log",
                             own_session=own_session)
    horses = children(worker.pid)
    try:
        assert horses, "the worker forked no work horse"
        for pid in (worker.pid, *horses):
            os.kill(pid, signal.SIGSTOP)
        conn.delete("rq:worker:w-stopped")
        conn.srem("rq:workers", "rq:worker:w-stopped")
        registries = run("rq_registries", url)
        code, doc = triage(url, tmp_path, "--yes")
        requeue = check(doc, "requeue")
    finally:
        for pid in (worker.pid, *horses):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        worker.kill()
    assert registries.data["orphaned"] == []
    why = registries.data["uncertain"][job.id]
    assert why.startswith(f"its work horse (pid {horses[0]}) still holds it on this host, "
                          f"stopped (state T): `kill -CONT {horses[0]}` lets it finish"), why
    assert registries.data["horses"] == {job.id: horses[0]}
    assert requeue is None or job.id not in requeue["data"]["requeued"]
