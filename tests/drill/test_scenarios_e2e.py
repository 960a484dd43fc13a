"""Every shipped scenario, end to end on real redis-servers and rq workers: set up, answered
rightly with a real fix through an answers file (full score, nothing left running), and
answered wrongly (the score and the debrief say so)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.drill.drillkit import RIGHT, Leftovers, drill, history
from troubleshooter.drill import fixes
from troubleshooter.drill import scenario as scenarios
from troubleshooter.drill.supervisor import Supervisor
from troubleshooter.findings import CATALOGUE

SHIPPED = scenarios.load_all()
REMEDIES = scenarios.load_remedies(scenarios.shipped_dir())


@pytest.fixture
def leftovers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Leftovers]:
    """Everything the drill started, noted at each change of its state file."""
    found = Leftovers()
    save = Supervisor.save

    def noting(self: Supervisor) -> None:
        save(self)
        found.note(self.state_path)

    monkeypatch.setattr(Supervisor, "save", noting)
    yield found


def test_every_shipped_scenario_has_a_right_answer_here() -> None:
    assert len(SHIPPED) >= 13
    assert set(RIGHT) == set(SHIPPED)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_a_right_diagnosis_and_a_real_fix_score_full_marks(
    name: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, leftovers: Leftovers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = iter(["Drill-Secret-One", "Drill-Secret-Two"])
    monkeypatch.setattr("troubleshooter.drill.lab.secrets.token_urlsafe", lambda n: next(made))
    answers = {"trainee": "alice", "looks": ["ping", "app.env", "processes"], **RIGHT[name]}
    code, out, err = drill(capsys, tmp_path, name, answers)
    kept = (Path(os.environ["XDG_STATE_HOME"]) / "troubleshooter" / "drills" /
            "history.jsonl").read_text()
    for secret in ("Drill-Secret-One", "Drill-Secret-Two"):
        assert secret not in out + err + kept
    why = [line for line in out.splitlines() if line.lstrip().startswith(("✗", "failed"))]
    assert "Verified: the system is healthy again." in out, (why, err)
    assert code == 0, out + err
    assert "Score   100/100" in out
    assert leftovers.pids and leftovers.left() == []
    [entry] = _history()
    assert (entry["trainee"], entry["scenario"], entry["score"]) == ("alice", name, 100)
    while_fixing = [f["look"] for f in RIGHT[name]["fix"] if "look" in f]
    assert entry["fixed"] is True
    assert entry["looks"] == ["ping", "processes", "app.env", *while_fixing]
    assert entry["time_to_recovery_s"] is not None
    assert entry["fixes"] == [fixes.describe(*fixes.parse(f, "test")) for f in RIGHT[name]["fix"]
                              if "look" not in f]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_a_wrong_diagnosis_scores_low_and_the_debrief_shows_the_cause(
    name: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, leftovers: Leftovers,
) -> None:
    wrong = "network.dns_failed"
    remedy = next(r for r in REMEDIES if r != SHIPPED[name].remedy)
    # No fix, then "fixed": the verification must fail, or the scenario was never broken.
    code, out, err = drill(capsys, tmp_path, name, {"diagnosis": wrong, "remedy": remedy,
                                                    "hints": 1})
    assert code == 1, out + err
    scenario = SHIPPED[name]
    assert "Hints   1 used.  -10" in out and "Score   0/100" in out
    flat = " ".join(out.split())
    assert " / ".join(CATALOGUE[c].title for c in scenario.diagnosis) in flat
    assert " ".join(REMEDIES[scenario.remedy].split()) in flat
    assert "Hint 1: " + " ".join(scenario.hints[0].split()) in flat
    assert "Not fixed yet." in out and "Verified" not in out
    assert leftovers.left() == []
    [entry] = _history()
    assert (entry["score"], entry["diagnosis"], entry["fixed"]) == (0, wrong, False)


def _history() -> list[dict[str, object]]:
    import os

    return history(Path(os.environ["XDG_STATE_HOME"]))
