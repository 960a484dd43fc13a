"""Conducts one drill: the trainee, the lab, the drill itself, the debrief, the score kept;
teardown always (normal end, ^C, SIGTERM, an error), unless the lab is left for a class."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from troubleshooter.drill.answers import FromAnswers, from_mapping
from troubleshooter.drill.flow import Trainee
from troubleshooter.drill.lab import Lab, build, setup
from troubleshooter.drill.scenario import Scenario
from troubleshooter.drill.supervisor import Supervisor
from troubleshooter.errors import (
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_PROBLEMS,
    QuitRequested,
    UsageError,
)
from troubleshooter.session import Session


def run_one(scenario: Scenario, remedies: Mapping[str, str], args: argparse.Namespace,
            environ: Mapping[str, str], state: Path) -> int:
    from troubleshooter.drill.command import login_name
    from troubleshooter.ui.console import make_console
    from troubleshooter.ui.drill import PersonTrainee

    _refuse_a_second_drill(state)
    answers = _answers(args.answers, remedies)
    interactive = not args.non_interactive and sys.stdin.isatty()
    if answers is None and not interactive and not args.setup_only:
        raise UsageError("a drill needs its trainee: run it in a terminal, or give "
                         "--answers FILE (see the README's Drills section)")
    console = make_console(sys.stderr if args.json else sys.stdout, environ=environ)
    person = PersonTrainee(**_prompt_io(args.json)) if answers is None else None
    name = args.trainee or (answers.trainee if answers else None) or (
        person.name(login_name()) if person and not args.setup_only else login_name())
    lab = build(scenario, state)
    keep = False
    try:
        with console.status("Setting up the drill…"):
            setup(lab)
        if args.setup_only:
            keep = True
            _instructions(lab)
            return EXIT_OK
        trainee: Trainee | None = answers or person
        assert trainee is not None  # checked above: a file, or a person at a terminal
        try:
            return _drill(lab, remedies, trainee, name, args, environ, console,
                          interactive and answers is None)
        except QuitRequested:
            console.print("Drill ended by the trainee (^D): not scored; everything it started "
                          "is stopped.")
            return EXIT_INCOMPLETE
    finally:
        if not keep:
            lab.sup.teardown()


def _drill(lab: Lab, remedies: Mapping[str, str], trainee: Trainee, name: str,
           args: argparse.Namespace, environ: Mapping[str, str], console: Any,
           interactive: bool) -> int:
    from troubleshooter.drill.flow import Drill
    from troubleshooter.drill.scoring import record
    from troubleshooter.drill.walk import automated_walk, guided_walk
    from troubleshooter.events import Nobody
    from troubleshooter.ui.drill import ConsoleView
    from troubleshooter.ui.prompts import Person

    view = ConsoleView(console, lab.mask)
    guide: Callable[[], Session | None]
    if args.guided:
        operator = Person(**_prompt_io(args.json)) if interactive else Nobody()
        guide = lambda: guided_walk(lab, args, environ, operator, interactive)  # noqa: E731
    else:
        def guide() -> Session | None:
            with console.status("Starting the drill…"):
                return automated_walk(lab, args.timeout or 3.0, environ)
    debrief = Drill(lab.scenario, lab, trainee, view, remedies).run(name, guide,
                                                                   blind=not args.guided)
    view.debrief(debrief)
    path = record(environ, debrief.attempt, debrief.score)
    console.print(f"[dim]Score kept in {path}[/]", soft_wrap=True)
    if args.json:
        sys.stdout.write(json.dumps({"attempt": asdict(debrief.attempt),
                                     "score": debrief.score.total,
                                     "points": asdict(debrief.score)}, indent=2) + "\n")
    attempt = debrief.attempt
    right = attempt.diagnosis in lab.scenario.diagnosis
    return EXIT_OK if right and attempt.fixed else EXIT_PROBLEMS


def _answers(path: str | None, remedies: Mapping[str, str]) -> FromAnswers | None:
    if not path:
        return None
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise UsageError(f"cannot read answers file {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, yaml.YAMLError):
        raise UsageError(f"{path}: answers file is not valid YAML (UTF-8)") from None
    return from_mapping(data, path, remedies)


def _refuse_a_second_drill(state: Path) -> None:
    if not state.exists():
        return
    sup = Supervisor.load(state)
    if any(p.alive() for p in sup.programs.values()):
        raise UsageError(f"drill {sup.info.get('scenario', '?')} is still set up: end it with "
                         "`troubleshooter drill --stop`")
    sup.teardown()  # a drill that was killed outright: clean up what it left


def _instructions(lab: Lab) -> None:
    from troubleshooter.sanitize import visible

    s = lab.scenario
    programs = ", ".join(f"{p.name} (pid {p.pid})" for p, state in lab.sup.status()
                         if state != "stopped")
    print(f"Drill {s.name} is set up: {s.title} ({s.difficulty}).")
    print(visible(s.story.strip(), multiline=True))
    if s.alert:
        print(f"Alert: {visible(s.alert)}")
    print(f"Files: {lab.dir}/ (app.env, worker.env, app.log, worker.log, redis.log, "
          "redis.conf)")
    print(f"Running under the drill's supervisor: {programs or 'nothing'}")
    print("Restart a program: troubleshooter drill --restart PROGRAM")
    print("Stop it all and clean up: troubleshooter drill --stop")
    print("The app's Redis URL (its password, if any, is in app.env):")
    print(visible(lab.mask(lab.app_url)))


def _prompt_io(json_mode: bool) -> dict[str, Any]:
    if not json_mode and sys.stdout.isatty():
        return {}
    from prompt_toolkit.output import create_output

    return {"output": create_output(stdout=sys.stderr)}
