"""--config and --pid on the command line: bad values get one line and exit 2; good ones reach
step 5 (a real run against a real Redis)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from troubleshooter.cli import main
from troubleshooter.lab.server import RedisServer

TROUBLESHOOTER = str(Path(sys.executable).parent / "troubleshooter")


@pytest.mark.parametrize(("args", "message"), [
    (["--config", "/nonexistent/app.env"], "argument --config: /nonexistent/app.env: not a "
                                           "readable file"),
    (["--pid", "12ab"], "argument --pid: not a process id: '12ab'"),
    (["--pid", "0"], "argument --pid: not a process id: '0'"),
])
def test_bad_values_are_one_line(capsys: pytest.CaptureFixture[str], args: list[str],
                                 message: str) -> None:
    assert main(["run", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_config_and_pid_reach_step_5(redis_server: RedisServer, tmp_path: Path) -> None:
    env_file = tmp_path / "worker.env"
    env_file.write_text(f"REDIS_URL=redis://127.0.0.1:{redis_server.port}/5\n")
    done = subprocess.run(
        [TROUBLESHOOTER, "--url", redis_server.url, "--non-interactive", "--json",
         "--config", str(env_file), "--pid", str(os.getpid())],
        capture_output=True, text=True, timeout=60)
    doc = json.loads(done.stdout)
    check = next(c for s in doc["steps"] for c in s["checks"] if c["id"] == "sources")
    names = [s["name"] for s in check["data"]["sources"]]
    assert str(env_file) in names
    assert check["params"]["pids"] == [os.getpid()]
    # Other rq workers on this host (and this process's own connections) may add findings.
    [f] = [f for f in check["findings"] if f["message"].startswith(str(env_file))]
    assert f["code"] == "config.mismatch" and "they differ in: db" in f["message"]
    assert doc["variables"]["config_files"] == [str(env_file)]


def test_the_server_is_held_against_the_sources_in_a_real_run(tmp_path: Path) -> None:
    with RedisServer("--requirepass", "s3cret") as server:
        worker_env = tmp_path / "worker.env"
        worker_env.write_text(f"REDIS_URL=redis://127.0.0.1:{server.port}/0\n")
        done = subprocess.run(
            [TROUBLESHOOTER, "--url", f"redis://:s3cret@127.0.0.1:{server.port}/0",
             "--non-interactive", "--json", "--config", str(worker_env)],
            capture_output=True, text=True, timeout=60)
    doc = json.loads(done.stdout)
    check = next(c for s in doc["steps"] for c in s["checks"] if c["id"] == "config_server")
    assert check["status"] == "fail", check["summary"]
    [f] = check["findings"]
    assert f["code"] == "server.auth_required"
    assert f["message"] == (f"{worker_env} sends no password, but 127.0.0.1:{server.port} "
                            "requires one (requirepass)")
    assert "s3cret" not in done.stdout + done.stderr
