"""The operators, driven by keys: a person through questionary (pipe input), a file, nobody."""

from __future__ import annotations

import io
from typing import Any

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from troubleshooter.engine import Answered, Pending, Reply, SkipStep
from troubleshooter.errors import QuitRequested, UsageError
from troubleshooter.events import Nobody
from troubleshooter.playbook import Action, Step, loads
from troubleshooter.ui.plain import Plain
from troubleshooter.ui.prompts import FromFile, Person, check_answers

# A prompt that never gets the keys it waits for must fail the test, not hang it.
pytestmark = pytest.mark.timeout(20)

DOWN, ENTER, SPACE, CTRL_C = "\x1b[B", "\r", " ", "\x03"
STEP = Step("network", "Network connectivity")
CONFIRM = Action("seen", prompt="confirm", question="Checked?", default=True)
SELECT = Action("restarted", prompt="select", question="What did you restart?",
                choices=("Redis", "RQ workers", "Nothing"), default="Nothing")
CHECKLIST = Action("log_lines", prompt="checklist", question="Which lines?",
                   choices=("refused", "timeout", "OOM"), default=[])
TEXT = Action("ticket", prompt="text", question="Ticket number?", default="none yet")


def ask(action: Action, keys: str) -> Reply:
    """One prompt answered by `keys`, as typed at a terminal."""
    with create_pipe_input() as inp:
        inp.send_text(keys)
        return Person(input=inp, output=DummyOutput()).ask(STEP, action, action.question)


def confirm_destructive(keys: str) -> bool:
    action = Action("requeue", check="rq_requeue", destructive=True)
    with create_pipe_input() as inp:
        inp.send_text(keys)
        return Person(input=inp, output=DummyOutput()).confirm(STEP, action, "Requeue 3 jobs")


# -- Enter takes the default that moves forward -------------------------------------------------
@pytest.mark.parametrize(("action", "expected"), [
    (CONFIRM, True),
    (Action("x", prompt="confirm", question="?", default=False), False),
    (Action("x", prompt="confirm", question="?"), True),
    (SELECT, "Nothing"),
    (Action("x", prompt="select", question="?", choices=("a", "b")), "a"),
    (CHECKLIST, []),
    (Action("x", prompt="checklist", question="?", choices=("a", "b"), default=["b"]), ["b"]),
    (TEXT, "none yet"),
    (Action("x", prompt="text", question="?"), ""),
])
def test_enter_takes_the_default(action: Action, expected: Any) -> None:
    assert ask(action, ENTER) == Answered(expected, source="operator")


# -- answering with keys ------------------------------------------------------------------------
def test_confirm_down_answers_no() -> None:
    assert ask(CONFIRM, DOWN + ENTER) == Answered(False)


def test_select_second_choice() -> None:
    start_at_first = Action("x", prompt="select", question="?", choices=SELECT.choices)
    assert ask(start_at_first, DOWN + ENTER) == Answered("RQ workers")


def test_checklist_space_toggles() -> None:
    keys = SPACE + DOWN + DOWN + SPACE + ENTER
    assert ask(CHECKLIST, keys) == Answered(["refused", "OOM"])


def test_checklist_space_unticks_a_default() -> None:
    ticked = Action("x", prompt="checklist", question="?", choices=("a", "b"), default=["a"])
    assert ask(ticked, SPACE + ENTER) == Answered([])


def test_text_is_typed() -> None:
    blank = Action("x", prompt="text", question="?")
    assert ask(blank, "INC-4711" + ENTER) == Answered("INC-4711")


# -- skip (with a reason) and quit, at every kind of prompt --------------------------------------
def test_select_skip_asks_a_reason() -> None:
    # Nothing (default) -> Skip is one down; the reason prompt starts empty.
    assert ask(SELECT, DOWN + ENTER + "no access to the host" + ENTER) == SkipStep(
        "no access to the host")


def test_skip_reason_defaults_on_enter() -> None:
    assert ask(CONFIRM, DOWN * 2 + ENTER + ENTER) == SkipStep("not applicable")


def test_checklist_skip() -> None:
    # Choices, then a separator the cursor jumps over, then Skip and Quit.
    keys = DOWN * 3 + SPACE + ENTER + "later" + ENTER
    assert ask(CHECKLIST, keys) == SkipStep("later")


def test_text_skip_command() -> None:
    assert ask(Action("x", prompt="text", question="?"), "!skip" + ENTER + "n/a" + ENTER) == \
        SkipStep("n/a")


@pytest.mark.parametrize(("action", "keys"), [
    (CONFIRM, DOWN * 3 + ENTER),
    (SELECT, DOWN * 2 + ENTER),
    (CHECKLIST, DOWN * 4 + SPACE + ENTER),
    (Action("x", prompt="text", question="?"), "!quit" + ENTER),
])
def test_quit(action: Action, keys: str) -> None:
    with pytest.raises(QuitRequested):
        ask(action, keys)


@pytest.mark.parametrize("keys", [
    CTRL_C,                     # at a select
    DOWN * 2 + ENTER + CTRL_C,  # at the skip reason
])
def test_ctrl_c_propagates(keys: str) -> None:
    # unsafe_ask: ^C must never come back as an answer (plain ask() would return None).
    with pytest.raises(KeyboardInterrupt):
        ask(CONFIRM, keys)


@pytest.mark.parametrize("action", [CHECKLIST, TEXT])
def test_ctrl_c_at_checklist_and_text(action: Action) -> None:
    with pytest.raises(KeyboardInterrupt):
        ask(action, "x" + CTRL_C)


# -- destructive actions need an explicit yes -----------------------------------------------------
def test_destructive_enter_means_no() -> None:
    assert confirm_destructive(ENTER) is False


def test_destructive_yes() -> None:
    assert confirm_destructive(DOWN + ENTER) is True


def test_destructive_quit() -> None:
    with pytest.raises(QuitRequested):
        confirm_destructive(DOWN * 2 + ENTER)


# -- nobody, and the answers file -----------------------------------------------------------------
def test_nobody_leaves_everything_pending() -> None:
    assert Nobody().ask(STEP, CONFIRM, "?") == Pending()
    assert Nobody().confirm(STEP, CONFIRM, "?") is False


def test_answers_file_answers_then_falls_back() -> None:
    operator = FromFile({"seen": False, "restarted": "!skip not my shift"}, Nobody())
    assert operator.ask(STEP, CONFIRM, "?") == Answered(False, source="answers-file")
    assert operator.ask(STEP, SELECT, "?") == SkipStep("not my shift", "answers-file")
    assert operator.ask(STEP, TEXT, "?") == Pending()


PLAYBOOK = loads("""
id: answers
title: Answers
steps:
  - id: one
    title: One
    actions:
      - {id: tcp, check: tcp_connect}
      - {id: seen, prompt: confirm, question: "?"}
      - {id: restarted, prompt: select, question: "?", choices: [Redis, Nothing]}
      - {id: log_lines, prompt: checklist, question: "?", choices: [refused, OOM]}
      - {id: ticket, prompt: text, question: "?"}
      - {id: requeue, check: rq_requeue, destructive: true}
""")


@pytest.mark.parametrize(("answers", "message"), [
    ({"nope": True}, "answers.yaml: 'nope' is not a manual action of answers "
                     "(known: seen, restarted, log_lines, ticket)"),
    ({"seen": "yes"}, "answers.yaml: seen: expected true or false, got 'yes'"),
    ({"restarted": "Redis!"}, "answers.yaml: restarted: 'Redis!' is not one of: Redis, Nothing"),
    ({"log_lines": "OOM"}, "answers.yaml: log_lines: expected a list of: refused, OOM"),
    ({"ticket": ["a"]}, "answers.yaml: ticket: expected text, got list"),
    ({"tcp": True}, "answers.yaml: tcp: an automated check takes no answer"),
    ({"requeue": True}, "answers.yaml: requeue: a destructive action is confirmed at its prompt "
                        "or with --yes, never from an answers file"),
])
def test_answers_file_problems_are_one_line(answers: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError) as exc:
        check_answers(answers, PLAYBOOK, "answers.yaml")
    assert str(exc.value) == message


def test_answers_file_accepts_good_answers() -> None:
    good = {"seen": True, "restarted": "Nothing", "log_lines": ["OOM"], "ticket": 4711}
    check_answers(good, PLAYBOOK, "answers.yaml")
    check_answers({"seen": "!skip not today"}, PLAYBOOK, "answers.yaml")


# -- TERM=dumb: numbered prompts ----------------------------------------------------------------
def plain(lines: str) -> tuple[Plain, io.StringIO]:
    out = io.StringIO()
    return Plain(io.StringIO(lines), out), out


def test_plain_enter_takes_every_default() -> None:
    for action, value in ((CONFIRM, True), (SELECT, SELECT.default or SELECT.choices[0]),
                          (TEXT, str(TEXT.default or ""))):
        operator, _ = plain("\n")
        assert operator.ask(STEP, action, "?") == Answered(value)


def test_plain_numbers_pick_and_bad_numbers_ask_again() -> None:
    operator, out = plain("9\nx\n2\n")
    assert operator.ask(STEP, SELECT, "?") == Answered(SELECT.choices[1])
    assert out.getvalue().count("please answer a number from 1 to") == 2


def test_plain_skip_quit_and_end_of_input() -> None:
    operator, _ = plain("s\n\n")
    assert operator.ask(STEP, SELECT, "?") == SkipStep("not applicable")
    for lines in ("q\n", ""):
        operator, _ = plain(lines)
        with pytest.raises(QuitRequested):
            operator.ask(STEP, CONFIRM, "?")


def test_plain_destructive_needs_a_typed_yes() -> None:
    assert plain("\n")[0].confirm(STEP, CONFIRM, "requeue") is False
    assert plain("y\n")[0].confirm(STEP, CONFIRM, "requeue") is False
    assert plain("yes\n")[0].confirm(STEP, CONFIRM, "requeue") is True
