"""`troubleshooter logs SOURCE... [--since WHEN] [--json]`: the log scan on its own.

Exit 0 when nothing matched, 1 when any signature matched, 2 on bad usage or when no source
could be read at all.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping

from troubleshooter.errors import EXIT_INCOMPLETE, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, UsageError

# Literals, not imports: `--help` must not load the check registry (checks.logs.matcher.ENGINES
# and checks.logs.kind.TIME_LIMIT say the same; a test holds them equal).
ENGINES = ("auto", "hyperscan", "python")
TIME_LIMIT = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="SOURCE",
                        help="a log file (with its rotations), glob, directory, `-` (stdin), "
                             "journal:UNIT or docker:NAME")
    parser.add_argument("--since", metavar="WHEN",
                        help="only lines from then on: 30m, 2h, 1d or 2026-11-25T10:00 "
                             "(default: everything)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--engine", choices=ENGINES, default="auto",
                        help="the matching engine (default: hyperscan where installed)")
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT, metavar="SECONDS",
                        help=f"stop scanning after this long (default {TIME_LIMIT:g})")


def run_logs(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from troubleshooter.checks.logs import signatures as sigs
    from troubleshooter.checks.logs.api import scan_logs, to_json
    from troubleshooter.checks.logs.matcher import EngineUnavailable
    from troubleshooter.checks.logs.window import SinceError, parse_since
    from troubleshooter.cmdrunner import CommandRunner
    from troubleshooter.redaction import Redactor

    now = time.time()
    try:
        since = parse_since(args.since, now) if args.since else None
    except SinceError as exc:
        raise UsageError(str(exc)) from None
    if not 0 < args.time_limit <= 3600:
        raise UsageError(f"--time-limit must be more than 0 and at most 3600 seconds, got "
                         f"{args.time_limit:g}")
    redactor = Redactor.for_run([], environ)
    runner = CommandRunner(environ, redact=redactor.text)
    stdin = sys.stdin.buffer if "-" in args.sources else None
    try:
        result = scan_logs(args.sources, sigs.catalogue(), since=since, now=now,
                           time_limit=args.time_limit, runner=runner, stdin=stdin,
                           engine=args.engine, redact=redactor.text)
    except EngineUnavailable as exc:
        raise UsageError(f"--engine {args.engine}: {exc}") from None
    if args.json:
        sys.stdout.write(json.dumps(to_json(result), indent=2) + "\n")
    else:
        from troubleshooter.ui.console import make_console
        from troubleshooter.ui.logs import render_scan

        render_scan(make_console(environ=environ), result)
    if not result.found_any_source:
        if not args.json:
            print("troubleshooter: error: no log source could be read (the notes on "
                  "standard output say why)",
                  file=sys.stderr)
        return EXIT_USAGE
    if result.matches:
        return EXIT_PROBLEMS
    # Stopped at its time limit: what was not read may hold what was looked for.
    return EXIT_OK if result.complete else EXIT_INCOMPLETE
