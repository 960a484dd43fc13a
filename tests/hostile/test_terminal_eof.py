"""^D at any prompt means quit, exactly as choosing "Quit the wizard" (it was "internal error:
EOFError" at a text prompt, and ignored by a select)."""

from __future__ import annotations

import io

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from troubleshooter.errors import QuitRequested
from troubleshooter.playbook import Action, Step
from troubleshooter.ui.plain import Plain
from troubleshooter.ui.prompts import Person

STEP = Step("s", "S")
ACTIONS = [
    Action("a", prompt="select", question="Q", choices=("x", "y")),
    Action("a", prompt="checklist", question="Q", choices=("x", "y")),
    Action("a", prompt="confirm", question="Q"),
    Action("a", prompt="text", question="Q", default="prefilled"),
    Action("a", prompt="text", question="Q"),
]


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: f"{a.prompt}-{a.default}")
def test_ctrl_d_at_a_prompt_quits(action: Action) -> None:
    with create_pipe_input() as inp, pytest.raises(QuitRequested):
        inp.send_text("\x04")
        Person(input=inp, output=DummyOutput()).ask(STEP, action, action.question)


def test_ctrl_d_when_asked_why_a_step_is_skipped_quits() -> None:
    with create_pipe_input() as inp, pytest.raises(QuitRequested):
        inp.send_text("\x1b[B\x1b[B\r")  # Yes, No, Skip...
        inp.send_text("\x04")
        Person(input=inp, output=DummyOutput()).ask(STEP, ACTIONS[2], "Q")


def test_ctrl_d_at_a_destructive_confirmation_quits() -> None:
    with create_pipe_input() as inp, pytest.raises(QuitRequested):
        inp.send_text("\x04")
        Person(input=inp, output=DummyOutput()).confirm(STEP, ACTIONS[2], "Requeue 3 jobs")


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: f"{a.prompt}-{a.default}")
def test_end_of_input_at_a_numbered_prompt_quits(action: Action) -> None:
    with pytest.raises(QuitRequested):
        Plain(io.StringIO(""), io.StringIO()).ask(STEP, action, action.question)
