"""Turns engine events and the finished session into terminal output.

Every value shown here may come from outside (Redis, a server, a playbook, an answers file, a
URL): it reaches the screen only through `ui.safe` (made visible, as `Text`, never as markup).
It draws the kit's objects (`ui.kit`) on a screen (`ui.console.Screen`): rich's on a terminal,
the plain one into a file or a pipe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from troubleshooter import engine
from troubleshooter.sanitize import visible
from troubleshooter.session import AnswerRecord, CheckRecord, Session, StepRecord
from troubleshooter.ui.console import Screen, as_screen, plain_symbols
from troubleshooter.ui.kit import Markdown, Panel, Table, Text
from troubleshooter.ui.safe import block, hanging, line

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
FINDING_STYLES = {"error": "red", "warning": "yellow"}
STEP_STYLES = {"passed": "green", "warnings": "yellow", "problems": "red", "skipped": "dim",
               "incomplete": "magenta", "pending": "cyan"}


class Renderer:
    """Listens to the engine and prints as things happen."""

    def __init__(self, console: Screen | Console, *, guidance: bool, explain: bool = False,
                 plain: bool | None = None) -> None:
        self.console = as_screen(console)
        self.guidance = guidance
        self.explain = explain
        self.plain = plain_symbols(self.console) if plain is None else plain
        self._status: Status | None = None
        # The running batch, in playbook order: lines are printed in that order, each as soon
        # as it and every check before it have finished.
        self._order: list[str] = []
        self._done: dict[str, CheckRecord] = {}
        self._notes: dict[str, str] = {}  # the batch's skip notes, by action id
        self._skips: dict[str, engine.Skip | None] = {}  # why each finished check was skipped

    def header(self, playbook: Playbook, target: Target, mode: str) -> None:
        body = Text("\n").join([
            line((playbook.title, "bold")),
            line("target  ", target.redacted, "  ", (f"(from {target.source})", "dim")),
            line("mode    ", mode)])
        self.console.print(Panel(body, title="troubleshooter"))

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
                self.console.print(line((f"  – step skipped: {reason}", "dim")))

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
        self.console.rule(line((f"Step {event.index + 1}/{event.total} · {step.title}", "bold")))
        if event.skip is not None:
            return  # its guidance would describe checks that are not going to run
        if self.guidance and event.guidance.strip():
            # Markdown, not rich markup; links are shown as text, never as terminal hyperlinks.
            guidance = visible(event.guidance.strip(), multiline=True)
            self.console.print(Markdown(guidance))
        if self.explain and event.why.strip():
            why = block(event.why.strip())
            self.console.print(Panel(why, title="why this matters", style="dim"))

    def _spin(self, what: str) -> None:
        self._stop_spinner()
        if self.console.is_terminal:
            self._status = self.console.rich().status(line(f"checking {what}…"))
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
            self._hanging(line((f"  {shown} ", "dim")), line((f"{record.id}  {summary}", "dim")))
            return
        self._hanging(line((f"  {shown} ", style)),
                      line((record.id, "bold"), "  ", record.summary,
                           (f" ({record.duration_ms:.0f} ms)", "dim")))
        if record.kind == "log_scan":  # counts, samples and a timeline: ui/logs.py
            from troubleshooter.ui.logs import render_record

            render_record(self.console, record)
        listed = [f for f in record.findings if f.severity != "info"]
        remedies: set[str] = set()
        for f in listed:
            if len(listed) > 1:  # the check's line says the first: each one, then
                self._hanging(line(("      • ", FINDING_STYLES.get(f.severity, "white"))),
                              line((f.code, "bold"), "  ", f.message))
            if f.remedy and f.remedy not in remedies:  # a remedy once, however many say it
                remedies.add(f.remedy)
                self._hanging(line(("      → ", "dim")), line((f.remedy, "dim")))
        from troubleshooter.ui.config import render_extra  # steps 4 and 5: tables, plans

        render_extra(self.console, record)

    def _hanging(self, mark: Text, body: Text) -> None:
        hanging(self.console, mark, body)

    def _prompt(self, record: AnswerRecord) -> None:
        if record.status == "answered":
            if record.source != "operator":  # a person just saw their own answer
                self.console.print(line("  ", ("?", "cyan"), " ", record.question, " ",
                                        (describe(record.answer), "bold"), " ",
                                        (f"({record.source})", "dim")))
        elif record.status == "pending":
            self.console.print(line("  ", ("?", "cyan"), " ", record.question, " ",
                                    ("(pending: a manual action for the operator)", "dim")))
        else:
            self.console.print(line((f"  – {record.id}: skipped", "dim")))


def render_summary(output: Screen | Console, session: Session) -> None:
    """The closing table of steps, the diagnosis and any further findings."""
    console = as_screen(output)
    console.print()
    table = Table(title="Summary", title_justify="left")
    for column in ("step", "status", "time", "findings"):
        table.add_column(column)
    for step in session.steps:
        table.add_row(line(step.title), _styled_status(step),
                      line(f"{step.duration_ms / 1000:.1f} s"),
                      line(", ".join(sorted({f.code for f in step.findings})) or "–"))
    console.print(table)
    d = session.diagnosis
    if d is None:
        verdict = {"healthy": ("No problem found.", "green"),
                   "incomplete": ("Incomplete: not every check could run.", "magenta")}
        console.print(line(verdict.get(session.status, session.status)))
    else:
        lines = [line((d.code, "bold red"), " — ", d.title), Text(), line(d.summary)]
        lines += [line("  • ", e) for e in d.evidence]
        lines += [Text(), line(("Remedy:", "bold"), " ", d.remedy)]
        console.print(Panel(Text("\n").join(lines), title="Diagnosis", border_style="red"))
    warnings = [f for f in session.findings if f.severity == "warning"
                and not (d and f.code == d.code)]
    for f in warnings:
        console.print(line(("!", "yellow"), " ", f.code, ": ", f.message))
    if d is not None and session.support:
        _render_support(console, session.support)
    if session.ended_by != "finished":
        console.print(line((f"The run was {session.ended_by}; what was done is kept.",
                            "magenta")))


def render_warnings(output: Screen | Console, warnings: Sequence[str]) -> None:
    """The playbook's warnings (unknown keys...): they quote the playbook, so they are data."""
    console = as_screen(output)
    for warning in warnings:
        console.print(line((warning, "yellow")))


def _render_support(console: Screen, support: Mapping[str, Any]) -> None:
    """Where to escalate, from the playbook: the last thing an on-call engineer needs."""
    lines = [line(("Escalate to", "bold"), " ", support["contact"])] if support["contact"] \
        else []
    if support["where"]:
        lines.append(line(("where", "bold"), " ", support["where"]))
    lines += [line(("attach", "bold"), " ", item) for item in support["attach"]]
    if support["notes"]:
        lines.append(block(("say", "bold"), " ", support["notes"]))
    if lines:
        console.print(Panel(Text("\n").join(lines), title="Support"))


def _styled_status(step: StepRecord) -> Text:
    return line((step.status, STEP_STYLES.get(step.status, "white")))


def describe(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
