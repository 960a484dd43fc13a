"""A run on the terminal: where it is shown, who answers, and what is said at the end.

Human output goes to stdout, or to stderr when stdout carries the --json document; prompts go
where the person looks. The session is saved and the JSON document written here, after the
summary.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, TextIO

from troubleshooter import events, report
from troubleshooter.exitcodes import TERMINATED
from troubleshooter.frozen import frozen
from troubleshooter.ui.safe import line

if TYPE_CHECKING:
    from troubleshooter.runconfig import RunConfig
    from troubleshooter.session import Session


@frozen
class Output:
    """How a run is shown: --json, --explain, --save, and a drill's briefing."""

    json: bool = False
    explain: bool = False
    save: str | None = None
    intro: str = ""

    @classmethod
    def from_args(cls, args: argparse.Namespace, intro: str = "") -> Output:
        return cls(json=bool(args.json), explain=bool(getattr(args, "explain", False)),
                   save=getattr(args, "save", None), intro=intro)


class TerminalView:
    """Listens to the engine (as the Renderer), then shows the summary and saves the session."""

    def __init__(self, config: RunConfig, output: Output, stdout: TextIO | None = None,
                 stdin: TextIO | None = None) -> None:
        from troubleshooter.ui.console import make_screen, plain_symbols
        from troubleshooter.ui.render import Renderer

        self.config, self.output = config, output
        self.stdout = stdout or sys.stdout
        self.stdin = stdin or sys.stdin
        self.console = make_screen(sys.stderr if output.json else self.stdout,
                                   environ=config.environ)
        self.renderer = Renderer(self.console, guidance=config.interactive,
                                 explain=output.explain,
                                 plain=plain_symbols(self.console, config.environ))
        from troubleshooter.autosave import Autosave

        # Saves the transcript as the run goes: a killed run can be resumed.
        self.autosave = Autosave(config.environ, config.prior_redactions)

    def operator(self) -> events.Operator:
        """Who answers: an answers file first, then the person (or nobody)."""
        fallback: events.Operator = self._person() if self.config.interactive else \
            events.Nobody()
        if not self.config.answers:
            return fallback
        from troubleshooter.ui.prompts import FromFile

        return FromFile(self.config.answers, fallback)

    def __call__(self, event: events.Event) -> None:
        if isinstance(event, events.RunStarted):
            self.autosave.attach(event.session, event.redactor)
            return
        self.renderer(event)
        self.autosave(event)

    def begin(self) -> None:
        from troubleshooter.ui.render import render_warnings

        render_warnings(self.console, self.config.playbook.warnings)
        self.renderer.header(self.config.playbook, self.config.target,
                             "interactive" if self.config.interactive else "non-interactive")
        if self.output.intro:
            self.console.print(self.output.intro)

    def end(self, session: Session) -> None:
        from troubleshooter.ui.render import render_summary

        if session.ended_by in ("interrupted", TERMINATED):
            from troubleshooter.ui.terminal import restore

            self.renderer.close()
            restore()
            self.console.print()
            self.console.print(line(("Interrupted; what was done is kept.", "magenta")))
        else:
            render_summary(self.console, session)
            target = self.config.target
            if target.source == "default" and session.diagnosis and \
                    session.diagnosis.code == "network.refused":
                self.console.print(line((
                    "Nothing answers at the default redis://localhost:6379/0: give the "
                    "app's URL with --url (or REDIS_URL), or train on a real fault with "
                    "`troubleshooter drill`.", "dim")))
        self._conclude(session)

    def _conclude(self, session: Session) -> None:
        from troubleshooter import store

        if self.autosave.session is None:  # the run never started: nothing to save
            return
        doc = self.autosave.document()
        document = report.render(doc, "json")
        try:
            path = store.save_document(doc, self.config.environ)  # for `sessions`, `resume`
            if self.output.save:
                path = store.save_document(doc, self.config.environ, self.output.save)
            # A path people copy: never wrapped.
            self.console.print(line((f"Session saved: {path}", "dim")), soft_wrap=True)
            if session.ended_by != "finished":
                self.console.print(line((f"Continue it later: troubleshooter resume "
                                         f"{session.trace_id[:8]}", "dim")), soft_wrap=True)
            store.prune(self.config.environ,
                        keep=store.file_name(session.trace_id, session.started_at))
        except OSError as exc:
            self.console.print(line((f"Could not save the session: {exc.strerror}", "yellow")))
        if self.output.json:
            from troubleshooter.sanitize import json_for_terminal

            self.stdout.write(json_for_terminal(document) + "\n")
            self.stdout.flush()

    def _person(self) -> Any:
        """questionary's prompts, or numbered ones where the terminal cannot redraw."""
        if self.config.environ.get("TERM") == "dumb":
            from troubleshooter.ui.plain import Plain

            shown = sys.stderr if self.output.json or not self.stdout.isatty() else self.stdout
            return Plain(self.stdin, shown)
        from troubleshooter.ui.prompts import Person

        if not self.output.json and self.stdout.isatty():
            return Person()
        # Prompts go where the person looks: stderr when stdout is the document or a file.
        from prompt_toolkit.output import create_output

        return Person(output=create_output(stdout=sys.stderr))

