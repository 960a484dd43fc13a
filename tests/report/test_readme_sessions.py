"""The README's session commands run as written, in order, on real sessions: two runs killed
mid-step (so there is something to resume), then every line of the README's block, with its
example id replaced by the real one."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from tests.report.conftest import ROOT, TROUBLESHOOTER, sessions_dir
from troubleshooter.lab.server import RedisServer

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

EXAMPLE_ID = "3f9c2a1b"


def readme_block() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    [block] = re.findall(r"```shell\n(.*?)```", readme, re.S)
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def killed_run(url: str) -> str:
    """A run killed while its first step waits on a stopped server: its trace id."""
    known = set(sessions_dir().glob("*.json")) if sessions_dir().exists() else set()
    child = subprocess.Popen([TROUBLESHOOTER, "run", "--non-interactive", "--url", url,
                              "--timeout", "30"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            new = set(sessions_dir().glob("*.json")) - known if sessions_dir().exists() else set()
            if new:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the run never saved its session")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    [path] = new
    return path.stem.rsplit("-", 1)[1]


def test_the_readme_session_commands(tmp_path: Path) -> None:
    server = RedisServer().start()
    try:
        server.pause()
        older = killed_run(server.url)
        time.sleep(1.1)  # started_at orders the sessions
        killed_run(server.url)
        server.resume()
        env = {**os.environ, "REDIS_URL": server.url}
        for line in readme_block():
            line = os.path.expandvars(line.replace(EXAMPLE_ID, older).replace(
                "$REDIS_URL", server.url))
            done = subprocess.run([TROUBLESHOOTER, *shlex.split(line)[1:]], capture_output=True,
                                  text=True, env=env, cwd=tmp_path, timeout=60,
                                  stdin=subprocess.DEVNULL)
            assert done.returncode == 0, (line, done.stdout, done.stderr)
            assert "Traceback" not in done.stderr
    finally:
        server.stop()
    assert (tmp_path / "incident.html").read_text().startswith("<!DOCTYPE html>")
    with tarfile.open(tmp_path / "support.tar.gz") as tar:
        assert "support/REDACTIONS.txt" in tar.getnames()
