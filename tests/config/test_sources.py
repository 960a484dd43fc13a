"""config_sources against real files, real redis-servers and real `rq worker` processes started
with another Redis URL / queue than the app's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.rqworkers import RqWorker, wait_until
from troubleshooter.checks.base import CheckContext, Outcome
from troubleshooter.checks.config import procs
from troubleshooter.checks.config.check import run_config_sources
from troubleshooter.lab.server import RedisServer
from troubleshooter.target import parse_target

PARAMS = {"files": [], "env_files": [], "pids": [], "app_queue": "", "scan_workers": False}


def _run(url: str, source: str = "--url", environ: dict[str, str] | None = None,
         **params: Any) -> Outcome:
    ctx = CheckContext(target=parse_target(url, source), params={**PARAMS, **params},
                       timeout=10, environ=environ or {})
    return run_config_sources(ctx)


def _codes(out: Outcome) -> list[str]:
    return [f.code for f in out.findings]


@pytest.fixture(scope="module")
def other() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        yield server.start()
    finally:
        server.stop()


def test_a_worker_on_another_redis_and_another_queue(redis_server: RedisServer,
                                                     other: RedisServer, tmp_path: Path) -> None:
    app_env = tmp_path / "web.env"
    app_env.write_text(f"REDIS_URL={redis_server.url}\nRQ_QUEUE_NAME=orchestrator\n")
    with RqWorker(other.url, "orchestrator-staging", name="cfg-w1") as worker:
        worker.wait_registered(redis.Redis.from_url(other.url))
        out = _run(redis_server.url, files=[str(app_env)], scan_workers=True,
                   app_queue="orchestrator")
    mine = [s for s in out.data["sources"] if s.get("pid") == worker.pid]
    assert mine and mine[0]["url_from"] == "--url"
    assert mine[0]["queues"] == ["orchestrator-staging"]
    assert f"127.0.0.1:{other.port}" in mine[0]["connected_to"]
    [f] = [f for f in out.findings if f.message.startswith(f"rq worker pid {worker.pid}")]
    assert f.code == "config.mismatch"
    assert f.message == (f"rq worker pid {worker.pid} (--url) says redis://127.0.0.1:"
                         f"{other.port}/0, this run's --url says redis://127.0.0.1:"
                         f"{redis_server.port}/0 (they differ in: port)")
    # It may be another app's worker: a warning, and step 5's questions are still asked.
    assert f.severity == "warning"
    assert not out.data["worker_urls_known"] and not out.data["worker_queues_known"]


def test_the_app_queue_no_worker_listens_to(redis_server: RedisServer, tmp_path: Path) -> None:
    with RqWorker(redis_server.url, "orchestrator-staging", name="cfg-w2") as worker:
        worker.wait_registered(redis.Redis.from_url(redis_server.url))
        out = _run(redis_server.url, scan_workers=True, app_queue="orchestrator")
    queue = [f for f in out.findings if "enqueues to" in f.message]
    assert len(queue) == 1 and queue[0].code == "config.mismatch"
    assert queue[0].severity == "error" and out.data["worker_queues_known"]
    assert f"rq worker pid {worker.pid}: orchestrator-staging" in queue[0].message


# `rq worker` without --url: RQ_REDIS_URL (its --url), else (rq >= 1.9) REDIS_URL, else
# REDIS_HOST/PORT/DB/PASSWORD, read from its environment.
@pytest.mark.parametrize("how", ["RQ_REDIS_URL", "REDIS_URL", "REDIS_HOST/PORT/DB"])
def test_a_worker_url_from_its_environment(redis_server: RedisServer, how: str) -> None:
    given = ({"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(redis_server.port)}
             if how == "REDIS_HOST/PORT/DB" else {how: redis_server.url})
    env = {**{k: v for k, v in os.environ.items() if k not in procs.ENV_KEYS}, **given}
    cmd = [sys.executable, "-m", "rq.cli", "worker", "--name", f"cfg-env-{len(how)}", "q1", "q2"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        # Right after exec, /proc/PID/environ may still read empty for a moment.
        info = wait_until(lambda: next(iter(procs.by_pid([proc.pid])[0])).environ, 5)
        assert info == given
        # The worker really is on that server (rq read the same environment).
        wait_until(lambda: redis.Redis.from_url(redis_server.url).exists(
            f"rq:worker:cfg-env-{len(how)}"), 10)
        out = _run(redis_server.url, pids=[], scan_workers=True)
        row = next(s for s in out.data["sources"] if s["pid"] == proc.pid)
        assert row["url_from"] == f"{how} (its environment)"
        assert row["queues"] == ["q1", "q2"] and row["queues_from"] == "command line"
        assert not [f for f in out.findings if str(proc.pid) in f.message]
    finally:
        proc.kill()
        proc.wait(10)


def test_a_worker_with_another_key_prefix(redis_server: RedisServer) -> None:
    # Its keys (myapp:workers, myapp:queues...) are invisible to a run that reads rq:*.
    env = {**{k: v for k, v in os.environ.items() if k not in procs.ENV_KEYS},
           "RQ_REDIS_URL": redis_server.url, "RQ_KEY_PREFIX": "myapp"}
    cmd = [sys.executable, "-m", "rq.cli", "worker", "--name", "cfg-prefix", "q1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_until(lambda: redis.Redis.from_url(redis_server.url).exists(
            "myapp:worker:cfg-prefix"), 10)
        out = _run(redis_server.url, pids=[], scan_workers=True)
        same = _run(redis_server.url, environ={"RQ_KEY_PREFIX": "myapp"}, pids=[],
                    scan_workers=True)
    finally:
        proc.kill()
        proc.wait(10)
    prefixed = [f for f in out.findings if "key prefix" in f.message]
    assert [(f.code, f.severity) for f in prefixed] == [("config.mismatch", "error")]
    assert prefixed[0].message.startswith(f"rq worker pid {proc.pid} uses the RQ key prefix "
                                          "'myapp' (RQ_KEY_PREFIX in its environment); this "
                                          "run reads 'rq': run it again with RQ_KEY_PREFIX=myapp")
    row = next(s for s in out.data["sources"] if s["pid"] == proc.pid)
    assert row["key_prefix"] == "myapp"
    assert not [f for f in same.findings if "key prefix" in f.message]


@pytest.mark.parametrize(("line", "code"), [
    ("REDIS_URL=redis://localhost:6379/0\u200b", "config.malformed_url"),
    ("REDIS_URL=redis-cli -u redis://localhost:6379", "config.malformed_url"),
    ("UPSTASH_REDIS_REST_URL=https://eu1-x.upstash.io", "config.not_redis_url"),
    ("REDIS_URL=redis://:hunter2@10.1.2.3:6379/0", "config.insecure"),
    ("REDIS_URL=redis://localhost:6379/3", "config.mismatch"),
    ("RQ_QUEUE_NAME=orchestrator", None),
])
def test_each_code_from_a_real_file(tmp_path: Path, line: str, code: str | None) -> None:
    path = tmp_path / "app.env"
    path.write_text(line + "\n")
    out = _run("redis://localhost:6379/0", files=[str(path)])
    if code is None:
        assert out.status == "pass" and not out.findings
    else:
        assert code in _codes(out)
        assert all(str(path) in f.message for f in out.findings)
    assert "hunter2" not in json.dumps(out.data) + " ".join(f.message for f in out.findings)


def test_disagreeing_queue_settings_between_files(tmp_path: Path) -> None:
    (tmp_path / "web.env").write_text("RQ_QUEUE_NAME=orchestrator\n")
    (tmp_path / "worker.yaml").write_text("rq:\n  queue_name: orchestrator-staging\n")
    out = _run("redis://localhost:6379/0",
               files=[str(tmp_path / "web.env"), str(tmp_path / "worker.yaml")])
    [f] = out.findings
    assert f.code == "config.mismatch" and "different queues" in f.message
    assert "orchestrator-staging" in f.message


def test_the_run_s_queue_that_the_app_s_files_do_not_name(tmp_path: Path) -> None:
    (tmp_path / "web.env").write_text("RQ_QUEUE_NAME=billing\n")
    out = _run("redis://localhost:6379/0", files=[str(tmp_path / "web.env")],
               app_queue="orchestrator")
    [f] = out.findings
    assert (f.code, f.severity) == ("config.mismatch", "error")
    assert f.message == (f"this run's app queue is 'orchestrator' (--queue, or $RQ_QUEUE_NAME "
                         f"here); the app's configuration says {tmp_path}/web.env: billing")
    # The same queue, or no --queue: nothing to say.
    assert _run("redis://localhost:6379/0", files=[str(tmp_path / "web.env")],
                app_queue="billing").findings == ()
    assert _run("redis://localhost:6379/0", files=[str(tmp_path / "web.env")]).findings == ()


def test_nothing_configured_anywhere_is_missing() -> None:
    out = _run("redis://localhost:6379/0", source="default")
    assert _codes(out) == ["config.missing"]
    assert _codes(_run("redis://localhost:6379/0", source="default",
                       environ={"REDIS_HOST": "localhost"})) == []


def test_a_named_file_that_cannot_be_read_is_not_healthy(tmp_path: Path) -> None:
    out = _run("redis://localhost:6379/0", files=[str(tmp_path / "missing.env")])
    assert out.status == "error" and "No such file" in out.summary


def test_a_default_dotenv_is_read_when_present(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = _run("redis://localhost:6379/0", env_files=[".env"])
    assert out.data["sources"] == [] and out.status == "pass"
    (tmp_path / ".env").write_text("REDIS_URL=redis://localhost:6380/0\n")
    out = _run("redis://localhost:6379/0", env_files=[".env"])
    assert _codes(out) == ["config.mismatch"]


def test_unreadable_processes_give_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    import psutil

    # Running as root here, nothing is ever denied: inject the denial.
    def denied(self: psutil.Process) -> dict[str, str]:
        raise psutil.AccessDenied(self.pid)

    monkeypatch.setattr(psutil.Process, "environ", denied)
    [info], notes = procs.by_pid([os.getpid()])
    assert info.environ is None
    assert notes == [f"pid {os.getpid()}: its environment is not readable (permission denied)"]
    _, notes = procs.by_pid([2**22 + 7])
    assert notes == [f"pid {2**22 + 7}: no such process"]


def test_worker_command_lines() -> None:
    args = procs.parse_worker_args(["/usr/bin/python3", "/venv/bin/rq", "worker", "-u",
                                    "redis://r:6379/1", "--with-scheduler", "--name=w1",
                                    "-c", "settings", "high", "default"])
    assert args.url == "redis://r:6379/1" and args.config == "settings"
    assert args.queues == ("high", "default")
    assert procs.is_rq_worker(["python", "-m", "rq.cli", "worker"])
    assert procs.is_rq_worker(["/venv/bin/rqworker", "q"])
    assert not procs.is_rq_worker(["python", "-m", "rq.cli", "info"])


def test_a_queue_mismatch_step_2_found_is_corroborated_not_diagnosed_twice(
        redis_server: RedisServer) -> None:
    from troubleshooter.findings import finding

    found = Outcome("fail", "", (finding("rq.queue_mismatch", "no worker on orchestrator", "t"),))
    with RqWorker(redis_server.url, "orchestrator-staging", name="cfg-w3") as worker:
        worker.wait_registered(redis.Redis.from_url(redis_server.url))
        ctx = CheckContext(target=parse_target(redis_server.url), timeout=10,
                           earlier={"workers": found},
                           params={**PARAMS, "scan_workers": True, "app_queue": "orchestrator"})
        out = run_config_sources(ctx)
    [f] = [f for f in out.findings if "enqueues to" in f.message]
    assert f.severity == "warning" and f"pid {worker.pid}" in f.message


@pytest.mark.parametrize(("written", "mismatch"), [
    ("redis://localhost:6379/0", False),
    ("redis://[::1]:6379/0", False),
    ("redis://127.0.0.2:6379/0", False),
    ("redis://redis.internal:6379/0", True),
])
def test_loopback_spellings_are_one_host(tmp_path: Path, written: str, mismatch: bool) -> None:
    (tmp_path / "app.env").write_text(f"REDIS_URL={written}\n")
    out = _run("redis://127.0.0.1:6379/0", files=[str(tmp_path / "app.env")])
    assert (_codes(out) == ["config.mismatch"]) is mismatch


@pytest.mark.parametrize(("written", "mismatch"), [
    ("redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster/0", False),
    ("redis+sentinel://127.0.0.1:26379/othermaster/0", True),
    ("redis+sentinel://127.0.0.1:26379/mymaster/2", True),
])
def test_sentinel_urls_compare_by_master_name(tmp_path: Path, written: str,
                                              mismatch: bool) -> None:
    (tmp_path / "app.env").write_text(f"REDIS_URL={written}\n")
    out = _run("redis+sentinel://127.0.0.1:26379/mymaster/0", files=[str(tmp_path / "app.env")])
    assert (_codes(out) == ["config.mismatch"]) is mismatch, out.findings


def test_workers_against_a_sentinel_target() -> None:
    from dataclasses import replace

    from troubleshooter.checks.config import compare
    from troubleshooter.checks.config.sources import make

    url = "redis+sentinel://127.0.0.1:26379/mymaster/0"
    unresolved = parse_target(url)
    resolved = replace(unresolved, host="127.0.0.1", port=6390, resolved_by=("127.0.0.1:26379",))
    elsewhere = make("rq worker pid 1", "worker", "redis://:pw@127.0.0.1:7000/0", "--url",
                     ["q"], "command line")
    on_master = make("rq worker pid 2", "worker", "redis://127.0.0.1:6390/0", "--url",
                     ["q"], "command line")
    # Another app's worker may run here: never an error, whichever way the target is known.
    for target in (unresolved, resolved):
        found = compare.url_findings([elsewhere], target)
        assert [f.severity for f in found] == ["warning"], found
    assert compare.url_findings([on_master], resolved) == []
    assert compare.on_target(on_master, resolved) and not compare.on_target(on_master, unresolved)
