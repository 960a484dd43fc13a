"""`exitcodes.exit_code` on the sessions the engine really leaves behind: a check that crashed or
overran its time limit is `incomplete` (4), never healthy (0); an error finding wins (1)."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from tests.test_engine import KINDS, Scripted, load, run
from troubleshooter.engine import Answered, Engine, RunOptions
from troubleshooter.exitcodes import exit_code
from troubleshooter.target import parse_target


def steps(*actions: str) -> str:
    lines = "\n".join(f"      - {a}" for a in actions)
    return f"id: t\ntitle: T\nsteps:\n  - id: s\n    title: S\n    actions:\n{lines}\n"


SLOW = "{id: slow, check: sleep, timeout: 0.2, with: {seconds: 1.5}}"
CRASH = "{id: boom, check: crash}"
FAIL = "{id: bad, check: fail}"
OK = "{id: ok, check: sleep}"
ASK = "{id: ask, prompt: confirm, question: Q?}"


@pytest.mark.parametrize(("actions", "operator", "code"), [
    ((OK,), None, 0),
    ((OK, ASK), None, 0),  # a manual action nobody answered is not a failure
    ((FAIL,), None, 1),
    ((CRASH,), None, 4),
    ((SLOW,), None, 4),
    ((CRASH, FAIL), None, 1),  # an error finding outranks an incomplete run
    ((OK, ASK), Scripted({"ask": "QUIT"}), 4),
    ((FAIL, ASK), Scripted({"ask": "QUIT"}), 1),
    ((OK, ASK), Scripted({"ask": Answered(True)}), 0),
])
def test_the_code_of_a_finished_run(actions: tuple[str, ...], operator: Any, code: int) -> None:
    assert exit_code(run(steps(*actions), operator)) == code


def test_an_interrupted_or_terminated_run_outranks_its_findings() -> None:
    pb = load(steps(FAIL, ASK))
    engine = Engine(pb, parse_target("redis://127.0.0.1:1/0"), Scripted({"ask": "INTERRUPT"}),
                    RunOptions(timeout=1.0), KINDS, environ={})
    with pytest.raises(KeyboardInterrupt):
        engine.run()
    assert engine.session.has_errors and engine.session.ended_by == "interrupted"
    assert exit_code(engine.session) == 130
    assert exit_code(engine.session, signal.SIGTERM) == 143
    assert exit_code(engine.session, signal.SIGHUP) == 129
