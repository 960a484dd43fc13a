"""`troubleshooter watch`: the command around `watch.watch` (arguments in, exit code out)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

from troubleshooter import library, report
from troubleshooter.engine import DEFAULT_TIMEOUT, Engine, RunOptions
from troubleshooter.errors import EXIT_OK, EXIT_PROBLEMS
from troubleshooter.redaction import Redactor
from troubleshooter.runconfig import resolve_password, resolve_topology, resolve_variables
from troubleshooter.sanitize import json_for_terminal, visible
from troubleshooter.session import Session
from troubleshooter.target import parse_target, resolve_url
from troubleshooter.watch import Round, watch


def run_watch(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from troubleshooter.checks import CHECKS
    from troubleshooter.events import Nobody
    from troubleshooter.ui.console import make_console
    from troubleshooter.ui.watch import closing_line, print_round

    pb = library.load(args.playbook, environ)
    variables = resolve_variables(pb, args, environ)
    url, source = resolve_url(args.url, environ)
    timeout = args.timeout or DEFAULT_TIMEOUT
    console = make_console(sys.stderr if args.json else sys.stdout, environ=environ)
    rounds: list[dict[str, Any]] = []
    # Asked once (--ask-password prompts), used every round.
    base = resolve_password(parse_target(url, source), args, environ)
    redactor = Redactor.for_run(base.secrets, environ)

    def run_once() -> Session:
        target = resolve_topology(base, args)
        options = RunOptions(timeout=timeout, interactive=False, variables=variables)
        return Engine(pb, target, Nobody(), options, CHECKS, environ=environ).run()

    def on_round(r: Round, session: Session) -> None:
        rounds.append(redactor.value(r.to_dict()))
        if args.json:
            sys.stdout.write(json_for_terminal(json.dumps(rounds[-1], ensure_ascii=False)) + "\n")
            sys.stdout.flush()
        else:
            print_round(console, r)
        _save(session, rounds, redactor, environ, args.save)

    if not args.json:
        console.print(f"Watching {visible(redactor.text(url))} every {args.interval:g} s for at "
                      f"most {args.max_time:g} s (^C to stop)", markup=False, highlight=False)
    result = watch(run_once, args.interval, args.max_time, on_round)
    if not args.json:
        console.print(closing_line(result, args.max_time))
    return EXIT_OK if result.healthy else EXIT_PROBLEMS


def _save(session: Session, rounds: list[dict[str, Any]], redactor: Redactor,
          environ: Mapping[str, str], path: str | None) -> None:
    """The transcript keeps every round, and the last round's whole session."""
    document = json.dumps({"schema": "troubleshooter.watch/1", "rounds": rounds,
                           "last": redactor.value(session.to_dict())},
                          indent=2, ensure_ascii=False, default=str)
    try:
        report.save(session, document, environ, path)
    except OSError:
        pass
