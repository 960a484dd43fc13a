"""The trainee's prompts, driven by keys (prompt_toolkit pipe input): walking a step, the
diagnosis, the remedy and the fix menu."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from troubleshooter.drill.flow import FIXED, GIVE_UP, HINT, NEXT, Step, diagnosis_choices
from troubleshooter.drill.looks import LOOKS
from troubleshooter.drill.scoring import SOMETHING_ELSE
from troubleshooter.ui.drill import FIX_MENU, PersonTrainee

pytestmark = pytest.mark.timeout(20)
DOWN, UP, ENTER = "\x1b[B", "\x1b[A", "\r"
NETWORK = Step("network", "Network connectivity", "Can the app reach Redis?", 0)
NETWORK_LOOKS = [look for look in LOOKS.values() if look.step == "network"]


def answer(keys: str, ask: Callable[[PersonTrainee], Any]) -> Any:
    with create_pipe_input() as inp:
        inp.send_text(keys)
        return ask(PersonTrainee(input=inp, output=DummyOutput()))


def test_enter_goes_on_to_the_next_step_and_the_arrows_reach_looks_and_hints() -> None:
    assert answer(ENTER, lambda t: t.step(NETWORK, NETWORK_LOOKS, 2)) == NEXT
    assert answer(UP + UP + UP + ENTER, lambda t: t.step(NETWORK, NETWORK_LOOKS, 2)) == "ping"
    assert answer(UP + ENTER, lambda t: t.step(NETWORK, NETWORK_LOOKS, 2)) == HINT
    # no hint left: none offered, the line above "Next step" is the last look
    assert answer(UP + ENTER, lambda t: t.step(NETWORK, NETWORK_LOOKS, 0)) == "processes"


def test_the_name_defaults_to_the_login_name() -> None:
    assert answer(ENTER, lambda t: t.name("alice")) == "alice"
    assert answer("\x7f" * 5 + "bob" + ENTER, lambda t: t.name("alice")) == "bob"


def test_the_diagnosis_is_a_title_or_something_else() -> None:
    choices = diagnosis_choices()
    assert answer(ENTER, lambda t: t.diagnosis(choices)) == choices[0][0]
    assert answer(DOWN + ENTER, lambda t: t.diagnosis(choices)) == choices[1][0]
    assert answer(UP + ENTER, lambda t: t.diagnosis(choices)) == SOMETHING_ELSE
    codes = [code for code, _ in choices]
    assert "server.oom" in codes and not any(c.startswith(("logs.", "restart.", "support."))
                                             for c in codes)


def test_the_fix_menu_builds_real_fixes() -> None:
    programs = ["redis", "worker-1"]
    down = {label: DOWN * i for i, label in enumerate(FIX_MENU)}

    def menu(label: str, then: str = "") -> Any:
        return answer(down[label] + ENTER + then, lambda t: t.fix(programs))

    assert menu("Run a Redis command (with the operator's credentials)",
                "CONFIG SET maxmemory-policy 'noeviction'" + ENTER) == \
        ("redis", ["CONFIG", "SET", "maxmemory-policy", "noeviction"])
    assert menu("Run a command as in a shell ({dir} is the drill's directory)",
                "rmdir {dir}/redis-data/dump.rdb" + ENTER) == \
        ("shell", ["rmdir", "{dir}/redis-data/dump.rdb"])
    assert menu("Restart a program (through the drill's supervisor)", DOWN + ENTER) == \
        ("restart", "worker-1")
    assert menu("Set a value in an env file",
                DOWN + ENTER + "RQ_QUEUE_NAME" + ENTER + "orchestrator" + ENTER) == \
        ("set", {"file": "worker.env", "key": "RQ_QUEUE_NAME", "value": "orchestrator"})
    assert menu("Copy a value from one env file to the other", ENTER + "REDIS_URL" + ENTER) == \
        ("copy", {"from": "worker.env", "to": "app.env", "key": "REDIS_URL"})
    assert menu("Requeue the jobs orphaned by a dead worker") == ("requeue", {})
    assert menu("Look at the evidence again", ENTER) == ("look", "ping")
    assert menu("Fixed: verify it now") == FIXED
    assert menu("Give up") == GIVE_UP
