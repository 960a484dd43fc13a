"""What a person reads: skipped steps and checks say why in words, trainees see the condition."""

from __future__ import annotations

import io

from rich.console import Console

from troubleshooter import engine
from troubleshooter.playbook import Action, Step
from troubleshooter.session import CheckRecord, StepRecord
from troubleshooter.ui.render import Renderer

STEP = Step("restart", "Restarting services", skip_note="nothing is broken, nothing to restart")
NOT_MET = f"{engine.NOT_MET}not healthy"
FALSE_WHEN = engine.Skip("condition", NOT_MET)


def render(explain: bool, *events: engine.Event) -> str:
    console = Console(record=True, width=100, file=io.StringIO(), color_system=None)
    renderer = Renderer(console, guidance=False, explain=explain)
    for event in events:
        renderer(event)
    return console.export_text()


def test_a_skipped_step_reads_its_note_and_explain_shows_the_condition() -> None:
    done = engine.StepFinished(STEP, StepRecord("restart", STEP.title, "skipped", NOT_MET),
                              FALSE_WHEN)
    assert "– step skipped: nothing is broken, nothing to restart" in render(False, done)
    assert f"– step skipped: {NOT_MET}" in render(True, done)


def test_a_skipped_check_without_a_note_is_not_needed_here() -> None:
    actions = (Action("tls", check="tls_handshake"), Action("write", check="write_probe",
                                                            skip_note="opt-in (--write-probe)"))
    started = engine.ChecksStarted(STEP, actions, ())
    skipped = [engine.CheckFinished(STEP, CheckRecord(a.id, str(a.check), "", {}, "skipped",
                                                      NOT_MET, "", 0.0, 0.0), FALSE_WHEN)
               for a in actions]
    text = render(False, started, *skipped)
    assert "– tls  not needed here" in text
    assert "– write  opt-in (--write-probe)" in text


def test_every_finding_of_a_check_is_read_and_a_remedy_once() -> None:
    from troubleshooter.findings import finding

    found = (finding("config.mismatch", "worker.yaml says db 1, this run's --url says db 0", "e"),
             finding("config.mismatch", "web.env enqueues to billing", "e"),
             finding("config.insecure", "a production target without TLS", "e"))
    record = CheckRecord("sources", "config_sources", "", {}, "fail", found[0].message, "", 1.0,
                         2.0, found)
    text = render(False, engine.ChecksStarted(STEP, (Action("sources"),), ()),
                  engine.CheckFinished(STEP, record))
    for f in found:
        assert f"• {f.code}  {f.message}" in text, text
    assert text.count(found[0].remedy) == 1  # both mismatches share it: said once
    assert text.count(found[2].remedy) == 1
    # One finding: the check's own line says it, no list under it.
    single = render(False, engine.CheckFinished(STEP, CheckRecord(
        "sources", "config_sources", "", {}, "fail", found[0].message, "", 1.0, 2.0,
        found[:1])))
    assert "•" not in single and single.count(found[0].remedy) == 1
