"""The engine on its own: ordering, concurrency, timeouts, conditions, outcomes, destructive
actions and the session it leaves behind. Check kinds here are tiny local functions: what is
under test is the engine, not Redis (the Redis checks have their own tests on real servers)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from troubleshooter import playbook
from troubleshooter.checks.base import CheckContext, CheckKind, Outcome, Param
from troubleshooter.engine import Answered, Engine, Pending, RunOptions, SkipStep
from troubleshooter.errors import QuitRequested
from troubleshooter.findings import finding
from troubleshooter.target import parse_target

CALLS: list[str] = []


def _sleep(ctx: CheckContext) -> Outcome:
    CALLS.append(f"start {ctx.params['name']}")
    time.sleep(float(ctx.params["seconds"]))
    return Outcome("pass", f"slept {ctx.params['seconds']}", data={"n": ctx.params["seconds"]})


def _fail(ctx: CheckContext) -> Outcome:
    f = finding(str(ctx.params["code"]), f"broken: {ctx.params['code']}", "evidence line")
    return Outcome("fail", f.message, (f,))


def _crash(ctx: CheckContext) -> Outcome:
    raise RuntimeError("boom with redis://:hunter22@h:1/0 inside")


def _leak(ctx: CheckContext) -> Outcome:
    return Outcome("pass", f"password is {ctx.target.password}", data={"pw": ctx.target.password})


def _echo_env(ctx: CheckContext) -> Outcome:
    return Outcome("pass", "ok", data={"interrupt": True})


KINDS = {k.name: k for k in (
    CheckKind("sleep", _sleep, "sleeps", {"seconds": Param((int, float), 0.0),
                                           "name": Param(str, "x")}),
    CheckKind("fail", _fail, "fails", {"code": Param(str, "network.refused")}),
    CheckKind("crash", _crash, "crashes"),
    CheckKind("leak", _leak, "leaks the password"),
    CheckKind("change", _echo_env, "changes things", destructive=True),
)}


class Scripted:
    """An operator with canned replies by action id."""

    def __init__(self, replies: dict[str, Any] | None = None, confirm: bool = False) -> None:
        self.replies = replies or {}
        self.asked: list[str] = []
        self._confirm = confirm

    def ask(self, step: Any, action: Any, question: str) -> Any:
        self.asked.append(question)
        reply = self.replies.get(action.id, Pending())
        if reply == "QUIT":
            raise QuitRequested
        if reply == "INTERRUPT":
            raise KeyboardInterrupt
        return reply

    def confirm(self, step: Any, action: Any, question: str) -> bool:
        return self._confirm


def load(text: str) -> playbook.Playbook:
    import troubleshooter.checks as registry

    return playbook.loads(text, "t.yaml", checks={**registry.CHECKS, **KINDS})


def run(text: str, operator: Any = None, url: str = "redis://127.0.0.1:1/0",
        **options: Any) -> Any:
    pb = load(text)
    opts = RunOptions(**{"timeout": 1.0, **options})
    engine = Engine(pb, parse_target(url), operator or Scripted(), opts, KINDS, environ={})
    return engine.run()


def test_checks_of_a_step_run_concurrently_and_keep_their_order() -> None:
    text = """
id: t
title: T
steps:
  - id: s
    title: S
    actions:
      - {id: a, check: sleep, with: {seconds: 0.4, name: a}}
      - {id: b, check: sleep, with: {seconds: 0.4, name: b}}
      - {id: c, check: sleep, with: {seconds: 0.4, name: c}}
"""
    start = time.monotonic()
    session = run(text)
    elapsed = time.monotonic() - start
    assert elapsed < 1.0, elapsed  # serial would be 1.2 s
    assert [c.id for c in session.steps[0].checks] == ["a", "b", "c"]
    assert session.status == "healthy"


def test_a_check_that_refers_to_an_earlier_one_waits_for_it() -> None:
    text = """
id: t
title: T
steps:
  - id: s
    title: S
    actions:
      - {id: a, check: sleep, with: {seconds: 0.2, name: a}}
      - {id: b, check: sleep, with: {seconds: 0, name: b}, when: "a.data.n > 0.1"}
"""
    CALLS.clear()
    session = run(text)
    assert CALLS == ["start a", "start b"]
    assert [c.status for c in session.steps[0].checks] == ["pass", "pass"]


def test_an_overrunning_check_is_abandoned_at_its_timeout() -> None:
    text = """
id: t
title: T
steps:
  - id: s
    title: S
    actions:
      - {id: slow, check: sleep, timeout: 0.3, with: {seconds: 5}}
"""
    start = time.monotonic()
    session = run(text)
    assert time.monotonic() - start < 0.3 + 0.5 + 0.3
    check = session.steps[0].checks[0]
    assert check.status == "timeout"
    assert check.summary == "did not finish within 0.3 s; abandoned"
    assert session.status == "incomplete"


def test_a_crashing_check_is_an_error_not_a_crash_and_leaks_nothing() -> None:
    text = """
id: t
title: T
steps:
  - id: s
    title: S
    actions:
      - {id: boom, check: crash}
      - {id: leak, check: leak}
"""
    session = run(text, url="redis://:hunter22@127.0.0.1:1/0")
    boom, leak = session.steps[0].checks
    assert boom.status == "error"
    assert boom.summary.startswith("the check crashed: RuntimeError: boom")
    import json

    dumped = json.dumps(session.to_dict())
    assert "hunter22" not in dumped


def test_conditions_skip_steps_and_actions_with_the_reason() -> None:
    text = """
id: t
title: T
steps:
  - id: one
    title: One
    actions:
      - {id: refused, check: fail, with: {code: network.refused}}
  - id: two
    title: Two
    when: "not finding('network.*')"
    actions:
      - {id: a, check: sleep}
  - id: three
    title: Three
    when: "not healthy"
    actions:
      - {id: b, check: sleep, when: "status('refused') == 'fail'"}
"""
    session = run(text)
    one, two, three = session.steps
    assert (one.status, two.status, three.status) == ("problems", "skipped", "passed")
    assert two.reason == "condition not met: not finding('network.*')"
    assert three.checks[0].status == "pass"
    assert session.diagnosis.code == "network.refused"
    assert session.findings[0].step == "one"


def test_outcomes_adjust_reported_findings_and_add_conditional_ones() -> None:
    text = """
id: t
title: T
steps:
  - id: s
    title: S
    actions:
      - id: f
        check: fail
        with: {code: server.oom}
        outcomes:
          - {code: server.oom, severity: warning, remedy: "trim rq:finished:*"}
      - id: z
        check: sleep
        with: {seconds: 0.01}
        outcomes:
          - {when: "z.data.n > 0", code: server.slow, message: "slow: {{ target.address }}"}
"""
    session = run(text)
    f, z = session.steps[0].checks
    assert (f.status, f.findings[0].severity, f.findings[0].remedy) == (
        "warn", "warning", "trim rq:finished:*")
    assert z.status == "warn"
    assert z.findings[0].code == "server.slow"
    assert z.findings[0].message == "slow: 127.0.0.1:1"
    assert session.diagnosis is None and session.status == "healthy"


def test_a_diagnosis_rule_overrides_the_upstream_order() -> None:
    text = """
id: t
title: T
diagnosis:
  rules:
    - when: "finding('network.refused') and finding('server.readonly')"
      code: config.wrong_instance
      summary: "the app points at the wrong instance"
steps:
  - id: s
    title: S
    actions:
      - {id: a, check: fail, with: {code: server.readonly}}
      - {id: b, check: fail, with: {code: network.refused}}
"""
    session = run(text)
    assert session.diagnosis.code == "config.wrong_instance"
    assert session.diagnosis.summary == "the app points at the wrong instance"
    assert session.diagnosis.by_rule


def test_most_upstream_error_is_the_diagnosis() -> None:
    text = """
id: t
title: T
steps:
  - id: s
    title: S
    actions:
      - {id: a, check: fail, with: {code: rq.no_workers}}
      - {id: b, check: fail, with: {code: server.auth_failed}}
      - {id: c, check: fail, with: {code: network.timeout}}
"""
    d = run(text).diagnosis
    assert d.code == "network.timeout"
    assert "also seen: server.auth_failed: broken: server.auth_failed" in d.evidence


DESTRUCTIVE = """
id: t
title: T
steps:
  - id: s
    title: S
    actions:
      - {id: change, check: change, destructive: true}
"""


def test_destructive_actions_never_run_non_interactively_without_yes() -> None:
    check = run(DESTRUCTIVE).steps[0].checks[0]
    assert (check.status, check.summary) == (
        "skipped", "destructive: not run non-interactively without --yes")
    assert run(DESTRUCTIVE, assume_yes=True).steps[0].checks[0].status == "pass"


def test_destructive_actions_need_the_operators_explicit_confirmation() -> None:
    refused = run(DESTRUCTIVE, Scripted(confirm=False), interactive=True).steps[0].checks[0]
    assert refused.summary == "destructive: the operator did not confirm"
    assert run(DESTRUCTIVE, Scripted(confirm=True), interactive=True).steps[0].checks[0].status \
        == "pass"


PROMPTS = """
id: t
title: T
steps:
  - id: one
    title: One
    actions:
      - {id: q1, prompt: confirm, question: "Is {{ target.address }} right?", default: true}
      - {id: q2, prompt: text, question: "Anything else?"}
  - id: two
    title: Two
    actions:
      - id: pick
        prompt: select
        question: "Which?"
        choices: [a, b]
        outcomes:
          - {when: "answer('pick') == 'b'", code: config.mismatch, message: "picked b"}
      - {id: after, check: sleep, when: "answer('pick') == 'b'"}
"""


def test_answers_feed_conditions_and_outcomes() -> None:
    op = Scripted({"q1": Answered(True), "q2": Answered("no"), "pick": Answered("b")})
    session = run(PROMPTS, op, interactive=True)
    assert op.asked[0] == "Is 127.0.0.1:1 right?"
    two = session.steps[1]
    assert [a.answer for a in two.answers] == ["b"]
    assert two.checks[0].status == "pass"
    assert two.findings[0].code == "config.mismatch"
    assert session.status == "problems"


def test_skipping_a_step_records_the_reason_and_skips_the_rest() -> None:
    op = Scripted({"q1": SkipStep("not my system"), "pick": Answered("a")})
    session = run(PROMPTS, op, interactive=True)
    one = session.steps[0]
    assert (one.status, one.reason) == ("skipped", "skipped by the operator: not my system")
    assert [a.status for a in one.answers] == ["skipped", "skipped"]
    assert session.steps[1].checks[0].status == "skipped"


def test_non_interactive_answers_stay_pending() -> None:
    session = run(PROMPTS)
    assert [a.status for a in session.steps[0].answers] == ["pending", "pending"]
    assert session.steps[0].status == "pending"
    assert session.status == "healthy"


def test_quit_ends_the_run_incomplete_and_keeps_what_was_done() -> None:
    session = run(PROMPTS, Scripted({"q1": Answered(True), "q2": "QUIT"}), interactive=True)
    assert session.ended_by == "quit"
    assert session.status == "incomplete"
    assert [s.status for s in session.steps] == ["incomplete"]
    assert session.steps[0].answers[0].answer is True
    assert session.finished_at is not None


def test_interrupt_finishes_the_session_then_propagates() -> None:
    pb = load(PROMPTS)
    engine = Engine(pb, parse_target("redis://127.0.0.1:1/0"),
                    Scripted({"q1": Answered(True), "q2": "INTERRUPT"}),
                    RunOptions(timeout=1.0, interactive=True), KINDS, environ={})
    with pytest.raises(KeyboardInterrupt):
        engine.run()
    assert engine.session.ended_by == "interrupted"
    assert engine.session.status == "incomplete"
    assert engine.session.steps[0].answers[0].answer is True


def test_a_malformed_url_skips_the_checks_that_need_a_target() -> None:
    text = """
id: t
title: T
steps:
  - id: s
    title: S
    actions:
      - {id: url, check: redis_url}
      - {id: a, check: sleep}
"""
    import troubleshooter.checks as registry

    pb = load(text)
    kinds = {**KINDS, "redis_url": registry.CHECKS["redis_url"]}
    target = parse_target("redis://h:6379\u2028/0", "REDIS_URL")
    session = Engine(pb, target, Scripted(), RunOptions(timeout=1.0), kinds, environ={}).run()
    url, a = session.steps[0].checks
    assert url.findings[0].code == "config.malformed_url"
    assert "U+2028" in url.summary
    assert (a.status, a.summary) == ("skipped", "the Redis URL cannot be used (see the URL check)")
    assert session.diagnosis.code == "config.malformed_url"


def test_no_thread_is_left_waiting_on_the_main_thread() -> None:
    before = threading.active_count()
    run("""
id: t
title: T
steps:
  - id: s
    title: S
    actions:
      - {id: a, check: sleep, with: {seconds: 0.05}}
""")
    assert threading.active_count() <= before + 1


def test_prompt_help_is_rendered_and_answer_findings_say_what_was_answered() -> None:
    text = """
id: t
title: T
variables:
  queue: orchestrator
steps:
  - id: s
    title: S
    actions:
      - id: seen
        prompt: checklist
        question: "Which?"
        help: "queue {{ queue }} at {{ target.address }}"
        choices: [OOM, none]
        outcomes:
          - {when: "'OOM' in answer('seen')", code: logs.oom, severity: warning}
"""
    helps: list[str] = []

    class Recording(Scripted):
        def ask(self, step: Any, action: Any, question: str) -> Any:
            helps.append(action.help)
            return Answered(["OOM"])

    session = run(text, Recording(), interactive=True, variables={"queue": "orchestrator"})
    assert helps == ["queue orchestrator at 127.0.0.1:1"]
    [found] = session.findings
    assert (found.code, found.severity, found.source) == ("logs.oom", "warning", "seen")
    assert found.message == "Logs show OOM errors (the operator answered: OOM)"


def test_a_destructive_action_shows_what_it_will_change_before_the_confirmation() -> None:
    def preview(ctx: CheckContext) -> str:
        return f"will requeue {ctx.earlier['a'].data['n']} job(s) at {ctx.target.address}"

    kinds = {**KINDS, "change": CheckKind("change", _echo_env, "changes things",
                                          destructive=True, preview=preview)}
    text = """
id: t
title: T
steps:
  - id: s
    title: S
    actions:
      - {id: a, check: sleep, with: {seconds: 0.01}}
      - {id: change, check: change, title: "Requeue", destructive: true}
"""
    questions: list[str] = []

    class Asked(Scripted):
        def confirm(self, step: Any, action: Any, question: str) -> bool:
            questions.append(question)
            return False

    pb = load(text)
    Engine(pb, parse_target("redis://127.0.0.1:1/0"), Asked(), RunOptions(interactive=True),
           kinds, environ={}).run()
    assert questions == ["Requeue\nwill requeue 0.01 job(s) at 127.0.0.1:1"]
