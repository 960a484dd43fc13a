"""`troubleshooter run`: wires the playbook, the target, the operator and the UI to the engine."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from troubleshooter import library, playbook, report
from troubleshooter.engine import DEFAULT_TIMEOUT, Engine, RunOptions
from troubleshooter.errors import UsageError
from troubleshooter.exitcodes import TERMINATED, exit_code
from troubleshooter.playbook import Playbook
from troubleshooter.runner import coerce
from troubleshooter.session import Session
from troubleshooter.target import Target, parse_target, resolve_url

# Flags that set well-known playbook variables.
FLAG_VARIABLES = {"log": "logs", "queue": "app_queue", "write_probe": "write_probe",
                  "cluster": "cluster"}


def resolve_variables(pb: Playbook, args: argparse.Namespace,
                      environ: Mapping[str, str]) -> dict[str, Any]:
    """Each variable: --var, then its flag (--log, --queue...), then its env var, then default."""
    values: dict[str, Any] = {}
    for name, var in pb.variables.items():
        values[name] = var.default
        if var.env and environ.get(var.env):
            values[name] = _typed(name, environ[var.env], var.default, f"${var.env}")
    for flag, name in FLAG_VARIABLES.items():
        given = getattr(args, flag, None)
        if given and name in values:
            values[name] = given
    for item in args.var:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--var takes NAME=VALUE, got {item!r}")
        if name not in values:
            known = ", ".join(values) or "none"
            raise UsageError(f"--var {name}: {pb.id} has no such variable (variables: {known})")
        values[name] = _typed(name, value, pb.variables[name].default, "--var")
    return values


def _typed(name: str, text: str, default: Any, where: str) -> Any:
    """Text as the type of the variable's default: in conditions `vars.x` must be False for
    `--var x=false`, and a threshold a number."""
    if default is None or isinstance(default, str):
        return text
    # A numeric default takes any number: a threshold of 100 ms may well be set to 1.5.
    numeric = type(default) in (int, float)
    wanted: type | tuple[type, ...] = (int, float) if numeric else type(default)
    value = coerce(text, wanted)
    if not isinstance(value, wanted) or (isinstance(value, bool) and not isinstance(default, bool)):
        kind = "a number" if numeric else {bool: "true or false",
                                            list: "a comma-separated list"}.get(
            type(default), type(default).__name__)
        raise UsageError(f"{where} {name}={text!r}: expected {kind}")
    return value


def load_answers(path: str | None) -> dict[str, Any]:
    """The `--answers` file: a regular file of at most 1 MB, YAML within the playbook's limits
    (no alias bombs), mapping action ids to answers."""
    if not path:
        return {}
    from troubleshooter import inputfiles, yamlsrc
    from troubleshooter.sanitize import shorten, visible

    text = inputfiles.read_text(path, inputfiles.ANSWERS_MAX, "answers file")
    name = visible(path)
    try:
        source = yamlsrc.load(text)
    except yamlsrc.YamlSyntaxError as exc:
        raise UsageError(f"{name}:{exc.line}:{exc.column}: answers file is not valid YAML: "
                         f"{visible(str(exc))}") from None
    if source.duplicates:
        key, line, first = source.duplicates[0]
        raise UsageError(f"{name}:{line}: {shorten(str(key[-1]))}: duplicate key "
                         f"(first at line {first})")
    if source.data is None:
        return {}
    if not isinstance(source.data, dict):
        raise UsageError(f"{name}: an answers file maps action ids to answers")
    return dict(source.data)


def run_wizard(args: argparse.Namespace, environ: Mapping[str, str],
               target: Target | None = None, intro: str = "",
               on_session: Callable[[Session], None] | None = None) -> int:
    """Run the playbook named by `args`; `on_session` sees the finished session (drills)."""
    pb = playbook.load(library.resolve(args.playbook, environ))
    if target is None:
        from troubleshooter import credentials

        url, source = resolve_url(args.url, environ)
        # The password first: resolving a redis+sentinel:// target connects with it.
        target = resolve_topology(credentials.resolve(parse_target(url, source), args,
                                                      environ), args)
    variables = resolve_variables(pb, args, environ)
    operator, interactive = choose_operator(args, pb, environ)
    return execute(pb, target, variables, operator, args, environ, interactive, intro,
                   on_session)


def choose_operator(args: argparse.Namespace, pb: Playbook,
                    environ: Mapping[str, str]) -> tuple[Any, bool]:
    """Who answers the prompts (a person, the answers file, nobody) and whether interactive."""
    answers = load_answers(args.answers)
    from troubleshooter.ui.terminal import stdin_is_terminal

    interactive = not args.non_interactive and stdin_is_terminal()
    from troubleshooter.ui.prompts import FromFile, Nobody, check_answers

    check_answers(answers, pb, args.answers or "")
    operator: Any = _person(args.json, environ) if interactive else Nobody()
    if answers:
        operator = FromFile(answers, operator)
    return operator, interactive


def resolve_topology(target: Target, args: argparse.Namespace) -> Target:
    """A redis+sentinel:// target pointed at the master its sentinels name (every server and RQ
    check then runs against it); any other target unchanged."""
    if target.sentinel is None:
        return target
    from dataclasses import replace

    from troubleshooter.topology.sentinels import resolve

    if getattr(args, "sentinel_password", None):
        target = replace(target, sentinel=replace(target.sentinel,
                                                  sentinel_password=args.sentinel_password))
    return resolve(target, args.timeout or DEFAULT_TIMEOUT)


def execute(pb: Playbook, target: Target, variables: Mapping[str, Any], operator: Any,
            args: argparse.Namespace, environ: Mapping[str, str], interactive: bool,
            intro: str = "", on_session: Callable[[Session], None] | None = None,
            prior: Session | None = None, prior_redactions: Sequence[Any] = ()) -> int:
    from troubleshooter.autosave import Autosave
    from troubleshooter.checks import CHECKS
    from troubleshooter.ui.console import make_console
    from troubleshooter.ui.render import Renderer, render_summary, render_warnings

    console = make_console(sys.stderr if args.json else sys.stdout)
    renderer = Renderer(console, guidance=interactive, explain=args.explain)
    render_warnings(console, pb.warnings)
    options = RunOptions(timeout=args.timeout or DEFAULT_TIMEOUT, interactive=interactive,
                         assume_yes=args.yes, variables=variables,
                         allow_write=bool(getattr(args, "write_probe", False)))
    autosave = Autosave(environ, prior_redactions)

    def listener(event: Any) -> None:
        renderer(event)
        autosave(event)

    engine = Engine(pb, target, operator, options, CHECKS, listener, environ, prior=prior)
    autosave.attach(engine.session, engine.redactor)
    renderer.fill = template_filler(engine)
    renderer.header(pb, target, engine.session.mode)
    if intro:
        console.print(intro)
    try:
        session = engine.run()
    except KeyboardInterrupt as exc:  # ^C, or SIGTERM / SIGHUP (Terminated)
        from troubleshooter.ui.terminal import restore

        renderer.close()
        restore()
        signum = getattr(exc, "signum", None)
        if signum is not None:
            engine.session.ended_by = TERMINATED
        console.print("\n[magenta]Interrupted; what was done is kept.[/]")
        _conclude(engine.session, autosave, args, environ, console)
        return exit_code(engine.session, signum)
    render_summary(console, session)
    if target.source == "default" and session.diagnosis and \
            session.diagnosis.code == "network.refused":
        console.print("[dim]Nothing answers at the default redis://localhost:6379/0: give the "
                      "app's URL with --url (or REDIS_URL), or train on a real fault with "
                      "`troubleshooter drill`.[/]")
    if on_session:
        on_session(session)
    _conclude(session, autosave, args, environ, console)
    return exit_code(session)


def template_filler(engine: Engine) -> Callable[[str], str]:
    """Fills guidance templates as the engine fills questions: same names, same redaction."""
    from troubleshooter import templating

    return lambda text: engine.redactor.text(str(templating.render(text, engine.names)))


def _conclude(session: Session, autosave: Any, args: argparse.Namespace,
              environ: Mapping[str, str], console: Any) -> None:
    from troubleshooter import store
    from troubleshooter.ui.safe import line

    doc = autosave.document()
    document = report.render(doc, "json")
    try:
        path = store.save_document(doc, environ)  # the state directory: `sessions`, `resume`
        if args.save:
            path = store.save_document(doc, environ, args.save)
        # A path people copy: never wrapped.
        console.print(line((f"Session saved: {path}", "dim")), soft_wrap=True)
        if session.ended_by != "finished":
            console.print(f"[dim]Continue it later: troubleshooter resume "
                          f"{session.trace_id[:8]}[/]", soft_wrap=True)
        store.prune(environ, keep=store.file_name(session.trace_id, session.started_at))
    except OSError as exc:
        console.print(line((f"Could not save the session: {exc.strerror}", "yellow")))
    if args.json:
        from troubleshooter.sanitize import json_for_terminal

        sys.stdout.write(json_for_terminal(document) + "\n")
        sys.stdout.flush()


def _person(json_mode: bool, environ: Mapping[str, str]) -> Any:
    """questionary's prompts, or numbered ones where the terminal cannot redraw (TERM=dumb)."""
    if environ.get("TERM") == "dumb":
        from troubleshooter.ui.plain import Plain

        return Plain(sys.stdin, sys.stderr if json_mode or not sys.stdout.isatty() else sys.stdout)
    from troubleshooter.ui.prompts import Person

    return Person(**_prompt_io(json_mode))


def _prompt_io(json_mode: bool) -> dict[str, Any]:
    """Prompts go where the person looks: stderr when stdout is the JSON document or a file."""
    if not json_mode and sys.stdout.isatty():
        return {}
    from prompt_toolkit.output import create_output

    return {"output": create_output(stdout=sys.stderr)}
