"""Every displayed field, fed every kind of control sequence and rich markup: the terminal gets
only the bytes we wrote, and markup is shown as the characters it is."""

from __future__ import annotations

import io
import re

import pytest
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output
from rich.console import Console

from tests.hostile.terminal_kit import EVERYTHING, FAKE_HEALTHY, PAYLOADS, foreign_controls
from troubleshooter import engine
from troubleshooter.findings import Finding
from troubleshooter.playbook import Action, Playbook, Step
from troubleshooter.session import AnswerRecord, CheckRecord, Diagnosis, Session, StepRecord
from troubleshooter.target import Target
from troubleshooter.ui.plain import Plain
from troubleshooter.ui.prompts import Person
from troubleshooter.ui.render import Renderer, render_summary, render_warnings


def terminal(width: int = 100) -> Console:
    """A colour terminal as rich sees one, writing to a string."""
    return Console(file=io.StringIO(), width=width, force_terminal=True,
                   color_system="truecolor", highlight=False, emoji=False)


def written(console: Console) -> str:
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def show_everything(bad: str, width: int = 100) -> tuple[str, str]:
    """Render a run in which every string that reaches the screen is `bad`; return the raw
    terminal output and the text a person reads (without our colour sequences)."""
    console = terminal(width)
    renderer = Renderer(console, guidance=True, explain=True)
    step = Step(f"s{bad}", bad, guidance=bad, why=bad, skip_note=bad)
    finding = Finding("rq.no_workers", "error", bad, (bad, bad), bad, bad, bad)
    check = CheckRecord(bad, "rq_workers", bad, {bad: bad}, "fail", bad, "", 1.0, 3.0,
                        (finding,), {bad: bad}, (bad, bad))
    skipped = CheckRecord(bad, "rq_workers", bad, {}, "skipped", bad, "", 0.0, 3.0)
    answered = AnswerRecord(bad, "select", bad, "answered", [bad, bad], bad)
    pending = AnswerRecord(bad, "text", bad, "pending")
    record = StepRecord(bad, bad, "problems", bad, checks=[check], answers=[answered],
                        findings=[finding, Finding("server.slow", "warning", bad, (bad,), bad)])
    pb = Playbook(bad, bad, "1", bad, {}, (step,))
    renderer.header(pb, Target(url=bad, source=bad, host=bad), bad)
    render_warnings(console, [bad])
    renderer(engine.StepStarted(step, 0, 1, guidance=step.guidance, why=step.why))
    renderer(engine.ChecksStarted(step, (Action(bad, check="rq_workers"),), (bad,)))
    for event in (engine.CheckFinished(step, check), engine.CheckFinished(step, skipped),
                  engine.PromptFinished(step, answered), engine.PromptFinished(step, pending),
                  engine.StepFinished(step, StepRecord(bad, bad, "skipped", bad))):
        renderer(event)
    session = Session(bad, {}, {}, bad, {}, status=bad, ended_by=bad, steps=[record],
                      diagnosis=Diagnosis(bad, bad, bad, bad, (bad, bad), bad),
                      support={"contact": bad, "where": bad, "attach": [bad], "notes": bad})
    render_summary(console, session)
    render_summary(console, Session(bad, {}, {}, bad, {}, status="healthy", ended_by=bad))
    raw = written(console)
    return raw, re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", raw)


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_no_field_lets_a_control_sequence_or_markup_through(name: str) -> None:
    raw, text = show_everything(PAYLOADS[name])
    assert foreign_controls(raw) == []
    if name.startswith("markup_"):  # shown as the characters it is, never interpreted
        assert PAYLOADS[name] in text


def test_all_of_it_at_once_and_the_fake_all_clear_is_visibly_fake() -> None:
    raw, text = show_everything(EVERYTHING, width=2000)
    assert foreign_controls(raw) == []
    assert "\\x1b[2J\\x1b[H\\x1b[32mNo problem found. Redis is healthy." in text
    assert not any(line.lstrip("│ ").startswith("No problem found. Redis is healthy")
                   for line in text.splitlines())
    assert "\x1b]" not in raw and "\x07" not in raw


def test_a_multiline_guidance_keeps_its_lines_but_not_its_escapes() -> None:
    console = terminal()
    step = Step("s", "Title", guidance=f"First line\n\nSecond {FAKE_HEALTHY} line")
    Renderer(console, guidance=True)(engine.StepStarted(step, 0, 1, guidance=step.guidance))
    raw = written(console)
    assert foreign_controls(raw) == []
    assert "First line" in raw and "Second" in raw


QUESTIONS = [
    Action("a", prompt="select", question=EVERYTHING, choices=(EVERYTHING, "b"), help=EVERYTHING),
    Action("a", prompt="checklist", question=EVERYTHING, choices=(EVERYTHING, "b")),
    Action("a", prompt="text", question=EVERYTHING, default=EVERYTHING),
    Action("a", prompt="confirm", question=EVERYTHING),
]


@pytest.mark.parametrize("action", QUESTIONS, ids=lambda a: a.prompt)
def test_questionary_prompts_show_questions_and_choices_made_visible(action: Action) -> None:
    screen = io.StringIO()
    output = Vt100_Output(screen, lambda: Size(rows=40, columns=120), term="xterm-256color")
    with create_pipe_input() as inp:
        inp.send_text("\r")
        reply = Person(input=inp, output=output).ask(Step("s", "S"), action, action.question)
    raw = screen.getvalue()
    for bad in ("\x1b]", "\x1b[2J", "\x07", "\x9b", "\u202e"):
        assert bad not in raw
    assert "\\x1b]0;pwned" in raw
    if action.prompt == "select":  # the answer is the real choice, not its visible form
        assert isinstance(reply, engine.Answered) and reply.value == EVERYTHING


def test_a_confirmation_question_is_made_visible() -> None:
    screen = io.StringIO()
    output = Vt100_Output(screen, lambda: Size(rows=40, columns=120), term="xterm-256color")
    with create_pipe_input() as inp:
        inp.send_text("\r")
        Person(input=inp, output=output).confirm(Step("s", "S"), QUESTIONS[0], FAKE_HEALTHY)
    assert "\x1b]0;pwned" not in screen.getvalue() and "\x1b[2J" not in screen.getvalue()


@pytest.mark.parametrize("action", QUESTIONS, ids=lambda a: a.prompt)
def test_numbered_prompts_show_everything_made_visible(action: Action) -> None:
    out = io.StringIO()
    Plain(io.StringIO("\n"), out).ask(Step("s", "S"), action, action.question)
    assert foreign_controls(out.getvalue()) == []
    assert "\\x1b[2J" in out.getvalue()


def test_a_markdown_link_in_guidance_is_text_not_a_terminal_hyperlink() -> None:
    console = terminal()
    step = Step("s", "Title", guidance="See [the runbook](http://evil.example/) now")
    Renderer(console, guidance=True)(engine.StepStarted(step, 0, 1, guidance=step.guidance))
    raw = written(console)
    assert "\x1b]8" not in raw
    assert "http://evil.example/" in raw  # shown, so a person sees where it leads
