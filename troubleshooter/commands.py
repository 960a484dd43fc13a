"""The session commands: `sessions`, `resume`, `report` and `bundle`.

Each reads the saved transcripts (`store`), never Redis (except `resume`, which is a run). Bad
input - an unknown or ambiguous id, a damaged or newer transcript, an output path that cannot
be written - is a UsageError: one line, exit 2, and nothing written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from troubleshooter.errors import EXIT_OK, UsageError
from troubleshooter.sanitize import json_for_terminal, shorten, visible

if TYPE_CHECKING:
    from troubleshooter.redaction import Redactor

# `--help` builds every parser: the store and the redactor load only when a session command
# runs.
MASK = "***"


def add_parsers(sub: Any, add_run_options: Any, add_password_options: Any) -> None:
    """The subcommands' arguments (cli.py calls this)."""
    sessions = sub.add_parser("sessions", help="list the saved sessions, newest first")
    sessions.add_argument("--json", action="store_true", help="one JSON document")
    resume = sub.add_parser("resume", help="continue an unfinished session (default: the last)")
    resume.add_argument("id", nargs="?", help="a trace id or its first characters")
    add_run_options(resume)
    add_password_options(resume)  # the transcript never keeps the password
    rep = sub.add_parser("report", help="the incident report of a session (default: the last)")
    rep.add_argument("id", nargs="?", help="a trace id or its first characters")
    rep.add_argument("--format", choices=("md", "html", "json"), default="md")
    rep.add_argument("-o", "--output", metavar="FILE", help="write it here (default: stdout)")
    bun = sub.add_parser("bundle", help="write the support bundle of a session (.tar.gz)")
    bun.add_argument("id", nargs="?", help="a trace id or its first characters")
    bun.add_argument("-o", "--output", metavar="FILE.tar.gz",
                     help="where to write it (default: the state directory's bundles/)")


def dispatch(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    commands = {"sessions": list_sessions, "report": report_cmd, "bundle": bundle_cmd,
                "resume": resume}
    return int(commands[args.command](args, environ))


# -- sessions -------------------------------------------------------------------------------
def list_sessions(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from troubleshooter import store

    store.check_limits(environ)
    found, problems = store.listing(environ)
    rows = [s.summary() for s in found]
    if args.json:
        sys.stdout.write(json_for_terminal(json.dumps(rows, indent=2, ensure_ascii=False)) + "\n")
    else:
        for r in rows:
            started = str(r["started_at"] or "")[:19].replace("T", " ")
            ended = "" if r["ended_by"] == "finished" else f" ({r['ended_by']})"
            line = (f"{r['trace_id'][:8]}  {started}  {r['target'] or '-'}  "
                    f"{r['status']}{ended}  {r['diagnosis'] or '-'}")
            print(visible(line))
        if not rows:
            print(f"no saved sessions in {store.sessions_dir(environ)}")
    for problem in problems:
        print(f"troubleshooter: warning: {visible(problem)}", file=sys.stderr)
    return EXIT_OK


# -- report and bundle ----------------------------------------------------------------------
def _redactor(environ: Mapping[str, str]) -> Redactor:
    from troubleshooter.redaction import Redactor

    return Redactor.for_run([], environ)


def report_cmd(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from troubleshooter import report, store

    stored = store.find(environ, args.id)
    destination = _output(args.output)
    text = report.render(report.document(stored.doc, _redactor(environ)), args.format)
    if destination is None:
        # Stored text came from Redis, servers and logs: nothing in it may act on a terminal.
        shown = json_for_terminal(text) if args.format == "json" else visible(text, multiline=True)
        sys.stdout.write(shown if shown.endswith("\n") else shown + "\n")
        return EXIT_OK
    _write(destination, text.encode("utf-8"))
    print(f"Report written: {destination}", file=sys.stderr)
    return EXIT_OK


def bundle_cmd(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from troubleshooter import bundle, store

    stored = store.find(environ, args.id)
    destination = _output(args.output) or bundle.default_path(stored.doc, environ)
    members = bundle.build(stored.doc, _redactor(environ))
    root = destination.name.removesuffix(".tar.gz").removesuffix(".tgz") or "bundle"
    try:
        bundle.write(members, destination, root)
    except OSError as exc:
        raise UsageError(f"cannot write {destination}: {exc.strerror}") from None
    print(destination)
    return EXIT_OK


def _output(path: str | None) -> Path | None:
    """An output file whose directory exists and is writable, else UsageError (before any
    work is done, so nothing is left behind)."""
    if path is None:
        return None
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"cannot write {shorten(path)}: it is a directory")
    parent = target.parent
    if not parent.is_dir():
        raise UsageError(f"cannot write {shorten(path)}: no directory {shorten(str(parent))}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {shorten(path)}: permission denied")
    return target


def _write(path: Path, data: bytes) -> None:
    from troubleshooter import store

    try:
        store.write_private(path, data)
    except OSError as exc:
        raise UsageError(f"cannot write {shorten(str(path))}: {exc.strerror}") from None


# -- resume ---------------------------------------------------------------------------------
def resume(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Run the playbook again on the session: finished steps kept, the cut one run again."""
    from troubleshooter import library, store, wizard
    from troubleshooter.sessionload import SessionFormatError, session_from_dict
    from troubleshooter.target import parse_target

    stored = store.find(environ, args.id, unfinished=True)
    if stored.finished:
        raise UsageError(f"session {stored.trace_id[:8]} is finished: nothing to resume "
                         f"(`troubleshooter report {stored.trace_id[:8]}` shows it)")
    try:
        prior = session_from_dict(stored.doc)
    except SessionFormatError as exc:
        raise UsageError(f"{stored.path}: {exc}") from None
    saved_pb = prior.playbook
    where = saved_pb.get("path") or saved_pb.get("id")
    pb = library.load(where if where and Path(str(where)).is_file() else str(saved_pb.get("id")),
                      environ)
    from troubleshooter.runconfig import resolve_password

    password_given = bool(args.password_file or args.ask_password)
    url, source = _resume_url(args.url, prior.target, environ, password_given)
    target = resolve_password(parse_target(url, source), args, environ)
    variables = wizard.resolve_variables(pb, args, environ)
    given = {item.partition("=")[0] for item in args.var}
    for name, value in prior.variables.items():
        if name in variables and name not in given and MASK not in json.dumps(value):
            variables[name] = value
    operator, interactive = wizard.choose_operator(args, pb, environ)
    kept = [s.title for s in prior.steps if s.finished_at]
    intro = (f"Resuming session {prior.trace_id[:8]} (it ended: {prior.ended_by}).\n"
             f"Kept: {', '.join(kept) or 'nothing'}; the step it stopped in runs again.")
    from rich.markup import escape  # the wizard prints the intro as markup

    return wizard.execute(pb, target, variables, operator, args, environ, interactive,
                          escape(visible(intro, multiline=True)), prior=prior,
                          prior_redactions=stored.doc.get("redactions") or [])


def _resume_url(cli_url: str | None, saved: Mapping[str, Any], environ: Mapping[str, str],
                password_given: bool = False) -> tuple[str, str]:
    """--url, else the environment's URL if it is the saved one, else the saved URL when it
    carried no password (the transcript keeps it masked) or the password is given again
    (--password-file, --ask-password: it replaces the mask)."""
    from troubleshooter.target import parse_target, resolve_url

    if cli_url is not None:
        return cli_url, "--url"
    saved_url = str(saved.get("url") or "")
    url, source = resolve_url(None, environ)
    if source != "default" and parse_target(url, source).redacted == saved_url:
        return url, source
    if (MASK in saved_url or saved.get("password_set")) and not password_given:
        raise UsageError("the session's Redis URL had a password, which the transcript does "
                         "not keep: give the URL again with --url or $REDIS_URL, or the "
                         "password with --password-file or --ask-password")
    return saved_url, "resumed session"
