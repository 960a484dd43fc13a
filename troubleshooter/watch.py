"""`troubleshooter watch`: re-run the automated checks until the diagnosis clears.

The loop is data: each round is a `Round` (status, diagnosis, what changed since the last one);
the UI prints one line per round, `--json` one JSON document per round. A Sentinel target is
resolved again every round, so a failover shows up as the master moving.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import field
from typing import Any

from troubleshooter.frozen import frozen, record
from troubleshooter.session import Session, now_iso


@frozen
class Round:
    number: int
    at: str
    elapsed_s: float
    status: str
    diagnosis: str | None
    summary: str
    codes: tuple[str, ...]
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    target: str = ""

    @property
    def healthy(self) -> bool:
        return self.status == "healthy"

    def to_dict(self) -> dict[str, Any]:
        return {"round": self.number, "at": self.at, "elapsed_s": round(self.elapsed_s, 2),
                "status": self.status, "diagnosis": self.diagnosis, "summary": self.summary,
                "codes": list(self.codes), "added": list(self.added),
                "removed": list(self.removed), "target": self.target}


@record
class WatchResult:
    rounds: list[Round] = field(default_factory=list)
    recovered_after_s: float | None = None
    last: Session | None = None

    @property
    def healthy(self) -> bool:
        return bool(self.rounds) and self.rounds[-1].healthy


def error_codes(session: Session) -> tuple[str, ...]:
    return tuple(sorted({f.code for f in session.findings if f.severity == "error"}))


def watch(run_once: Callable[[], Session], interval: float, max_time: float,
          on_round: Callable[[Round, Session], None],
          clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], None] = time.sleep) -> WatchResult:
    """Rounds until one is healthy or `max_time` has passed (the last round may start just
    before it). `on_round` sees every round as it ends (print it, save the transcript)."""
    result = WatchResult()
    start = clock()
    previous: tuple[str, ...] = ()
    while True:
        session = run_once()
        codes = error_codes(session)
        d = session.diagnosis
        r = Round(len(result.rounds) + 1, now_iso(), clock() - start, session.status,
                  d.code if d else None, d.summary if d else "", codes,
                  tuple(c for c in codes if c not in previous),
                  tuple(c for c in previous if c not in codes),
                  str(session.target.get("url", "")))
        result.rounds.append(r)
        result.last = session
        on_round(r, session)
        if r.healthy:
            if len(result.rounds) > 1:
                result.recovered_after_s = r.elapsed_s
            else:
                result.recovered_after_s = 0.0
            return result
        previous = codes
        left = max_time - (clock() - start)
        if left <= 0:
            return result
        sleep(min(interval, left))
