"""Prompts for a terminal that cannot move its cursor (TERM=dumb: Emacs shells, serial
consoles, some CI consoles): numbered choices and whole lines, nothing redrawn."""

from __future__ import annotations

from typing import TextIO

from troubleshooter.engine import Answered, Reply, SkipStep
from troubleshooter.errors import QuitRequested
from troubleshooter.playbook import Action, Step
from troubleshooter.sanitize import visible

HINT = "s = skip this step, q = quit"


class Plain:
    """The same choices as `Person`: Enter takes the default, `s` skips, `q` quits."""

    def __init__(self, read: TextIO, write: TextIO) -> None:
        self.read, self.write = read, write

    def ask(self, step: Step, action: Action, question: str) -> Reply:
        if action.help:
            question = f"{question} ({action.help})"
        question = visible(question, multiline=True)
        if action.prompt == "text":
            shown = visible(str(action.default or ""))
            line = self._line(f"? {question} [{shown}] ({HINT}): ")
            return self._special(line) or Answered(line or str(action.default or ""))
        if action.prompt == "confirm":
            choices, default = ["Yes", "No"], [1 if action.default is False else 0]
        else:
            choices = list(action.choices)
            wanted = action.default if isinstance(action.default, list) else [action.default]
            default = [i for i, c in enumerate(choices) if c in wanted]
            if action.prompt == "select" and not default:
                default = [0]
        many = action.prompt == "checklist"
        picked = self._pick(question, choices, default, many)
        if isinstance(picked, SkipStep):
            return picked
        if action.prompt == "confirm":
            return Answered(picked[0] == 0)
        values = [choices[i] for i in picked]
        return Answered(values if many else values[0])

    def confirm(self, step: Step, action: Action, question: str) -> bool:
        from troubleshooter.typed_confirm import host_to_type

        host = host_to_type(question)
        if host is not None:  # a restart on another host: the name typed, not "yes"
            shown = visible(question, multiline=True)
            return self._line(f"! {shown} (anything else cancels): ") == host
        sep = "\n" if "\n" in question else ": "
        question = visible(question, multiline=True)
        line = self._line(f"! {question}{sep}This changes the target. Type yes to go ahead "
                          "(q quits) [no]: ")
        if line == "q":
            raise QuitRequested
        return line.lower() == "yes"

    def _pick(self, question: str, choices: list[str], default: list[int],
              many: bool) -> list[int] | SkipStep:
        self.write.write(f"? {question}\n")
        for i, choice in enumerate(choices, 1):
            self.write.write(f"  {i}) {visible(choice)}\n")
        shown = ",".join(str(i + 1) for i in default) or "none"
        ask = "numbers, comma-separated" if many else "a number"
        while True:
            line = self._line(f"  {ask} [{shown}] ({HINT}): ")
            special = self._special(line)
            if special:
                return special
            if not line:
                return default
            numbers = [p.strip() for p in line.split(",") if p.strip()]
            if all(n.isdigit() and 1 <= int(n) <= len(choices) for n in numbers) and (
                many or len(numbers) == 1
            ):
                return [int(n) - 1 for n in numbers]
            self.write.write(f"  please answer {ask} from 1 to {len(choices)}\n")

    def _special(self, line: str) -> SkipStep | None:
        if line in ("q", "!quit"):
            raise QuitRequested
        if line in ("s", "!skip"):
            reason = self._line("  Why skip this step? [not applicable]: ")
            return SkipStep(reason or "not applicable")
        return None

    def _line(self, prompt: str) -> str:
        self.write.write(prompt)
        self.write.flush()
        line = self.read.readline()
        if not line:  # end of input: nobody is left to answer
            raise QuitRequested
        return line.strip()
