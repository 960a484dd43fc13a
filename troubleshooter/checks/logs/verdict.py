"""log_scan's verdict: the scan's matches as findings, held against the live results that came
before it (a log finding that confirms a live one, an outage that has passed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from troubleshooter.checks.base import Outcome
from troubleshooter.checks.logs.api import Match, ScanResult, message
from troubleshooter.checks.logs.kind import NO_SOURCE
from troubleshooter.checks.logs.timestamps import clock
from troubleshooter.checks.logs.window import iso
from troubleshooter.findings import CATALOGUE, Finding, finding


def outcome(result: ScanResult, earlier: Mapping[str, Outcome], live_check: str) -> Outcome:
    """Findings from the scan, held against the live results that came before it."""
    data = _data(result)
    if not result.found_any_source:
        # Sources were named but none could be read: why, where the operator looks first.
        why = (f"no log source could be read: {'; '.join(result.notes)}"
               if result.skipped and result.notes else NO_SOURCE)
        return Outcome("skipped", why, data=data, details=result.notes)
    live = {f.code for out in earlier.values() for f in out.findings}
    live_errors = any(f.severity == "error" for out in earlier.values() for f in out.findings)
    answers = bool(earlier.get(live_check) and earlier[live_check].data.get("connected"))
    passed = answers and not live_errors
    findings = [_finding(m, live, passed) for m in result.matches]
    corroborates: dict[str, list[str]] = {}
    for m in result.matches:
        if m.signature.corroborates in live:
            corroborates.setdefault(m.signature.corroborates, []).append(
                f"log: {message(m)} ({_span(m)}){_sample(m)}")
    past = [m for m in result.matches if m.signature.severity == "error"]
    if passed and past:
        findings.insert(0, _outage_passed(past))
    data["corroborates"] = corroborates
    window = f" since {clock(result.since)}" if result.since is not None else ""
    ok = f"no Redis errors in {len(result.read)} log source(s){window}"
    status = _status(findings)
    summary = findings[0].message if findings and status != "pass" else (
        ok if not findings else f"{ok} ({len(findings)} informational signature(s))")
    if not result.complete:
        status, summary = "timeout", f"{summary}; stopped at the time limit"
    return Outcome(status, summary, tuple(findings), data, result.notes)


def _status(findings: list[Finding]) -> str:
    if any(f.severity == "error" for f in findings):
        return "fail"
    return "warn" if any(f.severity == "warning" for f in findings) else "pass"


def _finding(m: Match, live: set[str], passed: bool) -> Finding:
    sig = m.signature
    confirm = f" (confirms {sig.corroborates})" if sig.corroborates in live else ""
    text = f"{message(m)}{confirm}"
    severity = "warning" if passed and sig.severity == "error" else sig.severity
    remedy = sig.remedy or (CATALOGUE[sig.code].remedy if sig.code in CATALOGUE else "")
    if sig.corroborates and (not remedy or remedy.startswith("See ")):
        remedy = CATALOGUE[sig.corroborates].remedy
    evidence = (f"{m.count} lines, first {iso(m.first_seen) or 'time unknown'}, "
                f"last {iso(m.last_seen) or 'time unknown'}",
                *(f"{name}: {count} lines" for name, count in list(m.files.items())[:5]),
                *(f"sample: {s}" for s in m.samples))
    if sig.code in CATALOGUE:
        return finding(sig.code, text, *evidence, severity=severity, remedy=remedy)
    return Finding(sig.code, severity, text, evidence, remedy)


def _outage_passed(past: list[Match]) -> Finding:
    start = min((m.first_seen for m in past if m.first_seen is not None), default=None)
    end = max((m.last_seen for m in past if m.last_seen is not None), default=None)
    lines = sum(m.count for m in past)
    span = ""
    if start is not None and end is not None:
        minutes = (end - start) / 60
        span = f" from {clock(start)} to {clock(end)} ({minutes:.0f} min)"
    return finding(
        "logs.outage_passed",
        f"Redis errors were logged{span} ({lines:,} lines) but Redis answers now: the outage "
        "happened and has passed",
        f"started: {iso(start) or 'time unknown'}", f"ended: {iso(end) or 'time unknown'}",
        *(f"{m.signature.code}: {m.count} lines" for m in past))


def _span(m: Match) -> str:
    return f"{clock(m.first_seen)} to {clock(m.last_seen)}"


def _sample(m: Match) -> str:
    return f"; e.g. {m.samples[0][:160]}" if m.samples else ""


def _data(result: ScanResult) -> dict[str, Any]:
    return {
        "sources": len(result.read), "read": list(result.read), "older": list(result.older),
        "skipped": list(result.skipped), "engine": result.engine, "since": iso(result.since),
        "complete": result.complete, "bytes": result.bytes,
        "matched": {m.signature.code: m.evidence() | {"minutes": {
            str(k): v for k, v in sorted(m.minutes.items())[-120:]}} for m in result.matches},
    }
