"""`resume`: a run SIGKILLed in the middle of a step loses at most that step.

A real subprocess is killed while its second step waits on a stopped (SIGSTOPped) redis-server;
`resume` then keeps step 1 (its check and its answer), runs step 2 again against the server,
now continued, and the transcript says so.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.report.conftest import TROUBLESHOOTER, run, sessions_dir
from troubleshooter.lab.server import RedisServer

pytestmark = [pytest.mark.timeout(90), pytest.mark.slow]

PLAYBOOK = """\
id: resumable
title: Resumable
steps:
  - id: first
    title: First
    actions:
      - {id: url, check: redis_url}
      - {id: seen, prompt: confirm, question: "Seen the dashboard?", default: false}
  - id: second
    title: Second
    actions:
      - {id: resp, check: resp_probe, timeout: 25}
  - id: third
    title: Third
    actions:
      - {id: more, prompt: confirm, question: "Anything else?", default: false}
"""


def transcript() -> dict:
    paths = list(sessions_dir().glob("*.json"))
    return json.loads(paths[0].read_text()) if paths else {}


def wait_for(predicate: object, seconds: float = 20) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        doc = transcript()  # never half a file: the writes are atomic
        if doc and predicate(doc):  # type: ignore[operator]
            return doc
        time.sleep(0.05)
    raise AssertionError(f"the transcript never got there: {transcript()}")


def test_sigkill_mid_step_loses_only_that_step(tmp_path: Path) -> None:
    playbook = tmp_path / "resumable.yaml"
    playbook.write_text(PLAYBOOK)
    answers = tmp_path / "answers.yaml"
    answers.write_text("seen: true\n")
    server = RedisServer().start()
    try:
        server.pause()
        child = subprocess.Popen(
            [TROUBLESHOOTER, "run", str(playbook), "--url", server.url, "--timeout", "30",
             "--non-interactive", "--answers", str(answers)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            # Step 1 done (its check and answer saved), step 2 hanging on the stopped server.
            wait_for(lambda d: d["steps"] and d["steps"][0]["finished_at"])
            time.sleep(0.5)
            before = transcript()
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        finally:
            if child.poll() is None:
                child.kill()
        assert before["ended_by"] == "running" and transcript() == before
        assert [s["finished_at"] is not None for s in before["steps"]] in ([True],
                                                                          [True, False])
        server.resume()
        listed = run("sessions").stdout
        assert f"{before['trace_id'][:8]} " in listed and "(running)" in listed

        done = run("resume", "--non-interactive")
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"Resuming session {before['trace_id'][:8]}" in done.stdout
        after = transcript()
    finally:
        server.stop()
    assert len(list(sessions_dir().glob("*.json"))) == 1  # the same session, continued
    assert after["trace_id"] == before["trace_id"]
    assert after["started_at"] == before["started_at"]
    assert after["ended_by"] == "finished" and after["status"] == "healthy"
    first, second, third = after["steps"]
    assert first == before["steps"][0]  # kept as it was: its check and its answer
    assert first["answers"][0]["answer"] is True and first["answers"][0]["source"] == \
        "answers-file"
    assert second["checks"][0]["status"] == "pass"  # run again, now the server answers
    assert second["finished_at"]
    assert third["answers"][0]["status"] == "pending"
    [note] = after["resumed"]
    assert note["after"] == "running" and note["kept_steps"] == ["first"]
    assert note["rerun_step"] == "second"
    assert note["discarded"] == {"checks": 0, "answers": 0}
    report = run("report").stdout
    assert "session resumed" in report and "step second run again" in report
    assert os.stat(sessions_dir()).st_mode & 0o777 == 0o700


def test_a_session_started_with_a_password_file_resumes_with_it(tmp_path: Path) -> None:
    # The transcript never keeps the password: resume takes it again as run did.
    playbook = tmp_path / "resumable.yaml"
    # Step 2 authenticates: it passes only with the password.
    playbook.write_text(PLAYBOOK.replace("{id: resp, check: resp_probe, timeout: 25}",
                                         "{id: ping, check: redis_ping, timeout: 25}"))
    answers = tmp_path / "answers.yaml"
    answers.write_text("seen: true\n")
    secret = tmp_path / "pw"
    secret.write_text("resume-Pw-8q\n")
    server = RedisServer("--requirepass", "resume-Pw-8q").start()
    try:
        server.pause()
        child = subprocess.Popen(
            [TROUBLESHOOTER, "run", str(playbook), "--url", server.url, "--timeout", "30",
             "--non-interactive", "--answers", str(answers), "--password-file", str(secret)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda d: d["steps"] and d["steps"][0]["finished_at"])
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        finally:
            if child.poll() is None:
                child.kill()
        server.resume()
        without = run("resume", "--non-interactive")
        done = run("resume", "--non-interactive", "--password-file", str(secret))
        after = transcript()
    finally:
        server.stop()
    assert without.returncode == 2
    assert "or the password with --password-file or --ask-password" in without.stderr
    assert done.returncode == 0, done.stdout + done.stderr
    assert after["ended_by"] == "finished" and after["status"] == "healthy"
    assert after["steps"][1]["checks"][0]["id"] == "ping"
    assert after["steps"][1]["checks"][0]["status"] == "pass"  # AUTH worked: it was given
    assert "resume-Pw-8q" not in json.dumps(after) + done.stdout + done.stderr
