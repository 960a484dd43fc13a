"""The installed command in a real pseudo-terminal, answered with keys, against a real Redis."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest

from troubleshooter.lab.server import RedisServer

pytestmark = pytest.mark.timeout(60)

TROUBLESHOOTER = str(Path(sys.executable).parent / "troubleshooter")
ROOT = Path(__file__).resolve().parent.parent
NETWORK_ONLY = str(ROOT / "tests" / "resources" / "network-only.yaml")
OUTAGE = ROOT / "playbooks" / "redis-outage.yaml"
DOWN, ENTER, SPACE, CTRL_C = "\x1b[B", "\r", " ", "\x03"
PASSWORD = "pty-Pa55word-xyz"

TWO_STEPS = """
id: two-steps
title: Two steps
steps:
  - id: network
    title: Network connectivity
    guidance: "Can this host reach {{ target.address }}?"
    actions:
      - {id: tcp, check: tcp_connect}
      - {id: resp, check: resp_probe, when: "tcp.status == 'pass'"}
      - {id: seen, prompt: confirm, question: "Did you check the firewall?", default: true}
  - id: logs
    title: Logs
    actions:
      - id: log_lines
        prompt: checklist
        question: "Which of these do the logs show?"
        choices: [Connection refused, Timeout]
      - id: restarted
        prompt: select
        question: "What did you restart?"
        choices: [Redis, Nothing]
        default: Nothing
      - {id: ticket, prompt: text, question: "Ticket number?", default: none}
"""


def spawn(*args: str, command: str = TROUBLESHOOTER, **env: str) -> pexpect.spawn:
    """The command in a 40x120 pty, as a person's shell would start it."""
    environ = {**os.environ, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1", **env}
    child = pexpect.spawn(command, list(args), env=environ, encoding="utf-8", timeout=15,
                          dimensions=(40, 120))
    child.logfile_read = io.StringIO()  # the whole screen, to look for the password later
    return child


def screen(child: pexpect.spawn) -> str:
    log = child.logfile_read
    assert isinstance(log, io.StringIO)
    return log.getvalue()


def finish(child: pexpect.spawn) -> int:
    """Wait for the end; return the exit status."""
    child.expect(pexpect.EOF)
    child.close()
    assert child.signalstatus is None
    return int(child.exitstatus)


def saved_session() -> dict[str, Any]:
    [path] = (Path(os.environ["XDG_STATE_HOME"]) / "troubleshooter" / "sessions").glob("*.json")
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


@pytest.fixture
def auth_server() -> Any:
    server = RedisServer("--requirepass", PASSWORD)
    try:
        yield server.start()
    finally:
        server.stop()


def test_skip_one_step_then_enter_through(auth_server: RedisServer, tmp_path: Path) -> None:
    playbook = tmp_path / "two-steps.yaml"
    playbook.write_text(TWO_STEPS)
    child = spawn(str(playbook), "--url", f"redis://:{PASSWORD}@127.0.0.1:{auth_server.port}/0")
    try:
        child.expect(f"Can this host reach 127.0.0.1:{auth_server.port}")
        child.expect("Did you check the firewall")
        child.expect("Quit the wizard")
        time.sleep(0.3)  # long enough for a left-over spinner to redraw over the prompt
        child.send(DOWN * 2 + ENTER)  # Yes, No, Skip
        child.expect("Why skip this step")
        assert "checking" not in child.before
        child.send("firewall is not ours" + ENTER)
        child.expect("step skipped: skipped by the operator: firewall is not ours")
        for question in ("Which of these do the logs show", "What did you restart",
                         "Ticket number"):
            child.expect(question)
            child.send(ENTER)
        child.expect("No problem found.")
        assert finish(child) == 0
    finally:
        child.close(force=True)
    doc = saved_session()
    assert doc["mode"] == "interactive"
    assert [(s["id"], s["status"]) for s in doc["steps"]] == [
        ("network", "skipped"), ("logs", "passed")]
    assert doc["steps"][0]["reason"] == "skipped by the operator: firewall is not ours"
    assert [(a["id"], a["answer"]) for a in doc["steps"][1]["answers"]] == [
        ("log_lines", []), ("restarted", "Nothing"), ("ticket", "none")]
    assert PASSWORD not in screen(child) + json.dumps(doc)


def test_ctrl_c_at_a_prompt_exits_130(redis_server: RedisServer) -> None:
    child = spawn(NETWORK_ONLY, "--url", redis_server.url)
    try:
        child.expect("Did you check the firewall")
        child.send(CTRL_C)
        child.expect("Interrupted; what was done is kept.")
        child.expect("Session saved")
        assert finish(child) == 130
    finally:
        child.close(force=True)
    assert "Traceback" not in screen(child)
    doc = saved_session()
    assert (doc["status"], doc["ended_by"]) == ("incomplete", "interrupted")


def test_ctrl_c_while_a_check_hangs_exits_130(redis_server: RedisServer) -> None:
    redis_server.pause()  # SIGSTOP: the TCP connect succeeds, PING never gets its reply
    child = spawn(NETWORK_ONLY, "--url", redis_server.url, "--timeout", "60")
    try:
        child.expect("checking resp")
        child.send(CTRL_C)
        child.expect("Interrupted; what was done is kept.")
        assert "\x1b[?25h" in child.before  # the spinner gave the cursor back
        assert finish(child) == 130
    finally:
        child.close(force=True)
    assert saved_session()["ended_by"] == "interrupted"


def test_non_interactive_in_a_terminal_never_waits(redis_server: RedisServer) -> None:
    child = spawn(NETWORK_ONLY, "--url", redis_server.url, "--non-interactive")
    try:
        child.expect("pending: a manual action for the operator")
        assert finish(child) == 0
    finally:
        child.close(force=True)
    assert saved_session()["mode"] == "non-interactive"


def test_json_on_a_redirected_stdout_keeps_prompts_on_the_terminal(
        redis_server: RedisServer, tmp_path: Path) -> None:
    out = tmp_path / "session.json"
    child = redirected(out, NETWORK_ONLY, "--url", redis_server.url, "--json")
    try:
        child.expect("Step 1/1")
        child.expect("Did you check the firewall")
        child.send(DOWN + ENTER)
        child.expect("Session saved")
        assert finish(child) == 0
    finally:
        child.close(force=True)
    doc = json.loads(out.read_text())
    assert doc["mode"] == "interactive"
    assert doc["steps"][0]["answers"][0]["answer"] is False


def test_output_to_a_file_still_prompts_on_the_terminal(
        redis_server: RedisServer, tmp_path: Path) -> None:
    out = tmp_path / "run.txt"
    child = redirected(out, NETWORK_ONLY, "--url", redis_server.url)
    try:
        child.expect("Did you check the firewall", timeout=5)
        child.send(ENTER)
        assert finish(child) == 0
    finally:
        child.close(force=True)
    assert "Step 1/1 · Network connectivity" not in screen(child)
    assert "No problem found." in out.read_text()
    assert "Use arrow keys" not in out.read_text()


def redirected(out: Path, *args: str) -> pexpect.spawn:
    """`troubleshooter ARGS > out` typed at a terminal: stdin and stderr stay the terminal."""
    return spawn("-c", f'exec "$0" "$@" > {out}', TROUBLESHOOTER, *args, command="/bin/sh")


# -- the shipped outage playbook ------------------------------------------------------------------
def _outage_problem() -> str | None:
    done = subprocess.run([TROUBLESHOOTER, "validate", str(OUTAGE)], capture_output=True,
                          text=True, timeout=30)
    return None if done.returncode == 0 else done.stderr.strip().splitlines()[0]


OUTAGE_PROBLEM = _outage_problem()
needs_outage = pytest.mark.skipif(
    OUTAGE_PROBLEM is not None,
    reason=f"`troubleshooter validate playbooks/redis-outage.yaml` fails: {OUTAGE_PROBLEM}")
# What each kind of questionary prompt shows while it waits for an answer.
WAITING = [r"\(Use arrow keys\)", r"Space: tick · Enter: confirm", r"\(Enter accepts;",
           r"Go ahead\?"]


@needs_outage
def test_outage_playbook_enter_through_to_the_end(auth_server: RedisServer) -> None:
    # `troubleshooter` alone: the outage playbook against $RQ_REDIS_URL.
    child = spawn(RQ_REDIS_URL=f"redis://:{PASSWORD}@127.0.0.1:{auth_server.port}/0")
    prompts = 0
    try:
        child.expect("Step 1/6 · Network connectivity")
        while child.expect([*WAITING, pexpect.EOF]) < len(WAITING):
            prompts += 1
            assert prompts < 20, "the wizard keeps asking"
            child.send(ENTER)
        child.close()
    finally:
        child.close(force=True)
    assert child.exitstatus in (0, 1)
    doc = saved_session()
    assert doc["ended_by"] == "finished"
    assert doc["target"]["source"] == "RQ_REDIS_URL"
    assert [s["id"] for s in doc["steps"]] == [
        "network", "server", "logs", "restart", "configuration", "support"]
    # The two configuration questions at least (step 3 scans the server's own log instead of
    # asking for a checklist).
    assert prompts >= 2
    assert PASSWORD not in screen(child) + json.dumps(doc)


def test_a_dumb_terminal_gets_numbered_prompts(auth_server: RedisServer, tmp_path: Path) -> None:
    playbook = tmp_path / "two-steps.yaml"
    playbook.write_text(TWO_STEPS)
    child = spawn(str(playbook), "--url", f"redis://:{PASSWORD}@127.0.0.1:{auth_server.port}/0",
                  TERM="dumb")
    child.expect_exact("Did you check the firewall?")
    child.expect_exact("[1] (s = skip this step, q = quit): ")
    child.sendline("")  # Enter: the default, Yes
    child.expect_exact("Which of these do the logs show?")
    child.expect_exact("numbers, comma-separated [none]")
    child.sendline("3")  # out of range: asked again, not taken
    child.expect_exact("please answer numbers, comma-separated from 1 to 2")
    child.sendline("1,2")
    child.expect_exact("What did you restart?")
    child.sendline("s")
    child.expect_exact("Why skip this step? [not applicable]: ")
    child.sendline("on call for the web tier only")
    assert finish(child) == 0
    text = screen(child)
    assert "\x1b[" not in text  # no cursor movement, no colour: a dumb terminal
    assert PASSWORD not in text
    network, logs = saved_session()["steps"]
    assert [(a["id"], a["answer"]) for a in network["answers"]] == [("seen", True)]
    assert logs["answers"][0]["answer"] == ["Connection refused", "Timeout"]
    assert (logs["status"], logs["reason"]) == (
        "skipped", "skipped by the operator: on call for the web tier only")
