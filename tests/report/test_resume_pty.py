"""In a real terminal: ^C at step 3 of the shipped playbook, then `resume` asks step 3 again
(not steps 1-2), and step 6 offers the support bundle and says where it is."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pexpect
import pytest

from tests.report.conftest import TROUBLESHOOTER, sessions_dir
from troubleshooter.lab.server import RedisServer

pytestmark = [pytest.mark.timeout(90), pytest.mark.slow]

ENTER, CTRL_C = "\r", "\x03"
PASSWORD = "pty-resume-Pw-616"


def spawn(*args: str) -> pexpect.spawn:
    environ = {**os.environ, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
    child = pexpect.spawn(TROUBLESHOOTER, list(args), env=environ, encoding="utf-8",
                          timeout=20, dimensions=(40, 120))
    child.logfile_read = io.StringIO()
    return child


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus)


def test_interrupt_then_resume_in_a_terminal() -> None:
    server = RedisServer("--requirepass", PASSWORD).start()
    url = f"redis://:not-{PASSWORD}@127.0.0.1:{server.port}/0"  # server.auth_failed
    screens = []
    try:
        child = spawn("--url", url)
        try:
            child.expect("Which of these do the logs show")
            child.send(CTRL_C)
            child.expect("Session saved")
            child.expect("Continue it later: troubleshooter resume [0-9a-f]{8}")
            assert finish(child) == 130
        finally:
            child.close(force=True)
            screens.append(child.logfile_read.getvalue())  # type: ignore[union-attr]
        child = spawn("resume", "--url", url)
        try:
            child.expect("Resuming session [0-9a-f]{8} \\(it ended: interrupted\\)\\.")
            child.expect("Kept: Network connectivity, Redis server status; the step it "
                         "stopped in runs again.")
            for question in ("Which of these do the logs show", "What did you restart",
                             "use the same Redis URL", "listen to the queue",
                             "Write a support bundle"):
                child.expect(question)
                child.send(ENTER)
            child.expect("support bundle written:\\s+(\\S+\\.tar\\.gz)")  # wrapped, maybe
            bundle = Path(child.match.group(1))
            child.expect("Have you opened a ticket with the support bundle attached")
            child.send(ENTER)
            child.expect("server.auth_failed")
            assert finish(child) == 1
        finally:
            child.close(force=True)
            screens.append(child.logfile_read.getvalue())  # type: ignore[union-attr]
    finally:
        server.stop()
    assert "Traceback" not in "".join(screens)
    assert PASSWORD not in "".join(screens)
    [path] = sessions_dir().glob("*.json")
    doc = json.loads(path.read_text())
    assert [s["id"] for s in doc["steps"]] == ["network", "server", "logs", "restart",
                                               "configuration", "support"]
    assert doc["ended_by"] == "finished" and doc["mode"] == "interactive"
    assert doc["resumed"][0]["rerun_step"] == "logs"
    assert doc["resumed"][0]["after"] == "interrupted"
    with tarfile.open(bundle) as tar:
        assert any(n.endswith("/report.html") for n in tar.getnames())
