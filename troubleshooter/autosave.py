"""Saving the session as the run goes: an engine listener.

The engine tells its listeners about every step started and every check or prompt finished;
this one writes the transcript (atomically, see `store`) whenever something would be costly
to lose, so a run killed at any moment loses at most the step it was in, and
`troubleshooter resume` continues from there. What a rerun redoes in no time (a skipped step,
a prompt nobody answered) waits for the next save.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from troubleshooter import report, store
from troubleshooter.redaction import Redactor
from troubleshooter.session import Session

# Saved: every answer, the end of every step in which a change was made (a destructive check
# ran), a prompt was answered or checks ran for CHEAP_STEP_S or more, and anything else if the
# last save is this old: `resume` runs the checks of a cut step again anyway, a batch of checks
# finishing together is worth one save, not one each, and a step of quick reads costs less to
# run again than to write and sync the transcript at once (a healthy triage: 2 saves, not 5).
CHECK_SAVE_INTERVAL_S = 0.5
CHEAP_STEP_S = 1.0


class Autosave:
    """Call it with any engine event; `attach` it to the engine's session first."""

    def __init__(self, environ: Mapping[str, str],
                 prior_redactions: Iterable[Mapping[str, Any]] = ()) -> None:
        self.environ = environ
        self.prior = list(prior_redactions)
        self.session: Session | None = None
        self.redactor = Redactor()
        self.path: Path | None = None
        # Why the last save failed (a full disk must not stop a triage): shown at the end.
        self.error: str | None = None
        self._lock = threading.Lock()
        self._last = float("-inf")

    def attach(self, session: Session, redactor: Redactor) -> None:
        self.session, self.redactor = session, redactor

    def __call__(self, event: object) -> None:
        if _worth_saving(event) or time.monotonic() - self._last >= CHECK_SAVE_INTERVAL_S:
            self.save()

    def document(self) -> dict[str, Any]:
        """The transcript as it stands, redacted, with the redaction audit."""
        assert self.session is not None, "attach() first"
        return report.document(self.session, self.redactor, self.prior)

    def save(self) -> Path | None:
        if self.session is None:
            return None
        with self._lock:
            try:
                self.path = store.save_document(self.document(), self.environ, compact=True)
                self._last = time.monotonic()
                self.error = None
            except OSError as exc:
                self.error = exc.strerror or str(exc)
        return self.path


def _worth_saving(event: object) -> bool:
    """Whether `event` finished something a rerun would have to redo at a cost: an answer, or
    a step in which a prompt was answered, a change was made, or checks took a while."""
    from troubleshooter.engine import PromptFinished, StepFinished

    if isinstance(event, PromptFinished):
        return event.record.status == "answered"
    if isinstance(event, StepFinished):
        record = event.record
        ran = {c.id for c in record.checks if c.status != "skipped"}
        changed = any(a.destructive and a.id in ran for a in event.step.actions)
        return event.skip is None and (
            changed or any(a.status == "answered" for a in record.answers)
            or (bool(ran) and record.duration_ms >= CHEAP_STEP_S * 1000))
    return False  # a step or batch started (nothing done yet), a check (its step's end saves)
