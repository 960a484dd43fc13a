"""What one run is, decided before it starts: `RunConfig`, built from the command line.

`from_args` is the only place the argparse Namespace is read: the playbook, the target, the
variables (--var, then --log/--queue/--write-probe, then the environment, then the defaults),
the answers file and the options. A flag the playbook cannot use is refused here, in one line.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from troubleshooter.errors import UsageError
from troubleshooter.events import DEFAULT_TIMEOUT, RunOptions
from troubleshooter.frozen import frozen
from troubleshooter.playbook import Playbook
from troubleshooter.runner import coerce
from troubleshooter.session import Session
from troubleshooter.target import Target, password_from_env, with_password

# Flags that set well-known playbook variables.
FLAG_VARIABLES = {"log": "logs", "queue": "app_queue", "write_probe": "write_probe",
                  "cluster": "cluster",
                  "dry_run": "dry_run", "config": "config_files", "pid": "app_pids"}
# --deadline when nobody is at the terminal to notice a run that does not end.
NON_INTERACTIVE_DEADLINE = 30.0


@frozen
class RunConfig:
    """Everything a run needs, fixed before it starts. `started` (monotonic) is when the
    command began: the deadline counts from there (None: from when the run starts)."""

    playbook: Playbook
    target: Target
    options: RunOptions
    answers: Mapping[str, Any] = MappingProxyType({})
    answers_path: str = ""
    environ: Mapping[str, str] = MappingProxyType({})
    started: float | None = None
    # `resume`: the session to continue (its finished steps are kept) and its redaction audit.
    prior: Session | None = None
    prior_redactions: tuple[Mapping[str, Any], ...] = ()

    @property
    def variables(self) -> Mapping[str, Any]:
        return self.options.variables

    @property
    def interactive(self) -> bool:
        return self.options.interactive


def from_args(args: argparse.Namespace, environ: Mapping[str, str],
              target: Target | None = None, started: float | None = None) -> RunConfig:
    """The run the command line asks for; UsageError (one line) when it cannot be run."""
    from troubleshooter import library
    from troubleshooter.target import parse_target, resolve_url

    pb = library.load(args.playbook, environ)
    if target is None:
        url, source = resolve_url(args.url, environ)
        # The password first: resolving a redis+sentinel:// target connects with it.
        target = resolve_topology(resolve_password(parse_target(url, source), args, environ),
                                  args)
    refuse_unusable_flags(pb, args)
    variables = resolve_variables(pb, args, environ)
    answers = load_answers(args.answers)
    if answers:
        from troubleshooter.ui.prompts import check_answers

        check_answers(answers, pb, args.answers or "")
    from troubleshooter.ui.terminal import stdin_is_terminal

    interactive = not args.non_interactive and stdin_is_terminal()
    options = RunOptions(timeout=args.timeout or DEFAULT_TIMEOUT, interactive=interactive,
                         assume_yes=args.yes, variables=variables,
                         allow_write=bool(getattr(args, "write_probe", False)),
                         deadline=deadline_of(args, interactive))
    return RunConfig(pb, target, options, answers, args.answers or "", dict(environ),
                     time.monotonic() if started is None else started)


def deadline_of(args: argparse.Namespace, interactive: bool) -> float | None:
    """--deadline, else none for a person at the terminal and 30 s for nobody."""
    deadline: float | None = getattr(args, "deadline", None)
    return NON_INTERACTIVE_DEADLINE if deadline is None and not interactive else deadline


def resolve_password(target: Target, args: argparse.Namespace,
                     environ: Mapping[str, str]) -> Target:
    """`target` with the password the options or the environment give (see credentials)."""
    path = getattr(args, "password_file", None)
    if path:
        from troubleshooter.credentials import read_password_file

        return with_password(target, read_password_file(path), "--password-file")
    if getattr(args, "ask_password", False):
        if args.non_interactive or not sys.stdin.isatty():
            raise UsageError("--ask-password needs a person at a terminal; without one, "
                             "give the password with --password-file FILE")
        from troubleshooter.credentials import ask_password

        return with_password(target, ask_password(), "--ask-password")
    return password_from_env(target, environ)


def resolve_topology(target: Target, args: argparse.Namespace) -> Target:
    """A redis+sentinel:// target pointed at the master its sentinels name (every server and RQ
    check then runs against it); any other target unchanged."""
    if target.sentinel is None:
        return target
    from dataclasses import replace

    from troubleshooter.topology.sentinels import resolve

    password = getattr(args, "sentinel_password", None)
    path = getattr(args, "sentinel_password_file", None)
    if path:
        from troubleshooter.credentials import read_password_file

        password = read_password_file(path, "--sentinel-password-file")
    if password:
        target = replace(target, sentinel=replace(target.sentinel, sentinel_password=password))
    return resolve(target, args.timeout or DEFAULT_TIMEOUT)


def refuse_unusable_flags(pb: Playbook, args: argparse.Namespace) -> None:
    """--log / --queue set a playbook variable: without it they would be silently dropped."""
    for flag, name in FLAG_VARIABLES.items():
        if flag == "write_probe":
            continue  # it also unlocks any write_probe check, variable or not
        if getattr(args, flag, None) and name not in pb.variables:
            shown = "--" + flag.replace("_", "-")
            raise UsageError(f"{shown}: playbook {pb.id} has no `{name}` variable, so it cannot "
                             f"use {shown} (drop it, or run a playbook that declares `{name}`)")
    uses_write = "write_probe" in pb.variables or any(
        a.check == "write_probe" for s in pb.steps for a in s.actions)
    if getattr(args, "write_probe", False) and not uses_write:
        raise UsageError(f"--write-probe: playbook {pb.id} has no write probe (drop the flag)")


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
