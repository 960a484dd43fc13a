"""When the transcript is saved at once: after an answer, a change, or a step of slow checks;
a step of quick reads waits for the next save (it costs less to run again than to sync)."""

from __future__ import annotations

import os

import pytest

from troubleshooter import library, playbook
from troubleshooter.autosave import CHEAP_STEP_S, _worth_saving
from troubleshooter.events import PromptFinished, Skip, StepFinished
from troubleshooter.session import AnswerRecord, CheckRecord, StepRecord

STEPS = {s.id: s for s in playbook.load(library.resolve(None, os.environ)).steps}


def check(ident: str, status: str = "pass") -> CheckRecord:
    return CheckRecord(ident, "k", ident, {}, status, "", "", 1.0, 1.0)


def finished(step: str, checks: list[CheckRecord], seconds: float,
             answers: tuple[AnswerRecord, ...] = (), skip: Skip | None = None) -> StepFinished:
    record = StepRecord(step, step, checks=checks, answers=list(answers),
                        duration_ms=seconds * 1000)
    return StepFinished(STEPS[step], record, skip)


@pytest.mark.parametrize(("event", "saved"), [
    (finished("server", [check("ping"), check("info")], 0.05), False),  # quick reads
    (finished("server", [check("ping"), check("info")], CHEAP_STEP_S), True),  # slow ones
    (finished("server", [check("ping", "skipped")], CHEAP_STEP_S * 5), False),  # nothing ran
    (finished("restart", [check("bgsave")], 0.01), True),  # a change: never made twice
    (finished("restart", [check("bgsave", "skipped"), check("verify_ping")], 0.01), False),
    (finished("configuration", [check("sources")], 0.01,
              (AnswerRecord("same_url", "", "", "answered", True),)), True),
    (finished("server", [check("ping")], 5.0, skip=Skip("deadline", "deadline")), False),
    (PromptFinished(STEPS["logs"], AnswerRecord("log_lines", "", "", "answered", [])), True),
    (PromptFinished(STEPS["logs"], AnswerRecord("log_lines", "", "", "pending")), False),
])
def test_what_is_saved_at_once(event: object, saved: bool) -> None:
    assert _worth_saving(event) is saved
