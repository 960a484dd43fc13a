"""The wizard in-process: a person on pipe input walks whole playbooks against a real Redis."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from troubleshooter import library, playbook, wizard
from troubleshooter.checks import CHECKS
from troubleshooter.engine import Engine, RunOptions
from troubleshooter.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_PROBLEMS, UsageError
from troubleshooter.lab.server import RedisServer
from troubleshooter.playbook import Playbook
from troubleshooter.runconfig import RunConfig
from troubleshooter.session import Session
from troubleshooter.target import parse_target
from troubleshooter.ui.prompts import Person
from troubleshooter.ui.render import Renderer, render_summary
from troubleshooter.ui.view import Output

pytestmark = pytest.mark.timeout(30)

DOWN, ENTER, CTRL_C = "\x1b[B", "\r", "\x03"
PASSWORD = "wiz-Pa55word-xyz"
ROOT = Path(__file__).resolve().parent.parent
OUTAGE = ROOT / "playbooks" / "redis-outage.yaml"

# Four steps, every prompt kind, a check after a prompt (skipped with its step).
WALK = playbook.loads("""
id: walk
title: Walkthrough
steps:
  - id: network
    title: Network connectivity
    guidance: "Can this host reach `{{ target.address }}`?"
    actions:
      - {id: url, check: redis_url}
      - {id: tcp, check: tcp_connect}
      - {id: resp, check: resp_probe, when: "tcp.status == 'pass'"}
      - id: seen
        prompt: confirm
        question: "Did you check the firewall for {{ target.address }}?"
        default: true
  - id: logs
    title: Logs
    actions:
      - id: log_lines
        prompt: checklist
        question: Which of these do the logs show?
        choices: [Connection refused, Timeout]
        default: []
      - {id: again, check: tcp_connect}
  - id: restart
    title: Restarting services
    actions:
      - {id: restarted, prompt: select, question: "What did you restart?",
         choices: [Redis, RQ workers, Nothing], default: Nothing}
      - {id: ticket, prompt: text, question: "Ticket number?", default: none}
  - id: configuration
    title: Configuration verification
    actions:
      - id: same_url
        prompt: confirm
        question: "Same Redis URL ({{ target.url }}) everywhere?"
        default: true
        outcomes:
          - {when: "answer('same_url') == False", code: config.mismatch,
             message: the web service and the workers use different Redis URLs}
""", "walk.yaml")
# Enter at each of the five prompts of WALK.
ENTER_THROUGH = ENTER * 5


@pytest.fixture
def auth_server() -> Iterator[RedisServer]:
    server = RedisServer("--requirepass", PASSWORD)
    try:
        yield server.start()
    finally:
        server.stop()


def url_of(server: RedisServer) -> str:
    return f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0"


def walk(pb: Playbook, url: str, keys: str) -> tuple[Session, str]:
    """Run `pb` as a person typing `keys`; return the session and what the screen showed."""
    console = Console(record=True, width=100, file=io.StringIO())
    with create_pipe_input() as inp:
        inp.send_text(keys)
        person = Person(input=inp, output=DummyOutput())
        renderer = Renderer(console, guidance=True)
        engine = Engine(pb, parse_target(url), person, RunOptions(timeout=2.0, interactive=True),
                        CHECKS, renderer, environ={})
        try:
            session = engine.run()
        except KeyboardInterrupt:
            session = engine.session
        else:
            render_summary(console, session)
    return session, console.export_text()


def step(session: Session, step_id: str) -> Any:
    return next(s for s in session.steps if s.id == step_id)


def answers(session: Session) -> dict[str, tuple[str, Any]]:
    return {a.id: (a.status, a.answer) for s in session.steps for a in s.answers}


# -- a person at the keyboard --------------------------------------------------------------------
def test_enter_through_reaches_the_end(auth_server: RedisServer) -> None:
    session, screen = walk(WALK, url_of(auth_server), ENTER_THROUGH)
    assert (session.status, session.ended_by) == ("healthy", "finished")
    assert [s.status for s in session.steps] == ["passed"] * 4
    assert answers(session) == {
        "seen": ("answered", True), "log_lines": ("answered", []),
        "restarted": ("answered", "Nothing"), "ticket": ("answered", "none"),
        "same_url": ("answered", True),
    }
    assert "Step 4/4 · Configuration verification" in screen
    assert "No problem found." in screen
    assert f"Can this host reach 127.0.0.1:{auth_server.port}?" in screen
    assert PASSWORD not in screen


def test_skip_a_step_with_a_reason(redis_server: RedisServer) -> None:
    # The checklist: two choices, a separator, then Skip, ticked with space.
    keys = ENTER + DOWN * 2 + " " + ENTER + "no log access" + ENTER + ENTER * 3
    session, screen = walk(WALK, redis_server.url, keys)
    logs = step(session, "logs")
    assert (logs.status, logs.reason) == ("skipped", "skipped by the operator: no log access")
    assert [(c.id, c.status, c.summary) for c in logs.checks] == [
        ("again", "skipped", "step skipped")]
    assert answers(session)["log_lines"] == ("skipped", None)
    assert step(session, "configuration").status == "passed"
    assert (session.status, session.ended_by) == ("healthy", "finished")
    assert "step skipped: skipped by the operator: no log access" in screen


def test_quit_midway_keeps_what_was_done(redis_server: RedisServer) -> None:
    # restart: Redis, RQ workers, Nothing (default), Skip, Quit.
    session, screen = walk(WALK, redis_server.url, ENTER * 2 + DOWN * 2 + ENTER)
    assert (session.status, session.ended_by) == ("incomplete", "quit")
    assert [(s.id, s.status) for s in session.steps] == [
        ("network", "passed"), ("logs", "passed"), ("restart", "incomplete")]
    assert session.finished_at is not None
    assert "The run was quit; what was done is kept." in screen


def test_ctrl_c_at_a_prompt_marks_the_session_interrupted(redis_server: RedisServer) -> None:
    session, _ = walk(WALK, redis_server.url, ENTER + CTRL_C)
    assert (session.status, session.ended_by) == ("incomplete", "interrupted")
    assert step(session, "logs").status == "incomplete"


def test_a_no_becomes_an_error_finding(redis_server: RedisServer) -> None:
    session, screen = walk(WALK, redis_server.url, ENTER * 4 + DOWN + ENTER)
    assert session.status == "problems"
    assert session.diagnosis is not None and session.diagnosis.code == "config.mismatch"
    assert [(f.code, f.severity, f.step) for f in session.findings] == [
        ("config.mismatch", "error", "configuration")]
    assert "config.mismatch — Configuration sources disagree" in screen


def test_stopped_redis_is_refused_and_the_wizard_goes_on() -> None:
    server = RedisServer().start()
    url = server.url
    server.stop()
    session, screen = walk(WALK, url, ENTER_THROUGH)
    assert session.diagnosis is not None and session.diagnosis.code == "network.refused"
    assert session.ended_by == "finished"
    assert "network.refused — Connection refused" in screen


# -- the wizard as `troubleshooter run` wires it -------------------------------------------------
def run_args(**given: Any) -> argparse.Namespace:
    defaults: dict[str, Any] = dict(
        playbook=str(ROOT / "tests" / "resources" / "network-only.yaml"), url=None, log=[],
        queue=None, var=[], non_interactive=False, yes=False, answers=None, json=False,
        timeout=2.0, write_probe=False, explain=False, save=None)
    return argparse.Namespace(**(defaults | given))


@pytest.fixture
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdin is not a terminal: the run is non-interactive without being told."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


@pytest.mark.usefixtures("no_terminal")
def test_json_document_on_stdout_human_on_stderr(
        auth_server: RedisServer, capsys: pytest.CaptureFixture[str]) -> None:
    code = wizard.run_wizard(run_args(url=url_of(auth_server), json=True), {})
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert code == EXIT_OK
    assert_session_shape(doc)
    assert (doc["status"], doc["mode"], doc["diagnosis"]) == ("healthy", "non-interactive", None)
    assert doc["target"]["url"] == f"redis://:***@127.0.0.1:{auth_server.port}/0"
    assert "Step 1/1 · Network connectivity" in err and "Session saved:" in err
    assert PASSWORD not in out + err


@pytest.mark.usefixtures("no_terminal")
def test_non_interactive_leaves_manual_actions_pending(
        redis_server: RedisServer, capsys: pytest.CaptureFixture[str]) -> None:
    code = wizard.run_wizard(run_args(url=redis_server.url, json=True), {})
    doc = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    network = doc["steps"][0]
    assert network["status"] == "pending"
    assert [(a["id"], a["status"], a["answer"]) for a in network["answers"]] == [
        ("seen", "pending", None)]
    assert [c["status"] for c in network["checks"]] == ["pass"] * 4


@pytest.mark.usefixtures("no_terminal")
def test_answers_file(redis_server: RedisServer, tmp_path: Path,
                      capsys: pytest.CaptureFixture[str]) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text("seen: false\n")
    save = tmp_path / "session.json"
    code = wizard.run_wizard(run_args(url=redis_server.url, answers=str(answers),
                                      save=str(save)), {})
    doc = json.loads(save.read_text())
    assert code == EXIT_OK
    assert [(a["id"], a["status"], a["answer"], a["source"])
            for a in doc["steps"][0]["answers"]] == [("seen", "answered", False, "answers-file")]
    assert "(answers-file)" in capsys.readouterr().out


@pytest.mark.usefixtures("no_terminal")
def test_answers_file_skips_a_step(redis_server: RedisServer, tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text('seen: "!skip firewall is not ours"\n')
    save = tmp_path / "session.json"
    wizard.run_wizard(run_args(url=redis_server.url, answers=str(answers), save=str(save)), {})
    network = json.loads(save.read_text())["steps"][0]
    assert network["status"] == "skipped"
    assert network["reason"].endswith("firewall is not ours")


@pytest.mark.parametrize(("text", "message"), [
    ("seen: [unclosed\n", "answers.yaml:2:1: answers file is not valid YAML: expected ',' or "
                         "']', but got '<stream end>' (while parsing a flow sequence at line 1, "
                         "column 7)"),
    ("- seen\n", "answers.yaml: an answers file maps action ids to answers"),
    ("seen: maybe\n", "answers.yaml: seen: expected true or false, got 'maybe'"),
    (b"seen: \xff\n", "answers.yaml:1: cannot read answers file: byte 0xff is not UTF-8 text; "
                      "save the file as UTF-8"),
])
def test_broken_answers_file_is_a_usage_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | bytes, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    path = Path("answers.yaml")
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(UsageError) as exc:
        wizard.run_wizard(run_args(url="redis://127.0.0.1:1/0", answers=str(path)), {})
    assert str(exc.value) == message


def test_interactive_json_run_prompts_on_stderr(
        redis_server: RedisServer, capsys: pytest.CaptureFixture[str]) -> None:
    pb = playbook.load(ROOT / "tests" / "resources" / "network-only.yaml")
    with create_pipe_input() as inp:
        inp.send_text(DOWN + ENTER)
        person = Person(input=inp, output=DummyOutput())
        config = RunConfig(pb, parse_target(redis_server.url),
                           RunOptions(timeout=2.0, interactive=True))
        code = wizard.exit_code(wizard.run_in_terminal(config, Output(json=True), person))
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert code == EXIT_OK
    assert doc["mode"] == "interactive"
    assert doc["steps"][0]["answers"][0]["answer"] is False
    assert "No problem found." in err


def test_ctrl_c_in_the_wizard_saves_the_session(
        redis_server: RedisServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pb = playbook.load(ROOT / "tests" / "resources" / "network-only.yaml")
    save = tmp_path / "session.json"
    with create_pipe_input() as inp:
        inp.send_text(CTRL_C)
        person = Person(input=inp, output=DummyOutput())
        config = RunConfig(pb, parse_target(redis_server.url),
                           RunOptions(timeout=2.0, interactive=True))
        code = wizard.exit_code(wizard.run_in_terminal(config, Output(save=str(save)), person))
    doc = json.loads(save.read_text())
    assert code == EXIT_INTERRUPTED
    assert (doc["status"], doc["ended_by"]) == ("incomplete", "interrupted")
    assert [c["status"] for c in doc["steps"][0]["checks"]] == ["pass"] * 4
    assert "Interrupted; what was done is kept." in capsys.readouterr().out


def assert_session_shape(doc: dict[str, Any]) -> None:
    """The --json contract: these fields, with these types."""
    assert doc["schema"] == "troubleshooter.session/1"
    assert isinstance(doc["trace_id"], str) and len(doc["trace_id"]) == 32
    assert isinstance(doc["playbook"]["id"], str)
    assert {"url", "host", "port", "password_set"} <= set(doc["target"])
    assert doc["started_at"].endswith("Z") and doc["finished_at"].endswith("Z")
    assert doc["status"] in ("healthy", "problems", "incomplete")
    assert doc["diagnosis"] is None or {"code", "title", "summary", "remedy"} <= set(
        doc["diagnosis"])
    for f in doc["findings"]:
        assert {"code", "severity", "step", "message", "evidence", "remedy"} <= set(f)
    for s in doc["steps"]:
        assert {"id", "title", "status", "duration_ms", "checks", "answers"} <= set(s)
        assert isinstance(s["duration_ms"], int | float)


# -- the shipped outage playbook -------------------------------------------------------------------
def _outage_problem() -> str | None:
    done = subprocess.run([sys.executable, "-m", "troubleshooter", "validate", str(OUTAGE)],
                          capture_output=True, text=True, timeout=30)
    return None if done.returncode == 0 else done.stderr.strip().splitlines()[0]


OUTAGE_PROBLEM = _outage_problem()
needs_outage = pytest.mark.skipif(
    OUTAGE_PROBLEM is not None,
    reason=f"`troubleshooter validate playbooks/redis-outage.yaml` fails: {OUTAGE_PROBLEM}")


@needs_outage
def test_outage_playbook_enter_through_to_the_end(auth_server: RedisServer) -> None:
    pb = playbook.load(library.resolve("redis-outage", {}))
    # More Enters than prompts: the ones left over are never read.
    session, screen = walk(pb, url_of(auth_server), ENTER * 12)
    assert session.ended_by == "finished"
    assert [s.id for s in session.steps] == [s.id for s in pb.steps]
    shown = {a.id: a.status for s in session.steps for a in s.answers}
    # Step 3 scanned the local server's own log (CONFIG GET logfile): no checklist to tick.
    assert {"log_lines": "skipped", "same_url": "answered", "same_queue": "answered"}.items() \
        <= shown.items()
    assert set(shown.values()) <= {"answered", "skipped"}  # skipped: its condition was not met
    assert "Step 6/6 · Contacting support" in screen
    assert PASSWORD not in screen


@needs_outage
def test_outage_playbook_quit_at_the_first_prompt(redis_server: RedisServer) -> None:
    pb = playbook.load(library.resolve("redis-outage", {}))
    # Step 3 scans the server's own log, no checklist; healthy: no restart step. The first
    # prompt is step 5's "same URL?" (Yes, No, Skip, Quit).
    first_prompt = DOWN * 3 + ENTER
    session, _ = walk(pb, redis_server.url, first_prompt)
    assert (session.status, session.ended_by) == ("incomplete", "quit")
    assert session.steps[-1].id == "configuration"


@needs_outage
@pytest.mark.usefixtures("no_terminal")
def test_outage_playbook_stopped_redis(capsys: pytest.CaptureFixture[str]) -> None:
    server = RedisServer().start()
    url = server.url
    server.stop()
    code = wizard.run_wizard(run_args(playbook=None, url=url, json=True), {})
    doc = json.loads(capsys.readouterr().out)
    assert code == EXIT_PROBLEMS
    assert doc["diagnosis"]["code"] == "network.refused"
    assert doc["playbook"]["id"] == "redis-outage"


def test_the_support_section_is_in_the_json_and_shown_with_a_diagnosis(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from troubleshooter.cli import main
    from troubleshooter.lab.server import free_port

    code = main(["run", "--url", f"redis://127.0.0.1:{free_port()}/0", "--non-interactive",
                 "--json", "--save", str(tmp_path / "s.json")])
    out, err = capsys.readouterr()
    support = json.loads(out)["support"]
    assert code == 1
    assert support["contact"] == "your platform on-call (or your Redis provider's support)"
    assert support["attach"][0] == "the session transcript (JSON) printed at the end of the run"
    assert "Escalate to your platform on-call" in err


def test_var_and_env_values_take_the_type_of_the_default() -> None:
    import argparse

    from troubleshooter.errors import UsageError
    from troubleshooter.playbook import load
    from troubleshooter.runconfig import resolve_variables

    pb = load(Path(__file__).resolve().parent.parent / "playbooks" / "redis-outage.yaml")

    def resolve(*var: str, **env: str) -> dict[str, Any]:
        args = argparse.Namespace(var=list(var), log=[], queue=None, write_probe=False)
        return resolve_variables(pb, args, env)

    got = resolve("slow_ping_ms=1.5", "write_probe=false", "logs=a.log, b.log",
                  RQ_QUEUE_NAME="orchestrator")
    assert (got["slow_ping_ms"], got["write_probe"], got["logs"], got["app_queue"]) == (
        1.5, False, ["a.log", "b.log"], "orchestrator")
    with pytest.raises(UsageError) as exc:
        resolve("backlog_jobs=lots")
    assert str(exc.value) == "--var backlog_jobs='lots': expected a number"
    with pytest.raises(UsageError) as exc:
        resolve("require_tls=maybe")
    assert str(exc.value) == "--var require_tls='maybe': expected true or false"
