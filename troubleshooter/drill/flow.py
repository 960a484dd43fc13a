"""One drill, from story to score: the trainee walks the six steps (blind: looks and hints
instead of verdicts), diagnoses, fixes for real, and the drill verifies and scores.

It never prints and never prompts: a `Trainee` answers, a `View` shows (ui/drill.py, or an
answers file in tests).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from troubleshooter.drill import fixes
from troubleshooter.drill.lab import Lab
from troubleshooter.drill.looks import LOOKS, Look, look
from troubleshooter.drill.scenario import Scenario
from troubleshooter.drill.scoring import Attempt, Debrief, score
from troubleshooter.drill.verify import Verdict, verify
from troubleshooter.findings import CATALOGUE
from troubleshooter.frozen import frozen, record
from troubleshooter.session import Session

NEXT, HINT, FIXED, GIVE_UP, LOOK = "next", "hint", "fixed", "give up", "look"
# The guide's six steps, as the trainee walks them, with the question each one asks.
STEPS = (
    ("network", "Network connectivity", "Can the app reach Redis at all?"),
    ("server", "Redis server status", "Does Redis answer, accept the app, have room to write? "
                                      "Are the workers alive?"),
    ("logs", "Logs", "What did the app, the workers and Redis log?"),
    ("restart", "Restarting services", "What is running, what is not?"),
    ("configuration", "Configuration verification", "What do the app and the workers read?"),
    ("support", "Contacting support", "Anything to escalate before you decide?"),
)
CAUSE_FAMILIES = ("config.", "network.", "server.", "rq.")


@frozen
class Step:
    id: str
    title: str
    question: str
    index: int


Fix = tuple[str, Any]


class Trainee(Protocol):
    def step(self, step: Step, looks: list[Look], hints_left: int) -> str:
        """A look id, HINT or NEXT."""

    def diagnosis(self, choices: list[tuple[str, str]]) -> str:
        """A code from `choices` (code, title), or SOMETHING_ELSE."""

    def remedy(self, choices: list[tuple[str, str]]) -> str:
        """A remedy id from `choices` (id, text)."""

    def fix(self, programs: list[str]) -> Fix | str:
        """A fix (kind, argument), (LOOK, look id), FIXED (verify now) or GIVE_UP."""


class View(Protocol):
    def story(self, scenario: Scenario, blind: bool, directory: Path) -> None: ...
    def step(self, step: Step, total: int) -> None: ...
    def look(self, item: Look, text: str) -> None: ...
    def hint(self, number: int, text: str) -> None: ...
    def fix_result(self, text: str) -> None: ...
    def verdict(self, verdict: Verdict) -> None: ...


def diagnosis_choices() -> list[tuple[str, str]]:
    """The finding catalogue's causes, by title (the codes would give too much away)."""
    return [(code, c.title) for code, c in CATALOGUE.items()
            if code.startswith(CAUSE_FAMILIES) and c.severity != "info"]


@record
class Drill:
    scenario: Scenario
    lab: Lab
    trainee: Trainee
    view: View
    remedies: Mapping[str, str]
    clock: Callable[[], float] = time.monotonic

    def run(self, trainee_name: str, guide: Callable[[], Session | None],
            blind: bool = True) -> Debrief:
        """The whole drill. `guide` runs the wizard's checks (silent when blind, shown when
        guided) and returns their session for the debrief."""
        view = self.view
        session = guide() if blind else None
        view.story(self.scenario, blind, self.lab.dir)
        start = self.clock()
        looks: list[str] = []
        hints = 0
        if blind:
            for step in (Step(*s, index=i) for i, s in enumerate(STEPS)):
                view.step(step, len(STEPS))
                hints = self._walk_step(step, looks, hints)
        else:
            session = guide()
        cause = self.trainee.diagnosis(diagnosis_choices())
        remedy = self.trainee.remedy(sorted(self.remedies.items(), key=lambda r: r[1]))
        diagnosed = self.clock() - start
        done, verdict = self._fix(looks)
        attempt = Attempt(
            trainee=trainee_name, scenario=self.scenario.name,
            mode="blind" if blind else "guided", looks=tuple(looks), hints=hints,
            diagnosis=cause, remedy=remedy, fixes=tuple(done),
            fixed=bool(verdict and verdict.ok), time_to_diagnosis_s=round(diagnosed, 1),
            time_to_recovery_s=round(self.clock() - start, 1) if verdict and verdict.ok
            else None)
        return Debrief(self.scenario, attempt, score(self.scenario, attempt), self.remedies,
                       verdict, session)

    def _walk_step(self, step: Step, looks: list[str], hints: int) -> int:
        offered = [item for item in LOOKS.values() if item.step == step.id]
        while True:
            choice = self.trainee.step(step, offered, len(self.scenario.hints) - hints)
            if choice == NEXT:
                return hints
            if choice == HINT:
                if hints < len(self.scenario.hints):
                    hints += 1
                    self.view.hint(hints, self.scenario.hints[hints - 1])
                continue
            if choice in LOOKS:
                looks.append(choice)
                self.view.look(LOOKS[choice], look(self.lab, choice))

    def _fix(self, looks: list[str]) -> tuple[list[str], Verdict | None]:
        done: list[str] = []
        verdict: Verdict | None = None
        while True:
            choice = self.trainee.fix(list(self.lab.sup.programs))
            if choice == GIVE_UP:
                return done, verdict
            if choice == FIXED:
                verdict = verify(self.lab)
                self.view.verdict(verdict)
                if verdict.ok:
                    return done, verdict
                continue
            if isinstance(choice, tuple) and choice[0] == LOOK and choice[1] in LOOKS:
                looks.append(choice[1])  # checking one's own fix: a look like any other
                self.view.look(LOOKS[choice[1]], look(self.lab, choice[1]))
            elif isinstance(choice, tuple):
                kind, arg = choice
                result = fixes.apply(self.lab, kind, arg)
                done.append(self.lab.mask(fixes.describe(kind, arg)))  # a typed password too
                self.view.fix_result(result)
