"""Operators: who answers the manual prompts (a person, an answers file; nobody is
`events.Nobody`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from troubleshooter.engine import Answered, Reply, SkipStep
from troubleshooter.errors import QuitRequested, UsageError
from troubleshooter.events import Operator
from troubleshooter.playbook import Action, Playbook, Step
from troubleshooter.sanitize import shorten, visible

SKIP = "Skip this step…"
QUIT = "Quit the wizard"
TEXT_SKIP, TEXT_QUIT = "!skip", "!quit"
CHECKLIST_HELP = "(Space: tick · Enter: confirm · tick Skip/Quit to skip/quit)"


class Person:
    """A person at the terminal, through questionary. ^C propagates (unsafe_ask)."""

    def __init__(self, **prompt_kwargs: Any) -> None:
        # input=/output= for tests and for --json (prompts on stderr).
        self.kwargs = prompt_kwargs

    def ask(self, step: Step, action: Action, question: str) -> Reply:
        import questionary

        if action.help:
            question = f"{question}\n  ({action.help})"
        question = visible(question, multiline=True)
        kind = action.prompt
        if kind == "confirm":
            default = "No" if action.default is False else "Yes"
            choice = self._select(question, ["Yes", "No"], default)
            return choice if isinstance(choice, SkipStep) else Answered(choice == "Yes")
        if kind == "select":
            default = action.default if action.default in action.choices else action.choices[0]
            choice = self._select(question, list(action.choices), default)
            return choice if isinstance(choice, SkipStep) else Answered(choice)
        if kind == "checklist":
            defaults = set(action.default or [])
            choices = [questionary.Choice(visible(c), value=c, checked=c in defaults)
                       for c in action.choices]
            choices += [questionary.Separator(), questionary.Choice(SKIP), questionary.Choice(QUIT)]
            # Enter submits the ticked boxes, not the highlighted one: say so, or a person
            # pressing Enter on "Skip" would answer "none of these" instead.
            picked = _ask(questionary.checkbox(question, choices=choices,
                                               instruction=CHECKLIST_HELP, **self.kwargs))
            if QUIT in picked:
                raise QuitRequested
            if SKIP in picked:
                return self._skip()
            return Answered(list(picked))
        text = _ask(questionary.text(
            question, default=str(action.default or ""),
            instruction=f"(Enter accepts; {TEXT_SKIP} skips the step, {TEXT_QUIT} quits)",
            **self.kwargs,
        ))
        if text.strip() == TEXT_QUIT:
            raise QuitRequested
        if text.strip() == TEXT_SKIP:
            return self._skip()
        return Answered(text)

    def _select(self, question: str, choices: list[str], default: str) -> str | SkipStep:
        import questionary

        options = [questionary.Choice(visible(c), value=c) for c in choices]
        picked = _ask(questionary.select(question, choices=[*options, SKIP, QUIT],
                                         default=default, **self.kwargs))
        if picked == QUIT:
            raise QuitRequested
        if picked == SKIP:
            return self._skip()
        return str(picked)

    def _skip(self) -> SkipStep:
        import questionary

        # No pre-filled default: what the person types would be appended to it.
        reason = _ask(questionary.text("Why skip this step?",
                                       instruction="(Enter: not applicable)", **self.kwargs))
        return SkipStep(reason.strip() or "not applicable")

    def confirm(self, step: Step, action: Action, question: str) -> bool:
        import questionary

        from troubleshooter.typed_confirm import host_to_type

        host = host_to_type(question)
        if host is not None:  # a restart on another host: typed, not a key press
            typed = _ask(questionary.text(
                f"{visible(question, multiline=True)}\n(anything else cancels)", **self.kwargs))
            return bool(typed.strip() == host)
        # A preview (the job ids...) makes the question several lines: ask on a line of its own.
        sep = "\n" if "\n" in question else " — "
        question = visible(question, multiline=True)
        picked = _ask(questionary.select(f"{question}{sep}This changes the target. Go ahead?",
                                         choices=["No", "Yes", QUIT], default="No",
                                         **self.kwargs))
        if picked == QUIT:
            raise QuitRequested
        return bool(picked == "Yes")


def _ask(prompt: Any) -> Any:
    """The prompt's answer; ^D (end of input) is "Quit", as choosing it. ^C propagates.

    prompt_toolkit ends a text prompt on ^D only while it is empty, and a select or checkbox
    not at all: bind it on every prompt, so ^D means the same wherever it is pressed.
    """
    from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings

    keys = KeyBindings()

    @keys.add("c-d", eager=True)
    def _end_of_input(event: Any) -> None:
        event.app.exit(exception=EOFError(), style="class:aborting")

    app = prompt.application
    app.key_bindings = merge_key_bindings([app.key_bindings, keys]) if app.key_bindings \
        else keys
    try:
        return prompt.unsafe_ask()
    except EOFError:
        raise QuitRequested from None


class FromFile:
    """Answers from an `--answers` file first; anything it does not answer goes to `fallback`."""

    def __init__(self, answers: Mapping[str, Any], fallback: Operator) -> None:
        self.answers = answers
        self.fallback = fallback

    def ask(self, step: Step, action: Action, question: str) -> Reply:
        if action.id in self.answers:
            value = self.answers[action.id]
            if value == TEXT_SKIP or (isinstance(value, str) and value.startswith("!skip")):
                return SkipStep(value.partition(" ")[2] or "no reason given", "answers-file")
            return Answered(value, source="answers-file")
        return self.fallback.ask(step, action, question)

    def confirm(self, step: Step, action: Action, question: str) -> bool:
        return self.fallback.confirm(step, action, question)


def check_answers(answers: Mapping[str, Any], playbook: Playbook, path: str) -> None:
    """Every id in an answers file must name a manual action, with an answer of the right shape."""
    actions = {a.id: a for s in playbook.steps for a in s.actions}
    for key, value in answers.items():
        action = actions.get(str(key))
        if action is None:
            known = ", ".join(a.id for a in actions.values() if not a.is_check)
            raise UsageError(f"{path}: {shorten(repr(key))} is not a manual action of "
                             f"{playbook.id} (known: {known})")
        if isinstance(value, str) and value.startswith(TEXT_SKIP):
            continue
        problem = _answer_problem(action, value)
        if problem:
            raise UsageError(f"{path}: {shorten(str(key))}: {problem}")


def _answer_problem(action: Action, value: Any) -> str | None:
    if action.is_check and action.destructive:
        return ("a destructive action is confirmed at its prompt or with --yes, never from "
                "an answers file")
    if action.is_check:
        return "an automated check takes no answer"
    if action.prompt == "confirm" and not isinstance(value, bool):
        return f"expected true or false, got {shorten(repr(value))}"
    if action.prompt == "select" and value not in action.choices:
        return f"{shorten(repr(value))} is not one of: {', '.join(action.choices)}"
    if action.prompt == "checklist" and not (
        isinstance(value, list) and all(v in action.choices for v in value)
    ):
        return f"expected a list of: {', '.join(action.choices)}"
    if action.prompt == "text" and not isinstance(value, str | int | float):
        return f"expected text, got {type(value).__name__}"
    return None
