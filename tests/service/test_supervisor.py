"""Step 4 against a real supervisord running a real redis-server and a real rq worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.service.supervisor import BIN, Supervisor, supervisor_env
from troubleshooter.checks.base import CheckContext, Outcome
from troubleshooter.checks.service.detect import run_service_detect
from troubleshooter.checks.service.restart import run_service_restart
from troubleshooter.cmdrunner import CommandRunner
from troubleshooter.findings import finding
from troubleshooter.lab.server import wait_stopped
from troubleshooter.target import parse_target

pytestmark = pytest.mark.slow
TROUBLESHOOTER = str(Path(sys.executable).parent / "troubleshooter")
HUNG = Outcome("fail", "", (finding("server.unresponsive", "no reply to PING", "test"),))


def _ctx(sv: Supervisor, params: dict[str, object], earlier: dict[str, Outcome]) -> CheckContext:
    env = supervisor_env()
    return CheckContext(target=parse_target(sv.url), params=params, timeout=15, earlier=earlier,
                        environ=env, runner=CommandRunner(env))


def _detect(sv: Supervisor, earlier: dict[str, Outcome], conf: str | None = None) -> Outcome:
    params = {"redis_restart": "", "workers_restart": "", "dry_run": False,
              "supervisor_conf": str(sv.conf) if conf is None else conf}
    return run_service_detect(_ctx(sv, params, earlier))


def _restart(sv: Supervisor, role: str, services: Outcome, **more: object) -> Outcome:
    params = {"role": role, "detection": "services", "app_queue": sv.queue,
              "command_timeout_s": 30, "recovery_s": 20, "dry_run": False, **more}
    return run_service_restart(_ctx(sv, params, {"services": services}))


def test_a_hung_redis_is_restarted_through_supervisorctl_and_verified() -> None:
    with Supervisor() as sv:
        conn = redis.Redis.from_url(sv.url, socket_timeout=5)
        old = sv.pid("redis")
        os.kill(old, signal.SIGSTOP)
        wait_stopped(old)
        services = _detect(sv, {"ping": HUNG})
        redis_svc = services.data["redis"]
        assert redis_svc["manager"] == "supervisor" and redis_svc["name"] == "redis"
        assert "listens on the port" in redis_svc["evidence"]
        assert redis_svc["restart"] == ["supervisorctl", "-c", str(sv.conf), "restart", "redis"]
        assert services.data["workers"]["restart"][-1] == "rqworker"
        assert services.data["restart_redis"] is True

        done = _restart(sv, "redis", services)
        assert done.status == "pass", done.summary
        [f] = done.findings
        assert f.code == "restart.recovered" and done.data["time_to_recovery_s"] >= 0
        assert "redis: started" in done.data["output"]
        assert sv.pid("redis") not in (0, old) and conn.ping()

        workers = _restart(sv, "workers", services)
        assert workers.status == "pass", workers.summary
        assert workers.findings[0].code == "restart.recovered"
        assert f"on {sv.queue}" in workers.summary


def test_without_its_config_the_supervisord_that_runs_them_is_found() -> None:
    # supervisorctl's default search does not find a supervisord started with -c FILE: its
    # children's parent says where it is.
    with Supervisor() as sv:
        services = _detect(sv, {"ping": HUNG}, conf="")
    assert services.data["redis"]["manager"] == "supervisor"
    assert services.data["redis"]["restart"] == ["supervisorctl", "-c", str(sv.conf), "restart",
                                                 "redis"]
    assert services.data["workers"]["manager"] == "supervisor"
    assert any(f"supervisorctl -c {sv.conf}: the config of the supervisord that runs them" in note
               for note in services.data["notes"])


def test_workers_that_come_back_on_another_queue_are_not_recovered() -> None:
    with Supervisor(queue="other") as sv:
        services = _detect(sv, {})
        done = _restart(sv, "workers", services, app_queue="appq", recovery_s=1.5)
        assert done.status == "fail"
        assert done.findings[0].code == "restart.not_recovered"
        assert "none on appq" in done.summary


def _cli(sv: Supervisor, *args: str) -> tuple[dict, str]:
    done = subprocess.run(
        [TROUBLESHOOTER, "--url", sv.url, "--non-interactive", "--json", "--timeout", "1",
         "--queue", sv.queue, "--var", f"supervisor_conf={sv.conf}", *args],
        capture_output=True, text=True, timeout=120, env=supervisor_env())
    return json.loads(done.stdout), done.stderr


def _check(doc: dict, ident: str) -> dict:
    return next(c for s in doc["steps"] for c in s["checks"] if c["id"] == ident)


def test_dry_run_refusal_and_yes_through_the_cli() -> None:
    with Supervisor() as sv:
        old = sv.pid("redis")
        os.kill(old, signal.SIGSTOP)
        wait_stopped(old)
        doc, screen = _cli(sv, "--dry-run", "--yes")
        plan = _check(doc, "services")["data"]["plan"]
        command = f"supervisorctl -c {sv.conf} restart redis"
        assert [p["command"] for p in plan if p["argv"]] == [
            command, f"supervisorctl -c {sv.conf} restart rqworker"]
        # A long line wraps under its own indent: compare without the layout's whitespace.
        assert "would run (dry run" in screen and "".join(command.split()) in "".join(
            screen.split())
        assert _check(doc, "restart_redis")["status"] == "skipped"
        assert sv.pid("redis") == old  # nothing ran

        doc, _ = _cli(sv)
        skipped = _check(doc, "restart_redis")
        assert skipped["status"] == "skipped" and "--yes" in skipped["summary"]
        assert sv.pid("redis") == old

        doc, screen = _cli(sv, "--yes")
        done = _check(doc, "restart_redis")
        assert done["status"] == "pass", done["summary"]
        assert "restart.recovered" in [f["code"] for f in done["findings"]]
        assert _check(doc, "restart_workers")["status"] == "pass"
        assert sv.pid("redis") != old
        assert BIN.exists()
