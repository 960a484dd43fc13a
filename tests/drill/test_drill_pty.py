"""The installed `troubleshooter drill` in a real pseudo-terminal: blind means blind, and the
drill always tears down (^C, SIGTERM) leaving no process, port or temp directory."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.drill.drillkit import Leftovers
from troubleshooter.drill import scenario as scenarios
from troubleshooter.drill.supervisor import Supervisor
from troubleshooter.findings import CATALOGUE

pytestmark = pytest.mark.timeout(90)
TROUBLESHOOTER = str(Path(sys.executable).parent / "troubleshooter")
ENTER, UP, CTRL_C = "\r", "\x1b[A", "\x03"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(autouse=True)
def no_drill_survives_a_failing_test(tmp_path: Path) -> Iterator[None]:
    """A failed assertion leaves the child to pexpect, which may SIGKILL it before its
    teardown: then stop what its state file names, as `drill --stop` would."""
    yield
    if state_file(tmp_path).exists():
        Supervisor.load(state_file(tmp_path)).teardown()


def spawn(state: Path, *args: str) -> pexpect.spawn:
    env = {**os.environ, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1",
           "XDG_STATE_HOME": str(state)}
    child = pexpect.spawn(TROUBLESHOOTER, ["drill", *args], env=env, encoding="utf-8",
                          timeout=30, dimensions=(40, 120))
    child.logfile_read = io.StringIO()
    return child


def screen(child: pexpect.spawn) -> str:
    return ANSI.sub("", child.logfile_read.getvalue())


def state_file(state: Path) -> Path:
    return state / "troubleshooter" / "drills" / "current.json"


@pytest.mark.parametrize(("name", "giveaways"), [
    ("oom", ("maxmemory", "OOM", "used_memory")),
    pytest.param("wrong-password", ("WRONGPASS", "invalid username-password"),
                 marks=pytest.mark.slow),
    pytest.param("worker-killed", ("orphan", "started registry", "requeue"),
                 marks=pytest.mark.slow),
])
def test_nothing_on_screen_names_the_cause_before_the_diagnosis_question(
    name: str, giveaways: tuple[str, ...], tmp_path: Path,
) -> None:
    scenario = scenarios.load_all()[name]
    child = spawn(tmp_path, name, "--timeout", "1")
    child.expect("Your name")
    child.send(ENTER)
    for _ in range(6):  # every step, straight on (no look, no hint)
        child.expect("What do you do")
        child.send(ENTER)
    child.expect("What is your diagnosis")
    before = screen(child).rpartition("What is your diagnosis")[0]
    assert "Step 6/6" in before and scenario.title in before
    for code in scenario.diagnosis:
        assert code not in before
        assert CATALOGUE[code].title not in before
    for word in (*giveaways, "✗", "FAIL", "diagnosis:"):
        assert word not in before
    child.send(ENTER)  # the first cause offered
    child.expect("remedy")
    child.send(ENTER)
    child.expect("Fix it for real")
    child.send(UP + ENTER)  # the menu cycles: up from the first is the last, "Give up"
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert "Score   " in screen(child)
    assert not state_file(tmp_path).exists()


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "ctrl-d",
                                 pytest.param("sighup", marks=pytest.mark.slow)])
def test_an_interrupted_drill_leaves_nothing_behind(how: str, tmp_path: Path) -> None:
    child = spawn(tmp_path, "worker-killed", "--timeout", "1")
    child.expect("Your name")
    child.send(ENTER)
    child.expect("What do you do")
    left = Leftovers()
    left.note(state_file(tmp_path))
    assert len(left.pids) == 2 and left.ports and left.dirs  # redis and a (killed) worker
    assert any(d.exists() for d in left.dirs)
    if how in ("ctrl-c", "ctrl-d"):
        child.send(CTRL_C if how == "ctrl-c" else "\x04")
    else:
        child.kill(signal.SIGTERM if how == "sigterm" else signal.SIGHUP)
    child.expect(pexpect.EOF)
    child.close()
    expected = {"ctrl-c": 130, "ctrl-d": 4, "sigterm": 128 + signal.SIGTERM,
                "sighup": 128 + signal.SIGHUP}
    assert (child.exitstatus or child.signalstatus and 128 + child.signalstatus) == \
        expected[how], screen(child)[-2000:]
    assert left.left() == []
    assert not state_file(tmp_path).exists()
    assert "Traceback" not in screen(child)


def test_setup_only_leaves_it_running_for_a_class_and_stop_ends_it(tmp_path: Path) -> None:
    import subprocess

    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([TROUBLESHOOTER, "drill", *args], capture_output=True, text=True,
                              env=env, stdin=subprocess.DEVNULL, timeout=60)

    done = run("wrong-password", "--setup-only")
    left = Leftovers()
    try:
        assert done.returncode == 0, done.stderr
        left.note(state_file(tmp_path))
        lines = done.stdout.splitlines()
        url = lines[-1]
        assert re.fullmatch(r"redis://:\*\*\*\*\([0-9a-f]{4}\)@127\.0\.0\.1:\d+/0", url), url
        assert "troubleshooter drill --stop" in done.stdout
        data = json.loads(state_file(tmp_path).read_text())
        app_env = (Path(data["dir"]) / "app.env").read_text()
        password = app_env.split(":", 2)[2].split("@")[0].lstrip("/:")
        assert password and password not in done.stdout + done.stderr
        # The state file outlives the drill's processes: private, and without the password.
        assert password not in state_file(tmp_path).read_text()
        assert state_file(tmp_path).stat().st_mode & 0o777 == 0o600
        assert len(left.pids) == 2 and left.left()  # redis and its worker still run
        again = run("oom")
        assert again.returncode == 2
        assert again.stderr.splitlines() == [
            "troubleshooter: error: drill wrong-password is still set up: end it with "
            "`troubleshooter drill --stop`"]
        restarted = run("--restart", "redis")
        assert restarted.returncode == 0 and restarted.stdout.startswith("Restarted redis (pid ")
        left.note(state_file(tmp_path))
    finally:
        stopped = run("--stop")
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.startswith("Stopped drill wrong-password: 2 process(es)")
    assert left.left() == []
    assert run("--stop").stdout == "No drill is set up.\n"
