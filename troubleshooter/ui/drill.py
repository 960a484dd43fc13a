"""The drill's screens and prompts: story, steps, looks, hints, the fix menu, the debrief.

Scenario texts come from YAML a team may extend, evidence from a broken Redis: both are shown
as `rich.text.Text`, never as markup.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from troubleshooter.drill.flow import FIXED, GIVE_UP, HINT, LOOK, NEXT, STEPS, Fix, Step
from troubleshooter.drill.looks import LOOKS, Look
from troubleshooter.drill.scenario import Scenario
from troubleshooter.drill.scoring import SOMETHING_ELSE, Debrief
from troubleshooter.drill.verify import Verdict
from troubleshooter.findings import CATALOGUE
from troubleshooter.sanitize import visible
from troubleshooter.ui.prompts import _ask as ask_or_quit  # ^D quits, as at every prompt

QUESTION = "What is your diagnosis?"
FIX_MENU = {
    "Run a Redis command (with the operator's credentials)": "redis",
    "Run a command as in a shell ({dir} is the drill's directory)": "shell",
    "Restart a program (through the drill's supervisor)": "restart",
    "Stop a program": "stop",
    "Set a value in an env file": "set",
    "Copy a value from one env file to the other": "copy",
    "Requeue the jobs orphaned by a dead worker": "requeue",
    "Resend lost jobs from the app's outbox": "resend_lost",
    "Look at the evidence again": LOOK,
    "Fixed: verify it now": FIXED,
    "Give up": GIVE_UP,
}


def prose(text: str) -> Text:
    """A YAML block of prose as paragraphs: the terminal wraps lines, blank lines separate."""
    paragraphs = [" ".join(p.split("\n")) for p in text.strip().split("\n\n")]
    return Text("\n\n".join(paragraphs))


class ConsoleView:
    def __init__(self, console: Console, mask: Callable[[str], str] = str) -> None:
        self.console = console
        self.mask = mask  # the drill's passwords, should any message carry one

    def story(self, scenario: Scenario, blind: bool, directory: Path) -> None:
        body = prose(scenario.story)
        if scenario.alert:
            body.append("\n\nAlert: ", style="bold").append(scenario.alert)
        self.console.print(Panel(body, title=f"Drill · {scenario.title} ({scenario.difficulty})",
                                 expand=False))
        if blind:
            self.console.print(Text(
                "Blind drill: the guide's checks run, their verdicts stay hidden. At each step "
                "look at the evidence you want; hints cost 10 points each. Then diagnose, fix it "
                "for real, and say when it is fixed.", style="dim"))
        self.console.print(Text(
            f"For your own shell: the app's and worker's files are in {directory}/ (app.env, "
            "worker.env, app.log, worker.log, redis.log, redis.conf); `troubleshooter drill "
            "--restart PROGRAM` restarts a program.", style="dim"), soft_wrap=True)

    def step(self, step: Step, total: int) -> None:
        self.console.print()
        self.console.rule(Text(f"Step {step.index + 1}/{total} · {step.title}", style="bold"),
                          align="left")
        self.console.print(Text(step.question))

    def look(self, item: Look, text: str) -> None:
        self.console.print(Panel(Text(text), title=Text(item.title), expand=False))

    def hint(self, number: int, text: str) -> None:
        self.console.print(Text(f"Hint {number}: {text.strip()}", style="yellow"))

    def fix_result(self, text: str) -> None:
        self.console.print(Text(f"  {text}", style="cyan"))

    def verdict(self, verdict: Verdict) -> None:
        for ok, text in verdict.checks:
            self.console.print(Text(f"  {'✓' if ok else '✗'} {text}",
                                    style="green" if ok else "red"))
        if verdict.ok:
            self.console.print(Text("Verified: the system is healthy again.", style="bold green"))
        else:
            self.console.print(Text("Not fixed yet.", style="bold red"))

    def debrief(self, d: Debrief) -> None:
        a, s, sc = d.attempt, d.score, d.scenario
        self.console.print()
        self.console.rule(Text(f"Debrief · {sc.name} · {a.trainee}", style="bold"), align="left")
        given = CATALOGUE[a.diagnosis].title if a.diagnosis in CATALOGUE else "something else"
        expected = " / ".join(CATALOGUE[c].title for c in sc.diagnosis)
        chosen = d.remedies.get(a.remedy, a.remedy or "none")
        for label, text, points in (
            ("Cause", f"you said: {given}. It was: {expected}.", f"{s.cause}/40"),
            ("Remedy", f"you chose: {chosen}. The remedy: {d.remedies[sc.remedy]}.",
             f"{s.remedy}/20"),
            ("Fixed", "verified by the drill." if a.fixed else "not verified.", f"{s.fixed}/40"),
            ("Hints", f"{a.hints} used.", f"-{s.hint_penalty}"),
        ):
            line = Text(f"{label:7} ", style="bold").append(text).append(f"  {points}",
                                                                         style="cyan")
            self.console.print(line)
        self.console.print(Text(f"Score   {s.total}/100", style="bold"))
        recovery = f"{a.time_to_recovery_s:.0f} s" if a.time_to_recovery_s is not None else "-"
        self.console.print(Text(f"Time to diagnosis {a.time_to_diagnosis_s:.0f} s · time to "
                                f"recovery {recovery} · looks {len(a.looks)} · hints {a.hints}"))
        self.console.print(Text("Where the evidence was:", style="bold"))
        titles = {step_id: title for step_id, title, _ in STEPS}
        for ev in sc.evidence:
            seen = "you looked" if ev.look in a.looks else "not looked at"
            where = titles[LOOKS[ev.look].step]
            self.console.print(Text(f"  {where} · {ev.look}: {ev.shows}  ({seen})"))
        self.console.print(Text("What the guide's steps found:", style="bold"))
        for found in guide_lines(d):
            self.console.print(Text(f"  {self.mask(found)}"))
        if a.fixes:
            self.console.print(Text("What you did:", style="bold"))
            for fix in a.fixes:
                self.console.print(Text(f"  {visible(fix)}"))
        self.console.print(Panel(prose(sc.debrief), title="Debrief", expand=False))


def guide_lines(d: Debrief) -> list[str]:
    if d.guide is None:
        return ["(the automated checks did not run)"]
    lines = []
    for step in d.guide.steps:
        for f in step.findings:
            if f.severity != "info":
                lines.append(f"{step.title}: {f.code}: {visible(f.message)}")
    if d.guide.diagnosis:
        lines.append(f"The guide's diagnosis: {d.guide.diagnosis.code} "
                     f"({d.guide.diagnosis.title}); remedy: {d.guide.diagnosis.remedy}")
    return lines or ["no finding"]


class PersonTrainee:
    """The trainee at the terminal (questionary); ^C propagates, ^D quits (QuitRequested)."""

    def __init__(self, **prompt_kwargs: Any) -> None:
        self.kwargs = prompt_kwargs

    def name(self, default: str) -> str:
        import questionary

        text = ask_or_quit(questionary.text("Your name (for the scores):", default=default,
                                            **self.kwargs))
        return str(text).strip() or default

    def _select(self, question: str, choices: Sequence[str], default: str | None = None) -> str:
        import questionary

        return str(ask_or_quit(questionary.select(question, choices=list(choices),
                                                  default=default, **self.kwargs)))

    def _text(self, question: str) -> str:
        import questionary

        return str(ask_or_quit(questionary.text(question, **self.kwargs))).strip()

    def step(self, step: Step, looks: list[Look], hints_left: int) -> str:
        options = {f"Look: {item.title}": item.id for item in looks}
        if hints_left:
            options[f"Hint (costs 10 points; {hints_left} left)"] = HINT
        go_on = "Next step" if step.id != "support" else "Go to the diagnosis"
        options[go_on] = NEXT
        return options[self._select("What do you do?", list(options), default=go_on)]

    def diagnosis(self, choices: list[tuple[str, str]]) -> str:
        by_title = {title: code for code, title in choices}
        picked = self._select(QUESTION, [*by_title, "Something else"])
        return by_title.get(picked, SOMETHING_ELSE)

    def remedy(self, choices: list[tuple[str, str]]) -> str:
        by_text = {text: rid for rid, text in choices}
        return by_text[self._select("And the remedy?", list(by_text))]

    def fix(self, programs: list[str]) -> Fix | str:
        kind = FIX_MENU[self._select("Fix it for real. What do you do?", list(FIX_MENU))]
        if kind in (FIXED, GIVE_UP):
            return kind
        if kind == LOOK:
            by_title = {item.title: item.id for item in LOOKS.values()}
            return LOOK, by_title[self._select("Look at what?", list(by_title))]
        ask = self._text
        if kind == "redis":
            line = ask("redis> ") or "PING"
            try:
                return kind, shlex.split(line)
            except ValueError:  # an unbalanced quote: take the words as typed
                return kind, line.split()
        if kind == "shell":
            line = ask("$ ")
            try:
                return kind, shlex.split(line) or ["true"]
            except ValueError:
                return kind, line.split() or ["true"]
        if kind in ("restart", "stop"):
            return kind, self._select("Which program?", [*programs, "workers", "all"])
        if kind == "set":
            return kind, {"file": self._select("Which file?", ["app.env", "worker.env"]),
                          "key": ask("Key:"),
                          "value": ask("Value ({password} is the current Redis password, as "
                                       "your secrets vault fills it in):")}
        if kind == "copy":
            source = self._select("From which file?", ["worker.env", "app.env"])
            other = "app.env" if source == "worker.env" else "worker.env"
            return kind, {"from": source, "to": other, "key": ask("Key:")}
        return kind, {}
