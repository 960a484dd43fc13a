"""Command line: argument parsing and the one error handler. `main(argv) -> exit code`."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

from troubleshooter import __version__
from troubleshooter.errors import (
    EXIT_INCOMPLETE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_OUTPUT,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    PlaybookError,
    Terminated,
    TroubleshooterError,
    UsageError,
)
from troubleshooter.sanitize import shorten, shorten_quoted, visible
from troubleshooter.ui.streams import Guarded, reopen_closed_descriptors

SESSION_COMMANDS = ("sessions", "resume", "report", "bundle")
# The cyclic garbage collector's thresholds for a command (see _gc_for_a_command): a young
# collection per this many new container objects, an older one per GC_OLDER_EVERY of those.
GC_YOUNG_OBJECTS, GC_OLDER_EVERY = 100_000, 10
COMMANDS = ("run", "validate", "playbooks", "checks", "drill", "watch", "logs", *SESSION_COMMANDS)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line and exit 2, as everywhere else
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command; given `command`, the arguments of the commands declared in
    modules of their own (`logs`, the session commands) only when it is one of them: parsing
    `command ...` consults no other subparser, and a triage need not import those modules."""
    parser = _Parser(
        prog="troubleshooter",
        description="Walks you through a Redis / RQ outage, step by step: network, server, logs, "
                    "restart, configuration, support. `troubleshooter` alone runs the outage "
                    "playbook against $RQ_REDIS_URL, $REDIS_URL or redis://localhost:6379/0.",
    )
    parser.add_argument("--version", action="version", version=f"troubleshooter {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    run = sub.add_parser("run", help="run a playbook (the default command)")
    run.add_argument("playbook", nargs="?", help="a playbook name or .yaml path "
                                                 "(default: redis-outage)")
    add_run_options(run)
    add_password_options(run)

    validate = sub.add_parser("validate", help="check playbook files and report every problem")
    validate.add_argument("files", nargs="+", metavar="FILE")

    sub.add_parser("playbooks", help="list shipped and user playbooks")
    sub.add_parser("checks", help="list the automated check kinds a playbook can use")

    # Declared here, not in drill.py: `run` must not pay for importing the drill machinery.
    drill = sub.add_parser("drill", help="train on a real local Redis with a real fault "
                                         "(needs redis-server)")
    drill.add_argument("scenario", nargs="?",
                       help="a scenario from `drill --list` (default: a random fault)")
    drill.add_argument("--list", action="store_true", help="list the scenarios")
    drill.add_argument("--seed", type=int, help="pick the random scenario reproducibly")
    drill.add_argument("--difficulty", choices=("easy", "medium", "hard"),
                       help="pick the random scenario among these")
    drill.add_argument("--guided", action="store_true",
                       help="show the checks' verdicts as they run (a first walk-through)")
    drill.add_argument("--trainee", metavar="NAME", help="whose score (default: login name)")
    drill.add_argument("--history", action="store_true", help="show the trainees' scores")
    drill.add_argument("--setup-only", action="store_true",
                       help="set the fault up, leave it running, print its URL last")
    drill.add_argument("--stop", action="store_true",
                       help="tear down what `drill --setup-only` left running")
    drill.add_argument("--restart", metavar="PROGRAM",
                       help="restart a program of the running drill (redis, worker-1...)")
    add_run_options(drill)
    drill.set_defaults(playbook=None)

    watch = sub.add_parser("watch", help="re-run the automated checks until the diagnosis "
                                         "clears (after a fix, during a failover)")
    watch.add_argument("playbook", nargs="?", help="a playbook name or .yaml path "
                                                   "(default: redis-outage)")
    add_run_options(watch)
    add_password_options(watch)
    watch.add_argument("--interval", type=_seconds, default=5.0, metavar="SECONDS",
                       help="seconds between rounds (default 5)")
    watch.add_argument("--max-time", type=_seconds, default=600.0, metavar="SECONDS",
                       help="give up after this many seconds (default 600): exit 1")

    logs = sub.add_parser("logs", help="scan logs for Redis and RQ error signatures "
                                       "(exit 1 when any matched)")
    if command in (None, "logs"):
        _add_logs_arguments(logs)
    if command in (None, *SESSION_COMMANDS):
        from troubleshooter.commands import add_parsers

        add_parsers(sub, add_run_options, add_password_options)
    return parser


def _add_logs_arguments(parser: argparse.ArgumentParser) -> None:
    from troubleshooter.logscan.cli import add_arguments

    add_arguments(parser)


def add_run_options(run: argparse.ArgumentParser) -> None:
    run.add_argument("--url", help="the Redis URL to diagnose (default: $RQ_REDIS_URL, "
                                   "$REDIS_URL, redis://localhost:6379/0)")
    run.add_argument("--log", action="append", default=[], metavar="PATH",
                     help="a log file to read in step 3 (repeatable)")
    run.add_argument("--queue", help="the RQ queue the app enqueues to (default: "
                                     "$RQ_QUEUE_NAME)")
    run.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                     help="set a playbook variable (repeatable)")
    run.add_argument("--non-interactive", action="store_true",
                     help="run the automated checks only; manual actions stay pending "
                          "(automatic when stdin is not a terminal)")
    run.add_argument("--yes", action="store_true",
                     help="confirm destructive actions in advance")
    run.add_argument("--answers", metavar="FILE",
                     help="YAML file answering manual prompts: action id -> answer")
    run.add_argument("--json", action="store_true",
                     help="print the session as one JSON document on stdout "
                          "(human output on stderr)")
    run.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                     help="time limit of each network check (default 3)")
    run.add_argument("--deadline", type=_seconds, default=None, metavar="SECONDS",
                     help="time limit of the whole automated part of the run: checks still "
                          "running then are stopped, the rest skipped (default: none "
                          "interactively, 30 with --non-interactive)")
    run.add_argument("--sentinel-password", metavar="PASSWORD",
                     help="the Sentinels' own password for a redis+sentinel:// URL (or "
                          "?sentinel_password= in the URL; `ps` shows it: prefer "
                          "--sentinel-password-file)")
    run.add_argument("--sentinel-password-file", metavar="FILE",
                     help="read the Sentinels' password from FILE (a file or a pipe)")
    run.add_argument("--cluster", action="store_true",
                     help="the target is a Redis Cluster node: check the whole cluster")
    run.add_argument("--write-probe", action="store_true",
                     help="prove writes work: set and delete one short-lived key")
    run.add_argument("--explain", action="store_true",
                     help="show why each step matters (training)")
    # Steps 4 and 5 (service and config checks).
    run.add_argument("--dry-run", action="store_true",
                     help="step 4: show every restart command, run none")
    run.add_argument("--config", action="append", default=[], metavar="FILE", type=_readable,
                     help="step 5: a configuration file to compare (dotenv, YAML, TOML, a Python "
                          "settings module read as text; repeatable)")
    run.add_argument("--pid", action="append", default=[], type=_pid, metavar="PID",
                     help="step 5: an app process whose environment and connections to read "
                          "(repeatable)")
    run.add_argument("--save", metavar="PATH",
                     help="also write the transcript here (it is always saved in "
                          "$XDG_STATE_HOME/troubleshooter/sessions/)")


def add_password_options(run: argparse.ArgumentParser) -> None:
    """The password without the command line: `ps` shows every process's arguments."""
    given = run.add_mutually_exclusive_group()
    given.add_argument("--password-file", metavar="FILE",
                       help="read the Redis password from FILE (or a pipe) instead of the URL")
    given.add_argument("--ask-password", action="store_true",
                       help="prompt for the Redis password (not echoed)")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(
            f"must be more than 0 and at most 3600 seconds, got {text}")
    return value


def _readable(path: str) -> str:
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"{path}: not a readable file")
    return path


def _pid(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a process id: {text!r}")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0] not in COMMANDS and args_list[0] not in
                         ("-h", "--help", "--version")):
        args_list.insert(0, "run")
    streams = _guard_streams()
    try:
        code = _handled(args_list, started)
    finally:
        sys.stdout, sys.stderr = (s.stream for s in streams)
    return _output_failed(streams, code)


def _handled(args_list: list[str], started: float) -> int:
    """Run the command; every way it can end becomes one line (at most) and an exit code."""
    from troubleshooter.ui import terminal

    terminal.install()
    try:
        command = args_list[0] if args_list[0] in COMMANDS else None  # else --help, --version
        args = build_parser(command).parse_args(args_list)
        args.started = started  # when the command began: a run's --deadline counts from here
        return int(_dispatch(args, os.environ))
    except TroubleshooterError as exc:
        _say(f"troubleshooter: error: {exc}")
        return exc.exit_code
    except Terminated as exc:  # SIGTERM / SIGHUP outside a run (a run saves and returns)
        terminal.restore()
        _say(f"\ntroubleshooter: terminated by {signal.Signals(exc.signum).name}")
        return exc.exit_code
    except KeyboardInterrupt:
        terminal.restore()
        _say("\ntroubleshooter: interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:  # anything else is our bug: one line, the traceback in a file
        terminal.restore()
        return _crash(exc)
    finally:
        terminal.uninstall()
        # A command a check started (a restart cut short by ^C, SIGTERM or the deadline) does
        # not outlive the tool. Only a run that ran one has imported cmdrunner.
        runner = sys.modules.get("troubleshooter.cmdrunner")
        if runner is not None:
            runner.stop_all()


def _say(line: str) -> None:
    """One line for the person, made safe: it may quote a file name or a value from outside
    (of any length: a quoted value is cut to ~80 characters)."""
    print(visible(shorten_quoted(line), multiline=True), file=sys.stderr)


def _guard_streams() -> tuple[Guarded, Guarded]:
    if sys.stdin is None:  # `<&-`: nobody to ask
        sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the process
    out = Guarded(sys.stdout, "standard output")
    err = Guarded(sys.stderr, "standard error")
    sys.stdout, sys.stderr = out, err
    return out, err


def _output_failed(streams: tuple[Guarded, Guarded], code: int) -> int:
    """A stream that could not be written: say so on the other one, and exit 5 unless the
    run ended for a reason that says more (usage, crash, signal)."""
    failed = [s for s in streams if s.error is not None]
    for stream in failed:
        line = f"troubleshooter: error: cannot write to {stream.name}: {stream.error}\n"
        for other in streams:
            if other.error is None and other.stream is not None:
                other.write(line)
                other.flush()
                break
    if failed and code in (EXIT_OK, EXIT_PROBLEMS, EXIT_INCOMPLETE):
        return EXIT_OUTPUT
    return code


def entry() -> None:
    """The console script: `main`, then a fast exit.

    Tearing down an interpreter with redis, rq and rich loaded takes ~100 ms, a fifth of a
    healthy triage; by now everything is written and saved, so flush and leave (without the
    interpreter's own last flush, which would print a traceback for a broken pipe).
    """
    _gc_for_a_command()
    reopen_closed_descriptors()
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            code = code if code not in (EXIT_OK, EXIT_PROBLEMS, EXIT_INCOMPLETE) else EXIT_OUTPUT
    os._exit(code)


def _gc_for_a_command() -> None:
    """Collect cyclic garbage per GC_YOUNG_OBJECTS new objects, not per 700 (Python's default).

    A command's allocations are mostly what lives as long as it does (modules, classes,
    functions, the session): with the default thresholds a healthy triage runs ~80 young and
    ~7 middle collections, 15-20 ms of its ~230 ms, finding ~1,200 garbage objects. Now it runs
    none, and a long `watch`, drill or interactive run still collects its cycles, at most
    GC_YOUNG_OBJECTS container objects waiting (~18 MB if each were a small dict).
    """
    import gc

    gc.set_threshold(GC_YOUNG_OBJECTS, GC_OLDER_EVERY, GC_OLDER_EVERY)


def _dispatch(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    if args.command == "validate":
        return validate(args.files)
    if args.command == "playbooks":
        return list_playbooks(environ)
    if args.command == "checks":
        return list_checks()
    if args.command == "logs":
        from troubleshooter.logscan.cli import run_logs

        return run_logs(args, environ)
    if args.command == "drill":
        from troubleshooter.drill import run_drill

        return run_drill(args, environ)
    if args.command == "watch":
        from troubleshooter.watchcmd import run_watch

        return run_watch(args, environ)
    if args.command in SESSION_COMMANDS:
        from troubleshooter.commands import dispatch

        return dispatch(args, environ)
    return run_command(args, environ)


def run_command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """`troubleshooter run`: the config from the arguments, shown on this terminal, and the
    session it returns as the exit code."""
    from troubleshooter import runconfig, wizard
    from troubleshooter.ui.view import Output

    config = runconfig.from_args(args, environ, started=getattr(args, "started", None))
    session = wizard.run_in_terminal(config, Output.from_args(args))
    return wizard.exit_code(session)


def validate(files: Sequence[str]) -> int:
    from troubleshooter import playbook

    failed = False
    for name in files:
        try:
            pb = playbook.load(name)
        except PlaybookError as exc:
            failed = True
            for line in exc.problems:
                print(visible(line), file=sys.stderr)
            continue
        for line in pb.warnings:
            print(visible(line), file=sys.stderr)
        print(visible(f"{name}: ok ({pb.id}: {len(pb.steps)} steps, "
                      f"{sum(len(s.actions) for s in pb.steps)} actions)"))
    return EXIT_USAGE if failed else 0


def list_playbooks(environ: Mapping[str, str]) -> int:
    from troubleshooter import library, playbook

    for origin, path in library.discover(environ):
        try:
            pb = playbook.load(path)
            about = f"{pb.title} — {pb.description.strip().splitlines()[0]}" if pb.description \
                else pb.title
        except PlaybookError as exc:
            about = f"INVALID: {exc.problems[0]}"
        print(visible(f"{path.stem:24} {origin:8} {shorten(about, 200)}"))
        print(visible(f"{'':33} {path}"))
    return 0


def list_checks() -> int:
    from troubleshooter.checks import CHECKS
    from troubleshooter.checks.base import REQUIRED

    for kind in CHECKS.values():
        flag = " (destructive)" if kind.destructive else ""
        print(f"{kind.name}{flag}: {kind.help}")
        for name, p in kind.params.items():
            default = "required" if p.default is REQUIRED else f"default {p.default!r}"
            print(f"    {name}: {p.help} ({default})")
    return 0


def _crash(exc: BaseException) -> int:
    from troubleshooter import crashlog
    from troubleshooter.redaction import Redactor

    # The one redaction layer, with this environment's secrets ($REDISCLI_AUTH, secret-named
    # variables, URLs in variables): a traceback may quote a URL or a password.
    redact = Redactor.for_run([], os.environ).text
    try:
        log = crashlog.write(redact("".join(traceback.format_exception(exc))), os.environ)
        where = f"; details in {log}"
    except OSError:
        where = ""
    # One line whatever the exception says: the whole of it is in the crash log.
    message = shorten(redact(str(exc)), 300)
    _say(f"troubleshooter: internal error: {type(exc).__name__}: {message}{where}")
    return EXIT_INTERNAL
