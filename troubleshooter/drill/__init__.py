"""Training drills: a real broken Redis and RQ, diagnosed and fixed by the trainee, scored.

`scenarios/` holds the scenarios as YAML; `lab` sets one up under the drill's `supervisor`;
`flow` runs the drill (looks, hints, diagnosis, fix, `verify`, `scoring`); `command` wires
`troubleshooter drill`; the screens are in `troubleshooter.ui.drill`.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping


def run_drill(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from troubleshooter.drill.command import run

    return run(args, environ)
