"""The one entry point: RunConfig from the arguments, run() -> Session, the exit code, and what
the terminal shows of skipped steps and long lines."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from troubleshooter import engine, playbook, wizard
from troubleshooter.cli import main
from troubleshooter.engine import Answered, RunOptions
from troubleshooter.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from troubleshooter.lab.relay import Forwarder
from troubleshooter.lab.server import RedisServer
from troubleshooter.playbook import Action, Step
from troubleshooter.runconfig import RunConfig
from troubleshooter.session import CheckRecord
from troubleshooter.target import parse_target
from troubleshooter.ui.console import make_console
from troubleshooter.ui.render import Renderer

pytestmark = pytest.mark.timeout(30)

ROOT = Path(__file__).resolve().parent.parent
NETWORK_ONLY = str(ROOT / "tests" / "resources" / "network-only.yaml")
GUIDED = playbook.loads("""
id: guided
title: Guided
steps:
  - id: first
    title: First
    guidance: "Checking {{ target.address }} first."
    actions:
      - {id: url, check: redis_url}
  - id: second
    title: Second
    when: "url.status == 'fail'"
    skip_note: the URL is fine
    guidance: "The URL is broken: fix it."
    actions:
      - {id: again, check: redis_url}
  - id: third
    title: Third
    guidance: "Then ask."
    actions:
      - {id: ok, prompt: confirm, question: "All good at {{ target.address }}?"}
""", "guided.yaml")


class Says:
    def __init__(self, reply: Any) -> None:
        self.reply = reply

    def ask(self, step: Step, action: Action, question: str) -> engine.Reply:
        if self.reply is KeyboardInterrupt:
            raise KeyboardInterrupt
        return Answered(self.reply)

    def confirm(self, step: Step, action: Action, question: str) -> bool:
        return False


def config(url: str = "redis://127.0.0.1:1/0", **options: Any) -> RunConfig:
    return RunConfig(GUIDED, parse_target(url), RunOptions(**{"timeout": 1.0, **options}))


# -- run() and the exit code -----------------------------------------------------------------------
def test_run_returns_the_session_and_the_exit_code_follows_it() -> None:
    seen: list[engine.Event] = []
    session = wizard.run(config(), Says(True), seen.append)
    assert (session.status, session.ended_by) == ("healthy", "finished")
    assert wizard.exit_code(session) == EXIT_OK
    started = [e for e in seen if isinstance(e, engine.StepStarted)]
    # Guidance arrives rendered; a skipped step brings none, and says why as a kind.
    assert [e.guidance for e in started] == ["Checking 127.0.0.1:1 first.", "", "Then ask."]
    assert [e.skip.kind if e.skip else None for e in started] == [None, "condition", None]


def test_after_ctrl_c_run_returns_the_interrupted_session() -> None:
    session = wizard.run(config(), Says(KeyboardInterrupt))
    assert (session.status, session.ended_by) == ("incomplete", "interrupted")
    assert wizard.exit_code(session) == EXIT_INTERRUPTED


def test_a_session_with_errors_exits_1() -> None:
    session = wizard.run(config("redis://:pw@host:notaport/0"), Says(True))
    assert session.has_errors and wizard.exit_code(session) == EXIT_PROBLEMS


# -- flags the playbook cannot use -------------------------------------------------------------
@pytest.mark.parametrize(("flag", "message"), [
    (["--log", "app.log"], "--log: playbook network-only has no `logs` variable, so it cannot "
                           "use --log (drop it, or run a playbook that declares `logs`)"),
    (["--queue", "emails"], "--queue: playbook network-only has no `app_queue` variable, so it "
                            "cannot use --queue (drop it, or run a playbook that declares "
                            "`app_queue`)"),
    (["--write-probe"], "--write-probe: playbook network-only has no write probe (drop the flag)"),
])
def test_a_flag_the_playbook_cannot_use_is_one_line_and_exit_2(
        flag: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", NETWORK_ONLY, "--url", "redis://127.0.0.1:1/0", "--non-interactive",
                 *flag])
    assert (code, capsys.readouterr().err) == (EXIT_USAGE, f"troubleshooter: error: {message}\n")


# -- what a person sees --------------------------------------------------------------------------
def screen(*events: engine.Event, width: int = 100, explain: bool = False) -> str:
    console = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    renderer = Renderer(console, guidance=True, explain=explain, plain=False)
    for event in events:
        renderer(event)
    return console.export_text()


def test_a_skipped_step_shows_no_guidance() -> None:
    shown: list[engine.Event] = []
    wizard.run(config(), Says(True), shown.append)
    text = screen(*shown)
    assert "Checking 127.0.0.1:1 first." in text and "Then ask." in text
    assert "The URL is broken" not in text
    assert "– step skipped: the URL is fine" in text


def test_on_a_narrow_terminal_wrapped_lines_stay_under_the_check() -> None:
    step = Step("s", "S")
    record = CheckRecord("tcp", "tcp_connect", "", {}, "fail",
                         "TCP connect to 127.0.0.1:6379 refused: nothing listens on that port "
                         "or a firewall rejects the connection", "", 12.0, 1.0)
    text = screen(engine.ChecksStarted(step, (Action("tcp", check="tcp_connect"),)),
                  engine.CheckFinished(step, record), width=40)
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    assert lines[0].startswith("  ✗ tcp  TCP connect")
    assert len(lines) > 2
    assert all(line.startswith("    ") and line[4] != " " for line in lines[1:])


def test_the_console_reads_the_environment_it_is_given() -> None:
    stream = io.StringIO()
    assert make_console(stream, environ={"NO_COLOR": "1"}).no_color
    assert not make_console(stream, environ={}).no_color
    assert make_console(stream, environ={"TERM": "dumb"}).color_system is None


# -- --deadline, whole process, behind a slow link -----------------------------------------------
def test_deadline_3_behind_a_300_ms_link_ends_within_3_5_s(
        redis_server: RedisServer, tmp_path: Path) -> None:
    relay = Forwarder(redis_server, delay_ms=300).start()
    try:
        start = time.monotonic()
        done = subprocess.run(
            [str(Path(sys.executable).parent / "troubleshooter"), "run", "--url", relay.url,
             "--non-interactive", "--json", "--deadline", "3", "--save",
             str(tmp_path / "s.json")],
            capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL,
            env=dict(os.environ))
        took = time.monotonic() - start
    finally:
        relay.close()
    doc = json.loads(done.stdout)
    assert took < 3.5, f"took {took:.2f} s"
    assert doc["status"] == "incomplete"
    summaries = [c["summary"] for s in doc["steps"] for c in s["checks"]]
    assert any(s.startswith("deadline: the run's 3 s deadline passed") for s in summaries)
    assert json.loads((tmp_path / "s.json").read_text()) == doc  # the transcript is written
