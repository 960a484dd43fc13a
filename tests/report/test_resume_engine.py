"""The engine's part of `resume`: steps a prior run finished are kept (and their results feed
the conditions that follow), the step it was cut in runs again, the transcript says so.
Check kinds are tiny local functions: under test is the engine."""

from __future__ import annotations

import json
from typing import Any

from troubleshooter import playbook
from troubleshooter.checks.base import CheckContext, CheckKind, Outcome, Param
from troubleshooter.engine import Answered, Engine, Pending, RunOptions
from troubleshooter.errors import QuitRequested
from troubleshooter.findings import finding
from troubleshooter.sessionload import session_from_dict
from troubleshooter.target import parse_target

RUNS: list[str] = []


def _count(ctx: CheckContext) -> Outcome:
    RUNS.append(str(ctx.params.get("name", "")))
    if ctx.params.get("name") == "broken":
        f = finding("server.oom", "out of memory", "used_memory 10")
        return Outcome("fail", f.message, (f,), {"n": 1})
    return Outcome("pass", "counted", data={"n": len(RUNS)})


def _kinds() -> dict[str, CheckKind]:
    return {"count": CheckKind("count", _count, "counts", {"name": Param(str, "")})}


def _load(text: str) -> playbook.Playbook:
    """The playbook loader validates kinds against the registry: lend it ours for a moment."""
    import troubleshooter.checks as registry

    saved = dict(registry.CHECKS)
    registry.CHECKS.update(_kinds())
    try:
        return playbook.loads(text, "t.yaml")
    finally:
        registry.CHECKS.clear()
        registry.CHECKS.update(saved)


PLAYBOOK = _load("""
id: r
title: R
steps:
  - id: one
    title: One
    actions:
      - {id: a, check: count, with: {name: broken}}
      - {id: q, prompt: select, question: "Which?", choices: [x, y], default: x}
  - id: two
    title: Two
    actions:
      - {id: b, check: count, with: {name: b}, when: "answer('q') == 'y' and finding('server.oom')"}
      - {id: stop, prompt: confirm, question: "Go on?"}
  - id: three
    title: Three
    actions:
      - {id: c, check: count, with: {name: c}, when: "a.data.n == 1"}
""")


class Operator:
    def __init__(self, replies: dict[str, Any]) -> None:
        self.replies = replies

    def ask(self, step: Any, action: Any, question: str) -> Any:
        reply = self.replies.get(action.id, Pending())
        if reply == "QUIT":
            raise QuitRequested
        return reply

    def confirm(self, step: Any, action: Any, question: str) -> bool:
        return False


def engine(replies: dict[str, Any], prior: Any = None) -> Engine:
    return Engine(PLAYBOOK, parse_target("redis://127.0.0.1:1/0"), Operator(replies),
                  RunOptions(), _kinds(), environ={}, prior=prior)


def test_resume_keeps_finished_steps_and_reruns_the_cut_one() -> None:
    RUNS.clear()
    first = engine({"q": Answered("y"), "stop": "QUIT"}).run()
    assert first.ended_by == "quit" and RUNS == ["broken", "b"]
    assert first.steps[0].finished_at and first.steps[1].finished_at is None
    # Through the transcript, as `resume` reads it.
    prior = session_from_dict(json.loads(json.dumps(first.to_dict())))
    RUNS.clear()
    again = engine({"stop": Answered(True)}, prior).run()
    # Step one is not run again; its answer and its finding still decide step two's `when`,
    # and its data step three's.
    assert RUNS == ["b", "c"]
    assert again.trace_id == first.trace_id and again.started_at == first.started_at
    assert [s.id for s in again.steps] == ["one", "two", "three"]
    assert again.steps[0].to_dict() == first.steps[0].to_dict()
    assert [c.status for c in again.steps[1].checks] == ["pass"]
    assert again.ended_by == "finished" and again.status == "problems"
    assert again.diagnosis is not None and again.diagnosis.code == "server.oom"
    [note] = again.resumed
    assert note["after"] == "quit" and note["kept_steps"] == ["one"]
    assert note["rerun_step"] == "two" and note["discarded"] == {"checks": 1, "answers": 0}


def test_a_session_cut_in_its_first_step_keeps_nothing() -> None:
    RUNS.clear()
    first = engine({"q": "QUIT"}).run()
    prior = session_from_dict(first.to_dict())
    RUNS.clear()
    again = engine({"q": Answered("x")}, prior).run()
    assert RUNS == ["broken", "c"]  # everything runs again, from step one
    assert again.resumed[0]["kept_steps"] == [] and again.resumed[0]["rerun_step"] == "one"


def test_round_trip_of_a_transcript() -> None:
    RUNS.clear()
    session = engine({"q": Answered("y"), "stop": Answered(False)}).run()
    doc = json.loads(json.dumps(session.to_dict()))
    assert session_from_dict(doc).to_dict() == doc
