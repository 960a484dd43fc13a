"""Score a drill attempt, and keep every trainee's scores in the state directory."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from troubleshooter.drill.scenario import Scenario
from troubleshooter.frozen import frozen
from troubleshooter.report import state_dir
from troubleshooter.session import now_iso

if TYPE_CHECKING:
    from troubleshooter.drill.verify import Verdict
    from troubleshooter.session import Session

CAUSE, REMEDY, FIXED, HINT = 40, 20, 40, 10
SOMETHING_ELSE = "something-else"


@frozen
class Attempt:
    """What the trainee did, and when (seconds since the story was told)."""

    trainee: str
    scenario: str
    mode: str  # blind | guided
    looks: tuple[str, ...]
    hints: int
    diagnosis: str
    remedy: str
    fixes: tuple[str, ...]
    fixed: bool
    time_to_diagnosis_s: float
    time_to_recovery_s: float | None


@frozen
class Score:
    cause: int
    remedy: int
    fixed: int
    hint_penalty: int

    @property
    def total(self) -> int:
        return max(self.cause + self.remedy + self.fixed - self.hint_penalty, 0)


def score(scenario: Scenario, attempt: Attempt) -> Score:
    return Score(
        cause=CAUSE if attempt.diagnosis in scenario.diagnosis else 0,
        remedy=REMEDY if attempt.remedy == scenario.remedy else 0,
        fixed=FIXED if attempt.fixed else 0,
        hint_penalty=HINT * attempt.hints,
    )


@frozen
class Debrief:
    """Everything the debrief shows: the attempt next to where the evidence was and what the
    guide's automated checks found (None when they could not run)."""

    scenario: Scenario
    attempt: Attempt
    score: Score
    remedies: Mapping[str, str]
    verdict: Verdict | None
    guide: Session | None


def history_path(environ: Mapping[str, str]) -> Path:
    return state_dir(environ) / "drills" / "history.jsonl"


def record(environ: Mapping[str, str], attempt: Attempt, result: Score) -> Path:
    path = history_path(environ)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"at": now_iso(), **asdict(attempt), "score": result.total,
                       "points": asdict(result)}, ensure_ascii=False)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    return path


def history(environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every recorded attempt, oldest first; unreadable lines are skipped."""
    try:
        lines = history_path(environ).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and {"trainee", "scenario", "score"} <= set(entry):
            entries.append(entry)
    return entries
