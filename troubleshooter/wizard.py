"""`troubleshooter run`: one entry point, `run(config, operator, listener) -> Session`.

`cli.py` builds the `RunConfig` (runconfig.from_args), picks where the run is shown
(`run_in_terminal` hands a terminal view from ui/), and turns the returned Session into the exit
code (`exit_code`). Nothing here prints: the view does.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from troubleshooter import exitcodes
from troubleshooter.engine import Engine, Listener, Operator
from troubleshooter.events import DEFAULT_TIMEOUT, RunOptions
from troubleshooter.exitcodes import TERMINATED
from troubleshooter.playbook import Playbook
from troubleshooter.runconfig import RunConfig, deadline_of, from_args, load_answers
from troubleshooter.runconfig import resolve_variables as resolve_variables  # commands.py
from troubleshooter.session import Session
from troubleshooter.target import Target

if TYPE_CHECKING:
    from troubleshooter.checks.base import CheckKind
    from troubleshooter.ui.view import Output


def run(config: RunConfig, operator: Operator, listener: Listener = lambda event: None,
        checks: Mapping[str, CheckKind] | None = None) -> Session:
    """Run the playbook of `config`; the session comes back finished, also after ^C (then
    `ended_by` is "interrupted") or a quit. `checks` is the registry (default: every family)."""
    if checks is None:
        from troubleshooter.checks import CHECKS

        checks = CHECKS
    engine = Engine(config.playbook, config.target, operator, config.options, checks, listener,
                    config.environ, prior=config.prior, started=config.started)
    try:
        return engine.run()
    except KeyboardInterrupt as exc:  # ^C, or SIGTERM / SIGHUP (errors.Terminated)
        signum = getattr(exc, "signum", None)
        if signum is not None:
            engine.session.ended_by, engine.session.signum = TERMINATED, signum
        return engine.session


def exit_code(session: Session) -> int:
    """The exit code a finished session stands for (exitcodes.exit_code)."""
    return exitcodes.exit_code(session, session.signum)


def run_in_terminal(config: RunConfig, output: Output,
                    operator: Operator | None = None) -> Session:
    """Run `config` shown on the terminal (or, with --json, the document on stdout); the
    operator is the view's (an answers file, the person, or nobody) unless one is given."""
    from troubleshooter.ui.view import TerminalView

    view = TerminalView(config, output)
    view.begin()
    session = run(config, operator or view.operator(), view)
    view.end(session)
    return session


def run_wizard(args: argparse.Namespace, environ: Mapping[str, str],
               target: Target | None = None, intro: str = "",
               on_session: Callable[[Session], None] | None = None) -> int:
    """The command line's run, as an exit code (kept for callers that have a Namespace;
    new code builds a RunConfig and calls `run_in_terminal` or `run`)."""
    from troubleshooter.ui.view import Output

    config = from_args(args, environ, target)
    session = run_in_terminal(config, Output.from_args(args, intro))
    if on_session and session.ended_by not in ("interrupted", TERMINATED):
        on_session(session)
    return exit_code(session)


# -- for callers that still hold a Namespace (`resume` in commands.py) -------------------------
def choose_operator(args: argparse.Namespace, pb: Playbook,
                    environ: Mapping[str, str]) -> tuple[Any, bool]:
    """Who answers the prompts (the answers file, a person, nobody) and whether interactive."""
    from troubleshooter.ui.view import Output, TerminalView

    answers = load_answers(args.answers)
    if answers:
        from troubleshooter.ui.prompts import check_answers

        check_answers(answers, pb, args.answers or "")
    from troubleshooter.ui.terminal import stdin_is_terminal

    interactive = not args.non_interactive and stdin_is_terminal()
    options = RunOptions(interactive=interactive)
    config = RunConfig(pb, Target(url="", source=""), options, answers, args.answers or "",
                       dict(environ))
    return TerminalView(config, Output.from_args(args)).operator(), interactive


def execute(pb: Playbook, target: Target, variables: Mapping[str, Any], operator: Any,
            args: argparse.Namespace, environ: Mapping[str, str], interactive: bool,
            intro: str = "", on_session: Callable[[Session], None] | None = None,
            prior: Session | None = None, prior_redactions: Sequence[Any] = ()) -> int:
    """Run `pb` against `target` with these variables and operator, shown on the terminal;
    the exit code. New code builds a RunConfig and calls `run_in_terminal`."""
    from troubleshooter.ui.view import Output

    options = RunOptions(timeout=args.timeout or DEFAULT_TIMEOUT, interactive=interactive,
                         assume_yes=args.yes, variables=variables,
                         allow_write=bool(getattr(args, "write_probe", False)),
                         deadline=deadline_of(args, interactive))
    config = RunConfig(pb, target, options, environ=dict(environ), prior=prior,
                       prior_redactions=tuple(prior_redactions))
    session = run_in_terminal(config, Output.from_args(args, intro), operator)
    if on_session and session.ended_by not in ("interrupted", TERMINATED):
        on_session(session)
    return exit_code(session)
