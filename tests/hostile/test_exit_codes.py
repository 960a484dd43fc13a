"""The exit-code contract, end to end with the installed command, for every code:
0 healthy, 1 error finding, 2 usage, 3 internal error (with its crash log), 4 incomplete,
5 output failed, 130 ^C, 143/129 SIGTERM/SIGHUP after restoring the terminal."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest

from troubleshooter.lab.server import RedisServer

pytestmark = pytest.mark.timeout(60)

BIN = Path(sys.executable).parent
TROUBLESHOOTER = str(BIN / "troubleshooter")
ROOT = Path(__file__).resolve().parent.parent.parent
NETWORK_ONLY = str(ROOT / "tests" / "resources" / "network-only.yaml")
REFUSED = "redis://127.0.0.1:1/0"
PROMPT_STEPS = """
id: prompts
title: Prompts
steps:
  - id: ask
    title: Questions
    actions:
      - {id: ticket, prompt: text, question: "Ticket number?"}
      - {id: seen, prompt: confirm, question: "Did you look?"}
"""


def run(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **kwargs}
    return subprocess.run([TROUBLESHOOTER, *args], text=True, timeout=45,
                          stdin=subprocess.DEVNULL, **streams)


def state() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "troubleshooter"


def saved() -> dict[str, Any]:
    [path] = (state() / "sessions").glob("*.json")
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def test_0_healthy_and_complete(redis_server: RedisServer) -> None:
    done = run(NETWORK_ONLY, "--url", redis_server.url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert saved()["status"] == "healthy"


def test_1_an_error_finding() -> None:
    done = run(NETWORK_ONLY, "--url", REFUSED)
    assert done.returncode == 1, done.stdout + done.stderr
    assert saved()["diagnosis"]["code"] == "network.refused"


def test_2_usage() -> None:
    done = run("--timeout", "soon")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("troubleshooter: error: argument --timeout: not a number")


def test_3_internal_error_with_a_private_crash_log(tmp_path: Path) -> None:
    # A bug cannot be produced for real: sitecustomize makes the run itself raise.
    (tmp_path / "sitecustomize.py").write_text(
        "import troubleshooter.cli as cli\n"
        "def boom(args, environ):\n"
        "    raise RuntimeError('a bug at redis://:hunter2@db:6379/0 with envpw-77')\n"
        "cli._dispatch = boom\n")
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    state().mkdir(parents=True)
    (state() / "crash.log").symlink_to(victim)  # planted: must not be written through
    done = run(NETWORK_ONLY, env={**os.environ, "PYTHONPATH": str(tmp_path),
                                  "REDISCLI_AUTH": "envpw-77"})
    log = state() / "crash.log"
    assert done.returncode == 3, done.stderr
    assert done.stderr == ("troubleshooter: internal error: RuntimeError: a bug at "
                           f"redis://:***@db:6379/0 with ***; details in {log}\n")
    assert victim.read_text() == "untouched"
    info = log.lstat()
    assert stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o600
    assert stat.S_IMODE(state().stat().st_mode) == 0o700
    assert "Traceback" in log.read_text() and "RuntimeError" in log.read_text()
    assert "hunter2" not in log.read_text() and "envpw-77" not in log.read_text()


def test_5_output_that_cannot_be_written(redis_server: RedisServer) -> None:
    with open("/dev/full", "w") as full:
        done = run(NETWORK_ONLY, "--url", redis_server.url, stdout=full)
    assert done.returncode == 5
    assert done.stderr == ("troubleshooter: error: cannot write to standard output: "
                           "No space left on device\n")
    assert saved()["status"] == "healthy"  # the run went on; its transcript is saved


@pytest.mark.parametrize("shell", [
    '"$T" "$P" --url "$U" >&-; echo "exit=$?"',
    '"$T" "$P" --url "$U" | head -c1 >/dev/null; echo "exit=${PIPESTATUS[0]}"',
    '"$T" "$P" --url "$U" 2>&-; echo "exit=$?"',
    '"$T" "$P" --url "$U" --json >/dev/full 2>&1; echo "exit=$?"',
], ids=["stdout-closed", "broken-pipe", "stderr-closed", "both-full"])
def test_closed_or_full_outputs_never_show_a_traceback(shell: str,
                                                       redis_server: RedisServer) -> None:
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=45,
                          env={**os.environ, "T": TROUBLESHOOTER, "P": NETWORK_ONLY,
                               "U": redis_server.url})
    assert "Traceback" not in done.stdout + done.stderr
    code = done.stdout.strip().splitlines()[-1]
    if "2>&-" in shell:  # nothing to report: the human output on stdout went through
        assert code == "exit=0"
        assert "No problem found." in done.stdout
    else:
        assert code == "exit=5"
        if "2>&1" not in shell:
            assert done.stderr.startswith("troubleshooter: error: cannot write to standard "
                                          "output: ")
            assert len(done.stderr.splitlines()) == 1


def test_a_closed_stdin_is_a_non_interactive_run(redis_server: RedisServer) -> None:
    done = subprocess.run(["bash", "-c", '"$T" "$P" --url "$U" <&-'], capture_output=True,
                          text=True, timeout=45, env={**os.environ, "T": TROUBLESHOOTER,
                                                      "P": NETWORK_ONLY, "U": redis_server.url})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "mode    non-interactive" in done.stdout


# -- at a prompt, in a real terminal --------------------------------------------------------
def spawn_in_shell(tmp_path: Path, redis_server: RedisServer) -> pexpect.spawn:
    """The command at a questionary prompt in a pty, run by a shell that then reports the exit
    status and the terminal's modes, as a person would see them after it."""
    playbook = tmp_path / "prompts.yaml"
    playbook.write_text(PROMPT_STEPS)
    child = in_shell(str(playbook), "--url", redis_server.url)
    child.expect("Ticket number")
    return child


def in_shell(*args: str) -> pexpect.spawn:
    script = ('"$T" "$@"; echo "exit=$?"; stty -a | tr -s " ;\\n" "\\n\\n\\n" '
              '| grep -E "^-?(icanon|echo)$" | tr "\\n" " "; echo; echo done')
    environ = {**os.environ, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1",
               "T": TROUBLESHOOTER}
    child = pexpect.spawn("bash", ["--norc", "--noprofile", "-c", script, "sh", *args],
                          env=environ, encoding="utf-8", timeout=20, dimensions=(40, 120))
    child.logfile_read = io.StringIO()
    return child


def troubleshooter_pid(shell_pid: int) -> int:
    children = Path(f"/proc/{shell_pid}/task/{shell_pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def ending(child: pexpect.spawn) -> tuple[int, str, str]:
    """The exit status and terminal modes the shell saw, and everything on the screen."""
    child.expect(r"exit=(\d+)")
    code = int(child.match.group(1))
    child.expect("done")
    modes = child.before.strip()
    child.expect(pexpect.EOF)
    log = child.logfile_read
    assert isinstance(log, io.StringIO)
    return code, modes, log.getvalue()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_terminated_at_a_prompt_restores_the_terminal_and_saves(
        signum: int, code: int, tmp_path: Path, redis_server: RedisServer) -> None:
    child = spawn_in_shell(tmp_path, redis_server)
    try:
        time.sleep(0.3)  # the prompt has put the terminal in raw mode
        os.kill(troubleshooter_pid(child.pid), signum)
        got, modes, screen = ending(child)
    finally:
        child.close(force=True)
    assert got == code
    assert modes.split() == ["icanon", "echo"]  # cooked mode, echo on: as before the run
    assert screen.rfind("\x1b[?25h") > screen.rfind("\x1b[?25l")  # the cursor is shown
    assert "Traceback" not in screen
    doc = saved()
    assert (doc["ended_by"], doc["status"]) == ("terminated", "incomplete")


@pytest.mark.parametrize(("keys", "code", "ended_by"), [
    ("\x04", 4, "quit"),  # ^D at a text prompt: quit, as choosing Quit
    ("!quit\r", 4, "quit"),
    ("\x03", 130, "interrupted"),
])
def test_quit_eof_and_ctrl_c_at_a_prompt(keys: str, code: int, ended_by: str, tmp_path: Path,
                                         redis_server: RedisServer) -> None:
    child = spawn_in_shell(tmp_path, redis_server)
    try:
        child.send(keys)
        got, modes, screen = ending(child)
    finally:
        child.close(force=True)
    assert got == code
    assert modes.split() == ["icanon", "echo"]
    assert "Traceback" not in screen and "internal error" not in screen
    assert saved()["ended_by"] == ended_by


def test_a_terminal_that_goes_away_at_a_prompt_exits_129_and_saves(
        tmp_path: Path, redis_server: RedisServer) -> None:
    playbook = tmp_path / "prompts.yaml"
    playbook.write_text(PROMPT_STEPS)
    environ = {**os.environ, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
    child = pexpect.spawn(TROUBLESHOOTER, [str(playbook), "--url", redis_server.url],
                          env=environ, encoding="utf-8", timeout=20)
    child.expect("Ticket number")
    time.sleep(0.3)
    child.close(force=False)  # the terminal window closes: the kernel sends SIGHUP
    assert (child.exitstatus, child.signalstatus) == (129, None)
    assert saved()["ended_by"] == "terminated"


def test_terminated_while_checks_run_shows_the_cursor_again(tmp_path: Path) -> None:
    # Accepts connections (the kernel's backlog) and never answers: the checks wait.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        child = in_shell(NETWORK_ONLY, "--url", f"redis://127.0.0.1:{port}/0", "--timeout", "20")
        try:
            child.expect("checking")  # the spinner is up, the cursor hidden
            time.sleep(0.3)
            os.kill(troubleshooter_pid(child.pid), signal.SIGTERM)
            got, modes, screen = ending(child)
        finally:
            child.close(force=True)
    assert got == 143
    assert modes.split() == ["icanon", "echo"]
    assert screen.rfind("\x1b[?25h") > screen.rfind("\x1b[?25l") > 0
    assert saved()["ended_by"] == "terminated"
