"""The one adapter between a drill and the wizard's engine.

Blind: the guide's automated checks run on the drill with nobody to answer and nothing shown;
their session is kept for the debrief. Guided: the ordinary wizard, verdicts on screen.
When the engine becomes `run(config, operator, listener) -> Session`, only this module changes.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from troubleshooter.drill.lab import Lab
from troubleshooter.session import Session


def _setting(lab: Lab, environ: Mapping[str, str]) -> tuple[Any, Any, dict[str, Any],
                                                           dict[str, str]]:
    from troubleshooter import library
    from troubleshooter.target import parse_target

    pb = library.load(None, environ)
    target = parse_target(lab.app_url, "the app's env file")
    variables: dict[str, Any] = {name: var.default for name, var in pb.variables.items()}
    variables.update(app_queue=lab.app_queue,
                     logs=[str(lab.dir / "app.log"), str(lab.dir / "worker.log")])
    env = {**environ, "REDIS_URL": lab.app_url, "RQ_QUEUE_NAME": lab.app_queue}
    return pb, target, {k: v for k, v in variables.items() if k in pb.variables}, env


def automated_walk(lab: Lab, timeout: float, environ: Mapping[str, str]) -> Session:
    """The guide's checks on the drill as it is now, silently (blind mode)."""
    from troubleshooter.checks import CHECKS
    from troubleshooter.engine import Engine, RunOptions
    from troubleshooter.events import Nobody

    pb, target, variables, env = _setting(lab, environ)
    options = RunOptions(timeout=timeout, interactive=False, variables=variables)
    return Engine(pb, target, Nobody(), options, CHECKS, lambda event: None, env).run()


def guided_walk(lab: Lab, args: argparse.Namespace, environ: Mapping[str, str],
                operator: Any, interactive: bool) -> Session | None:
    """Today's wizard, verdicts shown as the checks run (--guided)."""
    from troubleshooter.wizard import execute

    pb, target, variables, env = _setting(lab, environ)
    sessions: list[Session] = []
    execute(pb, target, variables, operator, args, env, interactive,
            on_session=sessions.append)
    return sessions[0] if sessions else None
