"""The installed command in a real pty: a hung Redis under a real supervisord, the exact restart
command shown before the person confirms it, then Redis and the worker verified back."""

from __future__ import annotations

import io
import os
import signal
import sys
from pathlib import Path

import pexpect
import pytest

from tests.service.supervisor import Supervisor, supervisor_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
TROUBLESHOOTER = str(Path(sys.executable).parent / "troubleshooter")
DOWN, ENTER = "\x1b[B", "\r"


def test_a_person_confirms_the_shown_command_and_sees_redis_back() -> None:
    with Supervisor() as sv:
        old = sv.pid("redis")
        os.kill(old, signal.SIGSTOP)
        env = {**supervisor_env(), "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
        child = pexpect.spawn(TROUBLESHOOTER, ["--url", sv.url, "--queue", sv.queue,
                                               "--timeout", "1", "--var",
                                               f"supervisor_conf={sv.conf}"],
                              env=env, encoding="utf-8", timeout=30, dimensions=(40, 160))
        child.logfile_read = io.StringIO()
        try:
            child.expect("Which of these do the logs show")
            child.send(ENTER)
            child.expect("supervisor program redis \\(its process listens on the port\\)")
            child.expect(f"will run: supervisorctl -c {sv.conf} restart redis")
            child.expect("This changes the target. Go ahead?")
            assert sv.pid("redis") == old  # nothing ran before the answer
            child.send(DOWN + ENTER)  # No -> Yes
            child.expect(f"Redis at 127.0.0.1:{sv.port} answers PING again", timeout=60)
            child.expect(f"will run: supervisorctl -c {sv.conf} restart rqworker")
            child.expect("Go ahead?")
            child.send(DOWN + ENTER)
            child.expect(f"workers registered again on {sv.queue}", timeout=60)
            # Step 5 asked nothing (the worker told); step 6 asks about a bundle, then a ticket.
            child.expect("Write a support bundle")
            child.send(DOWN + ENTER)  # No
            child.expect("Have you opened a ticket")
            child.send(ENTER)
            child.expect(pexpect.EOF)
        finally:
            child.close()
        shown = child.logfile_read.getvalue()
        assert "Do the workers listen to the queue" not in shown
        assert sv.pid("redis") not in (0, old)
