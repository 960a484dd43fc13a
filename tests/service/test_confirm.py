"""A restart of a Redis on another host is confirmed by typing its host name (keys fed to the
real prompts); a local one keeps the usual No/Yes choice."""

from __future__ import annotations

import io

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from troubleshooter.checks.base import CheckContext, Outcome
from troubleshooter.checks.service.restart import preview_restart
from troubleshooter.playbook import Action, Step
from troubleshooter.target import parse_target
from troubleshooter.typed_confirm import host_to_type
from troubleshooter.ui.plain import Plain
from troubleshooter.ui.prompts import Person

pytestmark = pytest.mark.timeout(20)
STEP = Step("restart", "Restarting services")
ACTION = Action("restart_redis", check="service_restart", destructive=True)
DETECTED = Outcome("pass", "", data={"redis": {
    "restart": ["ssh", "db1.internal", "sudo systemctl restart redis-server"],
    "manager": "playbook", "evidence": "the playbook variable redis_restart"}})


def _question(url: str) -> str:
    ctx = CheckContext(target=parse_target(url), timeout=5, earlier={"services": DETECTED},
                       params={"role": "redis", "detection": "services", "recovery_s": 30})
    return f"Restart Redis\n{preview_restart(ctx)}"


def _person(question: str, keys: str) -> bool:
    with create_pipe_input() as inp:
        inp.send_text(keys)
        return Person(input=inp, output=DummyOutput()).confirm(STEP, ACTION, question)


def test_a_remote_restart_asks_for_the_host_name() -> None:
    question = _question("redis://db1.internal:6379/0")
    assert host_to_type(question) == "db1.internal"
    assert "will run: ssh db1.internal 'sudo systemctl restart redis-server'" in question
    assert _person(question, "db1.internal\r") is True
    assert _person(question, "yes\r") is False
    assert _person(question, "\r") is False


def test_a_local_restart_is_a_plain_choice() -> None:
    question = _question("redis://127.0.0.1:6379/0")
    assert host_to_type(question) is None
    assert _person(question, "\x1b[B\r") is True  # down to "Yes"
    assert _person(question, "\r") is False


def test_the_numbered_prompts_ask_for_the_host_name_too() -> None:
    question = _question("redis://db1.internal:6379/0")
    out = io.StringIO()
    assert Plain(io.StringIO("db1.internal\n"), out).confirm(STEP, ACTION, question) is True
    assert "type the host name: db1.internal" in out.getvalue()
    assert Plain(io.StringIO("yes\n"), io.StringIO()).confirm(STEP, ACTION, question) is False
