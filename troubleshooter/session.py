"""The record of a run: what was checked, answered and found, as plain serialisable data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from troubleshooter.findings import Finding
from troubleshooter.frozen import frozen, record

SCHEMA = "troubleshooter.session/1"


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@frozen
class CheckRecord:
    id: str
    kind: str
    title: str
    params: Mapping[str, Any]
    status: str
    summary: str
    started_at: str
    duration_ms: float
    timeout: float
    findings: tuple[Finding, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)
    details: tuple[str, ...] = ()
    # The endpoint the check resolved the target to (checks.base.Resolved), for the engine;
    # the session lists it under resolved_targets.
    resolved: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "title": self.title, "params": dict(self.params),
            "status": self.status, "summary": self.summary, "started_at": self.started_at,
            "duration_ms": round(self.duration_ms, 1), "timeout": self.timeout,
            "findings": [f.to_dict() for f in self.findings], "data": dict(self.data),
            "details": list(self.details),
        }


@frozen
class AnswerRecord:
    """A manual action: `status` is answered, pending (nobody answered) or skipped."""

    id: str
    prompt: str
    question: str
    status: str
    answer: Any = None
    source: str | None = None  # operator | answers-file | default
    at: str = field(default_factory=now_iso)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "prompt": self.prompt, "question": self.question,
                "status": self.status, "answer": self.answer, "source": self.source,
                "at": self.at}


@record
class StepRecord:
    id: str
    title: str
    status: str = "pending"
    reason: str = ""
    started_at: str = field(default_factory=now_iso)
    duration_ms: float = 0.0
    checks: list[CheckRecord] = field(default_factory=list)
    answers: list[AnswerRecord] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    # Set when the step ran to its end; a step without it was cut short (quit, ^C, SIGKILL)
    # and is run again by `resume`.
    finished_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "status": self.status, "reason": self.reason,
            "started_at": self.started_at, "finished_at": self.finished_at,
            "duration_ms": round(self.duration_ms, 1),
            "checks": [c.to_dict() for c in self.checks],
            "answers": [a.to_dict() for a in self.answers],
            "findings": [f.to_dict() for f in self.findings],
        }


@frozen
class Diagnosis:
    code: str
    title: str
    summary: str
    remedy: str
    evidence: tuple[str, ...] = ()
    step: str = ""
    by_rule: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "title": self.title, "summary": self.summary,
                "remedy": self.remedy, "evidence": list(self.evidence), "step": self.step,
                "by_rule": self.by_rule}


@record
class Session:
    trace_id: str
    playbook: Mapping[str, Any]
    target: Mapping[str, Any]
    mode: str
    variables: Mapping[str, Any]
    started_at: str = field(default_factory=now_iso)
    finished_at: str | None = None
    status: str = "incomplete"
    ended_by: str = "running"  # finished | quit | interrupted
    steps: list[StepRecord] = field(default_factory=list)
    diagnosis: Diagnosis | None = None
    # The playbook's support section, filled in: whom to escalate to, where, what to attach.
    support: Mapping[str, Any] | None = None
    # Every endpoint a check resolved the given target to, in order (`target` stays the given
    # one): {"by": action id, "role": "master", "evidence": ..., "target": {...}}.
    resolved_targets: list[Mapping[str, Any]] = field(default_factory=list)
    # The signal (SIGTERM, SIGHUP) that ended the run, for the exit code; not in the document.
    signum: int | None = field(default=None, repr=False, compare=False)
    # Each `resume`: when, and which step was run again from its start.
    resumed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        """Every finding once: a code already reported by another check is the same fact seen
        twice (PING and INFO both see MISCONF); one check's several findings of a code (two
        backed-up queues) are different facts. The steps keep everything."""
        first_source: dict[str, str] = {}
        result = []
        for step in self.steps:
            for f in step.findings:
                if first_source.setdefault(f.code, f.source) == f.source:
                    result.append(f)
        return result

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "trace_id": self.trace_id,
            "playbook": dict(self.playbook),
            "target": dict(self.target),
            "resolved_targets": [dict(t) for t in self.resolved_targets],
            "mode": self.mode,
            "variables": dict(self.variables),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "ended_by": self.ended_by,
            "diagnosis": self.diagnosis.to_dict() if self.diagnosis else None,
            "support": dict(self.support) if self.support else None,
            "findings": [f.to_dict() for f in self.findings],
            "steps": [s.to_dict() for s in self.steps],
            "resumed": list(self.resumed),
        }
