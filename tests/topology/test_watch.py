"""`troubleshooter watch` against a real server that is stopped, then resumed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from troubleshooter.lab.server import RedisServer

pytestmark = pytest.mark.slow


def watch_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "troubleshooter", "watch", *args]


def test_watch_until_a_stopped_server_is_resumed(redis_server: RedisServer,
                                                 tmp_path: Path) -> None:
    redis_server.pause()
    timer = threading.Timer(3.0, redis_server.resume)
    timer.start()
    try:
        proc = subprocess.run(
            watch_cmd("--url", redis_server.url, "--interval", "0.5", "--max-time", "30",
                      "--timeout", "0.5", "--json", "--save", str(tmp_path / "t.json")),
            capture_output=True, text=True, timeout=60)
    finally:
        timer.cancel()
        redis_server.resume()
    rounds = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0, proc.stderr
    assert rounds[0]["status"] != "healthy"
    assert rounds[0]["diagnosis"] == "server.unresponsive"
    assert rounds[-1]["status"] == "healthy" and rounds[-1]["diagnosis"] is None
    assert "server.unresponsive" in rounds[-1]["removed"]
    assert 1.0 < rounds[-1]["elapsed_s"] < 20  # resumed 3 s after the command started
    saved = json.loads((tmp_path / "t.json").read_text())
    assert saved["schema"] == "troubleshooter.watch/1" and len(saved["rounds"]) == len(rounds)


def test_watch_gives_up_at_max_time_with_exit_1() -> None:
    start = time.monotonic()
    proc = subprocess.run(watch_cmd("--url", "redis://127.0.0.1:1/0", "--interval", "0.3",
                                    "--max-time", "1"), capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 1
    assert time.monotonic() - start < 10
    lines = proc.stdout.strip().splitlines()
    assert "network.refused" in lines[1] and "(no change)" in lines[2]
    assert lines[-1].startswith("Still not healthy after 1 s")


def test_watch_healthy_at_once(redis_server: RedisServer) -> None:
    proc = subprocess.run(watch_cmd("--url", redis_server.url, "--max-time", "5"),
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0
    assert "Healthy at the first round" in proc.stdout


def test_watch_ctrl_c_exits_130() -> None:
    proc = subprocess.Popen(watch_cmd("--url", "redis://127.0.0.1:1/0", "--interval", "5",
                                      "--max-time", "60"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # the header: the loop has started
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 130
    finally:
        if proc.poll() is None:
            proc.kill()


def test_watch_password_never_printed(redis_server: RedisServer) -> None:
    proc = subprocess.run(watch_cmd("--url", "redis://:watchpw77@127.0.0.1:1/0",
                                    "--interval", "0.2", "--max-time", "0.5", "--json"),
                          capture_output=True, text=True, timeout=30)
    assert "watchpw77" not in proc.stdout + proc.stderr
