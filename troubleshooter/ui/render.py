"""Turns engine events and the finished session into terminal output."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from troubleshooter import engine
from troubleshooter.session import AnswerRecord, CheckRecord, Session, StepRecord
from troubleshooter.ui.console import plain_symbols

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

    from troubleshooter.playbook import Playbook
    from troubleshooter.target import Target

MARKS = {
    "pass": ("✓", "OK", "green"), "warn": ("!", "WARN", "yellow"), "fail": ("✗", "FAIL", "red"),
    "error": ("✗", "ERR", "red"), "timeout": ("✗", "TIME", "red"),
    "skipped": ("–", "SKIP", "dim"),
}
STEP_STYLES = {"passed": "green", "warnings": "yellow", "problems": "red", "skipped": "dim",
               "incomplete": "magenta", "pending": "cyan"}


class Renderer:
    """Listens to the engine and prints as things happen."""

    def __init__(self, console: Console, *, guidance: bool, explain: bool = False,
                 plain: bool | None = None) -> None:
        self.console = console
        self.guidance = guidance
        self.explain = explain
        self.plain = plain_symbols(console) if plain is None else plain
        self._status: Status | None = None
        # The running batch, in playbook order: lines are printed in that order, each as soon
        # as it and every check before it have finished.
        self._order: list[str] = []
        self._done: dict[str, CheckRecord] = {}
        self._notes: dict[str, str] = {}  # the batch's skip notes, by action id
        self._skips: dict[str, engine.Skip | None] = {}  # why each finished check was skipped

    def header(self, playbook: Playbook, target: Target, mode: str) -> None:
        body = (f"[bold]{escape(playbook.title)}[/]\n"
                f"target  {escape(target.redacted)}  [dim](from {escape(target.source)})[/]\n"
                f"mode    {mode}")
        self.console.print(Panel(body, title="troubleshooter", expand=False))

    def __call__(self, event: engine.Event) -> None:
        if isinstance(event, engine.StepStarted):
            self._step_started(event)
        elif isinstance(event, engine.ChecksStarted):
            self._order = [a.id for a in event.actions]
            self._notes = {a.id: a.skip_note for a in event.actions}
            if event.running:
                self._spin(", ".join(event.running))
        elif isinstance(event, engine.CheckFinished):
            self._skips[event.record.id] = event.skip
            self._finished(event.record)
        elif isinstance(event, engine.PromptFinished):
            self._prompt(event.record)
        elif isinstance(event, engine.StepFinished):
            self._stop_spinner()
            if event.record.status == "skipped":
                reason = self._reason(event.skip, event.record.reason,
                                      event.step.skip_note or "not needed here")
                self.console.print(f"  [dim]– step skipped: {escape(reason)}[/]")

    def close(self) -> None:
        """Stop a running spinner (after ^C)."""
        self._stop_spinner()

    def _finished(self, record: CheckRecord) -> None:
        if record.id not in self._order:
            self._check(record)
            return
        self._done[record.id] = record
        while self._order and self._order[0] in self._done:
            self._check(self._done.pop(self._order.pop(0)))
        if not self._order:  # a prompt may come next: the spinner would redraw over it
            self._stop_spinner()

    def _step_started(self, event: engine.StepStarted) -> None:
        step = event.step
        self.console.print()
        self.console.rule(f"[bold]Step {event.index + 1}/{event.total} · {escape(step.title)}",
                          align="left")
        if event.skip is not None:
            return  # its guidance would describe checks that are not going to run
        if self.guidance and event.guidance.strip():
            from rich.markdown import Markdown

            self.console.print(Markdown(event.guidance.strip()))
        if self.explain and event.why.strip():
            why = Text(event.why.strip())
            self.console.print(Panel(why, title="why this matters", style="dim", expand=False))

    def _spin(self, what: str) -> None:
        self._stop_spinner()
        if self.console.is_terminal:
            self._status = self.console.status(f"checking {what}…")
            self._status.start()

    def _stop_spinner(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def _reason(self, skip: engine.Skip | None, reason: str, short: str) -> str:
        """A false `when:` is plumbing to an on-call engineer; trainees (--explain) see it."""
        hidden = skip is not None and skip.kind == "condition" and not self.explain
        return short if hidden else reason

    def _check(self, record: CheckRecord) -> None:
        mark, word, style = MARKS.get(record.status, ("?", "??", "white"))
        shown = word if self.plain else mark
        if record.status == "skipped":
            summary = self._reason(self._skips.pop(record.id, None), record.summary,
                                   self._notes.get(record.id) or "not needed here")
            self._hanging(Text(f"  {shown} ", style="dim"),
                          Text(f"{record.id}  {summary}", style="dim"))
            return
        self._hanging(Text(f"  {shown} ", style=style),
                      Text.assemble((record.id, "bold"), "  ", record.summary,
                                    (f" ({record.duration_ms:.0f} ms)", "dim")))
        for f in record.findings:
            if f.severity != "info" and f.remedy:
                self._hanging(Text("      → ", style="dim"), Text(f.remedy, style="dim"))

    def _hanging(self, mark: Text, body: Text) -> None:
        """`mark` then `body`, the body's wrapped lines under its first character (not at
        column 0, where they would read as lines of their own)."""
        indent = mark.cell_len
        for i, line in enumerate(body.wrap(self.console, max(self.console.width - indent, 20))):
            line.rstrip()
            self.console.print(Text.assemble(mark if i == 0 else " " * indent, line))

    def _prompt(self, record: AnswerRecord) -> None:
        if record.status == "answered":
            if record.source != "operator":  # a person just saw their own answer
                self.console.print(f"  [cyan]?[/] {escape(record.question)} "
                                   f"[bold]{escape(describe(record.answer))}[/] "
                                   f"[dim]({record.source})[/]")
        elif record.status == "pending":
            self.console.print(f"  [cyan]?[/] {escape(record.question)} "
                               "[dim](pending: a manual action for the operator)[/]")
        else:
            self.console.print(f"  [dim]– {escape(record.id)}: skipped[/]")


def render_summary(console: Console, session: Session) -> None:
    """The closing table of steps, the diagnosis and any further findings."""
    console.print()
    table = Table(title="Summary", title_justify="left", show_lines=False)
    for column in ("step", "status", "time", "findings"):
        table.add_column(column)
    for step in session.steps:
        table.add_row(escape(step.title), _styled_status(step), f"{step.duration_ms / 1000:.1f} s",
                      escape(", ".join(sorted({f.code for f in step.findings})) or "–"))
    console.print(table)
    d = session.diagnosis
    if d is None:
        verdict = {"healthy": "[green]No problem found.[/]",
                   "incomplete": "[magenta]Incomplete: not every check could run.[/]"}
        console.print(verdict.get(session.status, session.status))
    else:
        lines = [f"[bold red]{escape(d.code)}[/] — {escape(d.title)}", "", escape(d.summary)]
        lines += [f"  • {escape(e)}" for e in d.evidence]
        lines += ["", f"[bold]Remedy:[/] {escape(d.remedy)}"]
        console.print(Panel("\n".join(lines), title="Diagnosis", border_style="red",
                            expand=False))
    warnings = [f for f in session.findings if f.severity == "warning"
                and not (d and f.code == d.code)]
    for f in warnings:
        console.print(f"[yellow]![/] {escape(f.code)}: {escape(f.message)}")
    if d is not None and session.support:
        _render_support(console, session.support)
    if session.ended_by != "finished":
        console.print(f"[magenta]The run was {session.ended_by}; what was done is kept.[/]")


def _render_support(console: Console, support: Mapping[str, Any]) -> None:
    """Where to escalate, from the playbook: the last thing an on-call engineer needs."""
    lines = [f"[bold]Escalate to[/] {escape(support['contact'])}" if support["contact"] else ""]
    if support["where"]:
        lines.append(f"[bold]where[/] {escape(support['where'])}")
    lines += [f"[bold]attach[/] {escape(item)}" for item in support["attach"]]
    if support["notes"]:
        lines.append(f"[bold]say[/] {escape(support['notes'])}")
    if any(lines):
        console.print(Panel("\n".join(line for line in lines if line), title="Support",
                            expand=False))


def _styled_status(step: StepRecord) -> str:
    style = STEP_STYLES.get(step.status, "white")
    return f"[{style}]{step.status}[/]"


def describe(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
