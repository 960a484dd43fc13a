"""Step 4 detection and restart commands.

systemd and Docker cannot run here: their detection is tested against recorded output in the
documented formats (tests/service/resources), served by stand-in `systemctl` / `docker` programs
on PATH that also log the exact argv they were called with. Everything else is real: the command
runner, the redis-servers, the processes.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import redis

from troubleshooter.checks.base import CheckContext, Outcome
from troubleshooter.checks.service import managers as m
from troubleshooter.checks.service.detect import run_service_detect
from troubleshooter.checks.service.restart import preview_restart, run_redis_bgsave
from troubleshooter.cmdrunner import CommandRunner
from troubleshooter.findings import finding
from troubleshooter.lab.server import RedisServer, free_port
from troubleshooter.target import parse_target

RESOURCES = Path(__file__).parent / "resources"
HUNG = Outcome("fail", "", (finding("server.unresponsive", "no reply", "test"),))
DETECT = {"redis_restart": "", "workers_restart": "", "supervisor_conf": "", "dry_run": False}
ROOT = os.geteuid() == 0


def _fake(bindir: Path, name: str, script: str) -> None:
    path = bindir / name
    log = f'echo "$0 $*" >> {bindir}/calls.log'
    path.write_text(f"#!/bin/sh\nPATH=/usr/bin:/bin\n{log}\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _ctx(url: str, bindir: Path | None, earlier: dict[str, Outcome] | None = None,
         **params: object) -> CheckContext:
    env = dict(os.environ)
    if bindir is not None:
        env["PATH"] = str(bindir)  # only the stand-ins: no real systemctl, docker, supervisorctl
        env["DOCKER_HOST"] = "unix:///stand-in.sock"  # the stand-in docker's daemon
    return CheckContext(target=parse_target(url), params={**DETECT, **params}, timeout=10,
                        earlier=earlier or {}, environ=env, runner=CommandRunner(env))


@pytest.fixture
def bindir(tmp_path: Path) -> Path:
    path = tmp_path / "bin"
    path.mkdir()
    return path


def test_parsers_read_the_recorded_formats() -> None:
    units = m.parse_list_units((RESOURCES / "systemctl-list-units.txt").read_text())
    assert [u.name for u in units if m.is_redis_unit(u.name)] == [
        "redis-server.service", "redis-server@cache.service"]
    assert units[3] == m.Unit("rq-worker@high.service", "loaded", "failed", "failed")
    programs = m.parse_supervisor_status((RESOURCES / "supervisorctl-status.txt").read_text())
    assert programs[0] == m.Program("redis", "RUNNING", 4242, "pid 4242, uptime 1 day, 2:03:04")
    assert [p.name for p in programs if m.is_worker_name(p.name)] == [
        "workers:rqworker_00", "workers:rqworker_01"]
    containers = m.parse_docker_ps((RESOURCES / "docker-ps.txt").read_text())
    assert [c.name for c in containers if c.publishes(6379)] == ["app-redis-1"]
    assert not containers[0].publishes(637) and containers[2].publishes(8000)
    assert m.parse_show("MainPID=4242\nId=redis-server.service\n")["MainPID"] == "4242"


def test_systemd_units_and_their_exact_restart_commands(bindir: Path) -> None:
    listing = RESOURCES / "systemctl-list-units.txt"
    _fake(bindir, "systemctl", f'case "$1" in list-units) cat {listing};; '
                               f'show) cat {RESOURCES / "systemctl-show.txt"};; esac')
    out = run_service_detect(_ctx(f"redis://127.0.0.1:{free_port()}/0", bindir, {"ping": HUNG}))
    sudo = () if ROOT else ("sudo", "-n")
    assert out.data["redis"]["restart"] == [*sudo, "systemctl", "restart", "redis-server.service"]
    assert out.data["workers"]["restart"] == [
        *sudo, "systemctl", "restart", "rq-worker@default.service", "rq-worker@high.service"]
    assert out.data["restart_redis"] is True
    calls = (bindir / "calls.log").read_text().splitlines()
    assert calls[0].endswith("systemctl list-units --type=service --all --plain --no-legend "
                             "--no-pager redis*.service *rq*.service *worker*.service")


def test_docker_container_publishing_the_port(bindir: Path) -> None:
    _fake(bindir, "docker", f"cat {RESOURCES / 'docker-ps.txt'}")
    out = run_service_detect(_ctx("redis://127.0.0.1:6379/0", bindir, {"ping": HUNG}))
    assert out.data["redis"]["restart"] == ["docker", "restart", "app-redis-1"]
    assert "publishes port 6379" in out.data["redis"]["evidence"]
    assert out.data["workers"]["restart"] == ["docker", "restart", "app-rq-worker-1"]
    calls = (bindir / "calls.log").read_text()
    assert "docker ps --format {{.ID}}\t{{.Names}}\t{{.Image}}\t{{.Ports}}\t{{.Status}}" in calls


def test_the_playbook_command_overrides_detection(bindir: Path) -> None:
    _fake(bindir, "docker", f"cat {RESOURCES / 'docker-ps.txt'}")
    out = run_service_detect(_ctx("redis://127.0.0.1:6379/0", bindir, {"ping": HUNG},
                                  redis_restart="ssh db1 'sudo systemctl restart redis'"))
    assert out.data["redis"]["manager"] == "playbook"
    assert out.data["redis"]["restart"] == ["ssh", "db1", "sudo systemctl restart redis"]


def test_a_bare_process_is_unmanaged_with_a_walk_through(redis_server: RedisServer,
                                                         bindir: Path) -> None:
    out = run_service_detect(_ctx(redis_server.url, bindir))
    assert out.status == "warn"
    assert [f.code for f in out.findings] == ["restart.unmanaged"]
    service = out.data["redis"]
    assert service["manager"] == "process" and service["pid"] == redis_server.proc.pid
    assert service["manual"][0].startswith(f"Stop it: kill {redis_server.proc.pid}")
    # Started with arguments only, and it answers: not "Redis does not answer".
    assert service["manual"][1] == ("Start it again the way it was started (it was started "
                                    "without a config file, and its title hides the arguments)")
    assert "redis-cli -p" in service["manual"][-1]
    # No evidence against the process: nothing to restart, nothing planned.
    assert out.data["restart_redis"] is False and out.data["plan"] == []


def test_a_remote_target_is_never_restarted_by_a_local_manager(bindir: Path) -> None:
    _fake(bindir, "docker", f"cat {RESOURCES / 'docker-ps.txt'}")
    out = run_service_detect(_ctx("redis://db1.example:6379/0", bindir, {"ping": HUNG}))
    assert out.data["redis"]["manager"] == "none" and not out.data["local"]
    assert "on db1.example" in out.data["redis"]["evidence"]
    assert not (bindir / "calls.log").exists()  # docker was never asked


def test_unsaved_changes_and_bgsave_first(redis_server: RedisServer, bindir: Path) -> None:
    conn = redis.Redis.from_url(redis_server.url)
    conn.set("a", "1")
    conn.set("b", "2")
    persistence_failed = Outcome("fail", "", (finding("server.persistence_failed", "x", "t"),))
    out = run_service_detect(_ctx(redis_server.url, bindir, {"info": persistence_failed},
                                  redis_restart=f"{sys.executable} -c pass"))
    codes = [f.code for f in out.findings]
    assert codes == ["restart.unsaved_changes"]
    evidence = out.findings[0].evidence
    assert evidence[0] == "2 write(s) since the last save"
    assert "persistence is off" in evidence[1]
    assert [p["what"] for p in out.data["plan"]][:2] == ["save first", "restart Redis"]

    saved = run_redis_bgsave(_ctx(redis_server.url, None, wait_s=20))
    assert saved.status == "pass", saved.summary
    assert int(conn.info("persistence")["rdb_changes_since_last_save"]) == 0


def test_preview_shows_the_exact_command() -> None:
    detected = Outcome("pass", "", data={"redis": {
        "restart": ["systemctl", "restart", "redis-server.service"], "manager": "systemd",
        "evidence": "systemd unit redis-server.service (active/running)"}})
    ctx = CheckContext(target=parse_target("redis://127.0.0.1:6379/0"),
                       params={"role": "redis", "detection": "services", "recovery_s": 60},
                       timeout=5, earlier={"services": detected})
    text = preview_restart(ctx)
    assert text.splitlines()[0] == "will run: systemctl restart redis-server.service"
    assert "PING 127.0.0.1:6379 until it answers (up to 60 s)" in text
    assert shlex.split(text.splitlines()[0].removeprefix("will run: "))[-1] == \
        "redis-server.service"


def test_a_stopped_process_is_resumed_before_anything_else(redis_server: RedisServer,
                                                          bindir: Path) -> None:
    redis_server.pause()
    try:
        out = run_service_detect(_ctx(redis_server.url, bindir, {"ping": HUNG}))
    finally:
        redis_server.resume()
    service = out.data["redis"]
    assert service["state"] == "stopped"
    assert service["manual"][0].startswith(
        f"It is stopped (state T), not crashed: `kill -CONT {redis_server.proc.pid}`")


def test_a_manager_that_cannot_answer_leaves_a_note(bindir: Path) -> None:
    _fake(bindir, "docker", "echo 'Cannot connect to the Docker daemon at "
                            "unix:///var/run/docker.sock.' >&2; exit 1")
    out = run_service_detect(_ctx(f"redis://127.0.0.1:{free_port()}/0", bindir))
    assert out.data["redis"]["manager"] == "none"
    assert "docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock." in \
        out.data["notes"]


def test_a_docker_cli_without_a_daemon_is_not_started(bindir: Path, tmp_path: Path) -> None:
    _fake(bindir, "docker", f"cat {RESOURCES / 'docker-ps.txt'}")
    ctx = _ctx("redis://127.0.0.1:6379/0", bindir)
    env = {**ctx.environ, "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path)}
    env.pop("DOCKER_HOST")
    env.pop("DOCKER_CONTEXT", None)
    if any(os.path.exists(p) for p in ("/var/run/docker.sock", "/run/docker.sock")):
        pytest.skip("this host runs a Docker daemon")
    out = run_service_detect(replace(ctx, environ=env, runner=CommandRunner(env)))
    assert not (bindir / "calls.log").exists()  # the CLI was never started
    assert any(n.startswith("docker: no daemon to ask here") for n in out.data["notes"])
    (tmp_path / "docker.sock").touch()  # a rootless daemon's socket: asked
    out = run_service_detect(replace(ctx, environ=env, runner=CommandRunner(env)))
    assert out.data["redis"]["restart"] == ["docker", "restart", "app-redis-1"]


def test_a_restart_of_a_redis_that_cannot_say_what_it_would_lose_is_a_warning(
        bindir: Path) -> None:
    """A Redis to restart (its saves fail) that refuses this run's reads (a password the URL
    lacks): nobody knows what the restart loses. One that is down has lost it already."""
    restart = f"{sys.executable} -c pass"
    persistence_failed = Outcome("fail", "", (finding("server.persistence_failed", "x", "t"),))
    refused = Outcome("fail", "", (finding("network.refused", "x", "t"),))
    with RedisServer("--requirepass", "s3cret-test-pw") as server:
        out = run_service_detect(_ctx(server.url, bindir, {"info": persistence_failed},
                                      redis_restart=restart))
        assert out.data["server"]["answers"] is False
        [lost] = [f for f in out.findings if f.code == "restart.loss_unknown"]
        assert lost.severity == "warning"
        assert "did not answer (AuthenticationError" in lost.message
        assert "server.persistence_failed" in lost.evidence[0]
        assert "s3cret-test-pw" not in str(out.data) + str(out.findings)
        calm = run_service_detect(_ctx(server.url, bindir, {"tcp": refused},
                                       redis_restart=restart))
        assert "restart.loss_unknown" not in [f.code for f in calm.findings]


def test_a_hung_redis_to_restart_cannot_say_what_it_would_lose(redis_server: RedisServer,
                                                               bindir: Path) -> None:
    redis_server.pause()
    try:
        out = run_service_detect(_ctx(redis_server.url, bindir, {"ping": HUNG},
                                      redis_restart=f"{sys.executable} -c pass"))
    finally:
        redis_server.resume()
    [lost] = [f for f in out.findings if f.code == "restart.loss_unknown"]
    assert lost.message.endswith("it does not answer")
    assert [p["what"] for p in out.data["plan"]][0] == "restart Redis"


def test_a_work_horse_of_a_dead_worker_is_not_to_be_stopped() -> None:
    # Step 2 found pid 4242 still running job j1 for a dead worker (registries' data.horses).
    from troubleshooter.checks.config.procs import ProcInfo
    from troubleshooter.checks.service.detect import _bare_workers, _horses

    ctx = _ctx("redis://127.0.0.1:6379/0", None, {
        "registries": Outcome("pass", "", data={"horses": {"j1": 4242}}),
        "other": Outcome("pass", "", data={"horses": "not a mapping"})})
    argv = ("python", "-m", "rq.cli", "worker", "orchestrator")
    workers = _bare_workers([ProcInfo(4242, "python", argv), ProcInfo(4343, "python", argv)],
                            _horses(ctx))
    assert workers.manual == (
        "pid 4242: the work horse of a dead worker, still running job j1: let it finish, do "
        "not kill or requeue it; then start a worker: python -m rq.cli worker orchestrator",
        "pid 4343: kill -TERM 4343 (warm shutdown), then start it again: python -m rq.cli "
        "worker orchestrator")
