"""Training drills: a real broken Redis and RQ, diagnosed and fixed by the trainee, scored.

`scenarios/` holds the scenarios as YAML (`scenario` loads them); `lab` builds one under the
drill's own `supervisor` and `steps` breaks it; `flow` runs the drill (`looks`, hints, the
diagnosis, `fixes`, `verify`, `scoring`); `walk` is the one adapter to the wizard's engine;
`command` and `conduct` wire `troubleshooter drill`; the screens are in `ui/drill.py`.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping


def run_drill(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from troubleshooter.drill.command import run

    return run(args, environ)
