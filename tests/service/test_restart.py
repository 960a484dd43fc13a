"""service_restart with real commands: one that fails, one that hangs, a server that never comes
back, one that does (a real redis-server started by the command), and --dry-run."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import redis

from troubleshooter.checks.base import CheckContext, Outcome
from troubleshooter.checks.service.restart import backoff, run_service_restart
from troubleshooter.cmdrunner import CommandRunner
from troubleshooter.lab.server import find_redis_server, free_port
from troubleshooter.target import parse_target


def _restart(url: str, argv: list[str], **params: object) -> Outcome:
    detected = Outcome("pass", "", data={"redis": {
        "restart": argv, "manager": "playbook", "evidence": "the playbook variable"}})
    ctx = CheckContext(
        target=parse_target(url), timeout=30, earlier={"services": detected},
        params={"role": "redis", "detection": "services", "app_queue": "",
                "command_timeout_s": 10, "recovery_s": 5, "dry_run": False, **params},
        environ=dict(os.environ), runner=CommandRunner(), wall_clock=time.time)
    return run_service_restart(ctx)


def test_a_failing_command_is_restart_failed_with_its_output() -> None:
    argv = [sys.executable, "-c", "print('Failed to restart redis.service: Unit not found.');"
                                  "raise SystemExit(5)"]
    out = _restart(f"redis://127.0.0.1:{free_port()}/0", argv)
    assert out.status == "fail"
    [f] = out.findings
    assert f.code == "restart.failed" and "exited 5" in f.message
    assert out.data["returncode"] == 5
    assert "Unit not found" in out.data["output"] and any("Unit not found" in d
                                                          for d in out.details)


def test_a_hanging_command_is_stopped_at_its_own_limit() -> None:
    start = time.monotonic()
    out = _restart(f"redis://127.0.0.1:{free_port()}/0",
                   [sys.executable, "-c", "import time; time.sleep(30)"], command_timeout_s=0.5)
    assert time.monotonic() - start < 5
    assert out.findings[0].code == "restart.failed" and out.data["timed_out"] is True
    assert "did not finish within" in out.findings[0].message


def test_a_server_that_never_comes_back_is_not_recovered() -> None:
    start = time.monotonic()
    out = _restart(f"redis://127.0.0.1:{free_port()}/0", [sys.executable, "-c", "pass"],
                   recovery_s=1.0)
    waited = time.monotonic() - start
    assert 1.0 <= waited < 4
    assert out.status == "fail" and out.findings[0].code == "restart.not_recovered"
    assert "ConnectionError" in out.data["last_error"] and out.data["recovered"] is False


def test_a_server_started_by_the_command_is_recovered(tmp_path: Path) -> None:
    port = free_port()
    pidfile = tmp_path / "redis.pid"
    argv = [find_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--daemonize",
            "yes", "--pidfile", str(pidfile), "--dir", str(tmp_path), "--save", ""]
    try:
        out = _restart(f"redis://127.0.0.1:{port}/0", argv)
        assert out.status == "pass", out.summary
        [f] = out.findings
        assert f.code == "restart.recovered" and f.severity == "info"
        assert 0 <= out.data["time_to_recovery_s"] < 5
        assert redis.Redis(port=port).ping()
    finally:
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGKILL)


def test_dry_run_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    argv = [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]
    out = _restart(f"redis://127.0.0.1:{free_port()}/0", argv, dry_run=True)
    assert out.status == "skipped" and out.data == {"dry_run": True, "command": argv}
    assert out.summary.startswith("dry run: would run ")
    assert not marker.exists()


def test_backoff_doubles_up_to_two_seconds() -> None:
    assert [backoff(i) for i in range(7)] == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]


def test_the_workers_wait_reads_the_run_s_key_prefix() -> None:
    """A worker registered under the run's RQ_KEY_PREFIX after the restart is found; one under
    the default prefix is not what this run's RQ uses (the process's own environment says
    nothing here)."""
    from datetime import UTC, datetime

    from troubleshooter.checks.rq.keys import RqKeys
    from troubleshooter.checks.service.restart import wait_for_workers
    from troubleshooter.lab.server import RedisServer

    def stamp(at: float) -> str:  # rq's timestamp format (rq.utils.utcformat)
        return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def register(conn: redis.Redis, keys: RqKeys, name: str) -> None:
        key = f"{keys.worker_namespace}{name}"
        conn.sadd(keys.workers, key)
        conn.hset(key, mapping={"birth": stamp(time.time()), "state": "idle",
                                "last_heartbeat": stamp(time.time()), "queues": "orchestrator",
                                "hostname": "app-1", "pid": 1})

    since = time.time()
    with RedisServer() as server:
        conn = redis.Redis(host=server.host, port=server.port)
        ctx = CheckContext(target=parse_target(server.url), params={"app_queue": "orchestrator"},
                           timeout=5, environ={"RQ_KEY_PREFIX": "myapp"},
                           runner=CommandRunner({}))
        register(conn, RqKeys("rq"), "default-prefix-worker")
        ok, _, last = wait_for_workers(ctx, 0.3, since)
        assert not ok and last == "no worker has registered since the restart"
        register(conn, RqKeys("myapp"), "app-worker")
        ok, _, _ = wait_for_workers(ctx, 2.0, since)
        assert ok
        conn.close()


def _running(marker: str) -> list[int]:
    """PIDs whose command line is `sleep <marker>`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes() == \
                    f"sleep\0{marker}\0".encode():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_an_interrupted_run_leaves_no_restart_command_running(tmp_path: Path) -> None:
    # ^C while the playbook's restart command runs (Redis hung: SIGSTOP, the evidence for a
    # restart): exit 130, and the command's process group is gone with the tool.
    import subprocess

    from troubleshooter.lab.server import RedisServer

    marker = "311.7"
    exe = Path(sys.executable).with_name("troubleshooter")
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "HOME": str(tmp_path)}
    with RedisServer() as server:
        server.pause()
        try:
            tool = subprocess.Popen(
                [str(exe), "run", "--non-interactive", "--yes", "--deadline", "60",
                 "--timeout", "1", "--url", server.url, "--var", f"redis_restart=sleep {marker}"],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            try:
                give_up = time.monotonic() + 40
                while not _running(marker) and time.monotonic() < give_up:
                    time.sleep(0.1)
                assert _running(marker), "the restart command never started"
                tool.send_signal(signal.SIGINT)
                assert tool.wait(timeout=20) == 130
            finally:
                tool.kill()
                tool.wait()
        finally:
            server.resume()
    give_up = time.monotonic() + 5
    while _running(marker) and time.monotonic() < give_up:
        time.sleep(0.05)
    left = _running(marker)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []
