"""`troubleshooter drill`: list, history, stop, restart, set up only, or run a drill."""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from troubleshooter.drill import scenario as scenarios
from troubleshooter.drill.scoring import history
from troubleshooter.drill.supervisor import Supervisor
from troubleshooter.errors import EXIT_OK, UsageError
from troubleshooter.report import state_dir


def state_path(environ: Mapping[str, str]) -> Path:
    return state_dir(environ) / "drills" / "current.json"


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    if args.list:
        return list_scenarios(environ, args.difficulty)
    if args.history:
        return show_history(environ, args.trainee)
    if args.stop:
        return stop(environ)
    if args.restart:
        return restart(environ, args.restart)
    if args.url:
        raise UsageError("a drill makes its own Redis: drop --url")
    found, remedies = scenarios.catalogue(environ)
    chosen = scenarios.pick(found, args.scenario, args.difficulty, args.seed)
    from troubleshooter.drill.conduct import run_one

    # SIGTERM and SIGHUP unwind like ^C (ui.terminal, installed by cli): the teardown runs.
    return run_one(chosen, remedies, args, environ, state_path(environ))


def list_scenarios(environ: Mapping[str, str], difficulty: str | None = None) -> int:
    for s in scenarios.catalogue(environ)[0].values():
        if difficulty not in (None, s.difficulty):
            continue
        print(f"{s.name:18} {s.difficulty:7} {s.title}")
    return EXIT_OK


def show_history(environ: Mapping[str, str], trainee: str | None) -> int:
    from troubleshooter.sanitize import visible

    entries = [e for e in history(environ) if trainee in (None, e["trainee"])]
    if not entries:
        print("No drill scores yet" + (f" for {visible(trainee)}" if trainee else "") + ".")
        return EXIT_OK
    by_trainee: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_trainee.setdefault(str(entry["trainee"]), []).append(entry)
    for name, rows in by_trainee.items():
        scores = [int(r["score"]) for r in rows]
        print(f"{visible(name)}: {len(rows)} drill(s), mean {sum(scores) / len(scores):.0f}, "
              f"best {max(scores)}, last {scores[-1]}")
        for r in rows:
            recovery = r.get("time_to_recovery_s")
            print(f"  {str(r.get('at', ''))[:16]:16} {visible(str(r['scenario'])):18} "
                  f"{str(r.get('mode', '')):6} {int(r['score']):3}/100  diagnosis "
                  f"{r.get('time_to_diagnosis_s', '-')} s, recovery "
                  f"{recovery if recovery is not None else '-'} s, hints {r.get('hints', 0)}")
    return EXIT_OK


def stop(environ: Mapping[str, str]) -> int:
    path = state_path(environ)
    if not path.exists():
        print("No drill is set up.")
        return EXIT_OK
    sup = Supervisor.load(path)
    stopped = sup.teardown()
    print(f"Stopped drill {sup.info.get('scenario', '?')}: {len(stopped)} process(es) "
          f"({', '.join(stopped) or 'none left'}), removed {sup.dir}")
    return EXIT_OK


def restart(environ: Mapping[str, str], name: str) -> int:
    path = state_path(environ)
    if not path.exists():
        raise UsageError("no drill is set up: nothing to restart")
    program = Supervisor.load(path).restart(name)
    print(f"Restarted {name} (pid {program.pid})")
    return EXIT_OK


def login_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no passwd entry and no $USER in a container
        return "trainee"
